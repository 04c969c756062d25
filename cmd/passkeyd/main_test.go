package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/provider"
)

// TestDemo runs `passkeyd demo --exit` in-process: the whole lifecycle
// against the emulator, checked step by step by the demo itself.
func TestDemo(t *testing.T) {
	for _, cred := range []string{"secret", "certificate"} {
		t.Run(cred, func(t *testing.T) { testDemo(t, cred) })
	}
}

func testDemo(t *testing.T, credential string) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := runDemo(ctx, &out, demoOptions{exit: true, dataDir: t.TempDir(), listen: "127.0.0.1:0", credential: credential})
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum demoSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("last line is not the JSON summary: %q", lines[len(lines)-1])
	}
	want := demoSummary{Enrolled: 1, SignedIn: 1, Revoked: 1, AuditVerified: true}
	if sum != want {
		t.Fatalf("summary = %+v, want %+v\n%s", sum, want, out.String())
	}
	if strings.Count(out.String(), "✓") < 10 {
		t.Errorf("expected a ✓ line per step:\n%s", out.String())
	}
}

// testEnv is a running emulator and passkeyd server with the connector
// configured, the default policy REQUIRED and one registered device.
type testEnv struct {
	emu    *entraemu.Emulator
	app    *app
	admin  *client.Client
	device *client.Client
	auth   *authenticator.Authenticator
	prov   *provider.Provider
	upn    string
	tenant string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvWith(t, nil)
}

// newTestEnvWith is newTestEnv with the server's configuration edited.
func newTestEnvWith(t *testing.T, edit func(*Config)) *testEnv {
	t.Helper()
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

	cfg := defaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Dev = t.TempDir(), "127.0.0.1:0", true
	cfg.bootstrapToken = string(newDemoToken())
	cfg.Jobs.PollMilliseconds = 100
	if edit != nil {
		edit(&cfg)
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop(ctx) })
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(a.url, client.WithToken(passkeyd.Secret(cfg.bootstrapToken)))
	if err != nil {
		t.Fatal(err)
	}
	s := emu.Settings()
	sec := passkeyd.Secret(s.ClientSecret)
	if _, err := admin.UpdateConnector(ctx, passkeyd.ConnectorUpdate{
		Enabled: true, Cloud: passkeyd.CloudCustom, AuthorityHost: s.AuthorityHost, GraphURL: s.GraphURL,
		CACertPEM: string(emu.CACertPEM()), TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: &sec,
		ChallengeTimeoutMinutes: 5,
	}); err != nil {
		t.Fatal(err)
	}
	pol, err := admin.Policy(ctx, passkeyd.DefaultPolicyID)
	if err != nil {
		t.Fatal(err)
	}
	pol.EntraPasskey = passkeyd.PolicyRequired
	if _, _, err := admin.UpdatePolicy(ctx, *pol); err != nil {
		t.Fatal(err)
	}
	upn := s.Users[0].UPN
	u, err := admin.CreateUser(ctx, passkeyd.User{UPN: upn})
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := admin.CreateInvitation(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := authenticator.Create(filepath.Join(t.TempDir(), "ks"), "test passphrase",
		authenticator.WithScryptParams(authenticator.ScryptParams{LogN: 10, R: 8, P: 1}))
	if err != nil {
		t.Fatal(err)
	}
	hc := httpClientTrusting(emu.CACertPEM())
	prov := provider.New(auth, hc)
	if _, err := prov.Register(ctx, a.url, code, passkeyd.DeviceInfo{Name: "test phone"}); err != nil {
		t.Fatal(err)
	}
	tok, _ := auth.Data("device_token")
	device, err := client.New(a.url, client.WithToken(passkeyd.Secret(tok)))
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{emu: emu, app: a, admin: admin, device: device, auth: auth, prov: prov, upn: upn, tenant: s.TenantID}
}

// attest fetches creation options and makes a credential for them.
func (e *testEnv) attest(t *testing.T, format authenticator.AttestationFormat) (string, passkeyd.Credential) {
	t.Helper()
	eo, err := e.device.EnrollmentOptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	att, err := e.auth.MakeCredential(eo.PublicKey, authenticator.WithAttestationFormat(format))
	if err != nil {
		t.Fatal(err)
	}
	return eo.EnrollmentID, att.Credential()
}

