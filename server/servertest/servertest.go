// Package servertest provides a fake passkeyd.Service for tests of the
// HTTP server and its client: each method calls the function field of the
// same name, and every call is recorded so that a test can assert that the
// server rejected a request before reaching the service.
package servertest

import (
	"context"
	"sync"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Service is a function-field fake of passkeyd.Service. A method whose
// field is nil fails with an EInternal error naming it, so that a test
// which forgot to set it fails loudly instead of panicking in a handler.
type Service struct {
	ConnectorFn           func(ctx context.Context) (*passkeyd.Connector, error)
	UpdateConnectorFn     func(ctx context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error)
	TestConnectionFn      func(ctx context.Context, opts passkeyd.TestOptions) (*passkeyd.ConnectionReport, error)
	RevokePasskeysFn      func(ctx context.Context, f passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error)
	OffboardUserFn        func(ctx context.Context, userID string) (*passkeyd.Offboarding, error)
	RequestRevocationFn   func(ctx context.Context, id string) (*passkeyd.Passkey, error)
	ReconcileFn           func(ctx context.Context, userID string) (*passkeyd.DriftReport, error)
	CreatePolicyFn        func(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error)
	UpdateUserFn          func(ctx context.Context, id string, u passkeyd.UserUpdate) (*passkeyd.User, error)
	ValidateCertificateFn func(ctx context.Context, up passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error)

	PolicyFn       func(ctx context.Context, id string) (*passkeyd.Policy, error)
	PoliciesFn     func(ctx context.Context) ([]passkeyd.Policy, error)
	UpdatePolicyFn func(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error)

	CreateUserFn       func(ctx context.Context, u passkeyd.User) (*passkeyd.User, error)
	UserDetailFn       func(ctx context.Context, id string) (*passkeyd.UserDetail, error)
	UsersFn            func(ctx context.Context, f passkeyd.UserFilter) ([]passkeyd.User, error)
	CreateInvitationFn func(ctx context.Context, userID string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error)

	DevicesFn      func(ctx context.Context, f passkeyd.DeviceFilter) ([]passkeyd.Device, error)
	DeviceFn       func(ctx context.Context, id string) (*passkeyd.Device, error)
	RemoveDeviceFn func(ctx context.Context, id string) (*passkeyd.Device, []passkeyd.Passkey, error)
	PasskeysFn     func(ctx context.Context, f passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error)
	PasskeyFn      func(ctx context.Context, id string) (*passkeyd.Passkey, error)

	AuditEventsFn func(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error)
	VerifyAuditFn func(ctx context.Context) (*passkeyd.AuditReport, error)

	CreateAPITokenFn    func(ctx context.Context, name string, role passkeyd.Role, ttl time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error)
	APITokensFn         func(ctx context.Context) ([]passkeyd.APIToken, error)
	DeleteAPITokenFn    func(ctx context.Context, id string) error
	AuthenticateTokenFn func(ctx context.Context, tok passkeyd.Secret) (*passkeyd.APIToken, error)

	RegisterDeviceFn     func(ctx context.Context, code passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error)
	AuthenticateDeviceFn func(ctx context.Context, tok passkeyd.Secret) (*passkeyd.Device, error)
	DeviceStatusFn       func(ctx context.Context, deviceID string) (*passkeyd.DeviceStatus, error)
	BeginEnrollmentFn    func(ctx context.Context, deviceID string) (*passkeyd.EnrollmentOptions, error)
	FinishEnrollmentFn   func(ctx context.Context, deviceID, enrollmentID string, cred passkeyd.Credential) (*passkeyd.Passkey, error)
	SkipEnrollmentFn     func(ctx context.Context, deviceID string) error

	mu    sync.Mutex
	calls []string
}

var _ passkeyd.Service = (*Service)(nil)

// Calls returns the names of the methods called so far, in order.
func (s *Service) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// ResetCalls forgets the recorded calls.
func (s *Service) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// record notes a call and reports whether fn is set.
func (s *Service) record(name string, set bool) error {
	s.mu.Lock()
	s.calls = append(s.calls, name)
	s.mu.Unlock()
	if !set {
		return passkeyd.Errorf(passkeyd.EInternal, "servertest: %sFn not set", name)
	}
	return nil
}

// Connector implements passkeyd.Service.
func (s *Service) Connector(ctx context.Context) (*passkeyd.Connector, error) {
	if err := s.record("Connector", s.ConnectorFn != nil); err != nil {
		return nil, err
	}
	return s.ConnectorFn(ctx)
}

// UpdateConnector implements passkeyd.Service.
func (s *Service) UpdateConnector(ctx context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
	if err := s.record("UpdateConnector", s.UpdateConnectorFn != nil); err != nil {
		return nil, err
	}
	return s.UpdateConnectorFn(ctx, u)
}

// TestConnection implements passkeyd.Service.
func (s *Service) TestConnection(ctx context.Context, opts passkeyd.TestOptions) (*passkeyd.ConnectionReport, error) {
	if err := s.record("TestConnection", s.TestConnectionFn != nil); err != nil {
		return nil, err
	}
	return s.TestConnectionFn(ctx, opts)
}

// ValidateCertificate implements passkeyd.Service.
func (s *Service) ValidateCertificate(ctx context.Context, up passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error) {
	if err := s.record("ValidateCertificate", s.ValidateCertificateFn != nil); err != nil {
		return nil, err
	}
	return s.ValidateCertificateFn(ctx, up)
}

// Policy implements passkeyd.Service.
func (s *Service) Policy(ctx context.Context, id string) (*passkeyd.Policy, error) {
	if err := s.record("Policy", s.PolicyFn != nil); err != nil {
		return nil, err
	}
	return s.PolicyFn(ctx, id)
}

// Policies implements passkeyd.Service.
func (s *Service) Policies(ctx context.Context) ([]passkeyd.Policy, error) {
	if err := s.record("Policies", s.PoliciesFn != nil); err != nil {
		return nil, err
	}
	return s.PoliciesFn(ctx)
}

// UpdatePolicy implements passkeyd.Service.
func (s *Service) UpdatePolicy(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
	if err := s.record("UpdatePolicy", s.UpdatePolicyFn != nil); err != nil {
		return nil, nil, err
	}
	return s.UpdatePolicyFn(ctx, p)
}

// CreateUser implements passkeyd.Service.
func (s *Service) CreateUser(ctx context.Context, u passkeyd.User) (*passkeyd.User, error) {
	if err := s.record("CreateUser", s.CreateUserFn != nil); err != nil {
		return nil, err
	}
	return s.CreateUserFn(ctx, u)
}

// UserDetail implements passkeyd.Service.
func (s *Service) UserDetail(ctx context.Context, id string) (*passkeyd.UserDetail, error) {
	if err := s.record("UserDetail", s.UserDetailFn != nil); err != nil {
		return nil, err
	}
	return s.UserDetailFn(ctx, id)
}

// Users implements passkeyd.Service.
func (s *Service) Users(ctx context.Context, f passkeyd.UserFilter) ([]passkeyd.User, error) {
	if err := s.record("Users", s.UsersFn != nil); err != nil {
		return nil, err
	}
	return s.UsersFn(ctx, f)
}

// CreateInvitation implements passkeyd.Service.
func (s *Service) CreateInvitation(ctx context.Context, userID string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
	if err := s.record("CreateInvitation", s.CreateInvitationFn != nil); err != nil {
		return nil, "", err
	}
	return s.CreateInvitationFn(ctx, userID, ttl)
}

// Devices implements passkeyd.Service.
func (s *Service) Devices(ctx context.Context, f passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
	if err := s.record("Devices", s.DevicesFn != nil); err != nil {
		return nil, err
	}
	return s.DevicesFn(ctx, f)
}

// Device implements passkeyd.Service.
func (s *Service) Device(ctx context.Context, id string) (*passkeyd.Device, error) {
	if err := s.record("Device", s.DeviceFn != nil); err != nil {
		return nil, err
	}
	return s.DeviceFn(ctx, id)
}

// RemoveDevice implements passkeyd.Service.
func (s *Service) RemoveDevice(ctx context.Context, id string) (*passkeyd.Device, []passkeyd.Passkey, error) {
	if err := s.record("RemoveDevice", s.RemoveDeviceFn != nil); err != nil {
		return nil, nil, err
	}
	return s.RemoveDeviceFn(ctx, id)
}

// Passkeys implements passkeyd.Service.
func (s *Service) Passkeys(ctx context.Context, f passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
	if err := s.record("Passkeys", s.PasskeysFn != nil); err != nil {
		return nil, err
	}
	return s.PasskeysFn(ctx, f)
}

// Passkey implements passkeyd.Service.
func (s *Service) Passkey(ctx context.Context, id string) (*passkeyd.Passkey, error) {
	if err := s.record("Passkey", s.PasskeyFn != nil); err != nil {
		return nil, err
	}
	return s.PasskeyFn(ctx, id)
}

// AuditEvents implements passkeyd.Service.
func (s *Service) AuditEvents(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
	if err := s.record("AuditEvents", s.AuditEventsFn != nil); err != nil {
		return nil, err
	}
	return s.AuditEventsFn(ctx, f)
}

// VerifyAudit implements passkeyd.Service.
func (s *Service) VerifyAudit(ctx context.Context) (*passkeyd.AuditReport, error) {
	if err := s.record("VerifyAudit", s.VerifyAuditFn != nil); err != nil {
		return nil, err
	}
	return s.VerifyAuditFn(ctx)
}

// CreateAPIToken implements passkeyd.Service.
func (s *Service) CreateAPIToken(ctx context.Context, name string, role passkeyd.Role, ttl time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error) {
	if err := s.record("CreateAPIToken", s.CreateAPITokenFn != nil); err != nil {
		return nil, "", err
	}
	return s.CreateAPITokenFn(ctx, name, role, ttl)
}

// APITokens implements passkeyd.Service.
func (s *Service) APITokens(ctx context.Context) ([]passkeyd.APIToken, error) {
	if err := s.record("APITokens", s.APITokensFn != nil); err != nil {
		return nil, err
	}
	return s.APITokensFn(ctx)
}

// DeleteAPIToken implements passkeyd.Service.
func (s *Service) DeleteAPIToken(ctx context.Context, id string) error {
	if err := s.record("DeleteAPIToken", s.DeleteAPITokenFn != nil); err != nil {
		return err
	}
	return s.DeleteAPITokenFn(ctx, id)
}

// AuthenticateToken implements passkeyd.Service.
func (s *Service) AuthenticateToken(ctx context.Context, tok passkeyd.Secret) (*passkeyd.APIToken, error) {
	if err := s.record("AuthenticateToken", s.AuthenticateTokenFn != nil); err != nil {
		return nil, err
	}
	return s.AuthenticateTokenFn(ctx, tok)
}

// RegisterDevice implements passkeyd.Service.
func (s *Service) RegisterDevice(ctx context.Context, code passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
	if err := s.record("RegisterDevice", s.RegisterDeviceFn != nil); err != nil {
		return nil, "", err
	}
	return s.RegisterDeviceFn(ctx, code, info)
}

// AuthenticateDevice implements passkeyd.Service.
func (s *Service) AuthenticateDevice(ctx context.Context, tok passkeyd.Secret) (*passkeyd.Device, error) {
	if err := s.record("AuthenticateDevice", s.AuthenticateDeviceFn != nil); err != nil {
		return nil, err
	}
	return s.AuthenticateDeviceFn(ctx, tok)
}

// DeviceStatus implements passkeyd.Service.
func (s *Service) DeviceStatus(ctx context.Context, deviceID string) (*passkeyd.DeviceStatus, error) {
	if err := s.record("DeviceStatus", s.DeviceStatusFn != nil); err != nil {
		return nil, err
	}
	return s.DeviceStatusFn(ctx, deviceID)
}

// BeginEnrollment implements passkeyd.Service.
func (s *Service) BeginEnrollment(ctx context.Context, deviceID string) (*passkeyd.EnrollmentOptions, error) {
	if err := s.record("BeginEnrollment", s.BeginEnrollmentFn != nil); err != nil {
		return nil, err
	}
	return s.BeginEnrollmentFn(ctx, deviceID)
}

// FinishEnrollment implements passkeyd.Service.
func (s *Service) FinishEnrollment(ctx context.Context, deviceID, enrollmentID string, cred passkeyd.Credential) (*passkeyd.Passkey, error) {
	if err := s.record("FinishEnrollment", s.FinishEnrollmentFn != nil); err != nil {
		return nil, err
	}
	return s.FinishEnrollmentFn(ctx, deviceID, enrollmentID, cred)
}

// SkipEnrollment implements passkeyd.Service.
func (s *Service) SkipEnrollment(ctx context.Context, deviceID string) error {
	if err := s.record("SkipEnrollment", s.SkipEnrollmentFn != nil); err != nil {
		return err
	}
	return s.SkipEnrollmentFn(ctx, deviceID)
}

// RevokePasskeys implements passkeyd.Service.
func (s *Service) RevokePasskeys(ctx context.Context, f passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error) {
	if err := s.record("RevokePasskeys", s.RevokePasskeysFn != nil); err != nil {
		return nil, err
	}
	return s.RevokePasskeysFn(ctx, f)
}

// OffboardUser implements passkeyd.Service.
func (s *Service) OffboardUser(ctx context.Context, userID string) (*passkeyd.Offboarding, error) {
	if err := s.record("OffboardUser", s.OffboardUserFn != nil); err != nil {
		return nil, err
	}
	return s.OffboardUserFn(ctx, userID)
}

// RequestRevocation implements passkeyd.Service.
func (s *Service) RequestRevocation(ctx context.Context, id string) (*passkeyd.Passkey, error) {
	if err := s.record("RequestRevocation", s.RequestRevocationFn != nil); err != nil {
		return nil, err
	}
	return s.RequestRevocationFn(ctx, id)
}

// Reconcile implements passkeyd.Service.
func (s *Service) Reconcile(ctx context.Context, userID string) (*passkeyd.DriftReport, error) {
	if err := s.record("Reconcile", s.ReconcileFn != nil); err != nil {
		return nil, err
	}
	return s.ReconcileFn(ctx, userID)
}

// CreatePolicy implements passkeyd.Service.
func (s *Service) CreatePolicy(ctx context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
	if err := s.record("CreatePolicy", s.CreatePolicyFn != nil); err != nil {
		return nil, nil, err
	}
	return s.CreatePolicyFn(ctx, p)
}

// UpdateUser implements passkeyd.Service.
func (s *Service) UpdateUser(ctx context.Context, id string, u passkeyd.UserUpdate) (*passkeyd.User, error) {
	if err := s.record("UpdateUser", s.UpdateUserFn != nil); err != nil {
		return nil, err
	}
	return s.UpdateUserFn(ctx, id, u)
}
