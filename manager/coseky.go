package manager

import (
	"crypto/ecdh"
	"math/big"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// checkCredentialKey reports what is wrong with the credential public key of
// an attestation, or "": an ES256 key must be a point on P-256 (with
// attestation "none" nothing else would ever check it), an RS256 key at
// least 2048 bits with a sane exponent.
func checkCredentialKey(cose []byte) string {
	key, err := webauthncose.ParsePublicKey(cose)
	if err != nil {
		return "the credential public key cannot be parsed"
	}
	switch k := key.(type) {
	case webauthncose.EC2PublicKeyData:
		if k.Algorithm != int64(webauthncose.AlgES256) || k.Curve != 1 {
			return "the credential public key is not an ES256 P-256 key"
		}
		if len(k.XCoord) != 32 || len(k.YCoord) != 32 {
			return "the credential public key's coordinates are not 32 bytes"
		}
		point := append(append([]byte{4}, k.XCoord...), k.YCoord...)
		if _, err := ecdh.P256().NewPublicKey(point); err != nil {
			return "the credential public key is not a point on P-256"
		}
	case webauthncose.RSAPublicKeyData:
		n := new(big.Int).SetBytes(k.Modulus)
		e := new(big.Int).SetBytes(k.Exponent)
		if n.BitLen() < 2048 || !e.IsInt64() || e.Int64() < 3 || e.Int64()%2 == 0 {
			return "the credential public key is not an RSA key of at least 2048 bits"
		}
	default:
		return "the credential public key's algorithm is not ES256 or RS256"
	}
	return ""
}
