package manager

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/certs"
)

// The sealed client secret and certificate key are bound to their row and
// column: a ciphertext copied elsewhere does not decrypt.
const (
	secretAAD  = "connectors/" + passkeyd.ConnectorID + "/client_secret"
	certKeyAAD = "connectors/" + passkeyd.ConnectorID + "/certificate_key"
)

// DefaultHTTPDebugPeriod is how long HTTP debug logging stays on once
// enabled: debug logs are verbose and an admin forgets to switch them off.
const DefaultHTTPDebugPeriod = 60 * time.Minute

// maxCAPEM bounds the custom cloud's CA bundle.
const maxCAPEM = 64 << 10

func defaultConnector() *passkeyd.Connector {
	return &passkeyd.Connector{
		ID:                      passkeyd.ConnectorID,
		Cloud:                   passkeyd.CloudGlobal,
		ChallengeTimeoutMinutes: passkeyd.DefaultChallengeTimeoutMinutes,
		DisplayNameTemplate:     passkeyd.DefaultDisplayNameTemplate,
		CredentialType:          passkeyd.CredentialSecret,
	}
}

// Connector returns the connector settings, or the defaults before the
// first save, as stored now (admins read and change them: never cached).
func (m *Manager) Connector(ctx context.Context) (*passkeyd.Connector, error) {
	c, err := m.withDebugExpiry(m.readConnector(ctx))
	if err == nil && c.CertificateChainPEM != "" {
		c.Certificate = certs.Describe([]byte(c.CertificateChainPEM), m.now())
	}
	return c, err
}

// connector is Connector without the certificate description, as read at
// most SettingsCacheTTL ago: what the Graph calls need, on the enrollment
// and revocation paths, which read it for every request.
func (m *Manager) connector(ctx context.Context) (*passkeyd.Connector, error) {
	return m.withDebugExpiry(m.settings.getConnector(ctx, m.readConnector))
}

// readConnector reads the stored connector, or the defaults before the
// first save.
func (m *Manager) readConnector(ctx context.Context) (*passkeyd.Connector, error) {
	c, err := m.store.Connector(ctx)
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return defaultConnector(), nil
	}
	return c, err
}

// withDebugExpiry turns HTTP debug off in c once its period is over (it
// switches itself off).
func (m *Manager) withDebugExpiry(c *passkeyd.Connector, err error) (*passkeyd.Connector, error) {
	if err != nil {
		return nil, err
	}
	if c.HTTPDebug && c.HTTPDebugUntil != nil && !m.now().Before(*c.HTTPDebugUntil) {
		c.HTTPDebug = false
	}
	return c, nil
}

