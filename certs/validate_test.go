package certs

import (
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"software.sslmate.com/src/go-pkcs12"
)

// TestValidateErrors checks that each problem is reported with its own
// precise message and that nothing invalid yields a credential.
func TestValidateErrors(t *testing.T) {
	key := rsaKey(t)
	leaf := newCert(t, certSpec{key: key})
	good := certPEM(leaf)
	goodKey := pkcs8PEM(t, key)
	p12 := encodeP12(t, pkcs12.Modern, key, leaf, nil, "right")

	ca := newCert(t, certSpec{cn: "Contoso CA", key: rsaAltKey(t), ca: true})
	issued := newCert(t, certSpec{cn: "issued", key: key, parent: ca, parentKey: rsaAltKey(t)})

	p384 := ecKey(t, elliptic.P384())
	p384Cert := newCert(t, certSpec{key: p384})
	ed := edKey(t)
	edCert := newCert(t, certSpec{key: ed})
	small := rsa1024(t)
	smallCert := newCert(t, certSpec{key: small})

	dsaPKCS8, err := asn1.Marshal(pkcs8Header{
		Algorithm:  pkix.AlgorithmIdentifier{Algorithm: oidDSA, Parameters: asn1.NullRawValue},
		PrivateKey: []byte{2, 1, 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	k1, err := asn1.Marshal(sec1Header{Version: 1, PrivateKey: make([]byte, 32), Curve: asn1.ObjectIdentifier{1, 3, 132, 0, 10}})
	if err != nil {
		t.Fatal(err)
	}
	var eleven []*x509.Certificate
	for range 11 {
		eleven = append(eleven, leaf)
	}

	tests := []struct {
		name string
		up   passkeyd.CertificateUpload
		want string
	}{
		{"neither", passkeyd.CertificateUpload{}, "no certificate uploaded"},
		{"both", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(goodKey), PKCS12: p12}, "not both"},
		{"garbage certificate", passkeyd.CertificateUpload{CertificatePEM: "hello world", PrivateKeyPEM: passkeyd.Secret(goodKey)}, "the certificate field is not PEM: expected text starting with -----BEGIN CERTIFICATE-----"},
		{"garbage key", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: "hunter2"}, "the private key field is not PEM"},
		{"garbage PKCS#12", passkeyd.CertificateUpload{PKCS12: []byte("this is not a pfx")}, "not a PKCS#12 (.pfx/.p12) file"},
		{"PEM in the PKCS#12 field", passkeyd.CertificateUpload{PKCS12: []byte(good)}, "the PKCS#12 file holds PEM text"},
		{"key without certificate", passkeyd.CertificateUpload{PrivateKeyPEM: passkeyd.Secret(goodKey)}, "the private key was uploaded without its certificate"},
		{"certificate without key", passkeyd.CertificateUpload{CertificatePEM: good}, "the certificate was uploaded without its private key"},
		{"mismatched key", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, rsaAltKey(t)))}, "the private key does not match the certificate (CN=passkeyd test,O=Contoso)"},
		{"key of the second certificate", passkeyd.CertificateUpload{CertificatePEM: certPEM(ca, issued), PrivateKeyPEM: passkeyd.Secret(goodKey)}, "the private key belongs to certificate 2 (CN=issued,O=Contoso)"},
		{"wrong PKCS#12 password", passkeyd.CertificateUpload{PKCS12: p12, Password: "wrong"}, "wrong PKCS#12 password"},
		{"encrypted PKCS#8 key", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}, nil))}, encryptedKeyMessage},
		{"encrypted legacy key", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pemBlock("RSA PRIVATE KEY", []byte{1, 2, 3}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}))}, encryptedKeyMessage},
		{"expired", passkeyd.CertificateUpload{CertificatePEM: certPEM(newCert(t, certSpec{key: key, notBefore: testNow.AddDate(-1, 0, 0), notAfter: testNow.Add(-time.Hour)})), PrivateKeyPEM: passkeyd.Secret(goodKey)}, "the certificate expired on 2026-01-15 11:00 UTC"},
		{"not yet valid", passkeyd.CertificateUpload{CertificatePEM: certPEM(newCert(t, certSpec{key: key, notBefore: testNow.Add(48 * time.Hour)})), PrivateKeyPEM: passkeyd.Secret(goodKey)}, "the certificate is not valid yet: it becomes valid on 2026-01-17 12:00 UTC"},
		{"RSA 1024", passkeyd.CertificateUpload{CertificatePEM: certPEM(smallCert), PrivateKeyPEM: passkeyd.Secret(pkcs1PEM(small))}, "the RSA key is 1024 bits, shorter than the 2048 bits Entra requires"},
		{"EC P-384", passkeyd.CertificateUpload{CertificatePEM: certPEM(p384Cert), PrivateKeyPEM: passkeyd.Secret(sec1PEM(t, p384))}, "the EC key is on curve P-384, which is not supported"},
		{"Ed25519", passkeyd.CertificateUpload{CertificatePEM: certPEM(edCert), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, ed))}, "Ed25519 keys are not supported"},
		{"DSA PEM", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pemBlock("DSA PRIVATE KEY", []byte{1}, nil))}, "DSA keys are not supported"},
		{"DSA PKCS#8", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pemBlock("PRIVATE KEY", dsaPKCS8, nil))}, "DSA keys are not supported"},
		{"secp256k1", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pemBlock("EC PRIVATE KEY", k1, nil))}, "the EC key is on curve secp256k1, which is not supported"},
		{"damaged key", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pemBlock("PRIVATE KEY", []byte("junk"), nil))}, "the PRIVATE KEY block is not a valid private key"},
		{"damaged certificate", passkeyd.CertificateUpload{CertificatePEM: pemBlock("CERTIFICATE", []byte("junk"), nil), PrivateKeyPEM: passkeyd.Secret(goodKey)}, "certificate 1 in the certificate field cannot be parsed"},
		{"certificate request", passkeyd.CertificateUpload{CertificatePEM: good + pemBlock("CERTIFICATE REQUEST", []byte{1}, nil), PrivateKeyPEM: passkeyd.Secret(goodKey)}, "holds a certificate signing request, not a certificate"},
		{"public key", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(pemBlock("PUBLIC KEY", []byte{1}, nil))}, "holds a public key, not a private key"},
		{"unknown block", passkeyd.CertificateUpload{CertificatePEM: good + pemBlock("X509 CRL", []byte{1}, nil), PrivateKeyPEM: passkeyd.Secret(goodKey)}, `holds an unexpected PEM block "X509 CRL"`},
		{"trailing garbage", passkeyd.CertificateUpload{CertificatePEM: good + "\nextra text\n", PrivateKeyPEM: passkeyd.Secret(goodKey)}, fmt.Sprintf("unexpected text after its last PEM block, at line %d", strings.Count(good, "\n")+2)},
		{"truncated block", passkeyd.CertificateUpload{CertificatePEM: good + good[:len(good)/2], PrivateKeyPEM: passkeyd.Secret(goodKey)}, "the certificate field holds a damaged PEM block at line"},
		{"only a truncated block", passkeyd.CertificateUpload{CertificatePEM: good[:len(good)/2], PrivateKeyPEM: passkeyd.Secret(goodKey)}, "the certificate field holds a damaged PEM block (line 1)"},
		{"two private keys", passkeyd.CertificateUpload{CertificatePEM: good, PrivateKeyPEM: passkeyd.Secret(goodKey + pkcs1PEM(key))}, "the upload holds 2 private keys"},
		{"too many certificates", passkeyd.CertificateUpload{CertificatePEM: certPEM(eleven...), PrivateKeyPEM: passkeyd.Secret(goodKey)}, "more than 10 certificates"},
		{"PEM too large", passkeyd.CertificateUpload{CertificatePEM: good + strings.Repeat(" ", MaxPEMBytes), PrivateKeyPEM: passkeyd.Secret(goodKey)}, "more than the 65536 bytes accepted"},
		{"PKCS#12 too large", passkeyd.CertificateUpload{PKCS12: make([]byte, MaxPKCS12Bytes+1)}, "the PKCS#12 file is 65537 bytes"},
		{"password too long", passkeyd.CertificateUpload{PKCS12: p12, Password: passkeyd.Secret(strings.Repeat("x", MaxPasswordBytes+1))}, "the PKCS#12 password is 1025 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, r := Validate(tt.up, testNow)
			if r.Valid || cc != nil {
				t.Fatalf("Valid = %v, credential = %v; want invalid", r.Valid, cc != nil)
			}
			hasMessage(t, "errors", r.Errors, tt.want)
			for _, e := range r.Errors {
				if strings.Contains(e, "PRIVATE KEY-----\nMII") || strings.Contains(e, "hunter2") {
					t.Errorf("error leaks key material: %q", e)
				}
			}
		})
	}
}

