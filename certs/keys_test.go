package certs

import (
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"strings"
	"testing"
)

func TestStoredKeyRoundTrip(t *testing.T) {
	for name, key := range map[string]crypto.Signer{
		"RSA":   rsaKey(t),
		"P-256": ecKey(t, elliptic.P256()),
	} {
		t.Run(name, func(t *testing.T) {
			der, err := MarshalKey(key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseStoredKey(der)
			if err != nil {
				t.Fatal(err)
			}
			if !publicKeysEqual(key.Public(), got.Public()) {
				t.Error("round trip changed the key")
			}
		})
	}
}

func TestParseStoredKeyRejects(t *testing.T) {
	small, err := x509.MarshalPKCS8PrivateKey(rsa1024(t))
	if err != nil {
		t.Fatal(err)
	}
	p384, err := x509.MarshalPKCS8PrivateKey(ecKey(t, elliptic.P384()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		der  []byte
		want string
	}{
		{"garbage", []byte("junk"), "not a PKCS#8 private key"},
		{"RSA 1024", small, "the RSA key is 1024 bits"},
		{"P-384", p384, "curve P-384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStoredKey(tt.der)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := MarshalKey(nil); err == nil {
		t.Error("MarshalKey(nil) succeeded")
	}
}

func TestChainPEMRoundTrip(t *testing.T) {
	ca := newCert(t, certSpec{cn: "Contoso CA", key: rsaAltKey(t), ca: true})
	leaf := newCert(t, certSpec{cn: "leaf", key: rsaKey(t), parent: ca, parentKey: rsaAltKey(t)})
	got, err := ParseChainPEM(EncodeChainPEM([]*x509.Certificate{leaf, ca}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Equal(leaf) || !got[1].Equal(ca) {
		t.Fatalf("chain = %d certificates, want leaf then CA", len(got))
	}
	for name, in := range map[string]string{
		"empty":    "",
		"key":      pkcs8PEM(t, rsaKey(t)),
		"trailing": certPEM(leaf) + "junk",
	} {
		if _, err := ParseChainPEM([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
