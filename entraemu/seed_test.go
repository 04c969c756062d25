package entraemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestLoadSeed(t *testing.T) {
	const good = `{"tenants":[{"id":"72f988bf-86f1-41af-91ab-2d7cd011db47","domain":"example.onmicrosoft.com",
	  "apps":[{"client_id":"11111111-1111-1111-1111-111111111111","secrets":[{"value":"s3cret-value-1234","expires":"2030-01-01T00:00:00Z"}],"roles":["UserAuthenticationMethod.ReadWrite.All"]}],
	  "users":[{"id":"22222222-2222-2222-2222-222222222222","upn":"eve@example.onmicrosoft.com"}]}]}`
	s, err := LoadSeed(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Seed: s})
	if err != nil {
		t.Fatal(err)
	}
	set := e.Settings()
	if set.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" || set.ClientSecret != "s3cret-value-1234" || len(set.Users) != 1 || set.Users[0].UPN != "eve@example.onmicrosoft.com" {
		t.Errorf("settings = %+v", set)
	}
	for name, bad := range map[string]string{
		"unknown field": `{"tenants":[{"domain":"a.example.com","colour":"red"}]}`,
		"no tenants":    `{"tenants":[]}`,
		"trailing":      `{"tenants":[{"domain":"a.example.com"}]} {}`,
	} {
		if _, err := LoadSeed(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, _ = LoadSeed(strings.NewReader(`{"tenants":[{"domain":"a.example.com","users":[{"upn":"not a upn"},{"upn":"x@a.example.com","id":"nope"}]}]}`))
	if _, err := New(Options{Seed: s}); err == nil || !strings.Contains(err.Error(), "users[0]") || !strings.Contains(err.Error(), "users[1]") {
		t.Errorf("invalid seed error = %v; want every problem", err)
	}
}

// TestClientAssertion covers certificate credentials (PS256 x5t#S256 and
// RS256 x5t).
func TestClientAssertion(t *testing.T) {
	v := newEnv(t, nil)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "passkeyd"}, NotBefore: v.clock.Now().Add(-time.Hour), NotAfter: v.clock.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.e.AddAppCertificate(v.set.TenantID, v.set.ClientID, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		t.Fatal(err)
	}
	s256 := sha256.Sum256(der)
	aud := v.srv.URL + "/" + v.set.TenantID + "/oauth2/v2.0/token"
	assertion := func(alg string, header map[string]any, claims map[string]any) string {
		header["alg"], header["typ"] = alg, "JWT"
		base := map[string]any{"aud": aud, "iss": v.set.ClientID, "sub": v.set.ClientID, "jti": uuid.NewString(),
			"nbf": v.clock.Now().Unix(), "iat": v.clock.Now().Unix(), "exp": v.clock.Now().Add(10 * time.Minute).Unix()}
		for k, c := range claims {
			base[k] = c
		}
		h, _ := json.Marshal(header)
		c, _ := json.Marshal(base)
		in := b64(h) + "." + b64(c)
		sum := sha256.Sum256([]byte(in))
		var sig []byte
		if alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], nil)
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		}
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + b64(sig)
	}
	sha1x5t := func() string { c, _ := x509.ParseCertificate(der); return b64(sha1Sum(c.Raw)) }
	ps := map[string]any{"x5t#S256": b64(s256[:])}
	fixed := assertion("PS256", map[string]any{"x5t#S256": b64(s256[:])}, nil)
	tests := []struct {
		name      string
		assertion string
		code      int
	}{
		{"PS256 x5t#S256", assertion("PS256", ps, nil), 0},
		{"PS256 x5t#S256 in MSAL's padded standard base64", assertion("PS256", map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, nil), 0},
		{"RS256 x5t", assertion("RS256", map[string]any{"x5t": sha1x5t()}, nil), 0},
		{"first use", fixed, 0},
		{"replayed jti", fixed, 50027},
		{"unknown key", assertion("PS256", map[string]any{"x5t#S256": b64([]byte("unknown-thumbprint-0123456789abc"))}, nil), 700027},
		{"wrong audience", assertion("PS256", ps, map[string]any{"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token"}), 50027},
		{"wrong issuer", assertion("PS256", ps, map[string]any{"iss": "someone"}), 700021},
		{"future nbf", assertion("PS256", ps, map[string]any{"nbf": v.clock.Now().Add(10 * time.Minute).Unix(), "exp": v.clock.Now().Add(20 * time.Minute).Unix()}), 700024},
		{"expired", assertion("PS256", ps, map[string]any{"exp": v.clock.Now().Add(-10 * time.Minute).Unix(), "nbf": v.clock.Now().Add(-20 * time.Minute).Unix()}), 700024},
		{"malformed", "not-a-jwt", 50027},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body := v.tokenReq(t, v.set.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {v.set.ClientID},
				"client_assertion_type": {clientAssertionType}, "client_assertion": {tc.assertion}, "scope": {v.srv.URL + "/.default"}})
			if tc.code == 0 {
				if st != 200 {
					t.Fatalf("%d %v", st, body)
				}
				jwt, _ := parseJWT(body["access_token"].(string))
				if jwt.str("appidacr") != "2" {
					t.Errorf("appidacr = %q", jwt.str("appidacr"))
				}
				return
			}
			if codes, _ := body["error_codes"].([]any); st != 401 || len(codes) != 1 || codes[0] != float64(tc.code) {
				t.Fatalf("%d %v, want 401 AADSTS%d", st, body, tc.code)
			}
		})
	}
}

func sha1Sum(b []byte) []byte { s := sha1.Sum(b); return s[:] }