// TestValidateAccepts checks the upload forms admins really use and the
// report they get.
func TestValidateAccepts(t *testing.T) {
	key := rsaKey(t)
	leaf := newCert(t, certSpec{key: key})
	ec := ecKey(t, elliptic.P256())
	ecCert := newCert(t, certSpec{key: ec})
	ca := newCert(t, certSpec{cn: "Contoso CA", key: rsaAltKey(t), ca: true})
	issued := newCert(t, certSpec{cn: "issued", key: key, parent: ca, parentKey: rsaAltKey(t)})
	ecParams := pemBlock("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}, nil)
	// openssl pkcs12 -nodes writes explanatory text before each block.
	bagAttrs := "Bag Attributes\n    localKeyID: 01 02 03\nsubject=CN=passkeyd test\n"

	tests := []struct {
		name       string
		up         passkeyd.CertificateUpload
		leaf       *x509.Certificate
		keyType    string
		chain      int
		selfSigned bool
		warnings   []string
	}{
		{"PEM PKCS#8 RSA", passkeyd.CertificateUpload{CertificatePEM: certPEM(leaf), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, key))}, leaf, "RSA", 1, true, nil},
		{"PEM PKCS#1 RSA", passkeyd.CertificateUpload{CertificatePEM: certPEM(leaf), PrivateKeyPEM: passkeyd.Secret(pkcs1PEM(key))}, leaf, "RSA", 1, true, nil},
		{"PEM SEC1 P-256 with EC PARAMETERS", passkeyd.CertificateUpload{CertificatePEM: certPEM(ecCert), PrivateKeyPEM: passkeyd.Secret(ecParams + sec1PEM(t, ec))}, ecCert, "EC", 1, true, nil},
		{"combined PEM in one field", passkeyd.CertificateUpload{CertificatePEM: bagAttrs + pkcs8PEM(t, key) + bagAttrs + certPEM(leaf)}, leaf, "RSA", 1, true, nil},
		{"PEM chain", passkeyd.CertificateUpload{CertificatePEM: certPEM(issued, ca), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, key))}, issued, "RSA", 2, false, nil},
		{"PEM chain in the wrong order", passkeyd.CertificateUpload{CertificatePEM: certPEM(issued, leaf), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, key))}, issued, "RSA", 2, false,
			[]string{"certificate 1 (CN=issued,O=Contoso) is not issued by certificate 2 (CN=passkeyd test,O=Contoso)"}},
		{"PEM with a needless password", passkeyd.CertificateUpload{CertificatePEM: certPEM(leaf), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, key)), Password: "x"}, leaf, "RSA", 1, true,
			[]string{"a password is only used with a PKCS#12 file"}},
		{"PKCS#12 modern", passkeyd.CertificateUpload{PKCS12: encodeP12(t, pkcs12.Modern, key, leaf, nil, "pw"), Password: "pw"}, leaf, "RSA", 1, true, nil},
		{"PKCS#12 legacy", passkeyd.CertificateUpload{PKCS12: encodeP12(t, pkcs12.Legacy, key, leaf, nil, "pw"), Password: "pw"}, leaf, "RSA", 1, true, nil},
		{"PKCS#12 modern with chain", passkeyd.CertificateUpload{PKCS12: encodeP12(t, pkcs12.Modern, key, issued, []*x509.Certificate{ca}, "pw"), Password: "pw"}, issued, "RSA", 2, false, nil},
		{"PKCS#12 P-256 empty password", passkeyd.CertificateUpload{PKCS12: encodeP12(t, pkcs12.Modern, ec, ecCert, nil, "")}, ecCert, "EC", 1, true, nil},
		{"expires soon", passkeyd.CertificateUpload{CertificatePEM: certPEM(newCert(t, certSpec{key: key, notAfter: testNow.Add(10*24*time.Hour - time.Hour)})), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, key))}, nil, "RSA", 1, true,
			[]string{"expires in 10 days on 2026-01-25 11:00 UTC: upload a new certificate to the app registration before then"}},
		{"expires within the day", passkeyd.CertificateUpload{CertificatePEM: certPEM(newCert(t, certSpec{key: key, notAfter: testNow.Add(3 * time.Hour)})), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, key))}, nil, "RSA", 1, true,
			[]string{"expires in 1 day on 2026-01-15 15:00 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, r := Validate(tt.up, testNow)
			if !r.Valid || cc == nil || len(r.Errors) != 0 {
				t.Fatalf("Valid = %v, credential = %v, errors = %q; want valid", r.Valid, cc != nil, r.Errors)
			}
			if !r.KeyMatches || r.KeyType != tt.keyType || r.ChainLength != tt.chain || len(cc.Chain) != tt.chain || r.SelfSigned != tt.selfSigned {
				t.Errorf("report = %+v; want key %s, chain %d, self-signed %v", r, tt.keyType, tt.chain, tt.selfSigned)
			}
			if !publicKeysEqual(cc.Chain[0].PublicKey, cc.Key.Public()) {
				t.Error("credential key does not match its leaf")
			}
			if tt.selfSigned {
				hasMessage(t, "warnings", r.Warnings, "self-signed: fine for Entra client credentials, which trust the uploaded certificate itself")
			}
			for _, w := range tt.warnings {
				hasMessage(t, "warnings", r.Warnings, w)
			}
			want := len(tt.warnings)
			if tt.selfSigned {
				want++
			}
			if len(r.Warnings) != want {
				t.Errorf("warnings = %q, want %d", r.Warnings, want)
			}
			if tt.leaf != nil && !cc.Chain[0].Equal(tt.leaf) {
				t.Errorf("leaf = %s, want %s", cc.Chain[0].Subject, tt.leaf.Subject)
			}
		})
	}
}

