package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of one `passkeyd bench` run; it is written as JSON.
type Report struct {
	Machine Machine       `json:"machine"`
	Config  RunConfig     `json:"config"`
	Stores  []StoreReport `json:"stores"`
	// Scale is each store at each size of --scale (see scale.go).
	Scale []ScaleReport `json:"scale,omitempty"`
	Notes []string      `json:"notes,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	GoVersion string `json:"go_version"`
}

// ThisMachine describes the running machine.
func ThisMachine() Machine {
	return Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), CPUModel: cpuModel(), GoVersion: runtime.Version()}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// RunConfig is what the run was asked to do.
type RunConfig struct {
	Providers   int     `json:"providers"`
	Enrollments int     `json:"enrollments"`
	Wipe        int     `json:"wipe"`
	Quota       string  `json:"quota"`       // as given, e.g. 3000/150s
	QuotaScale  float64 `json:"quota_scale"` // limit and window multiplier
	// Enforced is the quota the emulator enforced: Limit writes per
	// WindowSeconds (both scaled, so the refill rate is unchanged).
	EnforcedLimit         int     `json:"enforced_limit"`
	EnforcedWindowSeconds float64 `json:"enforced_window_seconds"`
	JobConcurrency        int     `json:"job_concurrency"`
	// PasskeysPerUser is how many passkeys a user holds before its
	// provider moves on to a new user (0: one user per provider).
	PasskeysPerUser int `json:"passkeys_per_user"`
}

// StoreReport is every figure for one database.
type StoreReport struct {
	Store    string       `json:"store"` // sqlite or postgres
	Direct   EnrollReport `json:"direct"`
	Mediated EnrollReport `json:"mediated"`
	// ThroughputRatio is mediated ÷ direct enrollments per second, the
	// median of the rounds' ratios; Direct and Mediated are that round's
	// phases (their Errors count every round's).
	ThroughputRatio float64 `json:"throughput_ratio"`
	// Rounds are the direct and mediated phases run one after the
	// other, in order: the machine's speed drifts between runs by more
	// than the effects measured, and adjacent phases drift together.
	Rounds []Round `json:"rounds"`
	// AddedP50MS and AddedP99MS are mediated minus direct latency in the
	// closed-loop phases: at saturation, so mostly queueing.
	AddedP50MS float64 `json:"added_p50_ms"`
	AddedP99MS float64 `json:"added_p99_ms"`
	// Paced is the same comparison at a fixed offered load that both
	// paths carry: the latency passkeyd itself adds.
	Paced *PacedReport `json:"paced,omitempty"`
	// PasskeydCPUPerEnrollmentMS and the allocation figures are the
	// mediated phase's process cost minus the direct phase's, per
	// enrollment (see docs/benchmarks.md for why the difference).
	PasskeydCPUPerEnrollmentMS  float64     `json:"passkeyd_cpu_per_enrollment_ms"`
	PasskeydAllocBytesPerEnroll float64     `json:"passkeyd_alloc_bytes_per_enrollment"`
	PasskeydAllocObjsPerEnroll  float64     `json:"passkeyd_alloc_objects_per_enrollment"`
	Wipe                        *WipeReport `json:"wipe,omitempty"`
	Memory                      Memory      `json:"memory"`
	DBSizeBytes                 int64       `json:"db_size_bytes"`
	PasskeysStored              int         `json:"passkeys_stored"`
	// ListLatency is GET /passkeys (first page of 100) at the stored size.
	ListLatency Latency `json:"list_latency"`
}

// Round is one direct phase and the mediated phase right after it.
type Round struct {
	DirectPerSecond   float64 `json:"direct_per_second"`
	MediatedPerSecond float64 `json:"mediated_per_second"`
	Ratio             float64 `json:"ratio"`
}

// PacedReport compares direct and mediated enrollment latency at
// RatePerSecond enrollments per second offered open-loop by the
// providers; latency counts from when each enrollment was due.
type PacedReport struct {
	RatePerSecond float64 `json:"rate_per_second"`
	Direct        Latency `json:"direct"`
	Mediated      Latency `json:"mediated"`
	Errors        int     `json:"errors"`
	AddedP50MS    float64 `json:"added_p50_ms"`
	AddedP99MS    float64 `json:"added_p99_ms"`
}

// EnrollReport is one enrollment phase.
type EnrollReport struct {
	Enrollments  int     `json:"enrollments"`
	Errors       int     `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
	WallSeconds  float64 `json:"wall_seconds"`
	PerSecond    float64 `json:"per_second"`
	Latency      Latency `json:"latency"`
	ProcessCPUMS float64 `json:"process_cpu_ms"` // whole process, whole phase
	// GraphCallsPerEnrollment counts creationOptions + create calls at
	// the emulator (expected 2).
	GraphCallsPerEnrollment float64 `json:"graph_calls_per_enrollment"`
	TokenRequests           int     `json:"token_requests"`
}

