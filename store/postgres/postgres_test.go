package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/postgres"
	"github.com/passkeyd/passkeyd/store/storetest"
)

const urlVar = "PASSKEYD_TEST_POSTGRES_URL"

// testURL returns the test database URL or skips the test.
func testURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(urlVar)
	if u == "" {
		t.Skip("PostgreSQL tests need PASSKEYD_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return u
}

// freshSchema creates an empty schema, dropped when the test ends (after
// the stores opened later are closed, as cleanups run last first), and
// returns a pool configuration whose connections use it.
func freshSchema(t *testing.T) *pgxpool.Config {
	t.Helper()
	_, cfg := freshSchemaNamed(t)
	return cfg
}

// freshSchemaNamed is freshSchema that also returns the schema's name.
func freshSchemaNamed(t *testing.T) (string, *pgxpool.Config) {
	t.Helper()
	url := testURL(t)
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	// Random, not derived from the test name: concurrent runs of the
	// suite (CI jobs on one server) must not share a schema.
	schema := "t_" + hex.EncodeToString(b)
	ident := pgx.Identifier{schema}.Sanitize()
	admin(t, url, `CREATE SCHEMA `+ident)
	t.Cleanup(func() { admin(t, url, `DROP SCHEMA `+ident+` CASCADE`) })

	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("parse %s: %v", urlVar, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 4
	return schema, cfg
}

// admin runs one statement on a connection of its own.
func admin(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// open opens a store ("a node") on cfg, closed when the test ends.
func open(t *testing.T, cfg *pgxpool.Config, opts postgres.Options) *postgres.DB {
	t.Helper()
	db, err := postgres.OpenConfig(context.Background(), cfg.Copy(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T, enq passkeyd.JobEnqueuer) passkeyd.Store {
		return open(t, freshSchema(t), postgres.Options{Enqueue: enq})
	})
}

func TestOpenByURL(t *testing.T) {
	schema, _ := freshSchemaNamed(t)
	// pgx sends URL parameters it does not know as run-time parameters.
	sep := "?"
	if strings.Contains(testURL(t), "?") {
		sep = "&"
	}
	url := testURL(t) + sep + "search_path=" + schema
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	var got string
	if err := db.Pool().QueryRow(context.Background(), `SELECT current_schema()`).Scan(&got); err != nil || got != schema {
		t.Errorf("current_schema() = %q, %v; want %q (the URL's search_path)", got, err, schema)
	}
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cases := []struct{ name, url string }{
		{"empty", ""},
		{"unparsable", "postgres://user:s3cr3t-pw@127.0.0.1:notaport/db"},
		// Port 1: nothing listens, the connection is refused at once.
		{"unreachable", "postgres://user:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, err := postgres.Open(ctx, tc.url, postgres.Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "s3cr3t-pw") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
