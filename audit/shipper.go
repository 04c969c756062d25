package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"
)

// Shipper is the periodic work of shipping the audit log: every sink gets
// the events after its cursor, then a signed checkpoint of the chain's
// head is appended to the checkpoint file (outside the database, so a
// rewritten chain is detectable). Run it from one node at a time (a River
// periodic job); the cursors make a concurrent run harmless anyway.
type Shipper struct {
	Store CursorStore
	// Sinks by name; the name keys the sink's cursor.
	Sinks map[string]Sink
	// CheckpointFile and CheckpointKey enable checkpoints.
	CheckpointFile string
	CheckpointKey  ed25519.PrivateKey
	Logger         *slog.Logger
	Now            func() time.Time
}

// Run ships to every sink and writes a checkpoint. A failing sink does not
// stop the others; all failures are returned joined.
func (s *Shipper) Run(ctx context.Context) error {
	var errs []error
	for name, sink := range s.Sinks {
		n, err := Ship(ctx, s.Store, ShipCursorName(name), sink, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("audit sink %s: %w", name, err))
			continue
		}
		if n > 0 && s.Logger != nil {
			s.Logger.InfoContext(ctx, "audit events shipped", "sink", name, "events", n)
		}
	}
	if s.CheckpointFile != "" && s.CheckpointKey != nil {
		if err := s.checkpoint(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Shipper) checkpoint(ctx context.Context) error {
	cps, err := ReadCheckpoints(s.CheckpointFile)
	if errors.Is(err, fs.ErrNotExist) {
		cps, err = nil, nil // the first checkpoint creates the file
	}
	if err != nil {
		return fmt.Errorf("audit checkpoints: %w", err)
	}
	var prev *Checkpoint
	if len(cps) > 0 {
		prev = &cps[len(cps)-1]
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	cp, rep, err := NextCheckpoint(ctx, PagesOf(s.Store), prev, s.CheckpointKey, now())
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	if rep != nil && !rep.OK {
		// Never sign a broken chain: this is the alarm.
		return fmt.Errorf("audit chain does not verify at record %d (%s): no checkpoint written", rep.FirstBadSeq, rep.Problem)
	}
	if cp == nil {
		return nil
	}
	return WriteCheckpoint(s.CheckpointFile, *cp)
}
