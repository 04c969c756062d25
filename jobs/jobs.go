// Package jobs runs passkeyd's background work on River, a transactional
// job queue that lives in the same database as the data: a job is
// enqueued in the same transaction as the change that causes it, so a
// committed device removal always has its revocation jobs, and a crash
// cannot separate them.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Revoker does the work of a revocation job (manager.Manager).
type Revoker interface {
	RevokePasskey(ctx context.Context, passkeyID string) error
}

// RevokeArgs are the arguments of a revocation job.
type RevokeArgs struct {
	PasskeyID string `json:"passkey_id"`
}

// Kind implements river.JobArgs.
func (RevokeArgs) Kind() string { return string(passkeyd.JobRevokePasskey) }

// InsertOpts gives revocations effectively unlimited attempts: a removed
// device's passkeys must be revoked even if Entra is down for days, so a
// job is never discarded for having tried too often. Permanent failures
// end the job themselves (revoke_failed), not the attempt count.
func (RevokeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: maxAttempts, Queue: queueRevoke}
}

const (
	queueRevoke = "revoke"
	maxAttempts = 100_000
	// maxBackoff caps the retry delay so a recovered Entra is noticed soon.
	maxBackoff = 10 * time.Minute
)

// Config configures the queue.
type Config struct {
	Revoker Revoker
	Logger  *slog.Logger
	// Concurrency is the number of revocation workers (default 4).
	Concurrency int
	// PollInterval is how often idle workers look for new jobs (default 1 s).
	PollInterval time.Duration
}

// Queue is the job queue: insert-in-transaction plus the workers.
type Queue struct {
	client *river.Client[*sql.Tx]
	log    *slog.Logger
}

// MigrateSQLite creates or upgrades River's tables in db.
func MigrateSQLite(ctx context.Context, db *sql.DB) error {
	mig, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// NewSQLite returns a queue on the embedded SQLite database. db must be
// the store's own pool (one connection, WAL): River's SQLite driver
// requires it, and sharing it is what lets jobs join store transactions.
func NewSQLite(db *sql.DB, cfg Config) (*Queue, error) {
	if cfg.Revoker == nil {
		return nil, errors.New("jobs: a Revoker is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &revokeWorker{revoker: cfg.Revoker, log: log})
	client, err := river.NewClient(riversqlite.New(db), &river.Config{
		Logger:            log.With("component", "river"),
		Queues:            map[string]river.QueueConfig{queueRevoke: {MaxWorkers: cfg.Concurrency}},
		Workers:           workers,
		PollOnly:          true, // SQLite has no LISTEN/NOTIFY
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     cfg.PollInterval / 4,
		RetryPolicy:       &retryPolicy{},
		// A job whose node died is rescued after this long, not an hour.
		RescueStuckJobsAfter: 5 * time.Minute,
		JobTimeout:           2 * time.Minute,
		MaxAttempts:          maxAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{client: client, log: log}, nil
}

// Enqueue inserts jobs inside the store's transaction tx (a *sql.Tx). It
// is the passkeyd.JobEnqueuer the store calls.
func (q *Queue) Enqueue(ctx context.Context, tx any, jobs []passkeyd.Job) error {
	sqlTx, ok := tx.(*sql.Tx)
	if !ok {
		return fmt.Errorf("jobs: enqueue needs a *sql.Tx, got %T", tx)
	}
	params := make([]river.InsertManyParams, 0, len(jobs))
	for _, j := range jobs {
		switch j.Kind {
		case passkeyd.JobRevokePasskey:
			params = append(params, river.InsertManyParams{Args: RevokeArgs{PasskeyID: j.PasskeyID}})
		default:
			return fmt.Errorf("jobs: unknown job kind %q", j.Kind)
		}
	}
	if len(params) == 0 {
		return nil
	}
	_, err := q.client.InsertManyTx(ctx, sqlTx, params)
	return err
}

// Start runs the workers until Stop.
func (q *Queue) Start(ctx context.Context) error { return q.client.Start(ctx) }

// Stop waits for running jobs to finish (bounded by ctx) and stops.
func (q *Queue) Stop(ctx context.Context) error { return q.client.Stop(ctx) }

// revokeWorker runs revocation jobs.
type revokeWorker struct {
	river.WorkerDefaults[RevokeArgs]
	revoker Revoker
	log     *slog.Logger
}

// Work revokes one passkey. A RetryLater (throttling, a registration in
// flight) snoozes the job: that costs no attempt and never holds a worker
// through a long Retry-After.
func (w *revokeWorker) Work(ctx context.Context, job *river.Job[RevokeArgs]) error {
	err := w.revoker.RevokePasskey(ctx, job.Args.PasskeyID)
	var rl *passkeyd.RetryLater
	if errors.As(err, &rl) {
		w.log.InfoContext(ctx, "revocation postponed", "passkey_id", job.Args.PasskeyID, "after", rl.After, "reason", rl.Reason)
		return river.JobSnooze(rl.After)
	}
	if err != nil {
		w.log.WarnContext(ctx, "revocation attempt failed", "passkey_id", job.Args.PasskeyID, "attempt", job.Attempt, "err", err)
	}
	return err
}

// retryPolicy is exponential backoff with full jitter, capped at
// maxBackoff: 1 s, 2 s, 4 s … 10 min.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(backoff(job.Attempt))
}

func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 20 {
		d = min(time.Second<<max(attempt-1, 0), maxBackoff)
	}
	// Full jitter keeps many nodes' retries from marching in step; never
	// less than half the base so a burst does not retry at once.
	return d/2 + rand.N(d/2+1)
}