// UpdateConnector replaces the connector settings. A nil ClientSecret keeps
// the stored secret; an empty one clears it.
func (m *Manager) UpdateConnector(ctx context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
	old, err := m.Connector(ctx)
	if err != nil {
		return nil, err
	}
	c := *old
	c.Enabled, c.HTTPDebug, c.Cloud = u.Enabled, u.HTTPDebug, u.Cloud
	c.AuthorityHost = strings.TrimRight(u.AuthorityHost, "/")
	c.GraphURL = strings.TrimRight(u.GraphURL, "/")
	c.CACertPEM = u.CACertPEM
	c.TenantID, c.ClientID = strings.TrimSpace(u.TenantID), strings.TrimSpace(u.ClientID)
	c.ChallengeTimeoutMinutes = u.ChallengeTimeoutMinutes
	if c.ChallengeTimeoutMinutes == 0 {
		c.ChallengeTimeoutMinutes = passkeyd.DefaultChallengeTimeoutMinutes
	}
	c.DisplayNameTemplate = u.DisplayNameTemplate
	if c.DisplayNameTemplate == "" {
		c.DisplayNameTemplate = passkeyd.DefaultDisplayNameTemplate
	}
	if c.Cloud == "" {
		c.Cloud = passkeyd.CloudGlobal
	}
	if c.Cloud != passkeyd.CloudCustom {
		c.AuthorityHost, c.GraphURL, c.CACertPEM = "", "", ""
	}

	// Checked before anything is applied, so that the problem is reported
	// with every other one and nothing is half-saved.
	credFE := credentialCarryOver(old, &c, u)

	changed := map[string]any{}
	now := m.now()
	if err := m.applySecret(&c, u, changed); err != nil {
		return nil, err
	}
	if err := m.applyCertificate(&c, u, changed, now); err != nil {
		return nil, err
	}
	c.AssertionFormat = u.AssertionFormat
	switch {
	case u.CredentialType != "":
		c.CredentialType = u.CredentialType
	case u.ClientCertificate != nil && c.CertificateChainPEM != "" && u.ClientSecret == nil:
		c.CredentialType = passkeyd.CredentialCertificate
	case c.CredentialType == "":
		c.CredentialType = passkeyd.CredentialSecret
	}
	switch {
	case !c.HTTPDebug:
		c.HTTPDebugUntil = nil
	case !old.HTTPDebug || old.HTTPDebugUntil == nil || !now.Before(*old.HTTPDebugUntil):
		until := now.Add(m.httpDebugFor)
		c.HTTPDebugUntil = &until
	}
	fe := credFE
	if c.CACertPEM != "" {
		if msg := checkCAPEM(c.CACertPEM); msg != "" {
			fe.Add("ca_cert_pem", msg)
		}
	}
	if err := c.Validate(); err != nil {
		fe = append(fe, passkeyd.ErrorFields(err)...)
	}
	if err := fe.Err("invalid connector settings"); err != nil {
		return nil, err
	}
	for k, v := range map[string][2]any{
		"enabled": {old.Enabled, c.Enabled}, "http_debug": {old.HTTPDebug, c.HTTPDebug},
		"cloud": {old.Cloud, c.Cloud}, "tenant_id": {old.TenantID, c.TenantID},
		"client_id": {old.ClientID, c.ClientID}, "authority_host": {old.AuthorityHost, c.AuthorityHost},
		"graph_url": {old.GraphURL, c.GraphURL}, "challenge_timeout_minutes": {old.ChallengeTimeoutMinutes, c.ChallengeTimeoutMinutes},
		"display_name_template": {old.DisplayNameTemplate, c.DisplayNameTemplate},
		"ca_cert_pem":           {old.CACertPEM != "", c.CACertPEM != ""},
	} {
		if v[0] != v[1] {
			changed[k] = v[1]
		}
	}
	c.UpdatedAt = now
	c.Certificate = nil // derived on read
	ev := m.event(ctx, "connector.updated", "connector", c.ID, map[string]any{"changed": changed})
	err = m.store.PutConnector(ctx, &c, ev)
	m.settings.forget() // also on error: the write may have happened
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.graph = nil // the next call builds a client from the new settings
	m.mu.Unlock()
	return m.Connector(ctx)
}

// endpoints are where the connector presents its credential (the
// authority host: token requests carry the client secret or a signed
// assertion) and sends the tokens it gets (Graph).
func endpoints(c *passkeyd.Connector) (authority, graph string) {
	if c.Cloud == passkeyd.CloudCustom {
		return c.AuthorityHost, c.GraphURL
	}
	authority, graph, _ = c.Cloud.Endpoints()
	return authority, graph
}

// destinationChanges names the settings that differ between old and c and
// decide who receives the credential or the tokens: the cloud, a custom
// authority host or Graph URL, the CA trusted for them, and the tenant.
func destinationChanges(old, c *passkeyd.Connector) []string {
	var out []string
	oa, og := endpoints(old)
	na, ng := endpoints(c)
	if old.Cloud != c.Cloud {
		out = append(out, "cloud")
	}
	if old.Cloud == c.Cloud && !strings.EqualFold(oa, na) {
		out = append(out, "authority_host")
	}
	if old.Cloud == c.Cloud && !strings.EqualFold(og, ng) {
		out = append(out, "graph_url")
	}
	if old.CACertPEM != c.CACertPEM && c.Cloud == passkeyd.CloudCustom {
		out = append(out, "ca_cert_pem")
	}
	if !strings.EqualFold(old.TenantID, c.TenantID) {
		out = append(out, "tenant_id")
	}
	return out
}

