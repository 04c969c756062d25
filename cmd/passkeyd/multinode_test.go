package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/provider"
)

// postgresURL returns a URL to a fresh schema on the test PostgreSQL, or
// skips the test.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PASSKEYD_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("PostgreSQL tests need PASSKEYD_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at PASSKEYD_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestMultiNodePostgres runs two passkeyd nodes on one PostgreSQL: devices
// register and enroll on one node, are removed through the other, and each
// revocation runs exactly once although both nodes' workers compete.
func TestMultiNodePostgres(t *testing.T) {
	url := postgresURL(t)
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

	key := make([]byte, 32)
	rand.Read(key)
	token := string(newDemoToken())
	var nodes []*app
	for range 2 {
		cfg := defaultConfig()
		cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
		cfg.Database.URL = url
		cfg.masterKey = hex.EncodeToString(key) // every node shares the master key
		cfg.bootstrapToken = token
		cfg.Jobs.PollMilliseconds = 100
		a, err := openApp(ctx, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.stop(ctx) })
		if err := a.start(ctx); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, a)
	}
	adminA, _ := client.New(nodes[0].url, client.WithToken(passkeyd.Secret(token)))
	adminB, _ := client.New(nodes[1].url, client.WithToken(passkeyd.Secret(token)))

	s := emu.Settings()
	sec := passkeyd.Secret(s.ClientSecret)
	if _, err := adminA.UpdateConnector(ctx, passkeyd.ConnectorUpdate{
		Enabled: true, Cloud: passkeyd.CloudCustom, AuthorityHost: s.AuthorityHost, GraphURL: s.GraphURL,
		CACertPEM: string(emu.CACertPEM()), TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: &sec,
	}); err != nil {
		t.Fatal(err)
	}
	pol, err := adminB.Policy(ctx, passkeyd.DefaultPolicyID)
	if err != nil {
		t.Fatal(err)
	}
	pol.EntraPasskey = passkeyd.PolicyRequired
	if _, _, err := adminB.UpdatePolicy(ctx, *pol); err != nil {
		t.Fatal(err)
	}

	hc := httpClientTrusting(emu.CACertPEM())
	var devices, passkeys []string
	for i, eu := range s.Users {
		u, err := adminA.CreateUser(ctx, passkeyd.User{UPN: eu.UPN})
		if err != nil {
			t.Fatal(err)
		}
		_, code, err := adminA.CreateInvitation(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := authenticator.Create(filepath.Join(t.TempDir(), "ks"), "test passphrase",
			authenticator.WithScryptParams(authenticator.ScryptParams{LogN: 10, R: 8, P: 1}))
		if err != nil {
			t.Fatal(err)
		}
		prov := provider.New(auth, hc)
		id, err := prov.Register(ctx, nodes[1].url, code, passkeyd.DeviceInfo{Name: "phone " + string(rune('A'+i))})
		if err != nil {
			t.Fatal(err)
		}
		pk, err := prov.Enroll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		devices, passkeys = append(devices, id), append(passkeys, pk.ID)
	}
	for _, id := range devices {
		if _, _, err := adminA.RemoveDevice(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range passkeys {
		for {
			pk, err := adminB.Passkey(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if pk.State == passkeyd.PasskeyRevoked {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("passkey %s still %s", id, pk.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if n := emu.Stats().GraphCalls[entraemu.OpDelete]; n != len(passkeys) {
		t.Errorf("%d delete calls for %d passkeys: each revocation must run exactly once", n, len(passkeys))
	}
	for _, eu := range s.Users {
		if n := len(emu.Methods(s.TenantID, eu.UPN)); n != 0 {
			t.Errorf("%s still has %d methods", eu.UPN, n)
		}
	}
	for _, c := range []*client.Client{adminA, adminB} {
		if r, err := c.VerifyAudit(ctx); err != nil || !r.OK {
			t.Fatalf("audit on one node: %+v %v", r, err)
		}
	}
}
