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
	}
	if err == sql.ErrNoRows {
		return nil
	}
	return err
}
