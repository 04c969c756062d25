package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

const userColumns = `id, upn, entra_object_id, display_name, policy_id, created_at, updated_at`

func scanUser(r rowScanner) (passkeyd.User, error) {
	var u passkeyd.User
	var objectID, policyID sql.NullString
	var created, updated string
	err := r.Scan(&u.ID, &u.UPN, &objectID, &u.DisplayName, &policyID, &created, &updated)
	u.EntraObjectID, u.PolicyID = objectID.String, policyID.String
	if err == nil {
		u.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		u.UpdatedAt, err = parseTime(updated)
	}
	return u, err
}

// newID returns id, or a new UUIDv7 (time-ordered, so lists ordered by
// ID are in creation order) when id is empty.
func newID(id string) (string, error) {
	if id != "" {
		return id, nil
	}
	u, err := uuid.NewV7()
	if err != nil {
		return "", passkeyd.WrapError(passkeyd.EInternal, err, "could not generate an ID")
	}
	return u.String(), nil
}

// CreateUser inserts u (ID assigned when empty); EConflict if its UPN
// (case-insensitively) or object ID is taken, ENotFound if its policy does
// not exist.
func (db *DB) CreateUser(ctx context.Context, u *passkeyd.User, ev passkeyd.AuditEvent) error {
	const op = "sqlite.CreateUser"
	id, err := newID(u.ID)
	if err != nil {
		return opError(op, err)
	}
	u.ID = id
	return db.write(ctx, op, func(t *txn) error {
		u.CreatedAt = orNow(u.CreatedAt, t.now)
		u.UpdatedAt = orNow(u.UpdatedAt, t.now)
		_, err := t.tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.UPN, nullString(u.EntraObjectID), u.DisplayName, nullString(u.PolicyID),
			fmtTime(u.CreatedAt), fmtTime(u.UpdatedAt))
		if err != nil {
			return mapError(err, "could not create the user", "", "policy not found")
		}
		t.audit(ev)
		return nil
	})
}

// User returns the user id.
func (db *DB) User(ctx context.Context, id string) (*passkeyd.User, error) {
	u, err := scanUser(db.rd.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, opError("sqlite.User", mapError(err, "could not read the user", "user not found", ""))
	}
	return &u, nil
}

// UserByUPN finds a user by UPN, case-insensitively (the column is
// COLLATE NOCASE; UPNs are ASCII).
func (db *DB) UserByUPN(ctx context.Context, upn string) (*passkeyd.User, error) {
	u, err := scanUser(db.rd.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE upn = ?`, upn))
	if err != nil {
		return nil, opError("sqlite.UserByUPN", mapError(err, "could not read the user", "user not found", ""))
	}
	return &u, nil
}

// Users lists users ordered by ID after the cursor; Query matches UPN or
// display name as a substring, case-insensitively for ASCII letters.
func (db *DB) Users(ctx context.Context, f passkeyd.UserFilter) ([]passkeyd.User, error) {
	const op = "sqlite.Users"
	if err := checkFilter("query", f.Query, "cursor", f.Cursor); err != nil {
		return nil, opError(op, err)
	}
	q := `SELECT ` + userColumns + ` FROM users WHERE id > ?`
	args := []any{f.Cursor}
	if f.Query != "" {
		q += ` AND (upn LIKE ? ESCAPE '\' OR display_name LIKE ? ESCAPE '\')`
		pat := "%" + escapeLike(f.Query) + "%"
		args = append(args, pat, pat)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, pageLimit(f.Limit))
	us, err := queryAll(ctx, db.rd, scanUser, q, args...)
	if err != nil {
		return nil, opError(op, dbError(err, "could not list users"))
	}
	return us, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateUser saves a user's display name and policy.
func (db *DB) UpdateUser(ctx context.Context, u *passkeyd.User, ev passkeyd.AuditEvent) error {
	const op = "sqlite.UpdateUser"
	return db.write(ctx, op, func(t *txn) error {
		u.UpdatedAt = t.now
		res, err := t.tx.ExecContext(ctx, `UPDATE users SET display_name = ?, policy_id = ?, updated_at = ? WHERE id = ?`,
			u.DisplayName, nullString(u.PolicyID), fmtTime(u.UpdatedAt), u.ID)
		if err != nil {
			return mapError(err, "could not update the user", "", "policy not found")
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err, "could not update the user")
		} else if n == 0 {
			return notFound("user")
		}
		t.audit(ev)
		return nil
	})
}
