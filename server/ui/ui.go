package ui

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Prefix is the path the UI is mounted at; every route lives below it.
const Prefix = "/ui/"

// Config configures the UI.
type Config struct {
	// Service is the manager the pages read and change.
	Service passkeyd.Service
	// Auth signs admins in and out.
	Auth passkeyd.AdminAuthService
	// Logger receives request failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock (expiry warnings); nil means time.Now.
	Now func() time.Time
	// Insecure drops the Secure attribute and the __Host- prefix from the
	// session cookie. It exists only for `passkeyd demo` served over plain
	// HTTP on localhost; a browser refuses Secure cookies there. Never set
	// it in production: the session cookie would travel in clear.
	Insecure bool
}

// UI is the admin web console.
type UI struct {
	svc      passkeyd.Service
	auth     passkeyd.AdminAuthService
	log      *slog.Logger
	now      func() time.Time
	insecure bool
	pages    map[string]*template.Template
	perms    map[string][]passkeyd.Role
	routes   []string
	handler  http.Handler
}

// New builds the UI. Service and Auth are required.
func New(cfg Config) (*UI, error) {
	if cfg.Service == nil || cfg.Auth == nil {
		return nil, errors.New("ui: Config.Service and Config.Auth are required")
	}
	u := &UI{
		svc:      cfg.Service,
		auth:     cfg.Auth,
		log:      cfg.Logger,
		now:      cfg.Now,
		insecure: cfg.Insecure,
		perms:    Permissions(),
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("ui: parsing templates: %w", err)
	}
	u.pages = pages
	mux := http.NewServeMux()
	if err := u.registerRoutes(mux); err != nil {
		return nil, err
	}
	// Cross-origin protection rejects non-safe requests a browser marks
	// as cross-site (Sec-Fetch-Site) or whose Origin is foreign; the
	// security headers wrap it so that its 403 carries them too.
	cop := http.NewCrossOriginProtection()
	u.handler = securityHeaders(cop.Handler(mux))
	return u, nil
}

// Handler returns the UI's handler, to be mounted at Prefix ("/ui/") and
// "/ui" (which it redirects to "/ui/"). Give it to server.Config.UI: the
// server then serves it behind its middleware (request ID, client address,
// request log), and the UI tells that log its route and signed-in admin
// (server.LogRoute, server.LogActor).
func (u *UI) Handler() http.Handler { return u.handler }

// Routes returns the patterns of every registered route, for tests that
// enumerate them.
func (u *UI) Routes() []string { return append([]string(nil), u.routes...) }
