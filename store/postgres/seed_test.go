package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/postgres"
	"github.com/passkeyd/passkeyd/store/storetest"
)

// TestSeedPasskeys (PostgreSQL): the benchmark's seeded inventory is what the store's
// own read methods expect — every passkey listed once in ID order, each
// with its user, device and completed enrollment, the filters and
// cursors working, foreign keys intact, and the store still usable.
func TestSeedPasskeys(t *testing.T) {
	ctx := context.Background()
	db := open(t, freshSchema(t), postgres.Options{})
	// Not a multiple of the batch (700) nor of the three devices per two
	// users: batches end mid-user.
	const n = 2000
	schema := schemaOf(t, db)
	var progress []int
	res, err := postgres.SeedPasskeys(ctx, db, n, 700, func(done int) { progress = append(progress, done) })
	if err != nil {
		t.Fatalf("SeedPasskeys: %v", err)
	}
	if want := []int{700, 1400, 2000}; !slices.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
	// 1999 = 3×666 + 1: the last device is the second of user 1332.
	if res.Passkeys != n || res.Devices != n || res.Users != 1333 {
		t.Errorf("result %+v, want %d passkeys and devices, 1333 users", res, n)
	}

	storetest.CheckSeeded(t, db, res, n)

	// The indexes and foreign keys dropped for the load are all back, as
	// they were (their rebuild checked every row); the tables were
	// analyzed.
	if got := schemaOf(t, db); !slices.Equal(got, schema) {
		t.Errorf("schema after seeding:\n%q\nwant\n%q", got, schema)
	}
	var analyzed int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_user_tables
		WHERE relname IN ('users', 'invitations', 'devices', 'enrollments', 'passkeys')
		  AND schemaname = current_schema() AND last_analyze IS NOT NULL`).Scan(&analyzed); err != nil || analyzed != 5 {
		t.Errorf("%d seeded tables analyzed (%v), want 5", analyzed, err)
	}

	// Seeding again collides on unique keys and leaves nothing behind.
	if _, err := postgres.SeedPasskeys(ctx, db, 10, 0, nil); passkeyd.ErrorCodeOf(err) != passkeyd.EConflict {
		t.Errorf("second seed: %v, want a conflict", err)
	}
	if got := storetest.AllPasskeys(t, db, passkeyd.PasskeyFilter{}); len(got) != n {
		t.Errorf("after the failed seed: %d passkeys, want %d", len(got), n)
	}
}

func TestSeedPasskeysNone(t *testing.T) {
	db := open(t, freshSchema(t), postgres.Options{})
	res, err := postgres.SeedPasskeys(context.Background(), db, 0, 0, nil)
	if err != nil || res.Passkeys != 0 || res.Users != 0 {
		t.Fatalf("SeedPasskeys(0) = %+v, %v", res, err)
	}
	if _, err := postgres.SeedPasskeys(context.Background(), db, -1, 0, nil); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Errorf("SeedPasskeys(-1): %v, want invalid", err)
	}
}

// schemaOf is every index and constraint definition of the current schema.
func schemaOf(t *testing.T, db *postgres.DB) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `
		SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
		UNION ALL
		SELECT c.conrelid::regclass::text || ' ' || c.conname || ': ' || pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE t.relnamespace = current_schema()::regnamespace
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("schema of %d objects", len(out))
	}
	return out
}
