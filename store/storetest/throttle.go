package storetest

import (
	"testing"
	"time"
)

// testThrottle: the stored not-before time per scope only ever moves
// later, so a shorter Retry-After from one node cannot cut short a longer
// one from another.
func testThrottle(t *testing.T, e *env) {
	got, err := e.s.Throttle(e.ctx, "graph-write:t1")
	if err != nil || !got.IsZero() {
		t.Fatalf("Throttle of an unknown scope = %v, %v; want zero", got, err)
	}
	later := time.Date(2026, 5, 1, 12, 0, 30, 123456000, time.UTC)
	earlier := later.Add(-20 * time.Second)
	for _, nb := range []time.Time{later, earlier} {
		if err := e.s.SetThrottle(e.ctx, "graph-write:t1", nb); err != nil {
			t.Fatalf("SetThrottle: %v", err)
		}
	}
	if got, err := e.s.Throttle(e.ctx, "graph-write:t1"); err != nil || !got.Equal(later) {
		t.Fatalf("Throttle = %v, %v; want the later %v", got, err, later)
	}
	evenLater := later.Add(time.Hour)
	if err := e.s.SetThrottle(e.ctx, "graph-write:t1", evenLater); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Throttle(e.ctx, "graph-write:t1"); !got.Equal(evenLater) {
		t.Fatalf("Throttle = %v, want %v", got, evenLater)
	}
	if got, _ := e.s.Throttle(e.ctx, "graph-write:t2"); !got.IsZero() {
		t.Fatalf("another scope is throttled: %v", got)
	}
}
