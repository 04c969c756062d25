package postgres

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	passkeyd "github.com/passkeyd/passkeyd"
)

// A claim is written lazily (see writeLazy): one lost in a crash of the
// database server is one the request's own durable writes, later in the
// same WAL, did not reach either, so a retry finds the state as if the
// request had never run. The outcome comes after those writes and is
// durable (see sqlite's idempotency.go).

// BeginIdempotent claims (scope, key); see passkeyd.Store. Two nodes
// claiming the same key race on the primary key: the loser reads the
// winner's row and answers "still being processed".
func (db *DB) BeginIdempotent(ctx context.Context, scope, key string, reqHash []byte, now, expiresBefore time.Time) (*passkeyd.IdempotencyRecord, error) {
	const op = "postgres.BeginIdempotent"
	var rec *passkeyd.IdempotencyRecord
	err := db.writeLazy(ctx, op, func(t *txn) error {
		if _, err := t.tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, expiresBefore.UTC()); err != nil {
			return dbError(err, "could not expire idempotency keys")
		}
		tag, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, done, created_at)
			VALUES ($1, $2, $3, false, $4) ON CONFLICT (scope, key) DO NOTHING`, scope, key, reqHash, now.UTC())
		if err != nil {
			return dbError(err, "could not claim the idempotency key")
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var hash, body []byte
		var done bool
		var status int
		err = t.tx.QueryRow(ctx, `SELECT request_hash, done, status, body_sealed FROM idempotency_keys
			WHERE scope = $1 AND key = $2`, scope, key).Scan(&hash, &done, &status, &body)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return passkeyd.Errorf(passkeyd.EConflict, "a request with this Idempotency-Key is still being processed")
		case err != nil:
			return dbError(err, "could not read the idempotency key")
		case !bytes.Equal(hash, reqHash):
			return passkeyd.Errorf(passkeyd.EUnprocessable, "this Idempotency-Key was used with a different request")
		case !done:
			return passkeyd.Errorf(passkeyd.EConflict, "a request with this Idempotency-Key is still being processed")
		}
		rec = &passkeyd.IdempotencyRecord{Done: true, Status: status, SealedBody: body}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// FinishIdempotent stores the response of a claimed key.
func (db *DB) FinishIdempotent(ctx context.Context, scope, key string, status int, sealedBody []byte) error {
	_, err := db.pool.Exec(ctx, `UPDATE idempotency_keys SET done = true, status = $1, body_sealed = $2
		WHERE scope = $3 AND key = $4 AND NOT done`, status, sealedBody, scope, key)
	if err != nil {
		return opError("postgres.FinishIdempotent", dbError(err, "could not store the idempotent response"))
	}
	return nil
}

// AbandonIdempotent releases a claimed, unfinished key.
func (db *DB) AbandonIdempotent(ctx context.Context, scope, key string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND NOT done`, scope, key)
	if err != nil {
		return opError("postgres.AbandonIdempotent", dbError(err, "could not release the idempotency key"))
	}
	return nil
}
