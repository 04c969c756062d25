package sqlite

import (
	"context"
	"database/sql"

	passkeyd "github.com/passkeyd/passkeyd"
)

const tokenColumns = `id, name, hash, last8, role, expires_at, created_at`

func scanToken(r rowScanner) (passkeyd.APIToken, error) {
	var tk passkeyd.APIToken
	var expires sql.NullString
	var created string
	err := r.Scan(&tk.ID, &tk.Name, &tk.Hash, &tk.Last8, &tk.Role, &expires, &created)
	if err == nil {
		tk.ExpiresAt, err = parseTimePtr(expires)
	}
	if err == nil {
		tk.CreatedAt, err = parseTime(created)
	}
	return tk, err
}

// CreateAPIToken inserts tk (ID assigned when empty).
func (db *DB) CreateAPIToken(ctx context.Context, tk *passkeyd.APIToken, ev passkeyd.AuditEvent) error {
	const op = "sqlite.CreateAPIToken"
	id, err := newID(tk.ID)
	if err != nil {
		return opError(op, err)
	}
	tk.ID = id
	if len(tk.Hash) == 0 {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "API token hash is required"))
	}
	return db.write(ctx, op, func(t *txn) error {
		tk.CreatedAt = orNow(tk.CreatedAt, t.now)
		_, err := t.tx.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tk.ID, tk.Name, tk.Hash, tk.Last8, string(tk.Role), fmtTimePtr(tk.ExpiresAt), fmtTime(tk.CreatedAt))
		if err != nil {
			return dbError(err, "could not create the API token")
		}
		t.audit(ev)
		return nil
	})
}

// APITokenByHash returns the token whose hash is h, expired or not.
func (db *DB) APITokenByHash(ctx context.Context, h []byte) (*passkeyd.APIToken, error) {
	tk, err := scanToken(db.rd.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, h))
	if err != nil {
		return nil, opError("sqlite.APITokenByHash", mapError(err, "could not read the API token", "API token not found", ""))
	}
	return &tk, nil
}

// APITokens lists every API token ordered by ID (there are few).
func (db *DB) APITokens(ctx context.Context) ([]passkeyd.APIToken, error) {
	tks, err := queryAll(ctx, db.rd, scanToken, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, opError("sqlite.APITokens", dbError(err, "could not list API tokens"))
	}
	return tks, nil
}

// DeleteAPIToken deletes the token id; ENotFound if there is none.
func (db *DB) DeleteAPIToken(ctx context.Context, id string, ev passkeyd.AuditEvent) error {
	return db.write(ctx, "sqlite.DeleteAPIToken", func(t *txn) error {
		res, err := t.tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
		if err != nil {
			return dbError(err, "could not delete the API token")
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err, "could not delete the API token")
		} else if n == 0 {
			return notFound("API token")
		}
		t.audit(ev)
		return nil
	})
}
