package manager_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/entraemu"
)

func TestEnrollmentHappyPath(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	eo, cred := v.begin(t, d)
	if !eo.ExpiresAt.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("ExpiresAt %v, want the emulator's challenge timeout %v", eo.ExpiresAt, t0.Add(5*time.Minute))
	}
	pk, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	if err != nil {
		t.Fatal(err)
	}
	if pk.State != passkeyd.PasskeyActive || pk.GraphMethodID == "" || pk.DeviceID != d.ID {
		t.Errorf("passkey %+v", pk)
	}
	if pk.AAGUID != authenticator.DefaultAAGUID || pk.CredentialID != cred.ID || pk.DisplayName != "passkeyd Alice's phone" {
		t.Errorf("passkey AAGUID=%q credential=%q name=%q", pk.AAGUID, pk.CredentialID, pk.DisplayName)
	}
	ms := v.methods()
	if len(ms) != 1 || ms[0].ID != pk.GraphMethodID || ms[0].DisplayName != pk.DisplayName {
		t.Fatalf("emulator methods %+v, want the passkey's %s", ms, pk.GraphMethodID)
	}
	if e := v.enrollment(t, eo.EnrollmentID); e.State != passkeyd.EnrollmentCompleted || e.PasskeyID != pk.ID {
		t.Errorf("enrollment %+v", e)
	}
	started, registered := v.auditEvents(t, "passkey.registration_started"), v.auditEvents(t, "passkey.registered")
	if len(started) != 1 || len(registered) != 1 {
		t.Fatalf("%d started, %d registered events", len(started), len(registered))
	}
	if registered[0].ClientRequestID == "" || registered[0].ClientRequestID != started[0].ClientRequestID {
		t.Errorf("client_request_id started=%q registered=%q, want equal and set", started[0].ClientRequestID, registered[0].ClientRequestID)
	}
	if iss := v.auditEvents(t, "enrollment.options_issued"); len(iss) != 1 || iss[0].ClientRequestID == "" || iss[0].Actor != "device:"+d.ID {
		t.Errorf("enrollment.options_issued %+v", iss)
	}

	// Replaying the completed enrollment is refused and creates nothing.
	_, err = v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	wantCode(t, err, passkeyd.EConflict)
	if n := len(v.methods()); n != 1 {
		t.Errorf("%d methods after a replay, want 1", n)
	}

	// Another device cannot finish this device's enrollment.
	other := v.newDevice(t)
	_, err = v.m.FinishEnrollment(deviceCtx(other), other.ID, eo.EnrollmentID, cred)
	wantCode(t, err, passkeyd.ENotFound)
	_, err = v.m.FinishEnrollment(deviceCtx(d), d.ID, "no-such-enrollment", cred)
	wantCode(t, err, passkeyd.ENotFound)

	rep, err := v.m.VerifyAudit(v.admin)
	if err != nil || !rep.OK {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
}

func TestBeginEnrollmentRefusals(t *testing.T) {
	v := newTestManager(t)
	d := v.newDevice(t)
	_, err := v.m.BeginEnrollment(deviceCtx(d), d.ID)
	wantCode(t, err, passkeyd.EConflict) // policy off

	v.setPolicy(t, passkeyd.PolicyRequired)
	_, err = v.m.BeginEnrollment(deviceCtx(d), d.ID)
	wantCode(t, err, passkeyd.EUnavailable) // connector disabled

	v.connect(t)
	if _, _, err := v.m.UpdatePolicy(v.admin, passkeyd.Policy{ID: passkeyd.DefaultPolicyID, Name: "Default", EntraPasskey: passkeyd.PolicyRequired, MaxPasskeysPerUser: 1}); err != nil {
		t.Fatal(err)
	}
	v.enroll(t, d)
	_, err = v.m.BeginEnrollment(deviceCtx(d), d.ID)
	wantCode(t, err, passkeyd.EConflict) // at the per-user maximum
}

func TestFinishEnrollmentPolicyTurnedOff(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyOptional)
	d := v.newDevice(t)
	eo, cred := v.begin(t, d)
	v.setPolicy(t, passkeyd.PolicyOff)
	_, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	wantCode(t, err, passkeyd.EConflict)
	if n := len(v.methods()); n != 0 {
		t.Errorf("%d methods at the emulator, want 0", n)
	}
}

