package passkeyd

import (
	"context"
	"encoding/json"
	"time"
)

// Service is what the HTTP server needs from the manager: the admin
// operations and the device operations. The actor and request ID travel in
// the context (WithActor, WithRequestID) and land in the audit log.
type Service interface {
	AdminService
	DeviceService
}

// AdminService is the admin API's view of the manager.
type AdminService interface {
	Connector(ctx context.Context) (*Connector, error)
	// UpdateConnector replaces the connector settings; a nil ClientSecret
	// keeps the stored one.
	UpdateConnector(ctx context.Context, u ConnectorUpdate) (*Connector, error)
	// TestConnection diagnoses the connector step by step; with a user,
	// it also answers whether enrollment for that user would succeed,
	// without creating anything.
	TestConnection(ctx context.Context, opts TestOptions) (*ConnectionReport, error)
	// ValidateCertificate checks an upload (or, when up is empty, the
	// stored certificate) without saving anything.
	ValidateCertificate(ctx context.Context, up CertificateUpload) (*CertificateReport, error)

	Policy(ctx context.Context, id string) (*Policy, error)
	Policies(ctx context.Context) ([]Policy, error)
	// UpdatePolicy saves p; warnings say when the setting cannot work yet
	// (e.g. required while the connector is disabled).
	UpdatePolicy(ctx context.Context, p Policy) (*Policy, []string, error)
	// CreatePolicy adds a named policy (its ID is generated) that users
	// can be assigned to.
	CreatePolicy(ctx context.Context, p Policy) (*Policy, []string, error)

	CreateUser(ctx context.Context, u User) (*User, error)
	UserDetail(ctx context.Context, id string) (*UserDetail, error)
	// UpdateUser changes a user's display name and policy ("" assigns the
	// default policy).
	UpdateUser(ctx context.Context, id string, u UserUpdate) (*User, error)
	Users(ctx context.Context, f UserFilter) ([]User, error)
	// CreateInvitation returns the invitation and its one-time code, which
	// is never retrievable again.
	CreateInvitation(ctx context.Context, userID string, ttl time.Duration) (*Invitation, Secret, error)

	Devices(ctx context.Context, f DeviceFilter) ([]Device, error)
	Device(ctx context.Context, id string) (*Device, error)
	// RemoveDevice removes the device and queues the revocation of each
	// of its passkeys.
	RemoveDevice(ctx context.Context, id string) (*Device, []Passkey, error)
	Passkeys(ctx context.Context, f PasskeyFilter) ([]Passkey, error)
	Passkey(ctx context.Context, id string) (*Passkey, error)

	// RevokePasskeys queues the revocation of every live passkey matching
	// the user, device or AAGUID of f (e.g. a vulnerable model). It leaves
	// devices and invitations alone.
	RevokePasskeys(ctx context.Context, f PasskeyFilter) (*BulkRevocation, error)
	// OffboardUser cancels the user's unused invitations, removes the
	// user's active devices (revoking their passkeys) and queues the
	// revocation of any other live passkey of the user. Running it again
	// finishes an interrupted run.
	OffboardUser(ctx context.Context, userID string) (*Offboarding, error)
	// RequestRevocation queues the revocation of one active passkey, or
	// retries one whose revocation failed permanently.
	RequestRevocation(ctx context.Context, passkeyID string) (*Passkey, error)
	// Reconcile compares the inventory with Entra for one user, or all
	// users when userID is "", and reports the drift.
	Reconcile(ctx context.Context, userID string) (*DriftReport, error)

	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	VerifyAudit(ctx context.Context) (*AuditReport, error)

	// CreateAPIToken returns the token record and the token, shown once.
	CreateAPIToken(ctx context.Context, name string, role Role, ttl time.Duration) (*APIToken, Secret, error)
	APITokens(ctx context.Context) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, id string) error
	// AuthenticateToken returns the unexpired token whose value is tok;
	// EUnauthorized otherwise.
	AuthenticateToken(ctx context.Context, tok Secret) (*APIToken, error)
}

