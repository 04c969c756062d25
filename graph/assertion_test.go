package graph

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

// Fixed test credentials (openssl-generated, committed): an RSA 2048 and
// a P-256 certificate, each with its PKCS #8 key.
const (
	rsaCertFile = "testdata/client-rsa.cert.pem"
	rsaKeyFile  = "testdata/client-rsa.key.pem"
	ecCertFile  = "testdata/client-ec.cert.pem"
	ecKeyFile   = "testdata/client-ec.key.pem"
)

// readPEM returns the DER of the single PEM block in file, and the file.
func readPEM(t testing.TB, file string) ([]byte, string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	return block.Bytes, string(b)
}

// testCertificate loads a certificate credential from testdata.
func testCertificate(t testing.TB, certFile, keyFile string) *passkeyd.ClientCertificate {
	t.Helper()
	certDER, _ := readPEM(t, certFile)
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := readPEM(t, keyFile)
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		t.Fatal(err)
	}
	return &passkeyd.ClientCertificate{Chain: []*x509.Certificate{cert}, Key: key.(crypto.Signer)}
}

// certConfig is f's config with a certificate instead of the secret.
func (f *fakeMS) certConfig(cc *passkeyd.ClientCertificate) passkeyd.GraphConfig {
	cfg := f.config()
	cfg.ClientSecret = ""
	cfg.Certificate = cc
	return cfg
}

// lastTokenForm returns the form of the latest token request.
func (f *fakeMS) lastTokenForm(t testing.TB) map[string][]string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokenForms) == 0 {
		t.Fatal("no token request")
	}
	return f.tokenForms[len(f.tokenForms)-1]
}

// decodedJWT is a compact JWS split and decoded.
type decodedJWT struct {
	header, claims map[string]any
	signingInput   string
	sig            []byte
}

func decodeJWT(t testing.TB, s string) decodedJWT {
	t.Helper()
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a compact JWS", s)
	}
	var d decodedJWT
	for i, dst := range []*map[string]any{&d.header, &d.claims} {
		// Strict base64url without padding, as RFC 7515 requires.
		b, err := base64.RawURLEncoding.Strict().DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d is not unpadded base64url: %v", i, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		t.Fatalf("JWT signature is not unpadded base64url: %v", err)
	}
	d.signingInput, d.sig = parts[0]+"."+parts[1], sig
	return d
}

func TestCertificateAssertion(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	extra := selfSignedDER(t) // an "intermediate" for x5c; only its bytes matter
	tests := []struct {
		name      string
		legacy    bool
		sendChain bool
	}{
		{"PS256 with x5t#S256 (default)", false, false},
		{"RS256 with x5t (legacy)", true, false},
		{"PS256 with x5c", false, true},
		{"RS256 with x5c", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t, nil)
			cc := testCertificate(t, rsaCertFile, rsaKeyFile)
			inter, err := x509.ParseCertificate(extra)
			if err != nil {
				t.Fatal(err)
			}
			cc.Chain = append(cc.Chain, inter)
			cc.LegacyRS256, cc.SendChain = tt.legacy, tt.sendChain
			leaf := cc.Chain[0]

			c := f.clientWith(t, f.certConfig(cc), WithNow(func() time.Time { return now }))
			if tok, err := c.Token(context.Background()); err != nil || tok != testToken(1) {
				t.Fatalf("Token = %q, %v", tok, err)
			}
			form := f.lastTokenForm(t)
			for k, want := range map[string]string{
				"grant_type":            "client_credentials",
				"client_id":             testClientID,
				"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			} {
				if got := strings.Join(form[k], ","); got != want {
					t.Errorf("form %s = %q, want %q", k, got, want)
				}
			}
			if _, ok := form["client_secret"]; ok {
				t.Error("a certificate token request carries client_secret")
			}
			jwt := decodeJWT(t, strings.Join(form["client_assertion"], ""))

			wantHeader := map[string]any{"typ": "JWT"}
			if tt.legacy {
				sum := sha1.Sum(leaf.Raw) //nolint:gosec // thumbprint
				wantHeader["alg"], wantHeader["x5t"] = "RS256", base64.RawURLEncoding.EncodeToString(sum[:])
			} else {
				sum := sha256.Sum256(leaf.Raw)
				wantHeader["alg"], wantHeader["x5t#S256"] = "PS256", base64.RawURLEncoding.EncodeToString(sum[:])
			}
			if tt.sendChain {
				wantHeader["x5c"] = []any{base64.StdEncoding.EncodeToString(leaf.Raw), base64.StdEncoding.EncodeToString(extra)}
			}
			if !reflect.DeepEqual(jwt.header, wantHeader) {
				t.Errorf("header = %v\nwant     %v", jwt.header, wantHeader)
			}

			jti, _ := jwt.claims["jti"].(string)
			if _, err := uuid.Parse(jti); err != nil {
				t.Errorf("jti %q is not a UUID", jti)
			}
			unix := func(t time.Time) json.Number { return json.Number(itoa(int(t.Unix()))) }
			wantClaims := map[string]any{
				"aud": f.srv.URL + "/" + testTenant + "/oauth2/v2.0/token",
				"iss": testClientID, "sub": testClientID, "jti": jti,
				"nbf": unix(now), "iat": unix(now), "exp": unix(now.Add(10 * time.Minute)),
			}
			if !reflect.DeepEqual(jwt.claims, wantClaims) {
				t.Errorf("claims = %v\nwant     %v", jwt.claims, wantClaims)
			}

			pub := leaf.PublicKey.(*rsa.PublicKey)
			digest := sha256.Sum256([]byte(jwt.signingInput))
			if tt.legacy {
				err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], jwt.sig)
			} else {
				err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], jwt.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			}
			if err != nil {
				t.Errorf("signature does not verify with the certificate's key: %v", err)
			}
		})
	}
}

