// Package sqlite is the embedded store of passkeyd: passkeyd.Store on one
// SQLite file (modernc.org/sqlite, pure Go), in WAL mode with synchronous
// FULL, with its schema in embedded ordered migrations.
//
// The database has exactly one connection. The job queue (River with its
// riversqlite driver) shares it through SQL and requires it; SQLite
// serialises writers anyway, and one connection makes that explicit:
// transactions begin IMMEDIATE (taking the write lock at BEGIN), so the
// audit chain read-then-append inside a transaction is never raced. A
// consequence for code in this package: inside a transaction, every
// statement must go through the *sql.Tx, or it waits for itself forever.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Options configure Open. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives migration and diagnostic messages; nil discards.
	Logger *slog.Logger
	// Enqueue inserts jobs in the store's transactions. It may be set
	// later with SetEnqueuer (the queue client is built on SQL()).
	Enqueue passkeyd.JobEnqueuer
}

// DB is the SQLite store. It implements passkeyd.Store.
type DB struct {
	db     *sql.DB // the writer: one connection, shared with the job queue
	rd     *sql.DB // readers
	now    func() time.Time
	logger *slog.Logger

	mu      sync.RWMutex
	enqueue passkeyd.JobEnqueuer

	writes    chan *writeReq // to the committer (commit.go)
	closed    chan struct{}
	closeOnce sync.Once
	loopDone  chan struct{}
	// largestBatch is the most writes committed together (for tests).
	largestBatch atomic.Int64

	ck          *sql.DB // the checkpointer's connection (checkpoint.go); nil in memory
	ckDone      chan struct{}
	checkpoints atomic.Int64 // checkpoints run (for tests)
	walFrames   atomic.Int64 // the WAL's size at the last checkpoint
}

var _ passkeyd.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path and migrates it to
// the latest schema. path is a file name; ":memory:" gives a private
// in-memory database (for tests: it dies with the connection).
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: open: empty database path")
	}
	// The driver takes everything after the first '?' as parameters.
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: open %q: the path may not contain '?' or '#'", path)
	}
	q := url.Values{}
	pragmas := []string{
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"busy_timeout(10000)",
		"foreign_keys(1)",
	}
	if path != ":memory:" {
		pragmas = append(pragmas, "wal_autocheckpoint(0)", "journal_size_limit(16777216)") // see checkpoint.go
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	sqldb, err := openCached(path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(1)
	sqldb.SetMaxIdleConns(1)
	sqldb.SetConnMaxLifetime(0)
	sqldb.SetConnMaxIdleTime(0)

	db := &DB{db: sqldb, now: opts.Now, logger: opts.Logger, enqueue: opts.Enqueue,
		writes: make(chan *writeReq), closed: make(chan struct{}), loopDone: make(chan struct{}), ckDone: make(chan struct{})}
	if db.now == nil {
		db.now = time.Now
	}
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.Migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	// Reads get a pool of their own: in WAL mode readers do not block the
	// writer nor each other, while the writer's single connection (which
	// the job queue shares) is kept for transactions. An in-memory
	// database exists per connection, so it reads through the writer.
	db.rd = sqldb
	if path != ":memory:" {
		rq := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "foreign_keys(1)", "query_only(1)"} {
			rq.Add("_pragma", p)
		}
		rd, err := openCached(path + "?" + rq.Encode())
		if err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
		}
		rd.SetMaxOpenConns(readConns)
		rd.SetMaxIdleConns(readConns)
		db.rd = rd
		if err := db.openCheckpointer(path); err != nil {
			rd.Close()
			sqldb.Close()
			return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", path, err)
		}
	} else {
		close(db.ckDone)
	}
	go db.commitLoop()
	return db, nil
}

// readConns is the size of the read pool.
const readConns = 4

// SQL returns the underlying pool of one connection, for the job queue.
// Do not change its pool settings.
func (db *DB) SQL() *sql.DB { return db.db }

// SetEnqueuer sets the function that enqueues jobs, for when the queue is
// built after the store. Set it before the first write that enqueues.
func (db *DB) SetEnqueuer(enq passkeyd.JobEnqueuer) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.enqueue = enq
}

func (db *DB) enqueuer() passkeyd.JobEnqueuer {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.enqueue
}

// Close closes the database.
func (db *DB) Close() error {
	first := false
	db.closeOnce.Do(func() { first = true; close(db.closed) })
	<-db.loopDone // pending writes end first
	<-db.ckDone
	if !first {
		return nil
	}
	if db.ck != nil {
		db.ck.Close()
	}
	if db.rd != nil && db.rd != db.db {
		db.rd.Close()
	}
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// txn is the state of one write transaction: its clock reading, the
// audit events and jobs to add before commit.
type txn struct {
	tx   uncancelable
	now  time.Time
	evs  []passkeyd.AuditEvent
	jobs []passkeyd.Job
}

func (t *txn) audit(evs ...passkeyd.AuditEvent) { t.evs = append(t.evs, evs...) }

// uncancelable runs a write's statements whatever its caller's context
// does. The driver interrupts a statement whose context ends, and SQLite
// then rolls back the whole transaction: one client hanging up would fail
// every write of its group-commit batch. A queued write runs to its end.
type uncancelable struct{ tx *sql.Tx }

func (u uncancelable) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelable) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelable) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return u.tx.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}
func (t *txn) enqueue(jobs ...passkeyd.Job) { t.jobs = append(t.jobs, jobs...) }
