// Package passkeyd is the domain of passkeyd: the vocabulary every other
// package speaks (users, devices, passkeys, policies, enrollments, audit
// events), their states, and the interfaces through which the
// implementation packages meet. It imports nothing of this module.
//
// Dependencies point here: graph, entraemu, authenticator, store/..., jobs,
// audit, manager and server each implement or consume what this package
// defines; only cmd/passkeyd wires them together.
package passkeyd

import (
	"encoding/json"
	"time"
)

// PolicyMode is the "Entra Passkey" setting of an enrollment policy.
type PolicyMode string

// Policy modes, as the admin console names them.
const (
	PolicyOff      PolicyMode = "off"      // no Entra passkey is offered
	PolicyOptional PolicyMode = "optional" // offered; the user may skip it
	PolicyRequired PolicyMode = "required" // the device must enroll one
)

// Valid reports whether m is one of the known modes.
func (m PolicyMode) Valid() bool {
	return m == PolicyOff || m == PolicyOptional || m == PolicyRequired
}

// DefaultPolicyID is the ID of the policy every user falls back to.
const DefaultPolicyID = "default"

// Policy decides whether devices of its users enroll an Entra passkey.
type Policy struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	EntraPasskey       PolicyMode `json:"entra_passkey"`
	MaxPasskeysPerUser int        `json:"max_passkeys_per_user"` // 0 means no limit
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// Validate reports every problem of p at once.
func (p *Policy) Validate() error {
	var fe FieldErrors
	if p.Name == "" || len(p.Name) > 100 {
		fe.Add("name", "must be 1 to 100 characters")
	}
	if !p.EntraPasskey.Valid() {
		fe.Add("entra_passkey", `must be "off", "optional" or "required"`)
	}
	if p.MaxPasskeysPerUser < 0 || p.MaxPasskeysPerUser > 100 {
		fe.Add("max_passkeys_per_user", "must be between 0 (no limit) and 100")
	}
	return fe.Err("invalid policy")
}

// ConnectorID is the ID of the one connector of this release.
const ConnectorID = "default"

// Connector is the Entra connector configuration: which tenant and app
// passkeyd acts as, and how it reaches Microsoft's endpoints.
//
// The client secret is never part of this struct in clear: the store keeps
// it sealed (SealedClientSecret) and the API shows only HasClientSecret and
// ClientSecretHint.
type Connector struct {
	ID        string `json:"id"`
	Enabled   bool   `json:"enabled"`
	HTTPDebug bool   `json:"http_debug"`
	// Cloud selects the authority and Graph hosts: global, usgov,
	// usgov-dod, china, or custom (then AuthorityHost and GraphURL are used).
	Cloud         Cloud  `json:"cloud"`
	AuthorityHost string `json:"authority_host,omitempty"`
	GraphURL      string `json:"graph_url,omitempty"`
	// CACertPEM, for a custom cloud, lists extra roots to trust (the
	// emulator's CA). Empty means the system roots.
	CACertPEM string `json:"ca_cert_pem,omitempty"`

	TenantID string `json:"tenant_id"`
	ClientID string `json:"client_id"`

	// CredentialType selects how passkeyd authenticates to Entra.
	CredentialType     CredentialType `json:"credential_type"`
	HasClientSecret    bool           `json:"has_client_secret"`
	ClientSecretHint   string         `json:"client_secret_hint,omitempty"`
	SealedClientSecret []byte         `json:"-"`
	// ClientSecretExpiresAt is the secret's expiry as the admin entered it
	// (Entra does not tell an app when its secret expires).
	ClientSecretExpiresAt *time.Time `json:"client_secret_expires_at,omitempty"`

	// CertificateChainPEM is the public part of the client certificate
	// (leaf first); its private key is sealed in SealedCertificateKey
	// (PKCS #8) and never returned.
	CertificateChainPEM  string `json:"certificate_chain_pem,omitempty"`
	SealedCertificateKey []byte `json:"-"`
	// Certificate describes CertificateChainPEM (derived, not stored).
	Certificate *CertificateReport `json:"certificate,omitempty"`
	// AssertionFormat is AssertionPS256 (default) or AssertionRS256.
	AssertionFormat string `json:"assertion_format,omitempty"`

	// HTTPDebugUntil is when HTTP debug logging switches itself off.
	HTTPDebugUntil *time.Time `json:"http_debug_until,omitempty"`

	// ChallengeTimeoutMinutes is how long Graph's creation options stay
	// valid: 5 uses Graph v1.0, anything else (up to 43200) uses beta.
	ChallengeTimeoutMinutes int `json:"challenge_timeout_minutes"`
	// DisplayNameTemplate names passkeys in Entra; {device}, {model},
	// {platform} and {user} are expanded and the result cut to 30 characters.
	DisplayNameTemplate string `json:"display_name_template"`

	UpdatedAt time.Time `json:"updated_at"`
}

// CredentialType is how the connector authenticates to Entra.
type CredentialType string

// Credential types.
const (
	CredentialSecret      CredentialType = "secret"
	CredentialCertificate CredentialType = "certificate"
)

