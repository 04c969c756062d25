package sqlite_test

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"slices"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

// TestSeedPasskeys: the benchmark's seeded inventory is what the store's
// own read methods expect — every passkey listed once in ID order, each
// with its user, device and completed enrollment, the filters and
// cursors working, foreign keys intact, and the store still usable.
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

	all := listPasskeys(t, db, passkeyd.PasskeyFilter{})
	if len(all) != n {
		t.Fatalf("Passkeys lists %d, want %d", len(all), n)
	}
	creds := map[string]bool{}
	for i, p := range all {
		if i > 0 && (p.ID <= all[i-1].ID || p.CreatedAt.Before(all[i-1].CreatedAt)) {
			t.Fatalf("passkey %d (%s, %v) is not after %s (%v): IDs must follow creation", i, p.ID, p.CreatedAt, all[i-1].ID, all[i-1].CreatedAt)
		}
		if p.State != passkeyd.PasskeyActive || p.GraphMethodID == "" || p.AttestationLevel == "" || !passkeyd.IsGUID(p.AAGUID) {
			t.Fatalf("passkey %+v: want active with a method ID, attestation level and AAGUID", p)
		}
		if b, err := base64.RawURLEncoding.DecodeString(p.CredentialID); err != nil || len(b) != 32 {
			t.Fatalf("credential ID %q: %d bytes, %v; want 32 in base64url", p.CredentialID, len(b), err)
		}
		if creds[p.CredentialID] {
			t.Fatalf("credential ID %s repeats", p.CredentialID)
		}
		creds[p.CredentialID] = true
		if !p.CreatedAt.Before(time.Now()) || p.UpdatedAt.Before(p.CreatedAt) {
			t.Fatalf("passkey %s created %v, updated %v", p.ID, p.CreatedAt, p.UpdatedAt)
		}
	}

	// One user with two devices, one passkey each.
	devs, err := db.Devices(ctx, passkeyd.DeviceFilter{UserID: res.UserID})
	if err != nil || len(devs) != 2 || devs[0].ID != res.DeviceID || devs[0].State != passkeyd.DeviceActive {
		t.Fatalf("Devices(user %s) = %+v, %v; want two active, the first %s", res.UserID, devs, err, res.DeviceID)
	}
	if got := listPasskeys(t, db, passkeyd.PasskeyFilter{UserID: res.UserID}); len(got) != 2 {
		t.Errorf("the user's passkeys: %d, want 2", len(got))
	}
	got := listPasskeys(t, db, passkeyd.PasskeyFilter{DeviceID: res.DeviceID})
	if len(got) != 1 || got[0].ID != res.PasskeyID || got[0].CredentialID != res.CredentialID {
		t.Fatalf("the device's passkeys: %+v, want %s with credential %s", got, res.PasskeyID, res.CredentialID)
	}
	p, err := db.Passkey(ctx, res.PasskeyID)
	if err != nil || p.CredentialID != res.CredentialID || p.UserID != res.UserID {
		t.Fatalf("Passkey(%s) = %+v, %v", res.PasskeyID, p, err)
	}
	e, err := db.Enrollment(ctx, p.EnrollmentID)
	if err != nil || e.State != passkeyd.EnrollmentCompleted || e.PasskeyID != p.ID || e.DeviceID != p.DeviceID {
		t.Fatalf("Enrollment(%s) = %+v, %v; want completed for the passkey", p.EnrollmentID, e, err)
	}
	u, err := db.User(ctx, res.UserID)
	if err != nil || !passkeyd.IsGUID(u.EntraObjectID) || u.PolicyID != "" {
		t.Fatalf("User(%s) = %+v, %v", res.UserID, u, err)
	}
	if byUPN, err := db.UserByUPN(ctx, u.UPN); err != nil || byUPN.ID != u.ID {
		t.Fatalf("UserByUPN(%s) = %+v, %v", u.UPN, byUPN, err)
	}
	if users := listUsers(t, db); users != res.Users {
		t.Errorf("Users lists %d, want %d", users, res.Users)
	}

	// Filters and cursors.
	if got := listPasskeys(t, db, passkeyd.PasskeyFilter{AAGUID: res.RareAAGUID}); len(got) != n/1000 {
		t.Errorf("rare AAGUID: %d passkeys, want %d", len(got), n/1000)
	}
	if got := len(listPasskeys(t, db, passkeyd.PasskeyFilter{AAGUID: res.CommonAAGUID})); got < n/2 || got > n*7/10 {
		t.Errorf("common AAGUID: %d passkeys of %d, want about 60 %%", got, n)
	}
	if got := listPasskeys(t, db, passkeyd.PasskeyFilter{Page: passkeyd.Page{Cursor: res.MidPasskeyID}}); len(got) != n-n/2-1 {
		t.Errorf("after the middle passkey: %d, want %d", len(got), n-n/2-1)
	}
	if got := listPasskeys(t, db, passkeyd.PasskeyFilter{State: passkeyd.PasskeyRevoking}); len(got) != 0 {
		t.Errorf("%d revoking passkeys, want none", len(got))
	}

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
	if evs, err := db.AuditEvents(ctx, passkeyd.AuditFilter{}); err != nil || len(evs) != 0 {
		t.Errorf("audit events after seeding: %d, %v; want none", len(evs), err)
	}

	// Seeding again collides on unique keys and leaves nothing behind.
	if _, err := sqlite.SeedPasskeys(ctx, db, 10, 0, nil); passkeyd.ErrorCodeOf(err) != passkeyd.EConflict {
		t.Errorf("second seed: %v, want a conflict", err)
	}
	if got := listPasskeys(t, db, passkeyd.PasskeyFilter{}); len(got) != n {
		t.Errorf("after the failed seed: %d passkeys, want %d", len(got), n)
	}
	// The store's own IDs (UUIDv7, now) sort after every seeded one.
	nu := &passkeyd.User{UPN: "new@contoso.com"}
	if err := db.CreateUser(ctx, nu, ev("user.created")); err != nil {
		t.Fatal(err)
	}
	us, err := db.Users(ctx, passkeyd.UserFilter{Page: passkeyd.Page{Cursor: res.UserID, Limit: passkeyd.MaxPageSize}})
	if err != nil || len(us) == 0 || us[len(us)-1].ID != nu.ID {
		t.Errorf("a new user is not listed last: %v", err)
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

// listPasskeys pages through every passkey matching f.
func listPasskeys(t *testing.T, db *sqlite.DB, f passkeyd.PasskeyFilter) []passkeyd.Passkey {
	t.Helper()
	var out []passkeyd.Passkey
	f.Limit = passkeyd.MaxPageSize
	for {
		ps, err := db.Passkeys(context.Background(), f)
		if err != nil {
			t.Fatalf("Passkeys(%+v): %v", f, err)
		}
		out = append(out, ps...)
		if len(ps) < f.Limit {
			return out
		}
		f.Cursor = ps[len(ps)-1].ID
	}
}

// listUsers counts every user.
func listUsers(t *testing.T, db *sqlite.DB) int {
	t.Helper()
	n := 0
	f := passkeyd.UserFilter{Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	for {
		us, err := db.Users(context.Background(), f)
		if err != nil {
			t.Fatalf("Users: %v", err)
		}
		n += len(us)
		if len(us) < f.Limit {
			return n
		}
		f.Cursor = us[len(us)-1].ID
	}
}
