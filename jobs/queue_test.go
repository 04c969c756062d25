package jobs_test

import (
	"context"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/graph"
	"github.com/passkeyd/passkeyd/jobs"
	"github.com/passkeyd/passkeyd/manager"
	"github.com/passkeyd/passkeyd/secret"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

// openStore opens a SQLite store with River's tables.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := jobs.MigrateSQLite(ctx, db.SQL()); err != nil {
		t.Fatalf("MigrateSQLite: %v", err)
	}
	return db
}

// startQueue starts a queue with a short poll interval, stopped at cleanup.
func startQueue(t *testing.T, db *sqlite.DB, r jobs.Revoker) *jobs.Queue {
	t.Helper()
	q, err := jobs.NewSQLite(db.SQL(), jobs.Config{Revoker: r, PollInterval: 50 * time.Millisecond, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	db.SetEnqueuer(q.Enqueue)
	return q
}

func run(t *testing.T, q *jobs.Queue) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := q.Stop(sctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		cancel()
	})
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after 10 s", what, state)
		}
		<-tick.C
	}
}

// TestRemoveDeviceRevokesThroughTheQueue runs the real manager, Graph
// client and emulator: removing a device enqueues the revocation in the
// same transaction, and the worker deletes the method from Entra.
func TestRemoveDeviceRevokesThroughTheQueue(t *testing.T) {
	ctx := context.Background()
	admin := passkeyd.WithActor(ctx, passkeyd.Actor{Kind: "token", ID: "admin1", Role: passkeyd.RoleAdmin})
	emu, err := entraemu.New(entraemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(emu)
	t.Cleanup(srv.Close)
	set := emu.Settings()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	db := openStore(t)
	key := make([]byte, 32)
	kr, err := secret.NewKeyring(secret.KeyID(key), key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Config{Store: db, Sealer: kr, NewGraph: func(gc passkeyd.GraphConfig) (passkeyd.GraphClient, error) {
		return graph.New(gc)
	}})
	if err != nil {
		t.Fatal(err)
	}
	q := startQueue(t, db, m)

	sec := passkeyd.Secret(set.ClientSecret)
	if _, err := m.UpdateConnector(admin, passkeyd.ConnectorUpdate{Enabled: true, Cloud: passkeyd.CloudCustom, AuthorityHost: srv.URL, GraphURL: srv.URL,
		CACertPEM: string(ca), TenantID: set.TenantID, ClientID: set.ClientID, ClientSecret: &sec, ChallengeTimeoutMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.UpdatePolicy(admin, passkeyd.Policy{ID: passkeyd.DefaultPolicyID, Name: "Default", EntraPasskey: passkeyd.PolicyRequired}); err != nil {
		t.Fatal(err)
	}
	u, err := m.CreateUser(admin, passkeyd.User{UPN: set.Users[0].UPN, EntraObjectID: set.Users[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := m.CreateInvitation(admin, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := m.RegisterDevice(ctx, code, passkeyd.DeviceInfo{Name: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	dctx := passkeyd.WithActor(ctx, passkeyd.Actor{Kind: "device", ID: d.ID})
	eo, err := m.BeginEnrollment(dctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	at, err := authenticator.New().MakeCredential(eo.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := m.FinishEnrollment(dctx, d.ID, eo.EnrollmentID, at.Credential())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(emu.Methods(set.TenantID, set.Users[0].ID)); n != 1 {
		t.Fatalf("%d methods after enrollment", n)
	}

	if _, _, err := m.RemoveDevice(admin, d.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'revoke_passkey'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("river_job holds %d revocation jobs (%v), want 1 committed with the removal", n, err)
	}
	run(t, q)
	eventually(t, "passkey revocation", func() (bool, string) {
		got, err := m.Passkey(admin, pk.ID)
		if err != nil {
			return false, err.Error()
		}
		return got.State == passkeyd.PasskeyRevoked, string(got.State)
	})
	if n := len(emu.Methods(set.TenantID, set.Users[0].ID)); n != 0 {
		t.Errorf("%d methods left at the emulator", n)
	}
	eventually(t, "job completion", func() (bool, string) { return jobState(t, db.SQL()) == "completed", jobState(t, db.SQL()) })
}

// fakeRevoker is a Revoker whose behaviour each test sets.
type fakeRevoker struct {
	mu    sync.Mutex
	calls []string
	fn    func(id string) error
}

func (f *fakeRevoker) RevokePasskey(_ context.Context, id string) error {
	f.mu.Lock()
	f.calls = append(f.calls, id)
	fn := f.fn
	f.mu.Unlock()
	return fn(id)
}

func (f *fakeRevoker) called() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// enqueue inserts one revocation job in its own transaction.
func enqueue(t *testing.T, db *sql.DB, q *jobs.Queue, id string) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, tx, []passkeyd.Job{{Kind: passkeyd.JobRevokePasskey, PasskeyID: id}}); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func jobState(t *testing.T, db *sql.DB) string {
	t.Helper()
	var state string
	if err := db.QueryRowContext(context.Background(), `SELECT state FROM river_job`).Scan(&state); err != nil {
		t.Fatalf("river_job: %v", err)
	}
	return state
}

func TestWorkerOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		result    error
		wantState string
		wantCalls int
		// minDelay and maxDelay bound when a snoozed job runs next.
		minDelay, maxDelay time.Duration
	}{
		{name: "done", result: nil, wantState: "completed", wantCalls: 1},
		// A transient error is retried after the first backoff (at most
		// 1 s); River keeps a job due that soon "available".
		{name: "transient error", result: errors.New("graph delete: HTTP 500"), wantCalls: 2},
		{name: "retry later snoozes", result: &passkeyd.RetryLater{After: time.Hour, Reason: "throttled"}, wantState: "scheduled", wantCalls: 1,
			minDelay: 55 * time.Minute, maxDelay: 65 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openStore(t)
			r := &fakeRevoker{fn: func(string) error { return tt.result }}
			q := startQueue(t, db, r)
			enqueue(t, db.SQL(), q, "pk1")
			start := time.Now()
			run(t, q)
			eventually(t, "job outcome", func() (bool, string) {
				s := jobState(t, db.SQL())
				return r.called() >= tt.wantCalls && (tt.wantState == "" || s == tt.wantState), s
			})
			r.mu.Lock()
			calls := append([]string(nil), r.calls...)
			r.mu.Unlock()
			if len(calls) != tt.wantCalls || calls[0] != "pk1" {
				t.Errorf("revoker calls %v, want pk1 %d times", calls, tt.wantCalls)
			}
			if tt.maxDelay == 0 {
				return
			}
			var next sql.NullTime
			if err := db.SQL().QueryRow(`SELECT scheduled_at FROM river_job`).Scan(&next); err != nil {
				t.Fatal(err)
			}
			if d := next.Time.Sub(start); d < tt.minDelay || d > tt.maxDelay {
				t.Errorf("next run in %v, want between %v and %v", d, tt.minDelay, tt.maxDelay)
			}
		})
	}
}

func TestEnqueueRefusesBadInput(t *testing.T) {
	db := openStore(t)
	q := startQueue(t, db, &fakeRevoker{fn: func(string) error { return nil }})
	if err := q.Enqueue(context.Background(), "not a tx", []passkeyd.Job{{Kind: passkeyd.JobRevokePasskey, PasskeyID: "p"}}); err == nil {
		t.Error("Enqueue accepted a non-*sql.Tx")
	}
	tx, err := db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := q.Enqueue(context.Background(), tx, []passkeyd.Job{{Kind: "mystery", PasskeyID: "p"}}); err == nil {
		t.Error("Enqueue accepted an unknown job kind")
	}
	if err := q.Enqueue(context.Background(), tx, nil); err != nil {
		t.Errorf("Enqueue of no jobs: %v", err)
	}
	if _, err := jobs.NewSQLite(db.SQL(), jobs.Config{}); err == nil {
		t.Error("NewSQLite accepted a config without a Revoker")
	}
}

// fakeReconciler counts periodic reconciliations.
type fakeReconciler struct {
	mu sync.Mutex
	n  int
}

func (f *fakeReconciler) Reconcile(ctx context.Context, userID string) (*passkeyd.DriftReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if userID != "" || passkeyd.ActorFrom(ctx) != passkeyd.SystemActor {
		return nil, errors.New("periodic reconciliation must cover every user as the system")
	}
	f.n++
	return &passkeyd.DriftReport{}, nil
}

func TestPeriodicReconciliation(t *testing.T) {
	db := openStore(t)
	rec := &fakeReconciler{}
	q, err := jobs.NewSQLite(db.SQL(), jobs.Config{Revoker: &fakeRevoker{fn: func(string) error { return nil }},
		Reconciler: rec, ReconcileEvery: 200 * time.Millisecond, PollInterval: 50 * time.Millisecond, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	run(t, q)
	eventually(t, "two reconciliations", func() (bool, string) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.n >= 2, fmt.Sprintf("%d runs", rec.n)
	})
}
