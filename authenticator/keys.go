package authenticator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
)

// rsaBits is the RS256 key size: the WebAuthn minimum that Entra accepts.
const rsaBits = 2048

// newES256Key draws a P-256 private key from r by rejection sampling (FIPS
// 186-5 A.4.2): a 32-byte candidate scalar is kept when it is in [1, n-1].
// Go 1.26 ignores the reader passed to ecdsa.GenerateKey, so sampling the
// scalar ourselves is what makes a seeded Rand yield reproducible keys.
func newES256Key(r io.Reader) (*ecdsa.PrivateKey, error) {
	var b [32]byte
	// The chance a candidate is rejected is below 2^-32; 16 rounds can only
	// be exhausted by a broken reader.
	for range 16 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("read random scalar: %w", err)
		}
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b[:])
		if err == nil {
			clear(b[:])
			return k, nil
		}
	}
	return nil, errors.New("random source yields no valid P-256 scalar")
}

func newRS256Key(r io.Reader) (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(r, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	return k, nil
}

// COSE key labels (RFC 9052/9053).
const (
	coseKty     = 1
	coseAlg     = 3
	coseCrv     = -1 // EC2 curve; RSA n
	coseX       = -2 // EC2 x; RSA e
	coseY       = -3
	coseKtyEC2  = 2
	coseKtyRSA  = 3
	coseCrvP256 = 1
)

// coseKey encodes pub as a COSE_Key. EC2 coordinates are always exactly 32
// bytes (left-padded): about 1 key in 128 has a coordinate with a leading
// zero byte, and relying parties reject the short form.
func coseKey(em cbor.EncMode, pub crypto.PublicKey) ([]byte, error) {
	var m map[int]any
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		raw, err := k.Bytes() // 0x04 || X || Y, fixed width
		if err != nil {
			return nil, fmt.Errorf("encode P-256 point: %w", err)
		}
		if len(raw) != 65 {
			return nil, fmt.Errorf("unexpected P-256 point length %d", len(raw))
		}
		m = map[int]any{coseKty: coseKtyEC2, coseAlg: AlgES256, coseCrv: coseCrvP256,
			coseX: raw[1:33], coseY: raw[33:65]}
	case *rsa.PublicKey:
		m = map[int]any{coseKty: coseKtyRSA, coseAlg: AlgRS256,
			coseCrv: k.N.Bytes(), coseX: bigEndianMinimal(uint64(k.E))}
	default:
		return nil, fmt.Errorf("unsupported public key type %T", pub)
	}
	b, err := em.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode COSE key: %w", err)
	}
	return b, nil
}

// bigEndianMinimal is v's big-endian bytes without leading zeros (RSA e).
func bigEndianMinimal(v uint64) []byte {
	var out []byte
	for v > 0 {
		out = append([]byte{byte(v)}, out...)
		v >>= 8
	}
	return out
}

// sign signs msg with key using the credential's algorithm: ES256 yields
// an ASN.1 DER ECDSA signature, RS256 a PKCS #1 v1.5 signature.
func sign(r io.Reader, key crypto.Signer, msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(r, k, digest[:])
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(r, k, crypto.SHA256, digest[:])
	}
	return nil, fmt.Errorf("unsupported private key type %T", key)
}

// algOf returns the COSE algorithm of a private key.
func algOf(key crypto.Signer) int {
	if _, ok := key.(*rsa.PrivateKey); ok {
		return AlgRS256
	}
	return AlgES256
}