// TestReportFields checks the report against values computed here
// independently, in the form the Entra portal shows them.
func TestReportFields(t *testing.T) {
	key := rsaKey(t)
	leaf := newCert(t, certSpec{key: key})
	_, r := Validate(passkeyd.CertificateUpload{CertificatePEM: certPEM(leaf), PrivateKeyPEM: passkeyd.Secret(pkcs8PEM(t, key))}, testNow)

	s1 := sha1.Sum(leaf.Raw)
	s256 := sha256.Sum256(leaf.Raw)
	want := passkeyd.CertificateReport{
		Valid:            true,
		Subject:          "CN=passkeyd test,O=Contoso",
		Issuer:           "CN=passkeyd test,O=Contoso",
		SerialNumber:     "1234ABCD",
		NotBefore:        testNow.Add(-24 * time.Hour),
		NotAfter:         testNow.Add(365 * 24 * time.Hour),
		KeyType:          "RSA",
		KeySize:          2048,
		ThumbprintSHA1:   strings.ToUpper(fmt.Sprintf("%x", s1)),
		ThumbprintSHA256: strings.ToUpper(fmt.Sprintf("%x", s256)),
		KeyMatches:       true,
		SelfSigned:       true,
		ChainLength:      1,
	}
	got := *r
	got.Warnings, got.Errors = nil, nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("report =\n%+v\nwant\n%+v", got, want)
	}
	if len(r.ThumbprintSHA1) != 40 || len(r.ThumbprintSHA256) != 64 {
		t.Errorf("thumbprint lengths %d, %d", len(r.ThumbprintSHA1), len(r.ThumbprintSHA256))
	}

	ec := ecKey(t, elliptic.P256())
	_, r = Validate(passkeyd.CertificateUpload{CertificatePEM: certPEM(newCert(t, certSpec{key: ec})), PrivateKeyPEM: passkeyd.Secret(sec1PEM(t, ec))}, testNow)
	if r.KeyType != "EC" || r.KeySize != 256 || r.Curve != "P-256" {
		t.Errorf("EC report: type %q size %d curve %q", r.KeyType, r.KeySize, r.Curve)
	}
}

