package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Writes committed in one batch are independent: one that fails (an
// error, a conflict, a panic) is rolled back to its savepoint and alone
// reports it; every other write of the batch commits with its audit
// events, and the chain stays linear.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ev := passkeyd.AuditEvent{Actor: "test", Action: "t", Outcome: passkeyd.OutcomeSuccess}
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE t (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}

	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.write(ctx, "test", func(tx *txn) error {
				if _, err := tx.tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, i); err != nil {
					return err
				}
				tx.audit(ev)
				switch i % 10 {
				case 3: // fails after writing
					return passkeyd.Errorf(passkeyd.EInvalid, "write %d refused", i)
				case 7: // a duplicate key
					_, err := tx.tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, i)
					return mapError(err, "duplicate", "", "")
				case 9:
					panic(fmt.Sprintf("write %d panics", i))
				}
				return nil
			})
		})
	}
	wg.Wait()

	if db.largestBatch.Load() < 2 {
		t.Fatalf("the largest batch held %d write(s): nothing was committed together", db.largestBatch.Load())
	}
	want := 0
	for i, err := range errs {
		var exists int
		if qerr := db.rd.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE n = ?`, i).Scan(&exists); qerr != nil {
			t.Fatal(qerr)
		}
		switch i % 10 {
		case 3, 7, 9:
			if err == nil || exists != 0 {
				t.Errorf("write %d: err %v, row present %d; want an error and no row", i, err, exists)
			}
		default:
			want++
			if err != nil || exists != 1 {
				t.Errorf("write %d: err %v, row present %d; want success and the row", i, err, exists)
			}
		}
	}
	evs, err := db.AuditEvents(ctx, passkeyd.AuditFilter{Limit: n + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != want {
		t.Errorf("%d audit events, want %d (one per committed write)", len(evs), want)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("audit event %d has seq %d: the chain has a gap", i, e.Seq)
		}
	}
	var sync int
	if err := db.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
}

// Close waits for the writes in flight and refuses new ones.
func TestCloseRefusesWrites(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	err = db.write(ctx, "test", func(*txn) error { return nil })
	if passkeyd.ErrorCodeOf(err) != passkeyd.EUnavailable {
		t.Errorf("write after Close = %v, want %s", err, passkeyd.EUnavailable)
	}
}

// The writer never checkpoints (wal_autocheckpoint 0): the background
// checkpointer copies the WAL into the database file.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	if err := db.db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE t (n INTEGER PRIMARY KEY, pad BLOB)`); err != nil {
		t.Fatal(err)
	}
	before := db.checkpoints.Load()
	for i := range 50 {
		if err := db.write(ctx, "test", func(tx *txn) error {
			_, err := tx.tx.ExecContext(ctx, `INSERT INTO t VALUES (?, zeroblob(8192))`, i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rows int
		if err := db.rd.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&rows); err != nil || rows != 50 {
			t.Fatalf("rows = %d, %v", rows, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if db.checkpoints.Load() > before && fi.Size() > 50*8192 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d checkpoints, database file %d bytes: the WAL was not copied back", db.checkpoints.Load()-before, fi.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A write alone in its batch runs without a savepoint: when it fails, the
// whole transaction is rolled back, so nothing of it remains.
func TestLoneFailingWriteLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	ev := passkeyd.AuditEvent{Actor: "test", Action: "t", Outcome: passkeyd.OutcomeSuccess}
	err = db.write(ctx, "test", func(tx *txn) error {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
			return err
		}
		tx.audit(ev)
		return passkeyd.Errorf(passkeyd.EInvalid, "refused after writing")
	})
	if passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Fatalf("write = %v, want the fn's error", err)
	}
	var rows, events int
	db.rd.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&rows)
	db.rd.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&events)
	if rows != 0 || events != 0 {
		t.Errorf("after the failed write: %d rows, %d audit events; want none", rows, events)
	}
	// And the next write works.
	if err := db.write(ctx, "test", func(tx *txn) error {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO t VALUES (2)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// A batch in which no write fails runs each write once, without
// savepoints; one that fails makes the others run again, each in its
// savepoint, and each still commits exactly once.
func TestBatchRunsWritesAgainOnlyAfterAFailure(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE t (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	run := func(n int, failing func(i int) bool) (runs []atomic.Int64) {
		runs = make([]atomic.Int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_ = db.write(ctx, "test", func(tx *txn) error {
					runs[i].Add(1)
					if _, err := tx.tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, len(runs)*1000+i); err != nil {
						return err
					}
					if failing(i) {
						return passkeyd.Errorf(passkeyd.EInvalid, "refused")
					}
					return nil
				})
			})
		}
		wg.Wait()
		return runs
	}
	runs := run(200, func(int) bool { return false })
	for i := range runs {
		if n := runs[i].Load(); n != 1 {
			t.Fatalf("write %d ran %d times in batches where nothing failed", i, n)
		}
	}
	again := 0
	runs = run(300, func(i int) bool { return i%50 == 0 })
	for i := range runs {
		if runs[i].Load() > 1 {
			again++
		}
	}
	if again == 0 {
		t.Error("no write ran again after a failure in its batch: the failures were never batched")
	}
	var rows int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE n >= 300000`).Scan(&rows); err != nil || rows != 300-6 {
		t.Errorf("%d rows, %v; want %d (every write that did not fail, once)", rows, err, 300-6)
	}
}

// A caller whose context ends while its write runs (a client hanging up)
// fails nothing: neither its own write, which runs to its end once
// queued, nor the others of its batch. (The driver interrupts a statement
// whose context ends, and SQLite then rolls back the whole transaction.)
func TestCancelledCallerFailsNoWrite(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.db.ExecContext(context.Background(), `CREATE TABLE t (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errs[i] = db.write(ctx, "test", func(tx *txn) error {
				if i%10 == 5 {
					cancel() // the client hangs up mid-write
				}
				_, err := tx.tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, i)
				return err
			})
		})
	}
	wg.Wait()
	if db.largestBatch.Load() < 2 {
		t.Fatalf("the largest batch held %d write(s): no cancellation shared a batch", db.largestBatch.Load())
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	var rows int
	if err := db.db.QueryRowContext(context.Background(), `SELECT count(*) FROM t`).Scan(&rows); err != nil || rows != n {
		t.Errorf("%d rows, %v; want %d", rows, err, n)
	}
}