// Connector defaults.
const (
	DefaultChallengeTimeoutMinutes = 5
	MaxChallengeTimeoutMinutes     = 43200
	DefaultDisplayNameTemplate     = "passkeyd {device}"
	MaxDisplayNameLength           = 30
)

// Validate reports every problem of c at once.
func (c *Connector) Validate() error {
	var fe FieldErrors
	if !c.Cloud.Valid() {
		fe.Add("cloud", "must be one of global, usgov, usgov-dod, china, custom")
	}
	if c.Cloud == CloudCustom {
		if !isHTTPSURL(c.AuthorityHost) {
			fe.Add("authority_host", "must be an https:// URL for a custom cloud")
		}
		if !isHTTPSURL(c.GraphURL) {
			fe.Add("graph_url", "must be an https:// URL for a custom cloud")
		}
	}
	if c.TenantID != "" && !ValidTenantID(c.TenantID) {
		fe.Add("tenant_id", "must be a GUID or a domain name such as contoso.onmicrosoft.com")
	}
	if c.ClientID != "" && !IsGUID(c.ClientID) {
		fe.Add("client_id", "must be the application (client) ID, a GUID")
	}
	if c.Enabled {
		if c.TenantID == "" {
			fe.Add("tenant_id", "is required when the connector is enabled")
		}
		if c.ClientID == "" {
			fe.Add("client_id", "is required when the connector is enabled")
		}
		switch {
		case c.CredentialType == CredentialSecret && !c.HasClientSecret:
			fe.Add("client_secret", "is required when the connector is enabled with a client secret")
		case c.CredentialType == CredentialCertificate && (c.CertificateChainPEM == "" || len(c.SealedCertificateKey) == 0):
			fe.Add("client_certificate", "is required when the connector is enabled with a certificate")
		}
	}
	if c.CredentialType != CredentialSecret && c.CredentialType != CredentialCertificate {
		fe.Add("credential_type", `must be "secret" or "certificate"`)
	}
	if c.AssertionFormat != "" && c.AssertionFormat != AssertionPS256 && c.AssertionFormat != AssertionRS256 {
		fe.Add("assertion_format", `must be "ps256" (default) or "rs256"`)
	}
	if c.ChallengeTimeoutMinutes < DefaultChallengeTimeoutMinutes || c.ChallengeTimeoutMinutes > MaxChallengeTimeoutMinutes {
		fe.Add("challenge_timeout_minutes", "must be between 5 and 43200 (30 days)")
	}
	if c.DisplayNameTemplate == "" || len([]rune(c.DisplayNameTemplate)) > 100 {
		fe.Add("display_name_template", "must be 1 to 100 characters")
	}
	return fe.Err("invalid connector settings")
}

// User is a person whose devices may hold Entra passkeys. Graph addresses
// the user by EntraObjectID when set, else by UPN.
type User struct {
	ID            string    `json:"id"`
	UPN           string    `json:"upn"`
	EntraObjectID string    `json:"entra_object_id,omitempty"`
	DisplayName   string    `json:"display_name,omitempty"`
	PolicyID      string    `json:"policy_id,omitempty"` // empty: the default policy
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// GraphUser is the {user} segment to use with Graph for u.
func (u *User) GraphUser() string {
	if u.EntraObjectID != "" {
		return u.EntraObjectID
	}
	return u.UPN
}

// Validate reports every problem of u at once.
func (u *User) Validate() error {
	var fe FieldErrors
	if !ValidUPN(u.UPN) {
		fe.Add("upn", "must be a user principal name such as alice@contoso.com")
	}
	if u.EntraObjectID != "" && !IsGUID(u.EntraObjectID) {
		fe.Add("entra_object_id", "must be the user's object ID, a GUID")
	}
	if len([]rune(u.DisplayName)) > 256 {
		fe.Add("display_name", "must be at most 256 characters")
	}
	return fe.Err("invalid user")
}

// Invitation is a one-time code that lets a user register a device. Only
// the code's hash is stored; the code is shown once, at creation.
type Invitation struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	CodeHash  []byte     `json:"-"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// DeviceState is the life of a registered device.
type DeviceState string

// Device states.
const (
	DeviceActive  DeviceState = "active"
	DeviceRemoved DeviceState = "removed"
)

// Device is a user's phone or computer acting as a passkey provider.
type Device struct {
	ID        string      `json:"id"`
	UserID    string      `json:"user_id"`
	Name      string      `json:"name"`
	Platform  string      `json:"platform"`
	Model     string      `json:"model"`
	TokenHash []byte      `json:"-"`
	State     DeviceState `json:"state"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	RemovedAt *time.Time  `json:"removed_at,omitempty"`
	// EnrollmentSkippedAt is when the user declined an optional passkey
	// on this device (policy optional); a required policy ignores it.
	EnrollmentSkippedAt *time.Time `json:"enrollment_skipped_at,omitempty"`
}

