package entraemu

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// DefaultRPID is the relying party ID Graph has been observed to use.
// Clients must read rp.id from the creation options, never assume it.
const DefaultRPID = "login.microsoft.com"

// DefaultListPageSize is how many methods a list page holds by default.
const DefaultListPageSize = 10

// Options configures an Emulator. The zero value is usable.
type Options struct {
	// Logger receives request and state-change logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RPID is the WebAuthn relying party ID; empty means DefaultRPID.
	RPID string
	// Seed, when set, is the initial state; nil creates a default tenant
	// (see New).
	Seed *Seed
	// ListPageSize is the page size of method lists; 0 means
	// DefaultListPageSize. Small values exercise clients' nextLink paging.
	ListPageSize int
}

// Emulator is an in-memory Entra ID + Microsoft Graph. It is an
// http.Handler and safe for concurrent use. Build it with New.
type Emulator struct {
	log      *slog.Logger
	now      func() time.Time
	rpID     string
	pageSize int

	signer signingKey // access token signing key, published in the JWKS

	mu         sync.Mutex
	tenants    []*tenantState
	challenges map[[32]byte]*challengeState // by SHA-256 of the challenge string
	jtis       map[string]time.Time         // client assertion IDs seen, until they expire
	lastPrune  time.Time
	faults     []*faultState
	latency    time.Duration
	// lag is the replication lag knob: a new method stays invisible to
	// list, get and delete for this long (SetReplicationLag).
	lag        time.Duration
	stats      Stats
	quota      quotaState // SetWriteQuota
	caFile     string
	attRoots   []*x509.Certificate // trusted attestation roots (FIDO metadata stand-in)
	idEncoding IDEncoding

	srvMu  sync.Mutex // guards the HTTPS server fields below
	srv    *http.Server
	url    string
	caPEM  []byte
	closed chan struct{}
}

// New builds an emulator. With no Options.Seed it creates one tenant
// (contoso.onmicrosoft.com) holding one app with a random client secret
// and the role UserAuthMethod-Passkey.ReadWrite.All, and the users alice,
// bob and carol.
func New(opts Options) (*Emulator, error) {
	e := &Emulator{
		log:        opts.Logger,
		now:        opts.Now,
		rpID:       opts.RPID,
		pageSize:   opts.ListPageSize,
		challenges: map[[32]byte]*challengeState{},
		jtis:       map[string]time.Time{},
		stats:      Stats{GraphCalls: map[Op]int{}},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rpID == "" {
		e.rpID = DefaultRPID
	}
	if e.pageSize <= 0 {
		e.pageSize = DefaultListPageSize
	}
	if e.pageSize > 1000 {
		return nil, fmt.Errorf("entraemu: list page size %d is above 1000", e.pageSize)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("entraemu: generate token signing key: %w", err)
	}
	if e.signer, err = newSigningKey(key, e.now()); err != nil {
		return nil, fmt.Errorf("entraemu: token signing key: %w", err)
	}
	seed := opts.Seed
	if seed == nil {
		seed = e.defaultSeed()
	}
	if err := e.applySeed(seed); err != nil {
		return nil, err
	}
	return e, nil
}

// defaultSeed is the state of an emulator started without a seed file.
func (e *Emulator) defaultSeed() *Seed {
	return &Seed{Tenants: []SeedTenant{{
		Domain: "contoso.onmicrosoft.com",
		Apps: []App{{
			DisplayName: "passkeyd",
			Secrets: []ClientSecret{{
				Value:   passkeyd.Secret(newSecretValue()),
				Expires: e.now().AddDate(2, 0, 0).UTC(),
			}},
			Roles: []string{RolePasskeyReadWriteAll},
		}},
		Users: []User{
			{UPN: "alice@contoso.onmicrosoft.com", DisplayName: "Alice Smith"},
			{UPN: "bob@contoso.onmicrosoft.com", DisplayName: "Bob Jones"},
			{UPN: "carol@contoso.onmicrosoft.com", DisplayName: "Carol Lee"},
		},
	}}}
}

// ServeHTTP routes Graph calls (/v1.0/..., /beta/...) and identity
// platform calls (/{tenant}/...).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := e.currentLatency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	switch first {
	case "v1.0", "beta":
		e.serveGraph(w, r)
	default:
		e.serveIdentity(w, r)
	}
}

// Start serves HTTPS on addr (e.g. "127.0.0.1:0") with a CA generated for
// this run and a leaf certificate for 127.0.0.1, ::1, localhost and addr's
// host. It returns once the listener is bound.
func (e *Emulator) Start(addr string) error {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	if e.srv != nil {
		return errors.New("entraemu: already started")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("entraemu: listen address %q: %w", addr, err)
	}
	pki, err := newPKI(host, e.now())
	if err != nil {
		return fmt.Errorf("entraemu: generate TLS certificates: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("entraemu: listen on %s: %w", addr, err)
	}
	e.srv = &http.Server{
		Handler:           http.MaxBytesHandler(e, maxRequestBody),
		TLSConfig:         pki.serverConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	e.caPEM = pki.caPEM
	e.url = "https://" + urlHost(ln.Addr().(*net.TCPAddr))
	e.closed = make(chan struct{})
	srv, closed := e.srv, e.closed
	go func() {
		defer close(closed)
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("emulator server stopped", "err", err)
		}
	}()
	e.log.Info("emulator listening", "url", e.url)
	return nil
}

// urlHost is the host:port of a listener in URL form; a wildcard address
// becomes the loopback address the certificate covers.
func urlHost(a *net.TCPAddr) string {
	ip := a.IP
	switch {
	case ip == nil || ip.IsUnspecified() && ip.To4() != nil:
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// URL returns the HTTPS base URL once started (both authority host and
// Graph URL), or "" before Start.
func (e *Emulator) URL() string {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	return e.url
}

// CACertPEM returns the PEM of the CA that signed the server certificate,
// or nil before Start.
func (e *Emulator) CACertPEM() []byte {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	return append([]byte(nil), e.caPEM...)
}

// WriteCAFile writes the CA certificate (PEM) to path and remembers path
// for Settings.
func (e *Emulator) WriteCAFile(path string) error {
	pem := e.CACertPEM()
	if pem == nil {
		return errors.New("entraemu: write CA file: emulator not started")
	}
	if err := writeFileAtomic(path, pem, 0o644); err != nil {
		return fmt.Errorf("entraemu: write CA file: %w", err)
	}
	e.mu.Lock()
	e.caFile = path
	e.mu.Unlock()
	return nil
}

// Close stops the HTTPS server started by Start, closing open connections.
// It is a no-op when not started.
func (e *Emulator) Close() error {
	e.srvMu.Lock()
	srv, closed := e.srv, e.closed
	e.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	<-closed
	if err != nil {
		return fmt.Errorf("entraemu: close: %w", err)
	}
	return nil
}

// baseURL is the URL clients reach this emulator at: the started URL, or
// the request's own scheme and host when mounted elsewhere (httptest).
func (e *Emulator) baseURL(r *http.Request) string {
	if u := e.URL(); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