func TestFinishEnrollmentExpired(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	eo, cred := v.begin(t, d)
	v.clk.Advance(eo.ExpiresAt.Sub(t0))
	_, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	wantCode(t, err, passkeyd.EGone)
	if e := v.enrollment(t, eo.EnrollmentID); e.State != passkeyd.EnrollmentExpired {
		t.Errorf("enrollment state %q, want expired", e.State)
	}
	_, err = v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	wantCode(t, err, passkeyd.EGone)
	if n := v.emu.Stats().GraphCalls[entraemu.OpCreate]; n != 0 {
		t.Errorf("%d create calls, want 0", n)
	}
}

// Options issued by a node of the version before challenge digests (a
// rolling upgrade) hold no digest: completing them asks for new options
// and calls nothing in Entra.
func TestFinishEnrollmentIssuedBeforeDigests(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	eo, cred := v.begin(t, d)
	if _, err := v.db.SQL().Exec(`UPDATE enrollments SET challenge_digest = '' WHERE id = ?`, eo.EnrollmentID); err != nil {
		t.Fatal(err)
	}
	_, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	wantCode(t, err, passkeyd.EGone)
	if !strings.Contains(passkeyd.ErrorMessage(err), "request new options") {
		t.Errorf("message %q; want it to ask for new options", passkeyd.ErrorMessage(err))
	}
	if n := v.emu.Stats().GraphCalls[entraemu.OpCreate]; n != 0 {
		t.Errorf("%d create calls, want 0", n)
	}
}

func TestFinishEnrollmentPrecheck(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	eo, good := v.begin(t, d)

	// A second authenticator's credential for the same options, made
	// with a wrong origin.
	badOrigin, err := authenticator.New().MakeCredential(eo.PublicKey, authenticator.WithOrigin("https://evil.example"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cred passkeyd.Credential
		want passkeyd.ErrorCode
		msg  string
	}{
		{"wrong challenge", editClientData(t, good, "challenge", "AAAA"), passkeyd.EUnprocessable, "challenge"},
		{"wrong origin", badOrigin.Credential(), passkeyd.EUnprocessable, "origin"},
		{"wrong type", editClientData(t, good, "type", "webauthn.get"), passkeyd.EUnprocessable, "type"},
		{"cross origin", editClientData(t, good, "crossOrigin", true), passkeyd.EUnprocessable, "crossOrigin"},
		{"UV clear", editAttestation(t, good, func(a *attObj) { a.AuthData[32] &^= 0x04 }), passkeyd.EUnprocessable, "UV"},
		{"UP clear", editAttestation(t, good, func(a *attObj) { a.AuthData[32] &^= 0x01 }), passkeyd.EUnprocessable, "UP"},
		{"rpIdHash", editAttestation(t, good, func(a *attObj) { a.AuthData[0] ^= 0xff }), passkeyd.EUnprocessable, "rpIdHash"},
		{"credential ID mismatch", func() passkeyd.Credential { c := good; c.ID = b64([]byte("another credential id")); return c }(), passkeyd.EUnprocessable, "credential ID"},
		{"not CBOR", func() passkeyd.Credential { c := good; c.AttestationObject = b64([]byte("garbage")); return c }(), passkeyd.EUnprocessable, "cannot be parsed"},
		// Undecodable fields are malformed input (400), not a rejected credential.
		{"garbage base64 id", func() passkeyd.Credential { c := good; c.ID = "!!!not base64!!!"; return c }(), passkeyd.EInvalid, ""},
		{"garbage base64 client data", func() passkeyd.Credential { c := good; c.ClientDataJSON = "%%%"; return c }(), passkeyd.EInvalid, ""},
		{"missing attestation", func() passkeyd.Credential { c := good; c.AttestationObject = ""; return c }(), passkeyd.EInvalid, ""},
		{"extension results not an object", func() passkeyd.Credential { c := good; c.ClientExtensionResults = []byte(`[1]`); return c }(), passkeyd.EInvalid, ""},
		{"client data too large", func() passkeyd.Credential { c := good; c.ClientDataJSON = strings.Repeat("A", 64<<10); return c }(), passkeyd.EInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, tt.cred)
			wantCode(t, err, tt.want)
			if !strings.Contains(passkeyd.ErrorMessage(err), tt.msg) {
				t.Errorf("message %q does not mention %q", passkeyd.ErrorMessage(err), tt.msg)
			}
			if pks, _ := v.m.Passkeys(v.admin, passkeyd.PasskeyFilter{DeviceID: d.ID}); len(pks) != 0 {
				t.Errorf("%d passkeys stored", len(pks))
			}
			if e := v.enrollment(t, eo.EnrollmentID); e.State != passkeyd.EnrollmentOptionsIssued {
				t.Errorf("enrollment state %q, want options_issued", e.State)
			}
		})
	}
	if n := v.emu.Stats().GraphCalls[entraemu.OpCreate]; n != 0 {
		t.Errorf("%d create calls reached the emulator, want 0", n)
	}
	if n := len(v.auditEvents(t, "enrollment.credential_rejected")); n != len(tests) {
		t.Errorf("%d credential_rejected events, want %d", n, len(tests))
	}
	// The untampered credential still works afterwards.
	if _, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, good); err != nil {
		t.Fatalf("the good credential after rejected ones: %v", err)
	}
}

