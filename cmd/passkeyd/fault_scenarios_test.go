package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/entraemu"
)

// faultScenario is one failure injected around a device removal. run
// injects it, removes the devices and checks what must hold meanwhile;
// the harness then drains (fast-forwarding time) and checks I1–I5.
type faultScenario struct {
	name string
	// skip, when set, is why the scenario cannot run.
	skip string
	run  func(t *testing.T, e *faultEnv)
	// prepare, when set, adjusts the emulator before the devices enroll.
	prepare func(*entraemu.Emulator)
	// age makes the drain also age passkeys past Graph's settle time.
	age            bool
	failedOutcomes int
}

// TestFaultRevocation is issue 4's fault suite: every removed device's
// passkeys are deleted from Entra exactly once, whatever fails on the way.
func TestFaultRevocation(t *testing.T) {
	scenarios := []faultScenario{
		throttleScenario("429 Retry-After 30s", 30*time.Second, false),
		throttleScenario("429 Retry-After 3600s", time.Hour, false),
		throttleScenario("429 Retry-After HTTP date", 2*time.Minute, true),
		{name: "429 without Retry-After", run: func(t *testing.T, e *faultEnv) {
			inject(t, e, entraemu.Fault{Op: entraemu.OpDelete, Status: http.StatusTooManyRequests, Count: 2})
			e.remove(t, e.devices...)
			waitActions(t, e, "passkey.revoke_attempt_failed", 2)
			if until := throttle(t, e); !until.IsZero() {
				t.Errorf("a 429 without Retry-After stored a throttle until %s", until)
			}
		}},
		serverErrorScenario(http.StatusInternalServerError),
		serverErrorScenario(http.StatusBadGateway),
		serverErrorScenario(http.StatusServiceUnavailable),
		serverErrorScenario(http.StatusGatewayTimeout),
		{name: "connection reset on delete", run: func(t *testing.T, e *faultEnv) {
			e.front.mu.Lock()
			e.front.resets = 2
			e.front.mu.Unlock()
			e.remove(t, e.devices...)
			waitFor(t, 10*time.Second, "both resets to be used", func() (bool, error) {
				e.front.mu.Lock()
				defer e.front.mu.Unlock()
				return e.front.resets == 0, nil
			})
		}},
		{name: "token endpoint down then recovered", run: func(t *testing.T, e *faultEnv) {
			// The cached token expires in Entra's eyes: the next delete
			// gets a 401 and passkeyd must ask the token endpoint again.
			e.clock.advance(2 * time.Hour)
			inject(t, e, entraemu.Fault{Op: entraemu.OpToken, Status: http.StatusServiceUnavailable})
			before := e.emu.Stats().TokenRequests
			e.remove(t, e.devices...)
			waitFor(t, 10*time.Second, "token requests to fail", func() (bool, error) {
				return e.emu.Stats().TokenRequests >= before+2, nil
			})
			noneFailed(t, e)
			e.emu.ClearFaults()
		}},
		{name: "client secret expired mid-run then replaced", run: func(t *testing.T, e *faultEnv) {
			s := e.emu.Settings()
			// Two years on, the seed's secret (valid two years) has
			// expired; the admin has created a new one.
			e.clock.advance(2*365*24*time.Hour + 48*time.Hour)
			fresh, err := e.emu.AddClientSecret(e.tenant, s.ClientID, e.clock.now().AddDate(1, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			before := e.emu.Stats().TokenRequests
			e.remove(t, e.devices...)
			waitFor(t, 10*time.Second, "token requests with the expired secret", func() (bool, error) {
				return e.emu.Stats().TokenRequests > before, nil
			})
			// Let a few attempts fail before the admin acts.
			e.db.fastForward(context.Background(), false)
			noneFailed(t, e)
			sec := fresh.Value
			if _, err := e.admin.UpdateConnector(context.Background(), passkeyd.ConnectorUpdate{
				Enabled: true, Cloud: passkeyd.CloudCustom, AuthorityHost: e.front.url(), GraphURL: e.front.url(),
				CACertPEM: string(e.front.caPEM()), TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: &sec,
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "permanent 403 then admin retry", failedOutcomes: 1, run: func(t *testing.T, e *faultEnv) {
			inject(t, e, entraemu.Fault{Op: entraemu.OpDelete, Status: http.StatusForbidden})
			e.remove(t, e.devices...)
			ctx := context.Background()
			for _, d := range e.devices {
				waitFor(t, 10*time.Second, "revoke_failed", func() (bool, error) {
					p, err := e.admin.Passkey(ctx, d.passkeyID)
					return err == nil && p.State == passkeyd.PasskeyRevokeFailed, err
				})
				p, _ := e.admin.Passkey(ctx, d.passkeyID)
				if p.LastError == "" {
					t.Errorf("revoke_failed passkey %s has no reason", p.ID)
				}
			}
			if n := len(e.emu.Methods(e.tenant, e.devices[0].upn)); n != 1 {
				t.Errorf("after a 403 the method must still exist, found %d", n)
			}
			e.emu.ClearFaults()
			for _, d := range e.devices {
				if _, err := e.admin.RevokePasskey(ctx, d.passkeyID); err != nil {
					t.Fatalf("admin retry: %v", err)
				}
			}
		}},
		{name: "replication lag: young 404 not believed", prepare: func(e *entraemu.Emulator) {
			e.SetReplicationLag(time.Minute)
		}, run: func(t *testing.T, e *faultEnv) {
			e.remove(t, e.devices...)
			waitActions(t, e, "passkey.revoke_unconfirmed", len(e.devices))
			for _, d := range e.devices {
				if n := len(e.emu.Methods(e.tenant, d.upn)); n != 1 {
					t.Fatalf("%s has %d methods: the lagging delete must have missed it", d.upn, n)
				}
				p, err := e.admin.Passkey(context.Background(), d.passkeyID)
				if err != nil || p.State != passkeyd.PasskeyRevoking {
					t.Fatalf("after a young 404 passkey %s is %v (%v), want still revoking", d.passkeyID, p, err)
				}
			}
			// Graph catches up; the queue retries (fast-forwarded).
			e.clock.advance(2 * time.Minute)
		}},
	}
	for _, b := range faultBackends() {
		t.Run(b.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					if sc.skip != "" {
						t.Skip(sc.skip)
					}
					e := newFaultEnv(t, b.url(t), sc.prepare)
					sc.run(t, e)
					e.drain(t, true, sc.age)
					e.checkInvariants(t, sc.failedOutcomes)
					for _, d := range e.devices {
						p, err := e.admin.Passkey(context.Background(), d.passkeyID)
						if err != nil || p.State != passkeyd.PasskeyRevoked {
							t.Errorf("passkey %s ended %v (%v), want revoked", d.passkeyID, p, err)
						}
					}
				})
			}
		})
	}
}

// throttleScenario: one delete is throttled; the throttle is stored for
// the tenant and the other devices' revocations wait without calling Graph.
func throttleScenario(name string, wait time.Duration, asDate bool) faultScenario {
	return faultScenario{name: name, run: func(t *testing.T, e *faultEnv) {
		if asDate {
			e.front.mu.Lock()
			e.front.dateUntil = time.Now().Add(wait)
			e.front.mu.Unlock()
		} else {
			inject(t, e, entraemu.Fault{Op: entraemu.OpDelete, Status: http.StatusTooManyRequests, RetryAfter: wait, Count: 1})
		}
		start := time.Now()
		e.remove(t, e.devices[0])
		waitFor(t, 10*time.Second, "the throttle to be stored", func() (bool, error) {
			return !throttle(t, e).IsZero(), nil
		})
		until := throttle(t, e)
		if d := until.Sub(start); d < wait-2*time.Second || d > wait+5*time.Second {
			t.Errorf("throttle until %s is %s after the call, want about %s", until, d, wait)
		}
		deletes := e.front.deletes.Load()
		e.remove(t, e.devices[1:]...)
		// The other revocations run, see the throttle and snooze.
		waitFor(t, 10*time.Second, "every revocation to be snoozed", func() (bool, error) {
			n, err := e.db.count(context.Background(), `SELECT count(*) FROM river_job WHERE `+passkeyJobKinds+` AND state = 'scheduled'`)
			return n == len(e.devices), err
		})
		if got := e.front.deletes.Load(); got != deletes {
			t.Errorf("%d deletes reached Entra inside the throttle window", got-deletes)
		}
		noneFailed(t, e)
	}}
}

// serverErrorScenario: two deletes fail with status; backoff retries win.
func serverErrorScenario(status int) faultScenario {
	return faultScenario{name: http.StatusText(status), run: func(t *testing.T, e *faultEnv) {
		inject(t, e, entraemu.Fault{Op: entraemu.OpDelete, Status: status, Count: 2})
		e.remove(t, e.devices...)
		waitActions(t, e, "passkey.revoke_attempt_failed", 2)
		noneFailed(t, e)
	}}
}

func inject(t *testing.T, e *faultEnv, f entraemu.Fault) {
	t.Helper()
	if err := e.emu.InjectFault(f); err != nil {
		t.Fatal(err)
	}
}

// throttle is the tenant's stored write throttle.
func throttle(t *testing.T, e *faultEnv) time.Time {
	t.Helper()
	s := e.emu.Settings()
	until, err := e.store.Throttle(context.Background(), "graph-write:"+s.TenantID+":"+s.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	return until
}

// waitActions waits for n audit events of action in total.
func waitActions(t *testing.T, e *faultEnv, action string, n int) {
	t.Helper()
	waitFor(t, 15*time.Second, action, func() (bool, error) {
		got := 0
		for _, ev := range e.auditEvents(t) {
			if ev.Action == action {
				got++
			}
		}
		return got >= n, nil
	})
}

// noneFailed: a transient failure must never end in revoke_failed.
func noneFailed(t *testing.T, e *faultEnv) {
	t.Helper()
	_, pks, err := e.passkeyStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pks {
		if p.State == passkeyd.PasskeyRevokeFailed {
			t.Fatalf("passkey %s ended revoke_failed on a transient failure: %s", p.ID, p.LastError)
		}
	}
}
