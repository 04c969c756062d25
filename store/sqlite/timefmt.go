package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/passkeyd/passkeyd/audit"
)

// Times are stored as TEXT in audit.TimeFormat: UTC with six fractional
// digits, so that they sort as text and compare exactly after a round trip.

func fmtTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(audit.TimeFormat) }

// fmtTimePtr stores a nil or zero time as NULL.
func fmtTimePtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return fmtTime(*t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseTimePtr(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// orNow returns t, or now when t is zero: "fill in from Now where zero".
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC().Truncate(time.Microsecond)
}

// nullString stores "" as NULL, for optional unique columns.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes stores an empty slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
