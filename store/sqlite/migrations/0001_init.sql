-- passkeyd SQLite schema, version 1.
-- Times are TEXT in UTC, RFC 3339 with exactly six fractional digits
-- ("2006-01-02T15:04:05.000000Z"), so that they sort as text and hold
-- exactly what the audit chain hashed. Booleans are INTEGER 0/1.
-- Tables named river_* belong to the job queue, which creates its own.

CREATE TABLE connectors (
    id                        TEXT    NOT NULL PRIMARY KEY,
    enabled                   INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    http_debug                INTEGER NOT NULL CHECK (http_debug IN (0, 1)),
    cloud                     TEXT    NOT NULL,
    authority_host            TEXT    NOT NULL DEFAULT '',
    graph_url                 TEXT    NOT NULL DEFAULT '',
    ca_cert_pem               TEXT    NOT NULL DEFAULT '',
    tenant_id                 TEXT    NOT NULL DEFAULT '',
    client_id                 TEXT    NOT NULL DEFAULT '',
    has_client_secret         INTEGER NOT NULL CHECK (has_client_secret IN (0, 1)),
    client_secret_hint        TEXT    NOT NULL DEFAULT '',
    -- Sealed by package secret (AAD "connectors/<id>/client_secret");
    -- the store never sees the secret in clear.
    client_secret_sealed      BLOB,
    challenge_timeout_minutes INTEGER NOT NULL,
    display_name_template     TEXT    NOT NULL,
    credential_type           TEXT    NOT NULL DEFAULT 'secret' CHECK (credential_type IN ('secret', 'certificate')),
    client_secret_expires_at  TEXT,
    -- Public part of the client certificate; its PKCS #8 key is sealed
    -- (AAD "connectors/<id>/certificate_key").
    certificate_chain_pem     TEXT    NOT NULL DEFAULT '',
    certificate_key_sealed    BLOB,
    assertion_format          TEXT    NOT NULL DEFAULT '',
    http_debug_until          TEXT,
    updated_at                TEXT    NOT NULL
) STRICT;

CREATE TABLE policies (
    id                    TEXT    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL,
    entra_passkey         TEXT    NOT NULL CHECK (entra_passkey IN ('off', 'optional', 'required')),
    max_passkeys_per_user INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL
) STRICT;