// credentialCarryOver refuses to keep a stored credential when the update
// changes where it would be presented. Without this, whoever may change
// the connector could point it at a sign-in server of their own and have
// Test Connection (or any Graph call) send it the stored client secret.
// Each stored credential must be given again in the same update, or
// cleared.
func credentialCarryOver(old, c *passkeyd.Connector, u passkeyd.ConnectorUpdate) passkeyd.FieldErrors {
	var fe passkeyd.FieldErrors
	changes := destinationChanges(old, c)
	if len(changes) == 0 {
		return fe
	}
	why := "the update changes " + strings.Join(changes, ", ") + ", which decide where the connector signs in"
	if old.HasClientSecret && u.ClientSecret == nil {
		fe.Add("client_secret", "required: "+why+", and the stored client secret is never sent to a new destination; give the secret again in this update, or clear it")
	}
	if len(old.SealedCertificateKey) > 0 && u.ClientCertificate == nil {
		fe.Add("client_certificate", "required: "+why+", and the stored certificate is never used with a new destination; upload the certificate and key again in this update, or remove it")
	}
	return fe
}

// applySecret replaces or clears the client secret as u asks.
func (m *Manager) applySecret(c *passkeyd.Connector, u passkeyd.ConnectorUpdate, changed map[string]any) error {
	if u.ClientSecretExpiresAt != nil {
		exp := u.ClientSecretExpiresAt.UTC()
		c.ClientSecretExpiresAt = &exp
		changed["client_secret_expires_at"] = exp
	}
	if u.ClientSecret == nil {
		return nil
	}
	s := passkeyd.Secret(strings.TrimSpace(u.ClientSecret.Reveal()))
	if s == "" {
		c.HasClientSecret, c.ClientSecretHint, c.SealedClientSecret, c.ClientSecretExpiresAt = false, "", nil, nil
		changed["client_secret"] = "cleared"
		return nil
	}
	if len(s) > 1024 || !passkeyd.Printable(s.Reveal()) {
		return fieldError("client_secret", "must be at most 1024 printable characters: paste the secret's Value")
	}
	sealed, err := m.sealer.Seal([]byte(s.Reveal()), secretAAD)
	if err != nil {
		return passkeyd.WrapError(passkeyd.EInternal, err, "cannot seal the client secret")
	}
	c.HasClientSecret, c.ClientSecretHint, c.SealedClientSecret = true, s.Hint(), sealed
	if u.ClientSecretExpiresAt == nil {
		c.ClientSecretExpiresAt = nil // the old date belonged to the old secret
	}
	changed["client_secret"] = "replaced"
	return nil
}

// applyCertificate validates and stores, or clears, the client
// certificate as u asks. An invalid upload is refused with every problem.
func (m *Manager) applyCertificate(c *passkeyd.Connector, u passkeyd.ConnectorUpdate, changed map[string]any, now time.Time) error {
	up := u.ClientCertificate
	if up == nil {
		return nil
	}
	if up.CertificatePEM == "" && up.PrivateKeyPEM == "" && len(up.PKCS12) == 0 {
		c.CertificateChainPEM, c.SealedCertificateKey = "", nil
		changed["client_certificate"] = "cleared"
		return nil
	}
	cert, rep := certs.Validate(*up, now)
	if !rep.Valid {
		var fe passkeyd.FieldErrors
		for _, e := range rep.Errors {
			fe.Add("client_certificate", e)
		}
		return fe.Err("invalid client certificate")
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.Key)
	if err != nil {
		return passkeyd.WrapError(passkeyd.EInvalid, err, "the private key cannot be stored")
	}
	sealed, err := m.sealer.Seal(der, certKeyAAD)
	if err != nil {
		return passkeyd.WrapError(passkeyd.EInternal, err, "cannot seal the certificate key")
	}
	c.CertificateChainPEM, c.SealedCertificateKey = string(certs.EncodeChainPEM(cert.Chain)), sealed
	changed["client_certificate"] = map[string]any{"thumbprint_sha1": rep.ThumbprintSHA1, "not_after": rep.NotAfter}
	return nil
}

// ValidateCertificate checks an upload, or the stored certificate when up
// is empty, and saves nothing.
func (m *Manager) ValidateCertificate(ctx context.Context, up passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error) {
	if up.CertificatePEM != "" || up.PrivateKeyPEM != "" || len(up.PKCS12) > 0 {
		_, rep := certs.Validate(up, m.now())
		return rep, nil
	}
	c, err := m.Connector(ctx)
	if err != nil {
		return nil, err
	}
	if c.CertificateChainPEM == "" {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "no certificate was uploaded and none is stored")
	}
	cert, err := m.storedCertificate(c)
	if err != nil {
		return nil, err
	}
	return certs.Check(cert, m.now()), nil
}

