package manager

import (
	"context"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Limits on failed invitation redemptions (POST /device/register needs no
// credential but a code, so anyone can fail it). They are counted in
// memory, per node.
const (
	// RegisterFailuresPerClient failed codes from one client address (an
	// IPv6 /64) within RegisterFailureWindow make further registrations
	// from it wait until the window ends.
	RegisterFailuresPerClient = 10
	RegisterFailureWindow     = 15 * time.Minute
	// RegisterFailureAuditBudget bounds the audit events failed
	// redemptions write per node and window, whatever the number of
	// clients; beyond it they are logged only, and one event says so.
	RegisterFailureAuditBudget = 200
	// maxTrackedClients bounds the limiter's memory.
	maxTrackedClients = 10000
)

// RegisterDevice consumes a one-time invitation code and registers the
// device for the invited user. The device token is returned once.
//
// A failed redemption (unknown, used or expired code) is logged, and
// audited within limits: a client with RegisterFailuresPerClient failures
// in the window is refused (ERateLimited) before its code is looked at,
// with one audit event when it reaches the limit, and at most
// RegisterFailureAuditBudget failures per window and node are audited.
func (m *Manager) RegisterDevice(ctx context.Context, code passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
	if n := len(code.Reveal()); n == 0 || n > 64 {
		return nil, "", fieldError("code", "must be the invitation code, e.g. ABCD-EFGH-JKMN-PQRS-TVWX")
	}
	now := m.now()
	client := clientKey(passkeyd.ClientIPFrom(ctx))
	if ok, wait := m.regFailures.blocked(client, now); ok {
		m.log.WarnContext(ctx, "device registration refused: too many failed invitation codes from this client",
			"client", client, "retry_after", wait.Round(time.Second).String())
		return nil, "", &rateLimited{passkeyd.Errorf(passkeyd.ERateLimited,
			"too many failed invitation codes from this address; try again later"), wait}
	}
	d := &passkeyd.Device{
		ID:        newID(),
		Name:      strings.TrimSpace(info.Name),
		Platform:  strings.TrimSpace(info.Platform),
		Model:     strings.TrimSpace(info.Model),
		State:     passkeyd.DeviceActive,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := d.Validate(); err != nil {
		return nil, "", err
	}
	tok := newToken(deviceTokenPrefix)
	d.TokenHash = hashToken(tok)
	ctx = passkeyd.WithActor(ctx, passkeyd.Actor{Kind: "device", ID: d.ID})
	ev := m.event(ctx, "device.registered", "device", d.ID, map[string]any{"name": d.Name, "platform": d.Platform, "model": d.Model})
	if err := m.store.RegisterDevice(ctx, hashCode(code), now, d, ev); err != nil {
		if c := passkeyd.ErrorCodeOf(err); c == passkeyd.ENotFound || c == passkeyd.EGone {
			m.registrationFailed(ctx, client, now, passkeyd.ErrorMessage(err))
			if c == passkeyd.ENotFound {
				return nil, "", passkeyd.Errorf(passkeyd.EUnauthorized, "unknown invitation code")
			}
		}
		return nil, "", err
	}
	return d, tok, nil
}

// registrationFailed logs a failed redemption and audits it within the
// limits of RegisterDevice.
func (m *Manager) registrationFailed(ctx context.Context, client string, now time.Time, reason string) {
	n := m.regFailures.fail(client, now)
	m.log.InfoContext(ctx, "device registration failed", "reason", reason, "client", client, "client_failures", n)
	var evs []passkeyd.AuditEvent
	if n <= RegisterFailuresPerClient {
		evs = append(evs, failure(m.event(ctx, "device.registration_failed", "device", "", nil), reason))
	}
	if n == RegisterFailuresPerClient {
		evs = append(evs, failure(m.event(ctx, "device.registration_rate_limited", "device", "",
			map[string]any{"failures": n, "window_minutes": int(RegisterFailureWindow / time.Minute)}),
			"too many failed invitation codes from one client: it is refused until the window ends"))
	}
	var out []passkeyd.AuditEvent
	for _, ev := range evs {
		switch b := m.regAudit.fail("", now); {
		case b <= RegisterFailureAuditBudget:
			out = append(out, ev)
		case b == RegisterFailureAuditBudget+1:
			out = append(out, failure(m.event(ctx, "device.registration_audit_suppressed", "device", "",
				map[string]any{"budget": RegisterFailureAuditBudget, "window_minutes": int(RegisterFailureWindow / time.Minute)}),
				"too many failed device registrations: further failures in this window are only logged"))
		}
	}
	if len(out) > 0 {
		m.audit(ctx, out...)
	} else if len(evs) > 0 {
		m.log.WarnContext(ctx, "device registration failure not audited: audit budget for failed registrations used up", "client", client)
	}
}

// AuthenticateDevice returns the active device whose token is tok.
func (m *Manager) AuthenticateDevice(ctx context.Context, tok passkeyd.Secret) (*passkeyd.Device, error) {
	if n := len(tok.Reveal()); n < 16 || n > 512 {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "invalid device token")
	}
	d, err := m.store.DeviceByTokenHash(ctx, hashToken(tok))
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "invalid device token")
	}
	if err != nil {
		return nil, err
	}
	if d.State != passkeyd.DeviceActive {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "this device was removed")
	}
	return d, nil
}

