package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

var t0 = time.Date(2025, 11, 25, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))

// chain builds n sealed events, each distinct in every field.
func chain(t *testing.T, n int) []passkeyd.AuditEvent {
	t.Helper()
	evs := make([]passkeyd.AuditEvent, n)
	prev := ""
	for i := range evs {
		evs[i] = passkeyd.AuditEvent{
			Seq:             int64(i + 1),
			Time:            t0.Add(time.Duration(i) * time.Second),
			Actor:           "token:abc",
			Action:          "device.removed",
			TargetType:      "device",
			TargetID:        "dev-" + string(rune('a'+i%26)),
			Outcome:         passkeyd.OutcomeSuccess,
			Reason:          "offboarding",
			RequestID:       "req-1",
			ClientRequestID: "crid-1",
			Details:         json.RawMessage(`{ "b": 1, "a": [true, null, "x<y"] }`),
		}
		if err := audit.Seal(prev, &evs[i]); err != nil {
			t.Fatalf("Seal(%d): %v", i+1, err)
		}
		prev = evs[i].Hash
	}
	return evs
}

// pages serves evs as a store would, honouring afterSeq and limit.
func pages(evs []passkeyd.AuditEvent) audit.PageFunc {
	return func(_ context.Context, after int64, limit int) ([]passkeyd.AuditEvent, error) {
		var out []passkeyd.AuditEvent
		for _, ev := range evs {
			if ev.Seq > after && len(out) < limit {
				out = append(out, ev)
			}
		}
		return out, nil
	}
}

// inOrder serves evs in slice order regardless of Seq, as a store whose
// rows were renumbered would.
func inOrder(evs []passkeyd.AuditEvent) audit.PageFunc {
	served := false
	return func(context.Context, int64, int) ([]passkeyd.AuditEvent, error) {
		if served {
			return nil, nil
		}
		served = true
		return evs, nil
	}
}

func verify(t *testing.T, next audit.PageFunc) *passkeyd.AuditReport {
	t.Helper()
	rep, err := audit.Verify(context.Background(), next)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func TestSealNormalises(t *testing.T) {
	evs := chain(t, 1)
	ev := evs[0]
	if ev.PrevHash != audit.GenesisHash {
		t.Errorf("PrevHash = %q, want genesis", ev.PrevHash)
	}
	if ev.Time.Location() != time.UTC || ev.Time.Nanosecond() != 123456000 {
		t.Errorf("Time = %v, want UTC truncated to microseconds", ev.Time)
	}
	if got, want := string(ev.Details), `{"a":[true,null,"x<y"],"b":1}`; got != want {
		t.Errorf("Details = %s, want %s", got, want)
	}
	if len(ev.Hash) != 64 {
		t.Errorf("Hash = %q, want 64 hex characters", ev.Hash)
	}
}

// TestCanonicalIsDocumented pins the encoding the package doc describes,
// so that a change to it cannot go unnoticed by external verifiers.
func TestCanonicalIsDocumented(t *testing.T) {
	ev := passkeyd.AuditEvent{
		Seq: 7, Time: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC),
		Actor: "system", Action: "a.b", Outcome: "success",
		Details: json.RawMessage(`{"k":"v"}`),
	}
	got, err := audit.Canonical(&ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `17:passkeyd-audit-v1,1:7,27:2025-01-02T03:04:05.000006Z,6:system,3:a.b,0:,0:,7:success,0:,0:,0:,9:{"k":"v"},`
	if string(got) != want {
		t.Errorf("Canonical =\n%s\nwant\n%s", got, want)
	}
	if err := audit.Seal("", &ev); err != nil {
		t.Fatal(err)
	}
	// sha256(32 zero bytes || want), computed independently with
	// { head -c 32 /dev/zero; printf '%s' "$want"; } | sha256sum
	const wantHash = "c7ed082bdacff435aceb5fbbf915489fb3e122c07f9fe0ac7b44afe3a1d0adc8"
	if ev.Hash != wantHash {
		t.Errorf("Hash = %s, want %s", ev.Hash, wantHash)
	}
}

func TestVerifyIntactChain(t *testing.T) {
	for _, n := range []int{0, 1, 2, audit.VerifyPageSize, audit.VerifyPageSize*2 + 3} {
		evs := chain(t, n)
		rep := verify(t, pages(evs))
		if !rep.OK || rep.Events != int64(n) || rep.FirstBadSeq != 0 {
			t.Errorf("n=%d: report %+v, want OK with %d events", n, rep, n)
		}
		if n > 0 && rep.LastHash != evs[n-1].Hash {
			t.Errorf("n=%d: LastHash = %q, want %q", n, rep.LastHash, evs[n-1].Hash)
		}
	}
}

func TestVerifyTamperedField(t *testing.T) {
	tamper := []struct {
		field   string
		problem string
		change  func(ev *passkeyd.AuditEvent)
	}{
		{"seq", audit.ProblemSequenceGap, func(ev *passkeyd.AuditEvent) { ev.Seq += 100 }},
		{"time", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Time = ev.Time.Add(time.Microsecond) }},
		{"actor", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Actor = "system" }},
		{"action", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Action = "device.created" }},
		{"target_type", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.TargetType = "user" }},
		{"target_id", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.TargetID += "x" }},
		{"outcome", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Outcome = passkeyd.OutcomeFailure }},
		{"reason", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Reason = "" }},
		{"request_id", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.RequestID = "req-2" }},
		{"client_request_id", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.ClientRequestID = "" }},
		{"details", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Details = json.RawMessage(`{"a":[true,null,"x<y"],"b":2}`) }},
		{"details whitespace", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Details = append(ev.Details, ' ') }},
		{"prev_hash", audit.ProblemBrokenLink, func(ev *passkeyd.AuditEvent) { ev.PrevHash = strings.Repeat("1", 64) }},
		{"hash", audit.ProblemHashMismatch, func(ev *passkeyd.AuditEvent) { ev.Hash = strings.Repeat("f", 64) }},
	}
	const n = 5
	for _, tc := range tamper {
		for i := range n {
			evs := chain(t, n)
			tc.change(&evs[i])
			rep := verify(t, inOrder(evs))
			if rep.OK || rep.FirstBadSeq != evs[i].Seq || !strings.HasPrefix(rep.Problem, tc.problem) {
				t.Errorf("%s of record %d changed: report %+v, want first bad seq %d with %q",
					tc.field, i+1, rep, evs[i].Seq, tc.problem)
			}
			if rep.Events != int64(i) {
				t.Errorf("%s of record %d changed: %d events verified, want %d", tc.field, i+1, rep.Events, i)
			}
		}
	}
}

