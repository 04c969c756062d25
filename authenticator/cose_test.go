package authenticator

import (
	"crypto/ecdsa"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestLeadingZeroCoordinate: about 1 P-256 key in 128 has an X or Y
// coordinate below 2^248. Its COSE form must still carry 32 bytes, or
// relying parties (go-webauthn among them) reject the attestation. The seed
// is found by a deterministic search, so the test always uses the same key.
func TestLeadingZeroCoordinate(t *testing.T) {
	for _, coord := range []struct {
		name string
		at   int // index of the coordinate's first byte in 0x04||X||Y
	}{{"X", 1}, {"Y", 33}} {
		t.Run(coord.name, func(t *testing.T) {
			seed, a, at := findSeed(t, func(pub *ecdsa.PublicKey) bool {
				raw, _ := pub.Bytes()
				return raw[coord.at] == 0
			})
			t.Logf("seed %d gives a key whose %s starts with a zero byte", seed, coord.name)
			pcc := verifyAttestation(t, at, "Y2g")
			cose := pcc.Response.AttestationObject.AuthData.AttData.CredentialPublicKey
			var m map[int]any
			if err := cbor.Unmarshal(cose, &m); err != nil {
				t.Fatal(err)
			}
			for _, label := range []int{coseX, coseY} {
				if b, _ := m[label].([]byte); len(b) != 32 {
					t.Errorf("COSE label %d has %d bytes, want 32", label, len(b))
				}
			}
			as, err := a.GetAssertion(testRPID, "c2lnbg", nil)
			if err != nil {
				t.Fatal(err)
			}
			verifyAssertion(t, as, "c2lnbg", cose)
		})
	}
}

// findSeed returns the first seed whose credential key satisfies want.
func findSeed(t *testing.T, want func(*ecdsa.PublicKey) bool) (uint64, *Authenticator, *Attestation) {
	t.Helper()
	opts := entraOptions(t, "Y2g", nil)
	for seed := uint64(1); seed < 5000; seed++ {
		a := newTestAuth(t, seed)
		at := mustMake(t, a, opts)
		info, _ := a.Credential(at.CredentialID)
		if want(info.PublicKey.(*ecdsa.PublicKey)) {
			return seed, a, at
		}
	}
	t.Fatal("no seed below 5000 gives such a key")
	return 0, nil, nil
}
