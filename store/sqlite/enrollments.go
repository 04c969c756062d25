package sqlite

import (
	"context"

	passkeyd "github.com/passkeyd/passkeyd"
)

const enrollmentColumns = `id, user_id, device_id, state, challenge_expires_at, options_hash, challenge_digest, rp_id,
	passkey_id, error, created_at, updated_at`

func scanEnrollment(r rowScanner) (passkeyd.Enrollment, error) {
	var e passkeyd.Enrollment
	var expires, created, updated string
	err := r.Scan(&e.ID, &e.UserID, &e.DeviceID, &e.State, &expires, &e.OptionsHash, &e.ChallengeDigest, &e.RPID,
		&e.PasskeyID, &e.Error, &created, &updated)
	if err == nil {
		e.ChallengeExpiresAt, err = parseTime(expires)
	}
	if err == nil {
		e.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		e.UpdatedAt, err = parseTime(updated)
	}
	return e, err
}

// CreateEnrollment inserts e (ID assigned when empty).
func (db *DB) CreateEnrollment(ctx context.Context, e *passkeyd.Enrollment, ev passkeyd.AuditEvent) error {
	const op = "sqlite.CreateEnrollment"
	id, err := newID(e.ID)
	if err != nil {
		return opError(op, err)
	}
	e.ID = id
	return db.writeLazy(ctx, op, func(t *txn) error {
		e.CreatedAt = orNow(e.CreatedAt, t.now)
		e.UpdatedAt = orNow(e.UpdatedAt, t.now)
		_, err := t.tx.ExecContext(ctx, `INSERT INTO enrollments (`+enrollmentColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.UserID, e.DeviceID, string(e.State), fmtTime(e.ChallengeExpiresAt), nullBytes(e.OptionsHash),
			e.ChallengeDigest, e.RPID, e.PasskeyID, e.Error, fmtTime(e.CreatedAt), fmtTime(e.UpdatedAt))
		if err != nil {
			return mapError(err, "could not create the enrollment", "", "the enrollment's user or device does not exist")
		}
		t.audit(ev)
		return nil
	})
}

// Enrollment returns the enrollment id.
func (db *DB) Enrollment(ctx context.Context, id string) (*passkeyd.Enrollment, error) {
	e, err := scanEnrollment(db.rd.QueryRowContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = ?`, id))
	if err != nil {
		return nil, opError("sqlite.Enrollment", mapError(err, "could not read the enrollment", "enrollment not found", ""))
	}
	return &e, nil
}

// updateEnrollment saves e's mutable fields inside t if its stored state
// is expect. UpdatedAt is set to the transaction's time.
func updateEnrollment(ctx context.Context, t *txn, e *passkeyd.Enrollment, expect passkeyd.EnrollmentState) error {
	e.UpdatedAt = t.now
	res, err := t.tx.ExecContext(ctx, `UPDATE enrollments SET state = ?, challenge_expires_at = ?, options_hash = ?,
		challenge_digest = ?, rp_id = ?, passkey_id = ?, error = ?, updated_at = ? WHERE id = ? AND state = ?`,
		string(e.State), fmtTime(e.ChallengeExpiresAt), nullBytes(e.OptionsHash), e.ChallengeDigest, e.RPID,
		e.PasskeyID, e.Error, fmtTime(e.UpdatedAt), e.ID, string(expect))
	if err != nil {
		return dbError(err, "could not save the enrollment")
	}
	return casResult(ctx, t, res, "enrollments", "enrollment", e.ID, string(expect))
}

// UpdateEnrollment saves e if the stored state is expect, else EConflict.
func (db *DB) UpdateEnrollment(ctx context.Context, e *passkeyd.Enrollment, expect passkeyd.EnrollmentState, ev passkeyd.AuditEvent) error {
	return db.write(ctx, "sqlite.UpdateEnrollment", func(t *txn) error {
		if err := updateEnrollment(ctx, t, e, expect); err != nil {
			return err
		}
		t.audit(ev)
		return nil
	})
}

// BeginRegistration moves e from options_issued to registering and
// inserts p in state registering (ID assigned when empty), before any
// Graph write. e.PasskeyID is set to p's ID.
func (db *DB) BeginRegistration(ctx context.Context, e *passkeyd.Enrollment, p *passkeyd.Passkey, ev passkeyd.AuditEvent) error {
	const op = "sqlite.BeginRegistration"
	id, err := newID(p.ID)
	if err != nil {
		return opError(op, err)
	}
	return db.write(ctx, op, func(t *txn) error {
		p.ID = id
		e.State = passkeyd.EnrollmentRegistering
		e.PasskeyID = p.ID
		if err := updateEnrollment(ctx, t, e, passkeyd.EnrollmentOptionsIssued); err != nil {
			return err
		}
		p.State = passkeyd.PasskeyRegistering
		if p.EnrollmentID == "" {
			p.EnrollmentID = e.ID
		}
		if err := insertPasskey(ctx, t, p); err != nil {
			return err
		}
		t.audit(ev)
		return nil
	})
}

// FinishRegistration saves e and p, both expected in registering, with
// their events and jobs, in one transaction.
func (db *DB) FinishRegistration(ctx context.Context, e *passkeyd.Enrollment, p *passkeyd.Passkey, evs []passkeyd.AuditEvent, jobs ...passkeyd.Job) error {
	return db.writeLazy(ctx, "sqlite.FinishRegistration", func(t *txn) error {
		if err := updateEnrollment(ctx, t, e, passkeyd.EnrollmentRegistering); err != nil {
			return err
		}
		if err := updatePasskey(ctx, t, p, passkeyd.PasskeyRegistering); err != nil {
			return err
		}
		t.audit(evs...)
		t.enqueue(jobs...)
		return nil
	})
}
