package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Group commit. Every write of the store goes through one goroutine that
// takes the writes waiting at that moment (up to maxBatch) and runs them
// in one transaction, each inside its own SAVEPOINT, then commits once:
// one fsync for the batch instead of one per write. A write that fails is
// rolled back to its savepoint and alone reports the error; the others
// commit. Under no load a batch is one write and nothing waits longer than
// before; under load (an enrollment makes three writes, and fifty devices
// enroll at once) the writer's fsync, serialised on SQLite's one writer,
// stops being the ceiling.

// maxBatch bounds the writes committed together (and so the work lost to
// a failed commit, which fails all of them).
const maxBatch = 64

// writeReq is one write waiting for the committer.
type writeReq struct {
	ctx     context.Context
	op      string
	durable bool // false: may commit with synchronous NORMAL (see writeLazy)
	fn      func(t *txn) error
	done    chan error
}

// write runs fn in a transaction (shared with other writes of the same
// batch), then appends the audit events and enqueues the jobs fn
// collected. Any error rolls back all of fn's work and none of the
// others'. The commit is on disk (fsync'd) when write returns nil.
//
// fn may run more than once (see commitBatch): each run starts from the
// database as it was, and fn must not keep anything from an earlier run.
func (db *DB) write(ctx context.Context, op string, fn func(t *txn) error) error {
	return db.submit(ctx, op, true, fn)
}

// writeLazy is write for records whose loss in a power cut costs nothing
// but a retry or a sweep: an enrollment's issued options (the device
// starts again) and a registration's outcome (the intent stays, and
// manager.SweepRegistrations settles the passkey by listing Entra), and
// an Idempotency-Key's claim (see idempotency.go). Committed alone it uses synchronous NORMAL: atomic and consistent, safe
// from a process crash, and made durable by the next durable commit (the
// WAL is one sequential file), but not fsync'd itself. In a batch with a
// durable write it is simply durable too.
func (db *DB) writeLazy(ctx context.Context, op string, fn func(t *txn) error) error {
	return db.submit(ctx, op, false, fn)
}

func (db *DB) submit(ctx context.Context, op string, durable bool, fn func(t *txn) error) error {
	if err := ctx.Err(); err != nil {
		return opError(op, dbError(err, "could not start a transaction"))
	}
	r := &writeReq{ctx: ctx, op: op, durable: durable, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- r:
	case <-db.closed:
		return opError(op, passkeyd.Errorf(passkeyd.EUnavailable, "the database is closed"))
	case <-ctx.Done():
		return opError(op, dbError(ctx.Err(), "could not start a transaction"))
	}
	// Once queued, the write runs to its end (a statement interrupted
	// inside the shared transaction would roll back the whole batch), so
	// wait for it whatever ctx does.
	return <-r.done
}

// commitLoop is the committer goroutine; it ends when db.closed is closed.
func (db *DB) commitLoop() {
	defer close(db.loopDone)
	batch := make([]*writeReq, 0, maxBatch)
	busy := false
	for {
		select {
		case r := <-db.writes:
			batch = append(batch[:0], r)
		case <-db.closed:
			return
		}
		db.fill(&batch)
		for i := 0; busy && i < lingerYields && len(batch) < maxBatch; i++ {
			runtime.Gosched()
			db.fill(&batch)
		}
		busy = len(batch) > 1
		db.commitBatch(batch)
		clear(batch)
		db.checkpointIfLarge(context.Background())
	}
}

// lingerYields is how many times the committer, under load, lets the
// goroutines that are about to write run before it commits: each commit
// writes the pages its writes share (the tails of the audit log and of
// the indexes in time order) once, so fewer, larger batches cost less.
// Yielding idles nothing: under load other goroutines are runnable, and
// without load (the last batch was one write) the committer does not wait.
const lingerYields = 8

// fill adds the writes waiting now to batch, up to maxBatch.
func (db *DB) fill(batch *[]*writeReq) {
	for len(*batch) < maxBatch {
		select {
		case r := <-db.writes:
			*batch = append(*batch, r)
		default:
			return
		}
	}
}

