package certs

import (
	"crypto/elliptic"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"software.sslmate.com/src/go-pkcs12"
)

// FuzzValidate feeds arbitrary uploads to Validate. Properties: no panic;
// a credential exactly when the report is valid; a valid report has a
// matching key, a leaf and no errors; an invalid one has an error.
func FuzzValidate(f *testing.F) {
	// EC P-256, not RSA: each fuzzing worker runs this setup under
	// coverage instrumentation, where RSA key generation takes minutes.
	key := ecKey(f, elliptic.P256())
	leaf := newCert(f, certSpec{key: key})
	f.Add(certPEM(leaf), pkcs8PEM(f, key), []byte(nil), "")
	f.Add("", "", encodeP12(f, pkcs12.Modern, key, leaf, nil, "pw"), "pw")
	f.Add("", "", encodeP12(f, pkcs12.Legacy, key, leaf, nil, "pw"), "pw")
	f.Add("-----BEGIN CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\n", []byte{0x30, 0x80}, "")

	f.Fuzz(func(t *testing.T, certText, keyText string, p12 []byte, password string) {
		up := passkeyd.CertificateUpload{
			CertificatePEM: certText,
			PrivateKeyPEM:  passkeyd.Secret(keyText),
			PKCS12:         p12,
			Password:       passkeyd.Secret(password),
		}
		if w := pkcs12Work(p12); w.total.IsInt64() && w.total.Int64() > 20000 && w.total.Int64() <= MaxPKCS12Iterations {
			// Accepted but slow (up to a second, far more under fuzzing
			// instrumentation); the limit itself is TestPKCS12IterationLimit's.
			t.Skip("expensive PKCS#12 key derivation")
		}
		cc, r := Validate(up, testNow)
		if r == nil {
			t.Fatal("nil report")
		}
		if (cc != nil) != r.Valid {
			t.Fatalf("credential %v but Valid %v", cc != nil, r.Valid)
		}
		if r.Valid {
			if !r.KeyMatches || len(r.Errors) != 0 || cc.Key == nil || len(cc.Chain) == 0 {
				t.Fatalf("valid report without a usable credential: %+v", r)
			}
			return
		}
		if len(r.Errors) == 0 {
			t.Fatalf("invalid report without an error: %+v", r)
		}
	})
}
