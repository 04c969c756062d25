package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

// appendAudit seals and inserts the transaction's audit events after the
// last record.
//
// Several nodes write at once, so reading the last record and appending
// after it must be one step: the transaction first locks the one row of
// audit_chain (SELECT … FOR UPDATE), which makes every other appender wait
// until it commits or rolls back. Under READ COMMITTED the next statement
// then sees the records the previous holder committed, so Seq = last+1 and
// PrevHash = last hash never fork or leave a gap. A row lock was chosen
// over pg_advisory_xact_lock because it belongs to the schema (several
// passkeyd installations or test schemas in one database do not block one
// another, and no advisory key can collide with another application's or
// River's), and it is taken at the end of the transaction, after the
// domain rows, so every transaction takes locks in the same order: there
// is no deadlock, and the chain is held only for the appends and commit.
func appendAudit(ctx context.Context, t *txn) error {
	if len(t.evs) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `SELECT singleton FROM audit_chain FOR UPDATE`); err != nil {
		return dbError(err, "could not lock the audit log")
	}
	var seq int64
	var prev string
	err := t.tx.QueryRow(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return dbError(err, "could not read the audit log")
	}
	for i := range t.evs {
		ev := &t.evs[i]
		seq++
		ev.Seq = seq
		if ev.Time.IsZero() {
			ev.Time = t.now
		}
		if err := audit.Seal(prev, ev); err != nil {
			return err
		}
		_, err := t.tx.Exec(ctx, `INSERT INTO audit_events
			(seq, time, actor, action, target_type, target_id, outcome, reason,
			 request_id, client_request_id, details, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			ev.Seq, ev.Time, ev.Actor, ev.Action, ev.TargetType, ev.TargetID, ev.Outcome, ev.Reason,
			ev.RequestID, ev.ClientRequestID, nullString(string(ev.Details)), ev.PrevHash, ev.Hash)
		if err != nil {
			return dbError(err, "could not write the audit log")
		}
		prev = ev.Hash
	}
	return nil
}

// AppendAudit writes events that accompany no other change.
func (db *DB) AppendAudit(ctx context.Context, evs ...passkeyd.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return db.write(ctx, "postgres.AppendAudit", func(t *txn) error {
		t.audit(evs...)
		return nil
	})
}

const auditColumns = `seq, time, actor, action, target_type, target_id, outcome,
	reason, request_id, client_request_id, details, prev_hash, hash`

func scanAuditEvent(r rowScanner) (passkeyd.AuditEvent, error) {
	var ev passkeyd.AuditEvent
	var details *string
	err := r.Scan(&ev.Seq, &ev.Time, &ev.Actor, &ev.Action, &ev.TargetType, &ev.TargetID, &ev.Outcome,
		&ev.Reason, &ev.RequestID, &ev.ClientRequestID, &details, &ev.PrevHash, &ev.Hash)
	ev.Time = ev.Time.UTC()
	if details != nil {
		ev.Details = []byte(*details)
	}
	return ev, err
}

// AuditEvents lists events after f.AfterSeq in ascending Seq order.
func (db *DB) AuditEvents(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
	const op = "postgres.AuditEvents"
	if f.AfterSeq < 0 {
		return nil, opError(op, passkeyd.Errorf(passkeyd.EInvalid, "after_seq must not be negative"))
	}
	if err := checkFilter("action", f.Action, "target_type", f.TargetType, "target_id", f.TargetID); err != nil {
		return nil, opError(op, err)
	}
	var a args
	where := []string{"seq > " + a.add(f.AfterSeq)}
	for _, c := range []struct{ col, val string }{
		{"action", f.Action}, {"target_type", f.TargetType}, {"target_id", f.TargetID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = "+a.add(c.val))
		}
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY seq LIMIT ` + a.add(pageLimit(f.Limit))
	evs, err := queryAll(ctx, db.pool, scanAuditEvent, q, a...)
	if err != nil {
		return nil, opError(op, dbError(err, "could not read the audit log"))
	}
	return evs, nil
}
