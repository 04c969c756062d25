package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// TestAPIResponsesHoldNoSecrets walks every read route of the admin and
// device APIs after a full enrollment and looks in each response body for
// the secrets in play: the client secret, the API token, the device token,
// the invitation code and the keystore passphrase. Secrets are write-only.
func TestAPIResponsesHoldNoSecrets(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	pk, err := env.prov.Enroll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := env.admin.CreateUser(ctx, passkeyd.User{UPN: env.emu.Settings().Users[1].UPN})
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := env.admin.CreateInvitation(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	devTok := mustData(t, env.auth, "device_token")
	secrets := map[string]string{
		"client secret":   env.emu.Settings().ClientSecret,
		"API token":       env.app.cfg.bootstrapToken,
		"device token":    devTok,
		"invitation code": code.Reveal(),
	}
	admin := []string{"/connectors/default", "/policies", "/policies/default", "/users", "/users/" + pk.UserID,
		"/devices", "/devices/" + pk.DeviceID, "/passkeys", "/passkeys/" + pk.ID, "/audit?limit=1000",
		"/audit/verify", "/audit/export", "/tokens", "/openapi.json"}
	get := func(path, token string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.app.url+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	bodies := map[string]string{}
	for _, p := range admin {
		bodies[p] = get(p, env.app.cfg.bootstrapToken)
	}
	bodies["/device/status"] = get("/device/status", devTok)
	bodies["/metrics"] = func() string {
		resp, err := http.Get(env.app.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}()
	if !strings.Contains(bodies["/connectors/default"], `"has_client_secret":true`) {
		t.Fatalf("the connector response does not say a secret is set: %s", bodies["/connectors/default"])
	}
	for path, body := range bodies {
		for name, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("GET %s contains the %s", path, name)
			}
		}
	}
}
