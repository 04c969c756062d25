package entraemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fuzzHost is the host the fuzz targets' requests are addressed to; the
// emulator derives its token endpoint URL (the assertion audience) from it.
const fuzzHost = "http://login.fuzz.test"

// FuzzTokenEndpointAssertion: whatever client_assertion a client sends,
// the token endpoint never panics and never answers 500; it answers 200
// with a token or 400/401 in the identity platform's error shape.
func FuzzTokenEndpointAssertion(f *testing.F) {
	clk := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e, err := New(Options{Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	set := e.Settings()
	key, der := addFuzzCertificate(f, e, set, clk.Now())
	now := clk.Now()
	s256 := sha256.Sum256(der)
	sign := func(header, claims map[string]any) string {
		h, _ := json.Marshal(header)
		c, _ := json.Marshal(claims)
		in := b64(h) + "." + b64(c)
		sum := sha256.Sum256([]byte(in))
		sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], nil)
		if err != nil {
			f.Fatal(err)
		}
		return in + "." + b64(sig)
	}
	header := map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": b64(s256[:])}
	claims := map[string]any{"aud": fuzzHost + "/" + set.TenantID + "/oauth2/v2.0/token", "iss": set.ClientID, "sub": set.ClientID,
		"jti": "5b0a5a1e-0f9e-4a34-9bb4-0c8e4c1d6f11", "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	valid := sign(header, claims)

	// The valid assertion must get a token, or the target would only
	// explore refusals.
	if st, body := fuzzTokenRequest(e, set, valid); st != http.StatusOK {
		f.Fatalf("the valid assertion is refused: %d %s", st, body)
	}
	parts := strings.Split(valid, ".")
	for _, s := range []string{
		valid,
		valid[:len(valid)/2],
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1],
		parts[0] + ".." + parts[2],
		"." + parts[1] + "." + parts[2],
		valid + ".x",
		"a.b.c", "..", "", "not-a-jwt", "e30.e30.e30", "bnVsbA.bnVsbA.AA",
		b64([]byte(`{"alg":"PS256","x5t#S256":123}`)) + "." + parts[1] + "." + parts[2],
		b64([]byte(`{"alg":"RS256","x5t":"AAAA"}`)) + "." + parts[1] + "." + parts[2],
		b64([]byte(`{"alg":"none","x5t#S256":"`+b64(s256[:])+`"}`)) + "." + parts[1] + ".",
		parts[0] + "." + b64([]byte(`{"exp":1e999,"nbf":"x","iss":[],"aud":{}}`)) + "." + parts[2],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, assertion string) {
		// Forget the assertion IDs seen, so that the valid seed and its
		// near variants reach past the replay check.
		e.mu.Lock()
		clear(e.jtis)
		e.mu.Unlock()
		st, raw := fuzzTokenRequest(e, set, assertion)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("status %d, body is not JSON: %q", st, raw)
		}
		switch st {
		case http.StatusOK:
			if tok, _ := body["access_token"].(string); tok == "" || body["token_type"] != "Bearer" {
				t.Fatalf("200 without a bearer token: %v", body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			checkAADError(t, body)
		default:
			t.Fatalf("status %d: %s", st, raw)
		}
	})
}

// fuzzTokenRequest posts a client-credentials request with assertion to
// the emulator's ServeHTTP and returns the status and body.
func fuzzTokenRequest(e *Emulator, set Settings, assertion string) (int, []byte) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {set.ClientID},
		"client_assertion_type": {clientAssertionType}, "client_assertion": {assertion},
		"scope": {"https://graph.microsoft.com/.default"}}
	r := httptest.NewRequest("POST", fuzzHost+"/"+set.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// checkAADError fails unless body is the identity platform's error shape:
// an OAuth error, an AADSTS description and its code in error_codes.
func checkAADError(t *testing.T, body map[string]any) {
	t.Helper()
	oauth, _ := body["error"].(string)
	desc, _ := body["error_description"].(string)
	codes, _ := body["error_codes"].([]any)
	if oauth == "" || len(codes) != 1 {
		t.Fatalf("not an AADSTS error: %v", body)
	}
	code, ok := codes[0].(float64)
	if !ok || !strings.HasPrefix(desc, fmt.Sprintf("AADSTS%d: ", int(code))) {
		t.Fatalf("error_description %q does not carry error_codes %v", desc, codes)
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id", "error_uri"} {
		if s, _ := body[k].(string); s == "" {
			t.Fatalf("AADSTS error lacks %s: %v", k, body)
		}
	}
}

// addFuzzCertificate uploads a self-signed certificate to the default app
// and returns its key and DER.
func addFuzzCertificate(f *testing.F, e *Emulator, set Settings, now time.Time) (*rsa.PrivateKey, []byte) {
	f.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "passkeyd"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		f.Fatal(err)
	}
	if err := e.AddAppCertificate(set.TenantID, set.ClientID, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		f.Fatal(err)
	}
	return key, der
}
