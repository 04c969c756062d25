package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Cursor returns the named position, or 0.
func (db *DB) Cursor(ctx context.Context, name string) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT position FROM cursors WHERE name = $1`, name).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, opError("postgres.Cursor", dbError(err, "could not read the cursor"))
	}
	return n, nil
}

// SetCursor moves the named position from from to to (to > from).
func (db *DB) SetCursor(ctx context.Context, name string, from, to int64) error {
	const op = "postgres.SetCursor"
	if to <= from {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "a cursor only moves forward"))
	}
	var tag interface{ RowsAffected() int64 }
	var err error
	if from == 0 {
		tag, err = db.pool.Exec(ctx, `INSERT INTO cursors (name, position) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE cursors.position = 0`, name, to)
	} else {
		tag, err = db.pool.Exec(ctx, `UPDATE cursors SET position = $2 WHERE name = $1 AND position = $3`, name, to, from)
	}
	if err != nil {
		return opError(op, dbError(err, "could not save the cursor"))
	}
	if tag.RowsAffected() == 0 {
		return opError(op, passkeyd.Errorf(passkeyd.EConflict, "the cursor moved meanwhile"))
	}
	return nil
}
