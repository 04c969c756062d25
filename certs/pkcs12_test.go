package certs

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"software.sslmate.com/src/go-pkcs12"
)

// TestPKCS12IterationLimit checks that a file asking for more
// key-derivation work than MaxPKCS12Iterations is refused before any of
// that work is done, whether the count sits in the MAC or in the PBKDF2
// parameters of the encrypted content.
func TestPKCS12IterationLimit(t *testing.T) {
	key := rsaKey(t)
	leaf := newCert(t, certSpec{key: key})
	// 123456 encodes as INTEGER 02 03 01 E2 40; 0x7FFFFF (8388607) has the
	// same length, so the patched file keeps its structure.
	data := encodeP12(t, pkcs12.Modern.WithIterations(123456), key, leaf, nil, "pw")
	count := []byte{0x02, 0x03, 0x01, 0xE2, 0x40}
	huge := []byte{0x02, 0x03, 0x7F, 0xFF, 0xFF}
	n := bytes.Count(data, count)
	if n < 3 { // cert encryption, key shrouding, MAC
		t.Fatalf("found the iteration count %d times, want at least 3", n)
	}
	if _, r := Validate(passkeyd.CertificateUpload{PKCS12: data, Password: "pw"}, testNow); !r.Valid {
		t.Fatalf("unpatched file invalid: %q", r.Errors)
	}
	for i := range n {
		patched := bytes.Clone(data)
		at := nthIndex(patched, count, i)
		copy(patched[at:], huge)
		_, r := Validate(passkeyd.CertificateUpload{PKCS12: patched, Password: "pw"}, testNow)
		if r.Valid {
			t.Fatalf("occurrence %d: patched file accepted", i)
		}
		hasMessage(t, "errors", r.Errors, fmt.Sprintf("asks for %d key-derivation iterations in total, more than the 600000 accepted", 8388607+123456*(n-1)))
	}
}

func nthIndex(b, sub []byte, n int) int {
	off := 0
	for range n {
		off += bytes.Index(b[off:], sub) + len(sub)
	}
	return off + bytes.Index(b[off:], sub)
}

// TestPKCS12Problems checks the messages for PKCS#12 files that decode
// structurally but cannot be used.
func TestPKCS12Problems(t *testing.T) {
	key := rsaKey(t)
	leaf := newCert(t, certSpec{key: key})
	trust, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{leaf}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	mismatched := encodeP12(t, pkcs12.Legacy, rsaAltKey(t), leaf, nil, "pw")
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"certificates only", trust, "the PKCS#12 file holds no private key"},
		{"mismatched key", mismatched, "the private key does not match the certificate"},
		{"truncated", mismatched[:len(mismatched)/2], "not a PKCS#12 (.pfx/.p12) file, or it is damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, r := Validate(passkeyd.CertificateUpload{PKCS12: tt.data, Password: "pw"}, testNow)
			if r.Valid || cc != nil {
				t.Fatal("accepted")
			}
			hasMessage(t, "errors", r.Errors, tt.want)
		})
	}
}
