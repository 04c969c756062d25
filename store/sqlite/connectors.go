package sqlite

import (
	"context"
	"database/sql"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Connector returns the connector; ENotFound before it was first saved.
func (db *DB) Connector(ctx context.Context) (*passkeyd.Connector, error) {
	var c passkeyd.Connector
	var updated string
	var secretExpires, debugUntil sql.NullString
	err := db.rd.QueryRowContext(ctx, `SELECT id, enabled, http_debug, cloud, authority_host, graph_url,
		ca_cert_pem, tenant_id, client_id, has_client_secret, client_secret_hint, client_secret_sealed,
		challenge_timeout_minutes, display_name_template, credential_type, client_secret_expires_at,
		certificate_chain_pem, certificate_key_sealed, assertion_format, http_debug_until, updated_at
		FROM connectors WHERE id = ?`, passkeyd.ConnectorID).Scan(
		&c.ID, &c.Enabled, &c.HTTPDebug, &c.Cloud, &c.AuthorityHost, &c.GraphURL,
		&c.CACertPEM, &c.TenantID, &c.ClientID, &c.HasClientSecret, &c.ClientSecretHint, &c.SealedClientSecret,
		&c.ChallengeTimeoutMinutes, &c.DisplayNameTemplate, &c.CredentialType, &secretExpires,
		&c.CertificateChainPEM, &c.SealedCertificateKey, &c.AssertionFormat, &debugUntil, &updated)
	if err == sql.ErrNoRows {
		return nil, opError("sqlite.Connector", notFound("connector"))
	}
	if err == nil {
		c.UpdatedAt, err = parseTime(updated)
	}
	if err == nil {
		c.ClientSecretExpiresAt, err = parseTimePtr(secretExpires)
	}
	if err == nil {
		c.HTTPDebugUntil, err = parseTimePtr(debugUntil)
	}
	if err != nil {
		return nil, opError("sqlite.Connector", dbError(err, "could not read the connector"))
	}
	return &c, nil
}

// PutConnector creates or replaces the connector. c.ID must be empty or
// passkeyd.ConnectorID; SealedClientSecret is stored as given.
func (db *DB) PutConnector(ctx context.Context, c *passkeyd.Connector, ev passkeyd.AuditEvent) error {
	const op = "sqlite.PutConnector"
	if c.ID == "" {
		c.ID = passkeyd.ConnectorID
	}
	if c.ID != passkeyd.ConnectorID {
		return opError(op, passkeyd.Errorf(passkeyd.EInvalid, "connector ID must be %q", passkeyd.ConnectorID))
	}
	return db.write(ctx, op, func(t *txn) error {
		c.UpdatedAt = t.now
		_, err := t.tx.ExecContext(ctx, `INSERT INTO connectors (id, enabled, http_debug, cloud, authority_host,
			graph_url, ca_cert_pem, tenant_id, client_id, has_client_secret, client_secret_hint,
			client_secret_sealed, challenge_timeout_minutes, display_name_template, credential_type,
			client_secret_expires_at, certificate_chain_pem, certificate_key_sealed, assertion_format,
			http_debug_until, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, http_debug = excluded.http_debug,
			cloud = excluded.cloud, authority_host = excluded.authority_host, graph_url = excluded.graph_url,
			ca_cert_pem = excluded.ca_cert_pem, tenant_id = excluded.tenant_id, client_id = excluded.client_id,
			has_client_secret = excluded.has_client_secret, client_secret_hint = excluded.client_secret_hint,
			client_secret_sealed = excluded.client_secret_sealed,
			challenge_timeout_minutes = excluded.challenge_timeout_minutes,
			display_name_template = excluded.display_name_template, credential_type = excluded.credential_type,
			client_secret_expires_at = excluded.client_secret_expires_at,
			certificate_chain_pem = excluded.certificate_chain_pem,
			certificate_key_sealed = excluded.certificate_key_sealed, assertion_format = excluded.assertion_format,
			http_debug_until = excluded.http_debug_until, updated_at = excluded.updated_at`,
			c.ID, c.Enabled, c.HTTPDebug, string(c.Cloud), c.AuthorityHost, c.GraphURL, c.CACertPEM,
			c.TenantID, c.ClientID, c.HasClientSecret, c.ClientSecretHint, nullBytes(c.SealedClientSecret),
			c.ChallengeTimeoutMinutes, c.DisplayNameTemplate, credentialType(c.CredentialType),
			fmtTimePtr(c.ClientSecretExpiresAt), c.CertificateChainPEM, nullBytes(c.SealedCertificateKey),
			c.AssertionFormat, fmtTimePtr(c.HTTPDebugUntil), fmtTime(c.UpdatedAt))
		if err != nil {
			return dbError(err, "could not save the connector")
		}
		t.audit(ev)
		return nil
	})
}

// credentialType stores the zero value as the default, secret.
func credentialType(t passkeyd.CredentialType) string {
	if t == "" {
		return string(passkeyd.CredentialSecret)
	}
	return string(t)
}
