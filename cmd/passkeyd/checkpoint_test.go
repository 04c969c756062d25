package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuditCheckpoints: the server writes signed checkpoints of the audit
// chain outside the database; `passkeyd audit verify --checkpoint` checks
// the chain against them with only the public key, and `audit export`
// writes the log as JSON lines.
func TestAuditCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cpFile := filepath.Join(dir, "checkpoints.jsonl")
	env := newTestEnvWith(t, func(c *Config) {
		c.Audit.CheckpointFile = cpFile
		c.Audit.ShipSeconds = 5
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(cpFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint written within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	run := func(args ...string) (string, error) {
		t.Setenv("PASSKEYD_ADDR", env.app.url)
		t.Setenv("PASSKEYD_TOKEN", env.app.cfg.bootstrapToken)
		var out bytes.Buffer
		cmd := newRootCmd()
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	pub, err := run("audit", "public-key", "--key-file", filepath.Join(env.app.cfg.DataDir, "checkpoint.key"))
	if err != nil || !strings.Contains(pub, "PUBLIC KEY") {
		t.Fatalf("public-key: %v\n%s", err, pub)
	}
	pubFile := filepath.Join(dir, "checkpoint.pub")
	if err := os.WriteFile(pubFile, []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run("audit", "verify", "--checkpoint", cpFile, "--key", pubFile)
	if err != nil || !strings.Contains(out, "matching 1 signed checkpoints") {
		t.Fatalf("verify with checkpoints: %v\n%s", err, out)
	}
	// A missing key file is an error, not an empty key.
	other := filepath.Join(dir, "other.key")
	if _, err := run("audit", "public-key", "--key-file", other); err == nil {
		t.Fatal("public-key of a missing key file succeeded")
	}
	exported, err := run("audit", "export")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(exported, "\n"); lines < 5 || !strings.Contains(exported, `"action":"connector.updated"`) {
		t.Fatalf("export wrote %d lines:\n%s", lines, exported)
	}
}