// DeviceService is the device API's view of the manager. deviceID is the
// authenticated device's own ID.
type DeviceService interface {
	// RegisterDevice consumes a one-time invitation code and returns the
	// new device with its token (shown once).
	RegisterDevice(ctx context.Context, code Secret, info DeviceInfo) (*Device, Secret, error)
	// AuthenticateDevice returns the active device whose token is tok;
	// EUnauthorized otherwise.
	AuthenticateDevice(ctx context.Context, tok Secret) (*Device, error)
	DeviceStatus(ctx context.Context, deviceID string) (*DeviceStatus, error)
	// BeginEnrollment fetches creation options from Graph for the device's
	// user and records the enrollment.
	BeginEnrollment(ctx context.Context, deviceID string) (*EnrollmentOptions, error)
	// FinishEnrollment registers the attested credential in Entra.
	FinishEnrollment(ctx context.Context, deviceID, enrollmentID string, cred Credential) (*Passkey, error)
	// SkipEnrollment records that the user declined an optional passkey.
	SkipEnrollment(ctx context.Context, deviceID string) error
	// RemoveDevice is shared with AdminService (a device may remove itself).
	RemoveDevice(ctx context.Context, id string) (*Device, []Passkey, error)
}

// ConnectorUpdate is a full replacement of the connector settings except
// the secret, which is kept when ClientSecret is nil.
type ConnectorUpdate struct {
	Enabled                 bool    `json:"enabled"`
	HTTPDebug               bool    `json:"http_debug"`
	Cloud                   Cloud   `json:"cloud"`
	AuthorityHost           string  `json:"authority_host,omitempty"`
	GraphURL                string  `json:"graph_url,omitempty"`
	CACertPEM               string  `json:"ca_cert_pem,omitempty"`
	TenantID                string  `json:"tenant_id"`
	ClientID                string  `json:"client_id"`
	ClientSecret            *Secret `json:"client_secret,omitempty"`
	ChallengeTimeoutMinutes int     `json:"challenge_timeout_minutes"`
	DisplayNameTemplate     string  `json:"display_name_template,omitempty"`
	// CredentialType defaults to certificate when a certificate is
	// uploaded or stored and no secret is, else secret.
	CredentialType CredentialType `json:"credential_type,omitempty"`
	// ClientSecretExpiresAt records the secret's expiry for warnings;
	// nil keeps the stored date unless a new secret is given.
	ClientSecretExpiresAt *time.Time `json:"client_secret_expires_at,omitempty"`
	// ClientCertificate, when set, replaces the stored certificate; an
	// upload with no content clears it.
	ClientCertificate *CertificateUpload `json:"client_certificate,omitempty"`
	AssertionFormat   string             `json:"assertion_format,omitempty"`
}

// TestOptions are the options of Test Connection.
type TestOptions struct {
	// User, when set (UPN or object ID), adds a dry run of enrollment for
	// that user.
	User string `json:"user,omitempty"`
}

// ConnectionReport is the result of Test Connection: each step in order;
// a failed step ends the run and later steps are "skipped".
type ConnectionReport struct {
	OK    bool             `json:"ok"`
	Steps []ConnectionStep `json:"steps"`
}

// Step statuses.
const (
	StepOK      = "ok"
	StepFailed  = "failed"
	StepWarning = "warning"
	StepSkipped = "skipped"
)

// ConnectionStep is one step of Test Connection.
type ConnectionStep struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Detail says what was found and, on failure, what to fix.
	Detail string `json:"detail"`
	// Code is Microsoft's code (AADSTS number or Graph error code), if any.
	Code string `json:"code,omitempty"`
}

// UserDetail is a user with what hangs off it.
type UserDetail struct {
	User            User      `json:"user"`
	EffectivePolicy Policy    `json:"effective_policy"`
	Devices         []Device  `json:"devices"`
	Passkeys        []Passkey `json:"passkeys"`
}

// DeviceInfo is what a device says of itself at registration.
type DeviceInfo struct {
	Name     string `json:"name"`
	Platform string `json:"platform"`
	Model    string `json:"model"`
}

