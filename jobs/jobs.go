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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Revoker does the work of a revocation job (manager.Manager).
type Revoker interface {
	RevokePasskey(ctx context.Context, passkeyID string) error
}

// Resolver settles passkeys whose create outcome is unknown, and sweeps
// up registrations whose node stopped before recording the outcome
// (manager.Manager).
type Resolver interface {
	ResolvePasskey(ctx context.Context, passkeyID string) error
	SweepRegistrations(ctx context.Context) (int, error)
}

// SweepArgs are the arguments of the periodic sweep of interrupted
// registrations.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "sweep_registrations" }

// InsertOpts: a missed sweep is simply the next one.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: queueReconcile}
}

// sweepEvery is how often interrupted registrations are looked for. They
// are only taken once ten minutes old (manager.registrationGrace), so
// this bounds how much later than that they are settled.
const sweepEvery = time.Minute

// Reconciler compares passkeyd's inventory with Entra (manager.Manager).
type Reconciler interface {
	Reconcile(ctx context.Context, userID string) (*passkeyd.DriftReport, error)
}

// ReconcileArgs are the arguments of the periodic reconciliation job.
type ReconcileArgs struct{}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "reconcile" }

// InsertOpts: one reconciliation at a time is enough; a failed run is
// simply the next period's work.
func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, Queue: queueReconcile}
}

// AuditShipper ships the audit log to sinks and writes checkpoints
// (audit.Shipper).
type AuditShipper interface {
	Run(ctx context.Context) error
}

// ShipAuditArgs are the arguments of the periodic audit shipping job.
type ShipAuditArgs struct{}

// Kind implements river.JobArgs.
func (ShipAuditArgs) Kind() string { return "ship_audit" }

// InsertOpts: a failed run is the next period's work.
func (ShipAuditArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: queueReconcile}
}

// ResolveArgs are the arguments of a resolution job.
type ResolveArgs struct {
	PasskeyID string `json:"passkey_id"`
}

// Kind implements river.JobArgs.
func (ResolveArgs) Kind() string { return string(passkeyd.JobResolvePasskey) }

// InsertOpts: like revocations, resolutions are never given up.
func (ResolveArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: maxAttempts, Queue: queueRevoke}
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
	queueRevoke    = "revoke"
	queueReconcile = "reconcile"
	maxAttempts    = 100_000
	// maxBackoff caps the retry delay so a recovered Entra is noticed soon.
	maxBackoff = 10 * time.Minute
)

// Config configures the queue.
type Config struct {
	Revoker Revoker
	// Resolver, when set, runs JobResolvePasskey jobs.
	Resolver Resolver
	// Reconciler and ReconcileEvery, when set, reconcile every user with
	// Entra periodically (River elects one node to schedule it).
	Reconciler     Reconciler
	ReconcileEvery time.Duration
	// AuditShipper and ShipEvery, when set, ship the audit log to its
	// sinks and write checkpoints periodically (one node at a time).
	AuditShipper AuditShipper
	ShipEvery    time.Duration
	Logger       *slog.Logger
	// Concurrency is the number of revocation workers (default 16).
	Concurrency int
	// PollInterval is how often idle workers look for new jobs (default 1 s).
	PollInterval time.Duration
	// RescueAfter is how long a running job may go without finishing
	// before another node takes it over (its node presumably died);
	// default 5 minutes. It must exceed JobTimeout.
	RescueAfter time.Duration
}

// Queue is the job queue: insert-in-transaction plus the workers. It runs
// on the store's own database: SQLite (NewSQLite) or PostgreSQL
// (NewPostgres).
type Queue struct {
	insert func(ctx context.Context, tx any, params []river.InsertManyParams) error
	start  func(ctx context.Context) error
	stop   func(ctx context.Context) error
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
	rc, err := riverConfig(cfg, true)
	if err != nil {
		return nil, err
	}
	client, err := river.NewClient(riversqlite.New(db), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{
		insert: func(ctx context.Context, tx any, params []river.InsertManyParams) error {
			sqlTx, ok := tx.(*sql.Tx)
			if !ok {
				return fmt.Errorf("jobs: enqueue needs a *sql.Tx, got %T", tx)
			}
			_, err := client.InsertManyTx(ctx, sqlTx, params)
			return err
		},
		start: client.Start, stop: client.Stop, log: rc.Logger,
	}, nil
}

// MigratePostgres creates or upgrades River's tables in the pool's
// database (safe to run from several nodes at once: River locks).
func MigratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	mig, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// NewPostgres returns a queue on PostgreSQL, shared by every node: jobs
// are claimed with FOR UPDATE SKIP LOCKED, so each runs once, and a job
// whose node died is rescued after RescueStuckJobsAfter.
func NewPostgres(pool *pgxpool.Pool, cfg Config) (*Queue, error) {
	rc, err := riverConfig(cfg, false)
	if err != nil {
		return nil, err
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{
		insert: func(ctx context.Context, tx any, params []river.InsertManyParams) error {
			pgTx, ok := tx.(pgx.Tx)
			if !ok {
				return fmt.Errorf("jobs: enqueue needs a pgx.Tx, got %T", tx)
			}
			_, err := client.InsertManyTx(ctx, pgTx, params)
			return err
		},
		start: client.Start, stop: client.Stop, log: rc.Logger,
	}, nil
}

// riverConfig is the River configuration shared by both databases.
func riverConfig(cfg Config, pollOnly bool) (*river.Config, error) {
	if cfg.Revoker == nil {
		return nil, errors.New("jobs: a Revoker is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = 5 * time.Minute
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &revokeWorker{revoker: cfg.Revoker, log: log})
	if cfg.Resolver != nil {
		river.AddWorker(workers, &resolveWorker{resolver: cfg.Resolver, log: log})
	}
	queues := map[string]river.QueueConfig{queueRevoke: {MaxWorkers: cfg.Concurrency}}
	var periodic []*river.PeriodicJob
	if cfg.Resolver != nil {
		river.AddWorker(workers, &sweepWorker{resolver: cfg.Resolver, log: log})
		queues[queueReconcile] = river.QueueConfig{MaxWorkers: 1}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(sweepEvery),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
			&river.PeriodicJobOpts{ID: "sweep_registrations"}))
	}
	if cfg.Reconciler != nil && cfg.ReconcileEvery > 0 {
		river.AddWorker(workers, &reconcileWorker{reconciler: cfg.Reconciler, log: log})
		queues[queueReconcile] = river.QueueConfig{MaxWorkers: 1}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileEvery),
			func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
			&river.PeriodicJobOpts{ID: "reconcile"}))
	}
	if cfg.AuditShipper != nil && cfg.ShipEvery > 0 {
		river.AddWorker(workers, &shipWorker{shipper: cfg.AuditShipper})
		queues[queueReconcile] = river.QueueConfig{MaxWorkers: 1}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.ShipEvery),
			func() (river.JobArgs, *river.InsertOpts) { return ShipAuditArgs{}, nil },
			&river.PeriodicJobOpts{ID: "ship_audit"}))
	}
	return &river.Config{
		Logger:            log.With("component", "river"),
		Queues:            queues,
		PeriodicJobs:      periodic,
		Workers:           workers,
		PollOnly:          pollOnly, // SQLite has no LISTEN/NOTIFY
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     cfg.PollInterval / 4,
		RetryPolicy:       &retryPolicy{},
		// A job whose node died is rescued after this long, not an hour.
		RescueStuckJobsAfter: cfg.RescueAfter,
		JobTimeout:           min(2*time.Minute, cfg.RescueAfter/2),
		MaxAttempts:          maxAttempts,
	}, nil
}

