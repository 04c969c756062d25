package ui

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/server"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Mounted in the server, UI requests go through the API's middleware: one
// log line each, failed sign-ins included, with the request ID and the
// client address (believed from a trusted proxy), never a secret; the
// UI's own CSP and cross-origin protection still apply.
func TestUIRequestsAreLogged(t *testing.T) {
	svc, auth := fakeService(), newFakeAuth()
	u, err := New(Config{Service: svc, Auth: auth, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s, err := server.New(server.Config{
		Service:        svc,
		Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		UI:             u.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(method, path string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
		t.Helper()
		var r *http.Request
		if form != nil {
			r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(method, path, nil)
		}
		r.RemoteAddr = "10.1.2.3:4567" // the proxy
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w
	}

	const badPassword = "not-the-password-CANARY-9f3a"
	w := serve("POST", "/ui/login", url.Values{"username": {"admin"}, "password": {badPassword}},
		map[string]string{"Sec-Fetch-Site": "same-origin", "X-Request-ID": "ui-login-1"})
	if w.Code != http.StatusUnauthorized || w.Header().Get("X-Request-ID") != "ui-login-1" {
		t.Fatalf("failed sign-in: %d, X-Request-ID %q", w.Code, w.Header().Get("X-Request-ID"))
	}
	if csp := w.Header().Get("Content-Security-Policy"); csp != contentSecurityPolicy {
		t.Errorf("CSP = %q, want the UI's", csp)
	}
	w = serve("POST", "/ui/login", url.Values{"username": {"admin"}, "password": {correctPassword}},
		map[string]string{"Sec-Fetch-Site": "same-origin"})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", w.Code)
	}
	var session string
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			session = c.Value
		}
	}
	w = serve("GET", "/ui/", nil, map[string]string{"Cookie": sessionCookie + "=" + session})
	if w.Code != http.StatusOK {
		t.Fatalf("dashboard: %d", w.Code)
	}
	w = serve("POST", "/ui/logout", url.Values{}, map[string]string{"Sec-Fetch-Site": "cross-site", "Cookie": sessionCookie + "=" + session})
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403 from the UI's cross-origin protection", w.Code)
	}

	out := logs.String()
	for _, secret := range []string{badPassword, correctPassword, session} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q:\n%s", secret, out)
		}
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == "http request" {
			lines = append(lines, m)
		}
	}
	want := []map[string]any{
		{"method": "POST", "route": "POST /ui/login", "status": float64(401), "actor": "anonymous", "request_id": "ui-login-1"},
		{"method": "POST", "route": "POST /ui/login", "status": float64(303), "actor": "admin:admin-admin"},
		{"method": "GET", "route": "GET /ui/{$}", "status": float64(200), "actor": "admin:admin-admin"},
		{"method": "POST", "route": "/ui/", "status": float64(403)},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d request lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, wl := range want {
		wl["client_ip"] = "203.0.113.9"
		for k, v := range wl {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
		if id, _ := lines[i]["request_id"].(string); id == "" {
			t.Errorf("line %d has no request ID", i)
		}
	}
}
