package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every passkeyd metric.
const namespace = "passkeyd"

// DefaultScrapeTimeout bounds each scrape-time source when
// Options.ScrapeTimeout is zero. Prometheus' own default scrape timeout is
// 10 s; staying well under it keeps a slow database from failing the
// whole scrape.
const DefaultScrapeTimeout = 5 * time.Second

// QueueStat is the state of one job queue in one job state, as read at
// scrape time.
type QueueStat struct {
	Queue string // queue name, e.g. "default"
	State string // job state, e.g. "available", "running", "retryable", "scheduled"
	Count int    // number of jobs
	// OldestAge is the age of the oldest of these jobs. What "age" means
	// per state (since created, since scheduled, since attempted) is the
	// implementation's choice; document it where QueueStatsFunc is built.
	OldestAge time.Duration
}

// QueueStatsFunc reads the job queues. It is called at every scrape.
type QueueStatsFunc func(ctx context.Context) ([]QueueStat, error)

// CredentialExpiryFunc reads when the Graph client secret and client
// certificate expire; a nil time means that credential is not configured
// or its expiry is unknown. It is called at every scrape.
type CredentialExpiryFunc func(ctx context.Context) (secretExpiry, certExpiry *time.Time, err error)

// Options configures New. Every field is optional.
type Options struct {
	// Logger receives failures of scrape-time sources and of the
	// exposition itself; the default discards them.
	Logger *slog.Logger
	// Now is the clock for credential expiry and the drift timestamp;
	// the default is time.Now.
	Now func() time.Time
	// QueueStats, when set, feeds passkeyd_job_queue_depth and
	// passkeyd_job_oldest_age_seconds.
	QueueStats QueueStatsFunc
	// CredentialExpiry, when set, feeds passkeyd_credential_expiry_days.
	CredentialExpiry CredentialExpiryFunc
	// ScrapeTimeout bounds each scrape-time source; zero means
	// DefaultScrapeTimeout.
	ScrapeTimeout time.Duration
}

// Metrics holds passkeyd's instruments and the registry that exposes
// them. It is safe for concurrent use. A nil *Metrics is valid and records
// nothing.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger
	now func() time.Time

	graphRequests  *prometheus.CounterVec
	graphDuration  *prometheus.HistogramVec
	graphThrottled *prometheus.CounterVec
	throttleWait   prometheus.Histogram
	tokenRequests  *prometheus.CounterVec
	enrollments    *prometheus.CounterVec
	revocations    *prometheus.CounterVec
	drift          *prometheus.GaugeVec
	driftTime      prometheus.Gauge
}

// New builds the instruments and a registry holding them, the Go runtime
// and process collectors, and the scrape-time collectors for the sources
// opts sets.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = DefaultScrapeTimeout
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: opts.Logger,
		now: opts.Now,
		graphRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "graph", Name: "requests_total",
			Help: "HTTP attempts of Microsoft Graph calls, by call and HTTP status (\"error\": no response).",
		}, []string{"op", "status"}),
		graphDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "graph", Name: "request_duration_seconds",
			Help: "Time from sending a Graph request to its response headers or failure.",
			// Graph answers in tens to hundreds of milliseconds; the
			// top buckets catch the client's 30 s timeout.
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"op"}),
		graphThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "graph", Name: "throttled_total",
			Help: "Graph answers with HTTP 429 Too Many Requests, by call.",
		}, []string{"op"}),
		throttleWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "graph", Name: "throttle_wait_seconds",
			Help: "Wait asked by the Retry-After header of Graph's 429 answers.",
			// Graph asks for seconds to a few minutes; longer waits
			// mean the tenant is throttled hard.
			Buckets: []float64{1, 2, 5, 10, 30, 60, 120, 300, 900, 3600},
		}),
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "token", Name: "requests_total",
			Help: "Requests to the Entra token endpoint (cache hits excluded), by outcome.",
		}, []string{"outcome"}),
		enrollments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "enrollments_total",
			Help: "Finished passkey enrollments, by outcome.",
		}, []string{"outcome"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "revocations_total",
			Help: "Finished passkey revocations, by outcome.",
		}, []string{"outcome"}),
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "drift", Name: "methods",
			Help: "Findings of the last reconciliation, by class (missing, adopted, unmanaged).",
		}, []string{"class"}),
		driftTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "drift", Name: "last_reconcile_timestamp_seconds",
			Help: "Unix time of the last reconciliation report.",
		}),
	}
	// Token outcomes are known in advance: start them at zero so a rate()
	// over a fresh process sees the series.
	for _, o := range []string{outcomeSuccess, outcomeFailure} {
		m.tokenRequests.WithLabelValues(o)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.graphRequests, m.graphDuration, m.graphThrottled, m.throttleWait,
		m.tokenRequests, m.enrollments, m.revocations, m.drift, m.driftTime,
	)
	sources := []source{}
	if opts.QueueStats != nil {
		sources = append(sources, newQueueSource(opts.QueueStats))
	}
	if opts.CredentialExpiry != nil {
		sources = append(sources, newExpirySource(opts.CredentialExpiry, opts.Now))
	}
	if len(sources) > 0 {
		m.reg.MustRegister(&scrapeCollector{sources: sources, timeout: opts.ScrapeTimeout, log: opts.Logger})
	}
	return m
}

// Handler serves the registry in the Prometheus exposition formats. A
// collector error is logged and the rest of the metrics still served. On
// a nil *Metrics it answers 404, so a daemon without metrics can still
// mount it.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		// Bound concurrent scrapes: each one queries the database.
		MaxRequestsInFlight: 4,
	})
}

// Register adds collectors to the registry, for metrics owned elsewhere
// (for example a database pool's statistics). It does nothing on a nil
// *Metrics.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	if m == nil {
		return nil
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("registering a collector: %w", err)
		}
	}
	return nil
}

// Gatherer returns the registry, for tests and for pushing to another
// exposition path. It returns nil on a nil *Metrics.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return nil
	}
	return m.reg
}

// promLogger adapts slog to promhttp's Println logger.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Error("serving metrics", "err", fmt.Sprint(v...))
}
