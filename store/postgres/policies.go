package postgres

import (
	"context"

	passkeyd "github.com/passkeyd/passkeyd"
)

const policyColumns = `id, name, entra_passkey, max_passkeys_per_user, created_at, updated_at`

func scanPolicy(r rowScanner) (passkeyd.Policy, error) {
	var p passkeyd.Policy
	err := r.Scan(&p.ID, &p.Name, &p.EntraPasskey, &p.MaxPasskeysPerUser, &p.CreatedAt, &p.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// Policy returns the policy id.
func (db *DB) Policy(ctx context.Context, id string) (*passkeyd.Policy, error) {
	p, err := scanPolicy(db.pool.QueryRow(ctx, `SELECT `+policyColumns+` FROM policies WHERE id = $1`, id))
	if err != nil {
		return nil, opError("postgres.Policy", mapError(err, "could not read the policy", "policy not found", ""))
	}
	return &p, nil
}

// Policies returns every policy, ordered by ID.
func (db *DB) Policies(ctx context.Context) ([]passkeyd.Policy, error) {
	ps, err := queryAll(ctx, db.pool, scanPolicy, `SELECT `+policyColumns+` FROM policies ORDER BY id`)
	if err != nil {
		return nil, opError("postgres.Policies", dbError(err, "could not list policies"))
	}
	return ps, nil
}

// PutPolicy creates or replaces p. A new policy gets CreatedAt from the
// clock when zero; a replaced one keeps its stored CreatedAt (p is
// updated to it). UpdatedAt is always the transaction's time.
func (db *DB) PutPolicy(ctx context.Context, p *passkeyd.Policy, ev passkeyd.AuditEvent) error {
	const op = "postgres.PutPolicy"
	if p.ID == "" {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "policy ID is required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		p.UpdatedAt = t.now
		// One statement, so that two nodes creating the same policy at
		// once both succeed; RETURNING gives the creation time that stays.
		err := t.tx.QueryRow(ctx, `INSERT INTO policies (`+policyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, entra_passkey = excluded.entra_passkey,
			max_passkeys_per_user = excluded.max_passkeys_per_user, updated_at = excluded.updated_at
			RETURNING created_at`,
			p.ID, p.Name, string(p.EntraPasskey), p.MaxPasskeysPerUser, orNow(p.CreatedAt, t.now), p.UpdatedAt,
		).Scan(&p.CreatedAt)
		if err != nil {
			return dbError(err, "could not save the policy")
		}
		p.CreatedAt = p.CreatedAt.UTC()
		t.audit(ev)
		return nil
	})
}