func TestFinishEnrollmentEmulatorRejects(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	eo, good := v.begin(t, d)
	bad := editAttestation(t, good, func(a *attObj) {
		sig, ok := a.AttStmt["sig"].([]byte)
		if !ok || a.Fmt != "packed" {
			t.Fatalf("attestation is %q with attStmt %v, want packed with sig", a.Fmt, a.AttStmt)
		}
		sig[len(sig)-1] ^= 0x01
	})
	_, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, bad)
	wantCode(t, err, passkeyd.EUnprocessable)
	pks, err := v.m.Passkeys(v.admin, passkeyd.PasskeyFilter{DeviceID: d.ID})
	if err != nil || len(pks) != 1 {
		t.Fatalf("passkeys %+v, %v", pks, err)
	}
	if pks[0].State != passkeyd.PasskeyFailed || !strings.Contains(pks[0].LastError, "HTTP 400") {
		t.Errorf("passkey state %q last_error %q, want failed with HTTP 400", pks[0].State, pks[0].LastError)
	}
	if e := v.enrollment(t, eo.EnrollmentID); e.State != passkeyd.EnrollmentFailed {
		t.Errorf("enrollment state %q, want failed", e.State)
	}
	if n := len(v.methods()); n != 0 {
		t.Errorf("%d methods at the emulator", n)
	}
	if evs := v.auditEvents(t, "passkey.registration_failed"); len(evs) != 1 || evs[0].Outcome != passkeyd.OutcomeFailure || evs[0].ClientRequestID == "" {
		t.Errorf("registration_failed events %+v", evs)
	}
	// A failed passkey does not count: the device is asked to enroll again.
	st, err := v.m.DeviceStatus(deviceCtx(d), d.ID)
	if err != nil || st.NextStep != passkeyd.NextEnrollPasskey {
		t.Errorf("status %+v, %v", st, err)
	}
}

