package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		code   passkeyd.ErrorCode
		status int
	}{
		{passkeyd.EInvalid, 400},
		{passkeyd.EUnauthorized, 401},
		{passkeyd.EForbidden, 403},
		{passkeyd.ENotFound, 404},
		{passkeyd.EConflict, 409},
		{passkeyd.EGone, 410},
		{passkeyd.ETooLarge, 413},
		{passkeyd.EUnsupportedMedia, 415},
		{passkeyd.EUnprocessable, 422},
		{passkeyd.ERateLimited, 429},
		{passkeyd.EUpstream, 502},
		{passkeyd.EUnavailable, 503},
		{passkeyd.EInternal, 500},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			svc := newFake()
			svc.DeviceFn = func(context.Context, string) (*passkeyd.Device, error) {
				return nil, passkeyd.WrapError(tt.code, errors.New("cause-with-internals"), "safe message")
			}
			s, logs := newServer(t, svc, nil)
			w := do(t, s, req{method: "GET", path: "/api/v1/devices/" + deviceID, token: roleTokens()[passkeyd.RoleAdmin]})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			p := problemOf(t, w)
			wantDetail := "safe message"
			if tt.code == passkeyd.EInternal {
				wantDetail = "internal error"
			}
			if p.Code != tt.code || p.Detail != wantDetail {
				t.Errorf("problem %+v, want code %q detail %q", p, tt.code, wantDetail)
			}
			if strings.Contains(w.Body.String(), "cause-with-internals") {
				t.Errorf("the cause leaked to the client: %s", w.Body)
			}
			if tt.status >= 500 && !strings.Contains(logs.String(), "cause-with-internals") {
				t.Errorf("the cause of a %d was not logged: %s", tt.status, logs)
			}
		})
	}
}

func TestPlainErrorIsInternal(t *testing.T) {
	svc := newFake()
	svc.PasskeyFn = func(context.Context, string) (*passkeyd.Passkey, error) {
		return nil, fmt.Errorf("query passkeys: dial tcp db:5432: connection refused")
	}
	s, logs := newServer(t, svc, nil)
	w := do(t, s, req{method: "GET", path: "/api/v1/passkeys/" + passkeyID, token: roleTokens()[passkeyd.RoleAuditor]})
	p := problemOf(t, w)
	if w.Code != 500 || p.Detail != "internal error" || strings.Contains(w.Body.String(), "5432") {
		t.Errorf("status %d, body %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), p.RequestID) {
		t.Errorf("internal error not logged with cause and request ID: %s", logs)
	}
}

func TestFieldErrorsAreReported(t *testing.T) {
	svc := newFake()
	svc.UpdateConnectorFn = func(context.Context, passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
		c := passkeyd.Connector{Cloud: "mars", Enabled: true, CredentialType: passkeyd.CredentialSecret, ChallengeTimeoutMinutes: 5, DisplayNameTemplate: "x"}
		return nil, c.Validate()
	}
	s, _ := newServer(t, svc, nil)
	w := do(t, s, req{method: "PUT", path: "/api/v1/connectors/default", token: roleTokens()[passkeyd.RoleAdmin], body: `{"cloud":"mars","enabled":true}`})
	p := problemOf(t, w)
	if w.Code != 400 || p.Detail != "invalid connector settings" {
		t.Fatalf("status %d, problem %+v", w.Code, p)
	}
	for _, f := range []string{"cloud", "tenant_id", "client_id", "client_secret"} {
		if !hasField(p.Errors, f) {
			t.Errorf("errors %v lack %q", p.Errors, f)
		}
	}
}

type throttled struct{ d time.Duration }

func (e throttled) Error() string             { return "throttled" }
func (e throttled) RetryAfter() time.Duration { return e.d }

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"default", passkeyd.Errorf(passkeyd.ERateLimited, "slow down"), "30"},
		{"from the cause, rounded up", passkeyd.WrapError(passkeyd.ERateLimited, throttled{2500 * time.Millisecond}, "slow down"), "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFake()
			svc.RegisterDeviceFn = func(context.Context, passkeyd.Secret, passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
				return nil, "", tt.err
			}
			s, _ := newServer(t, svc, nil)
			w := do(t, s, req{method: "POST", path: "/api/v1/device/register", body: `{"code":"ABCD","name":"phone"}`})
			if w.Code != 429 || w.Header().Get("Retry-After") != tt.want {
				t.Errorf("status %d, Retry-After %q; want 429, %q", w.Code, w.Header().Get("Retry-After"), tt.want)
			}
		})
	}
}

