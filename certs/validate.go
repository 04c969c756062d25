// Package certs validates the client certificate credentials admins upload
// for the Entra connector: a PEM certificate (optionally with its chain)
// plus a PEM private key, or a PKCS#12 file with its password. It reports,
// in the terms the Entra portal uses, what the certificate is and exactly
// what is wrong with it, and hands the connector a parsed key to sign its
// client assertions with.
//
// Every input is untrusted: sizes are bounded before parsing, and no
// message ever contains private key material or the password.
package certs

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Limits on an upload. Real client certificates are a few KiB; the limits
// keep a hostile upload from costing more than a real one.
const (
	// MaxPEMBytes bounds each PEM field (certificate, private key).
	MaxPEMBytes = 64 << 10
	// MaxPKCS12Bytes bounds the PKCS#12 file.
	MaxPKCS12Bytes = 64 << 10
	// MaxPasswordBytes bounds the PKCS#12 password.
	MaxPasswordBytes = 1024
	// MaxChainCertificates bounds the certificates in one upload.
	MaxChainCertificates = 10
	// MaxPKCS12Iterations bounds the key-derivation iterations, summed
	// over the whole file, a PKCS#12 file may ask for (OpenSSL 3 uses 2048
	// per derivation, Windows 2000, Java 10000): the counts are chosen by
	// the file, and each iteration costs CPU. 600,000 is .NET's default
	// Pkcs12IterationCountLimit, about half a second of work here.
	MaxPKCS12Iterations = 600_000
	// MinRSABits is the smallest RSA key Entra accepts.
	MinRSABits = 2048
	// ExpiryWarningWindow is how close to expiry a certificate draws a
	// warning.
	ExpiryWarningWindow = 30 * 24 * time.Hour
)

// dateLayout is how dates appear in messages for admins.
const dateLayout = "2006-01-02 15:04 UTC"

// findings collects the problems of one upload, in the order found.
type findings struct {
	errors   []string
	warnings []string
}

func (f *findings) errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *findings) warnf(format string, args ...any) {
	f.warnings = append(f.warnings, fmt.Sprintf(format, args...))
}

// parsed is what either upload form yields.
type parsed struct {
	certs []*x509.Certificate // upload order; the leaf should be first
	key   crypto.Signer       // nil when missing or unusable
}

// Validate checks an uploaded client certificate credential as of now. It
// never fails: the report lists every problem found (Errors) and every
// caution (Warnings), and describes the leaf certificate when one could be
// read. The ClientCertificate is non-nil exactly when report.Valid.
func Validate(up passkeyd.CertificateUpload, now time.Time) (*passkeyd.ClientCertificate, *passkeyd.CertificateReport) {
	f := &findings{}
	p := parseUpload(up, f)
	r := &passkeyd.CertificateReport{}
	if p.key == nil && len(p.certs) == 0 {
		return nil, finish(r, f)
	}
	describe(r, p, now, f)
	if len(f.errors) == 0 && (p.key == nil || len(p.certs) == 0 || !r.KeyMatches) {
		// The parsers report a missing half; this guards the invariant
		// that a usable credential always has a matching key.
		f.errorf("the upload needs both the certificate and its matching private key")
	}
	if len(f.errors) > 0 {
		return nil, finish(r, f)
	}
	r.Valid = true
	chain := append([]*x509.Certificate(nil), p.certs...)
	return &passkeyd.ClientCertificate{Chain: chain, Key: p.key}, finish(r, f)
}

func finish(r *passkeyd.CertificateReport, f *findings) *passkeyd.CertificateReport {
	r.Errors = f.errors
	r.Warnings = f.warnings
	return r
}

// parseUpload enforces the size limits, picks the upload form and parses
// it. Problems go to f; parsed holds whatever could be read.
func parseUpload(up passkeyd.CertificateUpload, f *findings) parsed {
	certPEM := up.CertificatePEM
	keyPEM := up.PrivateKeyPEM.Reveal()
	password := up.Password.Reveal()
	hasPEM := strings.TrimSpace(certPEM) != "" || strings.TrimSpace(keyPEM) != ""
	hasP12 := len(up.PKCS12) > 0

	switch {
	case hasPEM && hasP12:
		f.errorf("upload either a PEM certificate with its private key or a PKCS#12 file, not both")
		return parsed{}
	case !hasPEM && !hasP12:
		f.errorf("no certificate uploaded: provide a PEM certificate with its private key, or a PKCS#12 file with its password")
		return parsed{}
	}

	tooBig := false
	check := func(what string, n, limit int) {
		if n > limit {
			f.errorf("the %s is %d bytes, more than the %d bytes accepted", what, n, limit)
			tooBig = true
		}
	}
	if hasP12 {
		check("PKCS#12 file", len(up.PKCS12), MaxPKCS12Bytes)
		check("PKCS#12 password", len(password), MaxPasswordBytes)
		if tooBig {
			return parsed{}
		}
		return parsePKCS12(up.PKCS12, password, f)
	}
	check("certificate PEM", len(certPEM), MaxPEMBytes)
	check("private key PEM", len(keyPEM), MaxPEMBytes)
	if tooBig {
		return parsed{}
	}
	if password != "" {
		f.warnf("a password is only used with a PKCS#12 file: it was ignored")
	}
	return parsePEM(certPEM, keyPEM, f)
}

