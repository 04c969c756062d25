package audit_test

import (
	"context"
	"errors"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

// fakeStore is an in-memory CursorStore. beforeSet, when set, runs inside
// SetCursor before the compare, to let a test move the cursor as another
// node would.
type fakeStore struct {
	evs       []passkeyd.AuditEvent
	cursors   map[string]int64
	beforeSet func(s *fakeStore)
}

func (s *fakeStore) Cursor(_ context.Context, name string) (int64, error) {
	return s.cursors[name], nil
}

func (s *fakeStore) SetCursor(_ context.Context, name string, from, to int64) error {
	if s.beforeSet != nil {
		s.beforeSet(s)
	}
	if s.cursors[name] != from || to < from {
		return passkeyd.Errorf(passkeyd.EConflict, "cursor %s moved", name)
	}
	s.cursors[name] = to
	return nil
}

func (s *fakeStore) AuditEvents(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
	return pages(s.evs)(ctx, f.AfterSeq, f.Limit)
}

// recordingSink keeps what it was sent and fails while fail is set.
type recordingSink struct {
	batches [][]passkeyd.AuditEvent
	fail    error
}

func (r *recordingSink) Send(_ context.Context, evs []passkeyd.AuditEvent) error {
	if r.fail != nil {
		return r.fail
	}
	r.batches = append(r.batches, evs)
	return nil
}

func TestShipInBatches(t *testing.T) {
	store := &fakeStore{evs: chain(t, 7), cursors: map[string]int64{}}
	sink := &recordingSink{}
	name := audit.ShipCursorName("siem")
	n, err := audit.Ship(context.Background(), store, name, sink, 3)
	if err != nil || n != 7 {
		t.Fatalf("Ship = %d, %v; want 7 shipped", n, err)
	}
	if len(sink.batches) != 3 || len(sink.batches[2]) != 1 || sink.batches[2][0].Seq != 7 {
		t.Errorf("batches %v, want 3+3+1", sink.batches)
	}
	if store.cursors[name] != 7 {
		t.Errorf("cursor %d, want 7", store.cursors[name])
	}
	// Caught up: nothing more to send.
	if n, err := audit.Ship(context.Background(), store, name, sink, 3); err != nil || n != 0 {
		t.Errorf("second Ship = %d, %v; want 0", n, err)
	}
	// New events ship from the cursor on.
	store.evs = chain(t, 9)
	if n, err := audit.Ship(context.Background(), store, name, sink, 3); err != nil || n != 2 {
		t.Errorf("third Ship = %d, %v; want 2", n, err)
	}
	if last := sink.batches[len(sink.batches)-1]; last[0].Seq != 8 {
		t.Errorf("last batch starts at seq %d, want 8", last[0].Seq)
	}
}

func TestShipSinkErrorKeepsCursor(t *testing.T) {
	store := &fakeStore{evs: chain(t, 5), cursors: map[string]int64{"c": 2}}
	boom := errors.New("collector down")
	sink := &recordingSink{fail: boom}
	n, err := audit.Ship(context.Background(), store, "c", sink, 10)
	if !errors.Is(err, boom) || n != 0 {
		t.Fatalf("Ship = %d, %v; want 0 and %v", n, err, boom)
	}
	if store.cursors["c"] != 2 {
		t.Errorf("cursor moved to %d after a failed send", store.cursors["c"])
	}
	sink.fail = nil
	if n, err := audit.Ship(context.Background(), store, "c", sink, 10); err != nil || n != 3 || sink.batches[0][0].Seq != 3 {
		t.Errorf("retry Ship = %d, %v, %v; want seq 3..5", n, err, sink.batches)
	}
}

func TestShipConflictStops(t *testing.T) {
	store := &fakeStore{evs: chain(t, 6), cursors: map[string]int64{}}
	// Another node ships the same first batch and wins the cursor.
	store.beforeSet = func(s *fakeStore) { s.cursors["c"], s.beforeSet = 2, nil }
	sink := &recordingSink{}
	n, err := audit.Ship(context.Background(), store, "c", sink, 2)
	if err != nil {
		t.Fatalf("Ship after conflict: %v, want no error", err)
	}
	if n != 2 || len(sink.batches) != 1 {
		t.Errorf("Ship = %d in %d batches, want to stop after the first batch", n, len(sink.batches))
	}
	if store.cursors["c"] != 2 {
		t.Errorf("cursor %d, want the other node's 2", store.cursors["c"])
	}
}

func TestShipRejectsStoreIgnoringCursor(t *testing.T) {
	evs := chain(t, 3)
	store := &fakeStore{evs: evs, cursors: map[string]int64{"c": 3}}
	bad := &ignoringStore{fakeStore: store}
	if _, err := audit.Ship(context.Background(), bad, "c", &recordingSink{}, 10); err == nil {
		t.Error("Ship accepted events at or before the cursor")
	}
	if _, err := audit.Ship(context.Background(), store, "", &recordingSink{}, 10); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Errorf("Ship without a name = %v, want EInvalid", err)
	}
}

// ignoringStore returns every event whatever the filter.
type ignoringStore struct{ *fakeStore }

func (s *ignoringStore) AuditEvents(context.Context, passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
	return s.evs, nil
}
