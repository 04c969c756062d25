package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

// Config configures a Server.
type Config struct {
	// Service is the business logic; required.
	Service passkeyd.Service
	// Logger receives one line per request and the causes of internal
	// errors; nil discards.
	Logger *slog.Logger
	// Ready reports whether the daemon can serve (database, job queue);
	// it answers GET /readyz. Nil means always ready.
	Ready func(ctx context.Context) error
	// Version is reported by GET /healthz.
	Version string
	// MaxBodyBytes bounds request bodies; 0 means api.DefaultMaxBodyBytes.
	// POST /device/passkeys allows at least api.MaxCredentialBodyBytes.
	MaxBodyBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Idempotency, when set, honours Idempotency-Key on every mutating
	// route.
	Idempotency Idempotency
	// Metrics, when set, is served at GET /metrics (Prometheus).
	Metrics http.Handler
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For is believed; from any other peer it is ignored.
	TrustedProxies []netip.Prefix
	// UI, when set, is the admin web UI (package server/ui), served at
	// UIPrefix behind the same middleware as the API: request ID, client
	// address, one log line per request, panic recovery. Its own security
	// headers (CSP) and cross-origin protection stay its own. "/" then
	// redirects to the UI.
	UI http.Handler
}

// UIPrefix is where Config.UI is mounted.
const UIPrefix = "/ui/"

// Server serves passkeyd's HTTP API. Build it with New.
type Server struct {
	svc            passkeyd.Service
	log            *slog.Logger
	ready          func(ctx context.Context) error
	version        string
	maxBody        int64
	now            func() time.Time
	idem           Idempotency
	trustedProxies []netip.Prefix
	// metricsHandler serves /metrics when set.
	metricsHandler http.Handler

	routes  []Route
	handler http.Handler
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("server: Config.Service is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("server: Config.MaxBodyBytes must not be negative")
	}
	s := &Server{
		svc:            cfg.Service,
		log:            cfg.Logger,
		ready:          cfg.Ready,
		version:        cfg.Version,
		maxBody:        cfg.MaxBodyBytes,
		now:            cfg.Now,
		idem:           cfg.Idempotency,
		metricsHandler: cfg.Metrics,
		trustedProxies: cfg.TrustedProxies,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody == 0 {
		s.maxBody = api.DefaultMaxBodyBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	apiMux := http.NewServeMux()
	s.registerRoutes(apiMux)
	var h http.Handler = s.dispatch(apiMux)
	if cfg.UI != nil {
		// The browser UI has its own mux, CSRF protection and CSP; API
		// routes stay JSON-only. Both share the middleware, so a UI
		// request (a failed sign-in included) is logged like an API one.
		ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			infoFrom(r.Context()).pattern = UIPrefix // until the UI names its route
			cfg.UI.ServeHTTP(w, r)
		})
		root := http.NewServeMux()
		root.Handle(UIPrefix, ui)
		root.Handle(strings.TrimSuffix(UIPrefix, "/"), ui)
		root.Handle("GET /{$}", http.RedirectHandler(UIPrefix, http.StatusSeeOther))
		root.Handle("/", h)
		h = root
	}
	s.handler = s.middleware(h)
	return s, nil
}

// LogRoute records the route pattern that served the request of ctx, for
// its log line. Handlers mounted behind the server's middleware that are
// not its own routes (the UI) call it; outside the middleware it does
// nothing.
func LogRoute(ctx context.Context, pattern string) { infoFrom(ctx).pattern = pattern }

// LogActor records the authenticated caller of the request of ctx, for its
// log line (see LogRoute).
func LogActor(ctx context.Context, a passkeyd.Actor) { infoFrom(ctx).actor = a }

// Handler returns the root handler: API, device API and health endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns the registered routes with their authentication and, for
// admin routes, the roles allowed (nil when undeclared: such a route
// denies everyone).
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, r := range s.routes {
		r.Roles = append([]passkeyd.Role(nil), r.Roles...)
		out[i] = r
	}
	return out
}

// dispatch routes r through mux, answering unknown routes (404) and wrong
// methods (405, with Allow) as problem details instead of the mux's text.
func (s *Server) dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			infoFrom(r.Context()).pattern = pattern
			mux.ServeHTTP(w, r)
			return
		}
		// Let the mux decide between not found, wrong method and a
		// redirect to the clean path; only its errors are rewritten.
		rec := &captureWriter{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusNotFound:
			s.writeProblem(w, r, api.NewProblem(passkeyd.ENotFound, "no such route"))
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			p := api.NewProblem(passkeyd.EInvalid, "method "+r.Method+" is not allowed here; allowed: "+rec.header.Get("Allow"))
			p.Status, p.Title = http.StatusMethodNotAllowed, "Method not allowed"
			s.writeProblem(w, r, p)
		default:
			rec.replay(w)
		}
	})
}

// captureWriter records a response so that it can be inspected before it
// is sent.
type captureWriter struct {
	header http.Header
	status int
	body   []byte
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	c.body = append(c.body, b...)
	return len(b), nil
}

func (c *captureWriter) replay(w http.ResponseWriter) {
	for k, v := range c.header {
		w.Header()[k] = v
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	w.WriteHeader(c.status)
	_, _ = w.Write(c.body)
}
