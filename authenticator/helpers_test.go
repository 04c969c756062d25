package authenticator

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

const (
	testRPID     = "login.microsoft.com"
	testUserID   = "T0NPcF9sX3V4a0trQ2N4c0l1VHlEaGVsbG8" // opaque base64url, like Graph's
	testUserName = "alice@contoso.com"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// seeded returns a deterministic reader: same seed, same bytes.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// newTestAuth returns an in-memory authenticator with a fixed clock and a
// seeded reader.
func newTestAuth(t testing.TB, seed uint64, opts ...Option) *Authenticator {
	t.Helper()
	base := []Option{WithRand(seeded(seed)), WithNow(func() time.Time { return testNow })}
	return New(append(base, opts...)...)
}

// testChallenge is a large base64url challenge like Entra's (~7 KB).
func testChallenge(seed uint64) string {
	b := make([]byte, 5300)
	seeded(seed + 1000).Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// entraOptions returns a publicKey object shaped like Graph's, with
// mutate applied to its decoded map first.
func entraOptions(t testing.TB, challenge string, mutate func(m map[string]any)) []byte {
	t.Helper()
	m := map[string]any{
		"@odata.type": "#microsoft.graph.webauthnPublicKeyCredentialCreationOptions",
		"challenge":   challenge,
		"timeout":     0,
		"attestation": "direct",
		"rp":          map[string]any{"id": testRPID, "name": "Microsoft"},
		"user":        map[string]any{"id": testUserID, "name": testUserName, "displayName": "Alice Example"},
		"pubKeyCredParams": []any{
			map[string]any{"type": "public-key", "alg": -7},
			map[string]any{"type": "public-key", "alg": -257},
		},
		"excludeCredentials": []any{},
		"authenticatorSelection": map[string]any{
			"authenticatorAttachment": "cross-platform",
			"requireResidentKey":      true,
			"userVerification":        "required",
		},
		"extensions": map[string]any{
			"hmacCreateSecret":                  true,
			"enforceCredentialProtectionPolicy": true,
			"credentialProtectionPolicy":        "userVerificationOptional",
		},
	}
	if mutate != nil {
		mutate(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyAttestation checks at the way a relying party does and returns
// the parsed data.
func verifyAttestation(t testing.TB, at *Attestation, challenge string) *protocol.ParsedCredentialCreationData {
	t.Helper()
	body, err := at.WebAuthnJSON()
	if err != nil {
		t.Fatal(err)
	}
	pcc, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		t.Fatalf("go-webauthn cannot parse the attestation: %v", describe(err))
	}
	params := []protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
	}
	_, err = pcc.Verify(challenge, testRPID, []string{"https://" + testRPID}, nil, nil,
		protocol.TopOriginExplicitVerificationMode, false, true, true, nil, params,
		protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
	if err != nil {
		t.Fatalf("go-webauthn rejects the attestation: %v", describe(err))
	}
	return pcc
}

// verifyAssertion checks as the way a relying party does, with the COSE
// public key registered earlier.
func verifyAssertion(t testing.TB, as *Assertion, challenge string, cosePub []byte) *protocol.ParsedCredentialAssertionData {
	t.Helper()
	body, err := as.WebAuthnJSON()
	if err != nil {
		t.Fatal(err)
	}
	par, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		t.Fatalf("go-webauthn cannot parse the assertion: %v", describe(err))
	}
	err = par.Verify(challenge, testRPID, "", []string{"https://" + testRPID}, nil, nil,
		protocol.TopOriginExplicitVerificationMode, false, true, true, cosePub, protocol.SignaturePolicy{})
	if err != nil {
		t.Fatalf("go-webauthn rejects the assertion: %v", describe(err))
	}
	return par
}

// describe includes go-webauthn's developer info, which its Error() omits.
func describe(err error) string {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return err.Error()
	}
	return strings.Join([]string{pe.Type, pe.Details, pe.DevInfo}, " | ")
}

// mustMake runs MakeCredential and fails the test on error.
func mustMake(t testing.TB, a *Authenticator, opts []byte, call ...CallOption) *Attestation {
	t.Helper()
	at, err := a.MakeCredential(opts, call...)
	if err != nil {
		t.Fatalf("MakeCredential: %v", err)
	}
	return at
}

func mustEqual[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
