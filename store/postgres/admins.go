package postgres

import (
	"context"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

const adminColumns = `id, username, role, password_hash, created_at, updated_at, disabled_at`

func scanAdmin(r rowScanner) (passkeyd.AdminUser, error) {
	var u passkeyd.AdminUser
	var disabled *time.Time
	err := r.Scan(&u.ID, &u.Username, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &disabled)
	u.CreatedAt, u.UpdatedAt, u.DisabledAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), utcPtr(disabled)
	return u, err
}

// CreateAdminUser inserts u (ID assigned when empty); EConflict if its
// username is taken (the unique index is on lower(username); usernames
// are ASCII).
func (db *DB) CreateAdminUser(ctx context.Context, u *passkeyd.AdminUser, ev passkeyd.AuditEvent) error {
	const op = "postgres.CreateAdminUser"
	id, err := newID(u.ID)
	if err != nil {
		return opError(op, err)
	}
	u.ID = id
	if u.Username == "" || u.PasswordHash == "" {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "admin username and password hash are required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		u.CreatedAt = orNow(u.CreatedAt, t.now)
		u.UpdatedAt = orNow(u.UpdatedAt, t.now)
		_, err := t.tx.Exec(ctx, `INSERT INTO admin_users (`+adminColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			u.ID, u.Username, string(u.Role), u.PasswordHash, u.CreatedAt, u.UpdatedAt, tsPtr(u.DisabledAt))
		if err != nil {
			return dbError(err, "could not create the admin")
		}
		t.audit(ev)
		return nil
	})
}

// AdminUserByUsername finds an admin by username, case-insensitively.
func (db *DB) AdminUserByUsername(ctx context.Context, username string) (*passkeyd.AdminUser, error) {
	u, err := scanAdmin(db.pool.QueryRow(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE lower(username) = lower($1)`, username))
	if err != nil {
		return nil, opError("postgres.AdminUserByUsername", mapError(err, "could not read the admin", "admin not found", ""))
	}
	return &u, nil
}

// AdminUser returns the admin id.
func (db *DB) AdminUser(ctx context.Context, id string) (*passkeyd.AdminUser, error) {
	u, err := scanAdmin(db.pool.QueryRow(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE id = $1`, id))
	if err != nil {
		return nil, opError("postgres.AdminUser", mapError(err, "could not read the admin", "admin not found", ""))
	}
	return &u, nil
}

// CountAdminUsers counts admins, disabled ones included.
func (db *DB) CountAdminUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM admin_users`).Scan(&n); err != nil {
		return 0, opError("postgres.CountAdminUsers", dbError(err, "could not count admins"))
	}
	return n, nil
}

const sessionColumns = `id, admin_id, token_hash, created_at, last_seen_at, expires_at`

func scanSession(r rowScanner) (passkeyd.Session, error) {
	var s passkeyd.Session
	err := r.Scan(&s.ID, &s.AdminID, &s.TokenHash, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return s, err
}

// CreateSession inserts s (ID assigned when empty) after deleting its
// admin's dead sessions as of s.CreatedAt.
func (db *DB) CreateSession(ctx context.Context, s *passkeyd.Session, ev passkeyd.AuditEvent) error {
	const op = "postgres.CreateSession"
	id, err := newID(s.ID)
	if err != nil {
		return opError(op, err)
	}
	s.ID = id
	if len(s.TokenHash) == 0 || s.AdminID == "" || s.ExpiresAt.IsZero() {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "session admin, token hash and expiry are required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		s.CreatedAt = orNow(s.CreatedAt, t.now)
		s.LastSeenAt = orNow(s.LastSeenAt, s.CreatedAt)
		s.ExpiresAt = ts(s.ExpiresAt)
		if _, err := t.tx.Exec(ctx, `DELETE FROM admin_sessions WHERE admin_id = $1 AND (expires_at <= $2 OR last_seen_at <= $3)`,
			s.AdminID, s.CreatedAt, s.CreatedAt.Add(-passkeyd.SessionIdleTimeout)); err != nil {
			return dbError(err, "could not delete dead sessions")
		}
		_, err := t.tx.Exec(ctx, `INSERT INTO admin_sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			s.ID, s.AdminID, s.TokenHash, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
		if err != nil {
			return mapError(err, "could not create the session", "", "admin not found")
		}
		t.audit(ev)
		return nil
	})
}

// SessionByTokenHash returns the session whose token hash is h, live or not.
func (db *DB) SessionByTokenHash(ctx context.Context, h []byte) (*passkeyd.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM admin_sessions WHERE token_hash = $1`, h))
	if err != nil {
		return nil, opError("postgres.SessionByTokenHash", mapError(err, "could not read the session", "session not found", ""))
	}
	return &s, nil
}

// TouchSession moves the session's LastSeenAt forward to lastSeen.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	const op = "postgres.TouchSession"
	tag, err := db.pool.Exec(ctx, `UPDATE admin_sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2`, ts(lastSeen), id)
	if err != nil {
		return opError(op, dbError(err, "could not update the session"))
	}
	if tag.RowsAffected() == 0 {
		return opError(op, notFound("session"))
	}
	return nil
}

// DeleteSession deletes the session id; ENotFound if there is none.
func (db *DB) DeleteSession(ctx context.Context, id string, ev passkeyd.AuditEvent) error {
	return db.write(ctx, "postgres.DeleteSession", func(t *txn) error {
		tag, err := t.tx.Exec(ctx, `DELETE FROM admin_sessions WHERE id = $1`, id)
		if err != nil {
			return dbError(err, "could not delete the session")
		}
		if tag.RowsAffected() == 0 {
			return notFound("session")
		}
		t.audit(ev)
		return nil
	})
}

// RecordLoginFailure counts a failed sign-in for username at at, and
// forgets failures older than passkeyd.LoginFailureRetention.
func (db *DB) RecordLoginFailure(ctx context.Context, username string, at time.Time, ev passkeyd.AuditEvent) error {
	return db.write(ctx, "postgres.RecordLoginFailure", func(t *txn) error {
		if _, err := t.tx.Exec(ctx, `DELETE FROM admin_login_failures WHERE at < $1`,
			ts(at.Add(-passkeyd.LoginFailureRetention))); err != nil {
			return dbError(err, "could not forget old login failures")
		}
		if _, err := t.tx.Exec(ctx, `INSERT INTO admin_login_failures (username, at) VALUES ($1, $2)`,
			username, ts(at)); err != nil {
			return dbError(err, "could not record the login failure")
		}
		t.audit(ev)
		return nil
	})
}

// CountLoginFailures counts username's failures at or after since.
func (db *DB) CountLoginFailures(ctx context.Context, username string, since time.Time) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM admin_login_failures WHERE lower(username) = lower($1) AND at >= $2`,
		username, ts(since)).Scan(&n)
	if err != nil {
		return 0, opError("postgres.CountLoginFailures", dbError(err, "could not count login failures"))
	}
	return n, nil
}
