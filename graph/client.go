package graph

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// DefaultTimeout bounds each HTTP call when GraphConfig.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultUserAgent is sent on Graph calls unless WithUserAgent says otherwise.
const DefaultUserAgent = "passkeyd"

// Client is a passkeyd.GraphClient for one tenant and app registration.
// It is safe for concurrent use.
type Client struct {
	graphBase *url.URL // scheme, host and optional path prefix; no version
	log       *slog.Logger
	now       func() time.Time
	userAgent string
	observer  Observer
	hc        *http.Client
	tokens    *tokenSource
}

var _ passkeyd.GraphClient = (*Client)(nil)

// Option configures a Client.
type Option func(*options)

type options struct {
	log       *slog.Logger
	now       func() time.Time
	transport http.RoundTripper
	userAgent string
	observer  Observer
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithNow sets the clock used for Retry-After dates and durations.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTransport replaces the base transport (tests, benchmarks). The
// caller's transport then owns TLS: GraphConfig.RootCAsPEM is not applied
// to it. The debug log and the Observer still wrap it.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithUserAgent sets the User-Agent of Graph calls. Token calls keep the
// Azure SDK's own, which Microsoft uses to diagnose the token library.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// New returns a Client for cfg. It does no I/O: the first call acquires
// the token. Every problem of cfg is reported at once as an EInvalid
// *passkeyd.Error.
func New(cfg passkeyd.GraphConfig, opts ...Option) (*Client, error) {
	o := options{now: time.Now, userAgent: DefaultUserAgent}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.observer == nil {
		o.observer = nopObserver{}
	}
	cfg.AuthorityHost = strings.TrimRight(cfg.AuthorityHost, "/")
	cfg.GraphURL = strings.TrimRight(cfg.GraphURL, "/")

	var fe passkeyd.FieldErrors
	if _, msg := parseHTTPSBase(cfg.AuthorityHost); msg != "" {
		fe.Add("authority_host", msg)
	}
	graphBase, msg := parseHTTPSBase(cfg.GraphURL)
	if msg != "" {
		fe.Add("graph_url", msg)
	} else if last := graphBase.Path[strings.LastIndex(graphBase.Path, "/")+1:]; last == "v1.0" || last == "beta" {
		fe.Add("graph_url", "must not include the API version (v1.0 or beta): passkeyd adds it per call")
	}
	switch {
	case cfg.TenantID == "":
		fe.Add("tenant_id", "is required")
	case !passkeyd.ValidTenantID(cfg.TenantID):
		fe.Add("tenant_id", "must be the tenant ID (a GUID) or a verified domain such as contoso.onmicrosoft.com")
	}
	switch {
	case cfg.ClientID == "":
		fe.Add("client_id", "is required")
	case !passkeyd.IsGUID(cfg.ClientID):
		fe.Add("client_id", "must be the application (client) ID, a GUID")
	}
	switch {
	case cfg.ClientSecret != "" && cfg.Certificate != nil:
		fe.Add("client_certificate", "set either a client secret or a client certificate, not both")
	case cfg.Certificate != nil:
		if msg := checkCertificate(cfg.Certificate); msg != "" {
			fe.Add("client_certificate", msg)
		}
	case cfg.ClientSecret == "":
		fe.Add("client_secret", "is required, unless a client certificate is set")
	}
	if cfg.Timeout < 0 {
		fe.Add("timeout", "must not be negative")
	}
	var roots *x509.CertPool
	if len(cfg.RootCAsPEM) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(cfg.RootCAsPEM) {
			fe.Add("ca_cert_pem", "holds no PEM certificate")
		}
	}
	if err := fe.Err("invalid Graph connection settings"); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}

	base := o.transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// With custom roots (the emulator's CA) only those are trusted:
		// a custom cloud has no business presenting a public certificate.
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
		base = t
	}
	if cfg.HTTPDebug {
		base = &debugTransport{base: base, log: o.log, now: o.now}
	}
	base = &tokenObserverTransport{base: base, obs: o.observer}
	hc := &http.Client{
		Transport: base,
		Timeout:   cfg.Timeout,
		// Neither Entra nor Graph redirects these calls; following one
		// could carry a bearer token or a create body somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &Client{
		graphBase: graphBase,
		log:       o.log,
		now:       o.now,
		userAgent: o.userAgent,
		observer:  o.observer,
		hc:        hc,
	}
	ts, err := newTokenSource(cfg, hc, o.now)
	if err != nil {
		return nil, err
	}
	c.tokens = ts
	return c, nil
}

// CloseIdleConnections closes idle keep-alive connections of the client.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// parseHTTPSBase parses an https base URL without query or fragment; msg
// says what is wrong, or is "".
func parseHTTPSBase(s string) (*url.URL, string) {
	if s == "" {
		return nil, "is required"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, "is not a valid URL"
	case u.Scheme != "https":
		return nil, "must be an https:// URL"
	case u.Host == "" || u.Hostname() == "":
		return nil, "must name a host"
	case u.User != nil:
		return nil, "must not contain credentials"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, "must not have a query or fragment"
	}
	return u, ""
}

// errorsAs is errors.As, named for readability at call sites that test
// several types.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