// commitBatch runs the batch in one transaction and answers every write.
func (db *DB) commitBatch(batch []*writeReq) {
	if n := int64(len(batch)); n > db.largestBatch.Load() {
		db.largestBatch.Store(n) // only this goroutine writes it
	}
	errs := make([]error, len(batch))
	answer := func() {
		for i, r := range batch {
			r.done <- opError(r.op, errs[i])
		}
	}
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		answer()
	}
	ctx := context.Background()
	durable := false
	for _, r := range batch {
		durable = durable || r.durable
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		fail(dbError(err, "could not start a transaction"))
		return
	}
	defer conn.Close()
	if !durable {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
			fail(dbError(err, "could not start a transaction"))
			return
		}
		defer func() {
			// The connection is shared by every write and the job queue:
			// it must never go back to the pool committing lazily.
			if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
				db.logger.Error("could not restore synchronous FULL; dropping the connection", "err", err)
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		fail(dbError(err, "could not start a transaction"))
		return
	}
	// First without savepoints: writes rarely fail, and a savepoint per
	// write costs two statements and a copy of every page the write
	// touches. If one fails, the batch is rolled back and run again with
	// a savepoint per write, so that the failure stays the write's own.
	// (A write alone in its batch needs no savepoint at all: if it fails,
	// the whole transaction is rolled back.)
	// A write whose caller gave up while it waited in the queue is not
	// started; one that started runs to its end, in the second run too.
	skip := make([]bool, len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			skip[i], errs[i] = true, dbError(err, "could not start a transaction")
		}
	}
	committed, failed := db.runBatch(tx, batch, errs, skip, false)
	if failed != nil && len(batch) > 1 && !isFatal(failed) {
		if err := tx.Rollback(); err != nil {
			fail(dbError(err, "could not roll back"))
			return
		}
		for i := range errs {
			if !skip[i] {
				errs[i] = nil
			}
		}
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			fail(dbError(err, "could not start a transaction"))
			return
		}
		committed, failed = db.runBatch(tx, batch, errs, skip, true)
	}
	if failed != nil && isFatal(failed) {
		// The transaction itself is gone (I/O error, full disk):
		// nothing of the batch can commit.
		tx.Rollback()
		fail(failed)
		return
	}
	if committed == 0 {
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			db.logger.Error("rollback failed", "err", err)
		}
		answer()
		return
	}
	if err := tx.Commit(); err != nil {
		fail(dbError(err, "could not commit"))
		return
	}
	answer()
}

// runBatch runs the batch's writes in tx and records each one's error.
// Without savepoints it stops at the first write that fails and returns
// that error, as the transaction now holds part of that write; with them
// it stops only at a fatal error. Writes marked in skip are not run.
// committed counts the writes that
// succeeded.
func (db *DB) runBatch(tx *sql.Tx, batch []*writeReq, errs []error, skip []bool, savepoints bool) (committed int, failed error) {
	for i, r := range batch {
		if skip[i] {
			continue
		}
		errs[i] = db.runWrite(tx, r, savepoints)
		switch {
		case errs[i] == nil:
			committed++
		case !savepoints || isFatal(errs[i]):
			return committed, errs[i]
		}
	}
	return committed, nil
}

// runWrite runs one write, inside SAVEPOINT w when others share the
// transaction: released on success, rolled back to on failure.
func (db *DB) runWrite(tx *sql.Tx, r *writeReq, savepoint bool) (err error) {
	// Statements are not interruptible once the write started: see submit.
	ctx := context.WithoutCancel(r.ctx)
	if savepoint {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT w`); err != nil {
			return fatal(dbError(err, "could not start a transaction"))
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err = passkeyd.Errorf(passkeyd.EInternal, "write %s panicked: %v", r.op, p)
		}
		if !savepoint {
			return // alone in the batch: commitBatch rolls back on failure
		}
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO w`); rerr != nil {
				err = fatal(fmt.Errorf("%w (and the rollback failed: %v)", err, rerr))
				return
			}
		}
		if _, rerr := tx.ExecContext(ctx, `RELEASE w`); rerr != nil && err == nil {
			err = fatal(dbError(rerr, "could not commit"))
		}
	}()
	t := &txn{tx: uncancelable{tx}, now: db.now().UTC().Truncate(time.Microsecond)}
	if err := r.fn(t); err != nil {
		return err
	}
	if err := appendAudit(ctx, t); err != nil {
		return err
	}
	if len(t.jobs) > 0 {
		enq := db.enqueuer()
		if enq == nil {
			return passkeyd.Errorf(passkeyd.EInternal, "job queue is not configured: %d job(s) could not be enqueued", len(t.jobs))
		}
		if err := enq(ctx, tx, t.jobs); err != nil {
			return passkeyd.WrapError(passkeyd.EInternal, err, "could not enqueue jobs")
		}
	}
	return nil
}

// fatalError marks an error after which the batch's transaction cannot
// go on.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

func fatal(err error) error { return fatalError{err} }

func isFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f)
}
