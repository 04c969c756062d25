package main

import (
	"context"
	"log/slog"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/jobs"
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
}

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
	}, nil
}

// isPostgres reports whether database.url names PostgreSQL.
func (c *Config) isPostgres() bool {
	return strings.HasPrefix(c.Database.URL, "postgres://") || strings.HasPrefix(c.Database.URL, "postgresql://")
}
