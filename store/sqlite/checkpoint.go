package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"time"
)

// Background checkpoints. By default SQLite copies the WAL back into the
// database file in the connection that commits when the WAL passes 1,000
// pages: that commit, and with group commit every write queued behind it,
// then waits for the copy and its fsyncs. passkeyd turns that off on the
// writer (wal_autocheckpoint 0) and runs a PASSIVE checkpoint from a
// connection of its own every checkpointEvery instead: it runs beside the
// writer (a checkpoint needs no write lock) and never waits for readers.

// checkpointEvery is how often the WAL is copied back.
const checkpointEvery = 250 * time.Millisecond

// A checkpoint beside a busy writer copies the WAL back but cannot let
// the writer start the WAL over: that happens only when a write begins
// with every frame copied, and under sustained writes there are always
// new ones. So when the WAL passes walHighWater frames the committer
// checkpoints itself between two batches, copying the few frames the
// background has not (the next write then starts the WAL over), and
// journal_size_limit (16 MiB) trims the file back when it starts over.
const (
	walHighWater = 4096 // frames (pages): 16 MiB of 4 KiB pages
)

// checkpointIfLarge is the committer's own checkpoint, between batches,
// when the background could not keep the WAL small.
func (db *DB) checkpointIfLarge(ctx context.Context) {
	if db.ck == nil || db.walFrames.Load() < walHighWater {
		return
	}
	var busy, walPages, copied int
	if err := db.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &walPages, &copied); err != nil {
		db.logger.Warn("WAL checkpoint failed", "err", err)
		return
	}
	db.walFrames.Store(0) // the next write starts the WAL over
}

// openCheckpointer opens the checkpoint connection and starts its loop.
func (db *DB) openCheckpointer(path string) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	ck, err := openCached(path + "?" + q.Encode())
	if err != nil {
		return err
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	db.ck = ck
	go db.checkpointLoop()
	return nil
}

func (db *DB) checkpointLoop() {
	defer close(db.ckDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.closed:
			return
		case <-t.C:
		}
		if err := db.checkpoint(context.Background()); err != nil {
			db.logger.Warn("WAL checkpoint failed; will retry", "err", err)
		}
	}
}

// checkpoint copies what it can of the WAL into the database file.
func (db *DB) checkpoint(ctx context.Context) error {
	var busy, walPages, copied int
	err := db.ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &walPages, &copied)
	if err == nil {
		db.checkpoints.Add(1)
		db.walFrames.Store(int64(walPages))
	}
	if err == sql.ErrNoRows {
		return nil
	}
	return err
}