// TestTamperedCredentialsRejected sends broken registrations through the
// device API: each is refused with a precise problem, and nothing reaches
// Entra or the passkey inventory.
func TestTamperedCredentialsRejected(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	b64 := base64.RawURLEncoding

	editClientData := func(edit func(m map[string]any)) func(*testing.T, *passkeyd.Credential) {
		return func(t *testing.T, c *passkeyd.Credential) {
			raw, _ := b64.DecodeString(c.ClientDataJSON)
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			raw, _ = json.Marshal(m)
			c.ClientDataJSON = b64.EncodeToString(raw)
		}
	}
	editAuthData := func(edit func(ad []byte)) func(*testing.T, *passkeyd.Credential) {
		return func(t *testing.T, c *passkeyd.Credential) {
			raw, _ := b64.DecodeString(c.AttestationObject)
			var ao map[string]cbor.RawMessage
			if err := cbor.Unmarshal(raw, &ao); err != nil {
				t.Fatal(err)
			}
			var ad []byte
			if err := cbor.Unmarshal(ao["authData"], &ad); err != nil {
				t.Fatal(err)
			}
			edit(ad)
			ao["authData"], _ = cbor.Marshal(ad)
			raw, _ = cbor.Marshal(ao)
			c.AttestationObject = b64.EncodeToString(raw)
		}
	}
	tests := []struct {
		name   string
		format authenticator.AttestationFormat
		tamper func(*testing.T, *passkeyd.Credential)
		status int
		detail string
	}{
		{"flipped signature byte", authenticator.FormatPacked, func(t *testing.T, c *passkeyd.Credential) {
			raw, _ := b64.DecodeString(c.AttestationObject)
			raw[len(raw)-3] ^= 0x01 // inside the packed signature, at the end of attStmt
			c.AttestationObject = b64.EncodeToString(raw)
		}, http.StatusUnprocessableEntity, "Entra rejected"},
		{"origin changed", authenticator.FormatNone, editClientData(func(m map[string]any) { m["origin"] = "https://evil.example" }),
			http.StatusUnprocessableEntity, "origin"},
		{"challenge changed", authenticator.FormatNone, editClientData(func(m map[string]any) { m["challenge"] = "AAAA" + m["challenge"].(string)[4:] }),
			http.StatusUnprocessableEntity, "challenge"},
		{"type changed", authenticator.FormatNone, editClientData(func(m map[string]any) { m["type"] = "webauthn.get" }),
			http.StatusUnprocessableEntity, "type"},
		{"UV cleared", authenticator.FormatNone, editAuthData(func(ad []byte) { ad[32] &^= 0x04 }),
			http.StatusUnprocessableEntity, "user-verified"},
		{"UP cleared", authenticator.FormatNone, editAuthData(func(ad []byte) { ad[32] &^= 0x01 }),
			http.StatusUnprocessableEntity, "user-present"},
		{"rpIdHash of another RP", authenticator.FormatNone, editAuthData(func(ad []byte) { ad[0] ^= 0xff }),
			http.StatusUnprocessableEntity, "rpIdHash"},
		{"credential ID mismatch", authenticator.FormatNone, func(t *testing.T, c *passkeyd.Credential) {
			c.ID = b64.EncodeToString([]byte("another credential id 0123456789"))
		}, http.StatusUnprocessableEntity, "credential ID"},
		{"not base64url", authenticator.FormatNone, func(t *testing.T, c *passkeyd.Credential) { c.ClientDataJSON = "***" },
			http.StatusBadRequest, "invalid credential"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enrollmentID, cred := env.attest(t, tc.format)
			tc.tamper(t, &cred)
			_, err := env.device.CompleteEnrollment(ctx, enrollmentID, cred)
			var p *client.Problem
			if !errorsAs(err, &p) {
				t.Fatalf("CompleteEnrollment error = %v, want a problem", err)
			}
			if p.Status != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("problem = %d %q, want %d containing %q", p.Status, p.Detail, tc.status, tc.detail)
			}
			if n := len(env.emu.Methods(env.tenant, env.upn)); n != 0 {
				t.Fatalf("the emulator holds %d methods after a rejected registration", n)
			}
			pks, _, err := env.admin.Passkeys(ctx, passkeyd.PasskeyFilter{State: passkeyd.PasskeyActive})
			if err != nil {
				t.Fatal(err)
			}
			if len(pks) != 0 {
				t.Fatalf("%d active passkeys after a rejected registration", len(pks))
			}
		})
	}

	t.Run("replayed enrollment", func(t *testing.T) {
		enrollmentID, cred := env.attest(t, authenticator.FormatPacked)
		if _, err := env.device.CompleteEnrollment(ctx, enrollmentID, cred); err != nil {
			t.Fatalf("valid registration failed: %v", err)
		}
		_, err := env.device.CompleteEnrollment(ctx, enrollmentID, cred)
		var p *client.Problem
		if !errorsAs(err, &p) || p.Status != http.StatusConflict {
			t.Fatalf("replay error = %v, want 409", err)
		}
		// The same credential against fresh options: the challenge differs.
		eo, err := env.device.EnrollmentOptions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = env.device.CompleteEnrollment(ctx, eo.EnrollmentID, cred)
		if !errorsAs(err, &p) || p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Detail, "challenge") {
			t.Fatalf("replay with new options error = %v, want 422 about the challenge", err)
		}
		if n := len(env.emu.Methods(env.tenant, env.upn)); n != 1 {
			t.Fatalf("the emulator holds %d methods, want exactly the one registration", n)
		}
	})

	t.Run("audit chain intact", func(t *testing.T) {
		r, err := env.admin.VerifyAudit(ctx)
		if err != nil || !r.OK {
			t.Fatalf("VerifyAudit = %+v, %v", r, err)
		}
	})
}

