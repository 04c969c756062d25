package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	passkeyd "github.com/passkeyd/passkeyd"
)

// ExportJSONLines writes events to w as JSON lines (one object per line,
// the JSON form of passkeyd.AuditEvent), the format SIEMs ingest. HTML
// characters are not escaped, so the lines hold the stored text.
func ExportJSONLines(w io.Writer, events []passkeyd.AuditEvent) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return fmt.Errorf("audit: export record %d: %w", events[i].Seq, err)
		}
	}
	return nil
}

// Export writes every event after afterSeq to w as JSON lines, reading
// them page by page, and returns the Seq of the last event written (or
// afterSeq when there was none), to resume from.
func Export(ctx context.Context, w io.Writer, afterSeq int64, next PageFunc) (int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return afterSeq, fmt.Errorf("audit: export: %w", err)
		}
		page, err := next(ctx, afterSeq, VerifyPageSize)
		if err != nil {
			return afterSeq, fmt.Errorf("audit: export: read events after seq %d: %w", afterSeq, err)
		}
		if len(page) == 0 {
			return afterSeq, nil
		}
		if err := ExportJSONLines(w, page); err != nil {
			return afterSeq, err
		}
		last := page[len(page)-1].Seq
		if last <= afterSeq {
			return afterSeq, fmt.Errorf("audit: export: events after seq %d ended at seq %d: not in ascending order", afterSeq, last)
		}
		afterSeq = last
	}
}
