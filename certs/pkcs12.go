package certs

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// parsePKCS12 reads a PKCS#12 (.pfx/.p12) file: OpenSSL 3 defaults
// (PBES2/AES), legacy files (3DES/RC2) and Windows exports.
func parsePKCS12(data []byte, password string, f *findings) parsed {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		f.errorf("the PKCS#12 file holds PEM text: upload it as the certificate and private key PEM instead")
		return parsed{}
	}
	if msg := checkPKCS12Cost(data); msg != "" {
		f.errorf("%s", msg)
		return parsed{}
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		f.errorf("%s", pkcs12Problem(err))
		return parsed{}
	}
	certs := append([]*x509.Certificate{leaf}, cas...)
	if len(certs) > MaxChainCertificates {
		f.errorf("the PKCS#12 file holds %d certificates, more than the %d accepted: export the leaf certificate and at most %d issuers", len(certs), MaxChainCertificates, MaxChainCertificates-1)
		return parsed{}
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		// X25519 keys parse but cannot sign.
		f.errorf("the private key in the PKCS#12 file cannot sign: %s", supportedKeys)
		return parsed{certs: certs}
	}
	return parsed{certs: certs, key: signer}
}

// pkcs12Problem turns a go-pkcs12 error into a sentence for the admin. The
// library's errors name structures, never the password or key material.
func pkcs12Problem(err error) string {
	msg := err.Error()
	var notImpl pkcs12.NotImplementedError
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
		// The MAC check fails identically for a wrong password and for a
		// file damaged after export; the password is by far the likelier.
		return "wrong PKCS#12 password: enter the password the file was exported with (a damaged file fails the same check)"
	case strings.HasPrefix(msg, "pkcs12: error reading P12 data"):
		return "the file is not a PKCS#12 (.pfx/.p12) file, or it is damaged: export the certificate with its private key as PKCS#12, or upload PEM files"
	case errors.As(err, &notImpl):
		return "the PKCS#12 file uses a structure passkeyd cannot read (" + strings.TrimPrefix(msg, "pkcs12: ") + "): re-export it, e.g. openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx"
	case msg == "pkcs12: certificate missing":
		return "the PKCS#12 file holds no certificate: export the certificate together with its private key"
	case msg == "pkcs12: private key missing":
		return "the PKCS#12 file holds no private key: export the certificate with its private key (on Windows: \"Yes, export the private key\")"
	case msg == "pkcs12: expected exactly one key bag":
		return "the PKCS#12 file holds more than one private key: export only the certificate's own key"
	case strings.Contains(msg, "unknown algorithm"), strings.Contains(msg, "elliptic curve"):
		return "the private key in the PKCS#12 file uses an unsupported algorithm: " + supportedKeys
	case strings.HasPrefix(msg, "x509:"):
		return "a certificate in the PKCS#12 file cannot be parsed: " + msg
	default:
		return "the PKCS#12 file cannot be read (" + strings.TrimPrefix(msg, "pkcs12: ") + "): it is damaged or uses an unsupported format"
	}
}
