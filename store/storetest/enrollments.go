package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func testEnrollment(t *testing.T, e *env) {
	u := e.user()
	d := e.device(u)
	en := e.enrollment(d)
	got, err := e.s.Enrollment(e.ctx, en.ID)
	if err != nil {
		t.Fatalf("Enrollment: %v", err)
	}
	if got.UserID != u.ID || got.DeviceID != d.ID || got.State != passkeyd.EnrollmentOptionsIssued ||
		!got.ChallengeExpiresAt.Equal(en.ChallengeExpiresAt) || !bytes.Equal(got.OptionsHash, en.OptionsHash) ||
		got.ChallengeDigest != en.ChallengeDigest || got.RPID != en.RPID || got.PasskeyID != "" {
		t.Errorf("Enrollment = %+v, want %+v", got, en)
	}
	_, err = e.s.Enrollment(e.ctx, "nope")
	wantCode(t, "Enrollment(unknown)", err, passkeyd.ENotFound, "enrollment not found")
	err = e.s.CreateEnrollment(e.ctx, &passkeyd.Enrollment{UserID: u.ID, DeviceID: "nope", State: passkeyd.EnrollmentOptionsIssued,
		ChallengeExpiresAt: t0}, ev("enrollment.created", "device", "nope"))
	wantCode(t, "CreateEnrollment(unknown device)", err, passkeyd.ENotFound, "")

	// BeginRegistration: options_issued → registering, passkey inserted.
	p := &passkeyd.Passkey{UserID: u.ID, DeviceID: d.ID, CredentialID: "cred-A", AAGUID: "aaguid-1", DisplayName: "pk"}
	if err := e.s.BeginRegistration(e.ctx, en, p, ev("passkey.registering", "passkey", "")); err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	if p.ID == "" || p.State != passkeyd.PasskeyRegistering || p.EnrollmentID != en.ID || en.PasskeyID != p.ID {
		t.Errorf("after BeginRegistration passkey %+v, enrollment %+v", p, en)
	}
	if got, _ := e.s.Enrollment(e.ctx, en.ID); got == nil || got.State != passkeyd.EnrollmentRegistering || got.PasskeyID != p.ID {
		t.Errorf("stored enrollment = %+v, want registering with passkey %s", got, p.ID)
	}
	if got, _ := e.s.Passkey(e.ctx, p.ID); got == nil || got.State != passkeyd.PasskeyRegistering || got.CredentialID != "cred-A" {
		t.Errorf("stored passkey = %+v, want registering", got)
	}

	before := len(e.events())
	en2 := *en
	p2 := &passkeyd.Passkey{UserID: u.ID, DeviceID: d.ID, CredentialID: "cred-B"}
	err = e.s.BeginRegistration(e.ctx, &en2, p2, ev("passkey.registering", "passkey", ""))
	wantCode(t, "BeginRegistration(already registering)", err, passkeyd.EConflict, "")
	if _, err := e.s.Passkeys(e.ctx, passkeyd.PasskeyFilter{DeviceID: d.ID}); err != nil {
		t.Fatal(err)
	}
	if ps, _ := e.s.Passkeys(e.ctx, passkeyd.PasskeyFilter{DeviceID: d.ID}); len(ps) != 1 {
		t.Errorf("%d passkeys after a refused BeginRegistration, want 1", len(ps))
	}
	e.unchangedAudit("refused BeginRegistration", before)

	// UpdateEnrollment is compare-and-set.
	stale := *en
	stale.Error = "late"
	stale.State = passkeyd.EnrollmentExpired
	err = e.s.UpdateEnrollment(e.ctx, &stale, passkeyd.EnrollmentOptionsIssued, ev("enrollment.expired", "enrollment", en.ID))
	wantCode(t, "UpdateEnrollment(wrong expected state)", err, passkeyd.EConflict, "")
	missing := passkeyd.Enrollment{ID: "nope", State: passkeyd.EnrollmentFailed, ChallengeExpiresAt: t0}
	err = e.s.UpdateEnrollment(e.ctx, &missing, passkeyd.EnrollmentOptionsIssued, ev("enrollment.failed", "enrollment", "nope"))
	wantCode(t, "UpdateEnrollment(unknown)", err, passkeyd.ENotFound, "enrollment not found")
	e.unchangedAudit("refused UpdateEnrollment", before)

	// FinishRegistration saves both, with its events and jobs.
	en.State = passkeyd.EnrollmentCompleted
	p.State = passkeyd.PasskeyActive
	p.GraphMethodID = "method-A"
	p.AttestationLevel = "attested"
	p.PasskeyType = "deviceBound"
	evs := []passkeyd.AuditEvent{ev("passkey.registered", "passkey", p.ID), ev("enrollment.completed", "enrollment", en.ID)}
	job := passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: p.ID}
	if err := e.s.FinishRegistration(e.ctx, en, p, evs, job); err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if got, _ := e.s.Passkey(e.ctx, p.ID); got == nil || got.State != passkeyd.PasskeyActive || got.GraphMethodID != "method-A" ||
		got.AttestationLevel != "attested" || got.PasskeyType != "deviceBound" {
		t.Errorf("stored passkey = %+v, want active with method-A", got)
	}
	if got, _ := e.s.Enrollment(e.ctx, en.ID); got == nil || got.State != passkeyd.EnrollmentCompleted {
		t.Errorf("stored enrollment = %+v, want completed", got)
	}
	if jobs := e.rec.Jobs(); len(jobs) != 1 || jobs[0] != job {
		t.Errorf("jobs = %+v, want [%+v]", jobs, job)
	}
	if n := len(e.events()) - before; n != 2 {
		t.Errorf("FinishRegistration wrote %d events, want 2", n)
	}
	before = len(e.events())
	err = e.s.FinishRegistration(e.ctx, en, p, evs)
	wantCode(t, "FinishRegistration(again)", err, passkeyd.EConflict, "")
	e.unchangedAudit("refused FinishRegistration", before)

	// A passkey in registering with its enrollment elsewhere: FinishRegistration
	// must roll back the enrollment update when the passkey check fails.
	en3 := e.enrollment(d)
	p3 := &passkeyd.Passkey{UserID: u.ID, DeviceID: d.ID, CredentialID: "cred-C"}
	if err := e.s.BeginRegistration(e.ctx, en3, p3, ev("passkey.registering", "passkey", "")); err != nil {
		t.Fatal(err)
	}
	p3.State = passkeyd.PasskeyUnknown
	if err := e.s.UpdatePasskey(e.ctx, p3, passkeyd.PasskeyRegistering, ev("passkey.unknown", "passkey", p3.ID)); err != nil {
		t.Fatal(err)
	}
	en3.State = passkeyd.EnrollmentCompleted
	p3.State = passkeyd.PasskeyActive
	err = e.s.FinishRegistration(e.ctx, en3, p3, nil)
	wantCode(t, "FinishRegistration(passkey no longer registering)", err, passkeyd.EConflict, "")
	if got, _ := e.s.Enrollment(e.ctx, en3.ID); got == nil || got.State != passkeyd.EnrollmentRegistering {
		t.Errorf("enrollment after rolled-back FinishRegistration = %+v, want registering", got)
	}
	e.verifyChain()
}

