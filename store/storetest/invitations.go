package storetest

import (
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// testCancelInvitations checks CancelInvitations (offboarding).
func testCancelInvitations(t *testing.T, e *env) {
	ic := e.s
	alice, bob := e.user(), e.user()
	unused1 := e.invitation(alice, t0.Add(time.Hour))
	unused2 := e.invitation(alice, t0.Add(2*time.Hour))
	expired := e.invitation(alice, t0.Add(-time.Hour))
	e.device(alice) // its invitation is used already
	bobs := e.invitation(bob, t0.Add(time.Hour))

	before := len(e.events())
	n, err := ic.CancelInvitations(e.ctx, alice.ID, t0, ev("invitation.cancelled", "user", alice.ID))
	if err != nil {
		t.Fatal(err)
	}
	// Unused ones are cancelled, expired or not; used ones stay as they were.
	if n != 3 {
		t.Errorf("CancelInvitations = %d, want 3 (two unused, one expired unused)", n)
	}
	evs := e.events()
	if len(evs) != before+1 || evs[len(evs)-1].Action != "invitation.cancelled" {
		t.Errorf("audit log after CancelInvitations: %d events (want %d), last %+v", len(evs), before+1, evs[len(evs)-1])
	}
	for _, code := range [][]byte{unused1, unused2, expired} {
		err := e.s.RegisterDevice(e.ctx, code, t0, &passkeyd.Device{Name: "late", TokenHash: []byte("t-" + string(code))}, ev("device.registered", "device", ""))
		wantCode(t, "RegisterDevice(cancelled code)", err, passkeyd.EGone, "")
	}
	if err := e.s.RegisterDevice(e.ctx, bobs, t0, &passkeyd.Device{Name: "bob", TokenHash: []byte("t-bob")}, ev("device.registered", "device", "")); err != nil {
		t.Errorf("another user's invitation: %v", err)
	}
	if n, err := ic.CancelInvitations(e.ctx, alice.ID, t0, ev("invitation.cancelled", "user", alice.ID)); err != nil || n != 0 {
		t.Errorf("CancelInvitations again = %d, %v; want 0", n, err)
	}
	_, err = ic.CancelInvitations(e.ctx, "0198a6a0-0000-7000-8000-000000000000", t0, ev("invitation.cancelled", "user", ""))
	wantCode(t, "CancelInvitations(unknown user)", err, passkeyd.ENotFound, "")
}
