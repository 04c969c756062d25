package manager

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Invitation lifetimes.
const (
	MinInvitationTTL = 5 * time.Minute
	MaxInvitationTTL = 30 * 24 * time.Hour
)

// CreateUser adds a user that devices may be registered for.
func (m *Manager) CreateUser(ctx context.Context, u passkeyd.User) (*passkeyd.User, error) {
	u.UPN = strings.TrimSpace(u.UPN)
	u.DisplayName = strings.TrimSpace(u.DisplayName)
	u.EntraObjectID = strings.ToLower(strings.TrimSpace(u.EntraObjectID))
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if u.DisplayName != "" && !passkeyd.Printable(u.DisplayName) {
		return nil, fieldError("display_name", "must not contain control characters")
	}
	if u.PolicyID != "" {
		if _, err := m.store.Policy(ctx, u.PolicyID); err != nil {
			if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
				return nil, fieldError("policy_id", "no such policy")
			}
			return nil, err
		}
	}
	u.ID = newID()
	u.CreatedAt, u.UpdatedAt = m.now(), m.now()
	ev := m.event(ctx, "user.created", "user", u.ID, map[string]any{"upn": u.UPN})
	if err := m.store.CreateUser(ctx, &u, ev); err != nil {
		return nil, err
	}
	return &u, nil
}

// Users lists users.
func (m *Manager) Users(ctx context.Context, f passkeyd.UserFilter) ([]passkeyd.User, error) {
	return m.store.Users(ctx, f)
}

// UserDetail returns a user with its effective policy, devices and passkeys.
func (m *Manager) UserDetail(ctx context.Context, id string) (*passkeyd.UserDetail, error) {
	u, err := m.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := m.effectivePolicy(ctx, u)
	if err != nil {
		return nil, err
	}
	devs, err := m.store.Devices(ctx, passkeyd.DeviceFilter{UserID: id, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	pks, err := m.store.Passkeys(ctx, passkeyd.PasskeyFilter{UserID: id, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	return &passkeyd.UserDetail{User: *u, EffectivePolicy: *p, Devices: nonNil(devs), Passkeys: nonNil(pks)}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CreateInvitation issues a one-time code with which the user registers a
// device. The code is returned once; only its hash is stored.
func (m *Manager) CreateInvitation(ctx context.Context, userID string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
	if ttl == 0 {
		ttl = m.invTTL
	}
	if ttl < MinInvitationTTL || ttl > MaxInvitationTTL {
		return nil, "", fieldError("ttl_seconds", "must be between 5 minutes and 30 days")
	}
	if _, err := m.store.User(ctx, userID); err != nil {
		return nil, "", err
	}
	code := newInvitationCode()
	now := m.now()
	inv := &passkeyd.Invitation{
		ID:        newID(),
		UserID:    userID,
		CodeHash:  hashCode(code),
		ExpiresAt: now.Add(ttl),
		CreatedAt: now,
	}
	ev := m.event(ctx, "invitation.created", "user", userID, map[string]any{"invitation_id": inv.ID, "expires_at": inv.ExpiresAt})
	if err := m.store.CreateInvitation(ctx, inv, ev); err != nil {
		return nil, "", err
	}
	return inv, code, nil
}

// codeAlphabet is Crockford's base32: no I, L, O or U, so codes read aloud
// or typed from a screen are not misread.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newInvitationCode returns 20 random symbols (100 bits) in groups of four.
func newInvitationCode() passkeyd.Secret {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(codeAlphabet[int(c)%32])
	}
	return passkeyd.Secret(s.String())
}

// hashCode normalises a typed code (case, dashes, spaces, look-alike
// letters) and hashes it.
func hashCode(code passkeyd.Secret) []byte {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ':
			return -1
		case 'O', 'o':
			return '0'
		case 'I', 'i', 'L', 'l':
			return '1'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code.Reveal())
	h := sha256.Sum256([]byte("passkeyd-invitation:" + norm))
	return h[:]
}

// UpdateUser changes a user's display name and assigned policy.
func (m *Manager) UpdateUser(ctx context.Context, id string, upd passkeyd.UserUpdate) (*passkeyd.User, error) {
	u, err := m.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	var fe passkeyd.FieldErrors
	name := strings.TrimSpace(upd.DisplayName)
	if len([]rune(name)) > 256 || !passkeyd.Printable(name) {
		fe.Add("display_name", "must be at most 256 printable characters")
	}
	if upd.PolicyID != "" && upd.PolicyID != passkeyd.DefaultPolicyID && !passkeyd.IsGUID(upd.PolicyID) {
		fe.Add("policy_id", `must be "default" or a policy ID`)
	}
	if err := fe.Err("invalid user"); err != nil {
		return nil, err
	}
	if upd.PolicyID == passkeyd.DefaultPolicyID {
		upd.PolicyID = ""
	}
	old := u.PolicyID
	u.DisplayName, u.PolicyID = name, upd.PolicyID
	ev := m.event(ctx, "user.updated", "user", u.ID, map[string]any{"policy_id": orDefaultPolicy(u.PolicyID), "previous_policy_id": orDefaultPolicy(old)})
	if err := m.store.UpdateUser(ctx, u, ev); err != nil {
		return nil, err
	}
	return u, nil
}

func orDefaultPolicy(id string) string {
	if id == "" {
		return passkeyd.DefaultPolicyID
	}
	return id
}
