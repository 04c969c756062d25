package bench

import (
	"fmt"
	"io"
	"strings"
)

// ScaleReport is one store holding Passkeys seeded passkeys, measured
// through a passkeyd server of its own (`passkeyd serve`, a separate
// process): its memory is passkeyd's alone, not the benchmark's.
type ScaleReport struct {
	Store    string `json:"store"` // sqlite or postgres
	Passkeys int    `json:"passkeys"`
	Users    int    `json:"users"`
	Devices  int    `json:"devices"`
	// SeedSeconds is the time to store them (SeedMethod says how), from
	// an empty, migrated database.
	SeedSeconds float64 `json:"seed_seconds"`
	SeedMethod  string  `json:"seed_method"`
	// DBSizeBytes is SQLite's files (database, WAL, shared memory) or
	// PostgreSQL's pg_database_size, after the measurements.
	DBSizeBytes int64 `json:"db_size_bytes"`
	// StartSeconds is from starting `passkeyd serve` on the seeded
	// database to its first 200 from /readyz.
	StartSeconds float64 `json:"start_seconds"`
	// Memory is the server's after the queries: VmRSS then and VmHWM
	// since it started.
	Memory  Memory        `json:"memory"`
	Queries []QueryReport `json:"queries"`
	// Walk pages through the whole inventory; MemoryAfterWalk is read
	// after it.
	Walk            *WalkReport `json:"walk,omitempty"`
	MemoryAfterWalk *Memory     `json:"memory_after_walk,omitempty"`
	// Reconcile is a reconciliation of every user; MemoryAfterReconcile
	// is read after it.
	Reconcile            *ReconcileProbe `json:"reconcile,omitempty"`
	MemoryAfterReconcile *Memory         `json:"memory_after_reconcile,omitempty"`
	Notes                []string        `json:"notes,omitempty"`
}

// QueryReport is one admin API request repeated.
type QueryReport struct {
	Name    string `json:"name"`
	Request string `json:"request"` // method and path with its query
	// Items is how many the last answer held.
	Items   int     `json:"items"`
	Latency Latency `json:"latency"`
}

// WalkReport is listing every passkey through the admin API, page after
// page, as an export would.
type WalkReport struct {
	PageSize int     `json:"page_size"`
	Pages    int     `json:"pages"`
	Passkeys int     `json:"passkeys"`
	Seconds  float64 `json:"seconds"`
	PerPage  Latency `json:"per_page"`
}

// ReconcileProbe is POST /reconcile of every user.
type ReconcileProbe struct {
	Seconds float64 `json:"seconds"`
	// Outcome is the answer: a drift report, or the error that ended it.
	Outcome string `json:"outcome"`
}

// PeakRSS is the highest VmHWM read: the server's peak over the run.
func (s *ScaleReport) PeakRSS() uint64 {
	p := s.Memory.PeakRSSBytes
	for _, m := range []*Memory{s.MemoryAfterWalk, s.MemoryAfterReconcile} {
		if m != nil {
			p = max(p, m.PeakRSSBytes)
		}
	}
	return p
}

// RSSTargetBytes is issue 7's target for passkeyd's memory with a million
// passkeys stored: 150 MB.
const RSSTargetBytes = 150_000_000

// RSSTargetPasskeys is the size at which RSSTargetBytes applies.
const RSSTargetPasskeys = 1_000_000

// writeScale prints the scale runs side by side, a column each.
func writeScale(w io.Writer, runs []ScaleReport) {
	head := []string{"[scale]"}
	for _, s := range runs {
		head = append(head, s.Store+" "+shortCount(s.Passkeys))
	}
	fmt.Fprintln(w, "\n"+strings.Join(append(head, "target", ""), "\t"))
	row := func(name, target string, cell func(s *ScaleReport) string, ok func(s *ScaleReport) *bool) {
		cells := []string{name}
		verdict := ""
		for i := range runs {
			cells = append(cells, cell(&runs[i]))
			if ok == nil {
				continue
			}
			if v := ok(&runs[i]); v != nil {
				switch {
				case !*v:
					verdict = "MISS"
				case verdict == "":
					verdict = "ok"
				}
			}
		}
		fmt.Fprintln(w, strings.Join(append(cells, target, verdict), "\t"))
	}
	mib := func(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	row("users / devices", "", func(s *ScaleReport) string { return fmt.Sprintf("%d / %d", s.Users, s.Devices) }, nil)
	row("seed time", "", func(s *ScaleReport) string { return fmt.Sprintf("%.1f s", s.SeedSeconds) }, nil)
	row("database size", "", func(s *ScaleReport) string { return mib(uint64(max(0, s.DBSizeBytes))) }, nil)
	row("serve start to ready", "", func(s *ScaleReport) string { return fmt.Sprintf("%.2f s", s.StartSeconds) }, nil)
	row("passkeyd RSS / peak after queries", "", func(s *ScaleReport) string {
		return mib(s.Memory.RSSBytes) + " / " + mib(s.Memory.PeakRSSBytes)
	}, nil)
	row("… after walking the inventory", "", func(s *ScaleReport) string {
		if s.MemoryAfterWalk == nil {
			return "-"
		}
		return mib(s.MemoryAfterWalk.RSSBytes) + " / " + mib(s.MemoryAfterWalk.PeakRSSBytes)
	}, nil)
	row("… after POST /reconcile (all users)", "", func(s *ScaleReport) string {
		if s.MemoryAfterReconcile == nil {
			return "-"
		}
		return mib(s.MemoryAfterReconcile.RSSBytes) + " / " + mib(s.MemoryAfterReconcile.PeakRSSBytes)
	}, nil)
	row("passkeyd peak RSS", "≤ 150 MB at 1M", func(s *ScaleReport) string { return mib(s.PeakRSS()) },
		func(s *ScaleReport) *bool {
			if s.Passkeys < RSSTargetPasskeys {
				return nil
			}
			ok := s.PeakRSS() <= RSSTargetBytes
			return &ok
		})
	var names []string
	seen := map[string]bool{}
	for _, s := range runs {
		for _, q := range s.Queries {
			if !seen[q.Name] {
				seen[q.Name] = true
				names = append(names, q.Name)
			}
		}
	}
	for _, name := range names {
		row(name+" p50 / p99", "", func(s *ScaleReport) string {
			for _, q := range s.Queries {
				if q.Name == name {
					return fmt.Sprintf("%s / %s ms", msString(q.Latency.P50MS), msString(q.Latency.P99MS))
				}
			}
			return "-"
		}, nil)
	}
	row("walk the inventory", "", func(s *ScaleReport) string {
		if s.Walk == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f s, %d pages of %d", s.Walk.Seconds, s.Walk.Pages, s.Walk.PageSize)
	}, nil)
	row("POST /reconcile, all users", "", func(s *ScaleReport) string {
		if s.Reconcile == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f s", s.Reconcile.Seconds)
	}, nil)
}

// msString prints a latency with two significant decimals below 10 ms.
func msString(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// shortCount writes 100000 as 100k and 1000000 as 1M.
func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
