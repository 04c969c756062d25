package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

// appendAudit seals and inserts the transaction's audit events after the
// last record, read inside the same transaction: the IMMEDIATE lock makes
// the read and the appends one step of a linear chain.
func appendAudit(ctx context.Context, t *txn) error {
	if len(t.evs) == 0 {
		return nil
	}
	var seq int64
	var prev string
	err := t.tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
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
		_, err := t.tx.ExecContext(ctx, `INSERT INTO audit_events
			(seq, time, actor, action, target_type, target_id, outcome, reason,
			 request_id, client_request_id, details, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ev.Seq, fmtTime(ev.Time), ev.Actor, ev.Action, ev.TargetType, ev.TargetID, ev.Outcome, ev.Reason,
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
	return db.write(ctx, "sqlite.AppendAudit", func(t *txn) error {
		t.audit(evs...)
		return nil
	})
}

// AuditEvents lists events after f.AfterSeq in ascending Seq order.
func (db *DB) AuditEvents(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
	const op = "sqlite.AuditEvents"
	if f.AfterSeq < 0 {
		return nil, opError(op, passkeyd.Errorf(passkeyd.EInvalid, "after_seq must not be negative"))
	}
	where := []string{"seq > ?"}
	args := []any{f.AfterSeq}
	for _, c := range []struct{ col, val string }{
		{"action", f.Action}, {"target_type", f.TargetType}, {"target_id", f.TargetID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	args = append(args, pageLimit(f.Limit))
	rows, err := db.rd.QueryContext(ctx, `SELECT seq, time, actor, action, target_type, target_id, outcome,
		reason, request_id, client_request_id, details, prev_hash, hash
		FROM audit_events WHERE `+strings.Join(where, " AND ")+` ORDER BY seq LIMIT ?`, args...)
	if err != nil {
		return nil, opError(op, dbError(err, "could not read the audit log"))
	}
	defer rows.Close()
	var evs []passkeyd.AuditEvent
	for rows.Next() {
		var ev passkeyd.AuditEvent
		var tm string
		var details sql.NullString
		if err := rows.Scan(&ev.Seq, &tm, &ev.Actor, &ev.Action, &ev.TargetType, &ev.TargetID, &ev.Outcome,
			&ev.Reason, &ev.RequestID, &ev.ClientRequestID, &details, &ev.PrevHash, &ev.Hash); err != nil {
			return nil, opError(op, dbError(err, "could not read the audit log"))
		}
		if ev.Time, err = parseTime(tm); err != nil {
			return nil, opError(op, dbError(fmt.Errorf("audit record %d: %w", ev.Seq, err), "could not read the audit log"))
		}
		if details.Valid {
			ev.Details = []byte(details.String)
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, opError(op, dbError(err, "could not read the audit log"))
	}
	return evs, nil
}