// describe fills the report from the parsed upload and checks the
// certificate and key against each other and against now.
func describe(r *passkeyd.CertificateReport, p parsed, now time.Time, f *findings) {
	r.ChainLength = len(p.certs)
	if len(p.certs) == 0 {
		// A key alone: describe and check the key so the admin learns
		// everything at once.
		info := describeKey(p.key.Public())
		r.KeyType, r.KeySize, r.Curve = info.typ, info.bits, info.curve
		if info.problem != "" {
			f.errorf("%s", info.problem)
		}
		return
	}

	leaf := p.certs[0]
	r.Subject = leaf.Subject.String()
	r.Issuer = leaf.Issuer.String()
	r.SerialNumber = fmt.Sprintf("%X", leaf.SerialNumber)
	r.NotBefore = leaf.NotBefore.UTC()
	r.NotAfter = leaf.NotAfter.UTC()
	sum1 := sha1.Sum(leaf.Raw)
	sum256 := sha256.Sum256(leaf.Raw)
	r.ThumbprintSHA1 = fmt.Sprintf("%X", sum1[:])
	r.ThumbprintSHA256 = fmt.Sprintf("%X", sum256[:])

	info := describeKey(leaf.PublicKey)
	r.KeyType, r.KeySize, r.Curve = info.typ, info.bits, info.curve
	if info.problem != "" {
		f.errorf("%s", info.problem)
	}

	if p.key != nil {
		r.KeyMatches = publicKeysEqual(leaf.PublicKey, p.key.Public())
		if !r.KeyMatches {
			mismatch(p, f)
		}
	}

	checkValidity(leaf, now, f)

	r.SelfSigned = selfSigned(leaf)
	if r.SelfSigned {
		f.warnf("self-signed: fine for Entra client credentials, which trust the uploaded certificate itself")
	}
	checkChainOrder(p.certs, f)
}

// mismatch explains a key that does not belong to the leaf: either it
// belongs to another uploaded certificate (the order is wrong) or to none.
func mismatch(p parsed, f *findings) {
	for i, c := range p.certs[1:] {
		if publicKeysEqual(c.PublicKey, p.key.Public()) {
			f.errorf("the private key belongs to certificate %d (%s), not to the first certificate: put the certificate of the key first, followed by its issuers", i+2, c.Subject)
			return
		}
	}
	f.errorf("the private key does not match the certificate (%s): upload the key the certificate was issued for", p.certs[0].Subject)
}

func checkValidity(leaf *x509.Certificate, now time.Time, f *findings) {
	switch {
	case now.After(leaf.NotAfter):
		f.errorf("the certificate expired on %s: issue a new certificate and upload it", leaf.NotAfter.UTC().Format(dateLayout))
	case now.Before(leaf.NotBefore):
		f.errorf("the certificate is not valid yet: it becomes valid on %s (check the clock of the machine that issued it)", leaf.NotBefore.UTC().Format(dateLayout))
	case leaf.NotAfter.Sub(now) <= ExpiryWarningWindow:
		f.warnf("expires in %s on %s: upload a new certificate to the app registration before then",
			days(leaf.NotAfter.Sub(now)), leaf.NotAfter.UTC().Format(dateLayout))
	}
}

// days renders a remaining duration as whole days, rounded up so that a
// certificate expiring in 3 hours "expires in 1 day", not in 0.
func days(d time.Duration) string {
	n := int((d + 24*time.Hour - 1) / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// selfSigned reports whether c names itself as issuer and its signature
// verifies with its own key. CheckSignature is used rather than
// CheckSignatureFrom because a self-signed client certificate is usually
// not a CA, which CheckSignatureFrom would require.
func selfSigned(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		return false
	}
	return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// checkChainOrder warns when a certificate of the chain is not issued by
// the one that follows it. Entra ignores the chain for thumbprint
// authentication, but a wrong chain breaks subject name + issuer
// authentication (x5c), so it is a warning, not an error.
func checkChainOrder(chain []*x509.Certificate, f *findings) {
	for i := 0; i+1 < len(chain); i++ {
		if chain[i].CheckSignatureFrom(chain[i+1]) != nil {
			f.warnf("certificate %d (%s) is not issued by certificate %d (%s), the next one uploaded: order the chain leaf first, each certificate followed by its issuer",
				i+1, chain[i].Subject, i+2, chain[i+1].Subject)
		}
	}
}
