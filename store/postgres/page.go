package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
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

// args collects the arguments of a query built piece by piece.
type args []any

// add appends v and returns its placeholder, $n.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// rowScanner is pgx.Row or pgx.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// querier is *pgxpool.Pool or pgx.Tx.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
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

// Times are TIMESTAMPTZ, which keeps microseconds: values are written in
// UTC truncated to the microsecond (what the audit chain hashes) and read
// back in UTC, so they compare equal after a round trip.

// ts normalises t for storage.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tsPtr stores a nil or zero time as NULL.
func tsPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return ts(*t)
}

// utcPtr returns a scanned nullable time in UTC.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// orNow returns t, or now when t is zero: "fill in from Now where zero".
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return ts(t)
}

// nullString stores "" as NULL, for optional unique columns.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// deref returns the scanned nullable text, "" for NULL.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nullBytes stores an empty slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
