package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/graph"
	"github.com/passkeyd/passkeyd/idempotency"
	"github.com/passkeyd/passkeyd/jobs"
	"github.com/passkeyd/passkeyd/manager"
	"github.com/passkeyd/passkeyd/metrics"
	"github.com/passkeyd/passkeyd/secret"
	"github.com/passkeyd/passkeyd/server"
	"github.com/passkeyd/passkeyd/server/ui"
)

// app is a wired passkeyd server: store, manager, job queue, HTTP.
type app struct {
	cfg     Config
	log     *slog.Logger
	store   storage
	mgr     *manager.Manager
	metrics *metrics.Metrics
	queue   *jobs.Queue
	http    *http.Server
	ln      net.Listener
	url     string
	// adminToken is set when this start created the first admin token.
	adminToken passkeyd.Secret
}

// openApp opens the database, loads the master key and wires everything;
// it serves nothing until start.
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	key, err := loadMasterKey(cfg, log)
	if err != nil {
		return nil, err
	}
	keyring, err := newKeyring(cfg, key)
	if err != nil {
		return nil, err
	}
	db, err := openStorage(ctx, cfg, log.With("component", "store"))
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: db}
	a.metrics = metrics.New(metrics.Options{
		Logger:     log.With("component", "metrics"),
		QueueStats: db.queueStats,
		CredentialExpiry: func(ctx context.Context) (secretExpiry, certExpiry *time.Time, err error) {
			c, err := a.mgr.Connector(ctx)
			if err != nil || !c.Enabled {
				return nil, nil, err
			}
			if c.Certificate != nil && !c.Certificate.NotAfter.IsZero() {
				certExpiry = &c.Certificate.NotAfter
			}
			return c.ClientSecretExpiresAt, certExpiry, nil
		},
	})
	fail := func(err error) (*app, error) {
		db.Close()
		return nil, err
	}
	a.mgr, err = manager.New(manager.Config{
		Store:  db,
		Sealer: keyring,
		NewGraph: func(gc passkeyd.GraphConfig) (passkeyd.GraphClient, error) {
			glog := log
			if gc.HTTPDebug {
				// The admin asked for HTTP debug: its records are debug
				// level and must show whatever the process log level.
				glog = debugLogger(cfg)
			}
			return graph.New(gc, graph.WithLogger(glog.With("component", "graph")), graph.WithObserver(a.metrics))
		},
		Logger:          log.With("component", "manager"),
		Metrics:         a.metrics,
		ProviderAAGUIDs: []string{authenticator.DefaultAAGUID},
		HTTPDebugPeriod: time.Duration(cfg.HTTPDebugMinutes) * time.Minute,
		GraphWriteRate:  cfg.GraphWriteRate,
		// Every device request reads the connector and its policy; a
		// change on another node applies here within a second.
		SettingsCacheTTL: manager.DefaultSettingsCacheTTL,
	})
	if err != nil {
		return fail(err)
	}
	shipper, err := auditShipper(cfg, db, log.With("component", "audit"))
	if err != nil {
		return fail(err)
	}
	a.queue, err = db.newQueue(jobs.Config{
		AuditShipper: shipper,
		ShipEvery:    time.Duration(cfg.Audit.ShipSeconds) * time.Second,
		Revoker:      a.mgr,
		Resolver:     a.mgr,
		Reconciler:   a.mgr,
		// Periodic reconciliation; the API and CLI run it on demand.
		ReconcileEvery: time.Duration(cfg.ReconcileMinutes) * time.Minute,
		Logger:         log.With("component", "jobs"),
		Concurrency:    cfg.Jobs.Concurrency,
		PollInterval:   time.Duration(cfg.Jobs.PollMilliseconds) * time.Millisecond,
		RescueAfter:    time.Duration(cfg.Jobs.RescueAfterSeconds) * time.Second,
	})
	if err != nil {
		return fail(err)
	}
	db.SetEnqueuer(a.queue.Enqueue)
	// Cookies are Secure (__Host-) unless browsers reach passkeyd over
	// plain http: no TLS here and no https public_url (development).
	insecure := cfg.TLS.CertFile == "" && !strings.HasPrefix(cfg.PublicURL, "https://")
	if insecure && !cfg.Dev {
		log.Warn("the admin UI is served over plain http: set public_url to the https URL of your TLS proxy, or tls.cert_file")
	}
	webUI, err := ui.New(ui.Config{Service: a.mgr, Auth: a.mgr, Logger: log.With("component", "ui"), Insecure: insecure})
	if err != nil {
		return fail(err)
	}
	// One handler for the API and the UI: both get the request ID, the
	// client address (trusted_proxies) and a log line per request.
	srv, err := server.New(server.Config{
		Service:     a.mgr,
		Idempotency: idempotency.New(db, keyring, 0, nil),
		Metrics:     a.metrics.Handler(),
		TrustedProxies: func() []netip.Prefix {
			var ps []netip.Prefix
			for _, p := range cfg.TrustedProxies {
				ps = append(ps, netip.MustParsePrefix(p)) // validated with the config
			}
			return ps
		}(),
		Logger:  log.With("component", "http"),
		Ready:   db.ping,
		Version: version,
		UI:      webUI.Handler(),
	})
	if err != nil {
		return fail(err)
	}
	a.http = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a, nil
}

