package manager

import (
	"context"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Policy returns one policy.
func (m *Manager) Policy(ctx context.Context, id string) (*passkeyd.Policy, error) {
	return m.store.Policy(ctx, id)
}

// Policies lists every policy.
func (m *Manager) Policies(ctx context.Context) ([]passkeyd.Policy, error) {
	return m.store.Policies(ctx)
}

// UpdatePolicy creates or replaces a policy. Offering a passkey while the
// connector cannot deliver one is allowed (admins stage changes) but
// answered with a warning: enrollment would fail until it is fixed.
func (m *Manager) UpdatePolicy(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
	p.Name = strings.TrimSpace(p.Name)
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	now := m.now()
	old, err := m.store.Policy(ctx, p.ID)
	switch {
	case err == nil:
		p.CreatedAt = old.CreatedAt
	case passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound:
		p.CreatedAt = now
	default:
		return nil, nil, err
	}
	p.UpdatedAt = now
	details := map[string]any{"entra_passkey": p.EntraPasskey, "max_passkeys_per_user": p.MaxPasskeysPerUser}
	if old != nil {
		details["previous_entra_passkey"] = old.EntraPasskey
	}
	err = m.store.PutPolicy(ctx, &p, m.event(ctx, "policy.updated", "policy", p.ID, details))
	m.settings.forget() // also on error: the write may have happened
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if p.EntraPasskey != passkeyd.PolicyOff {
		c, err := m.Connector(ctx)
		if err != nil {
			return nil, nil, err
		}
		if !c.Enabled {
			warnings = append(warnings, "The Entra connector is disabled: passkey enrollment will fail until it is enabled and its Test Connection passes.")
		} else if !c.HasClientSecret {
			warnings = append(warnings, "The Entra connector has no credential: passkey enrollment will fail until a client secret is set.")
		}
	}
	return &p, warnings, nil
}

// effectivePolicy is the user's own policy or the default one.
func (m *Manager) effectivePolicy(ctx context.Context, u *passkeyd.User) (*passkeyd.Policy, error) {
	id := u.PolicyID
	if id == "" {
		id = passkeyd.DefaultPolicyID
	}
	return m.settings.getPolicy(ctx, id, m.store.Policy)
}

// CreatePolicy adds a named policy with a generated ID.
func (m *Manager) CreatePolicy(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
	p.ID = newID()
	return m.UpdatePolicy(ctx, p)
}
