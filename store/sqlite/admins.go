package sqlite

import (
	"context"
	"database/sql"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

const adminColumns = `id, username, role, password_hash, created_at, updated_at, disabled_at`

func scanAdmin(r rowScanner) (passkeyd.AdminUser, error) {
	var u passkeyd.AdminUser
	var created, updated string
	var disabled sql.NullString
	err := r.Scan(&u.ID, &u.Username, &u.Role, &u.PasswordHash, &created, &updated, &disabled)
	if err == nil {
		u.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		u.UpdatedAt, err = parseTime(updated)
	}
	if err == nil {
		u.DisabledAt, err = parseTimePtr(disabled)
	}
	return u, err
}

// CreateAdminUser inserts u (ID assigned when empty); EConflict if its
// username is taken (the column is COLLATE NOCASE; usernames are ASCII).
func (db *DB) CreateAdminUser(ctx context.Context, u *passkeyd.AdminUser, ev passkeyd.AuditEvent) error {
	const op = "sqlite.CreateAdminUser"
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
		_, err := t.tx.ExecContext(ctx, `INSERT INTO admin_users (`+adminColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, string(u.Role), u.PasswordHash, fmtTime(u.CreatedAt), fmtTime(u.UpdatedAt), fmtTimePtr(u.DisabledAt))
		if err != nil {
			return dbError(err, "could not create the admin")
		}
		t.audit(ev)
		return nil
	})
}

// AdminUserByUsername finds an admin by username, case-insensitively.
func (db *DB) AdminUserByUsername(ctx context.Context, username string) (*passkeyd.AdminUser, error) {
	u, err := scanAdmin(db.rd.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE username = ?`, username))
	if err != nil {
		return nil, opError("sqlite.AdminUserByUsername", mapError(err, "could not read the admin", "admin not found", ""))
	}
	return &u, nil
}

// AdminUser returns the admin id.
func (db *DB) AdminUser(ctx context.Context, id string) (*passkeyd.AdminUser, error) {
	u, err := scanAdmin(db.rd.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE id = ?`, id))
	if err != nil {
		return nil, opError("sqlite.AdminUser", mapError(err, "could not read the admin", "admin not found", ""))
	}
	return &u, nil
}

// CountAdminUsers counts admins, disabled ones included.
func (db *DB) CountAdminUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.rd.QueryRowContext(ctx, `SELECT count(*) FROM admin_users`).Scan(&n); err != nil {
		return 0, opError("sqlite.CountAdminUsers", dbError(err, "could not count admins"))
	}
	return n, nil
}

const sessionColumns = `id, admin_id, token_hash, created_at, last_seen_at, expires_at`

func scanSession(r rowScanner) (passkeyd.Session, error) {
	var s passkeyd.Session
	var created, seen, expires string
	err := r.Scan(&s.ID, &s.AdminID, &s.TokenHash, &created, &seen, &expires)
	if err == nil {
		s.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		s.LastSeenAt, err = parseTime(seen)
	}
	if err == nil {
		s.ExpiresAt, err = parseTime(expires)
	}
	return s, err
}

// CreateSession inserts s (ID assigned when empty) after deleting its
// admin's dead sessions as of s.CreatedAt.
func (db *DB) CreateSession(ctx context.Context, s *passkeyd.Session, ev passkeyd.AuditEvent) error {
	const op = "sqlite.CreateSession"
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
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ? AND (expires_at <= ? OR last_seen_at <= ?)`,
			s.AdminID, fmtTime(s.CreatedAt), fmtTime(s.CreatedAt.Add(-passkeyd.SessionIdleTimeout))); err != nil {
			return dbError(err, "could not delete dead sessions")
		}
		_, err := t.tx.ExecContext(ctx, `INSERT INTO admin_sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			s.ID, s.AdminID, s.TokenHash, fmtTime(s.CreatedAt), fmtTime(s.LastSeenAt), fmtTime(s.ExpiresAt))
		if err != nil {
			return mapError(err, "could not create the session", "", "admin not found")
		}
		t.audit(ev)
		return nil
	})
}

// SessionByTokenHash returns the session whose token hash is h, live or not.
func (db *DB) SessionByTokenHash(ctx context.Context, h []byte) (*passkeyd.Session, error) {
	s, err := scanSession(db.rd.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM admin_sessions WHERE token_hash = ?`, h))
	if err != nil {
		return nil, opError("sqlite.SessionByTokenHash", mapError(err, "could not read the session", "session not found", ""))
	}
	return &s, nil
}

// TouchSession moves the session's LastSeenAt forward to lastSeen.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	const op = "sqlite.TouchSession"
	// One statement needs no transaction of its own. The times are
	// fixed-width text, so max() compares them in time order.
	res, err := db.db.ExecContext(ctx, `UPDATE admin_sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?`, fmtTime(lastSeen), id)
	if err != nil {
		return opError(op, dbError(err, "could not update the session"))
	}
	if n, err := res.RowsAffected(); err != nil {
		return opError(op, dbError(err, "could not update the session"))
	} else if n == 0 {
		return opError(op, notFound("session"))
	}
	return nil
}

// DeleteSession deletes the session id; ENotFound if there is none.
func (db *DB) DeleteSession(ctx context.Context, id string, ev passkeyd.AuditEvent) error {
	return db.write(ctx, "sqlite.DeleteSession", func(t *txn) error {
		res, err := t.tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE id = ?`, id)
		if err != nil {
			return dbError(err, "could not delete the session")
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err, "could not delete the session")
		} else if n == 0 {
			return notFound("session")
		}
		t.audit(ev)
		return nil
	})
}

// RecordLoginFailure counts a failed sign-in for username at at, and
// forgets failures older than passkeyd.LoginFailureRetention.
func (db *DB) RecordLoginFailure(ctx context.Context, username string, at time.Time, ev passkeyd.AuditEvent) error {
	return db.write(ctx, "sqlite.RecordLoginFailure", func(t *txn) error {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM admin_login_failures WHERE at < ?`,
			fmtTime(at.Add(-passkeyd.LoginFailureRetention))); err != nil {
			return dbError(err, "could not forget old login failures")
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO admin_login_failures (username, at) VALUES (?, ?)`,
			username, fmtTime(at)); err != nil {
			return dbError(err, "could not record the login failure")
		}
		t.audit(ev)
		return nil
	})
}

// CountLoginFailures counts username's failures at or after since.
func (db *DB) CountLoginFailures(ctx context.Context, username string, since time.Time) (int, error) {
	var n int
	err := db.rd.QueryRowContext(ctx, `SELECT count(*) FROM admin_login_failures WHERE username = ? AND at >= ?`,
		username, fmtTime(since)).Scan(&n)
	if err != nil {
		return 0, opError("sqlite.CountLoginFailures", dbError(err, "could not count login failures"))
	}
	return n, nil
}
