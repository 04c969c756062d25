package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// Outcome label values of passkeyd_token_requests_total. Enrollment and
// revocation outcomes are the caller's vocabulary.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
)

// Status label values that are not an HTTP status code.
const (
	statusError = "error" // no response: transport failure, timeout, cancel
	statusOther = "other" // a number no HTTP server should send
)

// Drift classes of passkeyd_drift_methods, the three lists of a
// passkeyd.DriftReport.
const (
	DriftMissing   = "missing"
	DriftAdopted   = "adopted"
	DriftUnmanaged = "unmanaged"
)

// ObserveGraph records one HTTP attempt of a Graph call: op names the call,
// status is the HTTP status or 0 when no response arrived, d the time to
// the response, and retryAfter the wait a Retry-After header asked for.
// A 429 also counts as throttled, and its Retry-After (when present) feeds
// passkeyd_graph_throttle_wait_seconds. It satisfies graph.Observer.
func (m *Metrics) ObserveGraph(op string, status int, d time.Duration, retryAfter time.Duration) {
	if m == nil {
		return
	}
	m.graphRequests.WithLabelValues(op, statusLabel(status)).Inc()
	m.graphDuration.WithLabelValues(op).Observe(max(d, 0).Seconds())
	if status == http.StatusTooManyRequests {
		m.graphThrottled.WithLabelValues(op).Inc()
		if retryAfter > 0 {
			m.throttleWait.Observe(retryAfter.Seconds())
		}
	}
}

// ObserveToken records one request to the token endpoint. It satisfies
// graph.Observer.
func (m *Metrics) ObserveToken(ok bool) {
	if m == nil {
		return
	}
	m.tokenRequests.WithLabelValues(outcomeLabel(ok)).Inc()
}

// ObserveEnrollment records a finished enrollment. outcome must come from
// a small fixed set (for example passkeyd.OutcomeSuccess or an error code),
// never from user input: each value is a series.
func (m *Metrics) ObserveEnrollment(outcome string) {
	if m == nil {
		return
	}
	m.enrollments.WithLabelValues(outcome).Inc()
}

// ObserveRevocation records a finished revocation; outcome as for
// ObserveEnrollment.
func (m *Metrics) ObserveRevocation(outcome string) {
	if m == nil {
		return
	}
	m.revocations.WithLabelValues(outcome).Inc()
}

// ObserveDrift sets the drift gauges to the counts of the last
// reconciliation report and stamps its time. A report for one user
// should not be passed here: the gauges mean the whole tenant.
func (m *Metrics) ObserveDrift(missing, adopted, unmanaged int) {
	if m == nil {
		return
	}
	m.drift.WithLabelValues(DriftMissing).Set(float64(missing))
	m.drift.WithLabelValues(DriftAdopted).Set(float64(adopted))
	m.drift.WithLabelValues(DriftUnmanaged).Set(float64(unmanaged))
	m.driftTime.Set(float64(m.now().UnixNano()) / 1e9)
}

// statusLabel is the status label of an HTTP status.
func statusLabel(status int) string {
	switch {
	case status == 0:
		return statusError
	case status < 100 || status > 599:
		// Bounded on purpose: the value comes from the network.
		return statusOther
	}
	return strconv.Itoa(status)
}

func outcomeLabel(ok bool) string {
	if ok {
		return outcomeSuccess
	}
	return outcomeFailure
}
