package manager_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/graph"
	"github.com/passkeyd/passkeyd/manager"
)

// enrolledAndRemoved enrolls a passkey on a new device and removes the
// device; the passkey is then revoking.
func enrolledAndRemoved(t *testing.T, v *testEnv) *passkeyd.Passkey {
	t.Helper()
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	pk := v.enroll(t, d)
	rd, pks, err := v.m.RemoveDevice(v.admin, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rd.State != passkeyd.DeviceRemoved || len(pks) != 1 || pks[0].ID != pk.ID || pks[0].State != passkeyd.PasskeyRevoking {
		t.Fatalf("RemoveDevice = %+v, %+v", rd, pks)
	}
	jobs := v.jobs.all()
	if len(jobs) != 1 || jobs[0] != (passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: pk.ID}) {
		t.Fatalf("enqueued jobs %+v", jobs)
	}
	return pk
}

func TestRevokePasskey(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, v *testEnv, pk *passkeyd.Passkey)
		wantErr   string // "", "retry" or "error"
		retry     time.Duration
		wantState passkeyd.PasskeyState
		wantMeth  int    // methods left at the emulator
		audit     string // action of the last audit event
		reason    string // part of LastError
	}{
		{name: "deleted", wantState: passkeyd.PasskeyRevoked, audit: "passkey.revoked"},
		{name: "already gone (404)", setup: func(t *testing.T, v *testEnv, pk *passkeyd.Passkey) {
			g, err := graph.New(passkeyd.GraphConfig{AuthorityHost: v.url, GraphURL: v.url, TenantID: v.set.TenantID, ClientID: v.set.ClientID,
				ClientSecret: passkeyd.Secret(v.set.ClientSecret), RootCAsPEM: []byte(v.caPEM)})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.DeleteMethod(context.Background(), v.set.Users[0].ID, pk.GraphMethodID); err != nil {
				t.Fatal(err)
			}
			// Old enough that Graph's 404 is believed (see TestReplicationLag).
			v.clk.Advance(11 * time.Minute)
		}, wantState: passkeyd.PasskeyRevoked, audit: "passkey.revoked"},
		{name: "throttled", setup: fault(entraemu.Fault{Op: entraemu.OpDelete, Status: 429, RetryAfter: 7 * time.Second, Count: 1}),
			wantErr: "retry", retry: 7 * time.Second, wantState: passkeyd.PasskeyRevoking, wantMeth: 1, audit: "passkey.revoke_throttled"},
		{name: "forbidden", setup: fault(entraemu.Fault{Op: entraemu.OpDelete, Status: 403, Count: 1}),
			wantState: passkeyd.PasskeyRevokeFailed, wantMeth: 1, audit: "passkey.revoke_failed", reason: "HTTP 403"},
		{name: "transient 500", setup: fault(entraemu.Fault{Op: entraemu.OpDelete, Status: 500, Count: 1}),
			wantErr: "error", wantState: passkeyd.PasskeyRevoking, wantMeth: 1, audit: "passkey.revoke_attempt_failed"},
		{name: "connector disabled", setup: func(t *testing.T, v *testEnv, _ *passkeyd.Passkey) {
			u := v.connectorUpdate(v.set.ClientSecret)
			u.Enabled, u.ClientSecret = false, nil
			if _, err := v.m.UpdateConnector(v.admin, u); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "retry", retry: 5 * time.Minute, wantState: passkeyd.PasskeyRevoking, wantMeth: 1, audit: "connector.updated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestManager(t)
			pk := enrolledAndRemoved(t, v)
			if tt.setup != nil {
				tt.setup(t, v, pk)
			}
			err := v.m.RevokePasskey(context.Background(), pk.ID)
			var rl *passkeyd.RetryLater
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("RevokePasskey: %v", err)
				}
			case "retry":
				if !errors.As(err, &rl) || rl.After != tt.retry {
					t.Fatalf("RevokePasskey = %v, want RetryLater after %v", err, tt.retry)
				}
			case "error":
				if err == nil || errors.As(err, &rl) {
					t.Fatalf("RevokePasskey = %v, want a plain error for the queue's backoff", err)
				}
			}
			got := v.passkey(t, pk.ID)
			if got.State != tt.wantState || !strings.Contains(got.LastError, tt.reason) {
				t.Errorf("passkey state %q last_error %q, want %q with %q", got.State, got.LastError, tt.wantState, tt.reason)
			}
			if (got.State == passkeyd.PasskeyRevoked) != (got.RevokedAt != nil) {
				t.Errorf("state %s with revoked_at %v", got.State, got.RevokedAt)
			}
			if n := len(v.methods()); n != tt.wantMeth {
				t.Errorf("%d methods at the emulator, want %d", n, tt.wantMeth)
			}
			evs := v.auditEvents(t, "")
			last := evs[len(evs)-1]
			if last.Action != tt.audit {
				t.Errorf("last audit event %q, want %q", last.Action, tt.audit)
			}
			if strings.HasPrefix(tt.audit, "passkey.") && (last.ClientRequestID == "" || last.Actor != "system") {
				t.Errorf("audit event %+v lacks client_request_id or system actor", last)
			}

			// Idempotent: once settled, running the job again changes nothing.
			if tt.wantErr == "" {
				calls := v.emu.Stats().GraphCalls[entraemu.OpDelete]
				if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
					t.Errorf("second run: %v", err)
				}
				if v.emu.Stats().GraphCalls[entraemu.OpDelete] != calls {
					t.Error("second run called Graph")
				}
			}
		})
	}
}