func TestFinishEnrollmentCreateFaults(t *testing.T) {
	tests := []struct {
		name         string
		fault        entraemu.Fault
		wantCode     passkeyd.ErrorCode
		wantState    passkeyd.PasskeyState
		wantMethods  int
		wantAuditAct string
	}{
		{"500 after the method was created", entraemu.Fault{Op: entraemu.OpCreate, Status: 500, AfterHandler: true, Count: 1},
			passkeyd.EUpstream, passkeyd.PasskeyUnknown, 1, "passkey.registration_unknown"},
		{"503 before anything was created", entraemu.Fault{Op: entraemu.OpCreate, Status: 503, Count: 1},
			passkeyd.EUpstream, passkeyd.PasskeyUnknown, 0, "passkey.registration_unknown"},
		{"429 throttled", entraemu.Fault{Op: entraemu.OpCreate, Status: 429, RetryAfter: 3 * time.Second, Count: 1},
			passkeyd.ERateLimited, passkeyd.PasskeyFailed, 0, "passkey.registration_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestManager(t)
			v.connect(t)
			v.setPolicy(t, passkeyd.PolicyRequired)
			d := v.newDevice(t)
			eo, cred := v.begin(t, d)
			if err := v.emu.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			_, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
			wantCode(t, err, tt.wantCode)
			pks, _ := v.m.Passkeys(v.admin, passkeyd.PasskeyFilter{DeviceID: d.ID})
			if len(pks) != 1 || pks[0].State != tt.wantState {
				t.Fatalf("passkeys %+v, want one %s", pks, tt.wantState)
			}
			if e := v.enrollment(t, eo.EnrollmentID); e.State != passkeyd.EnrollmentFailed {
				t.Errorf("enrollment state %q, want failed", e.State)
			}
			if evs := v.auditEvents(t, tt.wantAuditAct); len(evs) != 1 || evs[0].Outcome != passkeyd.OutcomeFailure {
				t.Errorf("%s events %+v", tt.wantAuditAct, evs)
			}
			// Never created twice: finishing again sends nothing.
			_, err = v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
			wantCode(t, err, passkeyd.EGone)
			if n := v.emu.Stats().GraphCalls[entraemu.OpCreate]; n != 1 {
				t.Errorf("%d create calls, want 1", n)
			}
			if n := len(v.methods()); n != tt.wantMethods {
				t.Errorf("%d methods at the emulator, want %d", n, tt.wantMethods)
			}
			// An unknown passkey counts as present; a failed one does not.
			st, err := v.m.DeviceStatus(deviceCtx(d), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := passkeyd.NextEnrollPasskey
			if tt.wantState == passkeyd.PasskeyUnknown {
				want = passkeyd.NextDone
			}
			if st.NextStep != want {
				t.Errorf("next_step %q, want %q", st.NextStep, want)
			}
		})
	}
}

// TestResolveUnknownPasskey settles unknown create outcomes by listing the
// user's methods: found → active with the method's ID; absent once Graph
// has settled → failed; never a second create.
func TestResolveUnknownPasskey(t *testing.T) {
	tests := []struct {
		name      string
		fault     entraemu.Fault
		wantState passkeyd.PasskeyState
	}{
		{"created despite the 500", entraemu.Fault{Op: entraemu.OpCreate, Status: 500, AfterHandler: true, Count: 1}, passkeyd.PasskeyActive},
		{"never created (503)", entraemu.Fault{Op: entraemu.OpCreate, Status: 503, Count: 1}, passkeyd.PasskeyFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestManager(t)
			v.connect(t)
			v.setPolicy(t, passkeyd.PolicyRequired)
			d := v.newDevice(t)
			eo, cred := v.begin(t, d)
			if err := v.emu.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			if _, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred); err == nil {
				t.Fatal("FinishEnrollment succeeded despite the fault")
			}
			pks, _ := v.m.Passkeys(v.admin, passkeyd.PasskeyFilter{DeviceID: d.ID})
			pk := pks[0]
			if jobs := v.jobs.all(); len(jobs) == 0 || jobs[len(jobs)-1] != (passkeyd.Job{Kind: passkeyd.JobResolvePasskey, PasskeyID: pk.ID}) {
				t.Fatalf("jobs %+v, want a resolution job for %s", jobs, pk.ID)
			}
			err := v.m.ResolvePasskey(context.Background(), pk.ID)
			if tt.wantState == passkeyd.PasskeyFailed {
				// Graph may not list a new method yet: absence is only
				// believed once it has had time to settle.
				var rl *passkeyd.RetryLater
				if !errors.As(err, &rl) {
					t.Fatalf("ResolvePasskey right away = %v, want RetryLater", err)
				}
				v.clk.Advance(11 * time.Minute)
				err = v.m.ResolvePasskey(context.Background(), pk.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := v.passkey(t, pk.ID)
			if got.State != tt.wantState {
				t.Fatalf("state %s, want %s (%s)", got.State, tt.wantState, got.LastError)
			}
			methods := v.methods()
			if tt.wantState == passkeyd.PasskeyActive && (len(methods) != 1 || methods[0].ID != got.GraphMethodID) {
				t.Errorf("method ID %q, emulator holds %+v", got.GraphMethodID, methods)
			}
			if n := v.emu.Stats().GraphCalls[entraemu.OpCreate]; n != 1 {
				t.Errorf("%d create calls, want exactly 1", n)
			}
			// Idempotent: a settled passkey is left alone.
			if err := v.m.ResolvePasskey(context.Background(), pk.ID); err != nil || v.passkey(t, pk.ID).State != tt.wantState {
				t.Errorf("second resolution changed the passkey: %v", err)
			}
		})
	}
}

