package graph

import (
	"net/http"
	"strings"
	"time"
)

// Observer receives one report per HTTP request the Client makes, for
// metrics. It is defined here, by its consumer's shape, so that graph
// does not depend on a metrics library; *metrics.Metrics satisfies it.
// Implementations must be safe for concurrent use and must not block:
// they run on the request path.
type Observer interface {
	// ObserveGraph reports one attempt of a Graph call: op is the
	// GraphError.Op of the call ("creationOptions", "create", "list",
	// "get", "delete", "fido2Policy"), status the HTTP status or 0 when
	// no response arrived, d the time until the response headers (or the
	// failure), and retryAfter the wait the response's Retry-After asked
	// for (0 when absent).
	ObserveGraph(op string, status int, d time.Duration, retryAfter time.Duration)
	// ObserveToken reports one HTTP request to the token endpoint; ok is
	// true for a 2xx answer. Tokens served from azidentity's cache are
	// not reported: they cost Entra nothing.
	ObserveToken(ok bool)
}

// WithObserver reports every Graph and token HTTP request to o. A nil o
// reports nothing.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

// nopObserver is the Observer of a Client built without WithObserver.
type nopObserver struct{}

func (nopObserver) ObserveGraph(string, int, time.Duration, time.Duration) {}
func (nopObserver) ObserveToken(bool)                                      {}

// tokenPathSuffix ends the path of the v2.0 token endpoint azidentity
// calls (graph-api.md §2): https://{authority}/{tenant}/oauth2/v2.0/token.
const tokenPathSuffix = "/oauth2/v2.0/token"

// tokenObserverTransport reports requests to the token endpoint. It sits
// in the RoundTripper because only there is a token acquisition that
// reached the network distinguishable from one served from azidentity's
// cache. Discovery and Graph requests pass through unreported (Graph
// calls are reported by Client.do, which knows their op).
type tokenObserverTransport struct {
	base http.RoundTripper
	obs  Observer
}

// RoundTrip implements http.RoundTripper.
func (t *tokenObserverTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, tokenPathSuffix) {
		t.obs.ObserveToken(err == nil && resp.StatusCode >= 200 && resp.StatusCode <= 299)
	}
	return resp, err
}

// CloseIdleConnections passes the call on, so that Client.CloseIdleConnections
// still reaches the base transport through this wrapper.
func (t *tokenObserverTransport) CloseIdleConnections() { closeIdle(t.base) }

// closeIdle closes rt's idle connections if it keeps any.
func closeIdle(rt http.RoundTripper) {
	if ci, ok := rt.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
