package manager_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/manager"
)

// Offboarding leaves no device working: every device of the user is
// removed (its token stops working, its passkeys are revoked through the
// removal path), and invitations are cancelled where the store can.
func TestOffboardUser(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	alice := v.alice(t)
	register := func() (*passkeyd.Device, passkeyd.Secret) {
		_, code, err := v.m.CreateInvitation(v.admin, alice.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		d, tok, err := v.m.RegisterDevice(context.Background(), code, passkeyd.DeviceInfo{Name: "phone"})
		if err != nil {
			t.Fatal(err)
		}
		return d, tok
	}
	d1, tok1 := register()
	d2, tok2 := register()
	pk := v.enroll(t, d1)
	_, unused, err := v.m.CreateInvitation(v.admin, alice.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := v.m.CreateUser(v.admin, passkeyd.User{UPN: "bob@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, bobCode, err := v.m.CreateInvitation(v.admin, bob.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	res, err := v.m.OffboardUser(v.admin, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != alice.ID || res.DevicesRemoved != 2 || res.PasskeysRevoking != 1 {
		t.Fatalf("OffboardUser = %+v, want 2 devices removed and 1 passkey revoking", res)
	}
	for _, tok := range []passkeyd.Secret{tok1, tok2} {
		_, err := v.m.AuthenticateDevice(context.Background(), tok)
		wantCode(t, err, passkeyd.EUnauthorized)
	}
	for _, d := range []*passkeyd.Device{d1, d2} {
		if got, _ := v.m.Device(v.admin, d.ID); got.State != passkeyd.DeviceRemoved {
			t.Errorf("device %s is %s, want removed", d.ID, got.State)
		}
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoking {
		t.Errorf("passkey is %s, want revoking", got.State)
	}
	queued := false
	for _, j := range v.jobs.all() {
		queued = queued || (j.Kind == passkeyd.JobRevokePasskey && j.PasskeyID == pk.ID)
	}
	if !queued {
		t.Error("no revocation job for the user's passkey")
	}

	_, _, err = v.m.RegisterDevice(context.Background(), unused, passkeyd.DeviceInfo{Name: "late"})
	left := 0 // devices a second run finds
	if res.InvitationsCancelled != 1 || len(res.Warnings) != 0 {
		t.Errorf("OffboardUser = %+v, want the unused invitation cancelled", res)
	}
	wantCode(t, err, passkeyd.EGone)
	// Another user's invitation is untouched.
	if _, _, err := v.m.RegisterDevice(context.Background(), bobCode, passkeyd.DeviceInfo{Name: "bob's phone"}); err != nil {
		t.Errorf("bob's invitation: %v", err)
	}

	ev := v.auditEvents(t, "user.offboarded")
	if len(ev) != 1 || ev[0].TargetID != alice.ID || ev[0].Actor != "token:admin1" || !strings.Contains(string(ev[0].Details), `"devices_removed":2`) {
		t.Fatalf("user.offboarded events = %+v", ev)
	}
	removed := 0
	for _, e := range v.auditEvents(t, "device.removed") {
		if strings.Contains(string(e.Details), "offboarding") {
			removed++
		}
	}
	if removed != 2 {
		t.Errorf("%d device.removed events for offboarding, want 2", removed)
	}

	// Again: it removes what appeared since (nothing, once invitations
	// are cancelled), and finding nothing is not an error.
	if res, err = v.m.OffboardUser(v.admin, alice.ID); err != nil || res.DevicesRemoved != left || res.PasskeysRevoking != 0 {
		t.Errorf("second OffboardUser = %+v, %v; want %d device(s) removed", res, err, left)
	}
	_, err = v.m.OffboardUser(v.admin, "0198a6a0-0000-7000-8000-000000000000")
	wantCode(t, err, passkeyd.ENotFound)
}

// cancellingStore is a store that can cancel invitations, recording the
// calls.
type cancellingStore struct {
	passkeyd.Store
	mu    sync.Mutex
	calls []string
}

func (s *cancellingStore) CancelInvitations(_ context.Context, userID string, _ time.Time, ev passkeyd.AuditEvent) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("%s %s %s %s", userID, ev.Action, ev.Actor, ev.TargetID))
	return 2, nil
}

// With a store that can cancel invitations, offboarding cancels the
// user's, audited with the offboarding actor, before removing devices.
func TestOffboardCancelsInvitations(t *testing.T) {
	v := newTestManager(t)
	alice := v.alice(t)
	st := &cancellingStore{Store: v.db}
	m, err := manager.New(manager.Config{Store: st, Sealer: v.sealer, Now: v.clk.Now, GraphWriteRate: -1,
		NewGraph: func(passkeyd.GraphConfig) (passkeyd.GraphClient, error) { return nil, fmt.Errorf("unused") }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.OffboardUser(v.admin, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.InvitationsCancelled != 2 || len(res.Warnings) != 0 {
		t.Fatalf("OffboardUser = %+v, want 2 invitations cancelled and no warning", res)
	}
	want := alice.ID + " invitation.cancelled token:admin1 " + alice.ID
	if len(st.calls) != 1 || st.calls[0] != want {
		t.Fatalf("CancelInvitations calls %q, want [%q]", st.calls, want)
	}
}
