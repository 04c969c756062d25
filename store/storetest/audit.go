package storetest

import (
	"encoding/json"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

func testAuditAppend(t *testing.T, e *env) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 7200))
	in := passkeyd.AuditEvent{
		Time: at, Actor: "device:abc", Action: "enrollment.failed", TargetType: "enrollment", TargetID: "e1",
		Outcome: passkeyd.OutcomeFailure, Reason: "Graph said no \u202e", RequestID: "r1", ClientRequestID: "c1",
		Details: json.RawMessage(`{"z": 1, "a": "<b>"}`),
	}
	second := ev("graph.call", "", "")
	if err := e.s.AppendAudit(e.ctx, in, second); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	evs := e.events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	got := evs[0]
	if got.Seq != 1 || evs[1].Seq != 2 || got.PrevHash != audit.GenesisHash || evs[1].PrevHash != got.Hash {
		t.Errorf("seqs %d, %d and links %q, %q: want 1, 2 chained from genesis", got.Seq, evs[1].Seq, got.PrevHash, evs[1].PrevHash)
	}
	if !got.Time.Equal(at.Truncate(time.Microsecond)) || got.Actor != in.Actor || got.Action != in.Action ||
		got.TargetType != in.TargetType || got.TargetID != in.TargetID || got.Outcome != in.Outcome ||
		got.Reason != in.Reason || got.RequestID != in.RequestID || got.ClientRequestID != in.ClientRequestID {
		t.Errorf("stored event = %+v, want %+v", got, in)
	}
	if string(got.Details) != `{"a":"<b>","z":1}` {
		t.Errorf("Details = %s, want the canonical form", got.Details)
	}
	if evs[1].Time.IsZero() || len(evs[1].Details) != 0 {
		t.Errorf("second event = %+v, want the store's time and no details", evs[1])
	}

	// An invalid event is refused and nothing of the batch is written.
	bad := ev("x.y", "", "")
	bad.Actor = ""
	err := e.s.AppendAudit(e.ctx, ev("ok.first", "", ""), bad)
	wantCode(t, "AppendAudit(no actor)", err, passkeyd.EInvalid, "")
	e.unchangedAudit("refused AppendAudit", 2)
	if err := e.s.AppendAudit(e.ctx); err != nil {
		t.Errorf("AppendAudit(): %v", err)
	}
	e.verifyChain()
}

func testAuditChain(t *testing.T, e *env) {
	u := e.user()
	d := e.device(u)
	e.passkey(d, passkeyd.PasskeyActive)
	e.passkey(d, passkeyd.PasskeyRegistering)
	if err := e.s.PutPolicy(e.ctx, &passkeyd.Policy{ID: "p", Name: "P", EntraPasskey: passkeyd.PolicyOptional},
		ev("policy.updated", "policy", "p")); err != nil {
		t.Fatal(err)
	}
	_ = e.s.CreateUser(e.ctx, &passkeyd.User{UPN: u.UPN}, ev("user.created", "user", "")) // conflict: no event
	if err := e.s.AppendAudit(e.ctx, ev("login.failed", "", "")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.RemoveDevice(e.ctx, d.ID, t0, ev("device.removed", "device", d.ID)); err != nil {
		t.Fatal(err)
	}
	evs := e.events()
	rep := e.verifyChain()
	if rep.Events != int64(len(evs)) || rep.LastHash != evs[len(evs)-1].Hash {
		t.Errorf("report %+v, want %d events ending at the last hash", rep, len(evs))
	}
	for i, x := range evs {
		if x.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, x.Seq)
		}
	}

	// Filters and the cursor.
	removed, err := e.s.AuditEvents(e.ctx, passkeyd.AuditFilter{Action: "passkey.revoke_requested"})
	if err != nil || len(removed) != 2 {
		t.Errorf("AuditEvents(action) = %d, %v; want 2", len(removed), err)
	}
	byTarget, err := e.s.AuditEvents(e.ctx, passkeyd.AuditFilter{TargetType: "device", TargetID: d.ID})
	if err != nil || len(byTarget) == 0 {
		t.Errorf("AuditEvents(target) = %d, %v", len(byTarget), err)
	}
	for _, x := range byTarget {
		if x.TargetType != "device" || x.TargetID != d.ID {
			t.Errorf("AuditEvents(target) returned %+v", x)
		}
	}
	page, err := e.s.AuditEvents(e.ctx, passkeyd.AuditFilter{AfterSeq: 3, Limit: 2})
	if err != nil || len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 5 {
		t.Errorf("AuditEvents(after 3, limit 2) = %+v, %v; want seqs 4 and 5", page, err)
	}
	_, err = e.s.AuditEvents(e.ctx, passkeyd.AuditFilter{AfterSeq: -1})
	wantCode(t, "AuditEvents(after -1)", err, passkeyd.EInvalid, "")
}
