package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Config is the server's configuration: a YAML file (strict: unknown keys
// are errors) overridden by PASSKEYD_* environment variables.
type Config struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	DataDir   string `yaml:"data_dir"`
	Database  struct {
		URL string `yaml:"url"`
	} `yaml:"database"`
	TLS struct {
		CertFile string `yaml:"cert_file"`
		KeyFile  string `yaml:"key_file"`
	} `yaml:"tls"`
	// TrustedProxies are the CIDRs of reverse proxies whose
	// X-Forwarded-For is believed (for the client address in logs).
	TrustedProxies []string `yaml:"trusted_proxies"`
	MasterKeyFile  string   `yaml:"master_key_file"`
	// PreviousMasterKeyFiles are retired master keys still able to open
	// values sealed before a rotation (until `passkeyd rewrap` has run).
	PreviousMasterKeyFiles []string `yaml:"previous_master_key_files"`
	Log                    struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
	Jobs struct {
		Concurrency int `yaml:"concurrency"`
		// RescueAfterSeconds: a job running this long on a node that
		// stopped answering is taken over by another node.
		RescueAfterSeconds int `yaml:"rescue_after_seconds"`
		// PollMilliseconds is how often idle workers look for jobs on
		// SQLite (PostgreSQL is notified at once).
		PollMilliseconds int `yaml:"poll_milliseconds"`
	} `yaml:"jobs"`
	// HTTPDebugMinutes is how long the connector's HTTP debug log stays on
	// once an admin enables it.
	HTTPDebugMinutes int `yaml:"http_debug_minutes"`
	// GraphWriteRate paces this node's Graph writes per second (Graph's
	// published quota is 20/s per app and tenant; with N nodes use 20/N).
	GraphWriteRate float64 `yaml:"graph_write_rate"`
	// ReconcileMinutes is how often passkeyd compares its inventory with
	// Entra (0 turns the periodic run off).
	ReconcileMinutes int `yaml:"reconcile_minutes"`
	// Audit configures shipping the audit log out of the database.
	Audit struct {
		// CheckpointFile receives signed checkpoints of the hash chain,
		// so a rewritten chain is detectable (passkeyd audit verify
		// --checkpoint); CheckpointKeyFile holds the Ed25519 key.
		CheckpointFile    string `yaml:"checkpoint_file"`
		CheckpointKeyFile string `yaml:"checkpoint_key_file"`
		Syslog            struct {
			Network string `yaml:"network"` // udp, tcp or tcp+tls
			Addr    string `yaml:"addr"`
		} `yaml:"syslog"`
		Webhook struct {
			URL string `yaml:"url"` // secret in PASSKEYD_AUDIT_WEBHOOK_SECRET
		} `yaml:"webhook"`
		ShipSeconds int `yaml:"ship_seconds"`
	} `yaml:"audit"`

	// Dev allows conveniences unsafe in production: a master key generated
	// into the data dir on first start.
	Dev bool `yaml:"dev"`

	// From the environment only (never in a file): secrets.
	masterKey      string
	bootstrapToken string
	webhookSecret  string
	previousKeys   string // PASSKEYD_PREVIOUS_MASTER_KEYS: comma-separated
	// logOutput is where logs go (tests capture them); nil is stderr.
	logOutput io.Writer
}

func (c *Config) logWriter() io.Writer {
	if c.logOutput != nil {
		return c.logOutput
	}
	return os.Stderr
}

// defaultConfig is the configuration with nothing set.
func defaultConfig() Config {
	var c Config
	c.Listen = "127.0.0.1:8080"
	c.DataDir = "./data"
	c.Log.Level = "info"
	c.Log.Format = "text"
	c.Jobs.Concurrency = 16
	c.Jobs.RescueAfterSeconds = 300
	c.Jobs.PollMilliseconds = 200
	c.HTTPDebugMinutes = 60
	c.ReconcileMinutes = 360
	c.GraphWriteRate = 20
	c.Audit.ShipSeconds = 30
	return c
}

// maxConfigSize bounds the config file.
const maxConfigSize = 1 << 20

// loadConfig reads path (if not empty), applies the environment and
// validates, reporting every problem at once.
func loadConfig(path string, env func(string) string) (Config, error) {
	c := defaultConfig()
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		if len(b) > maxConfigSize {
			return c, fmt.Errorf("config: %s is larger than 1 MiB", path)
		}
		if err := decodeConfig(b, &c); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(env); err != nil {
		return c, err
	}
	return c, c.validate()
}

func decodeConfig(b []byte, c *Config) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if !utf8.Valid(b) {
		bad := 0
		for bad < len(b) {
			r, n := utf8.DecodeRune(b[bad:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			bad += n
		}
		return fmt.Errorf("line %d: the file is not UTF-8 text", 1+bytes.Count(b[:bad], []byte("\n")))
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // only comments
		}
		msg := err.Error()
		if !strings.Contains(msg, "line ") {
			// yaml.v3 gives no position for problems on the first line.
			msg = strings.Replace(msg, "yaml: ", "yaml: line 1: ", 1)
		}
		return errors.New(msg)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("line 1: only one YAML document is allowed (found a second after ---)")
	}
	return nil
}