// WipeReport is the bulk revocation against the quota-enforcing emulator.
type WipeReport struct {
	Passkeys    int     `json:"passkeys"`
	SeedSeconds float64 `json:"seed_seconds"`
	SeedMethod  string  `json:"seed_method"`
	Queued      int     `json:"queued"`
	Revoked     int     `json:"revoked"`
	// Lost are passkeys not revoked at the end plus methods passkeyd
	// reports revoked that Entra still holds; must be 0.
	Lost        int     `json:"lost"`
	LeftInEntra int     `json:"left_in_entra"`
	WallSeconds float64 `json:"wall_seconds"`
	DeleteCalls int     `json:"delete_calls"`
	Throttled   int     `json:"throttled_429"`
	// ThrottledFraction is 429s ÷ delete calls (target ≤ 1 %).
	ThrottledFraction float64 `json:"throttled_fraction"`
	// AchievedPerSecond is passkeys revoked per second of the wipe.
	AchievedPerSecond float64 `json:"achieved_per_second"`
	// QuotaPerSecond is the bucket's refill rate.
	QuotaPerSecond float64 `json:"quota_per_second"`
	// FractionOfQuota is writes that succeeded ÷ writes the quota allowed
	// over the wipe: the full bucket plus its refill during the wipe
	// (target ≥ 95 %). Meaningless when the wipe fits in the bucket.
	FractionOfQuota         float64 `json:"fraction_of_quota"`
	QuotaBound              bool    `json:"quota_bound"`
	GraphCallsPerRevocation float64 `json:"graph_calls_per_revocation"`
	TokenRequests           int     `json:"token_requests"`
	TimedOut                bool    `json:"timed_out,omitempty"`
}

// WriteJSON writes r indented to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	return nil
}

