package authenticator

import (
	"errors"
	"testing"
)

// FuzzParseCreationOptions: any input either parses into options that
// respect every limit, or fails with ErrInvalidOptions; it never panics.
// MakeCredential runs on what parses, which exercises the exclusion
// decoder and the encoders too.
func FuzzParseCreationOptions(f *testing.F) {
	f.Add(entraOptions(f, "Y2hhbGxlbmdl", nil))
	f.Add(entraOptions(f, "Y2g", func(m map[string]any) {
		m["excludeCredentials"] = []any{map[string]any{"type": "public-key", "id": "AAAA1"}, map[string]any{"id": "a+b/c=="}}
	}))
	f.Add([]byte(`{"publicKey":{"rp":{"id":"a.b"},"user":{"id":"AA"},"challenge":"x"}}`))
	f.Add([]byte(`{"rp":{"id":"a"},"user":{"id":"AAAA2"},"challenge":"=","pubKeyCredParams":[{"alg":-257}]}`))
	f.Add([]byte(`null`))
	a := New(WithRand(seeded(7)))
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
		case o.Challenge == "" || len(o.Challenge) > MaxChallengeLength:
			t.Fatalf("accepted challenge of %d bytes", len(o.Challenge))
		case len(o.UserHandle) == 0:
			t.Fatal("accepted an empty user handle")
		case len(o.ExcludeCredentials) > maxExcludeCount:
			t.Fatal("accepted too many excluded credentials")
		}
		if alg, err := o.algorithm(); err == nil && alg == AlgRS256 {
			return // RSA key generation is too slow for fuzzing
		}
		if len(a.Credentials()) > 50 {
			a = New(WithRand(seeded(7)))
		}
		_, _ = a.MakeCredential(data)
	})
}
