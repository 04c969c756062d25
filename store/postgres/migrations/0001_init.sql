-- passkeyd PostgreSQL schema, version 1. Same tables and meaning as the
-- SQLite schema (store/sqlite/migrations/0001_init.sql), in PostgreSQL's
-- types: TIMESTAMPTZ (microsecond precision, exactly what the audit chain
-- hashes), BOOLEAN, BYTEA.
--
-- IDs and the columns that refer to them are COLLATE "C": lists page by
-- "id > cursor ORDER BY id", which must be byte order (UUIDv7 text is
-- creation order) whatever the database's default collation is.
-- Tables named river_* belong to the job queue, which creates its own.

CREATE TABLE connectors (
    id                        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    enabled                   BOOLEAN     NOT NULL,
    http_debug                BOOLEAN     NOT NULL,
    cloud                     TEXT        NOT NULL,
    authority_host            TEXT        NOT NULL DEFAULT '',
    graph_url                 TEXT        NOT NULL DEFAULT '',
    ca_cert_pem               TEXT        NOT NULL DEFAULT '',
    tenant_id                 TEXT        NOT NULL DEFAULT '',
    client_id                 TEXT        NOT NULL DEFAULT '',
    has_client_secret         BOOLEAN     NOT NULL,
    client_secret_hint        TEXT        NOT NULL DEFAULT '',
    -- Sealed by package secret (AAD "connectors/<id>/client_secret");
    -- the store never sees the secret in clear.
    client_secret_sealed      BYTEA,
    challenge_timeout_minutes INTEGER     NOT NULL,
    display_name_template     TEXT        NOT NULL,
    credential_type           TEXT        NOT NULL DEFAULT 'secret' CHECK (credential_type IN ('secret', 'certificate')),
    client_secret_expires_at  TIMESTAMPTZ,
    -- Public part of the client certificate; its PKCS #8 key is sealed
    -- (AAD "connectors/<id>/certificate_key").
    certificate_chain_pem     TEXT        NOT NULL DEFAULT '',
    certificate_key_sealed    BYTEA,
    assertion_format          TEXT        NOT NULL DEFAULT '',
    http_debug_until          TIMESTAMPTZ,
    updated_at                TIMESTAMPTZ NOT NULL
);

CREATE TABLE policies (
    id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name                  TEXT        NOT NULL,
    entra_passkey         TEXT        NOT NULL CHECK (entra_passkey IN ('off', 'optional', 'required')),
    max_passkeys_per_user INTEGER     NOT NULL DEFAULT 0,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);

-- The policy every user falls back to exists from the start, off.
INSERT INTO policies (id, name, entra_passkey, max_passkeys_per_user, created_at, updated_at)
VALUES ('default', 'Default', 'off', 0, date_trunc('second', now()), date_trunc('second', now()));

