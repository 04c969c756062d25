package storetest

import (
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// testCursor: a named position moves only forward and only from the value
// the caller read, so two nodes shipping the same log cannot both advance.
func testCursor(t *testing.T, e *env) {
	if n, err := e.s.Cursor(e.ctx, "audit-sink:syslog"); err != nil || n != 0 {
		t.Fatalf("Cursor of a new name = %d, %v; want 0", n, err)
	}
	if err := e.s.SetCursor(e.ctx, "audit-sink:syslog", 0, 10); err != nil {
		t.Fatalf("SetCursor 0→10: %v", err)
	}
	if err := e.s.SetCursor(e.ctx, "audit-sink:syslog", 0, 5); passkeyd.ErrorCodeOf(err) != passkeyd.EConflict {
		t.Fatalf("a second first-insert = %v, want EConflict", err)
	}
	if err := e.s.SetCursor(e.ctx, "audit-sink:syslog", 7, 12); passkeyd.ErrorCodeOf(err) != passkeyd.EConflict {
		t.Fatalf("a move from a stale value = %v, want EConflict", err)
	}
	if err := e.s.SetCursor(e.ctx, "audit-sink:syslog", 10, 10); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Fatalf("a move that is not forward = %v, want EInvalid", err)
	}
	if err := e.s.SetCursor(e.ctx, "audit-sink:syslog", 10, 20); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.s.Cursor(e.ctx, "audit-sink:syslog"); n != 20 {
		t.Fatalf("Cursor = %d, want 20", n)
	}
	if n, _ := e.s.Cursor(e.ctx, "audit-sink:webhook"); n != 0 {
		t.Fatalf("another name moved: %d", n)
	}
}
