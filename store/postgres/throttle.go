package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Throttle returns the stored not-before time of scope, or zero.
func (db *DB) Throttle(ctx context.Context, scope string) (time.Time, error) {
	var t time.Time
	err := db.pool.QueryRow(ctx, `SELECT not_before FROM throttles WHERE scope = $1`, scope).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, opError("postgres.Throttle", dbError(err, "could not read throttle state"))
	}
	return t.UTC(), nil
}

// SetThrottle stores notBefore for scope unless a later time is stored.
func (db *DB) SetThrottle(ctx context.Context, scope string, notBefore time.Time) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO throttles (scope, not_before) VALUES ($1, $2)
		ON CONFLICT (scope) DO UPDATE SET not_before = GREATEST(throttles.not_before, excluded.not_before)`,
		scope, notBefore.UTC().Truncate(time.Microsecond))
	if err != nil {
		return opError("postgres.SetThrottle", dbError(err, "could not save throttle state"))
	}
	return nil
}
