package storetest

import (
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// testIdempotency: a key is claimed once; while running a retry gets
// EConflict; another request under the same key gets EUnprocessable; once
// finished the stored response comes back; abandoned keys can be claimed
// again; expired records are forgotten.
func testIdempotency(t *testing.T, e *env) {
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	old := now.Add(-25 * time.Hour)
	h1, h2 := []byte("hash-of-request-1"), []byte("hash-of-request-2")
	begin := func(scope, key string, h []byte) (*passkeyd.IdempotencyRecord, error) {
		return e.s.BeginIdempotent(e.ctx, scope, key, h, now, old)
	}
	if rec, err := begin("token:a", "k1", h1); err != nil || rec != nil {
		t.Fatalf("first claim = %+v, %v; want claimed", rec, err)
	}
	if _, err := begin("token:a", "k1", h1); passkeyd.ErrorCodeOf(err) != passkeyd.EConflict {
		t.Fatalf("retry while running = %v, want EConflict", err)
	}
	if _, err := begin("token:a", "k1", h2); passkeyd.ErrorCodeOf(err) != passkeyd.EUnprocessable {
		t.Fatalf("another request under the key = %v, want EUnprocessable", err)
	}
	if rec, err := begin("token:b", "k1", h2); err != nil || rec != nil {
		t.Fatalf("the same key in another scope = %+v, %v; want claimed", rec, err)
	}
	if err := e.s.FinishIdempotent(e.ctx, "token:a", "k1", 201, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	rec, err := begin("token:a", "k1", h1)
	if err != nil || rec == nil || !rec.Done || rec.Status != 201 || string(rec.SealedBody) != "\x01\x02\x03" {
		t.Fatalf("retry after completion = %+v, %v; want the stored response", rec, err)
	}
	if err := e.s.AbandonIdempotent(e.ctx, "token:b", "k1"); err != nil {
		t.Fatal(err)
	}
	if rec, err := begin("token:b", "k1", h1); err != nil || rec != nil {
		t.Fatalf("claim after abandon = %+v, %v", rec, err)
	}
	// A day later the record is gone and the key is free again.
	later := now.Add(26 * time.Hour)
	if rec, err := e.s.BeginIdempotent(e.ctx, "token:a", "k1", h2, later, later.Add(-24*time.Hour)); err != nil || rec != nil {
		t.Fatalf("claim after expiry = %+v, %v", rec, err)
	}
}
