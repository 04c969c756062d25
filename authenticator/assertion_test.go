package authenticator

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestGetAssertionVerifiesAndCounts(t *testing.T) {
	a := newTestAuth(t, 30)
	at := mustMake(t, a, entraOptions(t, "Y2g", nil))
	pcc := verifyAttestation(t, at, "Y2g")
	pub := pcc.Response.AttestationObject.AuthData.AttData.CredentialPublicKey

	for want := uint32(1); want <= 3; want++ {
		challenge := EncodeID([]byte{byte(want), 1, 2, 3})
		as, err := a.GetAssertion(testRPID, challenge, [][]byte{at.CredentialID})
		if err != nil {
			t.Fatal(err)
		}
		par := verifyAssertion(t, as, challenge, pub)
		ad := par.Response.AuthenticatorData
		mustEqual(t, "counter", ad.Counter, want)
		mustEqual(t, "UP", ad.Flags.HasUserPresent(), true)
		mustEqual(t, "UV", ad.Flags.HasUserVerified(), true)
		mustEqual(t, "AT", ad.Flags.HasAttestedCredentialData(), false)
		mustEqual(t, "BE", ad.Flags.HasBackupEligible(), false)
		if !bytes.Equal(as.UserHandle, mustDecode(t, testUserID)) {
			t.Errorf("user handle %x", as.UserHandle)
		}
		wantCD := `{"type":"webauthn.get","challenge":"` + challenge + `","origin":"https://login.microsoft.com","crossOrigin":false}`
		mustEqual(t, "clientDataJSON", string(as.ClientDataJSON), wantCD)

		// And by hand: ASN.1 ECDSA over authData || SHA-256(clientDataJSON).
		info, _ := a.Credential(at.CredentialID)
		cdh := sha256.Sum256(as.ClientDataJSON)
		digest := sha256.Sum256(append(bytes.Clone(as.AuthenticatorData), cdh[:]...))
		if !ecdsa.VerifyASN1(info.PublicKey.(*ecdsa.PublicKey), digest[:], as.Signature) {
			t.Error("signature does not verify")
		}
		mustEqual(t, "stored counter", info.SignCount, want)
		mustEqual(t, "authData counter", binary.BigEndian.Uint32(as.AuthenticatorData[33:37]), want)
	}
}

func TestGetAssertionSelection(t *testing.T) {
	a := newTestAuth(t, 31)
	first := mustMake(t, a, entraOptions(t, "Y2g", nil))
	second := mustMake(t, a, entraOptions(t, "Y2g", nil))
	other := mustMake(t, a, entraOptions(t, "Y2g", func(m map[string]any) { m["rp"] = map[string]any{"id": "example.org"} }))

	tests := []struct {
		name    string
		rpID    string
		allow   [][]byte
		want    []byte
		wantErr error
	}{
		{"empty list takes newest for rp", testRPID, nil, second.CredentialID, nil},
		{"allow list order", testRPID, [][]byte{{1, 2, 3}, first.CredentialID, second.CredentialID}, first.CredentialID, nil},
		{"credential of another rp is not used", testRPID, [][]byte{other.CredentialID}, nil, ErrNoCredential},
		{"other rp", "example.org", nil, other.CredentialID, nil},
		{"unknown rp", "example.com", nil, nil, ErrNoCredential},
		{"bad rp", "https://x", nil, nil, ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			as, err := a.GetAssertion(tc.rpID, "Y2g", tc.allow)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(as.CredentialID, tc.want) {
				t.Errorf("chose %x, want %x", as.CredentialID, tc.want)
			}
		})
	}
}

func TestGetAssertionInvalidInput(t *testing.T) {
	a := newTestAuth(t, 32)
	mustMake(t, a, entraOptions(t, "Y2g", nil))
	tests := map[string]string{
		"empty challenge":    "",
		"challenge too long": string(bytes.Repeat([]byte("A"), MaxChallengeLength+1)),
		"challenge quotes":   `"}`,
	}
	for name, ch := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := a.GetAssertion(testRPID, ch, nil)
			if !errors.Is(err, ErrInvalidOptions) || passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
				t.Fatalf("err = %v, want EInvalid ErrInvalidOptions", err)
			}
		})
	}
	if c := a.Credentials()[0]; c.SignCount != 0 {
		t.Errorf("counter moved to %d on refused requests", c.SignCount)
	}
}

func TestDiscardAndSetMethodID(t *testing.T) {
	a := newTestAuth(t, 33)
	at := mustMake(t, a, entraOptions(t, "Y2g", nil))
	if err := a.SetMethodID(at.CredentialID, "method-1"); err != nil {
		t.Fatal(err)
	}
	info, _ := a.Credential(at.CredentialID)
	mustEqual(t, "method ID", info.MethodID, "method-1")
	if err := a.SetMethodID([]byte("nope"), "x"); !errors.Is(err, ErrNoCredential) {
		t.Errorf("SetMethodID on unknown = %v", err)
	}
	if err := a.Discard(at.CredentialID); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Credential(at.CredentialID); ok {
		t.Error("credential still held after Discard")
	}
	if err := a.Discard(at.CredentialID); err != nil {
		t.Errorf("second Discard = %v, want nil", err)
	}
	if _, err := a.GetAssertion(testRPID, "Y2g", nil); !errors.Is(err, ErrNoCredential) {
		t.Errorf("assertion after Discard = %v", err)
	}
}

// TestConcurrentUse runs MakeCredential and GetAssertion from several
// goroutines; run with -race it checks the locking, and the counter total
// checks that no increment is lost.
func TestConcurrentUse(t *testing.T) {
	a := newTestAuth(t, 34)
	at := mustMake(t, a, entraOptions(t, "Y2g", nil))
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := a.GetAssertion(testRPID, "Y2g", [][]byte{at.CredentialID}); err != nil {
					errs <- err
				}
				if _, err := a.MakeCredential(entraOptions(t, "Y2g", func(m map[string]any) {
					m["rp"] = map[string]any{"id": "example.org"}
				})); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	info, _ := a.Credential(at.CredentialID)
	mustEqual(t, "counter", info.SignCount, uint32(workers*each))
	mustEqual(t, "credentials", len(a.Credentials()), 1+workers*each)
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := DecodeID(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