func testPasskeys(t *testing.T, e *env) {
	alice, bob := e.user(), e.user()
	ad, bd := e.device(alice), e.device(bob)
	a1 := e.passkey(ad, passkeyd.PasskeyActive)
	a2 := e.passkey(ad, passkeyd.PasskeyRevoked)
	b1 := e.passkey(bd, passkeyd.PasskeyActive)
	b1.AAGUID = "DE1E552D-DB1D-4423-A619-566B625CDC84"
	b1.State = passkeyd.PasskeyActive
	if err := e.s.UpdatePasskey(e.ctx, b1, passkeyd.PasskeyActive, ev("passkey.updated", "passkey", b1.ID)); err != nil {
		t.Fatal(err)
	}
	ids := func(ps []passkeyd.Passkey) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.ID)
		}
		return fmt.Sprint(s)
	}
	cases := []struct {
		name string
		f    passkeyd.PasskeyFilter
		want []*passkeyd.Passkey
	}{
		{"all", passkeyd.PasskeyFilter{}, []*passkeyd.Passkey{a1, a2, b1}},
		{"user", passkeyd.PasskeyFilter{UserID: alice.ID}, []*passkeyd.Passkey{a1, a2}},
		{"device", passkeyd.PasskeyFilter{DeviceID: bd.ID}, []*passkeyd.Passkey{b1}},
		{"state", passkeyd.PasskeyFilter{State: passkeyd.PasskeyActive}, []*passkeyd.Passkey{a1, b1}},
		{"user and state", passkeyd.PasskeyFilter{UserID: alice.ID, State: passkeyd.PasskeyRevoked}, []*passkeyd.Passkey{a2}},
		{"aaguid any case", passkeyd.PasskeyFilter{AAGUID: "de1e552d-db1d-4423-a619-566b625cdc84"}, []*passkeyd.Passkey{b1}},
		{"cursor and limit", passkeyd.PasskeyFilter{Page: passkeyd.Page{Cursor: a1.ID, Limit: 1}}, []*passkeyd.Passkey{a2}},
	}
	for _, tc := range cases {
		ps, err := e.s.Passkeys(e.ctx, tc.f)
		if err != nil {
			t.Errorf("Passkeys(%s): %v", tc.name, err)
			continue
		}
		var want []passkeyd.Passkey
		for _, p := range tc.want {
			want = append(want, *p)
		}
		if ids(ps) != ids(want) {
			t.Errorf("Passkeys(%s) = %s, want %s", tc.name, ids(ps), ids(want))
		}
	}
	got, err := e.s.Passkey(e.ctx, a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != alice.ID || got.DeviceID != ad.ID || got.EnrollmentID != a1.EnrollmentID || got.CredentialID != a1.CredentialID ||
		got.GraphMethodID != a1.GraphMethodID || got.DisplayName != a1.DisplayName || got.AAGUID != a1.AAGUID ||
		got.CreatedAt.IsZero() || !got.CreatedAt.Equal(a1.CreatedAt) {
		t.Errorf("Passkey = %+v, want %+v", got, a1)
	}
	_, err = e.s.Passkey(e.ctx, "nope")
	wantCode(t, "Passkey(unknown)", err, passkeyd.ENotFound, "passkey not found")

	en := e.enrollment(ad)
	dup := &passkeyd.Passkey{UserID: alice.ID, DeviceID: ad.ID, CredentialID: a1.CredentialID}
	err = e.s.BeginRegistration(e.ctx, en, dup, ev("passkey.registering", "passkey", ""))
	wantCode(t, "BeginRegistration(duplicate credential ID)", err, passkeyd.EConflict, "a passkey with this credential ID already exists")
	if got, _ := e.s.Enrollment(e.ctx, en.ID); got == nil || got.State != passkeyd.EnrollmentOptionsIssued {
		t.Errorf("enrollment after a refused BeginRegistration = %+v, want options_issued", got)
	}
}

