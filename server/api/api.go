// Package api holds the wire format of passkeyd's HTTP API: the request and
// response bodies that wrap the domain types, the problem details of
// errors, and the one table mapping error codes to HTTP statuses. Both the
// server and the Go client import it, so the two cannot drift apart.
//
// Domain types (passkeyd.Device, passkeyd.Passkey, …) are sent as they are;
// this package only adds the envelopes around them and the fields that
// differ on the wire, such as secrets, which the domain type
// passkeyd.Secret deliberately refuses to marshal.
package api

import (
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Prefix is the path prefix of every API route.
const Prefix = "/api/v1"

// Limits of request bodies and query parameters, shared by server and client.
const (
	// DefaultMaxBodyBytes bounds request bodies.
	DefaultMaxBodyBytes = 64 << 10
	// MaxCredentialBodyBytes bounds POST /device/passkeys, whose
	// attestation object may carry a certificate chain.
	MaxCredentialBodyBytes = 512 << 10
	// MaxCertificateBodyBytes bounds bodies that may carry a client
	// certificate (PUT /connectors/{id}, validate-certificate): a 64 KiB
	// PKCS #12 file grows by a third in base64.
	MaxCertificateBodyBytes = 256 << 10
	// MaxCursorLength bounds the cursor query parameter.
	MaxCursorLength = 200
)

// Invitation TTLs.
const (
	DefaultInvitationTTL = 24 * time.Hour
	MinInvitationTTL     = time.Minute
	MaxInvitationTTL     = 30 * 24 * time.Hour
)

// MaxTokenTTL bounds the lifetime of an API token; 0 means no expiry.
const MaxTokenTTL = 5 * 365 * 24 * time.Hour

// List is a page of items. NextCursor, when set, is the cursor of the next
// page; it is empty on the last page.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// AuditList is a page of audit events; NextAfterSeq, when set, is the
// after_seq of the next page.
type AuditList struct {
	Items        []passkeyd.AuditEvent `json:"items"`
	NextAfterSeq int64                 `json:"next_after_seq,omitempty"`
}

// ConnectorUpdate is the body of PUT /connectors/{id}. It differs from
// passkeyd.ConnectorUpdate only in the client secret, which travels in
// clear here (write-only: it is never sent back).
type ConnectorUpdate struct {
	Enabled                 bool           `json:"enabled"`
	HTTPDebug               bool           `json:"http_debug"`
	Cloud                   passkeyd.Cloud `json:"cloud"`
	AuthorityHost           string         `json:"authority_host,omitempty"`
	GraphURL                string         `json:"graph_url,omitempty"`
	CACertPEM               string         `json:"ca_cert_pem,omitempty"`
	TenantID                string         `json:"tenant_id"`
	ClientID                string         `json:"client_id"`
	ClientSecret            *string        `json:"client_secret,omitempty"`
	ChallengeTimeoutMinutes int            `json:"challenge_timeout_minutes"`
	DisplayNameTemplate     string         `json:"display_name_template,omitempty"`

	CredentialType        passkeyd.CredentialType `json:"credential_type,omitempty"`
	ClientSecretExpiresAt *time.Time              `json:"client_secret_expires_at,omitempty"`
	ClientCertificate     *CertificateUpload      `json:"client_certificate,omitempty"`
	AssertionFormat       string                  `json:"assertion_format,omitempty"`
}

// CertificateUpload is a client certificate in transit: the body of
// POST /connectors/{id}/validate-certificate and the client_certificate of
// PUT /connectors/{id}. The key and password travel in clear here and are
// never sent back.
type CertificateUpload struct {
	CertificatePEM string `json:"certificate_pem,omitempty"`
	PrivateKeyPEM  string `json:"private_key_pem,omitempty"`
	PKCS12         []byte `json:"pkcs12,omitempty"` // base64
	Password       string `json:"password,omitempty"`
}

// NewCertificateUpload converts the domain upload to its wire form.
func NewCertificateUpload(u passkeyd.CertificateUpload) CertificateUpload {
	return CertificateUpload{CertificatePEM: u.CertificatePEM, PrivateKeyPEM: u.PrivateKeyPEM.Reveal(), PKCS12: u.PKCS12, Password: u.Password.Reveal()}
}

// Domain converts the wire upload to the domain form.
func (w CertificateUpload) Domain() passkeyd.CertificateUpload {
	return passkeyd.CertificateUpload{CertificatePEM: w.CertificatePEM, PrivateKeyPEM: passkeyd.Secret(w.PrivateKeyPEM), PKCS12: w.PKCS12, Password: passkeyd.Secret(w.Password)}
}

// NewConnectorUpdate converts the domain update to its wire form.
func NewConnectorUpdate(u passkeyd.ConnectorUpdate) ConnectorUpdate {
	w := ConnectorUpdate{
		Enabled:                 u.Enabled,
		HTTPDebug:               u.HTTPDebug,
		Cloud:                   u.Cloud,
		AuthorityHost:           u.AuthorityHost,
		GraphURL:                u.GraphURL,
		CACertPEM:               u.CACertPEM,
		TenantID:                u.TenantID,
		ClientID:                u.ClientID,
		ChallengeTimeoutMinutes: u.ChallengeTimeoutMinutes,
		DisplayNameTemplate:     u.DisplayNameTemplate,
		CredentialType:          u.CredentialType,
		ClientSecretExpiresAt:   u.ClientSecretExpiresAt,
		AssertionFormat:         u.AssertionFormat,
	}
	if u.ClientSecret != nil {
		s := u.ClientSecret.Reveal()
		w.ClientSecret = &s
	}
	if u.ClientCertificate != nil {
		c := NewCertificateUpload(*u.ClientCertificate)
		w.ClientCertificate = &c
	}
	return w
}

// Domain converts the wire update to the domain form.
func (w ConnectorUpdate) Domain() passkeyd.ConnectorUpdate {
	u := passkeyd.ConnectorUpdate{
		Enabled:                 w.Enabled,
		HTTPDebug:               w.HTTPDebug,
		Cloud:                   w.Cloud,
		AuthorityHost:           w.AuthorityHost,
		GraphURL:                w.GraphURL,
		CACertPEM:               w.CACertPEM,
		TenantID:                w.TenantID,
		ClientID:                w.ClientID,
		ChallengeTimeoutMinutes: w.ChallengeTimeoutMinutes,
		DisplayNameTemplate:     w.DisplayNameTemplate,
		CredentialType:          w.CredentialType,
		ClientSecretExpiresAt:   w.ClientSecretExpiresAt,
		AssertionFormat:         w.AssertionFormat,
	}
	if w.ClientSecret != nil {
		s := passkeyd.Secret(*w.ClientSecret)
		u.ClientSecret = &s
	}
	if w.ClientCertificate != nil {
		c := w.ClientCertificate.Domain()
		u.ClientCertificate = &c
	}
	return u
}

// PolicyUpdate is the body of PUT /policies/{id}.
type PolicyUpdate struct {
	Name               string              `json:"name"`
	EntraPasskey       passkeyd.PolicyMode `json:"entra_passkey"`
	MaxPasskeysPerUser int                 `json:"max_passkeys_per_user"`
}

// PolicyResult answers PUT /policies/{id}: the saved policy and warnings
// saying when the setting cannot work yet.
type PolicyResult struct {
	Policy   passkeyd.Policy `json:"policy"`
	Warnings []string        `json:"warnings,omitempty"`
}

// CreateUser is the body of POST /users.
type CreateUser struct {
	UPN           string `json:"upn"`
	EntraObjectID string `json:"entra_object_id,omitempty"`
	DisplayName   string `json:"display_name,omitempty"`
	PolicyID      string `json:"policy_id,omitempty"`
}

// CreateInvitation is the optional body of POST /users/{id}/invitations;
// TTLSeconds 0 means DefaultInvitationTTL.
type CreateInvitation struct {
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// InvitationCreated answers POST /users/{id}/invitations (201). Code is
// the one-time code, shown only in this response; QRPNGBase64 is a PNG of
// the code as a QR code, present when the request asked for it (?qr=1).
type InvitationCreated struct {
	Invitation  passkeyd.Invitation `json:"invitation"`
	Code        string              `json:"code"`
	QRPNGBase64 string              `json:"qr_png_base64,omitempty"`
}

// DeviceRemoval answers DELETE /devices/{id} and DELETE /device (202): the
// removed device and the passkeys whose revocation was queued.
type DeviceRemoval struct {
	Device   passkeyd.Device    `json:"device"`
	Passkeys []passkeyd.Passkey `json:"passkeys"`
}

// CreateToken is the body of POST /tokens; TTLSeconds 0 means no expiry.
type CreateToken struct {
	Name       string        `json:"name"`
	Role       passkeyd.Role `json:"role"`
	TTLSeconds int64         `json:"ttl_seconds,omitempty"`
}

// TokenCreated answers POST /tokens (201). Secret is the token, shown only
// in this response.
type TokenCreated struct {
	Token  passkeyd.APIToken `json:"token"`
	Secret string            `json:"secret"`
}

// RegisterDevice is the body of POST /device/register.
type RegisterDevice struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Platform string `json:"platform"`
	Model    string `json:"model"`
}

// DeviceRegistered answers POST /device/register (201). DeviceToken is the
// device's bearer token, shown only in this response.
type DeviceRegistered struct {
	DeviceID    string          `json:"device_id"`
	DeviceToken string          `json:"device_token"`
	Device      passkeyd.Device `json:"device"`
}

// CompleteEnrollment is the body of POST /device/passkeys.
type CompleteEnrollment struct {
	EnrollmentID string              `json:"enrollment_id"`
	Credential   passkeyd.Credential `json:"credential"`
}

// Health answers GET /healthz and GET /readyz.
type Health struct {
	Status  string `json:"status"` // "ok" or "unavailable"
	Version string `json:"version,omitempty"`
}

// Reconcile is the body of POST /reconcile: one user, or every user when
// empty.
type Reconcile struct {
	UserID string `json:"user_id,omitempty"`
}

// BulkRevoke is the body of POST /passkeys:revoke: at least one filter.
type BulkRevoke struct {
	UserID   string `json:"user_id,omitempty"`
	DeviceID string `json:"device_id,omitempty"`
	AAGUID   string `json:"aaguid,omitempty"`
}
