package postgres

import (
	"context"
	"strings"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

const userColumns = `id, upn, entra_object_id, display_name, policy_id, created_at, updated_at`

func scanUser(r rowScanner) (passkeyd.User, error) {
	var u passkeyd.User
	var objectID, policyID *string
	err := r.Scan(&u.ID, &u.UPN, &objectID, &u.DisplayName, &policyID, &u.CreatedAt, &u.UpdatedAt)
	u.EntraObjectID, u.PolicyID = deref(objectID), deref(policyID)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
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
	const op = "postgres.CreateUser"
	id, err := newID(u.ID)
	if err != nil {
		return opError(op, err)
	}
	u.ID = id
	return db.write(ctx, op, func(t *txn) error {
		u.CreatedAt = orNow(u.CreatedAt, t.now)
		u.UpdatedAt = orNow(u.UpdatedAt, t.now)
		_, err := t.tx.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			u.ID, u.UPN, nullString(u.EntraObjectID), u.DisplayName, nullString(u.PolicyID), u.CreatedAt, u.UpdatedAt)
		if err != nil {
			return mapError(err, "could not create the user", "", "policy not found")
		}
		t.audit(ev)
		return nil
	})
}

// User returns the user id.
func (db *DB) User(ctx context.Context, id string) (*passkeyd.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, opError("postgres.User", mapError(err, "could not read the user", "user not found", ""))
	}
	return &u, nil
}

// UserByUPN finds a user by UPN, case-insensitively (UPNs are ASCII; the
// unique index is on lower(upn), which this query uses).
func (db *DB) UserByUPN(ctx context.Context, upn string) (*passkeyd.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower(upn) = lower($1)`, upn))
	if err != nil {
		return nil, opError("postgres.UserByUPN", mapError(err, "could not read the user", "user not found", ""))
	}
	return &u, nil
}

// Users lists users ordered by ID after the cursor; Query matches UPN or
// display name as a substring, case-insensitively.
func (db *DB) Users(ctx context.Context, f passkeyd.UserFilter) ([]passkeyd.User, error) {
	const op = "postgres.Users"
	if err := checkFilter("query", f.Query, "cursor", f.Cursor); err != nil {
		return nil, opError(op, err)
	}
	var a args
	q := `SELECT ` + userColumns + ` FROM users WHERE id > ` + a.add(f.Cursor)
	if f.Query != "" {
		pat := a.add("%" + escapeLike(f.Query) + "%")
		q += ` AND (upn ILIKE ` + pat + ` ESCAPE '\' OR display_name ILIKE ` + pat + ` ESCAPE '\')`
	}
	q += ` ORDER BY id LIMIT ` + a.add(pageLimit(f.Limit))
	us, err := queryAll(ctx, db.pool, scanUser, q, a...)
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
	const op = "postgres.UpdateUser"
	return db.write(ctx, op, func(t *txn) error {
		u.UpdatedAt = t.now
		tag, err := t.tx.Exec(ctx, `UPDATE users SET display_name = $1, policy_id = $2, updated_at = $3 WHERE id = $4`,
			u.DisplayName, nullString(u.PolicyID), u.UpdatedAt, u.ID)
		if err != nil {
			return mapError(err, "could not update the user", "", "policy not found")
		}
		if tag.RowsAffected() == 0 {
			return notFound("user")
		}
		t.audit(ev)
		return nil
	})
}
