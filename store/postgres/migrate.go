package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	passkeyd "github.com/passkeyd/passkeyd"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations of nodes starting at once: the first applies a migration, the
// others wait and then find it recorded. Advisory locks are per database,
// not per schema, so two schemas in one database migrate one after the
// other; that costs only time. The value is arbitrary but fixed forever
// ("passkeyd" in ASCII).
const migrationLockKey int64 = 0x706173736b657964

// migration is one embedded file, NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("embedded migration %q is not named NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("embedded migrations are not numbered 1, 2, 3…: %s", m.name)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this build migrates to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// Migrate applies, in order and each in its own transaction, the embedded
// migrations the database lacks, recording them in schema_migrations (in
// the first schema of the search path). Each transaction first takes an
// advisory lock, so nodes starting at once apply each migration once. It is
// idempotent and runs at Open. A database migrated by a newer build is
// refused rather than used with a schema this build does not know.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for {
		m, err := db.migrateOne(ctx, ms)
		if err != nil {
			return err
		}
		if m == nil {
			return nil
		}
		db.logger.InfoContext(ctx, "applied database migration", "version", m.version, "name", m.name)
	}
}

// migrateOne applies the first migration the database lacks, under the
// migration lock, and returns it; nil when there is none.
func (db *DB) migrateOne(ctx context.Context, ms []migration) (*migration, error) {
	tx, err := db.pool.BeginTx(ctx, txOptions)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: begin: %w", err)
	}
	defer func() {
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			db.logger.ErrorContext(ctx, "migration rollback failed", "err", rerr)
		}
	}()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return nil, fmt.Errorf("postgres: migrate: take the migration lock: %w", err)
	}
	// Under the lock, so that two nodes never race to create it.
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER     NOT NULL PRIMARY KEY,
		name       TEXT        NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("postgres: migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("postgres: migrate: read schema version: %w", err)
	}
	if current > len(ms) {
		return nil, passkeyd.Errorf(passkeyd.EUnavailable,
			"database schema version %d is newer than this build knows (%d): upgrade passkeyd", current, len(ms))
	}
	if current == len(ms) {
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("postgres: migrate: commit: %w", err)
		}
		return nil, nil
	}
	m := ms[current]
	// Without arguments, pgx sends the file in the simple protocol, which
	// runs several statements.
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return nil, fmt.Errorf("postgres: migrate %s: %w", m.name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, db.now().UTC().Truncate(time.Microsecond)); err != nil {
		return nil, fmt.Errorf("postgres: migrate %s: record: %w", m.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: migrate %s: commit: %w", m.name, err)
	}
	return &m, nil
}