// storedCertificate unseals the connector's certificate credential.
func (m *Manager) storedCertificate(c *passkeyd.Connector) (*passkeyd.ClientCertificate, error) {
	der, err := m.sealer.Open(c.SealedCertificateKey, certKeyAAD)
	if err != nil {
		return nil, passkeyd.WrapError(passkeyd.EInternal, err, "cannot unseal the certificate key (was the master key changed?)")
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, passkeyd.WrapError(passkeyd.EInternal, err, "the stored certificate key is corrupt")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, passkeyd.Errorf(passkeyd.EInternal, "the stored certificate key cannot sign")
	}
	chain, err := certs.ParseChainPEM([]byte(c.CertificateChainPEM))
	if err != nil {
		return nil, passkeyd.WrapError(passkeyd.EInternal, err, "the stored certificate is corrupt")
	}
	return &passkeyd.ClientCertificate{Chain: chain, Key: signer, LegacyRS256: c.AssertionFormat == passkeyd.AssertionRS256}, nil
}

// checkCAPEM returns a problem with a CA bundle, or "".
func checkCAPEM(s string) string {
	if len(s) > maxCAPEM {
		return "must be at most 64 KiB"
	}
	rest, n := []byte(s), 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return "must contain only CERTIFICATE PEM blocks, found " + b.Type
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return "holds a certificate that cannot be parsed"
		}
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return "must be PEM-encoded certificates"
	}
	return ""
}

func fieldError(field, msg string) error {
	var fe passkeyd.FieldErrors
	fe.Add(field, msg)
	return fe.Err("invalid input")
}

// graphConfig builds the Graph client configuration from c, unsealing the
// secret.
func (m *Manager) graphConfig(c *passkeyd.Connector) (passkeyd.GraphConfig, error) {
	cfg := passkeyd.GraphConfig{
		TenantID:  c.TenantID,
		ClientID:  c.ClientID,
		HTTPDebug: c.HTTPDebug, // Connector() already switched an expired one off
		Timeout:   30 * time.Second,
	}
	if c.Cloud == passkeyd.CloudCustom {
		cfg.AuthorityHost, cfg.GraphURL = c.AuthorityHost, c.GraphURL
		cfg.RootCAsPEM = []byte(c.CACertPEM)
	} else {
		cfg.AuthorityHost, cfg.GraphURL, _ = c.Cloud.Endpoints()
	}
	if c.CredentialType == passkeyd.CredentialCertificate {
		cert, err := m.storedCertificate(c)
		if err != nil {
			return cfg, err
		}
		cfg.Certificate = cert
		return cfg, nil
	}
	if c.HasClientSecret {
		pt, err := m.sealer.Open(c.SealedClientSecret, secretAAD)
		if err != nil {
			return cfg, passkeyd.WrapError(passkeyd.EInternal, err, "cannot unseal the client secret (was the master key changed?)")
		}
		cfg.ClientSecret = passkeyd.Secret(pt)
	}
	return cfg, nil
}

// graphClient returns a client for the current connector, building one
// when the settings changed. It fails with EUnavailable when the connector
// is disabled or incomplete.
func (m *Manager) graphClient(ctx context.Context) (passkeyd.GraphClient, *passkeyd.Connector, error) {
	c, err := m.connector(ctx)
	if err != nil {
		return nil, nil, err
	}
	return m.clientFor(c)
}

// clientFor is graphClient for a connector the caller has just read.
func (m *Manager) clientFor(c *passkeyd.Connector) (passkeyd.GraphClient, *passkeyd.Connector, error) {
	if !c.Enabled {
		return nil, c, passkeyd.Errorf(passkeyd.EUnavailable, "the Entra connector is disabled")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.graph != nil && m.graphFrom.Equal(c.UpdatedAt) && m.graphDebug == c.HTTPDebug {
		return m.graph, c, nil
	}
	cfg, err := m.graphConfig(c)
	if err != nil {
		return nil, c, err
	}
	g, err := m.newGraph(cfg)
	if err != nil {
		return nil, c, passkeyd.WrapError(passkeyd.EUnavailable, err, "the Entra connector settings are not usable: %v", err)
	}
	m.graph, m.graphFrom, m.graphDebug = g, c.UpdatedAt, c.HTTPDebug
	return g, c, nil
}
