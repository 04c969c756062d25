package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func testRegisterDevice(t *testing.T, e *env) {
	u := e.user()
	code := e.invitation(u, t0.Add(time.Hour))
	d := &passkeyd.Device{Name: "Alice's iPhone", Platform: "ios", Model: "iPhone15,2", TokenHash: []byte("tok-1"),
		UserID: "ignored: set from the invitation"}
	if err := e.s.RegisterDevice(e.ctx, code, t0, d, ev("device.registered", "device", "")); err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	if d.ID == "" || d.UserID != u.ID || d.State != passkeyd.DeviceActive {
		t.Errorf("registered device = %+v, want an ID, user %s, state active", d, u.ID)
	}
	got, err := e.s.Device(e.ctx, d.ID)
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	if got.Name != d.Name || got.Platform != d.Platform || got.Model != d.Model || got.UserID != u.ID ||
		got.State != passkeyd.DeviceActive || !bytes.Equal(got.TokenHash, d.TokenHash) || got.RemovedAt != nil ||
		!got.CreatedAt.Equal(d.CreatedAt) || got.CreatedAt.IsZero() {
		t.Errorf("Device = %+v, want %+v", got, d)
	}
	byTok, err := e.s.DeviceByTokenHash(e.ctx, []byte("tok-1"))
	if err != nil || byTok.ID != d.ID {
		t.Errorf("DeviceByTokenHash = %v, %v; want %s", byTok, err, d.ID)
	}
	_, err = e.s.DeviceByTokenHash(e.ctx, []byte("tok-2"))
	wantCode(t, "DeviceByTokenHash(unknown)", err, passkeyd.ENotFound, "device not found")
	_, err = e.s.Device(e.ctx, "nope")
	wantCode(t, "Device(unknown)", err, passkeyd.ENotFound, "device not found")

	err = e.s.CreateInvitation(e.ctx, &passkeyd.Invitation{UserID: "nope", CodeHash: []byte("c"), ExpiresAt: t0},
		ev("invitation.created", "user", "nope"))
	wantCode(t, "CreateInvitation(unknown user)", err, passkeyd.ENotFound, "user not found")
}

func testRegisterDeviceRefusals(t *testing.T, e *env) {
	u := e.user()
	used := e.invitation(u, t0.Add(time.Hour))
	e.device(u) // consumes its own code
	if err := e.s.RegisterDevice(e.ctx, used, t0, &passkeyd.Device{Name: "first", TokenHash: []byte("t-used")},
		ev("device.registered", "device", "")); err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	expired := e.invitation(u, t0.Add(time.Minute))

	devices, err := e.s.Devices(e.ctx, passkeyd.DeviceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.events())
	cases := []struct {
		name string
		code []byte
		now  time.Time
		want passkeyd.ErrorCode
		msg  string
	}{
		{"unknown code", []byte("never issued"), t0, passkeyd.ENotFound, "invitation code not found"},
		{"used code", used, t0, passkeyd.EGone, "invitation code already used"},
		{"expired code", expired, t0.Add(time.Minute), passkeyd.EGone, "invitation code expired"},
		{"long expired code", expired, t0.Add(48 * time.Hour), passkeyd.EGone, "invitation code expired"},
	}
	for i, tc := range cases {
		d := &passkeyd.Device{Name: tc.name, TokenHash: []byte(fmt.Sprintf("t-%d", i))}
		err := e.s.RegisterDevice(e.ctx, tc.code, tc.now, d, ev("device.registered", "device", ""))
		wantCode(t, "RegisterDevice("+tc.name+")", err, tc.want, tc.msg)
	}
	e.unchangedAudit("refused RegisterDevice", before)
	after, err := e.s.Devices(e.ctx, passkeyd.DeviceFilter{})
	if err != nil || len(after) != len(devices) {
		t.Errorf("Devices after refusals = %d, %v; want %d (a refused call wrote a device)", len(after), err, len(devices))
	}
	// The expired code was not consumed by the refusals: it is still
	// "expired", not "used".
	err = e.s.RegisterDevice(e.ctx, expired, t0.Add(2*time.Minute), &passkeyd.Device{Name: "x", TokenHash: []byte("t-x")},
		ev("device.registered", "device", ""))
	wantCode(t, "RegisterDevice(expired code again)", err, passkeyd.EGone, "invitation code expired")
	// Just before expiry the code still works.
	if err := e.s.RegisterDevice(e.ctx, expired, t0.Add(time.Minute-time.Microsecond), &passkeyd.Device{Name: "y", TokenHash: []byte("t-y")},
		ev("device.registered", "device", "")); err != nil {
		t.Errorf("RegisterDevice just before expiry: %v", err)
	}
	// A device token hash is unique.
	code := e.invitation(u, t0.Add(time.Hour))
	err = e.s.RegisterDevice(e.ctx, code, t0, &passkeyd.Device{Name: "dup", TokenHash: []byte("t-y")}, ev("device.registered", "device", ""))
	wantCode(t, "RegisterDevice(duplicate token hash)", err, passkeyd.EConflict, "")
	if err := e.s.RegisterDevice(e.ctx, code, t0, &passkeyd.Device{Name: "ok", TokenHash: []byte("t-z")}, ev("device.registered", "device", "")); err != nil {
		t.Errorf("RegisterDevice after a rolled-back attempt with the same code: %v", err)
	}
}

