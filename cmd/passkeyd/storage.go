package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/jobs"
	"github.com/passkeyd/passkeyd/metrics"
	"github.com/passkeyd/passkeyd/store/postgres"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

// storage is a store with what the wiring needs beyond passkeyd.Store: its
// job queue in the same database, and a readiness probe.
type storage struct {
	passkeyd.Store
	SetEnqueuer func(passkeyd.JobEnqueuer)
	newQueue    func(jobs.Config) (*jobs.Queue, error)
	ping        func(context.Context) error
	// queueStats reads the job queue's depth and oldest job per queue and
	// state, for metrics.
	queueStats metrics.QueueStatsFunc
}

// queueStatsSQL counts unfinished jobs; "oldest" is since the job was
// created (for scheduled jobs: how long the work has been pending).
const queueStatsSQL = `SELECT queue, state, count(*), min(created_at) FROM river_job
	WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending') GROUP BY queue, state`

// openStorage opens the database named by database.url (SQLite in the data
// dir by default, or PostgreSQL for several nodes), migrates it and the
// job queue's tables.
func openStorage(ctx context.Context, cfg Config, log *slog.Logger) (storage, error) {
	if cfg.isPostgres() {
		db, err := postgres.Open(ctx, cfg.Database.URL, postgres.Options{Logger: log})
		if err != nil {
			return storage{}, err
		}
		if err := jobs.MigratePostgres(ctx, db.Pool()); err != nil {
			db.Close()
			return storage{}, err
		}
		return storage{
			Store:       db,
			SetEnqueuer: db.SetEnqueuer,
			newQueue:    func(c jobs.Config) (*jobs.Queue, error) { return jobs.NewPostgres(db.Pool(), c) },
			ping:        db.Pool().Ping,
			queueStats: func(ctx context.Context) ([]metrics.QueueStat, error) {
				rows, err := db.Pool().Query(ctx, queueStatsSQL)
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				var out []metrics.QueueStat
				for rows.Next() {
					var st metrics.QueueStat
					var oldest time.Time
					if err := rows.Scan(&st.Queue, &st.State, &st.Count, &oldest); err != nil {
						return nil, err
					}
					st.OldestAge = time.Since(oldest)
					out = append(out, st)
				}
				return out, rows.Err()
			},
		}, nil
	}
	db, err := sqlite.Open(ctx, cfg.sqlitePath(), sqlite.Options{Logger: log})
	if err != nil {
		return storage{}, err
	}
	if err := jobs.MigrateSQLite(ctx, db.SQL()); err != nil {
		db.Close()
		return storage{}, err
	}
	return storage{
		Store:       db,
		SetEnqueuer: db.SetEnqueuer,
		newQueue:    func(c jobs.Config) (*jobs.Queue, error) { return jobs.NewSQLite(db.SQL(), c) },
		ping:        db.SQL().PingContext,
		queueStats: func(ctx context.Context) ([]metrics.QueueStat, error) {
			rows, err := db.SQL().QueryContext(ctx, queueStatsSQL)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []metrics.QueueStat
			for rows.Next() {
				var st metrics.QueueStat
				var oldest string
				if err := rows.Scan(&st.Queue, &st.State, &st.Count, &oldest); err != nil {
					return nil, err
				}
				// River's SQLite driver stores UTC as "2006-01-02 15:04:05.000".
				if t, err := time.Parse("2006-01-02 15:04:05.999999999", oldest); err == nil {
					st.OldestAge = time.Since(t)
				}
				out = append(out, st)
			}
			return out, rows.Err()
		},
	}, nil
}

// isPostgres reports whether database.url names PostgreSQL.
func (c *Config) isPostgres() bool {
	return strings.HasPrefix(c.Database.URL, "postgres://") || strings.HasPrefix(c.Database.URL, "postgresql://")
}