-- The policy every user falls back to exists from the start, off.
INSERT INTO policies (id, name, entra_passkey, max_passkeys_per_user, created_at, updated_at)
VALUES ('default', 'Default', 'off', 0,
        strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z',
        strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z');

CREATE TABLE users (
    id              TEXT NOT NULL PRIMARY KEY,
    -- UPNs and object IDs are ASCII (passkeyd.ValidUPN, GUIDs), so NOCASE
    -- makes them unique and searchable case-insensitively.
    upn             TEXT NOT NULL COLLATE NOCASE,
    entra_object_id TEXT COLLATE NOCASE,           -- NULL when not known
    display_name    TEXT NOT NULL DEFAULT '',
    policy_id       TEXT REFERENCES policies (id), -- NULL: the default policy
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_upn ON users (upn);
CREATE UNIQUE INDEX users_entra_object_id ON users (entra_object_id) WHERE entra_object_id IS NOT NULL;
CREATE INDEX users_policy_id ON users (policy_id);

CREATE TABLE invitations (
    id         TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX invitations_code_hash ON invitations (code_hash);
CREATE INDEX invitations_user_id ON invitations (user_id);

CREATE TABLE devices (
    id         TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    platform   TEXT NOT NULL DEFAULT '',
    model      TEXT NOT NULL DEFAULT '',
    token_hash BLOB NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('active', 'removed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    removed_at TEXT,
    enrollment_skipped_at TEXT
) STRICT;
CREATE UNIQUE INDEX devices_token_hash ON devices (token_hash);
CREATE INDEX devices_user_id ON devices (user_id);

CREATE TABLE enrollments (
    id                   TEXT NOT NULL PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users (id),
    device_id            TEXT NOT NULL REFERENCES devices (id),
    state                TEXT NOT NULL CHECK (state IN ('options_issued', 'registering', 'completed', 'failed', 'expired')),
    challenge_expires_at TEXT NOT NULL,
    options_hash         BLOB,
    challenge            TEXT NOT NULL DEFAULT '',
    rp_id                TEXT NOT NULL DEFAULT '',
    passkey_id           TEXT NOT NULL DEFAULT '',
    error                TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
) STRICT;
CREATE INDEX enrollments_device_id ON enrollments (device_id);
CREATE INDEX enrollments_state ON enrollments (state, challenge_expires_at);

CREATE TABLE passkeys (
    id                TEXT NOT NULL PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id),
    device_id         TEXT NOT NULL REFERENCES devices (id),
    enrollment_id     TEXT NOT NULL REFERENCES enrollments (id),
    graph_method_id   TEXT,                         -- NULL until Entra answered
    credential_id     TEXT NOT NULL,
    aaguid            TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    display_name      TEXT NOT NULL DEFAULT '',
    attestation_level TEXT NOT NULL DEFAULT '',
    passkey_type      TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL CHECK (state IN ('registering', 'active', 'unknown', 'failed', 'revoking', 'revoked', 'revoke_failed', 'missing')),
    last_error        TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    revoked_at        TEXT
) STRICT;
CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_graph_method_id ON passkeys (graph_method_id) WHERE graph_method_id IS NOT NULL;
CREATE INDEX passkeys_user_id ON passkeys (user_id);
CREATE INDEX passkeys_device_id ON passkeys (device_id, state);
CREATE INDEX passkeys_state ON passkeys (state);

CREATE TABLE api_tokens (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BLOB NOT NULL,
    last8      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    expires_at TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (hash);

-- The hash chain (package audit). seq is assigned by the store as
-- last + 1 inside the writing transaction, so the chain is linear.
CREATE TABLE audit_events (
    seq               INTEGER NOT NULL PRIMARY KEY,
    time              TEXT    NOT NULL,
    actor             TEXT    NOT NULL,
    action            TEXT    NOT NULL,
    target_type       TEXT    NOT NULL DEFAULT '',
    target_id         TEXT    NOT NULL DEFAULT '',
    outcome           TEXT    NOT NULL,
    reason            TEXT    NOT NULL DEFAULT '',
    request_id        TEXT    NOT NULL DEFAULT '',
    client_request_id TEXT    NOT NULL DEFAULT '',
    details           TEXT,   -- canonical JSON as hashed, byte for byte
    prev_hash         TEXT    NOT NULL,
    hash              TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, seq);

-- Append-only, against mistakes rather than attackers (who could drop
-- the triggers; the hash chain is what catches them).
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Throttle state shared by every worker: Graph's Retry-After per scope.
CREATE TABLE throttles (
    scope      TEXT NOT NULL PRIMARY KEY,
    not_before TEXT NOT NULL
) STRICT;

-- Named positions, e.g. how far the audit log was shipped to each sink.
CREATE TABLE cursors (
    name     TEXT    NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;

-- Idempotency-Key records: the sealed response of each completed request.
CREATE TABLE idempotency_keys (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    done         INTEGER NOT NULL CHECK (done IN (0, 1)),
    status       INTEGER NOT NULL DEFAULT 0,
    body_sealed  BLOB,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;

-- People who sign in to the admin web UI. Usernames are ASCII
-- (manager.CreateAdmin), so NOCASE makes them unique case-insensitively.
CREATE TABLE admin_users (
    id            TEXT NOT NULL PRIMARY KEY,
    username      TEXT NOT NULL COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    password_hash TEXT NOT NULL,              -- argon2id, PHC string form
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    disabled_at   TEXT
) STRICT;
CREATE UNIQUE INDEX admin_users_username ON admin_users (username);

-- Server-side sessions of the admin web UI: only the token's SHA-256.
CREATE TABLE admin_sessions (
    id           TEXT NOT NULL PRIMARY KEY,
    admin_id     TEXT NOT NULL REFERENCES admin_users (id),
    token_hash   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX admin_sessions_token_hash ON admin_sessions (token_hash);
CREATE INDEX admin_sessions_admin_id ON admin_sessions (admin_id);

-- Failed sign-ins per username (known or not), for the hourly limit.
CREATE TABLE admin_login_failures (
    id       INTEGER NOT NULL PRIMARY KEY,
    username TEXT    NOT NULL COLLATE NOCASE,
    at       TEXT    NOT NULL
) STRICT;
CREATE INDEX admin_login_failures_username ON admin_login_failures (username, at);
CREATE INDEX admin_login_failures_at ON admin_login_failures (at);