func fault(f entraemu.Fault) func(*testing.T, *testEnv, *passkeyd.Passkey) {
	return func(t *testing.T, v *testEnv, _ *passkeyd.Passkey) {
		t.Helper()
		if err := v.emu.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRevokePasskeyNoOps(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	pk := v.enroll(t, v.newDevice(t))
	if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Errorf("active passkey: %v", err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyActive {
		t.Errorf("an active passkey became %s", got.State)
	}
	if err := v.m.RevokePasskey(context.Background(), "no-such-passkey"); err != nil {
		t.Errorf("unknown passkey: %v", err)
	}
	if n := v.emu.Stats().GraphCalls[entraemu.OpDelete]; n != 0 || len(v.methods()) != 1 {
		t.Errorf("%d delete calls, %d methods", n, len(v.methods()))
	}
}

// inFlight starts an enrollment whose Graph create blocks until release
// is closed, removes the device meanwhile, and returns the passkey and a
// function that releases the create and waits for FinishEnrollment.
func inFlight(t *testing.T, v *testEnv, f *entraemu.Fault) (pk *passkeyd.Passkey, release func() error) {
	t.Helper()
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	eo, cred := v.begin(t, d)
	started, proceed := make(chan struct{}), make(chan struct{})
	v.mu.Lock()
	v.beforeCreate = func() { close(started); <-proceed }
	v.mu.Unlock()
	var wg sync.WaitGroup
	var finishErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, finishErr = v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	}()
	<-started
	_, pks, err := v.m.RemoveDevice(v.admin, d.ID)
	if err != nil || len(pks) != 1 || pks[0].State != passkeyd.PasskeyRevoking || pks[0].GraphMethodID != "" {
		close(proceed)
		wg.Wait()
		t.Fatalf("RemoveDevice during registration = %+v, %v", pks, err)
	}
	if f != nil {
		if err := v.emu.InjectFault(*f); err != nil {
			t.Fatal(err)
		}
	}
	return &pks[0], func() error { close(proceed); wg.Wait(); return finishErr }
}

func TestDeviceRemovedDuringRegistration(t *testing.T) {
	t.Run("created: method handed over and revoked", func(t *testing.T) {
		v := newTestManager(t)
		pk, release := inFlight(t, v, nil)
		// While the create is in flight the job waits for it.
		var rl *passkeyd.RetryLater
		if err := v.m.RevokePasskey(context.Background(), pk.ID); !errors.As(err, &rl) || rl.After != 30*time.Second {
			t.Fatalf("RevokePasskey in flight = %v, want RetryLater 30s", err)
		}
		wantCode(t, release(), passkeyd.EGone)
		got := v.passkey(t, pk.ID)
		if got.State != passkeyd.PasskeyRevoking || got.GraphMethodID == "" {
			t.Fatalf("after the create: %+v, want revoking with the method ID", got)
		}
		if e := v.enrollment(t, got.EnrollmentID); e.State != passkeyd.EnrollmentFailed {
			t.Errorf("enrollment %q, want failed", e.State)
		}
		if n := len(v.methods()); n != 1 {
			t.Fatalf("%d methods before revocation", n)
		}
		if jobs := v.jobs.all(); len(jobs) != 2 || jobs[1].PasskeyID != pk.ID {
			t.Errorf("jobs %+v, want a second revocation job with the method ID", jobs)
		}
		if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
			t.Fatal(err)
		}
		if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoked {
			t.Errorf("state %s, want revoked", got.State)
		}
		if n := len(v.methods()); n != 0 {
			t.Errorf("%d methods left at the emulator", n)
		}
		if rep, err := v.m.VerifyAudit(v.admin); err != nil || !rep.OK {
			t.Errorf("VerifyAudit = %+v, %v", rep, err)
		}
	})

	t.Run("rejected: nothing to delete", func(t *testing.T) {
		v := newTestManager(t)
		pk, release := inFlight(t, v, &entraemu.Fault{Op: entraemu.OpCreate, Status: 400, Count: 1})
		wantCode(t, release(), passkeyd.EGone)
		if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
			t.Fatal(err)
		}
		got := v.passkey(t, pk.ID)
		if got.State != passkeyd.PasskeyRevoked || got.GraphMethodID != "" {
			t.Errorf("passkey %+v, want revoked without a method", got)
		}
		if n := v.emu.Stats().GraphCalls[entraemu.OpDelete]; n != 0 {
			t.Errorf("%d delete calls for a method that never existed", n)
		}
	})

	t.Run("outcome unknown: found in Entra and deleted after the grace period", func(t *testing.T) {
		v := newTestManager(t)
		pk, release := inFlight(t, v, &entraemu.Fault{Op: entraemu.OpCreate, Status: 500, AfterHandler: true, Count: 1})
		wantCode(t, release(), passkeyd.EGone)
		var rl *passkeyd.RetryLater
		if err := v.m.RevokePasskey(context.Background(), pk.ID); !errors.As(err, &rl) {
			t.Fatalf("within the grace period = %v, want RetryLater", err)
		}
		v.clk.Advance(11 * time.Minute)
		if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
			t.Fatal(err)
		}
		got := v.passkey(t, pk.ID)
		if got.State != passkeyd.PasskeyRevoked || got.GraphMethodID == "" {
			t.Errorf("passkey %+v, want revoked with the method found in Entra", got)
		}
		if n := len(v.emu.Methods(v.set.TenantID, v.set.Users[0].UPN)); n != 0 {
			t.Errorf("%d methods left in Entra: the orphan was not deleted", n)
		}
	})
}

