package audit

import (
	"context"
	"fmt"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Problems Verify reports, at the start of AuditReport.Problem.
const (
	ProblemHashMismatch = "hash mismatch"
	ProblemBrokenLink   = "broken link to previous record"
	ProblemSequenceGap  = "sequence gap"
)

// PageFunc returns up to limit events with Seq greater than afterSeq, in
// ascending Seq order; an empty page ends the chain.
type PageFunc func(ctx context.Context, afterSeq int64, limit int) ([]passkeyd.AuditEvent, error)

// VerifyPageSize is how many events Verify asks for at a time.
const VerifyPageSize = 500

// Verify walks the whole chain from record 1 and checks, for each record in
// turn, that its Seq follows the previous one, that its PrevHash is the
// previous record's Hash (GenesisHash for record 1) and that its Hash is
// right. It stops at the first bad record and reports its Seq and the
// problem. An error is returned only when the events cannot be read; a
// broken chain is a report with OK false. A chain cut short at its tail
// still verifies (see the package doc).
func Verify(ctx context.Context, next PageFunc) (*passkeyd.AuditReport, error) {
	return walk(ctx, next, 0, GenesisHash, nil)
}

// walk verifies the chain after record seen, whose hash is prev, as Verify
// does. visit, when not nil, sees each record that passed the chain
// checks and may report a problem of its own, which stops the walk at that
// record. rep.Events counts the records that passed, from seen on.
func walk(ctx context.Context, next PageFunc, seen int64, prev string, visit func(ev *passkeyd.AuditEvent) string) (*passkeyd.AuditReport, error) {
	rep := &passkeyd.AuditReport{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		page, err := next(ctx, seen, VerifyPageSize)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: read events after seq %d: %w", seen, err)
		}
		if len(page) == 0 {
			break
		}
		for i := range page {
			ev := &page[i]
			problem := check(ev, seen+1, prev)
			if problem == "" && visit != nil {
				problem = visit(ev)
			}
			if problem != "" {
				rep.FirstBadSeq = ev.Seq
				rep.Problem = problem
				rep.LastHash = prev
				return rep, nil
			}
			seen = ev.Seq
			prev = ev.Hash
			rep.Events++
		}
	}
	rep.OK = true
	if rep.Events > 0 {
		rep.LastHash = prev
	}
	return rep, nil
}

// check returns what is wrong with ev, expected at seq after a record
// whose hash is prev, or "".
func check(ev *passkeyd.AuditEvent, seq int64, prev string) string {
	if ev.Seq != seq {
		return fmt.Sprintf("%s: expected seq %d, found %d", ProblemSequenceGap, seq, ev.Seq)
	}
	if ev.PrevHash != prev {
		return fmt.Sprintf("%s: prev_hash is %q, previous record's hash is %q", ProblemBrokenLink, ev.PrevHash, prev)
	}
	want, err := Hash(ev)
	if err != nil {
		return fmt.Sprintf("%s: %v", ProblemHashMismatch, err)
	}
	if ev.Hash != want {
		return fmt.Sprintf("%s: stored %q, computed %q", ProblemHashMismatch, ev.Hash, want)
	}
	return ""
}
