package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"strings"
)

// encryptedKeyMessage is the one answer to every encrypted PEM key: the
// connector has nowhere to keep a PEM key password, and PKCS#12 is the
// form that carries one.
const encryptedKeyMessage = "the private key is encrypted: upload it unencrypted (e.g. openssl pkey -in key.pem -out plain.pem) or as PKCS#12 with a password"

// pemField is one text field of the upload.
type pemField struct {
	name     string // as the admin sees it: "certificate" or "private key"
	text     string
	expected string // the block an admin should have pasted here
}

// pemResult accumulates blocks across both fields: admins paste combined
// files (the Azure CLI writes the key and certificate into one PEM), so a
// block is accepted in either field.
type pemResult struct {
	certs    []*x509.Certificate
	keys     []crypto.Signer
	keyCount int // key blocks seen, parsed or not
	certSeen int // certificate blocks seen, parsed or not
	tooMany  bool
}

// parsePEM reads the certificate and private key fields.
func parsePEM(certPEM, keyPEM string, f *findings) parsed {
	var res pemResult
	fields := []pemField{
		{name: "certificate", text: certPEM, expected: "-----BEGIN CERTIFICATE-----"},
		{name: "private key", text: keyPEM, expected: "-----BEGIN PRIVATE KEY-----"},
	}
	for _, fl := range fields {
		if strings.TrimSpace(fl.text) == "" {
			continue
		}
		res.readField(fl, f)
	}

	if res.certSeen == 0 && res.keyCount > 0 {
		f.errorf("the private key was uploaded without its certificate: add the certificate PEM (-----BEGIN CERTIFICATE-----)")
	}
	if res.keyCount == 0 && res.certSeen > 0 {
		f.errorf("the certificate was uploaded without its private key: add the private key PEM (-----BEGIN PRIVATE KEY-----)")
	}
	var p parsed
	p.certs = res.certs
	switch {
	case res.keyCount > 1:
		f.errorf("the upload holds %d private keys: upload only the private key of the certificate", res.keyCount)
	case len(res.keys) == 1:
		p.key = res.keys[0]
	}
	return p
}

// readField decodes every PEM block of one field and rejects text after
// the last block. Text before a block is allowed (RFC 7468 section 2):
// openssl pkcs12 writes "Bag Attributes" lines there.
func (res *pemResult) readField(fl pemField, f *findings) {
	rest := []byte(fl.text)
	blocks := 0
	for {
		b, next := pem.Decode(rest)
		if b == nil {
			break
		}
		blocks++
		res.block(fl, b, f)
		rest = next
	}
	if blocks == 0 {
		if strings.Contains(fl.text, "-----BEGIN") {
			f.errorf("the %s field holds a damaged PEM block (line %d): it is truncated, its END line is missing, or its base64 is broken", fl.name, lineOf(fl.text, len(fl.text)-len(rest)+strings.Index(string(rest), "-----BEGIN")))
			return
		}
		f.errorf("the %s field is not PEM: expected text starting with %s", fl.name, fl.expected)
		return
	}
	trailing := strings.TrimSpace(string(rest))
	if trailing == "" {
		return
	}
	line := lineOf(fl.text, len(fl.text)-len(strings.TrimLeft(string(rest), " \t\r\n")))
	if strings.Contains(trailing, "-----BEGIN") {
		f.errorf("the %s field holds a damaged PEM block at line %d: it is truncated, its END line is missing, or its base64 is broken", fl.name, line)
		return
	}
	f.errorf("the %s field has unexpected text after its last PEM block, at line %d: remove it", fl.name, line)
}

// lineOf returns the 1-based line number of byte offset off in text.
func lineOf(text string, off int) int {
	if off < 0 || off > len(text) {
		off = len(text)
	}
	return strings.Count(text[:off], "\n") + 1
}

// block handles one PEM block.
func (res *pemResult) block(fl pemField, b *pem.Block, f *findings) {
	if isKeyType(b.Type) {
		res.keyCount++
		if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") || b.Type == "ENCRYPTED PRIVATE KEY" {
			f.errorf("%s", encryptedKeyMessage)
			return
		}
		switch b.Type {
		case "DSA PRIVATE KEY":
			f.errorf("DSA keys are not supported: %s", supportedKeys)
			return
		case "OPENSSH PRIVATE KEY":
			f.errorf("OpenSSH-format private keys are not supported: convert it to PKCS#8 (ssh-keygen -p -m PKCS8 -f key) or %s", supportedKeys)
			return
		}
		k, err := parseKeyDER(b.Type, b.Bytes)
		if err != nil {
			f.errorf("%s", err.Error())
			return
		}
		res.keys = append(res.keys, k)
		return
	}

	switch b.Type {
	case "CERTIFICATE", "X509 CERTIFICATE":
		res.certSeen++
		if res.certSeen > MaxChainCertificates {
			if !res.tooMany {
				f.errorf("the upload holds more than %d certificates: upload the leaf certificate and at most %d issuers", MaxChainCertificates, MaxChainCertificates-1)
				res.tooMany = true
			}
			return
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			// x509 errors describe structure, never content, and the
			// certificate is public anyway.
			f.errorf("certificate %d in the %s field cannot be parsed: %v", res.certSeen, fl.name, err)
			return
		}
		res.certs = append(res.certs, c)
	case "EC PARAMETERS":
		// openssl ecparam -genkey writes the curve before the key; the
		// key names its curve again, so the block adds nothing.
	case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
		f.errorf("the %s field holds a certificate signing request, not a certificate: upload the certificate your CA issued for it", fl.name)
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		f.errorf("the %s field holds a public key, not a private key: upload the private key of the certificate", fl.name)
	case "PKCS7":
		f.errorf("the %s field holds a PKCS#7 bundle: convert it to PEM certificates first (openssl pkcs7 -print_certs -in bundle.p7b)", fl.name)
	default:
		f.errorf("the %s field holds an unexpected PEM block %q: expected CERTIFICATE and PRIVATE KEY blocks", fl.name, truncate(b.Type))
	}
}

// isKeyType reports whether a PEM block type is a private key of any form.
func isKeyType(t string) bool {
	return strings.HasSuffix(t, "PRIVATE KEY")
}

// truncate shortens an untrusted label before it is echoed in a message.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