CREATE TABLE users (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    upn             TEXT        NOT NULL,
    entra_object_id TEXT,                                       -- NULL when not known
    display_name    TEXT        NOT NULL DEFAULT '',
    policy_id       TEXT COLLATE "C" REFERENCES policies (id),  -- NULL: the default policy
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- UPNs and object IDs are ASCII (passkeyd.ValidUPN, GUIDs): lower() makes
-- them unique and findable case-insensitively, as COLLATE NOCASE does in
-- SQLite. Queries must say lower(upn) to use the index.
CREATE UNIQUE INDEX users_upn ON users (lower(upn));
CREATE UNIQUE INDEX users_entra_object_id ON users (lower(entra_object_id)) WHERE entra_object_id IS NOT NULL;
CREATE INDEX users_policy_id ON users (policy_id);

CREATE TABLE invitations (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    code_hash  BYTEA       NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX invitations_code_hash ON invitations (code_hash);
CREATE INDEX invitations_user_id ON invitations (user_id);

CREATE TABLE devices (
    id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id               TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    name                  TEXT        NOT NULL,
    platform              TEXT        NOT NULL DEFAULT '',
    model                 TEXT        NOT NULL DEFAULT '',
    token_hash            BYTEA       NOT NULL,
    state                 TEXT        NOT NULL CHECK (state IN ('active', 'removed')),
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    removed_at            TIMESTAMPTZ,
    enrollment_skipped_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX devices_token_hash ON devices (token_hash);
CREATE INDEX devices_user_id ON devices (user_id);

CREATE TABLE enrollments (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id              TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    device_id            TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
    state                TEXT        NOT NULL CHECK (state IN ('options_issued', 'registering', 'completed', 'failed', 'expired')),
    challenge_expires_at TIMESTAMPTZ NOT NULL,
    options_hash         BYTEA,
    challenge            TEXT        NOT NULL DEFAULT '',
    rp_id                TEXT        NOT NULL DEFAULT '',
    passkey_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    error                TEXT        NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX enrollments_device_id ON enrollments (device_id);
CREATE INDEX enrollments_state ON enrollments (state, challenge_expires_at);

CREATE TABLE passkeys (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id           TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    device_id         TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
    enrollment_id     TEXT COLLATE "C" NOT NULL REFERENCES enrollments (id),
    graph_method_id   TEXT,                                     -- NULL until Entra answered
    credential_id     TEXT        NOT NULL,
    aaguid            TEXT        NOT NULL DEFAULT '',          -- compared with lower()
    display_name      TEXT        NOT NULL DEFAULT '',
    attestation_level TEXT        NOT NULL DEFAULT '',
    passkey_type      TEXT        NOT NULL DEFAULT '',
    state             TEXT        NOT NULL CHECK (state IN ('registering', 'active', 'unknown', 'failed', 'revoking', 'revoked', 'revoke_failed', 'missing')),
    last_error        TEXT        NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    revoked_at        TIMESTAMPTZ
);
CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_graph_method_id ON passkeys (graph_method_id) WHERE graph_method_id IS NOT NULL;
CREATE INDEX passkeys_user_id ON passkeys (user_id);
CREATE INDEX passkeys_device_id ON passkeys (device_id, state);
CREATE INDEX passkeys_state ON passkeys (state);
CREATE INDEX passkeys_aaguid ON passkeys (lower(aaguid));

CREATE TABLE api_tokens (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT        NOT NULL,
    hash       BYTEA       NOT NULL,
    last8      TEXT        NOT NULL,
    role       TEXT        NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (hash);

-- The hash chain (package audit). seq is assigned by the store as
-- last + 1 inside the writing transaction, after locking audit_chain's
-- one row, so the chain stays linear with many nodes (see audit.go).
CREATE TABLE audit_events (
    seq               BIGINT      NOT NULL PRIMARY KEY,
    time              TIMESTAMPTZ NOT NULL,
    actor             TEXT        NOT NULL,
    action            TEXT        NOT NULL,
    target_type       TEXT        NOT NULL DEFAULT '',
    target_id         TEXT        NOT NULL DEFAULT '',
    outcome           TEXT        NOT NULL,
    reason            TEXT        NOT NULL DEFAULT '',
    request_id        TEXT        NOT NULL DEFAULT '',
    client_request_id TEXT        NOT NULL DEFAULT '',
    details           TEXT,       -- canonical JSON as hashed, byte for byte: never jsonb, which reorders keys
    prev_hash         TEXT        NOT NULL,
    hash              TEXT        NOT NULL
);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, seq);

-- The lock of the chain: every append first takes this one row FOR
-- UPDATE, which serialises appends across all nodes until commit.
CREATE TABLE audit_chain (
    singleton BOOLEAN NOT NULL PRIMARY KEY DEFAULT TRUE CHECK (singleton)
);
INSERT INTO audit_chain (singleton) VALUES (TRUE);

-- Append-only, against mistakes rather than attackers (who could drop
-- the triggers; the hash chain is what catches them).
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Throttle state shared by every node: Graph's Retry-After per scope.
CREATE TABLE throttles (
    scope      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    not_before TIMESTAMPTZ NOT NULL
);

-- Named positions, e.g. how far the audit log was shipped to each sink.
CREATE TABLE cursors (
    name     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Idempotency-Key records: the sealed response of each completed request.
CREATE TABLE idempotency_keys (
    scope        TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    request_hash BYTEA       NOT NULL,
    done         BOOLEAN     NOT NULL,
    status       INTEGER     NOT NULL DEFAULT 0,
    body_sealed  BYTEA,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);

-- People who sign in to the admin web UI. Usernames are ASCII
-- (manager.CreateAdmin): lower() makes them unique case-insensitively, as
-- COLLATE NOCASE does in SQLite. Queries must say lower(username).
CREATE TABLE admin_users (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    username      TEXT        NOT NULL,
    role          TEXT        NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    password_hash TEXT        NOT NULL,              -- argon2id, PHC string form
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    disabled_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX admin_users_username ON admin_users (lower(username));

-- Server-side sessions of the admin web UI: only the token's SHA-256.
CREATE TABLE admin_sessions (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    admin_id     TEXT COLLATE "C" NOT NULL REFERENCES admin_users (id),
    token_hash   BYTEA       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX admin_sessions_token_hash ON admin_sessions (token_hash);
CREATE INDEX admin_sessions_admin_id ON admin_sessions (admin_id);

-- Failed sign-ins per username (known or not), for the hourly limit.
CREATE TABLE admin_login_failures (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT        NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX admin_login_failures_username ON admin_login_failures (lower(username), at);
CREATE INDEX admin_login_failures_at ON admin_login_failures (at);
