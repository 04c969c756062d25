package entraemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// maxJWT bounds any JWT the emulator parses (bearer tokens, assertions).
const maxJWT = 16 << 10

// signingKey is the RSA key that signs access tokens, with the
// self-signed certificate the JWKS publishes (as Entra does).
type signingKey struct {
	key  *rsa.PrivateKey
	cert []byte // DER
	kid  string // base64url SHA-1 of the certificate, like Entra's kid/x5t
}

func newSigningKey(key *rsa.PrivateKey, now time.Time) (signingKey, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "accounts.entraemu.invalid"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return signingKey{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	sum := sha1.Sum(der)
	return signingKey{key: key, cert: der, kid: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

// jwk is the key's JWKS entry.
func (k signingKey) jwk(issuer string) map[string]any {
	pub := k.key.PublicKey
	return map[string]any{
		"kty":    "RSA",
		"use":    "sig",
		"kid":    k.kid,
		"x5t":    k.kid,
		"n":      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"x5c":    []string{base64.StdEncoding.EncodeToString(k.cert)},
		"issuer": issuer,
	}
}

// sign returns an RS256 JWT of claims.
func (k signingKey) sign(claims any) (string, error) {
	header := map[string]string{"typ": "JWT", "alg": "RS256", "kid": k.kid, "x5t": k.kid}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signingInput := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signingInput + "." + b64(sig), nil
}

// jwtParts is a JWT split and decoded, not yet verified.
type jwtParts struct {
	Header       map[string]any
	Claims       map[string]any
	signingInput string
	sig          []byte
}

// parseJWT splits and decodes a compact JWS without verifying it.
func parseJWT(tok string) (*jwtParts, error) {
	if len(tok) > maxJWT {
		return nil, errors.New("token too large")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS (want three dot-separated parts)")
	}
	var p jwtParts
	for i, dst := range []*map[string]any{&p.Header, &p.Claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("part %d is not base64url: %w", i+1, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, fmt.Errorf("part %d is not a JSON object: %w", i+1, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature is not base64url: %w", err)
	}
	p.sig = sig
	p.signingInput = parts[0] + "." + parts[1]
	return &p, nil
}

// verifyRSA checks the signature with pub for alg RS256 or PS256.
func (p *jwtParts) verifyRSA(alg string, pub *rsa.PublicKey) error {
	sum := sha256.Sum256([]byte(p.signingInput))
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], p.sig)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], p.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	return fmt.Errorf("unsupported alg %q", alg)
}

func (p *jwtParts) str(claim string) string {
	s, _ := p.Claims[claim].(string)
	return s
}

func (p *jwtParts) hstr(name string) string {
	s, _ := p.Header[name].(string)
	return s
}

// unix reads a NumericDate claim; ok is false when absent or not a number.
func (p *jwtParts) unix(claim string) (time.Time, bool) {
	f, ok := p.Claims[claim].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
