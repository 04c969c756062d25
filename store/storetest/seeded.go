package storetest

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/seedgen"
)

// CheckSeeded checks, through the store's own read methods, the n passkeys
// a bulk seeder stored from store/seedgen's rows (res is its result): every
// passkey listed once in ID order, each with its user, device and completed
// enrollment, the filters and cursors working, no audit event, and the
// store's own new IDs sorting after the seeded ones. Both stores' seeder
// tests call it; what is particular to a database (its schema, foreign
// keys, statistics) they check themselves.
func CheckSeeded(t *testing.T, s passkeyd.Store, res *seedgen.Result, n int) {
	t.Helper()
	ctx := context.Background()
	all := AllPasskeys(t, s, passkeyd.PasskeyFilter{})
	if len(all) != n {
		t.Fatalf("Passkeys lists %d, want %d", len(all), n)
	}
	creds := map[string]bool{}
	for i, p := range all {
		if i > 0 && (p.ID <= all[i-1].ID || p.CreatedAt.Before(all[i-1].CreatedAt)) {
			t.Fatalf("passkey %d (%s, %v) is not after %s (%v): IDs must follow creation", i, p.ID, p.CreatedAt, all[i-1].ID, all[i-1].CreatedAt)
		}
		if p.State != passkeyd.PasskeyActive || p.GraphMethodID == "" || p.AttestationLevel == "" || !passkeyd.IsGUID(p.AAGUID) {
			t.Fatalf("passkey %+v: want active with a method ID, attestation level and AAGUID", p)
		}
		if b, err := base64.RawURLEncoding.DecodeString(p.CredentialID); err != nil || len(b) != 32 {
			t.Fatalf("credential ID %q: %d bytes, %v; want 32 in base64url", p.CredentialID, len(b), err)
		}
		if creds[p.CredentialID] {
			t.Fatalf("credential ID %s repeats", p.CredentialID)
		}
		creds[p.CredentialID] = true
		if !p.CreatedAt.Before(time.Now()) || p.UpdatedAt.Before(p.CreatedAt) {
			t.Fatalf("passkey %s created %v, updated %v", p.ID, p.CreatedAt, p.UpdatedAt)
		}
	}

	// One user with two devices, one passkey each.
	devs, err := s.Devices(ctx, passkeyd.DeviceFilter{UserID: res.UserID})
	if err != nil || len(devs) != 2 || devs[0].ID != res.DeviceID || devs[0].State != passkeyd.DeviceActive {
		t.Fatalf("Devices(user %s) = %+v, %v; want two active, the first %s", res.UserID, devs, err, res.DeviceID)
	}
	if got := AllPasskeys(t, s, passkeyd.PasskeyFilter{UserID: res.UserID}); len(got) != 2 {
		t.Errorf("the user's passkeys: %d, want 2", len(got))
	}
	got := AllPasskeys(t, s, passkeyd.PasskeyFilter{DeviceID: res.DeviceID})
	if len(got) != 1 || got[0].ID != res.PasskeyID || got[0].CredentialID != res.CredentialID {
		t.Fatalf("the device's passkeys: %+v, want %s with credential %s", got, res.PasskeyID, res.CredentialID)
	}
	p, err := s.Passkey(ctx, res.PasskeyID)
	if err != nil || p.CredentialID != res.CredentialID || p.UserID != res.UserID {
		t.Fatalf("Passkey(%s) = %+v, %v", res.PasskeyID, p, err)
	}
	e, err := s.Enrollment(ctx, p.EnrollmentID)
	if err != nil || e.State != passkeyd.EnrollmentCompleted || e.PasskeyID != p.ID || e.DeviceID != p.DeviceID {
		t.Fatalf("Enrollment(%s) = %+v, %v; want completed for the passkey", p.EnrollmentID, e, err)
	}
	u, err := s.User(ctx, res.UserID)
	if err != nil || !passkeyd.IsGUID(u.EntraObjectID) || u.PolicyID != "" {
		t.Fatalf("User(%s) = %+v, %v", res.UserID, u, err)
	}
	if byUPN, err := s.UserByUPN(ctx, u.UPN); err != nil || byUPN.ID != u.ID {
		t.Fatalf("UserByUPN(%s) = %+v, %v", u.UPN, byUPN, err)
	}
	if users := countUsers(t, s); users != res.Users {
		t.Errorf("Users lists %d, want %d", users, res.Users)
	}

	// Filters and cursors.
	if got := AllPasskeys(t, s, passkeyd.PasskeyFilter{AAGUID: res.RareAAGUID}); len(got) != n/1000 {
		t.Errorf("rare AAGUID: %d passkeys, want %d", len(got), n/1000)
	}
	if got := len(AllPasskeys(t, s, passkeyd.PasskeyFilter{AAGUID: res.CommonAAGUID})); got < n/2 || got > n*7/10 {
		t.Errorf("common AAGUID: %d passkeys of %d, want about 60 %%", got, n)
	}
	if got := AllPasskeys(t, s, passkeyd.PasskeyFilter{Page: passkeyd.Page{Cursor: res.MidPasskeyID}}); len(got) != n-n/2-1 {
		t.Errorf("after the middle passkey: %d, want %d", len(got), n-n/2-1)
	}
	if got := AllPasskeys(t, s, passkeyd.PasskeyFilter{State: passkeyd.PasskeyRevoking}); len(got) != 0 {
		t.Errorf("%d revoking passkeys, want none", len(got))
	}

	if evs, err := s.AuditEvents(ctx, passkeyd.AuditFilter{}); err != nil || len(evs) != 0 {
		t.Errorf("audit events after seeding: %d, %v; want none", len(evs), err)
	}
	// The store's own IDs (UUIDv7, now) sort after every seeded one.
	nu := &passkeyd.User{UPN: "new@contoso.com"}
	if err := s.CreateUser(ctx, nu, passkeyd.AuditEvent{Actor: "system", Action: "user.created", Outcome: passkeyd.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	us, err := s.Users(ctx, passkeyd.UserFilter{Page: passkeyd.Page{Cursor: res.UserID, Limit: passkeyd.MaxPageSize}})
	if err != nil || len(us) == 0 || us[len(us)-1].ID != nu.ID {
		t.Errorf("a new user is not listed last: %v", err)
	}
}

// AllPasskeys pages through every passkey matching f.
func AllPasskeys(t *testing.T, s passkeyd.Store, f passkeyd.PasskeyFilter) []passkeyd.Passkey {
	t.Helper()
	var out []passkeyd.Passkey
	f.Limit = passkeyd.MaxPageSize
	for {
		ps, err := s.Passkeys(context.Background(), f)
		if err != nil {
			t.Fatalf("Passkeys(%+v): %v", f, err)
		}
		out = append(out, ps...)
		if len(ps) < f.Limit {
			return out
		}
		f.Cursor = ps[len(ps)-1].ID
	}
}

// countUsers counts every user.
func countUsers(t *testing.T, s passkeyd.Store) int {
	t.Helper()
	n := 0
	f := passkeyd.UserFilter{Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	for {
		us, err := s.Users(context.Background(), f)
		if err != nil {
			t.Fatalf("Users: %v", err)
		}
		n += len(us)
		if len(us) < f.Limit {
			return n
		}
		f.Cursor = us[len(us)-1].ID
	}
}
