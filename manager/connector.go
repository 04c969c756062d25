package manager

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// secretAAD binds the sealed client secret to its row and column.
const secretAAD = "connectors/" + passkeyd.ConnectorID + "/client_secret"

// maxCAPEM bounds the custom cloud's CA bundle.
const maxCAPEM = 64 << 10

func defaultConnector() *passkeyd.Connector {
	return &passkeyd.Connector{
		ID:                      passkeyd.ConnectorID,
		Cloud:                   passkeyd.CloudGlobal,
		ChallengeTimeoutMinutes: passkeyd.DefaultChallengeTimeoutMinutes,
		DisplayNameTemplate:     passkeyd.DefaultDisplayNameTemplate,
	}
}

// Connector returns the connector settings, or the defaults before the
// first save.
func (m *Manager) Connector(ctx context.Context) (*passkeyd.Connector, error) {
	c, err := m.store.Connector(ctx)
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return defaultConnector(), nil
	}
	return c, err
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

	changed := map[string]any{}
	if u.ClientSecret != nil {
		s := passkeyd.Secret(strings.TrimSpace(u.ClientSecret.Reveal()))
		if s == "" {
			c.HasClientSecret, c.ClientSecretHint, c.SealedClientSecret = false, "", nil
			changed["client_secret"] = "cleared"
		} else {
			if len(s) > 1024 {
				return nil, fieldError("client_secret", "must be at most 1024 characters")
			}
			sealed, err := m.sealer.Seal([]byte(s.Reveal()), secretAAD)
			if err != nil {
				return nil, passkeyd.WrapError(passkeyd.EInternal, err, "cannot seal the client secret")
			}
			c.HasClientSecret, c.ClientSecretHint, c.SealedClientSecret = true, s.Hint(), sealed
			changed["client_secret"] = "replaced"
		}
	}
	var fe passkeyd.FieldErrors
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
	c.UpdatedAt = m.now()
	ev := m.event(ctx, "connector.updated", "connector", c.ID, map[string]any{"changed": changed})
	if err := m.store.PutConnector(ctx, &c, ev); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.graph = nil // the next call builds a client from the new settings
	m.mu.Unlock()
	return &c, nil
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
		HTTPDebug: c.HTTPDebug,
		Timeout:   30 * time.Second,
	}
	if c.Cloud == passkeyd.CloudCustom {
		cfg.AuthorityHost, cfg.GraphURL = c.AuthorityHost, c.GraphURL
		cfg.RootCAsPEM = []byte(c.CACertPEM)
	} else {
		cfg.AuthorityHost, cfg.GraphURL, _ = c.Cloud.Endpoints()
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
	c, err := m.Connector(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !c.Enabled {
		return nil, c, passkeyd.Errorf(passkeyd.EUnavailable, "the Entra connector is disabled")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.graph != nil && m.graphFrom.Equal(c.UpdatedAt) {
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
	m.graph, m.graphFrom = g, c.UpdatedAt
	return g, c, nil
}
