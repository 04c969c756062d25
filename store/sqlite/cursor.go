package sqlite

import (
	"context"
	"database/sql"
	"errors"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Cursor returns the named position, or 0.
func (db *DB) Cursor(ctx context.Context, name string) (int64, error) {
	var n int64
	err := db.rd.QueryRowContext(ctx, `SELECT position FROM cursors WHERE name = ?`, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, opError("sqlite.Cursor", dbError(err, "could not read the cursor"))
	}
	return n, nil
}

// SetCursor moves the named position from from to to (to > from).
func (db *DB) SetCursor(ctx context.Context, name string, from, to int64) error {
	const op = "sqlite.SetCursor"
	if to <= from {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "a cursor only moves forward"))
	}
	var res sql.Result
	var err error
	if from == 0 {
		res, err = db.db.ExecContext(ctx, `INSERT INTO cursors (name, position) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE cursors.position = 0`, name, to)
	} else {
		res, err = db.db.ExecContext(ctx, `UPDATE cursors SET position = ? WHERE name = ? AND position = ?`, to, name, from)
	}
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return opError(op, dbError(err, "could not save the cursor"))
	}
	if n == 0 {
		return opError(op, passkeyd.Errorf(passkeyd.EConflict, "the cursor moved meanwhile"))
	}
	return nil
}