// WriteTable prints the figures against the targets of issue 7.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "machine\t%s/%s, %d CPUs, %s, %s\n", r.Machine.GOOS, r.Machine.GOARCH, r.Machine.CPUs, r.Machine.CPUModel, r.Machine.GoVersion)
	perUser := "no limit"
	if r.Config.PasskeysPerUser > 0 {
		perUser = fmt.Sprint(r.Config.PasskeysPerUser)
	}
	fmt.Fprintf(tw, "run\t%d providers, %d enrollments, passkeys per user %s, wipe %d, quota %d writes/%.3gs (%s × %.3g)\n",
		r.Config.Providers, r.Config.Enrollments, perUser, r.Config.Wipe, r.Config.EnforcedLimit, r.Config.EnforcedWindowSeconds, r.Config.Quota, r.Config.QuotaScale)
	for _, s := range r.Stores {
		fmt.Fprintf(tw, "\n[%s]\tvalue\ttarget\t\n", s.Store)
		row := func(name, value, target string, ok *bool) {
			verdict := ""
			if ok != nil {
				verdict = "MISS"
				if *ok {
					verdict = "ok"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, value, target, verdict)
		}
		b := func(v bool) *bool { return &v }
		d, m := s.Direct, s.Mediated
		row("direct enrollments/s", fmt.Sprintf("%.1f (p50 %.1f ms, p99 %.1f ms)", d.PerSecond, d.Latency.P50MS, d.Latency.P99MS), "", nil)
		row("mediated enrollments/s", fmt.Sprintf("%.1f (p50 %.1f ms, p99 %.1f ms)", m.PerSecond, m.Latency.P50MS, m.Latency.P99MS), "", nil)
		ratio := fmt.Sprintf("%.2f×", s.ThroughputRatio)
		if len(s.Rounds) > 1 {
			rs := make([]string, len(s.Rounds))
			for i, r := range s.Rounds {
				rs[i] = fmt.Sprintf("%.2f", r.Ratio)
			}
			ratio += fmt.Sprintf(" (median of rounds %s)", strings.Join(rs, ", "))
		}
		row("mediated ÷ direct", ratio, "≥ 0.5×", b(s.ThroughputRatio >= 0.5))
		if p := s.Paced; p != nil {
			row(fmt.Sprintf("paced %.0f/s: direct / mediated", p.RatePerSecond),
				fmt.Sprintf("p50 %.1f / %.1f ms, p99 %.1f / %.1f ms", p.Direct.P50MS, p.Mediated.P50MS, p.Direct.P99MS, p.Mediated.P99MS), "", nil)
			row("added p99 latency (paced)", fmt.Sprintf("%+.1f ms (p50 %+.1f ms)", p.AddedP99MS, p.AddedP50MS), "≤ 5 ms", b(p.AddedP99MS <= 5 && p.Errors == 0))
		}
		row("added latency at saturation", fmt.Sprintf("p99 %+.1f ms (p50 %+.1f ms)", s.AddedP99MS, s.AddedP50MS), "", nil)
		row("errors direct / mediated", fmt.Sprintf("%d / %d", d.Errors, m.Errors), "0", b(d.Errors == 0 && m.Errors == 0))
		row("passkeyd CPU per enrollment", fmt.Sprintf("%.2f ms", s.PasskeydCPUPerEnrollmentMS), "", nil)
		row("passkeyd allocs per enrollment", fmt.Sprintf("%.0f KiB, %.0f objects", s.PasskeydAllocBytesPerEnroll/1024, s.PasskeydAllocObjsPerEnroll), "", nil)
		row("Graph calls per enrollment", fmt.Sprintf("%.2f (direct %.2f)", m.GraphCallsPerEnrollment, d.GraphCallsPerEnrollment), "2", b(m.GraphCallsPerEnrollment == 2))
		row("token requests (mediated phase)", fmt.Sprint(m.TokenRequests), "1 per token lifetime", b(m.TokenRequests <= 1))
		if wp := s.Wipe; wp != nil {
			row("wipe seeded", fmt.Sprintf("%d passkeys in %.1f s (%s)", wp.Passkeys, wp.SeedSeconds, wp.SeedMethod), "", nil)
			row("wipe revoked / lost / left in Entra", fmt.Sprintf("%d / %d / %d in %.1f s", wp.Revoked, wp.Lost, wp.LeftInEntra, wp.WallSeconds), "lost 0", b(wp.Lost == 0 && wp.LeftInEntra == 0 && !wp.TimedOut))
			row("wipe rate", fmt.Sprintf("%.1f/s, quota refills %.1f/s", wp.AchievedPerSecond, wp.QuotaPerSecond), "", nil)
			var okQ *bool
			if wp.QuotaBound {
				okQ = b(wp.FractionOfQuota >= 0.95)
			}
			row("wipe fraction of quota", fmt.Sprintf("%.1f %%%s", wp.FractionOfQuota*100, map[bool]string{true: "", false: " (quota never bound)"}[wp.QuotaBound]), "≥ 95 %", okQ)
			row("wipe 429s", fmt.Sprintf("%d of %d delete calls (%.2f %%)", wp.Throttled, wp.DeleteCalls, wp.ThrottledFraction*100), "≤ 1 %", b(wp.ThrottledFraction <= 0.01))
			row("Graph calls per revocation", fmt.Sprintf("%.2f (incl. 429s)", wp.GraphCallsPerRevocation), "1", b(wp.GraphCallsPerRevocation <= 1.01))
		}
		row("RSS now / peak (whole process)", fmt.Sprintf("%.0f / %.0f MiB", float64(s.Memory.RSSBytes)/(1<<20), float64(s.Memory.PeakRSSBytes)/(1<<20)), "≤ 150 MB at 1M stored", nil)
		row("database size", fmt.Sprintf("%.1f MiB with %d passkeys", float64(s.DBSizeBytes)/(1<<20), s.PasskeysStored), "", nil)
		row("list passkeys (page of 100)", fmt.Sprintf("p50 %.1f ms, p99 %.1f ms", s.ListLatency.P50MS, s.ListLatency.P99MS), "", nil)
	}
	if len(r.Scale) > 0 {
		writeScale(tw, r.Scale)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "\nnote: %s\n", n)
	}
	return tw.Flush()
}
