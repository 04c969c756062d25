package client

import (
	"context"
	"net/http"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

// RegisterDevice consumes a one-time invitation code and returns the new
// device's ID and token (shown only here). It sends no Authorization: the
// code is the credential. Use c.WithToken(token) for the device calls.
func (c *Client) RegisterDevice(ctx context.Context, code passkeyd.Secret, info passkeyd.DeviceInfo) (deviceID string, token passkeyd.Secret, err error) {
	in := api.RegisterDevice{Code: code.Reveal(), Name: info.Name, Platform: info.Platform, Model: info.Model}
	var out api.DeviceRegistered
	if err := c.do(ctx, call{method: http.MethodPost, path: "/device/register", in: in, out: &out, want: http.StatusCreated, noAuth: true}); err != nil {
		return "", "", err
	}
	return out.DeviceID, passkeyd.Secret(out.DeviceToken), nil
}

// DeviceStatus returns the calling device's policy, passkeys and next step.
func (c *Client) DeviceStatus(ctx context.Context) (*passkeyd.DeviceStatus, error) {
	var out passkeyd.DeviceStatus
	if err := c.do(ctx, call{method: http.MethodGet, path: "/device/status", out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnrollmentOptions starts a passkey enrollment: Graph's creation options
// for the device's user.
func (c *Client) EnrollmentOptions(ctx context.Context) (*passkeyd.EnrollmentOptions, error) {
	var out passkeyd.EnrollmentOptions
	if err := c.do(ctx, call{method: http.MethodPost, path: "/device/passkeys/options", out: &out, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CompleteEnrollment sends the attested credential of an enrollment and
// returns the passkey registered in Entra.
func (c *Client) CompleteEnrollment(ctx context.Context, enrollmentID string, cred passkeyd.Credential) (*passkeyd.Passkey, error) {
	in := api.CompleteEnrollment{EnrollmentID: enrollmentID, Credential: cred}
	var out passkeyd.Passkey
	if err := c.do(ctx, call{method: http.MethodPost, path: "/device/passkeys", in: in, out: &out, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	return &out, nil
}

// SkipEnrollment declines an optional passkey.
func (c *Client) SkipEnrollment(ctx context.Context) error {
	return c.do(ctx, call{method: http.MethodPost, path: "/device/passkeys/skip", want: http.StatusNoContent})
}

// UnregisterDevice removes the calling device and returns it with the
// passkeys whose revocation was queued.
func (c *Client) UnregisterDevice(ctx context.Context) (*passkeyd.Device, []passkeyd.Passkey, error) {
	var out api.DeviceRemoval
	if err := c.do(ctx, call{method: http.MethodDelete, path: "/device", out: &out, want: http.StatusAccepted}); err != nil {
		return nil, nil, err
	}
	return &out.Device, out.Passkeys, nil
}

// Health calls GET /healthz and returns the server's version.
func (c *Client) Health(ctx context.Context) (version string, err error) {
	var out api.Health
	if err := c.getRoot(ctx, "/healthz", &out); err != nil {
		return "", err
	}
	return out.Version, nil
}

// Ready calls GET /readyz; nil means ready.
func (c *Client) Ready(ctx context.Context) error {
	var out api.Health
	return c.getRoot(ctx, "/readyz", &out)
}