func TestCertificateAssertionFreshPerRequest(t *testing.T) {
	f := newFakeMS(t, nil)
	cfg := f.certConfig(testCertificate(t, rsaCertFile, rsaKeyFile))
	var jtis []string
	for range 2 {
		// A new client has an empty token cache: one token request each.
		if _, err := f.clientWith(t, cfg).Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		jtis = append(jtis, decodeJWT(t, strings.Join(f.lastTokenForm(t)["client_assertion"], "")).claims["jti"].(string))
	}
	if jtis[0] == jtis[1] {
		t.Errorf("jti %q reused across token requests", jtis[0])
	}
}

func TestCertificateTokenErrors(t *testing.T) {
	tests := []struct {
		name string
		code int
		body string
	}{
		{"certificate not uploaded", 700027, `{"error":"invalid_client","error_description":"AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found.]\r\nTrace ID: t\r\nCorrelation ID: c","error_codes":[700027],"trace_id":"t","correlation_id":"c"}`},
		{"clock skew", 700024, `{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.\r\nTrace ID: t","error_codes":[700024],"trace_id":"t","correlation_id":"c"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { t.Error("Graph called without a token") })
			f.setTokenHandler(func(w http.ResponseWriter, r *http.Request, n int) { writeRaw(w, http.StatusUnauthorized, tt.body) })
			_, err := f.clientWith(t, f.certConfig(testCertificate(t, rsaCertFile, rsaKeyFile))).ListMethods(context.Background(), testUPN)
			ge := mustGraphError(t, err)
			if ge.Op != "token" || ge.Status != 401 || ge.Code != "invalid_client" || !ge.HasErrorCode(tt.code) ||
				ge.RequestID != "t" || ge.ClientRequestID != "c" || ge.Temporary() {
				t.Errorf("GraphError = %+v", ge)
			}
			if !strings.HasPrefix(ge.Message, "AADSTS"+itoa(tt.code)+":") || strings.Contains(ge.Message, "Trace ID") {
				t.Errorf("Message = %q, want the first line of the description", ge.Message)
			}
			if passkeyd.ExplainAADSTS(tt.code) == "" {
				t.Errorf("no advice for AADSTS%d", tt.code)
			}
		})
	}
}

func TestNewValidatesCertificate(t *testing.T) {
	good := passkeyd.GraphConfig{
		AuthorityHost: "https://login.microsoftonline.com",
		GraphURL:      "https://graph.microsoft.com",
		TenantID:      testTenant,
		ClientID:      testClientID,
		Certificate:   testCertificate(t, rsaCertFile, rsaKeyFile),
	}
	if _, err := New(good); err != nil {
		t.Fatalf("New(certificate) = %v", err)
	}
	rsaCC := testCertificate(t, rsaCertFile, rsaKeyFile)
	ecCC := testCertificate(t, ecCertFile, ecKeyFile)
	tests := []struct {
		name  string
		edit  func(*passkeyd.GraphConfig)
		field string
		msg   string
	}{
		{"secret and certificate", func(c *passkeyd.GraphConfig) { c.ClientSecret = "s" }, "client_certificate", "not both"},
		{"neither", func(c *passkeyd.GraphConfig) { c.Certificate = nil }, "client_secret", "is required"},
		{"EC key", func(c *passkeyd.GraphConfig) { c.Certificate = ecCC }, "client_certificate", "only RSA"},
		{"key of another certificate", func(c *passkeyd.GraphConfig) {
			c.Certificate = &passkeyd.ClientCertificate{Chain: ecCC.Chain, Key: rsaCC.Key}
		}, "client_certificate", "does not match"},
		{"no certificate", func(c *passkeyd.GraphConfig) {
			c.Certificate = &passkeyd.ClientCertificate{Key: rsaCC.Key}
		}, "client_certificate", "no certificate"},
		{"no key", func(c *passkeyd.GraphConfig) {
			c.Certificate = &passkeyd.ClientCertificate{Chain: rsaCC.Chain}
		}, "client_certificate", "no private key"},
		{"nil in chain", func(c *passkeyd.GraphConfig) {
			c.Certificate = &passkeyd.ClientCertificate{Chain: []*x509.Certificate{rsaCC.Chain[0], nil}, Key: rsaCC.Key}
		}, "client_certificate", "empty entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			_, err := New(cfg)
			mustCode(t, err, passkeyd.EInvalid)
			fields := passkeyd.ErrorFields(err)
			if len(fields) != 1 || fields[0].Field != tt.field || !strings.Contains(fields[0].Message, tt.msg) {
				t.Errorf("fields = %+v, want one %s error containing %q", fields, tt.field, tt.msg)
			}
		})
	}
}
