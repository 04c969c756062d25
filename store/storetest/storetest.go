// Package storetest is the conformance suite of passkeyd.Store: every
// implementation (store/sqlite, store/postgres) runs Run on a fresh store
// per subtest and must pass it unchanged. The suite speaks only the Store
// interface, so it is the same for every SQL dialect.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

// NewStore returns a fresh, empty (migrated) store whose transactions
// enqueue jobs with enq. It registers its own cleanup with t.
type NewStore func(t *testing.T, enq passkeyd.JobEnqueuer) passkeyd.Store

// Recorder is a JobEnqueuer that records the jobs it is given, or fails
// with Fail when set.
type Recorder struct {
	mu   sync.Mutex
	jobs []passkeyd.Job
	fail error
}

// Enqueue implements passkeyd.JobEnqueuer.
func (r *Recorder) Enqueue(_ context.Context, tx any, jobs []passkeyd.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tx == nil {
		return errors.New("storetest: enqueuer called without a transaction")
	}
	if r.fail != nil {
		return r.fail
	}
	r.jobs = append(r.jobs, jobs...)
	return nil
}

// Jobs returns the jobs recorded so far.
func (r *Recorder) Jobs() []passkeyd.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]passkeyd.Job(nil), r.jobs...)
}

// SetFail makes every later Enqueue fail with err (nil: succeed again).
func (r *Recorder) SetFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// Run runs the conformance suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Connector", testConnector},
		{"Policies", testPolicies},
		{"Users", testUsers},
		{"UserConflicts", testUserConflicts},
		{"UsersPagination", testUsersPagination},
		{"RegisterDevice", testRegisterDevice},
		{"RegisterDeviceRefusals", testRegisterDeviceRefusals},
		{"Devices", testDevices},
		{"RemoveDevice", testRemoveDevice},
		{"RemoveDeviceRollsBackWhenEnqueueFails", testRemoveDeviceRollback},
		{"Enrollment", testEnrollment},
		{"Passkeys", testPasskeys},
		{"UpdatePasskey", testUpdatePasskey},
		{"APITokens", testAPITokens},
		{"AdminUsers", testAdminUsers}, {"Sessions", testSessions}, {"SessionsPruned", testSessionsPruned}, {"LoginFailures", testLoginFailures},
		{"AuditAppend", testAuditAppend},
		{"AuditChainAfterMixedOperations", testAuditChain},
		{"Throttle", testThrottle},
		{"Cursor", testCursor},
		{"Idempotency", testIdempotency},
		{"UpdateUser", testUpdateUser},
		{"CancelInvitations", testCancelInvitations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &Recorder{}
			s := newStore(t, rec.Enqueue)
			tc.fn(t, &env{t: t, s: s, rec: rec, ctx: context.Background()})
		})
	}
}

// env is one subtest's store with helpers.
type env struct {
	t   *testing.T
	s   passkeyd.Store
	rec *Recorder
	ctx context.Context
	n   int // counter for unique fixture values
}

// t0 is a fixed time with microseconds, which every store keeps exactly.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

func (e *env) next() int { e.n++; return e.n }

func ev(action, targetType, targetID string) passkeyd.AuditEvent {
	return passkeyd.AuditEvent{
		Actor: "token:test", Action: action, TargetType: targetType, TargetID: targetID,
		Outcome: passkeyd.OutcomeSuccess, RequestID: "req-" + action,
	}
}

