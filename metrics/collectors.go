package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// source is one scrape-time reading of state owned elsewhere.
type source interface {
	// name is the collector label of passkeyd_collector_success.
	name() string
	describe(ch chan<- *prometheus.Desc)
	// read returns the metrics of one scrape. On error none of them is
	// exposed, so a scrape never shows half a reading.
	read(ctx context.Context) ([]prometheus.Metric, error)
}

// scrapeCollector reads its sources at every scrape. prometheus.Collector
// has no context, so each source gets a fresh one bounded by timeout.
type scrapeCollector struct {
	sources []source
	timeout time.Duration
	log     *slog.Logger
}

var successDesc = prometheus.NewDesc(namespace+"_collector_success",
	"Whether a scrape-time source (jobs, credentials) answered in this scrape: 1 yes, 0 no.",
	[]string{"collector"}, nil)

// Describe implements prometheus.Collector.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- successDesc
	for _, s := range c.sources {
		s.describe(ch)
	}
}

// Collect implements prometheus.Collector. A failing source is logged and
// reported through passkeyd_collector_success; the others still appear.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.sources {
		ms, err := c.read(s)
		ok := 1.0
		if err != nil {
			ok = 0
			c.log.Warn("metrics source failed; its series are left out of this scrape",
				"collector", s.name(), "err", err)
		}
		for _, m := range ms {
			ch <- m
		}
		ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, ok, s.name())
	}
}

// read runs one source with a timeout. A panic in the injected function
// is turned into an error: the registry collects in its own goroutines,
// where a panic would take the whole daemon down for a metric.
func (c *scrapeCollector) read(s source) (ms []prometheus.Metric, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			ms, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	ms, err = s.read(ctx)
	if err != nil {
		return nil, err
	}
	return ms, nil
}

// queueSource exposes job queue depth and oldest age per queue and state.
type queueSource struct {
	stats  QueueStatsFunc
	depth  *prometheus.Desc
	oldest *prometheus.Desc
}

func newQueueSource(f QueueStatsFunc) *queueSource {
	labels := []string{"queue", "state"}
	return &queueSource{
		stats: f,
		depth: prometheus.NewDesc(namespace+"_job_queue_depth",
			"Jobs in the queue, by queue and job state.", labels, nil),
		oldest: prometheus.NewDesc(namespace+"_job_oldest_age_seconds",
			"Age of the oldest job, by queue and job state.", labels, nil),
	}
}

func (q *queueSource) name() string { return "jobs" }

func (q *queueSource) describe(ch chan<- *prometheus.Desc) {
	ch <- q.depth
	ch <- q.oldest
}

func (q *queueSource) read(ctx context.Context) ([]prometheus.Metric, error) {
	stats, err := q.stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading job queue statistics: %w", err)
	}
	// Merge repeated (queue, state) pairs: exposing a series twice would
	// make the registry reject the scrape.
	type key struct{ queue, state string }
	merged := make(map[key]QueueStat, len(stats))
	order := make([]key, 0, len(stats))
	for _, s := range stats {
		if s.Count < 0 || s.OldestAge < 0 {
			return nil, fmt.Errorf("job queue %q state %q: negative count or age", s.Queue, s.State)
		}
		k := key{s.Queue, s.State}
		prev, seen := merged[k]
		if !seen {
			order = append(order, k)
		}
		prev.Count += s.Count
		prev.OldestAge = max(prev.OldestAge, s.OldestAge)
		merged[k] = prev
	}
	ms := make([]prometheus.Metric, 0, 2*len(order))
	for _, k := range order {
		s := merged[k]
		d, err := prometheus.NewConstMetric(q.depth, prometheus.GaugeValue, float64(s.Count), k.queue, k.state)
		if err != nil {
			return nil, fmt.Errorf("job queue %q state %q: %w", k.queue, k.state, err)
		}
		o, err := prometheus.NewConstMetric(q.oldest, prometheus.GaugeValue, s.OldestAge.Seconds(), k.queue, k.state)
		if err != nil {
			return nil, fmt.Errorf("job queue %q state %q: %w", k.queue, k.state, err)
		}
		ms = append(ms, d, o)
	}
	return ms, nil
}

// Credential label values of passkeyd_credential_expiry_days.
const (
	credentialSecret      = "client_secret"
	credentialCertificate = "client_certificate"
)

// expirySource exposes the days until the Graph credentials expire.
type expirySource struct {
	expiry CredentialExpiryFunc
	now    func() time.Time
	days   *prometheus.Desc
}

func newExpirySource(f CredentialExpiryFunc, now func() time.Time) *expirySource {
	return &expirySource{
		expiry: f,
		now:    now,
		days: prometheus.NewDesc(namespace+"_credential_expiry_days",
			"Days until the Graph client credential expires; negative once expired.",
			[]string{"credential"}, nil),
	}
}

func (e *expirySource) name() string { return "credentials" }

func (e *expirySource) describe(ch chan<- *prometheus.Desc) { ch <- e.days }

func (e *expirySource) read(ctx context.Context) ([]prometheus.Metric, error) {
	secret, cert, err := e.expiry(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading credential expiry: %w", err)
	}
	now := e.now()
	var ms []prometheus.Metric
	for _, c := range []struct {
		label string
		at    *time.Time
	}{{credentialSecret, secret}, {credentialCertificate, cert}} {
		if c.at == nil {
			continue // not configured: no series rather than a fake value
		}
		if c.at.IsZero() {
			return nil, errors.New("credential expiry: zero time for " + c.label)
		}
		days := c.at.Sub(now).Hours() / 24
		ms = append(ms, prometheus.MustNewConstMetric(e.days, prometheus.GaugeValue, days, c.label))
	}
	return ms, nil
}
