package main

// defaultConfigYAML is what `passkeyd serve --print-default-config` prints:
// every setting with its default and what it does. A test checks that it
// decodes to defaultConfig(), so the two cannot drift apart.
const defaultConfigYAML = `# passkeyd configuration. Every key is optional; unknown keys are errors.
# Environment variables (PASSKEYD_*) override the file; secrets belong there, not here.

# Address to serve the API on. Behind a TLS-terminating proxy, keep it on loopback.
listen: 127.0.0.1:8080

# Reverse proxies (CIDRs) whose X-Forwarded-For header is believed for the client address in logs;
# from any other peer the header is ignored.
trusted_proxies: []

# URL clients use to reach passkeyd, when it differs from listen (proxy, TLS).
public_url: ""

# Where the SQLite database (and, in dev mode, the master key) live.
data_dir: ./data

database:
  # sqlite:///var/lib/passkeyd/passkeyd.db (default: <data_dir>/passkeyd.db), or
  # postgres://user@host:5432/db?sslmode=verify-full to run several nodes on one database.
  url: ""

tls:
  # Serve HTTPS directly (PEM files). Both or neither.
  cert_file: ""
  key_file: ""

# 32-byte key (base64 or hex, file mode 0600) sealing secrets at rest; or PASSKEYD_MASTER_KEY.
# Default: <data_dir>/master.key. Every node of a cluster needs the same key.
master_key_file: ""
# Retired master keys, kept only until 'passkeyd rewrap' has re-sealed everything.
previous_master_key_files: []

log:
  level: info     # debug, info, warn, error
  format: text    # text or json

jobs:
  concurrency: 16             # revocation workers per node (paced to graph_write_rate)
  rescue_after_seconds: 300   # a job left running by a dead node is taken over after this
  poll_milliseconds: 200      # how often idle workers look for jobs (SQLite; PostgreSQL is notified)

# How long the connector's HTTP debug log stays on once an admin enables it.
http_debug_minutes: 60

# Graph writes per second this node allows itself: Microsoft publishes 3,000 writes per 150 s per
# app and tenant (20/s). With N nodes on one tenant, set 20/N.
graph_write_rate: 20

# How often passkeyd compares its inventory with Entra (0: only on demand).
reconcile_minutes: 360

audit:
  # Signed checkpoints of the audit hash chain, written outside the database so that a
  # rewritten chain is detectable: passkeyd audit verify --checkpoint FILE --key PUBKEY.
  checkpoint_file: ""
  checkpoint_key_file: ""   # Ed25519 key, created 0600 (default <data_dir>/checkpoint.key)
  syslog:                   # RFC 5424 to a SIEM
    network: ""             # udp, tcp or tcp+tls
    addr: ""                # host:port
  webhook:                  # JSON batches, HMAC-SHA256 signed (PASSKEYD_AUDIT_WEBHOOK_SECRET)
    url: ""
  ship_seconds: 30          # how often events are shipped and checkpoints written

# Development conveniences (a generated master key). Never in production.
dev: false
`
