package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/passkeyd/passkeyd/bench"
)

func TestBenchScaleFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", nil}, {"0", nil}, {"100000", []int{100000}}, {"100000, 1000000", []int{100000, 1000000}},
		{"100k,1M", []int{100000, 1000000}}, {"250", []int{250}},
	} {
		if got, err := parseScale(tc.in); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseScale(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"-1", "x", "1,,2", "20M", "1.5M", "0,5"} {
		if got, err := parseScale(bad); err == nil {
			t.Errorf("parseScale(%q) = %v, want an error", bad, got)
		}
	}
}

func TestBenchScaleDatabaseURL(t *testing.T) {
	got, err := scaleDatabaseURL("postgres://postgres@127.0.0.1:5432/bench?sslmode=disable", 1000000)
	if want := "postgres://postgres@127.0.0.1:5432/bench_scale_1000000?sslmode=disable"; err != nil || got != want {
		t.Errorf("scaleDatabaseURL = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"host=localhost dbname=x", "postgres://127.0.0.1:5432/", "sqlite:///x.db",
		"postgres://h/" + strings.Repeat("d", 60)} {
		if got, err := scaleDatabaseURL(bad, 100000); err == nil {
			t.Errorf("scaleDatabaseURL(%q) = %q, want an error", bad, got)
		}
	}
}

// TestBenchScale runs the scale phase small: seeded stores served by a
// real passkeyd process, every query answered, the inventory walked in
// full and the server's memory read.
func TestBenchScale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds passkeyd and runs it as a child process; skipped with -short")
	}
	bin, err := buildPasskeyd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stores := []string{""}
	if os.Getenv("PASSKEYD_TEST_POSTGRES_URL") != "" {
		// The scale databases are named after this one, which must be
		// a database of its own (dropped when the test ends).
		stores = append(stores, postgresDatabase(t))
	} else {
		t.Log("PostgreSQL part skipped: set PASSKEYD_TEST_POSTGRES_URL")
	}
	const n = 1200
	var progress bytes.Buffer
	p, err := newScalePhase(benchOptions{scale: "1200"}, t.TempDir(), stores, &progress)
	if err != nil {
		t.Fatal(err)
	}
	p.exe = bin
	rep := &bench.Report{}
	if err := p.run(context.Background(), rep); err != nil {
		t.Fatalf("scale phase: %v\nprogress:\n%s", err, progress.String())
	}
	if len(rep.Scale) != len(stores) {
		t.Fatalf("%d scale reports, want %d", len(rep.Scale), len(stores))
	}
	for _, s := range rep.Scale {
		if s.Passkeys != n || s.Devices != n || s.Users != 800 || s.SeedSeconds <= 0 || s.StartSeconds <= 0 || s.DBSizeBytes <= 0 {
			t.Errorf("%s: %+v", s.Store, s)
		}
		if s.Memory.RSSBytes == 0 || s.PeakRSS() < s.Memory.RSSBytes || s.MemoryAfterReconcile == nil {
			t.Errorf("%s: memory %+v, peak %d", s.Store, s.Memory, s.PeakRSS())
		}
		if s.Walk == nil || s.Walk.Passkeys != n || s.Walk.Pages != 2 {
			t.Errorf("%s: walk %+v", s.Store, s.Walk)
		}
		if s.Reconcile == nil || s.Reconcile.Outcome == "" {
			t.Errorf("%s: reconcile %+v", s.Store, s.Reconcile)
		}
		if len(s.Queries) < 10 {
			t.Errorf("%s: %d queries", s.Store, len(s.Queries))
		}
		for _, q := range s.Queries {
			if q.Latency.Count < scaleQueryMinCalls {
				t.Errorf("%s: %s timed %d times", s.Store, q.Name, q.Latency.Count)
			}
			switch q.Name {
			case "passkeys, first page", "passkeys in state active":
				if q.Items != 100 {
					t.Errorf("%s: %s held %d items, want 100", s.Store, q.Name, q.Items)
				}
			case "passkeys of a user", "devices of a user":
				if q.Items != 2 {
					t.Errorf("%s: %s held %d items, want 2", s.Store, q.Name, q.Items)
				}
			case "passkeys by AAGUID, 0.1 % share":
				if q.Items != 1 {
					t.Errorf("%s: %s held %d items, want 1", s.Store, q.Name, q.Items)
				}
			case "passkeys in state revoking (none)", "passkeys by AAGUID, none":
				if q.Items != 0 {
					t.Errorf("%s: %s held %d items, want 0", s.Store, q.Name, q.Items)
				}
			case "users, search by UPN":
				if q.Items != 1 {
					t.Errorf("%s: %s held %d items, want 1", s.Store, q.Name, q.Items)
				}
			}
		}
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[scale]", "sqlite 1200", "passkeyd peak RSS", "passkeys, page half-way (cursor) p50 / p99"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// postgresDatabase creates an empty database on the test PostgreSQL,
// dropped when the test ends, and returns its URL.
func postgresDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PASSKEYD_TEST_POSTGRES_URL")
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	run := func(sql string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := run("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
