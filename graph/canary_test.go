package graph

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// canaryChallenge is a live creationOptions challenge: it must never be
// logged in full.
const canaryChallenge = "PLANTEDchallenge-Q2FuYXJ5Q2hhbGxlbmdlVmFsdWU"

// canaryGraph answers every call passkeyd makes, successfully.
func canaryGraph(t *testing.T) http.HandlerFunc {
	options := strings.Replace(sampleOptions, `"challenge":"Y2hhbGxlbmdl"`, `"challenge":"`+canaryChallenge+`"`, 1)
	if options == sampleOptions {
		t.Fatal("sampleOptions no longer holds the challenge to replace")
	}
	// r.URL.Path is unescaped: the UPN appears as is.
	const methods = "/v1.0/users/" + testUPN + "/authentication/fido2Methods"
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == methods+"/creationOptions":
			writeRaw(w, http.StatusOK, options)
		case r.Method == http.MethodPost && r.URL.Path == methods:
			writeRaw(w, http.StatusCreated, sampleMethod)
		case r.Method == http.MethodGet && r.URL.Path == methods:
			writeRaw(w, http.StatusOK, `{"value":[`+sampleMethod+`]}`)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, methods+"/"):
			writeRaw(w, http.StatusOK, sampleMethod)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == fido2PolicyPath:
			writeRaw(w, http.StatusOK, samplePolicy)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.RequestURI)
		}
	}
}

// runEveryCall makes each call of the client once and returns the errors.
func runEveryCall(c *Client) []error {
	ctx := context.Background()
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err := c.Token(ctx)
	add(err)
	_, err = c.CreationOptions(ctx, testUPN, 5)
	add(err)
	_, err = c.CreateMethod(ctx, testUPN, validCreateRequest())
	add(err)
	_, err = c.ListMethods(ctx, testUPN)
	add(err)
	_, err = c.GetMethod(ctx, testUPN, "Y3JlZC1pZA2")
	add(err)
	add(c.DeleteMethod(ctx, testUPN, "Y3JlZC1pZA2"))
	_, err = c.Fido2Policy(ctx)
	add(err)
	return errs
}

// TestDebugLogCanaries runs every call with HTTPDebug on, for both
// credential kinds, first against a healthy fake and then against one
// that fails every way it can, and checks that no secret planted on the
// way appears in the log or in an error's text.
func TestDebugLogCanaries(t *testing.T) {
	_, keyPEM := readPEM(t, rsaKeyFile)
	keyDER, _ := readPEM(t, rsaKeyFile)
	cert := testCertificate(t, rsaCertFile, rsaKeyFile)
	legacy := *cert
	legacy.LegacyRS256, legacy.SendChain = true, true

	creds := []struct {
		name string
		cfg  func(f *fakeMS) passkeyd.GraphConfig
	}{
		{"secret", (*fakeMS).config},
		{"certificate PS256", func(f *fakeMS) passkeyd.GraphConfig { return f.certConfig(cert) }},
		{"certificate RS256 with chain", func(f *fakeMS) passkeyd.GraphConfig { return f.certConfig(&legacy) }},
	}
	failures := []struct {
		name  string
		token func(t *testing.T, w http.ResponseWriter, n int) bool // true: answered
		graph http.HandlerFunc
	}{
		{"healthy", nil, nil},
		{"graph 401 after the refresh too", nil, func(w http.ResponseWriter, r *http.Request) {
			writeRaw(w, http.StatusUnauthorized, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure."}}`)
		}},
		{"graph 403", nil, func(w http.ResponseWriter, r *http.Request) {
			writeRaw(w, http.StatusForbidden, `{"error":{"code":"accessDenied","message":"Either the signed-in user does not have sufficient privileges, or you need to use a different authentication method."}}`)
		}},
		{"graph 500 without JSON", nil, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<h1>oops</h1>"))
		}},
		{"token rejected", func(t *testing.T, w http.ResponseWriter, n int) bool {
			writeRaw(w, http.StatusUnauthorized, `{"error":"invalid_client","error_description":"AADSTS700027: Client assertion contains an invalid signature.","error_codes":[700027]}`)
			return true
		}, nil},
		{"token endpoint hangs up", func(t *testing.T, w http.ResponseWriter, n int) bool {
			hangUp(t, w)
			return true
		}, nil},
	}
	for _, cr := range creds {
		for _, fl := range failures {
			t.Run(cr.name+"/"+fl.name, func(t *testing.T) {
				f := newFakeMS(t, canaryGraph(t))
				if fl.graph != nil {
					f.setGraph(fl.graph)
				}
				if fl.token != nil {
					f.setTokenHandler(func(w http.ResponseWriter, r *http.Request, n int) { fl.token(t, w, n) })
				}
				var buf syncBuffer
				log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
				cfg := cr.cfg(f)
				cfg.HTTPDebug = true
				errs := runEveryCall(f.clientWith(t, cfg, WithLogger(log)))
				if fl.name == "healthy" && len(errs) > 0 {
					t.Fatalf("healthy run failed: %v", errs)
				}
				// Graph failures fail the six Graph calls; token failures
				// fail Token as well.
				if want := map[bool]int{true: 7, false: 6}[fl.token != nil]; fl.name != "healthy" && len(errs) != want {
					t.Errorf("%d calls failed, want %d: %v", len(errs), want, errs)
				}

				canaries := map[string]string{
					"client secret":   testSecret,
					"access token":    "PLANTED-TOKEN",
					"private key PEM": keyPEM,
					"private key DER": base64.StdEncoding.EncodeToString(keyDER)[:64],
					"challenge":       canaryChallenge,
				}
				// Each 64-character line of the PEM body on its own too.
				for i, line := range strings.Split(keyPEM, "\n") {
					if len(line) == 64 {
						canaries["private key PEM line "+itoa(i)] = line
					}
				}
				f.mu.Lock()
				for i, form := range f.tokenForms {
					if a := form.Get("client_assertion"); a != "" {
						canaries["client assertion "+itoa(i)] = a
						canaries["client assertion signature "+itoa(i)] = a[strings.LastIndex(a, ".")+1:]
					}
				}
				nForms := len(f.tokenForms)
				f.mu.Unlock()
				if nForms == 0 {
					t.Fatal("no token request was made")
				}

				out := buf.String()
				for what, canary := range canaries {
					if strings.Contains(out, canary) {
						t.Errorf("debug log contains the %s", what)
					}
					for _, err := range errs {
						if strings.Contains(err.Error(), canary) {
							t.Errorf("error text contains the %s: %v", what, err)
						}
					}
				}
				// The log must have covered the calls, or the test proves
				// nothing.
				wants := []string{"/oauth2/v2.0/token", `"msg":"graph http response"`}
				if fl.token == nil {
					wants = append(wants, "/fido2Methods/creationOptions", fido2PolicyPath, `"method":"DELETE"`, `"method":"POST"`)
				}
				if fl.name == "healthy" {
					wants = append(wants, `\"challenge\":\"PLANTEDc…[`, `\"access_token\":\"[REDACTED]\"`)
					if cfg.Certificate != nil {
						wants = append(wants, "client_assertion=%5BREDACTED%5D")
					} else {
						wants = append(wants, "client_secret=%5BREDACTED%5D")
					}
				}
				for _, want := range wants {
					if !strings.Contains(out, want) {
						t.Errorf("debug log lacks %s", want)
					}
				}
			})
		}
	}
}
