package audit

import (
	"context"
	"fmt"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Sink delivers audit events to a system outside passkeyd (a SIEM, a
// syslog collector, a webhook receiver). Send returns nil only once every
// event was handed over; a partial failure is an error, and the whole
// batch is sent again later.
type Sink interface {
	Send(ctx context.Context, evs []passkeyd.AuditEvent) error
}

// AuditSource lists audit events in ascending Seq order; passkeyd.Store
// and the manager service both satisfy it.
type AuditSource interface {
	AuditEvents(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error)
}

// CursorStore is what Ship needs of a store: the audit log and named
// compare-and-set positions. passkeyd.Store satisfies it.
type CursorStore interface {
	AuditSource
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, from, to int64) error
}

// PagesOf adapts src to a PageFunc, for Verify, Export and
// VerifyWithCheckpoints.
func PagesOf(src AuditSource) PageFunc {
	return func(ctx context.Context, afterSeq int64, limit int) ([]passkeyd.AuditEvent, error) {
		return src.AuditEvents(ctx, passkeyd.AuditFilter{AfterSeq: afterSeq, Limit: limit})
	}
}

// ShipCursorName is the cursor Ship keeps for the sink called sinkName, so
// that every node uses the same position for the same sink.
func ShipCursorName(sinkName string) string { return "audit.ship." + sinkName }

// DefaultShipBatch is the batch size Ship uses when given 0 or less.
const DefaultShipBatch = 100

// Ship sends the events after the cursor called name to sink, batch by
// batch, until it has caught up, and returns how many it sent.
//
// After each batch is delivered the cursor is moved from the value read to
// the batch's last Seq with compare-and-set. Delivery is at least once: a
// crash between Send and SetCursor, or two nodes shipping the same batch
// at the same time, sends events again, so receivers must deduplicate by
// seq (which is unique and, with hash, identifies the event). When the
// compare-and-set finds that another node has moved the cursor, that node
// is shipping: Ship stops without error. An error from the sink leaves the
// cursor where it was, so the next run sends the batch again.
func Ship(ctx context.Context, store CursorStore, name string, sink Sink, batch int) (shipped int, err error) {
	if name == "" {
		return 0, passkeyd.Errorf(passkeyd.EInvalid, "audit: ship: cursor name is required")
	}
	if batch <= 0 {
		batch = DefaultShipBatch
	}
	batch = min(batch, passkeyd.MaxPageSize)
	for {
		if err := ctx.Err(); err != nil {
			return shipped, fmt.Errorf("audit: ship %s: %w", name, err)
		}
		from, err := store.Cursor(ctx, name)
		if err != nil {
			return shipped, fmt.Errorf("audit: ship %s: read cursor: %w", name, err)
		}
		evs, err := store.AuditEvents(ctx, passkeyd.AuditFilter{AfterSeq: from, Limit: batch})
		if err != nil {
			return shipped, fmt.Errorf("audit: ship %s: read events after seq %d: %w", name, from, err)
		}
		if len(evs) == 0 {
			return shipped, nil
		}
		to := evs[len(evs)-1].Seq
		if evs[0].Seq <= from || to < evs[0].Seq {
			// A store that ignores AfterSeq would make Ship resend forever.
			return shipped, fmt.Errorf("audit: ship %s: events after seq %d came as seq %d..%d: not in ascending order", name, from, evs[0].Seq, to)
		}
		if err := sink.Send(ctx, evs); err != nil {
			return shipped, fmt.Errorf("audit: ship %s: send seq %d..%d: %w", name, evs[0].Seq, to, err)
		}
		shipped += len(evs)
		if err := store.SetCursor(ctx, name, from, to); err != nil {
			if passkeyd.ErrorCodeOf(err) == passkeyd.EConflict {
				return shipped, nil
			}
			return shipped, fmt.Errorf("audit: ship %s: move cursor %d to %d: %w", name, from, to, err)
		}
		if len(evs) < batch {
			return shipped, nil
		}
	}
}
