package authenticator

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseCreationOptions: any input either parses into options that
// respect every limit, or fails with ErrInvalidOptions; it never panics.
// Key generation is left out: under fuzzing instrumentation one P-256 key
// takes about a second, which would starve the search.
func FuzzParseCreationOptions(f *testing.F) {
	f.Add(entraOptions(f, "Y2hhbGxlbmdl", nil))
	f.Add(entraOptions(f, "Y2g", func(m map[string]any) {
		m["excludeCredentials"] = []any{map[string]any{"type": "public-key", "id": "AAAA1"}, map[string]any{"id": "a+b/c=="}}
	}))
	f.Add([]byte(`{"publicKey":{"rp":{"id":"a.b"},"user":{"id":"AA"},"challenge":"x"}}`))
	f.Add([]byte(`{"rp":{"id":"a"},"user":{"id":"AAAA2"},"challenge":"=","pubKeyCredParams":[{"alg":-257}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseCreationOptions(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("error does not wrap ErrInvalidOptions: %v", err)
			}
			return
		}
		switch {
		case o.RPID == "" || !validHostname(o.RPID):
			t.Fatalf("accepted rp.id %q", o.RPID)
		case o.Challenge == "" || len(o.Challenge) > MaxChallengeLength || !isBase64Text(o.Challenge):
			t.Fatalf("accepted challenge of %d bytes", len(o.Challenge))
		case len(o.UserHandle) == 0:
			t.Fatal("accepted an empty user handle")
		case len(o.ExcludeCredentials) > maxExcludeCount:
			t.Fatal("accepted too many excluded credentials")
		}
		_, _ = o.algorithm()
		for _, id := range o.ExcludeCredentials {
			_ = IDCandidates(id)
		}
		// The client data built from accepted options is valid JSON that
		// carries the challenge unchanged.
		cd, err := clientDataJSON("webauthn.create", o.Challenge, "https://"+o.RPID)
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ Challenge, Origin string }
		if err := json.Unmarshal(cd, &back); err != nil || back.Challenge != o.Challenge {
			t.Fatalf("client data does not round-trip: %v", err)
		}
	})
}

// FuzzDecodeID: DecodeID never panics, and what it decodes re-encodes to
// the canonical form that decodes to the same bytes.
func FuzzDecodeID(f *testing.F) {
	for _, s := range []string{"AAAA", "AAAA0", "a+b/cQ==", "-_8", "QUJD1", "QQ2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeID(s)
		if err != nil {
			return
		}
		again, err := DecodeID(EncodeID(b))
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("DecodeID(EncodeID(%x)) = %x, %v", b, again, err)
		}
		if len(IDCandidates(s)) == 0 {
			t.Fatalf("DecodeID accepts %q but IDCandidates has nothing", s)
		}
	})
}
