package authenticator

import (
	"testing"
)

func BenchmarkMakeCredential(b *testing.B) {
	a := New()
	opts := entraOptions(b, testChallenge(1), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.MakeCredential(opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetAssertion(b *testing.B) {
	a := New()
	at := mustMake(b, a, entraOptions(b, "Y2g", nil))
	allow := [][]byte{at.CredentialID}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.GetAssertion(testRPID, "Y2hhbGxlbmdl", allow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetAssertionKeystore includes the encrypted save that persists
// the counter on every assertion.
func BenchmarkGetAssertionKeystore(b *testing.B) {
	a, err := Create(b.TempDir()+"/ks", testPass, fastKDF)
	if err != nil {
		b.Fatal(err)
	}
	mustMake(b, a, entraOptions(b, "Y2g", nil))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.GetAssertion(testRPID, "Y2hhbGxlbmdl", nil); err != nil {
			b.Fatal(err)
		}
	}
}