// TestDeviceAPIErrors checks the device API's answers to wrong codes and
// tokens on a real server.
func TestDeviceAPIErrors(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	anon, err := client.New(env.app.url)
	if err != nil {
		t.Fatal(err)
	}
	var p *client.Problem
	_, _, err = anon.RegisterDevice(ctx, "ABCD-EFGH-JKMN-PQRS-TVWX", passkeyd.DeviceInfo{Name: "x"})
	if !errorsAs(err, &p) || p.Status != http.StatusUnauthorized {
		t.Fatalf("unknown code: %v, want 401", err)
	}
	bad := env.device.WithToken("pkd_dev_not-a-real-token-0123456789")
	if _, err := bad.DeviceStatus(ctx); !errorsAs(err, &p) || p.Status != http.StatusUnauthorized {
		t.Fatalf("wrong device token: %v, want 401", err)
	}
	if _, err := env.admin.WithToken(passkeyd.Secret(mustData(t, env.auth, "device_token"))).Policies(ctx); !errorsAs(err, &p) || p.Status != http.StatusUnauthorized {
		t.Fatalf("device token on the admin API: %v, want 401", err)
	}
	// After removal the device token stops working.
	st, err := env.device.DeviceStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.admin.RemoveDevice(ctx, st.Device.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.device.DeviceStatus(ctx); !errorsAs(err, &p) || p.Status != http.StatusUnauthorized {
		t.Fatalf("removed device: %v, want 401", err)
	}
}

func mustData(t *testing.T, a *authenticator.Authenticator, key string) string {
	t.Helper()
	v, ok := a.Data(key)
	if !ok {
		t.Fatalf("keystore has no %s", key)
	}
	return v
}

func errorsAs(err error, target **client.Problem) bool { return errors.As(err, target) }

// TestLifecycleWithGraphVariants enrolls and revokes with the emulator
// emitting each base64 form of IDs Graph has been seen to use, and checks
// that passkeyd asked for one token for all of it.
func TestLifecycleWithGraphVariants(t *testing.T) {
	for _, enc := range []entraemu.IDEncoding{entraemu.IDEncodingBase64URL, entraemu.IDEncodingStdPadded, entraemu.IDEncodingPaddingDigit} {
		t.Run(enc.String(), func(t *testing.T) {
			env := newTestEnv(t)
			env.emu.SetIDEncoding(enc)
			ctx := context.Background()
			tokensBefore := env.emu.Stats().TokenRequests
			pk, err := env.prov.Enroll(ctx)
			if err != nil {
				t.Fatalf("enroll: %v", err)
			}
			ids := []string{pk.ID}
			// A second enrollment gets the first credential back in
			// excludeCredentials, in this encoding: the device must
			// recognise it and refuse.
			if _, err := env.prov.Enroll(ctx); !errors.Is(err, authenticator.ErrCredentialExcluded) {
				t.Fatalf("second enroll: %v, want ErrCredentialExcluded", err)
			}
			st, err := env.device.DeviceStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := env.admin.RemoveDevice(ctx, st.Device.ID); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for _, id := range ids {
				for {
					pk, err := env.admin.Passkey(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if pk.State == passkeyd.PasskeyRevoked {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("passkey %s still %s (%s)", id, pk.State, pk.LastError)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			if n := len(env.emu.Methods(env.tenant, env.upn)); n != 0 {
				t.Fatalf("%d methods left in Entra", n)
			}
			// One token for options, creates and deletes: the token is
			// cached for its lifetime (newTestEnv's setup already held it).
			if n := env.emu.Stats().TokenRequests - tokensBefore; n > 1 {
				t.Errorf("%d token requests for the enrollments and the revocation, want at most 1", n)
			}
		})
	}
}
