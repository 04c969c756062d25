package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"reflect"
	"strings"

	msqlite "modernc.org/sqlite"
)

// The driver parses and plans every statement it runs: database/sql's
// DB.QueryContext and friends hand the SQL text straight to the
// connection, and modernc.org/sqlite keeps nothing between calls. The
// profile of an enrollment showed a seventh of passkeyd's CPU in SQLite's
// parser. cachingConn keeps each connection's prepared statements by
// text, so a statement is parsed once per connection. The store's SQL is
// a fixed set of strings (plus River's), so the cache stays small; it is
// capped anyway.

// maxCachedStmts bounds the statements kept per connection.
const maxCachedStmts = 256

// openCached opens a database/sql pool whose connections cache their
// prepared statements.
func openCached(dsn string) (*sql.DB, error) {
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cachingConnector{c}), nil
}

type cachingConnector struct{ driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

// The driver's connection; every interface database/sql looks for is
// passed through.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is used by one goroutine at a time (database/sql holds the
// connection's lock around each call), so stmts needs no mutex.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	driver.Stmt
	busy bool // rows of it are open: a nested use must not reset it
}

func (c *cachingConn) inner() sqliteConn { return c.Conn.(sqliteConn) }

// cacheable reports whether query is one statement (scripts such as
// migrations contain ';' and run uncached).
func cacheable(query string) bool {
	return !strings.Contains(strings.TrimRight(query, " \t\r\n;"), ";")
}

// stmt returns the cached statement for query, preparing it on first use;
// ok is false when query must run uncached (a script, a full cache, or
// the statement is busy with open rows).
func (c *cachingConn) stmt(ctx context.Context, query string) (s *cachedStmt, ok bool, err error) {
	if s := c.stmts[query]; s != nil {
		return s, !s.busy, nil
	}
	if !cacheable(query) || len(c.stmts) >= maxCachedStmts {
		return nil, false, nil
	}
	ds, err := c.inner().PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	s = &cachedStmt{Stmt: ds}
	c.stmts[query] = s
	return s, true, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, ok, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.inner().ExecContext(ctx, query, args)
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, ok, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.inner().QueryContext(ctx, query, args)
	}
	r, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: r, stmt: s}, nil
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner().BeginTx(ctx, opts)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner().PrepareContext(ctx, query)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.inner().Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner().ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.inner().IsValid() }

// Close finalizes the cached statements before the connection.
func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		s.Stmt.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}

// cachedRows frees its statement for reuse when closed (the driver resets
// a prepared statement's rows on Close instead of finalizing it).
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}

// The driver's column type information, passed through for
// sql.Rows.ColumnTypes.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	return r.Rows.(driver.RowsColumnTypeNullable).ColumnTypeNullable(i)
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	return r.Rows.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}
