package manager

import (
	"context"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// API token prefixes make leaked tokens recognisable to secret scanners.
const (
	apiTokenPrefix    = "pkd_api_"
	deviceTokenPrefix = "pkd_dev_"
)

// CreateAPIToken creates an API token; the token is returned once.
func (m *Manager) CreateAPIToken(ctx context.Context, name string, role passkeyd.Role, ttl time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error) {
	tok := newToken(apiTokenPrefix)
	t, err := m.putAPIToken(ctx, name, role, ttl, tok)
	return t, tok, err
}

// EnsureBootstrapToken makes tok an admin token if no token with its hash
// exists yet (PASSKEYD_BOOTSTRAP_TOKEN, for automation and tests).
func (m *Manager) EnsureBootstrapToken(ctx context.Context, tok passkeyd.Secret) error {
	if len(tok.Reveal()) < 32 {
		return passkeyd.Errorf(passkeyd.EInvalid, "the bootstrap token must be at least 32 characters")
	}
	if _, err := m.store.APITokenByHash(ctx, hashToken(tok)); err == nil {
		return nil
	} else if passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
		return err
	}
	_, err := m.putAPIToken(ctx, "bootstrap", passkeyd.RoleAdmin, 0, tok)
	return err
}

// HasAPITokens reports whether any API token exists (first start creates one).
func (m *Manager) HasAPITokens(ctx context.Context) (bool, error) {
	ts, err := m.store.APITokens(ctx)
	return len(ts) > 0, err
}

func (m *Manager) putAPIToken(ctx context.Context, name string, role passkeyd.Role, ttl time.Duration, tok passkeyd.Secret) (*passkeyd.APIToken, error) {
	name = strings.TrimSpace(name)
	var fe passkeyd.FieldErrors
	if name == "" || len(name) > 64 || !passkeyd.Printable(name) {
		fe.Add("name", "must be 1 to 64 printable characters")
	}
	if !role.Valid() {
		fe.Add("role", `must be "admin", "operator" or "auditor"`)
	}
	if ttl < 0 || ttl > 2*366*24*time.Hour {
		fe.Add("ttl_seconds", "must be between 0 (no expiry) and two years")
	}
	if err := fe.Err("invalid token"); err != nil {
		return nil, err
	}
	now := m.now()
	s := tok.Reveal()
	t := &passkeyd.APIToken{ID: newID(), Name: name, Hash: hashToken(tok), Last8: s[len(s)-8:], Role: role, CreatedAt: now}
	if ttl > 0 {
		exp := now.Add(ttl)
		t.ExpiresAt = &exp
	}
	ev := m.event(ctx, "token.created", "api_token", t.ID, map[string]any{"name": name, "role": role})
	if err := m.store.CreateAPIToken(ctx, t, ev); err != nil {
		return nil, err
	}
	return t, nil
}

// APITokens lists API tokens (never their values).
func (m *Manager) APITokens(ctx context.Context) ([]passkeyd.APIToken, error) {
	return m.store.APITokens(ctx)
}

// DeleteAPIToken revokes an API token.
func (m *Manager) DeleteAPIToken(ctx context.Context, id string) error {
	return m.store.DeleteAPIToken(ctx, id, m.event(ctx, "token.deleted", "api_token", id, nil))
}

// AuthenticateToken returns the unexpired API token whose value is tok.
func (m *Manager) AuthenticateToken(ctx context.Context, tok passkeyd.Secret) (*passkeyd.APIToken, error) {
	if n := len(tok.Reveal()); n < 16 || n > 512 {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "invalid API token")
	}
	t, err := m.store.APITokenByHash(ctx, hashToken(tok))
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "invalid API token")
	}
	if err != nil {
		return nil, err
	}
	if t.ExpiresAt != nil && !m.now().Before(*t.ExpiresAt) {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "the API token has expired")
	}
	return t, nil
}
