package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Throttle returns the stored not-before time of scope, or zero.
func (db *DB) Throttle(ctx context.Context, scope string) (time.Time, error) {
	var s string
	err := db.rd.QueryRowContext(ctx, `SELECT not_before FROM throttles WHERE scope = ?`, scope).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, opError("sqlite.Throttle", dbError(err, "could not read throttle state"))
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, opError("sqlite.Throttle", dbError(err, "could not read throttle state"))
	}
	return t, nil
}

// SetThrottle stores notBefore for scope unless a later time is stored.
// The fixed-width time format makes max() on text a max on time.
func (db *DB) SetThrottle(ctx context.Context, scope string, notBefore time.Time) error {
	_, err := db.db.ExecContext(ctx, `INSERT INTO throttles (scope, not_before) VALUES (?, ?)
		ON CONFLICT (scope) DO UPDATE SET not_before = max(not_before, excluded.not_before)`, scope, fmtTime(notBefore))
	if err != nil {
		return opError("sqlite.SetThrottle", dbError(err, "could not save throttle state"))
	}
	return nil
}
