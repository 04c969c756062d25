package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/audit"
)

func sent(r *recordingSink) int {
	n := 0
	for _, b := range r.batches {
		n += len(b)
	}
	return n
}

func TestShipperShipsAndCheckpoints(t *testing.T) {
	store := &fakeStore{evs: chain(t, 5), cursors: map[string]int64{}}
	_, key, _ := ed25519.GenerateKey(nil)
	good, bad := &recordingSink{}, &recordingSink{fail: errors.New("SIEM down")}
	s := &audit.Shipper{Store: store, Sinks: map[string]audit.Sink{"siem": good, "broken": bad},
		CheckpointFile: filepath.Join(t.TempDir(), "checkpoints.jsonl"), CheckpointKey: key,
		Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }}
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("a failing sink was not reported")
	}
	if sent(good) != 5 {
		t.Fatalf("the working sink got %d events, want 5 despite the other failing", sent(good))
	}
	cps, err := audit.ReadCheckpoints(s.CheckpointFile)
	if err != nil || len(cps) != 1 || cps[0].Seq != 5 {
		t.Fatalf("checkpoints %+v, %v; want one at seq 5", cps, err)
	}
	rep, err := audit.VerifyWithCheckpoints(context.Background(), audit.PagesOf(store), cps, key.Public().(ed25519.PublicKey))
	if err != nil || !rep.OK {
		t.Fatalf("VerifyWithCheckpoints = %+v, %v", rep, err)
	}
	// The broken sink recovers; nothing new means no second checkpoint.
	bad.fail = nil
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent(good) != 5 || sent(bad) != 5 {
		t.Fatalf("second run: good %d, recovered %d events; want 5 each", sent(good), sent(bad))
	}
	if cps, _ := audit.ReadCheckpoints(s.CheckpointFile); len(cps) != 1 {
		t.Fatalf("%d checkpoints after a run with nothing new, want 1", len(cps))
	}
}
