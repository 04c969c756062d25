package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// supportedKeys is the advice every unsupported-key message ends with.
const supportedKeys = "use an RSA key of 2048 bits or more, or an EC key on curve P-256"

// keyInfo describes a public key as the report shows it, with the reason
// it cannot be used, if any.
type keyInfo struct {
	typ     string
	bits    int
	curve   string
	problem string
}

// describeKey classifies a public key: RSA of at least MinRSABits and EC
// on P-256 are what the connector signs client assertions with.
func describeKey(pub crypto.PublicKey) keyInfo {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		info := keyInfo{typ: "RSA", bits: k.N.BitLen()}
		if info.bits < MinRSABits {
			info.problem = fmt.Sprintf("the RSA key is %d bits, shorter than the %d bits Entra requires: issue a new certificate with a key of %d bits or more", info.bits, MinRSABits, MinRSABits)
		}
		return info
	case *ecdsa.PublicKey:
		info := keyInfo{typ: "EC", bits: k.Curve.Params().BitSize, curve: k.Curve.Params().Name}
		if k.Curve != elliptic.P256() {
			info.problem = fmt.Sprintf("the EC key is on curve %s, which is not supported: %s", info.curve, supportedKeys)
		}
		return info
	case ed25519.PublicKey:
		return keyInfo{typ: "Ed25519", bits: 256, problem: "Ed25519 keys are not supported: " + supportedKeys}
	default:
		return keyInfo{typ: fmt.Sprintf("%T", pub), problem: "the key type is not supported: " + supportedKeys}
	}
}

// publicKeysEqual reports whether a and b are the same public key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

// Object identifiers of key algorithms and curves Go cannot parse, so that
// an unsupported key is named instead of reported as unreadable.
var (
	oidDSA     = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidRSAPSS  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidX25519  = asn1.ObjectIdentifier{1, 3, 101, 110}
	oidX448    = asn1.ObjectIdentifier{1, 3, 101, 111}
	oidEd448   = asn1.ObjectIdentifier{1, 3, 101, 113}
	oidECKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	curveNames = map[string]string{
		"1.3.132.0.10":          "secp256k1",
		"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
		"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
		"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
	}
)

// pkcs8Header is the outer structure of a PKCS#8 PrivateKeyInfo, enough
// to name the algorithm without decoding the key.
type pkcs8Header struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// unsupportedPKCS8 names the algorithm of a PKCS#8 key Go cannot parse,
// or returns "" when it cannot tell.
func unsupportedPKCS8(der []byte) string {
	var h pkcs8Header
	if _, err := asn1.Unmarshal(der, &h); err != nil {
		return ""
	}
	alg := h.Algorithm.Algorithm
	switch {
	case alg.Equal(oidDSA):
		return "DSA keys are not supported: " + supportedKeys
	case alg.Equal(oidRSAPSS):
		return "RSA-PSS-only keys (RSASSA-PSS) are not supported: " + supportedKeys
	case alg.Equal(oidX25519), alg.Equal(oidX448):
		return "X25519/X448 keys cannot sign: " + supportedKeys
	case alg.Equal(oidEd448):
		return "Ed448 keys are not supported: " + supportedKeys
	case alg.Equal(oidECKey):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(h.Algorithm.Parameters.FullBytes, &curve); err == nil {
			return unsupportedCurve(curve)
		}
	}
	return fmt.Sprintf("the private key uses algorithm %s, which is not supported: %s", alg, supportedKeys)
}

func unsupportedCurve(curve asn1.ObjectIdentifier) string {
	name, ok := curveNames[curve.String()]
	if !ok {
		name = curve.String()
	}
	return fmt.Sprintf("the EC key is on curve %s, which is not supported: %s", name, supportedKeys)
}

// sec1Header is the outer structure of a SEC1 ECPrivateKey, enough to
// name its curve.
type sec1Header struct {
	Version    int
	PrivateKey []byte
	Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
}

// parseKeyDER parses a private key in the form its PEM type announces,
// falling back to the other forms because mislabelled blocks are common.
// The error is a sentence for the admin and never contains key material.
func parseKeyDER(blockType string, der []byte) (crypto.Signer, error) {
	var parsers []func([]byte) (any, error)
	pkcs1 := func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) }
	sec1 := func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) }
	switch blockType {
	case "RSA PRIVATE KEY":
		parsers = append(parsers, pkcs1, x509.ParsePKCS8PrivateKey, sec1)
	case "EC PRIVATE KEY":
		parsers = append(parsers, sec1, x509.ParsePKCS8PrivateKey, pkcs1)
	default:
		parsers = append(parsers, x509.ParsePKCS8PrivateKey, pkcs1, sec1)
	}
	for _, parse := range parsers {
		k, err := parse(der)
		if err != nil {
			continue
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, errors.New("the private key cannot sign (it is a key-agreement key): " + supportedKeys)
		}
		return s, nil
	}
	if msg := unsupportedPKCS8(der); msg != "" {
		return nil, errors.New(msg)
	}
	var ec sec1Header
	if _, err := asn1.Unmarshal(der, &ec); err == nil && ec.Version == 1 && len(ec.Curve) > 0 {
		return nil, errors.New(unsupportedCurve(ec.Curve))
	}
	return nil, fmt.Errorf("the %s block is not a valid private key (PKCS#8, PKCS#1 or SEC1): it may be truncated or damaged", blockType)
}

// MarshalKey encodes a validated key as PKCS#8 DER, the form the connector
// seals at rest. The result is secret.
func MarshalKey(key crypto.Signer) ([]byte, error) {
	if key == nil {
		return nil, errors.New("certs: marshal key: no key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certs: marshal key: %w", err)
	}
	return der, nil
}

// ParseStoredKey decodes a key written by MarshalKey and checks it is
// still one the connector can sign with.
func ParseStoredKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// The parse error names no key material, but stays generic:
		// a stored key that does not parse is corruption, not input.
		return nil, errors.New("certs: parse stored key: not a PKCS#8 private key")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("certs: parse stored key: %T cannot sign", k)
	}
	if info := describeKey(s.Public()); info.problem != "" {
		return nil, fmt.Errorf("certs: parse stored key: %s", info.problem)
	}
	return s, nil
}

// EncodeChainPEM encodes certificates (leaf first) as concatenated PEM
// CERTIFICATE blocks, the form the connector stores and shows.
func EncodeChainPEM(chain []*x509.Certificate) []byte {
	var out []byte
	for _, c := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// ParseChainPEM decodes what EncodeChainPEM wrote: one or more PEM
// CERTIFICATE blocks and nothing else.
func ParseChainPEM(data []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("certs: parse chain: unexpected PEM block %q", truncate(b.Type))
		}
		if len(chain) == MaxChainCertificates {
			return nil, fmt.Errorf("certs: parse chain: more than %d certificates", MaxChainCertificates)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certs: parse chain: certificate %d: %w", len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("certs: parse chain: no CERTIFICATE block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("certs: parse chain: trailing data after the last certificate")
	}
	return chain, nil
}
