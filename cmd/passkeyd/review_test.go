package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/client"
)

// cli runs one passkeyd command against env's server as its admin.
func cli(t *testing.T, env *testEnv, stdin string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("PASSKEYD_ADDR", env.app.url)
	t.Setenv("PASSKEYD_TOKEN", env.app.cfg.bootstrapToken)
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestCLIConnectorAndOffboard: `connector set` pointing the
// connector elsewhere without the secret is refused with the reason, and
// nothing changes; with the secret on standard input it is accepted.
// `user offboard` removes the user's device: its token stops working.
func TestCLIConnectorAndOffboard(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	before, err := env.admin.Connector(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cli(t, env, "", "connector", "set", "--authority-host", "https://login.attacker.example")
	if err == nil || !strings.Contains(err.Error(), "client_secret required: the update changes authority_host") {
		t.Fatalf("connector set to another authority without the secret: %v", err)
	}
	if c, _ := env.admin.Connector(ctx); c.AuthorityHost != before.AuthorityHost || !c.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("the refused change was saved: %+v", c)
	}
	if _, err := cli(t, env, "", "connector", "set", "--remove-client-secret", "--client-secret-stdin"); err == nil {
		t.Fatal("--remove-client-secret with --client-secret-stdin was accepted")
	}
	secret := env.emu.Settings().ClientSecret
	out, err := cli(t, env, secret+"\n", "connector", "set", "--tenant-id", strings.ToUpper(env.tenant), "--client-secret-stdin")
	if err != nil || !strings.Contains(out, "connector saved") {
		t.Fatalf("connector set with the secret again: %v\n%s", err, out)
	}

	d, err := env.device.DeviceStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err = cli(t, env, "", "user", "offboard", d.Device.UserID)
	if err != nil || !strings.Contains(out, "1 device(s) removed") {
		t.Fatalf("user offboard: %v\n%s", err, out)
	}
	_, err = env.device.DeviceStatus(ctx)
	var p *client.Problem
	if !errorsAs(err, &p) || p.Code() != passkeyd.EUnauthorized {
		t.Fatalf("the offboarded user's device still works: %v", err)
	}
}

// TestUIRequestsAreLoggedByTheServer: the UI is served behind the request
// log: a failed sign-in gets a line with the route, status, request ID and
// the client address from a trusted proxy, and no password.
func TestUIRequestsAreLoggedByTheServer(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	cfg := defaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Dev = t.TempDir(), "127.0.0.1:0", true
	cfg.bootstrapToken = string(newDemoToken())
	cfg.TrustedProxies = []string{"127.0.0.0/8"}
	a, err := openApp(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop(ctx) })
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	const password = "CANARY-not-the-password-7c1e"
	form := url.Values{"username": {"nobody-here"}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, a.url+"/ui/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", "198.51.100.23")
	req.Header.Set("X-Request-ID", "ui-login-check")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Request-ID") != "ui-login-check" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "style-src 'self'") {
		t.Fatalf("failed sign-in: %d, X-Request-ID %q, CSP %q", resp.StatusCode, resp.Header.Get("X-Request-ID"), resp.Header.Get("Content-Security-Policy"))
	}
	a.stop(ctx)
	l := logs.String()
	if strings.Contains(l, password) {
		t.Fatal("the log contains the password")
	}
	sc := bufio.NewScanner(strings.NewReader(l))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "http request" && m["route"] == "POST /ui/login" {
			if m["status"] != float64(401) || m["client_ip"] != "198.51.100.23" || m["request_id"] != "ui-login-check" {
				t.Fatalf("request line %v", m)
			}
			return
		}
	}
	t.Fatalf("no request log line for the UI sign-in:\n%s", l)
}
