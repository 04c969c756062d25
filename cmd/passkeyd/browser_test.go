package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/provider"
)

// chromiumPath finds Debian's Chromium, or skips the test saying how to
// enable it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PASSKEYD_TEST_CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("browser tests need Chromium: apt-get install -y chromium (or set PASSKEYD_TEST_CHROMIUM to its path)")
	return ""
}

// TestBrowserAdminJourney drives the admin web UI in headless Chromium
// through the whole story: sign in, configure the connector against the
// emulator, Validate Certificate, Test Connection, set the policy to
// REQUIRED, invite a user, enroll a software provider with the code,
// remove the device, watch the passkey become revoked, find every step in
// the audit page. It saves a screenshot of each page (docs/screenshots via
// `make screenshots`).
func TestBrowserAdminJourney(t *testing.T) {
	exe := chromiumPath(t)
	shots := os.Getenv("PASSKEYD_SCREENSHOTS_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	emu, err := entraemu.New(entraemu.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	s := emu.Settings()

	cfg := defaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Dev = t.TempDir(), "127.0.0.1:0", true
	cfg.bootstrapToken = string(newDemoToken())
	cfg.Jobs.PollMilliseconds = 100
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop(ctx) })
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	const adminPassword = "a long browser test password"
	if _, err := a.mgr.CreateAdmin(passkeyd.WithActor(ctx, passkeyd.SystemActor), "admin", adminPassword, passkeyd.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	// The certificate to validate, as an admin would pick the files.
	certPEM, keyPEM, err := selfSignedCertificate("passkeyd browser test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	caFile := filepath.Join(dir, "emulator-ca.pem")
	if err := emu.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 1000),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()

	base := a.url + "/ui"
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			// A page still loading after a click has no size yet: wait
			// for its heading, and try again for a moment.
			var err error
			for range 50 {
				if _, err = chromedp.WaitVisible(chromedp.CSS("h1"))(ctx, tg); err == nil {
					var png []byte
					if png, err = chromedp.FullScreenshot(100)(ctx, tg); err == nil {
						return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			return err
		})
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// waitText polls until the element's text contains want: clicks that
	// navigate race with reads of the page being left.
	waitText := func(sel, want string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
			if err == nil && strings.Contains(got, want) {
				return got
			}
			if time.Now().After(deadline) {
				page, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
				t.Fatalf("%s never showed %q (last: %.300q, %v); page: %.800s", sel, want, got, err, page)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	run("sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		shot("01-sign-in"),
		chromedp.SendKeys(chromedp.CSS(`#username`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Submit(chromedp.CSS(`#password`)),
	)
	waitText("h1", "Dashboard")
	run("dashboard", shot("02-dashboard"))

	run("configure the connector",
		chromedp.Navigate(base+"/connector"),
		chromedp.WaitVisible(chromedp.CSS(`#tenant_id`)),
		chromedp.Click(chromedp.CSS(`input[name="enabled"]`)),
		chromedp.SetValue(chromedp.CSS(`#cloud`), "custom"),
		chromedp.SetValue(chromedp.CSS(`#authority_host`), s.AuthorityHost),
		chromedp.SetValue(chromedp.CSS(`#graph_url`), s.GraphURL),
		chromedp.SetValue(chromedp.CSS(`#ca_cert_pem`), string(emu.CACertPEM())),
		chromedp.SetValue(chromedp.CSS(`#tenant_id`), s.TenantID),
		chromedp.SetValue(chromedp.CSS(`#client_id`), s.ClientID),
		chromedp.SetValue(chromedp.CSS(`#credential_type`), "secret"),
		chromedp.SendKeys(chromedp.CSS(`#client_secret`), s.ClientSecret),
		chromedp.Click(chromedp.CSS(`form[action="/ui/connector"] button[type="submit"]:not([formaction])`)),
	)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := a.mgr.Connector(ctx); err == nil && c.Enabled && c.HasClientSecret && c.TenantID == s.TenantID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connector form did not save: %.800s", text("main"))
		}
	}
	if body := waitText("main", "Client Secret"); strings.Contains(body, s.ClientSecret) {
		t.Fatal("the connector page shows the client secret")
	}

	run("validate certificate",
		chromedp.Navigate(base+"/connector"),
		chromedp.WaitVisible(chromedp.CSS(`#certificate_pem`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#certificate_pem`), []string{certFile}),
		chromedp.SetUploadFiles(chromedp.CSS(`#private_key_pem`), []string{keyFile}),
		chromedp.Click(chromedp.CSS(`button[formaction="/ui/connector/validate-certificate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#cert-result`)),
		shot("03-validate-certificate"),
	)
	if r := text("#cert-result"); !strings.Contains(r, "valid") || strings.Contains(r, "not usable") {
		t.Fatalf("Validate Certificate says %q", r)
	}

	run("test connection",
		chromedp.Navigate(base+"/connector"),
		chromedp.WaitVisible(chromedp.CSS(`#test_user`)),
		chromedp.SendKeys(chromedp.CSS(`#test_user`), s.Users[0].UPN),
		chromedp.Click(chromedp.CSS(`form[action="/ui/connector/test"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#test-result`)),
		shot("04-test-connection"),
	)
	if r := text("#test-result"); !strings.Contains(r, "passed") {
		t.Fatalf("Test Connection says %q: %.600s", r, text("main"))
	}

	run("policy required",
		chromedp.Navigate(base+"/policies/default"),
		chromedp.WaitVisible(chromedp.CSS(`#entra_passkey`)),
		chromedp.SetValue(chromedp.CSS(`#entra_passkey`), "required"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/policies/default"] button`)),
	)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if p, err := a.mgr.Policy(ctx, passkeyd.DefaultPolicyID); err == nil && p.EntraPasskey == passkeyd.PolicyRequired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the policy form did not set REQUIRED")
		}
	}
	run("policy", shot("05-policy"))
	run("create a named policy",
		chromedp.Navigate(base+"/policies"),
		chromedp.WaitVisible(chromedp.CSS(`#new_name`)),
		chromedp.SendKeys(chromedp.CSS(`#new_name`), "Finance"),
		chromedp.SetValue(chromedp.CSS(`#new_entra_passkey`), "optional"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/policies"] button`)),
	)
	waitText("h1", "Policy Finance")

	run("add and invite a user",
		chromedp.Navigate(base+"/users"),
		chromedp.WaitVisible(chromedp.CSS(`#upn`)),
		chromedp.SendKeys(chromedp.CSS(`#upn`), s.Users[0].UPN),
		chromedp.Click(chromedp.CSS(`form[method="post"][action="/ui/users"] button`)),
	)
	waitText("h1", s.Users[0].UPN)
	run("invite",
		chromedp.WaitVisible(chromedp.CSS(`form.inline-form button`)),
		shot("06-user"),
		chromedp.Click(chromedp.CSS(`form.inline-form button`)),
		chromedp.WaitVisible(chromedp.CSS(`code.secret-once`)),
		shot("07-invitation"),
	)
	code := strings.TrimSpace(text("code.secret-once"))
	if len(code) < 20 {
		t.Fatalf("invitation code %q", code)
	}

	// The user's phone: the software provider enrolls with the code.
	auth, err := authenticator.Create(filepath.Join(t.TempDir(), "ks"), "browser test passphrase",
		authenticator.WithScryptParams(authenticator.ScryptParams{LogN: 10, R: 8, P: 1}))
	if err != nil {
		t.Fatal(err)
	}
	prov := provider.New(auth, httpClientTrusting(emu.CACertPEM()))
	deviceID, err := prov.Register(ctx, a.url, passkeyd.Secret(code), passkeyd.DeviceInfo{Name: "Alice's phone", Platform: "android", Model: "Pixel 9"})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := prov.Enroll(ctx)
	if err != nil {
		t.Fatal(err)
	}

	run("device page",
		chromedp.Navigate(base+"/devices/"+deviceID),
		chromedp.WaitVisible(chromedp.CSS(`a.button.danger`)),
		shot("08-device"),
		chromedp.Click(chromedp.CSS(`a.button.danger`)),
	)
	waitText("h1", "Remove device")
	run("remove the device",
		shot("09-remove-confirmation"),
		chromedp.Click(chromedp.CSS(`form[action$="/remove"] button`)),
	)
	waitText("h1", "Device ")
	// The device page lists its passkeys with their states: watch the
	// revocation progress there, as an admin would.
	deadline := time.Now().Add(30 * time.Second)
	for {
		run("watch the passkey", chromedp.Navigate(base+"/devices/"+deviceID), chromedp.WaitVisible(chromedp.CSS(`table`)))
		rows := text("table")
		if strings.Contains(rows, pk.AAGUID) && strings.Contains(rows, "revoked") && !strings.Contains(rows, "revoking") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the device page never showed the passkey revoked: %.500s", rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
	run("revoked", shot("10-device-revoked"), chromedp.Navigate(base+"/passkeys"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	run("passkeys", shot("11-passkeys"))
	if n := len(emu.Methods(s.TenantID, s.Users[0].UPN)); n != 0 {
		t.Fatalf("%d methods left in Entra", n)
	}

	run("audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS(`main`)), shot("12-audit"))
	audit := waitText("main", "passkey.revoked")
	for _, action := range []string{"connector.updated", "connector.tested", "policy.updated", "user.created",
		"invitation.created", "device.registered", "passkey.registered", "device.removed", "passkey.revoked"} {
		if !strings.Contains(audit, action) {
			t.Errorf("the audit page lacks %s", action)
		}
	}
	run("verify the chain", chromedp.Click(chromedp.CSS(`form[action="/ui/audit/verify"] button`)))
	waitText("main", "intact")
	run("verified", shot("13-audit-verified"))

	// Phone width: the pages stay usable (no horizontal scrolling of the
	// page itself; wide tables scroll inside their own box).
	run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`h1`)), shot("14-phone-dashboard"))
	for _, page := range []string{"/", "/users", "/connector", "/audit"} {
		run("phone "+page, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		w, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if w > 390 {
			t.Errorf("%s is %v px wide at a 390 px phone width", page, w)
		}
	}
}
