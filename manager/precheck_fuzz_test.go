package manager

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
)

// Fixed enrollment of the precheck fuzz target.
const (
	fuzzRPID      = "login.microsoft.com"
	fuzzChallenge = "Y2hhbGxlbmdlLW9mLXRoZS1wcmVjaGVjay1mdXp6LXRhcmdldA"
	fuzzOptions   = `{"challenge":"` + fuzzChallenge + `",` +
		`"rp":{"id":"` + fuzzRPID + `","name":"Microsoft"},` +
		`"user":{"id":"T0NPcF9sX3V4a0trQ2N4c0l1VHlEaGVsbG8","name":"alice@contoso.com","displayName":"Alice"},` +
		`"pubKeyCredParams":[{"type":"public-key","alg":-7}],` +
		`"authenticatorSelection":{"userVerification":"required"}}`
)

// fuzzCredential makes a valid credential for fuzzOptions. The credential
// ID comes from a seeded reader; the key may not (crypto ignores custom
// readers), which no property below depends on.
func fuzzCredential(f *testing.F) passkeyd.Credential {
	f.Helper()
	var seed [32]byte
	binary.BigEndian.PutUint64(seed[:], 6)
	a := authenticator.New(
		authenticator.WithRand(rand.NewChaCha8(seed)),
		authenticator.WithNow(func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }),
	)
	at, err := a.MakeCredential([]byte(fuzzOptions))
	if err != nil {
		f.Fatalf("MakeCredential: %v", err)
	}
	return at.Credential()
}

// FuzzPrecheckCredential: whatever a device sends, precheckCredential
// never panics, accepts only a credential whose ID it reports faithfully
// with a well-formed AAGUID, and refuses with a caller error (400 or 422),
// never an internal one.
func FuzzPrecheckCredential(f *testing.F) {
	good := fuzzCredential(f)
	// The seed must pass, or the target would only explore refusals.
	if _, err := precheckCredential(good, challengeDigestOf(fuzzChallenge), fuzzRPID); err != nil {
		f.Fatalf("the valid credential is refused: %v", err)
	}
	cdj, err := base64.RawURLEncoding.DecodeString(good.ClientDataJSON)
	if err != nil {
		f.Fatal(err)
	}
	ao, err := base64.RawURLEncoding.DecodeString(good.AttestationObject)
	if err != nil {
		f.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	flip := func(b []byte, i int) string {
		c := append([]byte(nil), b...)
		c[i%len(c)] ^= 0x01
		return enc(c)
	}
	add := func(c passkeyd.Credential) {
		f.Add(c.ID, c.ClientDataJSON, c.AttestationObject, []byte(c.ClientExtensionResults))
	}
	add(good)
	for _, edit := range []func(c *passkeyd.Credential){
		func(c *passkeyd.Credential) { c.ID += "==" },                  // padded
		func(c *passkeyd.Credential) { c.ID = "a+b/" },                 // standard alphabet
		func(c *passkeyd.Credential) { c.ID = enc([]byte("another")) }, // ID mismatch
		func(c *passkeyd.Credential) {
			c.ClientDataJSON = enc([]byte(strings.Replace(string(cdj), fuzzChallenge, "AAAA", 1)))
		},
		func(c *passkeyd.Credential) {
			c.ClientDataJSON = enc([]byte(strings.Replace(string(cdj), "webauthn.create", "webauthn.get", 1)))
		},
		func(c *passkeyd.Credential) { c.ClientDataJSON = enc(cdj[:len(cdj)/2]) },
		func(c *passkeyd.Credential) { c.AttestationObject = enc(ao[:len(ao)-10]) },
		func(c *passkeyd.Credential) { c.AttestationObject = flip(ao, 40) },  // inside authData
		func(c *passkeyd.Credential) { c.AttestationObject = flip(ao, 100) }, // credential ID or key
		func(c *passkeyd.Credential) { c.ClientExtensionResults = []byte(`{"credProps":{"rk":true}}`) },
		func(c *passkeyd.Credential) { c.ClientExtensionResults = []byte(`[1]`) },
		func(c *passkeyd.Credential) { c.AttestationObject = "o2M" },
	} {
		c := good
		edit(&c)
		add(c)
	}
	f.Fuzz(func(t *testing.T, id, cdj, ao string, ext []byte) {
		cred := passkeyd.Credential{ID: id, ClientDataJSON: cdj, AttestationObject: ao, ClientExtensionResults: ext}
		got, err := precheckCredential(cred, challengeDigestOf(fuzzChallenge), fuzzRPID)
		if err != nil {
			var e *passkeyd.Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not a *passkeyd.Error: %v", err)
			}
			if e.Code != passkeyd.EInvalid && e.Code != passkeyd.EUnprocessable {
				t.Fatalf("code %q, want invalid or unprocessable: %v", e.Code, err)
			}
			if !passkeyd.Printable(e.Message) {
				t.Fatalf("message not printable: %q", e.Message)
			}
			return
		}
		raw, derr := base64.RawURLEncoding.DecodeString(strings.TrimRight(id, "="))
		if derr != nil {
			t.Fatalf("accepted an ID that does not decode: %q", id)
		}
		if want := base64.RawURLEncoding.EncodeToString(raw); got.credentialID != want {
			t.Fatalf("credential ID %q, want %q", got.credentialID, want)
		}
		if _, err := uuid.Parse(got.aaguid); err != nil {
			t.Fatalf("AAGUID %q: %v", got.aaguid, err)
		}
	})
}