func testUpdatePasskey(t *testing.T, e *env) {
	d := e.device(e.user())
	p := e.passkey(d, passkeyd.PasskeyActive)
	before := len(e.events())

	p.State = passkeyd.PasskeyRevoking
	err := e.s.UpdatePasskey(e.ctx, p, passkeyd.PasskeyUnknown, ev("passkey.revoke_requested", "passkey", p.ID))
	wantCode(t, "UpdatePasskey(wrong expected state)", err, passkeyd.EConflict, "")
	ghost := &passkeyd.Passkey{ID: "nope", State: passkeyd.PasskeyRevoked}
	err = e.s.UpdatePasskey(e.ctx, ghost, passkeyd.PasskeyActive, ev("passkey.revoked", "passkey", "nope"))
	wantCode(t, "UpdatePasskey(unknown)", err, passkeyd.ENotFound, "passkey not found")
	e.unchangedAudit("refused UpdatePasskey", before)
	if len(e.rec.Jobs()) != 0 {
		t.Errorf("refused UpdatePasskey enqueued %v", e.rec.Jobs())
	}

	job := passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: p.ID}
	if err := e.s.UpdatePasskey(e.ctx, p, passkeyd.PasskeyActive, ev("passkey.revoke_requested", "passkey", p.ID), job); err != nil {
		t.Fatalf("UpdatePasskey: %v", err)
	}
	if jobs := e.rec.Jobs(); len(jobs) != 1 || jobs[0] != job {
		t.Errorf("jobs = %+v, want [%+v]", jobs, job)
	}
	revokedAt := t0.Add(time.Hour)
	p.State = passkeyd.PasskeyRevoked
	p.RevokedAt = &revokedAt
	p.LastError = ""
	if err := e.s.UpdatePasskey(e.ctx, p, passkeyd.PasskeyRevoking, ev("passkey.revoked", "passkey", p.ID)); err != nil {
		t.Fatalf("UpdatePasskey: %v", err)
	}
	got, err := e.s.Passkey(e.ctx, p.ID)
	if err != nil || got.State != passkeyd.PasskeyRevoked || got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) ||
		!got.UpdatedAt.Equal(p.UpdatedAt) {
		t.Errorf("Passkey = %+v, %v; want revoked at %v", got, err, revokedAt)
	}

	// A failing enqueuer rolls the update back.
	e.rec.SetFail(fmt.Errorf("queue is down"))
	p.State = passkeyd.PasskeyRevoking
	err = e.s.UpdatePasskey(e.ctx, p, passkeyd.PasskeyRevoked, ev("passkey.revoke_requested", "passkey", p.ID), job)
	if err == nil {
		t.Fatal("UpdatePasskey with a failing enqueuer succeeded")
	}
	if got, _ := e.s.Passkey(e.ctx, p.ID); got == nil || got.State != passkeyd.PasskeyRevoked {
		t.Errorf("passkey after rollback = %+v, want revoked", got)
	}
}
