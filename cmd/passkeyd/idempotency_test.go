package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// TestIdempotencyKey: a retried mutation with the same Idempotency-Key
// gets the stored response (secrets included, sealed at rest), another
// body under the key gets 422, and the work happens once.
func TestIdempotencyKey(t *testing.T) {
	env := newTestEnv(t)
	token := env.app.cfg.bootstrapToken
	post := func(path, key, body string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, env.app.url+"/api/v1"+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}

	body := `{"name":"ci pipeline","role":"operator"}`
	st1, _, b1 := post("/tokens", "create-ci-token-1", body)
	st2, h2, b2 := post("/tokens", "create-ci-token-1", body)
	if st1 != http.StatusCreated || st2 != st1 || !bytes.Equal(b1, b2) || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d %q (replayed %q), want the first response %d %q", st2, b2, h2.Get("Idempotent-Replayed"), st1, b1)
	}
	if st, _, b := post("/tokens", "create-ci-token-1", `{"name":"other","role":"operator"}`); st != http.StatusUnprocessableEntity {
		t.Fatalf("another body under the key = %d %s, want 422", st, b)
	}
	toks, err := env.admin.Tokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tk := range toks {
		if tk.Name == "ci pipeline" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d tokens named ci pipeline, want exactly 1", n)
	}
	// The replayed response holds the token secret: it is stored sealed.
	var created struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(b1, &created); err != nil || len(created.Secret) < 20 {
		t.Fatalf("response %s has no secret", b1)
	}
	filepath.WalkDir(env.app.cfg.DataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(created.Secret)) {
				t.Errorf("the token secret is stored in clear in %s", p)
			}
		}
		return nil
	})
	// Keys are scoped to the caller: the device cannot replay the admin's.
	devTok := passkeyd.Secret(mustData(t, env.auth, "device_token"))
	req, _ := http.NewRequest(http.MethodPost, env.app.url+"/api/v1/device/passkeys/skip", nil)
	req.Header.Set("Authorization", "Bearer "+devTok.Reveal())
	req.Header.Set("Idempotency-Key", "create-ci-token-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a device replayed an admin's stored response")
	}
	if st, _, b := post("/tokens", strings.Repeat("k", 300), body); st != http.StatusBadRequest {
		t.Fatalf("a 300-character key = %d %s, want 400", st, b)
	}
}
