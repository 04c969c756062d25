package main

import (
	"context"
	"database/sql"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/provider"
	"github.com/passkeyd/passkeyd/store/postgres"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

// faultBackend names a database the fault suite runs on; url returns
// database.url ("" is SQLite in the data dir) or skips.
type faultBackend struct {
	name string
	url  func(t *testing.T) string
}

func faultBackends() []faultBackend {
	return []faultBackend{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", postgresURL},
	}
}

// emuClock is the emulator's clock: real time plus an offset the test
// advances, so expiries (tokens, secrets, replication lag) pass at once.
type emuClock struct{ offset atomic.Int64 }

func (c *emuClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *emuClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// faultFront serves the emulator over TLS (as its only address, so token
// scopes and URLs name it) and adds the failures the emulator cannot
// make: connection resets, Retry-After as an HTTP date, and DELETEs held
// before or after Entra ran them.
type faultFront struct {
	emu *entraemu.Emulator
	srv *httptest.Server

	deletes atomic.Int64 // DELETE requests that reached the front

	mu         sync.Mutex
	resets     int       // next DELETEs to hang up on before Entra sees them
	dateUntil  time.Time // when set, the next DELETE gets 429 with this Retry-After date
	holdBefore bool      // DELETEs wait for release, then run
	holdAfter  bool      // DELETEs run, then their answer waits for release
	held       chan string
	release    chan struct{}
	inflight   sync.WaitGroup
}

func newFaultFront(t *testing.T, emu *entraemu.Emulator) *faultFront {
	t.Helper()
	f := &faultFront{emu: emu, held: make(chan string, 64), release: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	f.srv.StartTLS()
	t.Cleanup(func() {
		f.releaseHeld()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *faultFront) url() string { return f.srv.URL }

// caPEM is the certificate passkeyd and the devices must trust.
func (f *faultFront) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
}

// releaseHeld lets every held DELETE go on (once).
func (f *faultFront) releaseHeld() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

func (f *faultFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodDelete {
		f.emu.ServeHTTP(w, r)
		return
	}
	f.deletes.Add(1)
	f.mu.Lock()
	reset := f.resets > 0
	if reset {
		f.resets--
	}
	date := f.dateUntil
	f.dateUntil = time.Time{}
	before, after := f.holdBefore, f.holdAfter
	f.mu.Unlock()
	f.inflight.Add(1)
	defer f.inflight.Done()
	switch {
	case reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
	case !date.IsZero():
		w.Header().Set("Retry-After", date.UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"code":"activityLimitReached","message":"Throttled (date).","innerError":{}}}`)
	case before:
		f.held <- r.URL.Path
		select {
		case <-f.release:
			f.emu.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	case after:
		rec := httptest.NewRecorder()
		f.emu.ServeHTTP(rec, r)
		f.held <- r.URL.Path
		select {
		case <-f.release:
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		case <-r.Context().Done():
		}
	default:
		f.emu.ServeHTTP(w, r)
	}
}

// rawDB reads and (to simulate the passage of time) edits passkeyd's
// database behind its back: River's jobs, the shared throttle, passkey ages.
type rawDB struct {
	lite *sql.DB
	pg   *pgxpool.Pool
}

func rawDBOf(t *testing.T, s storage) rawDB {
	t.Helper()
	switch db := s.Store.(type) {
	case *sqlite.DB:
		return rawDB{lite: db.SQL()}
	case *postgres.DB:
		return rawDB{pg: db.Pool()}
	}
	t.Fatalf("unknown store %T", s.Store)
	return rawDB{}
}

func (d rawDB) exec(ctx context.Context, liteQ, pgQ string) error {
	if d.lite != nil {
		_, err := d.lite.ExecContext(ctx, liteQ)
		return err
	}
	_, err := d.pg.Exec(ctx, pgQ)
	return err
}

func (d rawDB) count(ctx context.Context, q string) (int, error) {
	var n int
	if d.lite != nil {
		return n, d.lite.QueryRowContext(ctx, q).Scan(&n)
	}
	return n, d.pg.QueryRow(ctx, q).Scan(&n)
}

const passkeyJobKinds = `kind IN ('revoke_passkey', 'resolve_passkey')`

// pendingJobs counts revocation and resolution jobs not finished.
func (d rawDB) pendingJobs(ctx context.Context) (int, error) {
	return d.count(ctx, `SELECT count(*) FROM river_job WHERE `+passkeyJobKinds+
		` AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')`)
}

// fastForward simulates the passage of time for the queue: the tenant's
// throttle has expired and every snoozed or backed-off job is due now.
// With age it also makes revoking passkeys older than Graph's settle time
// (the young-404 rule), as if ten minutes had passed.
func (d rawDB) fastForward(ctx context.Context, age bool) error {
	if err := d.exec(ctx, `DELETE FROM throttles`, `DELETE FROM throttles`); err != nil {
		return fmt.Errorf("clear throttles: %w", err)
	}
	if err := d.exec(ctx,
		`UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec', '-1 seconds') WHERE `+passkeyJobKinds+` AND state IN ('scheduled', 'retryable')`,
		`UPDATE river_job SET state = 'available', scheduled_at = now() - interval '1 second' WHERE `+passkeyJobKinds+` AND state IN ('scheduled', 'retryable')`); err != nil {
		return fmt.Errorf("advance jobs: %w", err)
	}
	if !age {
		return nil
	}
	old := time.Now().Add(-11 * time.Minute).UTC().Format(audit.TimeFormat)
	if err := d.exec(ctx,
		`UPDATE passkeys SET created_at = '`+old+`' WHERE state = 'revoking' AND created_at > '`+old+`'`,
		`UPDATE passkeys SET created_at = now() - interval '11 minutes' WHERE state = 'revoking' AND created_at > now() - interval '11 minutes'`); err != nil {
		return fmt.Errorf("age passkeys: %w", err)
	}
	return nil
}

// faultDevice is one user's device and its passkey.
type faultDevice struct {
	upn, deviceID, passkeyID string
}

// faultEnv is an emulator behind a faultFront and a passkeyd (in process
// or a child) with three users, each with one device holding one passkey.
type faultEnv struct {
	emu     *entraemu.Emulator
	clock   *emuClock
	front   *faultFront
	admin   *client.Client
	db      rawDB
	store   passkeyd.Store // nil for a child process
	tenant  string
	devices []faultDevice
}

// newFaultEmulator starts the emulator and its front.
func newFaultEmulator(t *testing.T) (*entraemu.Emulator, *emuClock, *faultFront) {
	t.Helper()
	clock := &emuClock{}
	emu, err := entraemu.New(entraemu.Options{Logger: slog.New(slog.DiscardHandler), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return emu, clock, newFaultFront(t, emu)
}

// newFaultEnv runs passkeyd in process on dbURL.
// prepare, when set, adjusts the emulator before the devices enroll.
func newFaultEnv(t *testing.T, dbURL string, prepare func(*entraemu.Emulator)) *faultEnv {
	t.Helper()
	ctx := context.Background()
	emu, clock, front := newFaultEmulator(t)
	if prepare != nil {
		prepare(emu)
	}
	cfg := defaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Dev = t.TempDir(), "127.0.0.1:0", true
	cfg.Database.URL = dbURL
	cfg.bootstrapToken = string(newDemoToken())
	cfg.Jobs.PollMilliseconds = 100
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop(ctx) })
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(a.url, client.WithToken(passkeyd.Secret(cfg.bootstrapToken)))
	if err != nil {
		t.Fatal(err)
	}
	env := &faultEnv{emu: emu, clock: clock, front: front, admin: admin, db: rawDBOf(t, a.store), store: a.store, tenant: emu.Settings().TenantID}
	env.setUp(t, a.url)
	return env
}

// setUp configures the connector and policy and enrolls one device per
// seeded user through a real provider.
func (e *faultEnv) setUp(t *testing.T, serverURL string) {
	t.Helper()
	ctx := context.Background()
	s := e.emu.Settings()
	sec := passkeyd.Secret(s.ClientSecret)
	if _, err := e.admin.UpdateConnector(ctx, passkeyd.ConnectorUpdate{
		Enabled: true, Cloud: passkeyd.CloudCustom, AuthorityHost: e.front.url(), GraphURL: e.front.url(),
		CACertPEM: string(e.front.caPEM()), TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: &sec,
	}); err != nil {
		t.Fatal(err)
	}
	pol, err := e.admin.Policy(ctx, passkeyd.DefaultPolicyID)
	if err != nil {
		t.Fatal(err)
	}
	pol.EntraPasskey = passkeyd.PolicyRequired
	if _, _, err := e.admin.UpdatePolicy(ctx, *pol); err != nil {
		t.Fatal(err)
	}
	hc := httpClientTrusting(e.front.caPEM())
	for _, eu := range s.Users {
		u, err := e.admin.CreateUser(ctx, passkeyd.User{UPN: eu.UPN})
		if err != nil {
			t.Fatal(err)
		}
		_, code, err := e.admin.CreateInvitation(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := authenticator.Create(filepath.Join(t.TempDir(), "ks"), "test passphrase",
			authenticator.WithScryptParams(authenticator.ScryptParams{LogN: 10, R: 8, P: 1}))
		if err != nil {
			t.Fatal(err)
		}
		prov := provider.New(auth, hc)
		id, err := prov.Register(ctx, serverURL, code, passkeyd.DeviceInfo{Name: "phone of " + eu.UPN})
		if err != nil {
			t.Fatal(err)
		}
		pk, err := prov.Enroll(ctx)
		if err != nil {
			t.Fatalf("enroll %s: %v", eu.UPN, err)
		}
		e.devices = append(e.devices, faultDevice{upn: eu.UPN, deviceID: id, passkeyID: pk.ID})
	}
}

// remove removes devices through the admin API.
func (e *faultEnv) remove(t *testing.T, devs ...faultDevice) {
	t.Helper()
	for _, d := range devs {
		if _, _, err := e.admin.RemoveDevice(context.Background(), d.deviceID); err != nil {
			t.Fatalf("remove %s: %v", d.deviceID, err)
		}
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// passkeyStates counts the passkeys by state.
func (e *faultEnv) passkeyStates(ctx context.Context) (map[passkeyd.PasskeyState]int, []passkeyd.Passkey, error) {
	pks, _, err := e.admin.Passkeys(ctx, passkeyd.PasskeyFilter{Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}})
	if err != nil {
		return nil, nil, err
	}
	n := map[passkeyd.PasskeyState]int{}
	for _, p := range pks {
		n[p.State]++
	}
	return n, pks, nil
}

// drain waits until no passkey is revoking or registering and no
// passkey job is pending; with ff it fast-forwards time on each round
// (fastForward), age included when age is set.
func (e *faultEnv) drain(t *testing.T, ff, age bool) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, 30*time.Second, "the revocation queue to drain", func() (bool, error) {
		n, _, err := e.passkeyStates(ctx)
		if err != nil {
			return false, err
		}
		jobs, err := e.db.pendingJobs(ctx)
		if err != nil {
			return false, err
		}
		if n[passkeyd.PasskeyRevoking]+n[passkeyd.PasskeyRegistering] == 0 && jobs == 0 {
			return true, nil
		}
		if ff {
			return false, e.db.fastForward(ctx, age)
		}
		return false, nil
	})
}

// auditEvents reads the whole audit log.
func (e *faultEnv) auditEvents(t *testing.T) []passkeyd.AuditEvent {
	t.Helper()
	var all []passkeyd.AuditEvent
	for {
		after := int64(0)
		if len(all) > 0 {
			after = all[len(all)-1].Seq
		}
		evs, err := e.admin.AuditEvents(context.Background(), passkeyd.AuditFilter{AfterSeq: after, Limit: passkeyd.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
		if len(evs) < passkeyd.MaxPageSize {
			return all
		}
	}
}

// countActions counts audit events by action for one target.
func countActions(evs []passkeyd.AuditEvent, targetID string) map[string]int {
	n := map[string]int{}
	for _, ev := range evs {
		if ev.TargetID == targetID {
			n[ev.Action]++
		}
	}
	return n
}

// checkInvariants checks I1–I5 after every scenario; failedOutcomes is
// how many passkey.revoke_failed each passkey was meant to record.
func (e *faultEnv) checkInvariants(t *testing.T, failedOutcomes int) {
	t.Helper()
	ctx := context.Background()
	_, pks, err := e.passkeyStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byMethod := map[string]passkeyd.Passkey{}
	for _, p := range pks {
		if p.GraphMethodID != "" {
			byMethod[p.GraphMethodID] = p
		}
	}
	removed := map[string]bool{}
	for _, d := range e.devices {
		dev, err := e.admin.Device(ctx, d.deviceID)
		if err != nil {
			t.Fatal(err)
		}
		removed[d.deviceID] = dev.State != passkeyd.DeviceActive
		methods := e.emu.Methods(e.tenant, d.upn)
		// I1: a removed device leaves nothing in Entra.
		if removed[d.deviceID] && len(methods) != 0 {
			t.Errorf("I1: removed device %s still has %d methods in Entra", d.deviceID, len(methods))
		}
		// I2: every method is passkeyd's, active, on an active device.
		for _, m := range methods {
			p, ok := byMethod[m.ID]
			switch {
			case !ok:
				t.Errorf("I2: method %s of %s is unknown to passkeyd (orphan)", m.ID, d.upn)
			case p.State != passkeyd.PasskeyActive || removed[p.DeviceID]:
				t.Errorf("I2: method %s belongs to passkey %s in state %s (device removed: %v)", m.ID, p.ID, p.State, removed[p.DeviceID])
			}
		}
	}
	// I3: one outcome per revoked passkey.
	evs := e.auditEvents(t)
	for _, p := range pks {
		n := countActions(evs, p.ID)
		wantRevoked := 0
		if p.State == passkeyd.PasskeyRevoked {
			wantRevoked = 1
		}
		if n["passkey.revoked"] != wantRevoked || n["passkey.revoke_failed"] != failedOutcomes {
			t.Errorf("I3: passkey %s (%s) has %d passkey.revoked and %d passkey.revoke_failed, want %d and %d",
				p.ID, p.State, n["passkey.revoked"], n["passkey.revoke_failed"], wantRevoked, failedOutcomes)
		}
	}
	// I4: the audit chain is whole.
	if r, err := e.admin.VerifyAudit(ctx); err != nil || !r.OK {
		t.Errorf("I4: VerifyAudit = %+v, %v", r, err)
	}
	// I5: no job lost.
	if n, err := e.db.count(ctx, `SELECT count(*) FROM river_job WHERE state = 'discarded'`); err != nil || n != 0 {
		t.Errorf("I5: %d discarded jobs (%v)", n, err)
	}
	if n, err := e.db.pendingJobs(ctx); err != nil || n != 0 {
		t.Errorf("I5: %d passkey jobs left pending (%v)", n, err)
	}
}
