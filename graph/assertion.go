package graph

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515 §4.1.7), not used for security
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

// assertionLifetime is how long a client assertion is valid: Microsoft
// asks for 5–10 minutes after nbf; the upper end tolerates a slow token
// endpoint without making a stolen assertion useful for long.
const assertionLifetime = 10 * time.Minute

// Why passkeyd signs its own assertions instead of using
// azidentity.NewClientCertificateCredential (MSAL for Go v1.10.1):
//   - MSAL writes x5t#S256 in standard base64 with padding, where the
//     documented form (learn.microsoft.com/entra/identity-platform/
//     certificate-credentials, RFC 7515 §4.1.8) is base64url without
//     padding; the emulator, which follows the documentation, matches the
//     base64url form only.
//   - MSAL only emits RS256 + x5t for ADFS/dSTS authorities, so the legacy
//     form cannot be chosen for Entra.
//   - MSAL omits iat and reads time.Now, so the clock is not injectable.
// NewClientAssertionCredential with this signer keeps azidentity for the
// token request itself (discovery, caching, error types) and gives one
// code path for both forms.

// assertionSigner builds signed client assertions (graph-api.md §2) for
// one certificate credential.
type assertionSigner struct {
	clientID string
	audience string // the token endpoint URL
	leaf     *x509.Certificate
	chain    []string // x5c: standard base64 DER, leaf first; nil unless SendChain
	key      crypto.Signer
	legacy   bool // RS256 + x5t instead of PS256 + x5t#S256
	now      func() time.Time
}

// assertionHeader is the JOSE header. Field order is fixed so the header
// is byte-for-byte reproducible.
type assertionHeader struct {
	Alg     string   `json:"alg"`
	Typ     string   `json:"typ"`
	X5tS256 string   `json:"x5t#S256,omitempty"`
	X5t     string   `json:"x5t,omitempty"`
	X5c     []string `json:"x5c,omitempty"`
}

// assertionClaims are the claims Microsoft documents for a certificate
// credential.
type assertionClaims struct {
	Aud string `json:"aud"`
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Jti string `json:"jti"`
	Nbf int64  `json:"nbf"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// newAssertionSigner returns the signer for cc, whose validity New has
// already checked with checkCertificate.
func newAssertionSigner(cfg passkeyd.GraphConfig, now func() time.Time) *assertionSigner {
	cc := cfg.Certificate
	s := &assertionSigner{
		clientID: cfg.ClientID,
		audience: tokenEndpoint(cfg.AuthorityHost, cfg.TenantID),
		leaf:     cc.Chain[0],
		key:      cc.Key,
		legacy:   cc.LegacyRS256,
		now:      now,
	}
	if cc.SendChain {
		for _, c := range cc.Chain {
			s.chain = append(s.chain, base64.StdEncoding.EncodeToString(c.Raw))
		}
	}
	return s
}

// tokenEndpoint is the v2.0 token endpoint of tenant, the assertion's aud.
func tokenEndpoint(authorityHost, tenant string) string {
	return authorityHost + "/" + tenant + "/oauth2/v2.0/token"
}

// assertion returns a fresh signed client assertion. It is azidentity's
// getAssertion callback: called once per token request, so every request
// gets a new jti and time window.
func (s *assertionSigner) assertion(context.Context) (string, error) {
	h := assertionHeader{Alg: "PS256", Typ: "JWT", X5c: s.chain}
	if s.legacy {
		sum := sha1.Sum(s.leaf.Raw) //nolint:gosec // thumbprint, see import
		h.Alg, h.X5t = "RS256", base64.RawURLEncoding.EncodeToString(sum[:])
	} else {
		sum := sha256.Sum256(s.leaf.Raw)
		h.X5tS256 = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	now := s.now()
	c := assertionClaims{
		Aud: s.audience,
		Iss: s.clientID,
		Sub: s.clientID,
		Jti: uuid.NewString(),
		Nbf: now.Unix(),
		Iat: now.Unix(),
		Exp: now.Add(assertionLifetime).Unix(),
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("client assertion: encoding the header: %w", err)
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("client assertion: encoding the claims: %w", err)
	}
	signingInput := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signingInput))
	var opts crypto.SignerOpts = crypto.SHA256 // RS256: PKCS #1 v1.5
	if !s.legacy {
		// PS256 (RFC 7518 §3.5): PSS with MGF1-SHA256 and a salt as long
		// as the hash.
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	}
	sig, err := s.key.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		// The signer's text (an HSM's, say) names no key material.
		return "", fmt.Errorf("client assertion: signing with the certificate key: %w", err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// checkCertificate returns what is wrong with a certificate credential,
// or "". Only RSA keys are accepted: Microsoft documents certificate
// credentials as PS256 (or the older RS256) assertions, both RSA
// algorithms; MSAL itself refuses other keys ("key must be an RSA key"),
// and an ES256 assertion is not a documented form, so an EC certificate is
// refused here rather than failing later at the token endpoint with a
// less helpful AADSTS error.
func checkCertificate(cc *passkeyd.ClientCertificate) string {
	switch {
	case len(cc.Chain) == 0 || cc.Chain[0] == nil:
		return "has no certificate"
	case cc.Key == nil:
		return "has no private key"
	}
	for _, c := range cc.Chain[1:] {
		if c == nil {
			return "has an empty entry in its chain"
		}
	}
	leaf := cc.Chain[0]
	pub, ok := cc.Key.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Sprintf("has a %s key: Microsoft Entra accepts only RSA certificate credentials (PS256 or RS256 assertions); create an RSA certificate (2048 bits or more)", keyKind(cc.Key.Public()))
	}
	if !pub.Equal(leaf.PublicKey) {
		return "private key does not match the first (leaf) certificate"
	}
	return ""
}

// keyKind names a public key's type for an admin.
func keyKind(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}
