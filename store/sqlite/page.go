package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	passkeyd "github.com/passkeyd/passkeyd"
)

// maxFilterLength bounds filter and cursor values taken from requests.
const maxFilterLength = 256

// pageLimit applies the page size rules: 0 (or less) means the default,
// more than the maximum means the maximum.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return passkeyd.DefaultPageSize
	case n > passkeyd.MaxPageSize:
		return passkeyd.MaxPageSize
	}
	return n
}

// checkFilter reports every over-long filter value at once; kv is
// name, value, name, value, ….
func checkFilter(kv ...string) error {
	var fe passkeyd.FieldErrors
	for i := 0; i+1 < len(kv); i += 2 {
		if len(kv[i+1]) > maxFilterLength {
			fe.Add(kv[i], fmt.Sprintf("must be at most %d characters", maxFilterLength))
		}
	}
	return fe.Err("invalid filter")
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