// Next steps of a device, in DeviceStatus.
const (
	NextEnrollPasskey = "enroll_passkey" // policy requires a passkey and there is none
	NextMayEnroll     = "may_enroll"     // policy offers one; the user may skip
	NextDone          = "done"
)

// DeviceStatus is what a device learns of its policy and passkeys.
type DeviceStatus struct {
	Device   Device     `json:"device"`
	Policy   PolicyMode `json:"policy"`
	Passkeys []Passkey  `json:"passkeys"`
	NextStep string     `json:"next_step"`
}

// EnrollmentOptions is handed to the device: Graph's publicKey as given.
type EnrollmentOptions struct {
	EnrollmentID string          `json:"enrollment_id"`
	PublicKey    json.RawMessage `json:"public_key"`
	ExpiresAt    time.Time       `json:"expires_at"`
}

// Credential is the attested credential a device created, binary values
// base64url without padding (as in WebAuthn's JSON form).
type Credential struct {
	ID                     string          `json:"id"`
	ClientDataJSON         string          `json:"client_data_json"`
	AttestationObject      string          `json:"attestation_object"`
	ClientExtensionResults json.RawMessage `json:"client_extension_results,omitempty"`
}

// AuditReport is the result of verifying the audit hash chain.
type AuditReport struct {
	OK     bool  `json:"ok"`
	Events int64 `json:"events"`
	// FirstBadSeq is the first record whose hash or link is wrong.
	FirstBadSeq int64  `json:"first_bad_seq,omitempty"`
	Problem     string `json:"problem,omitempty"`
	LastHash    string `json:"last_hash,omitempty"`
}

// DriftReport is the result of reconciliation: where passkeyd's inventory
// and Entra disagree, by class.
type DriftReport struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Users      int       `json:"users"`
	// Missing: managed passkeys Entra no longer holds (now state missing).
	Missing []DriftItem `json:"missing"`
	// Adopted: methods passkeyd created but had lost track of (unknown
	// outcomes), now active again.
	Adopted []DriftItem `json:"adopted"`
	// Unmanaged: methods registered outside passkeyd; never touched.
	Unmanaged []DriftItem  `json:"unmanaged"`
	Errors    []DriftError `json:"errors,omitempty"`
}

// DriftItem is one finding of reconciliation.
type DriftItem struct {
	UserID      string    `json:"user_id"`
	UPN         string    `json:"upn"`
	PasskeyID   string    `json:"passkey_id,omitempty"`
	MethodID    string    `json:"method_id"`
	DisplayName string    `json:"display_name,omitempty"`
	AAGUID      string    `json:"aaguid,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
}

// DriftError is a user reconciliation could not check.
type DriftError struct {
	UserID string `json:"user_id"`
	UPN    string `json:"upn"`
	Error  string `json:"error"`
}

// BulkRevocation is the result of queueing many revocations at once.
type BulkRevocation struct {
	// Matched passkeys of the filter, in any state; Queued of them moved
	// to revoking now. Progress: list the filter's passkeys by state.
	Matched int `json:"matched"`
	Queued  int `json:"queued"`
}

// Offboarding is the result of offboarding a user: everything that let
// the user, or a device of the user, hold or get a passkey is withdrawn.
type Offboarding struct {
	UserID string `json:"user_id"`
	// InvitationsCancelled unused invitations no longer register a device.
	InvitationsCancelled int `json:"invitations_cancelled"`
	// DevicesRemoved active devices were removed: their tokens stop
	// working.
	DevicesRemoved int `json:"devices_removed"`
	// PasskeysRevoking passkeys were queued for revocation now (the
	// devices' and any other live passkey of the user); progress shows
	// on the user's passkeys.
	PasskeysRevoking int `json:"passkeys_revoking"`
	// Warnings say what could not be done.
	Warnings []string `json:"warnings,omitempty"`
}

// UserUpdate is what can change on a user: identity (UPN, object ID) is
// fixed.
type UserUpdate struct {
	DisplayName string `json:"display_name"`
	// PolicyID assigns a policy; "" means the default policy.
	PolicyID string `json:"policy_id"`
}
