package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

// synchronous reads the writer connection's PRAGMA synchronous (2 is FULL).
func synchronous(t *testing.T, db *sqlite.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An enrollment's options are committed without fsync; the shared writer
// connection must be back to FULL afterwards, whether the write succeeded,
// failed or its context was cancelled, and the record must be there.
func TestLazyEnrollmentWriteRestoresFullSync(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	u := &passkeyd.User{UPN: "ada@contoso.com"}
	if err := db.CreateUser(ctx, u, ev("user.created")); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	inv := &passkeyd.Invitation{UserID: u.ID, CodeHash: []byte("code"), ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateInvitation(ctx, inv, ev("invitation.created")); err != nil {
		t.Fatal(err)
	}
	d := &passkeyd.Device{Name: "Phone", TokenHash: []byte("tok")}
	if err := db.RegisterDevice(ctx, []byte("code"), now, d, ev("device.registered")); err != nil {
		t.Fatal(err)
	}

	en := &passkeyd.Enrollment{UserID: u.ID, DeviceID: d.ID, State: passkeyd.EnrollmentOptionsIssued,
		ChallengeExpiresAt: now.Add(5 * time.Minute), ChallengeDigest: "chal", RPID: "login.microsoft.com"}
	if err := db.CreateEnrollment(ctx, en, ev("enrollment.created")); err != nil {
		t.Fatalf("CreateEnrollment: %v", err)
	}
	if got, err := db.Enrollment(ctx, en.ID); err != nil || got.ChallengeDigest != "chal" {
		t.Fatalf("Enrollment = %+v, %v", got, err)
	}
	if n := synchronous(t, db); n != 2 {
		t.Errorf("after a lazy write synchronous = %d, want 2 (FULL)", n)
	}

	err := db.CreateEnrollment(ctx, &passkeyd.Enrollment{UserID: u.ID, DeviceID: "nope",
		State: passkeyd.EnrollmentOptionsIssued, ChallengeExpiresAt: now}, ev("enrollment.created"))
	if passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
		t.Fatalf("CreateEnrollment(unknown device) = %v, want %s", err, passkeyd.ENotFound)
	}
	if n := synchronous(t, db); n != 2 {
		t.Errorf("after a failed lazy write synchronous = %d, want 2 (FULL)", n)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.CreateEnrollment(cctx, &passkeyd.Enrollment{UserID: u.ID, DeviceID: d.ID,
		State: passkeyd.EnrollmentOptionsIssued, ChallengeExpiresAt: now}, ev("enrollment.created")); err == nil {
		t.Fatal("CreateEnrollment with a cancelled context succeeded")
	}
	if n := synchronous(t, db); n != 2 {
		t.Errorf("after a cancelled lazy write synchronous = %d, want 2 (FULL)", n)
	}
	if rep := verify(t, db); !rep.OK {
		t.Errorf("audit chain after lazy writes: %+v", rep)
	}
}

// The statement cache must not hand out a statement whose rows are still
// open: the same query nested inside its own iteration reads correctly.
func TestCachedStatementNestedInItsOwnRows(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	w := db.SQL()
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3);`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT n FROM t WHERE n >= ? ORDER BY n`
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, n)
		var m int
		if err := tx.QueryRowContext(ctx, q, n).Scan(&m); err != nil {
			t.Fatal(err)
		}
		inner = append(inner, m)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(outer) != 3 || outer[2] != 3 || len(inner) != 3 || inner[0] != 1 || inner[2] != 3 {
		t.Errorf("outer %v, inner %v; want [1 2 3] twice", outer, inner)
	}
	// And the cached statement is reusable afterwards, with new arguments.
	var n int
	if err := tx.QueryRowContext(ctx, q, 2).Scan(&n); err != nil || n != 2 {
		t.Errorf("reuse after close: %d, %v; want 2", n, err)
	}
	// A failed statement leaves the cached one usable.
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?)`, "x"); err != nil {
		t.Logf("insert of text into an untyped-affinity column: %v", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO missing VALUES (?)`, 1); err == nil {
		t.Error("insert into a missing table succeeded")
	}
	if err := tx.QueryRowContext(ctx, q, 3).Scan(&n); err != nil || n != 3 {
		t.Errorf("after a failed statement: %d, %v; want 3", n, err)
	}
}
