// Package idempotency keeps the outcomes of requests made with an
// Idempotency-Key header in the store, for the HTTP server's retry-safe
// mutations. Stored responses are sealed: they can hold secrets shown only
// once (API tokens, device tokens, invitation codes).
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server"
)

// DefaultTTL is how long an outcome is kept: a client retrying a day later
// is not retrying, it is starting over.
const DefaultTTL = 24 * time.Hour

// Store is the part of passkeyd.Store this package needs.
type Store interface {
	BeginIdempotent(ctx context.Context, scope, key string, reqHash []byte, now, expiresBefore time.Time) (*passkeyd.IdempotencyRecord, error)
	FinishIdempotent(ctx context.Context, scope, key string, status int, sealedBody []byte) error
	AbandonIdempotent(ctx context.Context, scope, key string) error
}

// Sealer encrypts stored responses (package secret's Keyring).
type Sealer interface {
	Seal(plaintext []byte, aad string) ([]byte, error)
	Open(ciphertext []byte, aad string) ([]byte, error)
}

// Keeper implements server.Idempotency.
type Keeper struct {
	store  Store
	sealer Sealer
	ttl    time.Duration
	now    func() time.Time
}

var _ server.Idempotency = (*Keeper)(nil)

// New returns a Keeper; ttl 0 means DefaultTTL, now nil means time.Now.
func New(store Store, sealer Sealer, ttl time.Duration, now func() time.Time) *Keeper {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Keeper{store: store, sealer: sealer, ttl: ttl, now: now}
}

// aad binds a sealed response to its scope and key. The key is hashed so
// that the associated data has a fixed shape whatever the client sent.
func aad(scope, key string) string {
	h := sha256.Sum256([]byte(key))
	return "idempotency_keys/" + scope + "/" + hex.EncodeToString(h[:8])
}

// Begin implements server.Idempotency.
func (k *Keeper) Begin(ctx context.Context, scope, key string, reqHash []byte) (*server.Replay, error) {
	now := k.now()
	rec, err := k.store.BeginIdempotent(ctx, scope, key, reqHash, now, now.Add(-k.ttl))
	if err != nil || rec == nil {
		return nil, err
	}
	body, err := k.sealer.Open(rec.SealedBody, aad(scope, key))
	if err != nil {
		return nil, passkeyd.WrapError(passkeyd.EInternal, err, "the stored response cannot be read")
	}
	return &server.Replay{Status: rec.Status, Body: body}, nil
}

// Finish implements server.Idempotency.
func (k *Keeper) Finish(ctx context.Context, scope, key string, status int, body []byte) error {
	sealed, err := k.sealer.Seal(body, aad(scope, key))
	if err != nil {
		return err
	}
	return k.store.FinishIdempotent(ctx, scope, key, status, sealed)
}

// Abandon implements server.Idempotency.
func (k *Keeper) Abandon(ctx context.Context, scope, key string) error {
	return k.store.AbandonIdempotent(ctx, scope, key)
}