// bootstrapToken makes sure an admin can call the API: the token from
// PASSKEYD_BOOTSTRAP_TOKEN, or on first start a generated one, printed once.
func (a *app) bootstrapToken(ctx context.Context) error {
	ctx = passkeyd.WithActor(ctx, passkeyd.SystemActor)
	if a.cfg.bootstrapToken != "" {
		return a.mgr.EnsureBootstrapToken(ctx, passkeyd.Secret(a.cfg.bootstrapToken))
	}
	has, err := a.mgr.HasAPITokens(ctx)
	if err != nil || has {
		return err
	}
	_, tok, err := a.mgr.CreateAPIToken(ctx, "first admin", passkeyd.RoleAdmin, 0)
	a.adminToken = tok
	return err
}

// loadMasterKey reads the master key from the environment or its file; in
// dev mode a missing file is generated (0600) with a warning.
func loadMasterKey(cfg Config, log *slog.Logger) ([]byte, error) {
	if cfg.masterKey != "" {
		return secret.MasterKeyFromEnv(cfg.masterKey)
	}
	path := cfg.masterKeyPath()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if !cfg.Dev {
			return nil, fmt.Errorf("no master key at %s: create one with\n  head -c 32 /dev/urandom | base64 > %s && chmod 600 %s\nor set PASSKEYD_MASTER_KEY (or run with --dev to generate one)", path, path, path)
		}
		if err := secret.GenerateMasterKeyFile(path); err != nil {
			return nil, err
		}
		log.Warn("generated a new master key (dev mode): back it up, secrets cannot be decrypted without it", "path", path)
	}
	return secret.LoadMasterKey(path)
}

// newKeyring holds the master key (primary: it seals) and the previous
// ones (they only open what was sealed before a rotation).
func newKeyring(cfg Config, key []byte) (*secret.Keyring, error) {
	kr, err := secret.NewKeyring(secret.KeyID(key), key)
	if err != nil {
		return nil, err
	}
	var old [][]byte
	for _, p := range cfg.PreviousMasterKeyFiles {
		k, err := secret.LoadMasterKey(p)
		if err != nil {
			return nil, fmt.Errorf("previous_master_key_files: %w", err)
		}
		old = append(old, k)
	}
	for _, v := range strings.Split(cfg.previousKeys, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		k, err := secret.MasterKeyFromEnv(v)
		if err != nil {
			return nil, fmt.Errorf("PASSKEYD_PREVIOUS_MASTER_KEYS: %w", err)
		}
		old = append(old, k)
	}
	for _, k := range old {
		if err := kr.Add(secret.KeyID(k), k); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// start makes sure an admin token exists, listens and serves, and starts
// the job workers.
func (a *app) start(ctx context.Context) error {
	if err := a.bootstrapToken(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	a.ln = ln
	scheme := "http"
	if a.cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(a.cfg.TLS.CertFile, a.cfg.TLS.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("tls: %w", err)
		}
		a.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, a.http.TLSConfig)
		scheme = "https"
	}
	a.url = scheme + "://" + ln.Addr().String()
	if a.cfg.PublicURL != "" {
		a.url = a.cfg.PublicURL
	}
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "err", err)
		}
	}()
	return a.queue.Start(ctx)
}

// stop shuts down gracefully: HTTP first, then the workers, then the store.
func (a *app) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if a.ln != nil {
		if err := a.http.Shutdown(ctx); err != nil {
			a.log.Warn("http shutdown", "err", err)
		}
		if err := a.queue.Stop(ctx); err != nil {
			a.log.Warn("job queue shutdown", "err", err)
		}
	}
	if err := a.store.Close(); err != nil {
		a.log.Warn("store close", "err", err)
	}
}

// debugLogger is the process logger at debug level, for HTTP debug.
func debugLogger(cfg Config) *slog.Logger {
	return newLogger("debug", cfg.Log.Format, cfg.logWriter())
}

// newLogger builds the process logger from the config.
func newLogger(level, format string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// auditShipper builds the audit shipping of the configuration: sinks and
// checkpoints; nil when none is configured.
func auditShipper(cfg Config, store passkeyd.Store, log *slog.Logger) (jobs.AuditShipper, error) {
	sh := &audit.Shipper{Store: store, Sinks: map[string]audit.Sink{}, Logger: log}
	if a := cfg.Audit.Syslog; a.Network != "" {
		host, _ := os.Hostname()
		sink := &audit.SyslogSink{Network: a.Network, Addr: a.Addr, Format: audit.SyslogFormat{Hostname: host}}
		if err := sink.Validate(); err != nil {
			return nil, fmt.Errorf("audit.syslog: %w", err)
		}
		sh.Sinks["syslog"] = sink
	}
	if u := cfg.Audit.Webhook.URL; u != "" {
		sink := &audit.WebhookSink{URL: u, Secret: passkeyd.Secret(cfg.webhookSecret), Logger: log}
		if err := sink.Validate(); err != nil {
			return nil, fmt.Errorf("audit.webhook: %w", err)
		}
		sh.Sinks["webhook"] = sink
	}
	if cfg.Audit.CheckpointFile != "" {
		keyFile := cfg.Audit.CheckpointKeyFile
		if keyFile == "" {
			keyFile = filepath.Join(cfg.DataDir, "checkpoint.key")
		}
		key, err := audit.LoadOrCreateCheckpointKey(keyFile)
		if err != nil {
			return nil, fmt.Errorf("audit.checkpoint_key_file: %w", err)
		}
		sh.CheckpointFile, sh.CheckpointKey = cfg.Audit.CheckpointFile, key
	}
	if len(sh.Sinks) == 0 && sh.CheckpointFile == "" {
		return nil, nil
	}
	return sh, nil
}
