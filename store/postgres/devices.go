package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	passkeyd "github.com/passkeyd/passkeyd"
)

// CreateInvitation inserts inv (ID assigned when empty); ENotFound if its
// user does not exist.
func (db *DB) CreateInvitation(ctx context.Context, inv *passkeyd.Invitation, ev passkeyd.AuditEvent) error {
	const op = "postgres.CreateInvitation"
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
		_, err := t.tx.Exec(ctx, `INSERT INTO invitations (id, user_id, code_hash, expires_at, used_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			inv.ID, inv.UserID, inv.CodeHash, ts(inv.ExpiresAt), tsPtr(inv.UsedAt), inv.CreatedAt)
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
	const op = "postgres.RegisterDevice"
	id, err := newID(d.ID)
	if err != nil {
		return opError(op, err)
	}
	if len(d.TokenHash) == 0 {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "device token hash is required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		var invID, userID string
		var expires time.Time
		var used *time.Time
		// FOR UPDATE: a second node redeeming the same code waits here
		// and then sees it used.
		err := t.tx.QueryRow(ctx, `SELECT id, user_id, expires_at, used_at FROM invitations
			WHERE code_hash = $1 FOR UPDATE`, codeHash).Scan(&invID, &userID, &expires, &used)
		if errors.Is(err, pgx.ErrNoRows) {
			return passkeyd.Errorf(passkeyd.ENotFound, "invitation code not found")
		}
		if err != nil {
			return dbError(err, "could not read the invitation")
		}
		if used != nil {
			return passkeyd.Errorf(passkeyd.EGone, "invitation code already used")
		}
		if !now.Before(expires) {
			return passkeyd.Errorf(passkeyd.EGone, "invitation code expired")
		}
		at := orNow(now, t.now)
		if _, err := t.tx.Exec(ctx, `UPDATE invitations SET used_at = $1 WHERE id = $2`, at, invID); err != nil {
			return dbError(err, "could not consume the invitation")
		}
		d.ID = id
		d.UserID = userID
		if d.State == "" {
			d.State = passkeyd.DeviceActive
		}
		d.CreatedAt = orNow(d.CreatedAt, at)
		d.UpdatedAt = orNow(d.UpdatedAt, at)
		_, err = t.tx.Exec(ctx, `INSERT INTO devices (`+deviceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			d.ID, d.UserID, d.Name, d.Platform, d.Model, d.TokenHash, string(d.State),
			d.CreatedAt, d.UpdatedAt, tsPtr(d.RemovedAt), tsPtr(d.EnrollmentSkippedAt))
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
	var removed, skipped *time.Time
	err := r.Scan(&d.ID, &d.UserID, &d.Name, &d.Platform, &d.Model, &d.TokenHash, &d.State,
		&d.CreatedAt, &d.UpdatedAt, &removed, &skipped)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	d.RemovedAt, d.EnrollmentSkippedAt = utcPtr(removed), utcPtr(skipped)
	return d, err
}

// Device returns the device id.
func (db *DB) Device(ctx context.Context, id string) (*passkeyd.Device, error) {
	d, err := scanDevice(db.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1`, id))
	if err != nil {
		return nil, opError("postgres.Device", mapError(err, "could not read the device", "device not found", ""))
	}
	return &d, nil
}

