package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
)

const passkeyColumns = `id, user_id, device_id, enrollment_id, graph_method_id, credential_id, aaguid,
	display_name, attestation_level, passkey_type, state, last_error, created_at, updated_at, revoked_at`

func scanPasskey(r rowScanner) (passkeyd.Passkey, error) {
	var p passkeyd.Passkey
	var method, revoked sql.NullString
	var created, updated string
	err := r.Scan(&p.ID, &p.UserID, &p.DeviceID, &p.EnrollmentID, &method, &p.CredentialID, &p.AAGUID,
		&p.DisplayName, &p.AttestationLevel, &p.PasskeyType, &p.State, &p.LastError, &created, &updated, &revoked)
	p.GraphMethodID = method.String
	if err == nil {
		p.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		p.UpdatedAt, err = parseTime(updated)
	}
	if err == nil {
		p.RevokedAt, err = parseTimePtr(revoked)
	}
	return p, err
}

// allPasskeyStates lists every state, to derive the live ones from
// PasskeyState.Live rather than repeat its list here.
var allPasskeyStates = []passkeyd.PasskeyState{
	passkeyd.PasskeyRegistering, passkeyd.PasskeyActive, passkeyd.PasskeyUnknown, passkeyd.PasskeyFailed,
	passkeyd.PasskeyRevoking, passkeyd.PasskeyRevoked, passkeyd.PasskeyRevokeFailed, passkeyd.PasskeyMissing,
}

// liveStatesSQL is the live states as a SQL list of literals (the state
// names are constants of the domain, never input).
func liveStatesSQL() string {
	var q []string
	for _, s := range allPasskeyStates {
		if s.Live() {
			q = append(q, "'"+string(s)+"'")
		}
	}
	return strings.Join(q, ", ")
}

func revokeDetails(deviceID string, from passkeyd.PasskeyState) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"device_id": deviceID, "from_state": string(from)})
	return b
}

// insertPasskey inserts p inside t.
func insertPasskey(ctx context.Context, t *txn, p *passkeyd.Passkey) error {
	p.CreatedAt = orNow(p.CreatedAt, t.now)
	p.UpdatedAt = orNow(p.UpdatedAt, t.now)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.DeviceID, p.EnrollmentID, nullString(p.GraphMethodID), p.CredentialID, p.AAGUID,
		p.DisplayName, p.AttestationLevel, p.PasskeyType, string(p.State), p.LastError,
		fmtTime(p.CreatedAt), fmtTime(p.UpdatedAt), fmtTimePtr(p.RevokedAt))
	if err != nil {
		return mapError(err, "could not save the passkey", "", "the passkey's user, device or enrollment does not exist")
	}
	return nil
}

// updatePasskey saves p inside t if its stored state is expect; ENotFound
// or EConflict otherwise. UpdatedAt is set to the transaction's time.
func updatePasskey(ctx context.Context, t *txn, p *passkeyd.Passkey, expect passkeyd.PasskeyState) error {
	p.UpdatedAt = t.now
	res, err := t.tx.ExecContext(ctx, `UPDATE passkeys SET graph_method_id = ?, credential_id = ?, aaguid = ?,
		display_name = ?, attestation_level = ?, passkey_type = ?, state = ?, last_error = ?, updated_at = ?,
		revoked_at = ? WHERE id = ? AND state = ?`,
		nullString(p.GraphMethodID), p.CredentialID, p.AAGUID, p.DisplayName, p.AttestationLevel, p.PasskeyType,
		string(p.State), p.LastError, fmtTime(p.UpdatedAt), fmtTimePtr(p.RevokedAt), p.ID, string(expect))
	if err != nil {
		return dbError(err, "could not save the passkey")
	}
	return casResult(ctx, t, res, "passkeys", "passkey", p.ID, string(expect))
}

// casResult turns a compare-and-set UPDATE that changed no row into
// ENotFound (no such row) or EConflict naming the state found.
func casResult(ctx context.Context, t *txn, res sql.Result, table, what, id, expect string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(err, "could not save the "+what)
	}
	if n == 1 {
		return nil
	}
	var state string
	// table is a constant of this package, never input.
	err = t.tx.QueryRowContext(ctx, `SELECT state FROM `+table+` WHERE id = ?`, id).Scan(&state)
	if err != nil {
		return mapError(err, "could not read the "+what, what+" not found", "")
	}
	return passkeyd.Errorf(passkeyd.EConflict, "%s is %s, not %s: it changed meanwhile", what, state, expect)
}

// Passkey returns the passkey id.
func (db *DB) Passkey(ctx context.Context, id string) (*passkeyd.Passkey, error) {
	p, err := scanPasskey(db.rd.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
	if err != nil {
		return nil, opError("sqlite.Passkey", mapError(err, "could not read the passkey", "passkey not found", ""))
	}
	return &p, nil
}

// Passkeys lists passkeys ordered by ID after the cursor; AAGUID matches
// case-insensitively.
func (db *DB) Passkeys(ctx context.Context, f passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
	const op = "sqlite.Passkeys"
	if err := checkFilter("user_id", f.UserID, "device_id", f.DeviceID, "state", string(f.State),
		"aaguid", f.AAGUID, "cursor", f.Cursor); err != nil {
		return nil, opError(op, err)
	}
	q := `SELECT ` + passkeyColumns + ` FROM passkeys WHERE id > ?`
	args := []any{f.Cursor}
	for _, c := range []struct{ col, val string }{
		{"user_id", f.UserID}, {"device_id", f.DeviceID}, {"state", string(f.State)}, {"aaguid", f.AAGUID},
	} {
		if c.val != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.val)
		}
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, pageLimit(f.Limit))
	ps, err := queryAll(ctx, db.rd, scanPasskey, q, args...)
	if err != nil {
		return nil, opError(op, dbError(err, "could not list passkeys"))
	}
	return ps, nil
}

// UpdatePasskey saves p if the stored state is expect, else EConflict,
// and enqueues jobs with it.
func (db *DB) UpdatePasskey(ctx context.Context, p *passkeyd.Passkey, expect passkeyd.PasskeyState, ev passkeyd.AuditEvent, jobs ...passkeyd.Job) error {
	return db.write(ctx, "sqlite.UpdatePasskey", func(t *txn) error {
		if err := updatePasskey(ctx, t, p, expect); err != nil {
			return err
		}
		t.audit(ev)
		t.enqueue(jobs...)
		return nil
	})
}