// DeviceStatus tells a device its policy, its passkeys and what to do next.
func (m *Manager) DeviceStatus(ctx context.Context, deviceID string) (*passkeyd.DeviceStatus, error) {
	d, u, p, err := m.deviceContext(ctx, deviceID)
	if err != nil {
		return nil, err
	}
	pks, err := m.store.Passkeys(ctx, passkeyd.PasskeyFilter{DeviceID: d.ID, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	st := &passkeyd.DeviceStatus{Device: *d, Policy: p.EntraPasskey, Passkeys: nonNil(pks), NextStep: passkeyd.NextDone}
	hasActive := false
	for _, pk := range pks {
		if pk.State == passkeyd.PasskeyActive || pk.State == passkeyd.PasskeyRegistering || pk.State == passkeyd.PasskeyUnknown {
			hasActive = true
		}
	}
	_ = u
	switch {
	case hasActive || p.EntraPasskey == passkeyd.PolicyOff:
	case p.EntraPasskey == passkeyd.PolicyRequired:
		st.NextStep = passkeyd.NextEnrollPasskey
	case d.EnrollmentSkippedAt == nil:
		st.NextStep = passkeyd.NextMayEnroll
	}
	return st, nil
}

// SkipEnrollment records that the user declined the optional passkey.
func (m *Manager) SkipEnrollment(ctx context.Context, deviceID string) error {
	d, _, p, err := m.deviceContext(ctx, deviceID)
	if err != nil {
		return err
	}
	if p.EntraPasskey != passkeyd.PolicyOptional {
		return passkeyd.Errorf(passkeyd.EConflict, "the policy is %q: only an optional passkey may be skipped", p.EntraPasskey)
	}
	return m.store.SkipEnrollment(ctx, d.ID, m.now(), m.event(ctx, "enrollment.skipped", "device", d.ID, nil))
}

// deviceContext loads an active device with its user and effective policy.
func (m *Manager) deviceContext(ctx context.Context, deviceID string) (*passkeyd.Device, *passkeyd.User, *passkeyd.Policy, error) {
	var d *passkeyd.Device
	if ad := passkeyd.DeviceFrom(ctx); ad != nil && ad.ID == deviceID {
		// The request's authentication read it a moment ago.
		dc := *ad
		d = &dc
	} else {
		var err error
		if d, err = m.store.Device(ctx, deviceID); err != nil {
			return nil, nil, nil, err
		}
	}
	if d.State != passkeyd.DeviceActive {
		return nil, nil, nil, passkeyd.Errorf(passkeyd.EGone, "this device was removed")
	}
	u, err := m.store.User(ctx, d.UserID)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := m.effectivePolicy(ctx, u)
	if err != nil {
		return nil, nil, nil, err
	}
	return d, u, p, nil
}

// Devices lists devices.
func (m *Manager) Devices(ctx context.Context, f passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
	return m.store.Devices(ctx, f)
}

// Device returns one device.
func (m *Manager) Device(ctx context.Context, id string) (*passkeyd.Device, error) {
	return m.store.Device(ctx, id)
}

// RemoveDevice removes a device; each of its passkeys is queued for
// revocation in the same transaction, so none can be forgotten.
func (m *Manager) RemoveDevice(ctx context.Context, id string) (*passkeyd.Device, []passkeyd.Passkey, error) {
	d, pks, err := m.store.RemoveDevice(ctx, id, m.now(), m.event(ctx, "device.removed", "device", id, nil))
	if err != nil {
		return nil, nil, err
	}
	return d, nonNil(pks), nil
}

// Passkeys lists passkeys.
func (m *Manager) Passkeys(ctx context.Context, f passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
	return m.store.Passkeys(ctx, f)
}

// Passkey returns one passkey.
func (m *Manager) Passkey(ctx context.Context, id string) (*passkeyd.Passkey, error) {
	return m.store.Passkey(ctx, id)
}
