// Package postgres is the store of passkeyd for many nodes: passkeyd.Store
// on PostgreSQL through a pgx connection pool, with its schema in embedded
// ordered migrations of its own (PostgreSQL SQL, not SQLite's).
//
// Every write is one READ COMMITTED transaction holding the change, its
// audit events and its jobs (enqueued through the caller's JobEnqueuer
// with the pgx.Tx). The audit chain stays linear across nodes because each
// append first locks the one row of the audit_chain table (see audit.go).
// Compare-and-set updates are "UPDATE … WHERE state = expected", which
// READ COMMITTED re-checks against the row as committed by a concurrent
// writer, so two nodes cannot both win.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	passkeyd "github.com/passkeyd/passkeyd"
)

// Options configure Open. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives migration and diagnostic messages; nil discards.
	Logger *slog.Logger
	// Enqueue inserts jobs in the store's transactions (tx is a pgx.Tx).
	// It may be set later with SetEnqueuer (the queue client is built on
	// Pool()).
	Enqueue passkeyd.JobEnqueuer
}

// DB is the PostgreSQL store. It implements passkeyd.Store.
type DB struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	logger *slog.Logger

	mu      sync.RWMutex
	enqueue passkeyd.JobEnqueuer
}

var _ passkeyd.Store = (*DB)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx parses them) and migrates it to the latest
// schema. Unknown URL parameters such as search_path are sent as run-time
// parameters. Errors never include the password.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if url == "" {
		return nil, fmt.Errorf("postgres: open: empty database URL")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password from its parse errors.
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return OpenConfig(ctx, cfg, opts)
}

// OpenConfig is Open for a parsed pool configuration, for callers that set
// TLS, pool sizes or connection hooks themselves.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts Options) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := &DB{pool: pool, now: opts.Now, logger: opts.Logger, enqueue: opts.Enqueue}
	if db.now == nil {
		db.now = time.Now
	}
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: connect to %s:%d/%s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Pool returns the connection pool, for the job queue (riverpgxv5).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

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

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// txOptions are the options of every write transaction. READ COMMITTED is
// set explicitly, whatever the server's default: the audit append relies
// on each statement seeing what was committed before the chain lock was
// granted (see appendAudit).
var txOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}

// txn is the state of one write transaction: its clock reading, the
// audit events and jobs to add before commit.
type txn struct {
	tx   pgx.Tx
	now  time.Time
	evs  []passkeyd.AuditEvent
	jobs []passkeyd.Job
}

func (t *txn) audit(evs ...passkeyd.AuditEvent) { t.evs = append(t.evs, evs...) }
func (t *txn) enqueue(jobs ...passkeyd.Job)     { t.jobs = append(t.jobs, jobs...) }

// write runs fn in one transaction, then appends the audit events and
// enqueues the jobs fn collected, then commits. Any error rolls back all
// of it.
func (db *DB) write(ctx context.Context, op string, fn func(t *txn) error) error {
	return db.writeTx(ctx, op, true, fn)
}

// writeLazy is write for records whose loss in a crash of the database
// server costs nothing but a retry or a sweep: an enrollment's issued
// options (the device starts again) and a registration's outcome (the
// intent stays, and manager.SweepRegistrations settles the passkey), and
// an Idempotency-Key's claim (see idempotency.go). It commits with
// synchronous_commit off: atomic and consistent, but the commit does not
// wait for its WAL flush. The intent
// and outcome around Graph's create stay durable.
func (db *DB) writeLazy(ctx context.Context, op string, fn func(t *txn) error) error {
	return db.writeTx(ctx, op, false, fn)
}

func (db *DB) writeTx(ctx context.Context, op string, durable bool, fn func(t *txn) error) error {
	tx, err := db.pool.BeginTx(ctx, txOptions)
	if err != nil {
		return opError(op, dbError(err, "could not start a transaction"))
	}
	if !durable {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			return opError(op, dbError(err, "could not start a transaction"))
		}
	}
	t := &txn{tx: tx, now: db.now().UTC().Truncate(time.Microsecond)}
	err = fn(t)
	if err == nil {
		err = appendAudit(ctx, t)
	}
	if err == nil && len(t.jobs) > 0 {
		enq := db.enqueuer()
		if enq == nil {
			err = passkeyd.Errorf(passkeyd.EInternal, "job queue is not configured: %d job(s) could not be enqueued", len(t.jobs))
		} else if qerr := enq(ctx, tx, t.jobs); qerr != nil {
			err = passkeyd.WrapError(passkeyd.EInternal, qerr, "could not enqueue jobs")
		}
	}
	if err != nil {
		// The rollback must run even when ctx is what failed.
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			db.logger.ErrorContext(ctx, "rollback failed", "op", op, "err", rerr)
		}
		return opError(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return opError(op, dbError(err, "could not commit"))
	}
	return nil
}
