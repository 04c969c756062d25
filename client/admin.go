package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

const connectorPath = "/connectors/" + passkeyd.ConnectorID

// Connector returns the connector settings (never the secret).
func (c *Client) Connector(ctx context.Context) (*passkeyd.Connector, error) {
	var out passkeyd.Connector
	if err := c.do(ctx, call{method: http.MethodGet, path: connectorPath, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateConnector replaces the connector settings; a nil ClientSecret keeps
// the stored one.
func (c *Client) UpdateConnector(ctx context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
	var out passkeyd.Connector
	if err := c.do(ctx, call{method: http.MethodPut, path: connectorPath, in: api.NewConnectorUpdate(u), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// TestConnection runs the connector diagnosis; opts.User adds a dry run
// of enrollment for that user.
func (c *Client) TestConnection(ctx context.Context, opts passkeyd.TestOptions) (*passkeyd.ConnectionReport, error) {
	var out passkeyd.ConnectionReport
	if err := c.do(ctx, call{method: http.MethodPost, path: connectorPath + "/test", in: opts, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ValidateCertificate checks a certificate upload, or the stored
// certificate when up is empty, without saving anything.
func (c *Client) ValidateCertificate(ctx context.Context, up passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error) {
	var out passkeyd.CertificateReport
	if err := c.do(ctx, call{method: http.MethodPost, path: connectorPath + "/validate-certificate", in: api.NewCertificateUpload(up), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Policies lists the policies.
func (c *Client) Policies(ctx context.Context) ([]passkeyd.Policy, error) {
	var out api.List[passkeyd.Policy]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/policies", out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Policy returns one policy.
func (c *Client) Policy(ctx context.Context, id string) (*passkeyd.Policy, error) {
	var out passkeyd.Policy
	if err := c.do(ctx, call{method: http.MethodGet, path: "/policies/" + esc(id), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdatePolicy saves p (by p.ID) and returns it with warnings saying when
// the setting cannot work yet.
func (c *Client) UpdatePolicy(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
	in := api.PolicyUpdate{Name: p.Name, EntraPasskey: p.EntraPasskey, MaxPasskeysPerUser: p.MaxPasskeysPerUser}
	var out api.PolicyResult
	if err := c.do(ctx, call{method: http.MethodPut, path: "/policies/" + esc(p.ID), in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, nil, err
	}
	return &out.Policy, out.Warnings, nil
}

// CreateUser creates u (UPN, object ID, display name, policy).
func (c *Client) CreateUser(ctx context.Context, u passkeyd.User) (*passkeyd.User, error) {
	in := api.CreateUser{UPN: u.UPN, EntraObjectID: u.EntraObjectID, DisplayName: u.DisplayName, PolicyID: u.PolicyID}
	var out passkeyd.User
	if err := c.do(ctx, call{method: http.MethodPost, path: "/users", in: in, out: &out, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	return &out, nil
}

// User returns a user with its devices, passkeys and effective policy.
func (c *Client) User(ctx context.Context, id string) (*passkeyd.UserDetail, error) {
	var out passkeyd.UserDetail
	if err := c.do(ctx, call{method: http.MethodGet, path: "/users/" + esc(id), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Users lists users; next is the cursor of the next page, "" on the last.
func (c *Client) Users(ctx context.Context, f passkeyd.UserFilter) (users []passkeyd.User, next string, err error) {
	q := url.Values{}
	setIf(q, "query", f.Query)
	pageQuery(q, f.Page)
	var out api.List[passkeyd.User]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/users", query: q, out: &out, want: http.StatusOK}); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextCursor, nil
}

// CreateInvitation issues a one-time registration code for the user,
// valid for ttl (0: the server's default of 24 hours). The code is
// returned only here.
func (c *Client) CreateInvitation(ctx context.Context, userID string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
	out, err := c.createInvitation(ctx, userID, ttl, false)
	if err != nil {
		return nil, "", err
	}
	return &out.Invitation, passkeyd.Secret(out.Code), nil
}

// CreateInvitationQR is CreateInvitation that also returns the code as a
// QR code PNG image.
func (c *Client) CreateInvitationQR(ctx context.Context, userID string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, []byte, error) {
	out, err := c.createInvitation(ctx, userID, ttl, true)
	if err != nil {
		return nil, "", nil, err
	}
	png, err := base64.StdEncoding.DecodeString(out.QRPNGBase64)
	if err != nil {
		// The invitation exists: hand back the code even without image.
		return &out.Invitation, passkeyd.Secret(out.Code), nil, fmt.Errorf("client: decoding the QR code: %w", err)
	}
	return &out.Invitation, passkeyd.Secret(out.Code), png, nil
}

func (c *Client) createInvitation(ctx context.Context, userID string, ttl time.Duration, qr bool) (*api.InvitationCreated, error) {
	if ttl < 0 || ttl%time.Second != 0 {
		return nil, fmt.Errorf("client: invitation TTL %v must be zero (the default) or a whole number of seconds", ttl)
	}
	q := url.Values{}
	if qr {
		q.Set("qr", "1")
	}
	var out api.InvitationCreated
	err := c.do(ctx, call{method: http.MethodPost, path: "/users/" + esc(userID) + "/invitations", query: q,
		in: api.CreateInvitation{TTLSeconds: int64(ttl / time.Second)}, out: &out, want: http.StatusCreated})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Devices lists devices; next is the cursor of the next page.
func (c *Client) Devices(ctx context.Context, f passkeyd.DeviceFilter) (devices []passkeyd.Device, next string, err error) {
	q := url.Values{}
	setIf(q, "user_id", f.UserID)
	setIf(q, "state", string(f.State))
	pageQuery(q, f.Page)
	var out api.List[passkeyd.Device]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/devices", query: q, out: &out, want: http.StatusOK}); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextCursor, nil
}

// Device returns one device.
func (c *Client) Device(ctx context.Context, id string) (*passkeyd.Device, error) {
	var out passkeyd.Device
	if err := c.do(ctx, call{method: http.MethodGet, path: "/devices/" + esc(id), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveDevice removes a device and returns it with the passkeys whose
// revocation in Entra was queued.
func (c *Client) RemoveDevice(ctx context.Context, id string) (*passkeyd.Device, []passkeyd.Passkey, error) {
	var out api.DeviceRemoval
	if err := c.do(ctx, call{method: http.MethodDelete, path: "/devices/" + esc(id), out: &out, want: http.StatusAccepted}); err != nil {
		return nil, nil, err
	}
	return &out.Device, out.Passkeys, nil
}

// Passkeys lists passkeys; next is the cursor of the next page.
func (c *Client) Passkeys(ctx context.Context, f passkeyd.PasskeyFilter) (passkeys []passkeyd.Passkey, next string, err error) {
	q := url.Values{}
	setIf(q, "user_id", f.UserID)
	setIf(q, "device_id", f.DeviceID)
	setIf(q, "state", string(f.State))
	setIf(q, "aaguid", f.AAGUID)
	pageQuery(q, f.Page)
	var out api.List[passkeyd.Passkey]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/passkeys", query: q, out: &out, want: http.StatusOK}); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextCursor, nil
}

// Passkey returns one passkey.
func (c *Client) Passkey(ctx context.Context, id string) (*passkeyd.Passkey, error) {
	var out passkeyd.Passkey
	if err := c.do(ctx, call{method: http.MethodGet, path: "/passkeys/" + esc(id), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditEvents lists audit events in ascending order; the next page starts
// after the Seq of the last event.
func (c *Client) AuditEvents(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
	q := url.Values{}
	if f.AfterSeq != 0 {
		q.Set("after_seq", strconv.FormatInt(f.AfterSeq, 10))
	}
	setIf(q, "action", f.Action)
	setIf(q, "target_type", f.TargetType)
	setIf(q, "target_id", f.TargetID)
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out api.AuditList
	if err := c.do(ctx, call{method: http.MethodGet, path: "/audit", query: q, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// VerifyAudit verifies the audit hash chain.
func (c *Client) VerifyAudit(ctx context.Context) (*passkeyd.AuditReport, error) {
	var out passkeyd.AuditReport
	if err := c.do(ctx, call{method: http.MethodGet, path: "/audit/verify", out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateToken creates an API token with role, expiring after ttl (0: never).
// The token is returned only here.
func (c *Client) CreateToken(ctx context.Context, name string, role passkeyd.Role, ttl time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error) {
	if ttl < 0 || ttl%time.Second != 0 {
		return nil, "", fmt.Errorf("client: token TTL %v must be zero (no expiry) or a whole number of seconds", ttl)
	}
	in := api.CreateToken{Name: name, Role: role, TTLSeconds: int64(ttl / time.Second)}
	var out api.TokenCreated
	if err := c.do(ctx, call{method: http.MethodPost, path: "/tokens", in: in, out: &out, want: http.StatusCreated}); err != nil {
		return nil, "", err
	}
	return &out.Token, passkeyd.Secret(out.Secret), nil
}

// Tokens lists the API tokens (never their values).
func (c *Client) Tokens(ctx context.Context) ([]passkeyd.APIToken, error) {
	var out api.List[passkeyd.APIToken]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/tokens", out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// DeleteToken deletes an API token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/tokens/" + esc(id), want: http.StatusNoContent})
}

// Reconcile compares passkeyd's inventory with Entra for one user (or all
// users when userID is "") and returns the drift report.
func (c *Client) Reconcile(ctx context.Context, userID string) (*passkeyd.DriftReport, error) {
	var out passkeyd.DriftReport
	in := api.Reconcile{UserID: userID}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/reconcile", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokePasskeys queues the revocation of every live passkey matching the
// filter's user, device or AAGUID.
func (c *Client) RevokePasskeys(ctx context.Context, f passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error) {
	var out passkeyd.BulkRevocation
	in := api.BulkRevoke{UserID: f.UserID, DeviceID: f.DeviceID, AAGUID: f.AAGUID}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/passkeys:revoke", in: in, out: &out, want: http.StatusAccepted}); err != nil {
		return nil, err
	}
	return &out, nil
}

// OffboardUser cancels the user's unused invitations, removes the user's
// devices and queues the revocation of every live passkey of the user.
func (c *Client) OffboardUser(ctx context.Context, userID string) (*passkeyd.Offboarding, error) {
	var out passkeyd.Offboarding
	if err := c.do(ctx, call{method: http.MethodPost, path: "/users/" + esc(userID) + "/offboard", out: &out, want: http.StatusAccepted}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokePasskey queues the revocation of one active passkey, or retries a
// failed revocation (revoke_failed).
func (c *Client) RevokePasskey(ctx context.Context, id string) (*passkeyd.Passkey, error) {
	var out passkeyd.Passkey
	if err := c.do(ctx, call{method: http.MethodPost, path: "/passkeys/" + esc(id) + "/revoke", out: &out, want: http.StatusAccepted}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreatePolicy adds a named policy; the answer carries warnings when the
// setting cannot work yet.
func (c *Client) CreatePolicy(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
	var out api.PolicyResult
	in := api.PolicyUpdate{Name: p.Name, EntraPasskey: p.EntraPasskey, MaxPasskeysPerUser: p.MaxPasskeysPerUser}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/policies", in: in, out: &out, want: http.StatusCreated}); err != nil {
		return nil, nil, err
	}
	return &out.Policy, out.Warnings, nil
}

// UpdateUser changes a user's display name and policy.
func (c *Client) UpdateUser(ctx context.Context, id string, u passkeyd.UserUpdate) (*passkeyd.User, error) {
	var out passkeyd.User
	if err := c.do(ctx, call{method: http.MethodPut, path: "/users/" + esc(id), in: u, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}
