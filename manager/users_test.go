package manager_test

import (
	"context"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/manager"
)

func TestUpdatePolicy(t *testing.T) {
	v := newTestManager(t)
	_, _, err := v.m.UpdatePolicy(v.admin, passkeyd.Policy{ID: "p1", Name: "  ", EntraPasskey: "sometimes", MaxPasskeysPerUser: 101})
	wantCode(t, err, passkeyd.EInvalid)
	got := fieldsOf(err)
	for _, f := range []string{"name", "entra_passkey", "max_passkeys_per_user"} {
		if !got[f] {
			t.Errorf("no problem reported for %s: %v", f, passkeyd.ErrorFields(err))
		}
	}

	tests := []struct {
		name      string
		mode      passkeyd.PolicyMode
		connect   bool
		wantWarns int
	}{
		{"off, disabled connector", passkeyd.PolicyOff, false, 0},
		{"required, disabled connector", passkeyd.PolicyRequired, false, 1},
		{"optional, disabled connector", passkeyd.PolicyOptional, false, 1},
		{"required, working connector", passkeyd.PolicyRequired, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestManager(t)
			if tt.connect {
				v.connect(t)
			}
			p, warns, err := v.m.UpdatePolicy(v.admin, passkeyd.Policy{ID: passkeyd.DefaultPolicyID, Name: " Default ", EntraPasskey: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != tt.wantWarns {
				t.Errorf("warnings %q, want %d", warns, tt.wantWarns)
			}
			if tt.wantWarns > 0 && !strings.Contains(warns[0], "disabled") {
				t.Errorf("warning %q does not say the connector is disabled", warns[0])
			}
			if p.Name != "Default" || p.EntraPasskey != tt.mode {
				t.Errorf("policy %+v", p)
			}
			stored, err := v.m.Policy(v.admin, passkeyd.DefaultPolicyID)
			if err != nil || stored.EntraPasskey != tt.mode {
				t.Errorf("stored policy %+v, %v", stored, err)
			}
			if evs := v.auditEvents(t, "policy.updated"); len(evs) != 1 || !strings.Contains(string(evs[0].Details), `"previous_entra_passkey":"off"`) {
				t.Errorf("policy.updated events %+v", evs)
			}
		})
	}
}

func TestCreateUser(t *testing.T) {
	v := newTestManager(t)
	if _, err := v.m.CreateUser(v.admin, passkeyd.User{UPN: "bob@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	_, err := v.m.CreateUser(v.admin, passkeyd.User{UPN: "BOB@contoso.com"})
	wantCode(t, err, passkeyd.EConflict)

	_, err = v.m.CreateUser(v.admin, passkeyd.User{UPN: "nope", EntraObjectID: "x", PolicyID: "p"})
	wantCode(t, err, passkeyd.EInvalid)
	if f := fieldsOf(err); !f["upn"] || !f["entra_object_id"] {
		t.Errorf("fields %v", passkeyd.ErrorFields(err))
	}
	_, err = v.m.CreateUser(v.admin, passkeyd.User{UPN: "carol@contoso.com", PolicyID: "missing"})
	wantCode(t, err, passkeyd.EInvalid)
	if !fieldsOf(err)["policy_id"] {
		t.Errorf("fields %v", passkeyd.ErrorFields(err))
	}
}

func TestCreateInvitationTTL(t *testing.T) {
	v := newTestManager(t)
	u := v.alice(t)
	tests := []struct {
		ttl     time.Duration
		wantErr bool
		wantExp time.Duration
	}{
		{0, false, 24 * time.Hour}, // the default
		{manager.MinInvitationTTL - time.Second, true, 0},
		{manager.MinInvitationTTL, false, manager.MinInvitationTTL},
		{manager.MaxInvitationTTL, false, manager.MaxInvitationTTL},
		{manager.MaxInvitationTTL + time.Second, true, 0},
		{-time.Hour, true, 0},
	}
	for _, tt := range tests {
		inv, code, err := v.m.CreateInvitation(v.admin, u.ID, tt.ttl)
		if tt.wantErr {
			wantCode(t, err, passkeyd.EInvalid)
			continue
		}
		if err != nil {
			t.Fatalf("ttl %v: %v", tt.ttl, err)
		}
		if !inv.ExpiresAt.Equal(t0.Add(tt.wantExp)) {
			t.Errorf("ttl %v: expires %v, want %v", tt.ttl, inv.ExpiresAt, t0.Add(tt.wantExp))
		}
		if len(code.Reveal()) != 24 || strings.Count(code.Reveal(), "-") != 4 {
			t.Errorf("code %q is not 5 groups of 4", code.Reveal())
		}
	}
	_, _, err := v.m.CreateInvitation(v.admin, "no-such-user", time.Hour)
	wantCode(t, err, passkeyd.ENotFound)
}

func TestRegisterDeviceCodes(t *testing.T) {
	info := passkeyd.DeviceInfo{Name: "phone"}
	tests := []struct {
		name string
		// use turns the issued code into what is typed, and may move
		// the clock or use the code first.
		use  func(t *testing.T, v *testEnv, code passkeyd.Secret) passkeyd.Secret
		want passkeyd.ErrorCode // "" means registered
	}{
		{"as issued", func(_ *testing.T, _ *testEnv, c passkeyd.Secret) passkeyd.Secret { return c }, ""},
		{"lower case without dashes", func(_ *testing.T, _ *testEnv, c passkeyd.Secret) passkeyd.Secret {
			return passkeyd.Secret(strings.ToLower(strings.ReplaceAll(c.Reveal(), "-", "")))
		}, ""},
		{"spaces instead of dashes", func(_ *testing.T, _ *testEnv, c passkeyd.Secret) passkeyd.Secret {
			return passkeyd.Secret(strings.ReplaceAll(c.Reveal(), "-", " "))
		}, ""},
		{"used twice", func(t *testing.T, v *testEnv, c passkeyd.Secret) passkeyd.Secret {
			if _, _, err := v.m.RegisterDevice(context.Background(), c, info); err != nil {
				t.Fatalf("first use: %v", err)
			}
			return c
		}, passkeyd.EGone},
		{"expired", func(_ *testing.T, v *testEnv, c passkeyd.Secret) passkeyd.Secret {
			v.clk.Advance(time.Hour + time.Second)
			return c
		}, passkeyd.EGone},
		{"unknown", func(_ *testing.T, _ *testEnv, _ passkeyd.Secret) passkeyd.Secret {
			return "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"
		}, passkeyd.EUnauthorized},
		{"empty", func(_ *testing.T, _ *testEnv, _ passkeyd.Secret) passkeyd.Secret { return "" }, passkeyd.EInvalid},
		{"too long", func(_ *testing.T, _ *testEnv, _ passkeyd.Secret) passkeyd.Secret {
			return passkeyd.Secret(strings.Repeat("A", 65))
		}, passkeyd.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestManager(t)
			u := v.alice(t)
			_, code, err := v.m.CreateInvitation(v.admin, u.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			typed := tt.use(t, v, code)
			d, tok, err := v.m.RegisterDevice(context.Background(), typed, info)
			if tt.want != "" {
				wantCode(t, err, tt.want)
				if fails := v.auditEvents(t, "device.registration_failed"); tt.want != passkeyd.EInvalid && len(fails) != 1 {
					t.Errorf("%d device.registration_failed events, want 1", len(fails))
				}
				return
			}
			if err != nil {
				t.Fatalf("RegisterDevice: %v", err)
			}
			if d.UserID != u.ID || d.State != passkeyd.DeviceActive {
				t.Errorf("device %+v", d)
			}
			got, err := v.m.AuthenticateDevice(context.Background(), tok)
			if err != nil || got.ID != d.ID {
				t.Errorf("AuthenticateDevice = %+v, %v", got, err)
			}
			evs := v.auditEvents(t, "device.registered")
			if len(evs) != 1 || evs[0].Actor != "device:"+d.ID {
				t.Errorf("device.registered events %+v", evs)
			}
		})
	}
}

func TestDeviceStatusNextStep(t *testing.T) {
	tests := []struct {
		mode    passkeyd.PolicyMode
		enroll  bool
		skip    bool
		want    string
		skipErr passkeyd.ErrorCode
	}{
		{mode: passkeyd.PolicyOff, want: passkeyd.NextDone},
		{mode: passkeyd.PolicyOff, skip: true, skipErr: passkeyd.EConflict, want: passkeyd.NextDone},
		{mode: passkeyd.PolicyOptional, want: passkeyd.NextMayEnroll},
		{mode: passkeyd.PolicyOptional, skip: true, want: passkeyd.NextDone},
		{mode: passkeyd.PolicyOptional, enroll: true, want: passkeyd.NextDone},
		{mode: passkeyd.PolicyRequired, want: passkeyd.NextEnrollPasskey},
		{mode: passkeyd.PolicyRequired, skip: true, skipErr: passkeyd.EConflict, want: passkeyd.NextEnrollPasskey},
		{mode: passkeyd.PolicyRequired, enroll: true, want: passkeyd.NextDone},
	}
	for _, tt := range tests {
		name := string(tt.mode)
		if tt.enroll {
			name += "/with passkey"
		}
		if tt.skip {
			name += "/skipped"
		}
		t.Run(name, func(t *testing.T) {
			v := newTestManager(t)
			v.connect(t)
			d := v.newDevice(t)
			if tt.enroll {
				v.setPolicy(t, passkeyd.PolicyRequired)
				v.enroll(t, d)
			}
			v.setPolicy(t, tt.mode)
			if tt.skip {
				err := v.m.SkipEnrollment(deviceCtx(d), d.ID)
				wantCode(t, err, tt.skipErr)
			}
			st, err := v.m.DeviceStatus(deviceCtx(d), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.NextStep != tt.want || st.Policy != tt.mode {
				t.Errorf("next_step=%q policy=%q, want %q %q", st.NextStep, st.Policy, tt.want, tt.mode)
			}
			if tt.enroll != (len(st.Passkeys) == 1) {
				t.Errorf("%d passkeys in status", len(st.Passkeys))
			}
		})
	}

	t.Run("removed device", func(t *testing.T) {
		v := newTestManager(t)
		d := v.newDevice(t)
		if _, _, err := v.m.RemoveDevice(v.admin, d.ID); err != nil {
			t.Fatal(err)
		}
		_, err := v.m.DeviceStatus(deviceCtx(d), d.ID)
		wantCode(t, err, passkeyd.EGone)
		_, _, err = v.m.RemoveDevice(v.admin, d.ID)
		wantCode(t, err, passkeyd.EConflict)
	})
}
