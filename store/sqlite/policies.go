package sqlite

import (
	"context"
	"database/sql"
	"errors"

	passkeyd "github.com/passkeyd/passkeyd"
)

const policyColumns = `id, name, entra_passkey, max_passkeys_per_user, created_at, updated_at`

func scanPolicy(r rowScanner) (passkeyd.Policy, error) {
	var p passkeyd.Policy
	var created, updated string
	err := r.Scan(&p.ID, &p.Name, &p.EntraPasskey, &p.MaxPasskeysPerUser, &created, &updated)
	if err == nil {
		p.CreatedAt, err = parseTime(created)
	}
	if err == nil {
		p.UpdatedAt, err = parseTime(updated)
	}
	return p, err
}

// Policy returns the policy id.
func (db *DB) Policy(ctx context.Context, id string) (*passkeyd.Policy, error) {
	p, err := scanPolicy(db.rd.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policies WHERE id = ?`, id))
	if err != nil {
		return nil, opError("sqlite.Policy", mapError(err, "could not read the policy", "policy not found", ""))
	}
	return &p, nil
}

// Policies returns every policy, ordered by ID.
func (db *DB) Policies(ctx context.Context) ([]passkeyd.Policy, error) {
	const op = "sqlite.Policies"
	ps, err := queryAll(ctx, db.rd, scanPolicy, `SELECT `+policyColumns+` FROM policies ORDER BY id`)
	if err != nil {
		return nil, opError(op, dbError(err, "could not list policies"))
	}
	return ps, nil
}

// PutPolicy creates or replaces p. A new policy gets CreatedAt from the
// clock when zero; a replaced one keeps its stored CreatedAt (p is
// updated to it). UpdatedAt is always the transaction's time.
func (db *DB) PutPolicy(ctx context.Context, p *passkeyd.Policy, ev passkeyd.AuditEvent) error {
	const op = "sqlite.PutPolicy"
	if p.ID == "" {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "policy ID is required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		var created string
		err := t.tx.QueryRowContext(ctx, `SELECT created_at FROM policies WHERE id = ?`, p.ID).Scan(&created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			p.CreatedAt = orNow(p.CreatedAt, t.now)
		case err != nil:
			return dbError(err, "could not save the policy")
		default:
			if p.CreatedAt, err = parseTime(created); err != nil {
				return dbError(err, "could not save the policy")
			}
		}
		p.UpdatedAt = t.now
		_, err = t.tx.ExecContext(ctx, `INSERT INTO policies (`+policyColumns+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, entra_passkey = excluded.entra_passkey,
			max_passkeys_per_user = excluded.max_passkeys_per_user, updated_at = excluded.updated_at`,
			p.ID, p.Name, string(p.EntraPasskey), p.MaxPasskeysPerUser, fmtTime(p.CreatedAt), fmtTime(p.UpdatedAt))
		if err != nil {
			return dbError(err, "could not save the policy")
		}
		t.audit(ev)
		return nil
	})
}
