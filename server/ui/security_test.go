package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// concrete turns a route pattern into a method and a path to call.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	if strings.HasPrefix(path, "/ui/policies/") {
		return method, strings.ReplaceAll(path, "{id}", passkeyd.DefaultPolicyID)
	}
	return method, strings.ReplaceAll(path, "{id}", userID)
}

// TestPermissionMatrix calls every route with every role and with none,
// against the declared table; a route with no declaration fails.
func TestPermissionMatrix(t *testing.T) {
	tu := newTestUI(t)
	perms := Permissions()
	for _, pattern := range tu.ui.Routes() {
		if slices.Contains(Public(), pattern) {
			continue
		}
		roles, ok := perms[pattern]
		if !ok || len(roles) == 0 {
			t.Errorf("route %q has no permission declaration", pattern)
			continue
		}
		method, path := concrete(pattern)
		t.Run(pattern+"/none", func(t *testing.T) {
			tu.svc.ResetCalls()
			r := tu.do(t, request{method: method, path: path, form: url.Values{}})
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
				t.Fatalf("without a session: %d %q, want 303 to /ui/login", r.StatusCode, r.Header.Get("Location"))
			}
			if c := tu.svc.Calls(); len(c) != 0 {
				t.Fatalf("service called without a session: %v", c)
			}
		})
		for _, role := range []passkeyd.Role{passkeyd.RoleAdmin, passkeyd.RoleOperator, passkeyd.RoleAuditor} {
			t.Run(pattern+"/"+string(role), func(t *testing.T) {
				// A fresh session each time: sign-out ends it.
				tok := tu.auth.session(t, role)
				tu.svc.ResetCalls()
				r := tu.do(t, request{method: method, path: path, session: tok, form: url.Values{}})
				allowed := slices.Contains(roles, role)
				// Sign-out rightly sends everyone to the sign-in page.
				toLogin := r.Header.Get("Location") == "/ui/login" && pattern != "POST /ui/logout"
				switch {
				case allowed && (r.StatusCode == http.StatusForbidden || r.StatusCode >= 500 || toLogin):
					t.Fatalf("%s is allowed but got %d %q", role, r.StatusCode, r.Header.Get("Location"))
				case !allowed && r.StatusCode != http.StatusForbidden:
					t.Fatalf("%s is not allowed but got %d", role, r.StatusCode)
				case !allowed && len(tu.svc.Calls()) != 0:
					t.Fatalf("service called for a forbidden role: %v", tu.svc.Calls())
				}
			})
		}
	}
	// The table mirrors the API: operators never change the connector,
	// policies or tokens; auditors change nothing.
	for pattern, roles := range perms {
		if !strings.HasPrefix(pattern, "GET ") && pattern != "POST /ui/logout" && slices.Contains(roles, passkeyd.RoleAuditor) {
			t.Errorf("auditor may %s", pattern)
		}
	}
}

func TestCrossOriginPostsAreRejected(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleAdmin)
	path := "/ui/tokens/" + tokenID + "/delete"
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"foreign origin", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"same origin", nil, http.StatusSeeOther},
		{"user typed", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tu.svc.ResetCalls()
			r := tu.do(t, request{method: "POST", path: path, session: tok, form: url.Values{}, header: tc.header})
			if r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.want)
			}
			called := slices.Contains(tu.svc.Calls(), "DeleteAPIToken")
			if called != (tc.want == http.StatusSeeOther) {
				t.Fatalf("DeleteAPIToken called = %v", called)
			}
		})
	}
	r := tu.do(t, request{method: "POST", path: "/ui/login", header: map[string]string{"Sec-Fetch-Site": "cross-site"},
		form: url.Values{"username": {"admin"}, "password": {correctPassword}}})
	if r.StatusCode != http.StatusForbidden || len(r.Cookies()) != 0 {
		t.Fatalf("cross-site sign-in: %d, cookies %v", r.StatusCode, r.Cookies())
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleAuditor)
	for _, req := range []request{
		{method: "GET", path: "/ui/login"},
		{method: "GET", path: "/ui"},
		{method: "GET", path: "/ui/"},
		{method: "GET", path: "/ui/", session: tok},
		{method: "GET", path: "/ui/nope", session: tok},
		{method: "POST", path: "/ui/tokens", session: tok, form: url.Values{}},
		{method: "POST", path: "/ui/logout", session: tok, form: url.Values{}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{method: "GET", path: "/ui/static/style.css"},
	} {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			r := tu.do(t, req)
			for h, want := range map[string]string{
				"Content-Security-Policy":   contentSecurityPolicy,
				"X-Content-Type-Options":    "nosniff",
				"Referrer-Policy":           "no-referrer",
				"X-Frame-Options":           "DENY",
				"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
			} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			cc := r.Header.Get("Cache-Control")
			if req.path == "/ui/static/style.css" {
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
					t.Errorf("stylesheet Content-Type %q", r.Header.Get("Content-Type"))
				}
			} else if cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}
	if !strings.Contains(contentSecurityPolicy, "default-src 'none'") || strings.Contains(contentSecurityPolicy, "script-src") {
		t.Error("the CSP must allow no script")
	}
}

