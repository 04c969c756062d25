package metrics

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/graph"
	"github.com/prometheus/client_golang/prometheus"
)

// *Metrics is what the lead hands to graph.WithObserver.
var _ graph.Observer = (*Metrics)(nil)

func TestGraphInstruments(t *testing.T) {
	m := New(Options{})
	obs := []struct {
		op         string
		status     int
		d          time.Duration
		retryAfter time.Duration
	}{
		{"create", 201, 200 * time.Millisecond, 0},
		{"create", 201, 300 * time.Millisecond, 0},
		{"create", 429, 50 * time.Millisecond, 7 * time.Second},
		{"list", 429, 10 * time.Millisecond, 0}, // no Retry-After: throttled, no wait observed
		{"list", 200, 100 * time.Millisecond, 0},
		{"get", 0, time.Second, 0},                               // transport error
		{"delete", 503, 20 * time.Millisecond, 30 * time.Second}, // not a 429: no throttle wait
		{"fido2Policy", 999, 0, 0},
	}
	for _, o := range obs {
		m.ObserveGraph(o.op, o.status, o.d, o.retryAfter)
	}
	fams := scrape(t, m)

	requests := []struct {
		op, status string
		want       float64
	}{
		{"create", "201", 2},
		{"create", "429", 1},
		{"list", "429", 1},
		{"list", "200", 1},
		{"get", "error", 1},
		{"delete", "503", 1},
		{"fido2Policy", "other", 1},
	}
	for _, r := range requests {
		if got := value(t, fams, "passkeyd_graph_requests_total", "op="+r.op, "status="+r.status); got != r.want {
			t.Errorf("graph_requests_total{op=%s,status=%s} = %v, want %v", r.op, r.status, got, r.want)
		}
	}
	if n := len(fams["passkeyd_graph_requests_total"].GetMetric()); n != len(requests) {
		t.Errorf("%d graph_requests_total series, want %d", n, len(requests))
	}

	durations := []struct {
		op    string
		count uint64
		sum   float64
	}{
		{"create", 3, 0.55},
		{"list", 2, 0.11},
		{"get", 1, 1},
	}
	for _, d := range durations {
		count, sum := histogram(t, fams, "passkeyd_graph_request_duration_seconds", "op="+d.op)
		if count != d.count || !near(sum, d.sum) {
			t.Errorf("graph_request_duration_seconds{op=%s}: count %d sum %v, want %d and %v", d.op, count, sum, d.count, d.sum)
		}
	}

	for op, want := range map[string]float64{"create": 1, "list": 1} {
		if got := value(t, fams, "passkeyd_graph_throttled_total", "op="+op); got != want {
			t.Errorf("graph_throttled_total{op=%s} = %v, want %v", op, got, want)
		}
	}
	if s := series(fams, "passkeyd_graph_throttled_total", "op=delete"); s != nil {
		t.Error("a 503 counted as throttled")
	}
	if count, sum := histogram(t, fams, "passkeyd_graph_throttle_wait_seconds"); count != 1 || sum != 7 {
		t.Errorf("graph_throttle_wait_seconds: count %d sum %v, want 1 and 7", count, sum)
	}
}

func TestOutcomeCounters(t *testing.T) {
	m := New(Options{})
	m.ObserveToken(true)
	m.ObserveToken(true)
	m.ObserveToken(false)
	m.ObserveEnrollment("success")
	m.ObserveEnrollment("success")
	m.ObserveEnrollment("expired")
	m.ObserveRevocation("success")
	m.ObserveRevocation("failure")
	m.ObserveRevocation("failure")
	fams := scrape(t, m)

	tests := []struct {
		name, label string
		want        float64
	}{
		{"passkeyd_token_requests_total", "outcome=success", 2},
		{"passkeyd_token_requests_total", "outcome=failure", 1},
		{"passkeyd_enrollments_total", "outcome=success", 2},
		{"passkeyd_enrollments_total", "outcome=expired", 1},
		{"passkeyd_revocations_total", "outcome=success", 1},
		{"passkeyd_revocations_total", "outcome=failure", 2},
	}
	for _, tt := range tests {
		if got := value(t, fams, tt.name, tt.label); got != tt.want {
			t.Errorf("%s{%s} = %v, want %v", tt.name, tt.label, got, tt.want)
		}
	}
}

func TestTokenOutcomesStartAtZero(t *testing.T) {
	fams := scrape(t, New(Options{}))
	for _, o := range []string{"success", "failure"} {
		if got := value(t, fams, "passkeyd_token_requests_total", "outcome="+o); got != 0 {
			t.Errorf("token_requests_total{outcome=%s} = %v on a fresh registry", o, got)
		}
	}
}

func TestObserveDrift(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	m := New(Options{Now: func() time.Time { return now }})
	m.ObserveDrift(9, 9, 9)
	m.ObserveDrift(3, 1, 0) // the last report replaces the previous one
	fams := scrape(t, m)
	for class, want := range map[string]float64{"missing": 3, "adopted": 1, "unmanaged": 0} {
		if got := value(t, fams, "passkeyd_drift_methods", "class="+class); got != want {
			t.Errorf("drift_methods{class=%s} = %v, want %v", class, got, want)
		}
	}
	if got := value(t, fams, "passkeyd_drift_last_reconcile_timestamp_seconds"); got != float64(now.Unix()) {
		t.Errorf("drift_last_reconcile_timestamp_seconds = %v, want %v", got, now.Unix())
	}
}

func TestRuntimeCollectors(t *testing.T) {
	fams := scrape(t, New(Options{}))
	want := []string{"go_goroutines", "go_memstats_heap_alloc_bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_start_time_seconds", "process_open_fds")
	}
	for _, name := range want {
		if fams[name] == nil {
			t.Errorf("%s missing from the scrape", name)
		}
	}
}

// Two daemons in one process must not collide, which a shared global
// registry would make them do (MustRegister panics on duplicates).
func TestOwnRegistry(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	a.ObserveToken(true)
	if got := value(t, scrape(t, b), "passkeyd_token_requests_total", "outcome=success"); got != 0 {
		t.Errorf("second registry sees the first one's token request: %v", got)
	}
	if fams := scrape(t, a); fams["passkeyd_graph_requests_total"] != nil && len(fams["passkeyd_graph_requests_total"].GetMetric()) != 0 {
		t.Error("graph_requests_total has series before any observation")
	}
}

func TestRegister(t *testing.T) {
	m := New(Options{})
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "extra_total", Help: "x"})
	if err := m.Register(c); err != nil {
		t.Fatalf("Register: %v", err)
	}
	c.Add(4)
	if got := value(t, scrape(t, m), "extra_total"); got != 4 {
		t.Errorf("extra_total = %v, want 4", got)
	}
	if err := m.Register(c); err == nil {
		t.Error("registering the same collector twice succeeded")
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.ObserveGraph("create", 201, time.Second, 0)
	m.ObserveGraph("create", 429, time.Second, time.Second)
	m.ObserveToken(true)
	m.ObserveEnrollment("success")
	m.ObserveRevocation("success")
	m.ObserveDrift(1, 2, 3)
	if err := m.Register(prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})); err != nil {
		t.Errorf("Register on nil: %v", err)
	}
	if g := m.Gatherer(); g != nil {
		t.Errorf("Gatherer on nil = %v, want nil", g)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Handler answered %d, want 404", rec.Code)
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}
