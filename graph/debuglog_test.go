package graph

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDebugLogRedacts(t *testing.T) {
	const attestation = "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVkBZ0mWDeWIDoxodDQXD2R2YFuP5K65ooYyx5lc87qDHZdjRQAAAAA"
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid-debug")
		w.Header().Set("x-ms-throttle-scope", "Tenant_Application/ReadWrite/t/a")
		w.Header().Set("x-ms-resource-unit", "1")
		// A response that echoes a token must not leak it either.
		writeRaw(w, http.StatusCreated, `{"id":"abc","displayName":"x","echo":{"access_token":"`+testToken(99)+`"}}`)
	})
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := f.config()
	cfg.HTTPDebug = true
	c := f.clientWith(t, cfg, WithLogger(log))
	req := validCreateRequest()
	req.AttestationObject = attestation
	if _, err := c.CreateMethod(context.Background(), testUPN, req); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, leak := range []string{testSecret, "PLANTED-TOKEN", attestation, "Bearer ey"} {
		if strings.Contains(out, leak) {
			t.Errorf("debug log contains %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{
		`"msg":"graph http request"`, `"msg":"graph http response"`,
		"/oauth2/v2.0/token", "client_secret=%5BREDACTED%5D", "grant_type=client_credentials",
		`\"access_token\":\"[REDACTED]\"`, `"authorization":"[REDACTED]"`,
		"/v1.0/users/" + testUPNPath + "/authentication/fido2Methods",
		`\"attestationObject\":\"o2NmbXRk…[`, `"request_id":"rid-debug"`,
		`"x-ms-throttle-scope":"Tenant_Application/ReadWrite/t/a"`, `"x-ms-resource-unit":"1"`,
		`"status":201`, `"client_request_id":"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %s:\n%s", want, out)
		}
	}
}

func TestDebugLogOffByDefault(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, http.StatusOK, sampleOptions) })
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := f.client(t, WithLogger(log)).CreationOptions(context.Background(), testUPN, 5); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "graph http") {
		t.Errorf("HTTP debug records without HTTPDebug:\n%s", buf.String())
	}
}

func TestRedactBody(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    string
	}{
		{"form", "application/x-www-form-urlencoded", "client_assertion=eyJx.y.z&client_id=abc",
			"client_assertion=%5BREDACTED%5D&client_id=abc"},
		{"json nested and case", "application/json; charset=utf-8", `{"a":[{"Refresh_Token":"r"}],"id_token":"i","n":1}`,
			`{"a":[{"Refresh_Token":"[REDACTED]"}],"id_token":"[REDACTED]","n":1}`},
		{"jwt anywhere", "application/json", `{"x":"eyJhbGciOiJIUzI1NiJ9.e30.sig"}`, `{"x":"[REDACTED]"}`},
		{"clientDataJSON shortened", "application/json", `{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0"}`,
			`{"clientDataJSON":"eyJ0eXBl…[35 chars]"}`},
		{"malformed json", "application/json", `{"access_token":"abc`, "[malformed JSON body not logged]"},
		{"html", "text/html", "<b>secret</b>", "[text/html body of 13 bytes not logged]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactBody(tt.contentType, []byte(tt.body)); got != tt.want {
				t.Errorf("redactBody = %s\nwant         %s", got, tt.want)
			}
		})
	}
	long := `{"x":"` + strings.Repeat("a", 2*maxLoggedBody) + `"}`
	if got := redactBody("application/json", []byte(long)); len(got) > maxLoggedBody+64 || !strings.Contains(got, "truncated") {
		t.Errorf("long body not truncated: %d bytes", len(got))
	}
}