func (e *env) user() *passkeyd.User {
	e.t.Helper()
	n := e.next()
	u := &passkeyd.User{UPN: fmt.Sprintf("user%d@contoso.com", n), DisplayName: fmt.Sprintf("User %d", n)}
	if err := e.s.CreateUser(e.ctx, u, ev("user.created", "user", "")); err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func (e *env) invitation(u *passkeyd.User, expires time.Time) []byte {
	e.t.Helper()
	code := []byte(fmt.Sprintf("code-hash-%d", e.next()))
	inv := &passkeyd.Invitation{UserID: u.ID, CodeHash: code, ExpiresAt: expires}
	if err := e.s.CreateInvitation(e.ctx, inv, ev("invitation.created", "user", u.ID)); err != nil {
		e.t.Fatalf("CreateInvitation: %v", err)
	}
	return code
}

func (e *env) device(u *passkeyd.User) *passkeyd.Device {
	e.t.Helper()
	code := e.invitation(u, t0.Add(time.Hour))
	n := e.next()
	d := &passkeyd.Device{Name: fmt.Sprintf("Phone %d", n), Platform: "ios", Model: "iPhone",
		TokenHash: []byte(fmt.Sprintf("token-hash-%d", n))}
	if err := e.s.RegisterDevice(e.ctx, code, t0, d, ev("device.registered", "device", "")); err != nil {
		e.t.Fatalf("RegisterDevice: %v", err)
	}
	return d
}

func (e *env) enrollment(d *passkeyd.Device) *passkeyd.Enrollment {
	e.t.Helper()
	en := &passkeyd.Enrollment{UserID: d.UserID, DeviceID: d.ID, State: passkeyd.EnrollmentOptionsIssued,
		ChallengeExpiresAt: t0.Add(5 * time.Minute), OptionsHash: []byte{1, 2, 3}, ChallengeDigest: "chal", RPID: "login.microsoft.com"}
	if err := e.s.CreateEnrollment(e.ctx, en, ev("enrollment.created", "device", d.ID)); err != nil {
		e.t.Fatalf("CreateEnrollment: %v", err)
	}
	return en
}

// passkey creates a passkey of d through the registration steps and
// leaves it in state.
func (e *env) passkey(d *passkeyd.Device, state passkeyd.PasskeyState) *passkeyd.Passkey {
	e.t.Helper()
	en := e.enrollment(d)
	n := e.next()
	p := &passkeyd.Passkey{UserID: d.UserID, DeviceID: d.ID, CredentialID: fmt.Sprintf("cred-%d", n),
		AAGUID: "90a3ccdf-635c-4729-a248-9b709135078f", DisplayName: "passkeyd phone"}
	if err := e.s.BeginRegistration(e.ctx, en, p, ev("passkey.registering", "passkey", "")); err != nil {
		e.t.Fatalf("BeginRegistration: %v", err)
	}
	if state == passkeyd.PasskeyRegistering {
		return p
	}
	en.State = passkeyd.EnrollmentCompleted
	p.State = state
	p.GraphMethodID = fmt.Sprintf("method-%d", n)
	if err := e.s.FinishRegistration(e.ctx, en, p, []passkeyd.AuditEvent{ev("passkey.registered", "passkey", p.ID)}); err != nil {
		e.t.Fatalf("FinishRegistration: %v", err)
	}
	return p
}

// events returns every audit event.
func (e *env) events() []passkeyd.AuditEvent {
	e.t.Helper()
	var all []passkeyd.AuditEvent
	var after int64
	for {
		page, err := e.s.AuditEvents(e.ctx, passkeyd.AuditFilter{AfterSeq: after, Limit: passkeyd.MaxPageSize})
		if err != nil {
			e.t.Fatalf("AuditEvents: %v", err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
}

func (e *env) verifyChain() *passkeyd.AuditReport {
	e.t.Helper()
	rep, err := audit.Verify(e.ctx, func(ctx context.Context, after int64, limit int) ([]passkeyd.AuditEvent, error) {
		return e.s.AuditEvents(ctx, passkeyd.AuditFilter{AfterSeq: after, Limit: limit})
	})
	if err != nil {
		e.t.Fatalf("audit.Verify: %v", err)
	}
	if !rep.OK {
		e.t.Fatalf("audit chain broken: %+v", rep)
	}
	return rep
}

// wantCode fails unless err carries code and, when msg is not empty, a
// safe message containing msg.
func wantCode(t *testing.T, what string, err error, code passkeyd.ErrorCode, msg string) {
	t.Helper()
	if got := passkeyd.ErrorCodeOf(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
		return
	}
	if m := passkeyd.ErrorMessage(err); msg != "" && !strings.Contains(m, msg) {
		t.Errorf("%s: message %q, want it to contain %q", what, m, msg)
	}
}

// unchangedAudit fails when the audit log grew since before.
func (e *env) unchangedAudit(what string, before int) {
	e.t.Helper()
	if n := len(e.events()); n != before {
		e.t.Errorf("%s: audit log has %d events, want %d (a failed call wrote events)", what, n, before)
	}
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }
