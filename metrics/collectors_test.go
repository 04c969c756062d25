package metrics

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueueStats(t *testing.T) {
	var calls atomic.Int32
	m := New(Options{QueueStats: func(ctx context.Context) ([]QueueStat, error) {
		calls.Add(1)
		if _, ok := ctx.Deadline(); !ok {
			t.Error("QueueStats called without a deadline")
		}
		return []QueueStat{
			{Queue: "default", State: "available", Count: 4, OldestAge: 90 * time.Second},
			{Queue: "default", State: "retryable", Count: 2, OldestAge: time.Hour},
			// A repeated pair is merged: counts add, the oldest wins.
			{Queue: "default", State: "available", Count: 1, OldestAge: 2 * time.Minute},
			{Queue: "graph", State: "running", Count: 0},
		}, nil
	}})
	if n := calls.Load(); n != 0 {
		t.Fatalf("QueueStats called %d times before any scrape", n)
	}
	for i := 1; i <= 2; i++ {
		fams := scrape(t, m)
		if n := calls.Load(); int(n) != i {
			t.Fatalf("QueueStats called %d times after %d scrapes", n, i)
		}
		tests := []struct {
			queue, state string
			depth, age   float64
		}{
			{"default", "available", 5, 120},
			{"default", "retryable", 2, 3600},
			{"graph", "running", 0, 0},
		}
		for _, tt := range tests {
			l := []string{"queue=" + tt.queue, "state=" + tt.state}
			if got := value(t, fams, "passkeyd_job_queue_depth", l...); got != tt.depth {
				t.Errorf("job_queue_depth{%s,%s} = %v, want %v", tt.queue, tt.state, got, tt.depth)
			}
			if got := value(t, fams, "passkeyd_job_oldest_age_seconds", l...); got != tt.age {
				t.Errorf("job_oldest_age_seconds{%s,%s} = %v, want %v", tt.queue, tt.state, got, tt.age)
			}
		}
		if n := len(fams["passkeyd_job_queue_depth"].GetMetric()); n != len(tests) {
			t.Errorf("%d job_queue_depth series, want %d", n, len(tests))
		}
		if got := value(t, fams, "passkeyd_collector_success", "collector=jobs"); got != 1 {
			t.Errorf("collector_success{jobs} = %v, want 1", got)
		}
	}
}

func TestCredentialExpiry(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	tests := []struct {
		name         string
		secret, cert *time.Time
		want         map[string]float64 // credential label → days; absent: no series
	}{
		{"secret only", at(30 * 24 * time.Hour), nil, map[string]float64{"client_secret": 30}},
		{"certificate only", nil, at(36 * time.Hour), map[string]float64{"client_certificate": 1.5}},
		{"both, one expired", at(-7 * 24 * time.Hour), at(400 * 24 * time.Hour),
			map[string]float64{"client_secret": -7, "client_certificate": 400}},
		{"none configured", nil, nil, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Options{
				Now: func() time.Time { return now },
				CredentialExpiry: func(context.Context) (*time.Time, *time.Time, error) {
					return tt.secret, tt.cert, nil
				},
			})
			fams := scrape(t, m)
			for cred, want := range tt.want {
				if got := value(t, fams, "passkeyd_credential_expiry_days", "credential="+cred); !near(got, want) {
					t.Errorf("credential_expiry_days{%s} = %v, want %v", cred, got, want)
				}
			}
			if n := len(fams["passkeyd_credential_expiry_days"].GetMetric()); n != len(tt.want) {
				t.Errorf("%d credential_expiry_days series, want %d", n, len(tt.want))
			}
			if got := value(t, fams, "passkeyd_collector_success", "collector=credentials"); got != 1 {
				t.Errorf("collector_success{credentials} = %v, want 1", got)
			}
		})
	}
}

// A failing source must neither fail the scrape nor hide the other
// metrics; its own series are left out and the failure is logged.
func TestSourceFailuresDoNotBreakTheScrape(t *testing.T) {
	goodExpiry := func(context.Context) (*time.Time, *time.Time, error) {
		e := time.Now().Add(48 * time.Hour)
		return &e, nil, nil
	}
	goodQueue := func(context.Context) ([]QueueStat, error) {
		return []QueueStat{{Queue: "default", State: "available", Count: 1}}, nil
	}
	tests := []struct {
		name     string
		queue    QueueStatsFunc
		expiry   CredentialExpiryFunc
		failed   string // collector label expected to report 0
		okFamily string // a family of the healthy source that must be present
		wantLog  string
	}{
		{
			name:   "queue error",
			queue:  func(context.Context) ([]QueueStat, error) { return nil, errors.New("database is locked") },
			expiry: goodExpiry, failed: "jobs", okFamily: "passkeyd_credential_expiry_days",
			wantLog: "database is locked",
		},
		{
			name: "queue panic",
			queue: func(context.Context) ([]QueueStat, error) {
				var s []QueueStat
				return s[:1], nil // index out of range
			},
			expiry: goodExpiry, failed: "jobs", okFamily: "passkeyd_credential_expiry_days",
			wantLog: "panic",
		},
		{
			name: "queue negative count",
			queue: func(context.Context) ([]QueueStat, error) {
				return []QueueStat{{Queue: "default", State: "available", Count: -1}}, nil
			},
			expiry: goodExpiry, failed: "jobs", okFamily: "passkeyd_credential_expiry_days",
			wantLog: "negative",
		},
		{
			name:   "queue invalid label",
			queue:  func(context.Context) ([]QueueStat, error) { return []QueueStat{{Queue: "\xff", State: "x"}}, nil },
			expiry: goodExpiry, failed: "jobs", okFamily: "passkeyd_credential_expiry_days",
			wantLog: "job queue",
		},
		{
			name:  "expiry error",
			queue: goodQueue,
			expiry: func(context.Context) (*time.Time, *time.Time, error) {
				return nil, nil, errors.New("secret store unavailable")
			},
			failed: "credentials", okFamily: "passkeyd_job_queue_depth",
			wantLog: "secret store unavailable",
		},
		{
			name:  "expiry times out",
			queue: goodQueue,
			expiry: func(ctx context.Context) (*time.Time, *time.Time, error) {
				<-ctx.Done() // returns when ScrapeTimeout expires
				return nil, nil, ctx.Err()
			},
			failed: "credentials", okFamily: "passkeyd_job_queue_depth",
			wantLog: "deadline exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := newTestLogger()
			m := New(Options{Logger: log, QueueStats: tt.queue, CredentialExpiry: tt.expiry, ScrapeTimeout: time.Millisecond})
			m.ObserveToken(true)
			fams := scrape(t, m)
			if got := value(t, fams, "passkeyd_collector_success", "collector="+tt.failed); got != 0 {
				t.Errorf("collector_success{%s} = %v, want 0", tt.failed, got)
			}
			if fams[tt.okFamily] == nil {
				t.Errorf("%s missing: one failing source hid another", tt.okFamily)
			}
			if got := value(t, fams, "passkeyd_token_requests_total", "outcome=success"); got != 1 {
				t.Errorf("token_requests_total = %v, want 1", got)
			}
			failedFamilies := map[string][]string{
				"jobs":        {"passkeyd_job_queue_depth", "passkeyd_job_oldest_age_seconds"},
				"credentials": {"passkeyd_credential_expiry_days"},
			}[tt.failed]
			for _, name := range failedFamilies {
				if f := fams[name]; f != nil && len(f.GetMetric()) > 0 {
					t.Errorf("%s exposed although its source failed", name)
				}
			}
			if l := logs.String(); !strings.Contains(l, tt.wantLog) || !strings.Contains(l, "collector="+tt.failed) {
				t.Errorf("log does not report the failure (%q):\n%s", tt.wantLog, l)
			}
		})
	}
}