// TestReportDescribesInvalidUploads checks that a rejected upload still
// tells the admin what was uploaded.
func TestReportDescribesInvalidUploads(t *testing.T) {
	key := rsaKey(t)
	leaf := newCert(t, certSpec{key: key})
	_, r := Validate(passkeyd.CertificateUpload{CertificatePEM: certPEM(leaf)}, testNow)
	if r.Subject != "CN=passkeyd test,O=Contoso" || r.ThumbprintSHA1 == "" || r.KeyMatches {
		t.Errorf("certificate-only report = %+v", r)
	}
	_, r = Validate(passkeyd.CertificateUpload{PrivateKeyPEM: passkeyd.Secret(pkcs1PEM(rsa1024(t)))}, testNow)
	if r.KeyType != "RSA" || r.KeySize != 1024 {
		t.Errorf("key-only report = %+v", r)
	}
	hasMessage(t, "errors", r.Errors, "the RSA key is 1024 bits")
}

func TestDescribeAndCheckStored(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	certPEM, keyPEM := selfSignedForDescribe(t, now.Add(-time.Hour), now.AddDate(0, 0, 10))
	cc, rep := Validate(passkeyd.CertificateUpload{CertificatePEM: certPEM, PrivateKeyPEM: passkeyd.Secret(keyPEM)}, now)
	if !rep.Valid {
		t.Fatalf("Validate: %+v", rep)
	}
	d := Describe(EncodeChainPEM(cc.Chain), now)
	if !d.Valid || d.ThumbprintSHA1 != rep.ThumbprintSHA1 || d.KeyMatches || len(d.Warnings) == 0 {
		t.Errorf("Describe = %+v, want valid, same thumbprint, no key check, an expiry warning", d)
	}
	if c := Check(cc, now); !c.Valid || !c.KeyMatches {
		t.Errorf("Check = %+v", c)
	}
	if c := Check(cc, now.AddDate(0, 1, 0)); c.Valid || len(c.Errors) == 0 {
		t.Errorf("Check after expiry = %+v, want an error", c)
	}
	if d := Describe([]byte("garbage"), now); d.Valid || len(d.Errors) != 1 {
		t.Errorf("Describe(garbage) = %+v", d)
	}
}

func selfSignedForDescribe(t *testing.T, notBefore, notAfter time.Time) (certPEMText, keyPEMText string) {
	t.Helper()
	k := rsaKey(t)
	c := newCert(t, certSpec{key: k, notBefore: notBefore, notAfter: notAfter})
	return certPEM(c), pkcs8PEM(t, k)
}
