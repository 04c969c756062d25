package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// testNow is the fixed "now" of every test.
var testNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// testKeys generates each slow key once per test binary.
type testKeys struct {
	once    sync.Once
	rsa2048 *rsa.PrivateKey
	rsaAlt  *rsa.PrivateKey
	rsa1024 *rsa.PrivateKey
}

func (k *testKeys) load(t testing.TB) {
	t.Helper()
	k.once.Do(func() {
		var err error
		if k.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.rsaAlt, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			panic(err)
		}
	})
}

// keys is shared by all tests of the binary; it is written once, under
// its sync.Once, and only read afterwards.
var keys testKeys

func rsaKey(t testing.TB) *rsa.PrivateKey    { keys.load(t); return keys.rsa2048 }
func rsaAltKey(t testing.TB) *rsa.PrivateKey { keys.load(t); return keys.rsaAlt }
func rsa1024(t testing.TB) *rsa.PrivateKey   { keys.load(t); return keys.rsa1024 }

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certSpec describes a test certificate; zero fields take defaults.
type certSpec struct {
	cn        string
	key       crypto.Signer
	parent    *x509.Certificate // nil: self-signed
	parentKey crypto.Signer
	notBefore time.Time
	notAfter  time.Time
	ca        bool
}

func newCert(t testing.TB, s certSpec) *x509.Certificate {
	t.Helper()
	if s.cn == "" {
		s.cn = "passkeyd test"
	}
	if s.notBefore.IsZero() {
		s.notBefore = testNow.Add(-24 * time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = testNow.Add(365 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x1234ABCD),
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"Contoso"}},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
	}
	if s.ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	parent, signer := tmpl, s.key
	if s.parent != nil {
		parent, signer = s.parent, s.parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, s.key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certPEM(cs ...*x509.Certificate) string {
	return string(EncodeChainPEM(cs))
}

func pkcs8PEM(t testing.TB, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func pkcs1PEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func sec1PEM(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

func pemBlock(typ string, body []byte, headers map[string]string) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: body, Headers: headers}))
}

func encodeP12(t testing.TB, enc *pkcs12.Encoder, key crypto.Signer, leaf *x509.Certificate, cas []*x509.Certificate, password string) []byte {
	t.Helper()
	data, err := enc.Encode(key, leaf, cas, password)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// hasMessage fails unless one of msgs contains want.
func hasMessage(t testing.TB, kind string, msgs []string, want string) {
	t.Helper()
	for _, m := range msgs {
		if strings.Contains(m, want) {
			return
		}
	}
	t.Errorf("%s = %q, want one containing %q", kind, msgs, want)
}
