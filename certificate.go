package passkeyd

import (
	"crypto"
	"crypto/x509"
	"time"
)

// CertificateUpload is a client certificate as an admin uploads it: a PEM
// certificate (chain) with its PEM private key, or a PKCS#12 file with its
// password. Keys and passwords are write-only.
type CertificateUpload struct {
	CertificatePEM string `json:"certificate_pem,omitempty"`
	PrivateKeyPEM  Secret `json:"private_key_pem,omitempty"`
	PKCS12         []byte `json:"pkcs12,omitempty"` // base64 in JSON
	Password       Secret `json:"password,omitempty"`
}

// CertificateReport is the result of Validate Certificate: what the
// certificate is, in the form the Entra portal shows, and what is wrong.
type CertificateReport struct {
	// Valid is true when the upload can be used as a client credential
	// now: it parses, the key matches, the certificate is within its
	// validity window and the key is supported.
	Valid        bool      `json:"valid"`
	Subject      string    `json:"subject,omitempty"`
	Issuer       string    `json:"issuer,omitempty"`
	SerialNumber string    `json:"serial_number,omitempty"` // hex
	NotBefore    time.Time `json:"not_before,omitzero"`
	NotAfter     time.Time `json:"not_after,omitzero"`
	KeyType      string    `json:"key_type,omitempty"` // "RSA" or "EC"
	KeySize      int       `json:"key_size,omitempty"` // bits
	Curve        string    `json:"curve,omitempty"`    // "P-256" for EC
	// Thumbprints as the Entra portal shows them: upper-case hex without
	// separators (SHA-1 is the portal's "Thumbprint").
	ThumbprintSHA1   string `json:"thumbprint_sha1,omitempty"`
	ThumbprintSHA256 string `json:"thumbprint_sha256,omitempty"`
	KeyMatches       bool   `json:"key_matches"`
	SelfSigned       bool   `json:"self_signed"`
	// ChainLength counts the certificates uploaded (leaf first).
	ChainLength int      `json:"chain_length,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	Errors      []string `json:"errors,omitempty"`
}

// ClientCertificate is a parsed, validated client certificate credential:
// what the Graph client signs its client assertions with.
type ClientCertificate struct {
	// Chain is the leaf certificate first, then any intermediates.
	Chain []*x509.Certificate
	// Key signs the assertion; it never leaves the process.
	Key crypto.Signer
	// LegacyRS256 signs with RS256 and an x5t (SHA-1) header instead of
	// the documented PS256 with x5t#S256 (RSA keys only).
	LegacyRS256 bool
	// SendChain includes x5c (for subject name + issuer authentication).
	SendChain bool
}

// CertificateAssertion formats accepted by the connector.
const (
	AssertionPS256 = "ps256" // PS256 with x5t#S256: Microsoft's documented form (default)
	AssertionRS256 = "rs256" // RS256 with x5t (SHA-1): the older form, still accepted
)
