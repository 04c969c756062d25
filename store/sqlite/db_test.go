package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
	"github.com/passkeyd/passkeyd/secret"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

var ctx = context.Background()

func ev(action string) passkeyd.AuditEvent {
	return passkeyd.AuditEvent{Actor: "system", Action: action, Outcome: passkeyd.OutcomeSuccess}
}

func verify(t *testing.T, db *sqlite.DB) *passkeyd.AuditReport {
	t.Helper()
	rep, err := audit.Verify(ctx, func(ctx context.Context, after int64, limit int) ([]passkeyd.AuditEvent, error) {
		return db.AuditEvents(ctx, passkeyd.AuditFilter{AfterSeq: after, Limit: limit})
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func TestConcurrentWritersKeepTheChainLinear(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	const workers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				if (w+i)%2 == 0 {
					err = db.AppendAudit(ctx, ev(fmt.Sprintf("w%d.e%d", w, i)), ev("second.of.batch"))
				} else {
					err = db.CreateUser(ctx, &passkeyd.User{UPN: fmt.Sprintf("w%d-u%d@contoso.com", w, i)}, ev("user.created"))
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	rep := verify(t, db)
	appends, creates := 0, 0
	for w := range workers {
		for i := range each {
			if (w+i)%2 == 0 {
				appends++
			} else {
				creates++
			}
		}
	}
	if want := int64(2*appends + creates); !rep.OK || rep.Events != want {
		t.Errorf("report %+v, want OK with %d events", rep, want)
	}
}

func TestSealedSecretIsStoredAsGiven(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, secret.KeySize)
	kr, err := secret.NewKeyring(secret.KeyID(key), key)
	if err != nil {
		t.Fatal(err)
	}
	const plaintext = "PLANTED-client-secret-Xy8Q~0123456789"
	aad := secret.AAD("connectors", passkeyd.ConnectorID, "client_secret")
	sealed, err := kr.Seal([]byte(plaintext), aad)
	if err != nil {
		t.Fatal(err)
	}
	c := &passkeyd.Connector{Cloud: passkeyd.CloudGlobal, HasClientSecret: true, SealedClientSecret: sealed,
		ChallengeTimeoutMinutes: 5, DisplayNameTemplate: "passkeyd {device}"}
	if err := db.PutConnector(ctx, c, ev("connector.updated")); err != nil {
		t.Fatal(err)
	}
	got, err := db.Connector(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := kr.Open(got.SealedClientSecret, aad); err != nil || string(pt) != plaintext {
		t.Errorf("Open(stored) = %q, %v", pt, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Close checkpoints the WAL, so the main file holds everything; read
	// every file of the database anyway.
	files, _ := filepath.Glob(path + "*")
	var raw []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if bytes.Contains(raw, []byte(plaintext)) || bytes.Contains(raw, []byte("PLANTED")) {
		t.Error("the database file holds the plaintext secret")
	}
	if !bytes.Contains(raw, sealed) {
		t.Error("the database file does not hold the sealed bytes as given")
	}
}

// TestMissingEnqueuerFailsTheTransaction: jobs are never dropped silently.
func TestMissingEnqueuerFailsTheTransaction(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	jobs := []passkeyd.Job{{Kind: passkeyd.JobRevokePasskey, PasskeyID: "p1"}}
	p := &passkeyd.Passkey{ID: "p1"}
	// Fixtures up to a passkey in registering, whose update carries jobs.
	u := &passkeyd.User{UPN: "a@contoso.com"}
	if err := db.CreateUser(ctx, u, ev("user.created")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateInvitation(ctx, &passkeyd.Invitation{UserID: u.ID, CodeHash: []byte("c"), ExpiresAt: time.Now().Add(time.Hour)}, ev("invitation.created")); err != nil {
		t.Fatal(err)
	}
	d := &passkeyd.Device{Name: "d", TokenHash: []byte("t")}
	if err := db.RegisterDevice(ctx, []byte("c"), time.Now(), d, ev("device.registered")); err != nil {
		t.Fatal(err)
	}
	e := &passkeyd.Enrollment{UserID: u.ID, DeviceID: d.ID, State: passkeyd.EnrollmentOptionsIssued, ChallengeExpiresAt: time.Now()}
	if err := db.CreateEnrollment(ctx, e, ev("enrollment.created")); err != nil {
		t.Fatal(err)
	}
	p.UserID, p.DeviceID, p.CredentialID = u.ID, d.ID, "cred"
	if err := db.BeginRegistration(ctx, e, p, ev("passkey.registering")); err != nil {
		t.Fatal(err)
	}
	before := verify(t, db).Events

	p.State = passkeyd.PasskeyFailed
	err := db.UpdatePasskey(ctx, p, passkeyd.PasskeyRegistering, ev("passkey.failed"), jobs...)
	if passkeyd.ErrorCodeOf(err) != passkeyd.EInternal || !strings.Contains(passkeyd.ErrorMessage(err), "job queue is not configured") {
		t.Fatalf("UpdatePasskey without an enqueuer: %v, want EInternal saying the queue is not configured", err)
	}
	if got, _ := db.Passkey(ctx, "p1"); got.State != passkeyd.PasskeyRegistering {
		t.Errorf("passkey state %s after the refused update, want registering", got.State)
	}
	if rep := verify(t, db); rep.Events != before {
		t.Errorf("%d events after the refused update, want %d", rep.Events, before)
	}

	var got []passkeyd.Job
	db.SetEnqueuer(func(_ context.Context, tx any, js []passkeyd.Job) error {
		if tx == nil {
			return errors.New("no transaction")
		}
		got = append(got, js...)
		return nil
	})
	if err := db.UpdatePasskey(ctx, p, passkeyd.PasskeyRegistering, ev("passkey.failed"), jobs...); err != nil {
		t.Fatalf("UpdatePasskey after SetEnqueuer: %v", err)
	}
	if len(got) != 1 || got[0] != jobs[0] {
		t.Errorf("enqueued %+v, want %+v", got, jobs)
	}
}

func TestPragmasAndSchema(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	pragmas := map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "10000",
	}
	for name, want := range pragmas {
		var got string
		if err := db.SQL().QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	if n := db.SQL().Stats().MaxOpenConnections; n != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", n)
	}
	var river int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'river\_%' ESCAPE '\'`).Scan(&river); err != nil {
		t.Fatal(err)
	}
	if river != 0 {
		t.Errorf("%d river_* objects created by the store; the queue owns that prefix", river)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db := open(t, path, sqlite.Options{})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	again := open(t, path, sqlite.Options{})
	ps, err := again.Policies(ctx)
	if err != nil || len(ps) != 1 {
		t.Errorf("Policies after reopening = %+v, %v; want the default policy once", ps, err)
	}
	var versions int
	if err := again.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != sqlite.SchemaVersion() {
		t.Errorf("%d migrations recorded, want %d", versions, sqlite.SchemaVersion())
	}

	// A database from a newer build is refused.
	if _, err := again.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(ctx, path, sqlite.Options{}); passkeyd.ErrorCodeOf(err) != passkeyd.EUnavailable {
		t.Errorf("Open of a newer schema: %v, want EUnavailable", err)
	}
}

func TestOpenRejectsDSNCharacters(t *testing.T) {
	for _, p := range []string{"", "a?mode=ro", "a#b"} {
		if _, err := sqlite.Open(ctx, p, sqlite.Options{}); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestInjectedClock(t *testing.T) {
	now := time.Date(2031, 5, 6, 7, 8, 9, 987654321, time.UTC)
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{Now: func() time.Time { return now }})
	u := &passkeyd.User{UPN: "a@contoso.com"}
	if err := db.CreateUser(ctx, u, ev("user.created")); err != nil {
		t.Fatal(err)
	}
	want := now.Truncate(time.Microsecond)
	got, err := db.User(ctx, u.ID)
	if err != nil || !got.CreatedAt.Equal(want) || !u.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v (returned %v), want %v", got.CreatedAt, u.CreatedAt, want)
	}
	evs, err := db.AuditEvents(ctx, passkeyd.AuditFilter{})
	if err != nil || len(evs) != 1 || !evs[0].Time.Equal(want) {
		t.Errorf("audit time = %+v, %v; want %v", evs, err, want)
	}
}

func TestConflictMessagesHoldNoSQL(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err := db.CreateUser(ctx, &passkeyd.User{UPN: "a@contoso.com"}, ev("user.created")); err != nil {
		t.Fatal(err)
	}
	err := db.CreateUser(ctx, &passkeyd.User{UPN: "A@contoso.com"}, ev("user.created"))
	msg := passkeyd.ErrorMessage(err)
	if msg != "a user with this UPN already exists" {
		t.Errorf("message %q", msg)
	}
	if !strings.Contains(err.Error(), "UNIQUE") {
		t.Errorf("error %q lost the database cause (kept for logs)", err)
	}
	var pe *passkeyd.Error
	if !errors.As(err, &pe) || pe.Op != "sqlite.CreateUser" {
		t.Errorf("error %#v, want Op sqlite.CreateUser", err)
	}
}

// TestTamperingIsDetected plays an attacker with write access to the
// file: the append-only triggers stop casual edits, and once dropped, the
// chain names the edited record.
func TestTamperingIsDetected(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	for i := range 5 {
		if err := db.AppendAudit(ctx, ev(fmt.Sprintf("e.%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_events SET actor = 'x' WHERE seq = 3`); err == nil ||
		!strings.Contains(err.Error(), "append-only") {
		t.Fatalf("UPDATE of an audit event: %v, want refused as append-only", err)
	}
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit_events WHERE seq = 3`); err == nil {
		t.Fatal("DELETE of an audit event succeeded")
	}
	if _, err := db.SQL().ExecContext(ctx, `DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;
		UPDATE audit_events SET actor = 'attacker' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, db); rep.OK || rep.FirstBadSeq != 3 || !strings.HasPrefix(rep.Problem, audit.ProblemHashMismatch) {
		t.Errorf("report %+v, want hash mismatch at seq 3", rep)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_events SET actor = 'system' WHERE seq = 3; DELETE FROM audit_events WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, db); rep.OK || rep.FirstBadSeq != 3 || !strings.HasPrefix(rep.Problem, audit.ProblemSequenceGap) {
		t.Errorf("report %+v, want sequence gap at seq 3", rep)
	}
}

// Inventory pages filter on one column and order by id: each filter must
// be served by an index in id order, never by sorting every match (at a
// million passkeys a sort made a page of active passkeys take 384 ms).
// (A device's few passkeys may be sorted.)
func TestInventoryQueriesNeedNoSort(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	for _, col := range []string{"state", "aaguid", "user_id"} {
		q := `EXPLAIN QUERY PLAN SELECT id FROM passkeys WHERE id > ? AND ` + col + ` = ? ORDER BY id LIMIT 100`
		rows, err := db.SQL().QueryContext(ctx, q, "", "x")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if strings.Contains(all, "TEMP B-TREE") || !strings.Contains(all, "INDEX passkeys_"+col) {
			t.Errorf("filter on %s: plan %q; want an index search in id order", col, all)
		}
	}
}

// Every claim of an Idempotency-Key deletes the expired keys first; that
// must be an index range, not a scan of a day's keys on every request.
func TestIdempotencyExpiryUsesIndex(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	var id, parent, unused int
	var detail string
	err := db.SQL().QueryRowContext(ctx, `EXPLAIN QUERY PLAN DELETE FROM idempotency_keys WHERE created_at < ?`, "x").
		Scan(&id, &parent, &unused, &detail)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "SEARCH idempotency_keys USING INDEX idempotency_keys_created_at") {
		t.Errorf("plan %q; want a search of idempotency_keys_created_at", detail)
	}
}