func testDevices(t *testing.T, e *env) {
	alice, bob := e.user(), e.user()
	var aliceIDs []string
	for range 3 {
		aliceIDs = append(aliceIDs, e.device(alice).ID)
	}
	bobDev := e.device(bob)
	if _, _, err := e.s.RemoveDevice(e.ctx, aliceIDs[1], t0, ev("device.removed", "device", aliceIDs[1])); err != nil {
		t.Fatalf("RemoveDevice: %v", err)
	}
	cases := []struct {
		name string
		f    passkeyd.DeviceFilter
		want []string
	}{
		{"all", passkeyd.DeviceFilter{}, append(append([]string{}, aliceIDs...), bobDev.ID)},
		{"by user", passkeyd.DeviceFilter{UserID: alice.ID}, aliceIDs},
		{"active of user", passkeyd.DeviceFilter{UserID: alice.ID, State: passkeyd.DeviceActive}, []string{aliceIDs[0], aliceIDs[2]}},
		{"removed", passkeyd.DeviceFilter{State: passkeyd.DeviceRemoved}, []string{aliceIDs[1]}},
		{"after cursor", passkeyd.DeviceFilter{UserID: alice.ID, Page: passkeyd.Page{Cursor: aliceIDs[0]}}, aliceIDs[1:]},
		{"limit", passkeyd.DeviceFilter{UserID: alice.ID, Page: passkeyd.Page{Limit: 1}}, aliceIDs[:1]},
	}
	for _, tc := range cases {
		ds, err := e.s.Devices(e.ctx, tc.f)
		if err != nil {
			t.Errorf("Devices(%s): %v", tc.name, err)
			continue
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Devices(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testRemoveDevice(t *testing.T, e *env) {
	u := e.user()
	d, other := e.device(u), e.device(u)
	states := []passkeyd.PasskeyState{
		passkeyd.PasskeyRegistering, passkeyd.PasskeyActive, passkeyd.PasskeyUnknown, passkeyd.PasskeyFailed,
		passkeyd.PasskeyRevoking, passkeyd.PasskeyRevoked, passkeyd.PasskeyRevokeFailed, passkeyd.PasskeyMissing,
	}
	wantMoved := map[string]bool{}
	for _, s := range states {
		p := e.passkey(d, s)
		if s.Live() {
			wantMoved[p.ID] = true
		}
	}
	otherPK := e.passkey(other, passkeyd.PasskeyActive)
	before := len(e.events())
	if len(e.rec.Jobs()) != 0 {
		t.Fatalf("jobs enqueued before RemoveDevice: %v", e.rec.Jobs())
	}

	removedAt := t0.Add(time.Hour)
	dev := ev("device.removed", "device", d.ID)
	dev.RequestID = "req-remove"
	got, moved, err := e.s.RemoveDevice(e.ctx, d.ID, removedAt, dev)
	if err != nil {
		t.Fatalf("RemoveDevice: %v", err)
	}
	if got.State != passkeyd.DeviceRemoved || got.RemovedAt == nil || !got.RemovedAt.Equal(removedAt) {
		t.Errorf("removed device = %+v, want removed at %v", got, removedAt)
	}
	var movedIDs []string
	for _, p := range moved {
		if !wantMoved[p.ID] || p.State != passkeyd.PasskeyRevoking {
			t.Errorf("moved passkey %s in state %s; want only live passkeys, now revoking", p.ID, p.State)
		}
		movedIDs = append(movedIDs, p.ID)
	}
	if len(moved) != len(wantMoved) {
		t.Errorf("moved %d passkeys, want %d", len(moved), len(wantMoved))
	}

	// Exactly one job per moved passkey.
	var jobIDs []string
	for _, j := range e.rec.Jobs() {
		if j.Kind != passkeyd.JobRevokePasskey {
			t.Errorf("job %+v, want kind %s", j, passkeyd.JobRevokePasskey)
		}
		jobIDs = append(jobIDs, j.PasskeyID)
	}
	sort.Strings(jobIDs)
	sort.Strings(movedIDs)
	if fmt.Sprint(jobIDs) != fmt.Sprint(movedIDs) {
		t.Errorf("jobs for %v, want one per moved passkey %v", jobIDs, movedIDs)
	}

	// The stored states match: live → revoking, others untouched.
	ps, err := e.s.Passkeys(e.ctx, passkeyd.PasskeyFilter{DeviceID: d.ID})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		want := states[i]
		if want.Live() {
			want = passkeyd.PasskeyRevoking
		}
		if p.State != want {
			t.Errorf("passkey %d (was %s) is %s, want %s", i, states[i], p.State, want)
		}
	}
	if p, err := e.s.Passkey(e.ctx, otherPK.ID); err != nil || p.State != passkeyd.PasskeyActive {
		t.Errorf("passkey of another device = %v, %v; want untouched", p, err)
	}

	// One device event and one revoke_requested event per passkey.
	evs := e.events()[before:]
	if len(evs) != 1+len(wantMoved) {
		t.Fatalf("%d events, want %d", len(evs), 1+len(wantMoved))
	}
	if evs[0].Action != "device.removed" || evs[0].TargetID != d.ID {
		t.Errorf("first event %+v, want device.removed", evs[0])
	}
	for _, x := range evs[1:] {
		if x.Action != "passkey.revoke_requested" || x.TargetType != "passkey" || !wantMoved[x.TargetID] ||
			x.Actor != dev.Actor || x.RequestID != "req-remove" || x.Outcome != passkeyd.OutcomeSuccess {
			t.Errorf("event %+v, want passkey.revoke_requested by the same actor and request", x)
		}
	}

	before = len(e.events())
	_, _, err = e.s.RemoveDevice(e.ctx, d.ID, removedAt, dev)
	wantCode(t, "RemoveDevice(again)", err, passkeyd.EConflict, "device already removed")
	_, _, err = e.s.RemoveDevice(e.ctx, "nope", removedAt, dev)
	wantCode(t, "RemoveDevice(unknown)", err, passkeyd.ENotFound, "device not found")
	e.unchangedAudit("refused RemoveDevice", before)
	if n := len(e.rec.Jobs()); n != len(wantMoved) {
		t.Errorf("%d jobs after refused calls, want %d", n, len(wantMoved))
	}

	// A device without live passkeys enqueues nothing.
	if _, moved, err := e.s.RemoveDevice(e.ctx, other.ID, removedAt, ev("device.removed", "device", other.ID)); err != nil || len(moved) != 1 {
		t.Errorf("RemoveDevice(other) moved %d, %v; want 1", len(moved), err)
	}
	empty := e.device(u)
	jobs := len(e.rec.Jobs())
	if _, moved, err := e.s.RemoveDevice(e.ctx, empty.ID, removedAt, ev("device.removed", "device", empty.ID)); err != nil || len(moved) != 0 {
		t.Errorf("RemoveDevice(no passkeys) moved %d, %v", len(moved), err)
	}
	if len(e.rec.Jobs()) != jobs {
		t.Error("RemoveDevice of a device without passkeys enqueued jobs")
	}
}

func testRemoveDeviceRollback(t *testing.T, e *env) {
	u := e.user()
	d := e.device(u)
	p := e.passkey(d, passkeyd.PasskeyActive)
	before := len(e.events())
	boom := errors.New("queue is down")
	e.rec.SetFail(boom)
	_, _, err := e.s.RemoveDevice(e.ctx, d.ID, t0, ev("device.removed", "device", d.ID))
	if err == nil || !errors.Is(err, boom) {
		t.Fatalf("RemoveDevice with a failing enqueuer: %v, want an error wrapping %v", err, boom)
	}
	if got, err := e.s.Device(e.ctx, d.ID); err != nil || got.State != passkeyd.DeviceActive || got.RemovedAt != nil {
		t.Errorf("device after rollback = %+v, %v; want active", got, err)
	}
	if got, err := e.s.Passkey(e.ctx, p.ID); err != nil || got.State != passkeyd.PasskeyActive {
		t.Errorf("passkey after rollback = %+v, %v; want active", got, err)
	}
	e.unchangedAudit("rolled-back RemoveDevice", before)

	e.rec.SetFail(nil)
	if _, moved, err := e.s.RemoveDevice(e.ctx, d.ID, t0, ev("device.removed", "device", d.ID)); err != nil || len(moved) != 1 {
		t.Errorf("RemoveDevice after the queue recovered: %d moved, %v", len(moved), err)
	}
	e.verifyChain()
}