func TestConnectorNeverShowsTheSecret(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleAdmin)
	r := tu.do(t, request{method: "GET", path: "/ui/connector", session: tok})
	if strings.Contains(r.body, secretValue) {
		t.Fatal("the connector page shows the client secret")
	}
	if !strings.Contains(r.body, passkeyd.Secret(secretValue).Hint()) || !strings.Contains(r.body, "set") {
		t.Error("the connector page does not show that a secret is set, with its hint")
	}
	if !strings.Contains(r.body, "The client secret expires on 2026-12-05") {
		t.Error("no expiry warning for a secret expiring in 10 days")
	}

	// A rejected save shows the form again, without the secret typed.
	var got passkeyd.ConnectorUpdate
	tu.svc.UpdateConnectorFn = func(_ context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
		got = u
		var fe passkeyd.FieldErrors
		fe.Add("tenant_id", "is required when the connector is enabled")
		return nil, fe.Err("invalid connector settings")
	}
	form := url.Values{"enabled": {"on"}, "cloud": {"global"}, "client_id": {"55555555-5555-4555-8555-555555555555"},
		"client_secret": {secretValue}, "challenge_timeout_minutes": {"5"}, "display_name_template": {"passkeyd {device}"}}
	r = tu.do(t, request{method: "POST", path: "/ui/connector", session: tok, form: form})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "is required when the connector is enabled") {
		t.Fatalf("rejected save: %d", r.StatusCode)
	}
	if strings.Contains(r.body, secretValue) {
		t.Fatal("the re-rendered form shows the client secret")
	}
	if got.ClientSecret == nil || got.ClientSecret.Reveal() != secretValue || !got.Enabled {
		t.Fatalf("the update did not carry the secret: %+v", got)
	}

	// An empty secret field keeps the stored secret (nil in the update).
	tu.svc.UpdateConnectorFn = func(_ context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
		got = u
		return &passkeyd.Connector{}, nil
	}
	form.Del("client_secret")
	r = tu.do(t, request{method: "POST", path: "/ui/connector", session: tok, form: form})
	if r.StatusCode != http.StatusSeeOther || got.ClientSecret != nil {
		t.Fatalf("save without a secret: %d, secret kept = %v", r.StatusCode, got.ClientSecret == nil)
	}

	r = tu.do(t, request{method: "POST", path: "/ui/connector/test", session: tok, form: url.Values{"user": {"alice@contoso.com"}}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "AADSTS7000215") || !strings.Contains(r.body, "Roles claim") {
		t.Fatalf("test connection report: %d", r.StatusCode)
	}
	r = tu.do(t, request{method: "POST", path: "/ui/connector/validate-certificate", session: tok, form: url.Values{}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "ABCDEF0123") {
		t.Fatalf("validate certificate report: %d", r.StatusCode)
	}
}

func TestInvitationCodeShownOnce(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleOperator)
	r := tu.do(t, request{method: "POST", path: "/ui/users/" + userID + "/invitations", session: tok, form: url.Values{"ttl_hours": {"24"}}})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("invite: %d", r.StatusCode)
	}
	if strings.Count(r.body, invitationCode) != 1 || !strings.Contains(r.body, `src="data:image/png;base64,`) {
		t.Fatal("the invitation page must show the code once with its QR code")
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("the invitation page may be cached")
	}
	r = tu.do(t, request{method: "GET", path: "/ui/users/" + userID, session: tok})
	if strings.Contains(r.body, invitationCode) {
		t.Fatal("the user page shows the invitation code again")
	}
}

func TestTokenShownOnce(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleAdmin)
	r := tu.do(t, request{method: "POST", path: "/ui/tokens", session: tok, form: url.Values{"name": {"ci"}, "role": {"auditor"}, "ttl_days": {"30"}}})
	if r.StatusCode != http.StatusCreated || !strings.Contains(r.body, apiTokenSecret) {
		t.Fatalf("create token: %d", r.StatusCode)
	}
	r = tu.do(t, request{method: "GET", path: "/ui/tokens", session: tok})
	if strings.Contains(r.body, apiTokenSecret) {
		t.Fatal("the tokens page shows the token again")
	}
}

func TestDestructiveActionsNeedConfirmation(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleOperator)
	for _, tc := range []struct{ confirm, action, call string }{
		{"/ui/users/" + userID + "/offboard", "/ui/users/" + userID + "/offboard", "OffboardUser"},
		{"/ui/devices/" + deviceID + "/remove", "/ui/devices/" + deviceID + "/remove", "RemoveDevice"},
	} {
		tu.svc.ResetCalls()
		if r := tu.do(t, request{method: "GET", path: tc.confirm, session: tok}); r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.confirm, r.StatusCode)
		}
		if slices.Contains(tu.svc.Calls(), tc.call) {
			t.Fatalf("the confirmation page of %s already called %s", tc.confirm, tc.call)
		}
		r := tu.do(t, request{method: "POST", path: tc.action, session: tok, form: url.Values{}})
		if r.StatusCode >= 400 || !slices.Contains(tu.svc.Calls(), tc.call) {
			t.Fatalf("POST %s: %d, calls %v", tc.action, r.StatusCode, tu.svc.Calls())
		}
	}
	// Retry returns to the page it was pressed on, never elsewhere.
	for back, want := range map[string]string{"/ui/jobs": "/ui/jobs", "https://evil.example/": "/ui/passkeys", "//evil.example": "/ui/passkeys"} {
		r := tu.do(t, request{method: "POST", path: "/ui/passkeys/" + passkeyID + "/revoke", session: tok, form: url.Values{"back": {back}}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("back %q: %d %q, want %q", back, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
}
