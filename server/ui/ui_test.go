package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestSignInFlow(t *testing.T) {
	tu := newTestUI(t)

	r := tu.do(t, request{method: "GET", path: "/ui/"})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
		t.Fatalf("GET /ui/ without a session: %d %q, want 303 to /ui/login", r.StatusCode, r.Header.Get("Location"))
	}
	r = tu.do(t, request{method: "GET", path: "/ui"})
	if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /ui: %d %q, want 301 to /ui/", r.StatusCode, r.Header.Get("Location"))
	}

	r = tu.do(t, request{method: "POST", path: "/ui/login", form: url.Values{"username": {"admin"}, "password": {"wrong"}}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong username or password") {
		t.Fatalf("wrong password: %d, body has message: %v", r.StatusCode, strings.Contains(r.body, "Wrong username"))
	}
	if len(r.Cookies()) != 0 {
		t.Fatalf("a failed sign-in set cookies: %v", r.Cookies())
	}

	r = tu.do(t, request{method: "POST", path: "/ui/login", form: url.Values{"username": {"limited"}, "password": {"x"}}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" || !strings.Contains(r.body, "Try again in 60 seconds") {
		t.Fatalf("rate limited: %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}

	login := func(old passkeyd.Secret) passkeyd.Secret {
		t.Helper()
		r := tu.do(t, request{method: "POST", path: "/ui/login", session: old, form: url.Values{"username": {"admin"}, "password": {correctPassword}}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/" {
			t.Fatalf("sign-in: %d %q, want 303 to /ui/", r.StatusCode, r.Header.Get("Location"))
		}
		cs := r.Cookies()
		if len(cs) != 1 {
			t.Fatalf("sign-in set %d cookies, want 1", len(cs))
		}
		c := cs[0]
		if c.Name != "__Host-passkeyd_session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" || c.Value == "" {
			t.Fatalf("session cookie %+v: want __Host- name, Secure, HttpOnly, SameSite=Strict, Path=/", c)
		}
		return passkeyd.Secret(c.Value)
	}
	first := login("")
	if r := tu.do(t, request{method: "GET", path: "/ui/", session: first}); r.StatusCode != http.StatusOK {
		t.Fatalf("dashboard with a session: %d", r.StatusCode)
	}
	// Signing in again opens a new session and ends the old one.
	second := login(first)
	if second == first {
		t.Fatal("sign-in reused the session token")
	}
	if r := tu.do(t, request{method: "GET", path: "/ui/", session: first}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("old session after a new sign-in: %d, want 303 to login", r.StatusCode)
	}

	r = tu.do(t, request{method: "POST", path: "/ui/logout", session: second})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
		t.Fatalf("sign-out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if cs := r.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Fatalf("sign-out did not clear the cookie: %v", cs)
	}
	if r := tu.do(t, request{method: "GET", path: "/ui/", session: second}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("session after sign-out: %d, want 303 to login", r.StatusCode)
	}
	// Sign-out is a state change: never on GET.
	if r := tu.do(t, request{method: "GET", path: "/ui/logout", session: first}); r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /ui/logout: %d, want 405", r.StatusCode)
	}
}

func TestLoginValidation(t *testing.T) {
	tu := newTestUI(t)
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"empty", url.Values{}},
		{"long username", url.Values{"username": {strings.Repeat("a", 300)}, "password": {"x"}}},
		{"control characters", url.Values{"username": {"ad\x00min"}, "password": {"x"}}},
		{"long password", url.Values{"username": {"admin"}, "password": {strings.Repeat("p", 2000)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tu.auth.logins)
			r := tu.do(t, request{method: "POST", path: "/ui/login", form: tc.form})
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.StatusCode)
			}
			if len(tu.auth.logins) != before {
				t.Fatal("an invalid form reached Login")
			}
		})
	}
	r := tu.do(t, request{method: "POST", path: "/ui/login", form: url.Values{"username": {strings.Repeat("a", 100<<10)}}})
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized form: %d, want 413", r.StatusCode)
	}
}

// pages are the GET pages every role may read, with text each must show.
var pages = []struct{ path, want string }{
	{"/ui/", "active passkeys"},
	{"/ui/connector", "Client ID"},
	{"/ui/policies", "Default"},
	{"/ui/policies/default", "REQUIRED"},
	{"/ui/users", "alice@contoso.com"},
	{"/ui/users?q=alice", "alice@contoso.com"},
	{"/ui/users/" + userID, "Effective policy"},
	{"/ui/users/" + userID + "/offboard", "active device(s): their tokens stop working"},
	{"/ui/devices", "Alice&#39;s phone"},
	{"/ui/devices?state=active", "Alice&#39;s phone"},
	{"/ui/devices/" + deviceID, "revoke_failed"},
	{"/ui/devices/" + deviceID + "/remove", "Remove device"},
	{"/ui/passkeys", "passkeyd phone"},
	{"/ui/passkeys?state=revoke_failed", "Retry revocation"},
	{"/ui/jobs", "Authorization_RequestDenied"},
	{"/ui/audit", "device.removed"},
	{"/ui/audit?action=device.removed", "device.removed"},
	{"/ui/audit/verify", "is intact"},
	{"/ui/tokens", "89abcdef"},
}

func TestPagesRenderForAdmin(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleAdmin)
	for _, p := range pages {
		t.Run(p.path, func(t *testing.T) {
			r := tu.do(t, request{method: "GET", path: p.path, session: tok})
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, r.body)
			}
			if !strings.Contains(r.body, p.want) {
				t.Errorf("page lacks %q", p.want)
			}
			if strings.Contains(strings.ToLower(r.body), "<script") {
				t.Error("page has a script")
			}
			if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestInvalidInputIsRejected(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleAdmin)
	for _, tc := range []struct {
		method, path string
		form         url.Values
		want         int
	}{
		{"GET", "/ui/users/not-a-guid", nil, http.StatusNotFound},
		{"GET", "/ui/policies/..%2f", nil, http.StatusNotFound},
		{"GET", "/ui/passkeys?state=bogus", nil, http.StatusBadRequest},
		{"GET", "/ui/devices?user_id=x", nil, http.StatusBadRequest},
		{"GET", "/ui/audit?after_seq=-1", nil, http.StatusBadRequest},
		{"POST", "/ui/users", url.Values{"upn": {"not a upn"}}, http.StatusBadRequest},
		{"POST", "/ui/policies/default", url.Values{"name": {"x"}, "entra_passkey": {"always"}}, http.StatusBadRequest},
		{"POST", "/ui/users/" + userID + "/invitations", url.Values{"ttl_hours": {"100000"}}, http.StatusBadRequest},
		{"POST", "/ui/tokens", url.Values{"name": {"x"}, "role": {"root"}}, http.StatusBadRequest},
		{"POST", "/ui/connector/test", url.Values{"user": {"<script>"}}, http.StatusBadRequest},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			tu.svc.ResetCalls()
			r := tu.do(t, request{method: tc.method, path: tc.path, session: tok, form: tc.form})
			if r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.want)
			}
			for _, c := range tu.svc.Calls() {
				if !slices.Contains([]string{"Connector", "Policies", "Users", "APITokens"}, c) {
					t.Errorf("invalid input reached the service: %s", c)
				}
			}
		})
	}
}
