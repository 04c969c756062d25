package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// CreateInvitation inserts inv (ID assigned when empty); ENotFound if its
// user does not exist.
func (db *DB) CreateInvitation(ctx context.Context, inv *passkeyd.Invitation, ev passkeyd.AuditEvent) error {
	const op = "sqlite.CreateInvitation"
	id, err := newID(inv.ID)
	if err != nil {
		return opError(op, err)
	}
	inv.ID = id
	if len(inv.CodeHash) == 0 {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "invitation code hash is required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		inv.CreatedAt = orNow(inv.CreatedAt, t.now)
		_, err := t.tx.ExecContext(ctx, `INSERT INTO invitations (id, user_id, code_hash, expires_at, used_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			inv.ID, inv.UserID, inv.CodeHash, fmtTime(inv.ExpiresAt), fmtTimePtr(inv.UsedAt), fmtTime(inv.CreatedAt))
		if err != nil {
			return mapError(err, "could not create the invitation", "", "user not found")
		}
		t.audit(ev)
		return nil
	})
}

// RegisterDevice consumes the unused, unexpired invitation whose code hash
// is codeHash and inserts d for its user.
func (db *DB) RegisterDevice(ctx context.Context, codeHash []byte, now time.Time, d *passkeyd.Device, ev passkeyd.AuditEvent) error {
	const op = "sqlite.RegisterDevice"
	id, err := newID(d.ID)
	if err != nil {
		return opError(op, err)
	}
	if len(d.TokenHash) == 0 {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "device token hash is required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		var invID, userID, expires string
		var used sql.NullString
		err := t.tx.QueryRowContext(ctx, `SELECT id, user_id, expires_at, used_at FROM invitations WHERE code_hash = ?`,
			codeHash).Scan(&invID, &userID, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return passkeyd.Errorf(passkeyd.ENotFound, "invitation code not found")
		}
		if err != nil {
			return dbError(err, "could not read the invitation")
		}
		if used.Valid {
			return passkeyd.Errorf(passkeyd.EGone, "invitation code already used")
		}
		exp, err := parseTime(expires)
		if err != nil {
			return dbError(err, "could not read the invitation")
		}
		if !now.Before(exp) {
			return passkeyd.Errorf(passkeyd.EGone, "invitation code expired")
		}
		at := orNow(now, t.now)
		// The WHERE re-checks "unused" so that the code is consumed once
		// even if this ran on a store without serialised writers.
		res, err := t.tx.ExecContext(ctx, `UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL`,
			fmtTime(at), invID)
		if err != nil {
			return dbError(err, "could not consume the invitation")
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return passkeyd.Errorf(passkeyd.EGone, "invitation code already used")
		}
		d.ID = id
		d.UserID = userID
		if d.State == "" {
			d.State = passkeyd.DeviceActive
		}
		d.CreatedAt = orNow(d.CreatedAt, at)
		d.UpdatedAt = orNow(d.UpdatedAt, at)
		_, err = t.tx.ExecContext(ctx, `INSERT INTO devices (`+deviceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.UserID, d.Name, d.Platform, d.Model, d.TokenHash, string(d.State),
			fmtTime(d.CreatedAt), fmtTime(d.UpdatedAt), fmtTimePtr(d.RemovedAt), fmtTimePtr(d.EnrollmentSkippedAt))
		if err != nil {
			return mapError(err, "could not register the device", "", "user not found")
		}
		t.audit(ev)
		return nil
	})
}

const deviceColumns = `id, user_id, name, platform, model, token_hash, state, created_at, updated_at, removed_at, enrollment_skipped_at`

func scanDevice(r rowScanner) (passkeyd.Device, error) {
	var d passkeyd.Device
	var created, updated string
	var removed, skipped sql.NullString
	err := r.Scan(&d.ID, &d.UserID, &d.Name, &d.Platform, &d.Model, &d.TokenHash, &d.State, &created, &updated, &removed, &skipped)
	if err == nil {
		d.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		d.UpdatedAt, err = parseTime(updated)
	}
	if err == nil {
		d.RemovedAt, err = parseTimePtr(removed)
	}
	if err == nil {
		d.EnrollmentSkippedAt, err = parseTimePtr(skipped)
	}
	return d, err
}

// Device returns the device id.
func (db *DB) Device(ctx context.Context, id string) (*passkeyd.Device, error) {
	d, err := scanDevice(db.rd.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id))
	if err != nil {
		return nil, opError("sqlite.Device", mapError(err, "could not read the device", "device not found", ""))
	}
	return &d, nil
}

// DeviceByTokenHash returns the device whose token hash is h, in any state.
func (db *DB) DeviceByTokenHash(ctx context.Context, h []byte) (*passkeyd.Device, error) {
	d, err := scanDevice(db.rd.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = ?`, h))
	if err != nil {
		return nil, opError("sqlite.DeviceByTokenHash", mapError(err, "could not read the device", "device not found", ""))
	}
	return &d, nil
}

// Devices lists devices ordered by ID after the cursor.
func (db *DB) Devices(ctx context.Context, f passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
	const op = "sqlite.Devices"
	if err := checkFilter("user_id", f.UserID, "state", string(f.State), "cursor", f.Cursor); err != nil {
		return nil, opError(op, err)
	}
	q := `SELECT ` + deviceColumns + ` FROM devices WHERE id > ?`
	args := []any{f.Cursor}
	if f.UserID != "" {
		q += ` AND user_id = ?`
		args = append(args, f.UserID)
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, pageLimit(f.Limit))
	ds, err := queryAll(ctx, db.rd, scanDevice, q, args...)
	if err != nil {
		return nil, opError(op, dbError(err, "could not list devices"))
	}
	return ds, nil
}

// RemoveDevice marks an active device removed and moves each of its live
// passkeys to revoking, with one "passkey.revoke_requested" event and one
// JobRevokePasskey each, in one transaction.
func (db *DB) RemoveDevice(ctx context.Context, id string, now time.Time, ev passkeyd.AuditEvent) (*passkeyd.Device, []passkeyd.Passkey, error) {
	const op = "sqlite.RemoveDevice"
	var dev passkeyd.Device
	var moved []passkeyd.Passkey
	err := db.write(ctx, op, func(t *txn) error {
		moved = nil // a batch's writes may run twice (see commitBatch)
		at := orNow(now, t.now)
		res, err := t.tx.ExecContext(ctx, `UPDATE devices SET state = 'removed', removed_at = ?, updated_at = ?
			WHERE id = ? AND state = 'active'`, fmtTime(at), fmtTime(at), id)
		if err != nil {
			return dbError(err, "could not remove the device")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return dbError(err, "could not remove the device")
		}
		dev, err = scanDevice(t.tx.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id))
		if err != nil {
			return mapError(err, "could not read the device", "device not found", "")
		}
		if n == 0 {
			return passkeyd.Errorf(passkeyd.EConflict, "device already removed")
		}
		t.audit(ev)

		live, err := queryAll(ctx, t.tx, scanPasskey, `SELECT `+passkeyColumns+` FROM passkeys
			WHERE device_id = ? AND state IN (`+liveStatesSQL()+`) ORDER BY id`, id)
		if err != nil {
			return dbError(err, "could not read the device's passkeys")
		}
		for _, p := range live {
			from := p.State
			_, err := t.tx.ExecContext(ctx, `UPDATE passkeys SET state = 'revoking', updated_at = ? WHERE id = ? AND state = ?`,
				fmtTime(at), p.ID, string(from))
			if err != nil {
				return dbError(err, "could not revoke the device's passkeys")
			}
			p.State = passkeyd.PasskeyRevoking
			p.UpdatedAt = at
			moved = append(moved, p)
			t.audit(passkeyd.AuditEvent{
				Time:       at,
				Actor:      ev.Actor,
				Action:     "passkey.revoke_requested",
				TargetType: "passkey",
				TargetID:   p.ID,
				Outcome:    passkeyd.OutcomeSuccess,
				Reason:     "device removed",
				RequestID:  ev.RequestID,
				Details:    revokeDetails(dev.ID, from),
			})
			t.enqueue(passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: p.ID})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &dev, moved, nil
}

// SkipEnrollment records that the user of an active device declined an
// optional passkey.
func (db *DB) SkipEnrollment(ctx context.Context, deviceID string, now time.Time, ev passkeyd.AuditEvent) error {
	const op = "sqlite.SkipEnrollment"
	return db.write(ctx, op, func(t *txn) error {
		at := orNow(now, t.now)
		res, err := t.tx.ExecContext(ctx, `UPDATE devices SET enrollment_skipped_at = ?, updated_at = ?
			WHERE id = ? AND state = 'active'`, fmtTime(at), fmtTime(at), deviceID)
		if err != nil {
			return dbError(err, "could not record the skipped enrollment")
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err, "could not record the skipped enrollment")
		} else if n == 0 {
			var state string
			err := t.tx.QueryRowContext(ctx, `SELECT state FROM devices WHERE id = ?`, deviceID).Scan(&state)
			if err != nil {
				return mapError(err, "could not read the device", "device not found", "")
			}
			return passkeyd.Errorf(passkeyd.EConflict, "the device was removed")
		}
		t.audit(ev)
		return nil
	})
}

// CancelInvitations marks every unused invitation of userID as used at
// now, so its code registers nothing; ev is recorded when any was.
func (db *DB) CancelInvitations(ctx context.Context, userID string, now time.Time, ev passkeyd.AuditEvent) (int, error) {
	var n int64
	err := db.write(ctx, "sqlite.CancelInvitations", func(t *txn) error {
		var users int
		if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, userID).Scan(&users); err != nil {
			return dbError(err, "could not read the user")
		}
		if users == 0 {
			return passkeyd.Errorf(passkeyd.ENotFound, "user not found")
		}
		res, err := t.tx.ExecContext(ctx, `UPDATE invitations SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, fmtTime(now), userID)
		if err != nil {
			return dbError(err, "could not cancel the invitations")
		}
		if n, err = res.RowsAffected(); err != nil {
			return dbError(err, "could not cancel the invitations")
		}
		if n > 0 {
			t.audit(ev)
		}
		return nil
	})
	return int(n), err
}