// Enqueue inserts jobs inside the store's transaction tx (a *sql.Tx). It
// is the passkeyd.JobEnqueuer the store calls.
func (q *Queue) Enqueue(ctx context.Context, tx any, jobs []passkeyd.Job) error {
	params := make([]river.InsertManyParams, 0, len(jobs))
	for _, j := range jobs {
		switch j.Kind {
		case passkeyd.JobRevokePasskey:
			params = append(params, river.InsertManyParams{Args: RevokeArgs{PasskeyID: j.PasskeyID}})
		case passkeyd.JobResolvePasskey:
			params = append(params, river.InsertManyParams{Args: ResolveArgs{PasskeyID: j.PasskeyID}})
		default:
			return fmt.Errorf("jobs: unknown job kind %q", j.Kind)
		}
	}
	if len(params) == 0 {
		return nil
	}
	return q.insert(ctx, tx, params)
}

// Start runs the workers until Stop.
func (q *Queue) Start(ctx context.Context) error { return q.start(ctx) }

// Stop waits for running jobs to finish (bounded by ctx) and stops.
func (q *Queue) Stop(ctx context.Context) error { return q.stop(ctx) }

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
	return snoozeOrErr(ctx, w.log, "revocation", job.Args.PasskeyID, job.Attempt, w.revoker.RevokePasskey(ctx, job.Args.PasskeyID))
}

// reconcileWorker runs the periodic reconciliation.
type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	reconciler Reconciler
	log        *slog.Logger
}

// Work reconciles every user and logs the drift found.
func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	rep, err := w.reconciler.Reconcile(passkeyd.WithActor(ctx, passkeyd.SystemActor), "")
	if err != nil {
		return err
	}
	w.log.InfoContext(ctx, "reconciled with Entra", "users", rep.Users, "missing", len(rep.Missing),
		"adopted", len(rep.Adopted), "unmanaged", len(rep.Unmanaged), "errors", len(rep.Errors))
	return nil
}

// shipWorker runs the periodic audit shipping.
type shipWorker struct {
	river.WorkerDefaults[ShipAuditArgs]
	shipper AuditShipper
}

// Work ships once.
func (w *shipWorker) Work(ctx context.Context, _ *river.Job[ShipAuditArgs]) error {
	return w.shipper.Run(ctx)
}

// sweepWorker runs the periodic sweep of interrupted registrations.
type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	resolver Resolver
	log      *slog.Logger
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	n, err := w.resolver.SweepRegistrations(ctx)
	if n > 0 {
		w.log.WarnContext(ctx, "interrupted registrations handed to resolution", "passkeys", n)
	}
	return err
}

// resolveWorker runs resolution jobs.
type resolveWorker struct {
	river.WorkerDefaults[ResolveArgs]
	resolver Resolver
	log      *slog.Logger
}

// Work resolves one passkey; RetryLater snoozes as for revocations.
func (w *resolveWorker) Work(ctx context.Context, job *river.Job[ResolveArgs]) error {
	return snoozeOrErr(ctx, w.log, "resolution", job.Args.PasskeyID, job.Attempt, w.resolver.ResolvePasskey(ctx, job.Args.PasskeyID))
}

// snoozeOrErr turns a RetryLater into a snooze (no attempt spent, no
// worker held) and logs other failures.
func snoozeOrErr(ctx context.Context, log *slog.Logger, what, passkeyID string, attempt int, err error) error {
	var rl *passkeyd.RetryLater
	if errors.As(err, &rl) {
		log.InfoContext(ctx, what+" postponed", "passkey_id", passkeyID, "after", rl.After, "reason", rl.Reason)
		return river.JobSnooze(rl.After)
	}
	if err != nil {
		log.WarnContext(ctx, what+" attempt failed", "passkey_id", passkeyID, "attempt", attempt, "err", err)
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
