package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/client"
)

// TestRevocationIsImmediate: a deleted API token, a signed-out admin
// session and a removed device's token each fail on the very next request
// — no cache keeps them alive, on the same server that just accepted them.
func TestRevocationIsImmediate(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)

	t.Run("API token", func(t *testing.T) {
		tok, secret, err := env.admin.CreateToken(ctx, "ci", passkeyd.RoleAdmin, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(env.app.url, client.WithToken(secret))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Tokens(ctx); err != nil {
			t.Fatalf("the new token does not work: %v", err)
		}
		if err := env.admin.DeleteToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = c.Tokens(ctx)
		var p *client.Problem
		if !errorsAs(err, &p) || p.Code() != passkeyd.EUnauthorized {
			t.Fatalf("the deleted token's next request: %v, want 401", err)
		}
	})

	t.Run("device token", func(t *testing.T) {
		st, err := env.device.DeviceStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.admin.RemoveDevice(ctx, st.Device.ID); err != nil {
			t.Fatal(err)
		}
		_, err = env.device.DeviceStatus(ctx)
		var p *client.Problem
		if !errorsAs(err, &p) || p.Code() != passkeyd.EUnauthorized {
			t.Fatalf("the removed device's next request: %v, want 401", err)
		}
	})

	t.Run("admin session", func(t *testing.T) {
		const password = "a long enough password for the test"
		if _, err := env.app.mgr.CreateAdmin(passkeyd.WithActor(ctx, passkeyd.SystemActor), "ops", password, passkeyd.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		do := func(method, path string, form url.Values) *http.Response {
			t.Helper()
			req, _ := http.NewRequest(method, env.app.url+path, strings.NewReader(form.Encode()))
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r := do(http.MethodPost, "/ui/login", url.Values{"username": {"ops"}, "password": {password}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", r.StatusCode)
		}
		u, _ := url.Parse(env.app.url + "/ui/")
		cookies := jar.Cookies(u)
		if len(cookies) == 0 {
			t.Fatal("no session cookie after signing in")
		}
		if r := do(http.MethodGet, "/ui/", nil); r.StatusCode != http.StatusOK {
			t.Fatalf("dashboard while signed in: %d", r.StatusCode)
		}
		if r := do(http.MethodPost, "/ui/logout", url.Values{}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", r.StatusCode)
		}
		// The old cookie, replayed as a stolen copy would be.
		old, _ := cookiejar.New(nil)
		old.SetCookies(u, cookies)
		hc.Jar = old
		if r := do(http.MethodGet, "/ui/", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
			t.Fatalf("the signed-out session's next request: %d to %q, want a redirect to the sign-in page", r.StatusCode, r.Header.Get("Location"))
		}
	})
}
