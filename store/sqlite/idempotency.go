package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// A claim is written lazily (see writeLazy): one lost in a power cut is
// one the request's own durable writes, later in the same log, did not
// reach either, so a retry finds the state as if the request had never
// run. The outcome comes after those writes and is durable: lost, it
// would leave the key claimed and the request's effects in place, and a
// retry would be told "still being processed" until the key expires.
// Both ride in the group-commit batches rather than costing a commit each.

// BeginIdempotent claims (scope, key); see passkeyd.Store.
func (db *DB) BeginIdempotent(ctx context.Context, scope, key string, reqHash []byte, now, expiresBefore time.Time) (*passkeyd.IdempotencyRecord, error) {
	const op = "sqlite.BeginIdempotent"
	var rec *passkeyd.IdempotencyRecord
	err := db.writeLazy(ctx, op, func(t *txn) error {
		rec = nil // a batch's writes may run twice (see commitBatch)
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, fmtTime(expiresBefore)); err != nil {
			return dbError(err, "could not expire idempotency keys")
		}
		var hash, body []byte
		var done bool
		var status int
		err := t.tx.QueryRowContext(ctx, `SELECT request_hash, done, status, body_sealed FROM idempotency_keys
			WHERE scope = ? AND key = ?`, scope, key).Scan(&hash, &done, &status, &body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = t.tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, done, created_at)
				VALUES (?, ?, ?, 0, ?)`, scope, key, reqHash, fmtTime(now))
			return dbErrorOrNil(err, "could not claim the idempotency key")
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
	return db.write(ctx, "sqlite.FinishIdempotent", func(t *txn) error {
		_, err := t.tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, status = ?, body_sealed = ?
			WHERE scope = ? AND key = ? AND done = 0`, status, sealedBody, scope, key)
		return dbErrorOrNil(err, "could not store the idempotent response")
	})
}

// AbandonIdempotent releases a claimed, unfinished key.
func (db *DB) AbandonIdempotent(ctx context.Context, scope, key string) error {
	return db.write(ctx, "sqlite.AbandonIdempotent", func(t *txn) error {
		_, err := t.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND done = 0`, scope, key)
		return dbErrorOrNil(err, "could not release the idempotency key")
	})
}

func dbErrorOrNil(err error, msg string) error {
	if err == nil {
		return nil
	}
	return dbError(err, msg)
}