// TestSweepInterruptedRegistration: a node that stops between recording
// the intent and the outcome leaves the passkey registering. The sweep
// leaves young ones alone (their node may still finish), then hands stale
// ones to resolution, which settles them by listing — never a second
// create — whether or not Entra created the method.
func TestSweepInterruptedRegistration(t *testing.T) {
	for _, tt := range []struct {
		name      string
		created   bool
		wantState passkeyd.PasskeyState
	}{
		{"died after Entra created it", true, passkeyd.PasskeyActive},
		{"died before the create", false, passkeyd.PasskeyFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestManager(t)
			v.connect(t)
			v.setPolicy(t, passkeyd.PolicyRequired)
			d := v.newDevice(t)
			eo, cred := v.begin(t, d)
			type crash struct{}
			die := func() { panic(crash{}) }
			v.mu.Lock()
			if tt.created {
				v.afterCreate = die
			} else {
				v.beforeCreate = die
			}
			v.mu.Unlock()
			func() {
				defer func() {
					if _, ok := recover().(crash); !ok {
						t.Fatal("the node did not die in the create")
					}
				}()
				v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred) //nolint:errcheck // it panics
			}()
			pks, _ := v.m.Passkeys(v.admin, passkeyd.PasskeyFilter{DeviceID: d.ID})
			if len(pks) != 1 || pks[0].State != passkeyd.PasskeyRegistering {
				t.Fatalf("after the crash: %+v, want one passkey registering", pks)
			}
			pk := pks[0]

			// Young: its node may still be working on it.
			if n, err := v.m.SweepRegistrations(context.Background()); err != nil || n != 0 {
				t.Fatalf("sweep of a young registration = %d, %v; want 0", n, err)
			}
			v.clk.Advance(11 * time.Minute)
			if n, err := v.m.SweepRegistrations(context.Background()); err != nil || n != 1 {
				t.Fatalf("sweep = %d, %v; want 1", n, err)
			}
			if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyUnknown {
				t.Fatalf("after the sweep: %s, want unknown", got.State)
			}
			if e := v.enrollment(t, eo.EnrollmentID); e.State != passkeyd.EnrollmentFailed {
				t.Errorf("enrollment %s, want failed", e.State)
			}
			if jobs := v.jobs.all(); len(jobs) == 0 || jobs[len(jobs)-1] != (passkeyd.Job{Kind: passkeyd.JobResolvePasskey, PasskeyID: pk.ID}) {
				t.Fatalf("jobs %+v, want a resolution job for %s", jobs, pk.ID)
			}
			if n, err := v.m.SweepRegistrations(context.Background()); err != nil || n != 0 {
				t.Errorf("second sweep = %d, %v; want 0", n, err)
			}
			if err := v.m.ResolvePasskey(context.Background(), pk.ID); err != nil {
				t.Fatal(err)
			}
			got := v.passkey(t, pk.ID)
			if got.State != tt.wantState {
				t.Fatalf("resolved to %s (%s), want %s", got.State, got.LastError, tt.wantState)
			}
			methods := v.methods()
			if tt.created && (len(methods) != 1 || got.GraphMethodID != methods[0].ID) {
				t.Errorf("method ID %q, emulator holds %+v", got.GraphMethodID, methods)
			}
			if n := v.emu.Stats().GraphCalls[entraemu.OpCreate]; n != map[bool]int{true: 1, false: 0}[tt.created] {
				t.Errorf("%d create calls", n)
			}
			if evs := v.auditEvents(t, "passkey.registration_interrupted"); len(evs) != 1 {
				t.Errorf("registration_interrupted events: %+v", evs)
			}
			if rep, err := v.m.VerifyAudit(v.admin); err != nil || !rep.OK {
				t.Errorf("VerifyAudit = %+v, %v", rep, err)
			}
		})
	}
}
