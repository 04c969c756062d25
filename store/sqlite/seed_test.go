package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/sqlite"
	"github.com/passkeyd/passkeyd/store/storetest"
)

// TestSeedPasskeys: the benchmark's seeded inventory is what the store's
// own read methods expect (storetest.CheckSeeded), the schema is as it was,
// and seeding again is refused without leaving anything behind.
func TestSeedPasskeys(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "seed.db"), sqlite.Options{})
	// Not a multiple of the batch (700) nor of the three devices per two
	// users: batches end mid-user.
	const n = 2000
	schema := schemaOf(t, db)
	var progress []int
	res, err := sqlite.SeedPasskeys(ctx, db, n, 700, func(done int) { progress = append(progress, done) })
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

	// The indexes dropped for the load are all back, as they were.
	if got := schemaOf(t, db); !slices.Equal(got, schema) {
		t.Errorf("schema after seeding:\n%q\nwant\n%q", got, schema)
	}
	rows, err := db.SQL().QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("PRAGMA foreign_key_check reports a violation")
	}
	rows.Close()

	// Seeding again collides on unique keys and leaves nothing behind.
	if _, err := sqlite.SeedPasskeys(ctx, db, 10, 0, nil); passkeyd.ErrorCodeOf(err) != passkeyd.EConflict {
		t.Errorf("second seed: %v, want a conflict", err)
	}
	if got := storetest.AllPasskeys(t, db, passkeyd.PasskeyFilter{}); len(got) != n {
		t.Errorf("after the failed seed: %d passkeys, want %d", len(got), n)
	}
}

func TestSeedPasskeysNone(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "seed.db"), sqlite.Options{})
	res, err := sqlite.SeedPasskeys(context.Background(), db, 0, 0, nil)
	if err != nil || res.Passkeys != 0 || res.Users != 0 {
		t.Fatalf("SeedPasskeys(0) = %+v, %v", res, err)
	}
	if _, err := sqlite.SeedPasskeys(context.Background(), db, -1, 0, nil); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Errorf("SeedPasskeys(-1): %v, want invalid", err)
	}
}

// schemaOf is every table, index and trigger definition.
func schemaOf(t *testing.T, db *sqlite.DB) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), `SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	if len(out) < 10 {
		t.Fatalf("schema of %d objects", len(out))
	}
	return out
}