// DeviceByTokenHash returns the device whose token hash is h, in any state.
func (db *DB) DeviceByTokenHash(ctx context.Context, h []byte) (*passkeyd.Device, error) {
	d, err := scanDevice(db.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = $1`, h))
	if err != nil {
		return nil, opError("postgres.DeviceByTokenHash", mapError(err, "could not read the device", "device not found", ""))
	}
	return &d, nil
}

// Devices lists devices ordered by ID after the cursor.
func (db *DB) Devices(ctx context.Context, f passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
	const op = "postgres.Devices"
	if err := checkFilter("user_id", f.UserID, "state", string(f.State), "cursor", f.Cursor); err != nil {
		return nil, opError(op, err)
	}
	var a args
	q := `SELECT ` + deviceColumns + ` FROM devices WHERE id > ` + a.add(f.Cursor)
	if f.UserID != "" {
		q += ` AND user_id = ` + a.add(f.UserID)
	}
	if f.State != "" {
		q += ` AND state = ` + a.add(string(f.State))
	}
	q += ` ORDER BY id LIMIT ` + a.add(pageLimit(f.Limit))
	ds, err := queryAll(ctx, db.pool, scanDevice, q, a...)
	if err != nil {
		return nil, opError(op, dbError(err, "could not list devices"))
	}
	return ds, nil
}

// RemoveDevice marks an active device removed and moves each of its live
// passkeys to revoking, with one "passkey.revoke_requested" event and one
// JobRevokePasskey each, in one transaction.
func (db *DB) RemoveDevice(ctx context.Context, id string, now time.Time, ev passkeyd.AuditEvent) (*passkeyd.Device, []passkeyd.Passkey, error) {
	const op = "postgres.RemoveDevice"
	var dev passkeyd.Device
	var moved []passkeyd.Passkey
	err := db.write(ctx, op, func(t *txn) error {
		at := orNow(now, t.now)
		var err error
		dev, err = scanDevice(t.tx.QueryRow(ctx, `UPDATE devices SET state = 'removed', removed_at = $1, updated_at = $1
			WHERE id = $2 AND state = 'active' RETURNING `+deviceColumns, at, id))
		if errors.Is(err, pgx.ErrNoRows) {
			var state string
			err := t.tx.QueryRow(ctx, `SELECT state FROM devices WHERE id = $1`, id).Scan(&state)
			if err != nil {
				return mapError(err, "could not read the device", "device not found", "")
			}
			return passkeyd.Errorf(passkeyd.EConflict, "device already removed")
		}
		if err != nil {
			return dbError(err, "could not remove the device")
		}
		t.audit(ev)

		// FOR UPDATE: a concurrent UpdatePasskey on another node cannot
		// move one of them between this read and the updates below.
		live, err := queryAll(ctx, t.tx, scanPasskey, `SELECT `+passkeyColumns+` FROM passkeys
			WHERE device_id = $1 AND state IN (`+liveStatesSQL()+`) ORDER BY id FOR UPDATE`, id)
		if err != nil {
			return dbError(err, "could not read the device's passkeys")
		}
		for _, p := range live {
			from := p.State
			_, err := t.tx.Exec(ctx, `UPDATE passkeys SET state = 'revoking', updated_at = $1 WHERE id = $2`, at, p.ID)
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
	const op = "postgres.SkipEnrollment"
	return db.write(ctx, op, func(t *txn) error {
		at := orNow(now, t.now)
		tag, err := t.tx.Exec(ctx, `UPDATE devices SET enrollment_skipped_at = $1, updated_at = $1
			WHERE id = $2 AND state = 'active'`, at, deviceID)
		if err != nil {
			return dbError(err, "could not record the skipped enrollment")
		}
		if tag.RowsAffected() == 0 {
			var state string
			err := t.tx.QueryRow(ctx, `SELECT state FROM devices WHERE id = $1`, deviceID).Scan(&state)
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
	err := db.write(ctx, "postgres.CancelInvitations", func(t *txn) error {
		var users int
		if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE id = $1`, userID).Scan(&users); err != nil {
			return dbError(err, "could not read the user")
		}
		if users == 0 {
			return passkeyd.Errorf(passkeyd.ENotFound, "user not found")
		}
		tag, err := t.tx.Exec(ctx, `UPDATE invitations SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`, ts(now), userID)
		if err != nil {
			return dbError(err, "could not cancel the invitations")
		}
		if n = tag.RowsAffected(); n > 0 {
			t.audit(ev)
		}
		return nil
	})
	return int(n), err
}