// TestLifecycleAudit runs connector, policy, user, invitation, device,
// enrollment, removal and revocation, and verifies the audit chain.
func TestLifecycleAudit(t *testing.T) {
	v := newTestManager(t)
	pk := enrolledAndRemoved(t, v)
	if _, err := v.m.TestConnection(v.admin, passkeyd.TestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := v.m.VerifyAudit(v.admin)
	if err != nil || !rep.OK {
		t.Fatalf("VerifyAudit = %+v, %v", rep, err)
	}
	evs := v.auditEvents(t, "")
	if rep.Events != int64(len(evs)) || rep.LastHash != evs[len(evs)-1].Hash {
		t.Errorf("report %+v does not match %d events", rep, len(evs))
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	want := []string{"connector.updated", "policy.updated", "user.created", "invitation.created", "device.registered",
		"enrollment.options_issued", "passkey.registration_started", "passkey.registered", "device.removed",
		"passkey.revoke_requested", "connector.tested", "passkey.revoked"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("audit actions\n got %v\nwant %v", actions, want)
	}
}

// TestThrottleIsShared: after a 429, no worker calls Graph for the tenant
// until Retry-After has passed; the wait lives in the store, so every node
// sees it.
func TestThrottleIsShared(t *testing.T) {
	v := newTestManager(t)
	pk := enrolledAndRemoved(t, v)
	if err := v.emu.InjectFault(entraemu.Fault{Op: entraemu.OpDelete, Status: 429, RetryAfter: 30 * time.Second, Count: 1}); err != nil {
		t.Fatal(err)
	}
	var rl *passkeyd.RetryLater
	if err := v.m.RevokePasskey(context.Background(), pk.ID); !errors.As(err, &rl) {
		t.Fatalf("first attempt = %v, want RetryLater", err)
	}
	calls := v.emu.Stats().GraphCalls[entraemu.OpDelete]
	v.clk.Advance(10 * time.Second)
	err := v.m.RevokePasskey(context.Background(), pk.ID)
	if !errors.As(err, &rl) || rl.After < 20*time.Second || rl.After > 25*time.Second {
		t.Fatalf("attempt inside the window = %v, want RetryLater for the remaining ~20 s", err)
	}
	if v.emu.Stats().GraphCalls[entraemu.OpDelete] != calls {
		t.Fatal("Graph was called while the tenant was throttled")
	}
	if until, _ := v.db.Throttle(context.Background(), "graph-write:"+v.set.TenantID+":"+v.set.ClientID); !until.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("stored throttle %v, want %v", until, t0.Add(30*time.Second))
	}
	v.clk.Advance(21 * time.Second)
	if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoked {
		t.Fatalf("state %s", got.State)
	}
}

// TestReplicationLag: Graph may answer 404 for a method created moments
// ago that still exists. A revocation does not believe that 404 for a
// young passkey: it deletes again once Graph has settled, leaving no
// orphan in Entra.
func TestReplicationLag(t *testing.T) {
	v := newTestManager(t)
	v.emu.SetReplicationLag(2 * time.Minute)
	pk := enrolledAndRemoved(t, v)
	var rl *passkeyd.RetryLater
	if err := v.m.RevokePasskey(context.Background(), pk.ID); !errors.As(err, &rl) {
		t.Fatalf("RevokePasskey on a young method answered 404 = %v, want RetryLater", err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoking {
		t.Fatalf("state %s after an unconfirmed 404, want revoking", got.State)
	}
	if n := len(v.methods()); n != 1 {
		t.Fatalf("%d methods: the emulator's lag knob did not hold the method", n)
	}
	v.clk.Advance(rl.After)
	if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Fatal(err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoked || len(v.methods()) != 0 {
		t.Fatalf("state %s with %d methods left, want revoked and none", got.State, len(v.methods()))
	}
}

// TestRevocationSurvivesARefusedCredential: a secret revoked in Entra
// mid-run is the connector's problem, not the passkey's: the revocation
// waits for the admin to fix it instead of failing permanently.
func TestRevocationSurvivesARefusedCredential(t *testing.T) {
	v := newTestManager(t)
	pk := enrolledAndRemoved(t, v)
	if _, err := v.m.UpdateConnector(v.admin, v.connectorUpdate("a-secret-entra-no-longer-knows")); err != nil {
		t.Fatal(err)
	}
	var rl *passkeyd.RetryLater
	if err := v.m.RevokePasskey(context.Background(), pk.ID); !errors.As(err, &rl) {
		t.Fatalf("RevokePasskey with a refused secret = %v, want RetryLater", err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoking {
		t.Fatalf("state %s, want still revoking", got.State)
	}
	v.connect(t) // the admin saves the right secret
	if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Fatal(err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoked {
		t.Fatalf("state %s after the fix, want revoked", got.State)
	}
}

// TestDeletesArePaced: Graph deletes wait for the write quota's pace
// instead of hammering Graph into 429s. At one write per second, a second
// revocation right after the first cannot get its turn within 200 ms, and
// no delete is sent for it.
func TestDeletesArePaced(t *testing.T) {
	v := newTestManager(t)
	m, err := manager.New(manager.Config{Store: v.db, Sealer: v.sealer, Now: v.clk.Now, GraphWriteRate: 1,
		NewGraph: func(gc passkeyd.GraphConfig) (passkeyd.GraphClient, error) {
			return graph.New(gc, graph.WithNow(v.clk.Now))
		}})
	if err != nil {
		t.Fatal(err)
	}
	first := enrolledAndRemoved(t, v)
	if err := m.RevokePasskey(context.Background(), first.ID); err != nil {
		t.Fatal(err)
	}
	d := v.newDevice(t)
	second := v.enroll(t, d)
	if _, _, err := v.m.RemoveDevice(v.admin, d.ID); err != nil {
		t.Fatal(err)
	}
	calls := v.emu.Stats().GraphCalls[entraemu.OpDelete]
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := m.RevokePasskey(ctx, second.ID); err == nil {
		t.Fatal("the second delete was not paced")
	}
	if v.emu.Stats().GraphCalls[entraemu.OpDelete] != calls {
		t.Fatal("a delete was sent before its turn")
	}
	if got := v.passkey(t, second.ID); got.State != passkeyd.PasskeyRevoking {
		t.Fatalf("state %s, want still revoking", got.State)
	}
}

// failingWrites is a store whose passkey updates fail while failing is set:
// the database is unavailable for writes.
type failingWrites struct {
	passkeyd.Store
	failing bool
}

func (f *failingWrites) UpdatePasskey(ctx context.Context, p *passkeyd.Passkey, expect passkeyd.PasskeyState, ev passkeyd.AuditEvent, jobs ...passkeyd.Job) error {
	if f.failing {
		return passkeyd.Errorf(passkeyd.EUnavailable, "database is read-only")
	}
	return f.Store.UpdatePasskey(ctx, p, expect, ev, jobs...)
}

// TestDatabaseUnavailableForWrites: Graph deleted the method but the
// outcome cannot be recorded. The job fails (and is retried by the
// queue); the retry meets Graph's 404, which is believed once Graph has
// settled, and the passkey ends revoked — recorded exactly once.
func TestDatabaseUnavailableForWrites(t *testing.T) {
	v := newTestManager(t)
	pk := enrolledAndRemoved(t, v)
	store := &failingWrites{Store: v.db, failing: true}
	m, err := manager.New(manager.Config{Store: store, Sealer: v.sealer, Now: v.clk.Now, GraphWriteRate: -1,
		NewGraph: func(gc passkeyd.GraphConfig) (passkeyd.GraphClient, error) {
			return graph.New(gc, graph.WithNow(v.clk.Now))
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokePasskey(context.Background(), pk.ID); err == nil || passkeyd.ErrorCodeOf(err) != passkeyd.EUnavailable {
		t.Fatalf("RevokePasskey with a read-only database = %v, want the write error for the queue to retry", err)
	}
	if n := len(v.methods()); n != 0 {
		t.Fatalf("%d methods: Graph's delete should have happened", n)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoking {
		t.Fatalf("state %s, want still revoking: nothing was recorded", got.State)
	}
	store.failing = false
	v.clk.Advance(11 * time.Minute) // Graph has settled: its 404 is believed
	if err := m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Fatal(err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoked {
		t.Fatalf("state %s, want revoked", got.State)
	}
	if evs := v.auditEvents(t, "passkey.revoked"); len(evs) != 1 {
		t.Fatalf("%d passkey.revoked events, want exactly 1", len(evs))
	}
}