func TestVerifyDeletedRecord(t *testing.T) {
	evs := chain(t, 5)
	evs = append(evs[:2], evs[3:]...) // delete seq 3
	rep := verify(t, pages(evs))
	if rep.OK || rep.FirstBadSeq != 4 || !strings.HasPrefix(rep.Problem, audit.ProblemSequenceGap) {
		t.Errorf("report %+v, want sequence gap at seq 4", rep)
	}
}

func TestVerifyDeletedAndRenumbered(t *testing.T) {
	// An attacker who deletes record 3 and renumbers the later ones keeps
	// the sequence continuous; the link from the new record 3 breaks.
	evs := chain(t, 5)
	evs = append(evs[:2], evs[3:]...)
	for i := 2; i < len(evs); i++ {
		evs[i].Seq--
	}
	rep := verify(t, pages(evs))
	if rep.OK || rep.FirstBadSeq != 3 || !strings.HasPrefix(rep.Problem, audit.ProblemBrokenLink) {
		t.Errorf("report %+v, want broken link at seq 3", rep)
	}
}

func TestVerifyReordered(t *testing.T) {
	t.Run("served out of order", func(t *testing.T) {
		evs := chain(t, 5)
		evs[2], evs[3] = evs[3], evs[2]
		rep := verify(t, inOrder(evs))
		if rep.OK || rep.FirstBadSeq != 4 || !strings.HasPrefix(rep.Problem, audit.ProblemSequenceGap) {
			t.Errorf("report %+v, want sequence gap at seq 4", rep)
		}
	})
	t.Run("seq swapped", func(t *testing.T) {
		evs := chain(t, 5)
		evs[2], evs[3] = evs[3], evs[2]
		evs[2].Seq, evs[3].Seq = 3, 4
		rep := verify(t, pages(evs))
		if rep.OK || rep.FirstBadSeq != 3 || !strings.HasPrefix(rep.Problem, audit.ProblemBrokenLink) {
			t.Errorf("report %+v, want broken link at seq 3", rep)
		}
	})
}

func TestVerifyTruncatedTailStillVerifies(t *testing.T) {
	// Documented limitation: truncation needs external checkpoints.
	evs := chain(t, 5)
	rep := verify(t, pages(evs[:3]))
	if !rep.OK || rep.Events != 3 || rep.LastHash != evs[2].Hash {
		t.Errorf("report %+v, want OK with 3 events ending at %q", rep, evs[2].Hash)
	}
}

func TestVerifyReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := audit.Verify(context.Background(), func(context.Context, int64, int) ([]passkeyd.AuditEvent, error) {
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Verify error = %v, want %v", err, boom)
	}
}

func TestSealRejects(t *testing.T) {
	valid := func() passkeyd.AuditEvent {
		return passkeyd.AuditEvent{Seq: 1, Time: t0, Actor: "system", Action: "x.y", Outcome: "success"}
	}
	cases := []struct {
		name  string
		prev  string
		field string
		edit  func(ev *passkeyd.AuditEvent)
	}{
		{"no actor", "", "actor", func(ev *passkeyd.AuditEvent) { ev.Actor = "" }},
		{"no action", "", "action", func(ev *passkeyd.AuditEvent) { ev.Action = "" }},
		{"bad outcome", "", "outcome", func(ev *passkeyd.AuditEvent) { ev.Outcome = "ok" }},
		{"no seq", "", "seq", func(ev *passkeyd.AuditEvent) { ev.Seq = 0 }},
		{"no time", "", "time", func(ev *passkeyd.AuditEvent) { ev.Time = time.Time{} }},
		{"long reason", "", "reason", func(ev *passkeyd.AuditEvent) { ev.Reason = strings.Repeat("r", audit.MaxReasonSize+1) }},
		{"invalid utf-8", "", "target_id", func(ev *passkeyd.AuditEvent) { ev.TargetID = "\xff" }},
		{"NUL", "", "actor", func(ev *passkeyd.AuditEvent) { ev.Actor = "a\x00b" }},
		{"details not JSON", "", "details", func(ev *passkeyd.AuditEvent) { ev.Details = json.RawMessage(`{"a":`) }},
		{"details too large", "", "details", func(ev *passkeyd.AuditEvent) {
			ev.Details = json.RawMessage(`"` + strings.Repeat("d", audit.MaxDetailsSize) + `"`)
		}},
		{"bad prev hash", "abc", "", func(*passkeyd.AuditEvent) {}},
		{"upper-case prev hash", strings.Repeat("A", 64), "", func(*passkeyd.AuditEvent) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := valid()
			tc.edit(&ev)
			err := audit.Seal(tc.prev, &ev)
			if passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
				t.Fatalf("Seal error = %v, want EInvalid", err)
			}
			if ev.Hash != "" || ev.PrevHash != "" {
				t.Errorf("failed Seal left Hash %q PrevHash %q", ev.Hash, ev.PrevHash)
			}
			if tc.field != "" {
				fields := passkeyd.ErrorFields(err)
				if len(fields) != 1 || fields[0].Field != tc.field {
					t.Errorf("field errors = %+v, want one on %q", fields, tc.field)
				}
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Alice's iPhone", "Alice's iPhone"},
		{`C:\path ünïcode 日本`, `C:\path ünïcode 日本`},
		{"line\nbreak", `line\u000abreak`},
		{"esc\x1b[31mred", `esc\u001b[31mred`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`},
		{"sep\u2028bom\ufeff", `sep\u2028bom\ufeff`},
		{"c1\u0085", `c1\u0085`},
		{"bad\xffbyte", `bad\xffbyte`},
	}
	for _, tc := range cases {
		if got := audit.Sanitize(tc.in); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := audit.Sanitize(tc.in); !passkeyd.Printable(got) {
			t.Errorf("Sanitize(%q) = %q is not printable", tc.in, got)
		}
	}
}

func TestExport(t *testing.T) {
	evs := chain(t, 3)
	var b bytes.Buffer
	if err := audit.ExportJSONLines(&b, evs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), b.String())
	}
	var back []passkeyd.AuditEvent
	for _, l := range lines {
		var ev passkeyd.AuditEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		back = append(back, ev)
	}
	if !strings.Contains(lines[0], `"x<y"`) {
		t.Errorf("line %q: HTML characters escaped", lines[0])
	}
	// What was exported verifies on its own: an external tool can check it.
	if rep := verify(t, pages(back)); !rep.OK || rep.Events != 3 {
		t.Errorf("exported events: report %+v, want OK", rep)
	}

	b.Reset()
	last, err := audit.Export(context.Background(), &b, 1, pages(evs))
	if err != nil || last != 3 || strings.Count(b.String(), "\n") != 2 {
		t.Errorf("Export after 1 = %d, %v, %q; want 2 lines ending at 3", last, err, b.String())
	}
}