// applyEnv overrides settings from PASSKEYD_* variables.
func (c *Config) applyEnv(env func(string) string) error {
	set := func(name string, dst *string) {
		if v := env(name); v != "" {
			*dst = v
		}
	}
	set("PASSKEYD_LISTEN", &c.Listen)
	set("PASSKEYD_PUBLIC_URL", &c.PublicURL)
	set("PASSKEYD_DATA_DIR", &c.DataDir)
	set("PASSKEYD_DATABASE_URL", &c.Database.URL)
	set("PASSKEYD_TLS_CERT_FILE", &c.TLS.CertFile)
	set("PASSKEYD_TLS_KEY_FILE", &c.TLS.KeyFile)
	set("PASSKEYD_MASTER_KEY_FILE", &c.MasterKeyFile)
	set("PASSKEYD_LOG_LEVEL", &c.Log.Level)
	set("PASSKEYD_LOG_FORMAT", &c.Log.Format)
	set("PASSKEYD_MASTER_KEY", &c.masterKey)
	set("PASSKEYD_BOOTSTRAP_TOKEN", &c.bootstrapToken)
	set("PASSKEYD_AUDIT_WEBHOOK_SECRET", &c.webhookSecret)
	set("PASSKEYD_PREVIOUS_MASTER_KEYS", &c.previousKeys)
	set("PASSKEYD_AUDIT_CHECKPOINT_FILE", &c.Audit.CheckpointFile)
	var errs []error
	if v := env("PASSKEYD_JOBS_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PASSKEYD_JOBS_CONCURRENCY: %q is not a number", v))
		}
		c.Jobs.Concurrency = n
	}
	for name, dst := range map[string]*int{
		"PASSKEYD_JOBS_RESCUE_AFTER_SECONDS": &c.Jobs.RescueAfterSeconds,
		"PASSKEYD_JOBS_POLL_MILLISECONDS":    &c.Jobs.PollMilliseconds,
		"PASSKEYD_RECONCILE_MINUTES":         &c.ReconcileMinutes,
	} {
		if v := env(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a number", name, v))
			}
			*dst = n
		}
	}
	if v := env("PASSKEYD_HTTP_DEBUG_MINUTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PASSKEYD_HTTP_DEBUG_MINUTES: %q is not a number", v))
		}
		c.HTTPDebugMinutes = n
	}
	if v := env("PASSKEYD_DEV"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PASSKEYD_DEV: %q is not true or false", v))
		}
		c.Dev = b
	}
	return errors.Join(errs...)
}

// validate reports every problem at once, each with its key.
func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port", c.Listen)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if u := c.Database.URL; u != "" && !strings.HasPrefix(u, "sqlite://") && !c.isPostgres() {
		bad("database.url", "must start with sqlite:// (e.g. sqlite:///var/lib/passkeyd/passkeyd.db) or postgres://")
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not a CIDR such as 10.0.0.0/8", p)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "cert_file and key_file must be set together")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, not %q", c.Log.Format)
	}
	if c.Jobs.Concurrency < 1 || c.Jobs.Concurrency > 64 {
		bad("jobs.concurrency", "must be between 1 and 64")
	}
	if c.Jobs.RescueAfterSeconds < 10 || c.Jobs.RescueAfterSeconds > 24*3600 {
		bad("jobs.rescue_after_seconds", "must be between 10 and 86400")
	}
	if c.Jobs.PollMilliseconds < 50 || c.Jobs.PollMilliseconds > 60_000 {
		bad("jobs.poll_milliseconds", "must be between 50 and 60000")
	}
	if !(c.GraphWriteRate > 0 && c.GraphWriteRate <= 1000) { // also refuses NaN
		bad("graph_write_rate", "must be between 0 and 1000 writes per second")
	}
	if c.ReconcileMinutes < 0 || c.ReconcileMinutes > 7*24*60 {
		bad("reconcile_minutes", "must be between 0 (off) and 10080 (a week)")
	}
	if c.Audit.ShipSeconds < 5 || c.Audit.ShipSeconds > 3600 {
		bad("audit.ship_seconds", "must be between 5 and 3600")
	}
	if c.Audit.Webhook.URL != "" && len(c.webhookSecret) < 16 {
		bad("audit.webhook", "needs PASSKEYD_AUDIT_WEBHOOK_SECRET (at least 16 characters) to sign deliveries")
	}
	if (c.Audit.Syslog.Network == "") != (c.Audit.Syslog.Addr == "") {
		bad("audit.syslog", "network and addr must be set together")
	}
	if c.HTTPDebugMinutes < 1 || c.HTTPDebugMinutes > 7*24*60 {
		bad("http_debug_minutes", "must be between 1 and 10080 (a week)")
	}
	if c.masterKey != "" && c.MasterKeyFile != "" {
		bad("master_key_file", "PASSKEYD_MASTER_KEY and master_key_file are both set; choose one")
	}
	if c.bootstrapToken != "" && len(c.bootstrapToken) < 32 {
		bad("PASSKEYD_BOOTSTRAP_TOKEN", "must be at least 32 characters")
	}
	return errors.Join(errs...)
}

// sqlitePath is the database file: from database.url, or in data_dir.
func (c *Config) sqlitePath() string {
	if p, ok := strings.CutPrefix(c.Database.URL, "sqlite://"); ok && p != "" {
		return p
	}
	return filepath.Join(c.DataDir, "passkeyd.db")
}

// masterKeyPath is where the master key file is, or would be generated.
func (c *Config) masterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}