// Validate reports every problem of the device's user-supplied fields.
func (d *Device) Validate() error {
	var fe FieldErrors
	if d.Name == "" || len([]rune(d.Name)) > 64 || !Printable(d.Name) {
		fe.Add("name", "must be 1 to 64 printable characters")
	}
	if len([]rune(d.Platform)) > 32 || !Printable(d.Platform) {
		fe.Add("platform", "must be at most 32 printable characters")
	}
	if len([]rune(d.Model)) > 64 || !Printable(d.Model) {
		fe.Add("model", "must be at most 64 printable characters")
	}
	return fe.Err("invalid device")
}

// EnrollmentState is the life of one passkey enrollment attempt.
type EnrollmentState string

// Enrollment states: options_issued → registering → completed | failed | expired.
const (
	EnrollmentOptionsIssued EnrollmentState = "options_issued"
	EnrollmentRegistering   EnrollmentState = "registering"
	EnrollmentCompleted     EnrollmentState = "completed"
	EnrollmentFailed        EnrollmentState = "failed"
	EnrollmentExpired       EnrollmentState = "expired"
)

// Enrollment is one attempt of a device to create an Entra passkey: Graph's
// creation options were handed to the device and passkeyd waits for the
// attested credential.
type Enrollment struct {
	ID                 string          `json:"id"`
	UserID             string          `json:"user_id"`
	DeviceID           string          `json:"device_id"`
	State              EnrollmentState `json:"state"`
	ChallengeExpiresAt time.Time       `json:"challenge_expires_at"`
	// OptionsHash is SHA-256 of the publicKey options given to the device;
	// ChallengeDigest is ChallengeDigest of their challenge, kept to
	// pre-check clientDataJSON (the challenge itself runs to kilobytes).
	OptionsHash     []byte    `json:"-"`
	ChallengeDigest string    `json:"-"`
	RPID            string    `json:"-"`
	PasskeyID       string    `json:"passkey_id,omitempty"`
	Error           string    `json:"error,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// PasskeyState is the life of a passkey passkeyd registered in Entra.
type PasskeyState string

// Passkey states. See docs/architecture.md for the transitions.
const (
	PasskeyRegistering  PasskeyState = "registering"   // intent recorded, Graph create in flight
	PasskeyActive       PasskeyState = "active"        // registered in Entra
	PasskeyUnknown      PasskeyState = "unknown"       // create outcome not known
	PasskeyFailed       PasskeyState = "failed"        // create rejected: nothing in Entra
	PasskeyRevoking     PasskeyState = "revoking"      // delete queued
	PasskeyRevoked      PasskeyState = "revoked"       // gone from Entra
	PasskeyRevokeFailed PasskeyState = "revoke_failed" // permanent delete error; admin may retry
	PasskeyMissing      PasskeyState = "missing"       // deleted outside passkeyd
)

// Live reports whether a passkey in state s may exist in Entra and so must
// be revoked when its device goes.
func (s PasskeyState) Live() bool {
	switch s {
	case PasskeyRegistering, PasskeyActive, PasskeyUnknown, PasskeyRevokeFailed:
		return true
	}
	return false
}

// Passkey is a FIDO2 authentication method that passkeyd created in Entra
// for a user, held by one device.
type Passkey struct {
	ID               string       `json:"id"`
	UserID           string       `json:"user_id"`
	DeviceID         string       `json:"device_id"`
	EnrollmentID     string       `json:"enrollment_id"`
	GraphMethodID    string       `json:"graph_method_id,omitempty"`
	CredentialID     string       `json:"credential_id"` // base64url, no padding
	AAGUID           string       `json:"aaguid"`
	DisplayName      string       `json:"display_name"`
	AttestationLevel string       `json:"attestation_level,omitempty"`
	PasskeyType      string       `json:"passkey_type,omitempty"`
	State            PasskeyState `json:"state"`
	LastError        string       `json:"last_error,omitempty"`
	CreatedAt        time.Time    `json:"created_at"`
	UpdatedAt        time.Time    `json:"updated_at"`
	RevokedAt        *time.Time   `json:"revoked_at,omitempty"`
}

// Role is what an API token or admin may do.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin    Role = "admin"    // everything
	RoleOperator Role = "operator" // users, invitations, devices, passkeys, jobs; not connector or tokens
	RoleAuditor  Role = "auditor"  // read-only, including the audit log
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleOperator || r == RoleAuditor }

// APIToken authenticates automation against the admin API. Only its hash
// is stored; the token is shown once.
type APIToken struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Hash      []byte     `json:"-"`
	Last8     string     `json:"last8"`
	Role      Role       `json:"role"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// AuditEvent is one record of the tamper-evident audit log. Hash is
// SHA-256(PrevHash || canonical event); see package audit.
type AuditEvent struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`  // "token:<id>", "device:<id>", "system", …
	Action     string    `json:"action"` // e.g. "device.removed"
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	Outcome    string    `json:"outcome"` // "success" | "failure"
	Reason     string    `json:"reason,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	// ClientRequestID is the client-request-id of the Graph call, if any,
	// so an admin can find the call in Entra's own logs.
	ClientRequestID string          `json:"client_request_id,omitempty"`
	Details         json.RawMessage `json:"details,omitempty"`
	PrevHash        string          `json:"prev_hash"` // hex
	Hash            string          `json:"hash"`      // hex
}

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)