func TestRejectedTokenIsUnauthorized(t *testing.T) {
	// Whatever the service says of a bad token, the caller sees 401; a
	// failing database is not a bad token.
	tests := []struct {
		err    error
		status int
	}{
		{passkeyd.Errorf(passkeyd.ENotFound, "no such token"), 401},
		{passkeyd.Errorf(passkeyd.EGone, "expired"), 401},
		{passkeyd.Errorf(passkeyd.EUnavailable, "database down"), 503},
	}
	for _, tt := range tests {
		svc := newFake()
		svc.AuthenticateTokenFn = func(context.Context, passkeyd.Secret) (*passkeyd.APIToken, error) { return nil, tt.err }
		s, _ := newServer(t, svc, nil)
		w := do(t, s, req{method: "GET", path: "/api/v1/users", token: "whatever-token"})
		if w.Code != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, w.Code, tt.status)
		}
		if tt.status == 401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="passkeyd", error="invalid_token"` {
			t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
		}
	}
}

func TestExpiredTokenIsRejectedEvenIfTheServiceAcceptsIt(t *testing.T) {
	svc := newFake()
	past := testNow.Add(-time.Second)
	svc.AuthenticateTokenFn = func(context.Context, passkeyd.Secret) (*passkeyd.APIToken, error) {
		return &passkeyd.APIToken{ID: tokenID, Role: passkeyd.RoleAdmin, ExpiresAt: &past}, nil
	}
	s, _ := newServer(t, svc, nil)
	if w := do(t, s, req{method: "GET", path: "/api/v1/users", token: "expired-token"}); w.Code != 401 {
		t.Errorf("status %d, want 401", w.Code)
	}
	if calls := callsBeyondAuth(svc); len(calls) != 0 {
		t.Errorf("service called: %v", calls)
	}
}

func TestPanicIsInternalError(t *testing.T) {
	svc := newFake()
	svc.VerifyAuditFn = func(context.Context) (*passkeyd.AuditReport, error) { panic("boom") }
	s, logs := newServer(t, svc, nil)
	w := do(t, s, req{method: "GET", path: "/api/v1/audit/verify", token: roleTokens()[passkeyd.RoleAuditor]})
	if p := problemOf(t, w); w.Code != 500 || p.Detail != "internal error" {
		t.Errorf("status %d, problem %+v", w.Code, p)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("panic not logged: %s", logs)
	}
}

func TestSecurityHeaders(t *testing.T) {
	s, _ := newServer(t, newFake(), nil)
	for _, tls := range []bool{false, true} {
		for _, path := range []string{"/healthz", "/api/v1/users", "/api/v1/nope"} {
			r := httptest.NewRequest("GET", path, nil)
			r.Header.Set("Authorization", "Bearer "+roleTokens()[passkeyd.RoleAdmin])
			if tls {
				r.TLS = tlsState()
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			want := map[string]string{
				"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-store",
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s (tls %v): %s = %q, want %q", path, tls, k, got, v)
				}
			}
			if hsts := w.Header().Get("Strict-Transport-Security"); (hsts != "") != tls {
				t.Errorf("%s (tls %v): HSTS %q", path, tls, hsts)
			}
		}
	}
}

func tlsState() *tls.ConnectionState { return &tls.ConnectionState{HandshakeComplete: true} }

func TestHealth(t *testing.T) {
	var readyErr error
	s, _ := newServer(t, newFake(), func(c *Config) {
		c.Ready = func(context.Context) error { return readyErr }
	})
	w := do(t, s, req{method: "GET", path: "/healthz"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"version":"v1.2.3"`) {
		t.Errorf("healthz: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, req{method: "GET", path: "/readyz"}); w.Code != 200 {
		t.Errorf("readyz when ready: %d", w.Code)
	}
	readyErr = errors.New("database locked at /var/lib/passkeyd/db")
	w = do(t, s, req{method: "GET", path: "/readyz"})
	if p := problemOf(t, w); w.Code != http.StatusServiceUnavailable || strings.Contains(p.Detail, "/var/lib") {
		t.Errorf("readyz when not ready: %d %+v", w.Code, p)
	}
	if w := do(t, s, req{method: "GET", path: "/healthz"}); w.Code != 200 {
		t.Errorf("healthz while not ready: %d", w.Code)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a service succeeded")
	}
	if _, err := New(Config{Service: newFake(), MaxBodyBytes: -1}); err == nil {
		t.Error("New with a negative body limit succeeded")
	}
}
