package passkeyd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Cloud names a Microsoft cloud: a pair of authority and Graph hosts.
type Cloud string

// Clouds (graph-api.md §1).
const (
	CloudGlobal   Cloud = "global"
	CloudUSGov    Cloud = "usgov"
	CloudUSGovDoD Cloud = "usgov-dod"
	CloudChina    Cloud = "china"
	CloudCustom   Cloud = "custom" // authority and Graph URLs given, e.g. the emulator
)

// Valid reports whether c is a known cloud.
func (c Cloud) Valid() bool {
	switch c {
	case CloudGlobal, CloudUSGov, CloudUSGovDoD, CloudChina, CloudCustom:
		return true
	}
	return false
}

// OffersProvisioning reports whether Microsoft documents Graph's
// creationOptions (and so passkey provisioning) in c: the global cloud
// only (graph-api.md §1). A custom cloud is assumed to (the emulator).
func (c Cloud) OffersProvisioning() bool { return c == CloudGlobal || c == CloudCustom }

// Endpoints returns the authority host and Graph base URL of a preset
// cloud; ok is false for CloudCustom and unknown clouds.
func (c Cloud) Endpoints() (authority, graph string, ok bool) {
	switch c {
	case CloudGlobal:
		return "https://login.microsoftonline.com", "https://graph.microsoft.com", true
	case CloudUSGov:
		return "https://login.microsoftonline.us", "https://graph.microsoft.us", true
	case CloudUSGovDoD:
		return "https://login.microsoftonline.us", "https://dod-graph.microsoft.us", true
	case CloudChina:
		return "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn", true
	}
	return "", "", false
}

// GraphConfig is everything a Graph client needs to act for a tenant.
type GraphConfig struct {
	AuthorityHost string // e.g. https://login.microsoftonline.com, no trailing slash
	GraphURL      string // e.g. https://graph.microsoft.com, no version segment
	TenantID      string
	ClientID      string
	ClientSecret  Secret
	// Certificate, when set, is used instead of ClientSecret: the client
	// authenticates with a signed client assertion.
	Certificate *ClientCertificate
	// RootCAs holds extra PEM roots to trust (the emulator's CA); empty
	// means the system pool.
	RootCAsPEM []byte
	// HTTPDebug logs every request and response, with secrets, tokens and
	// assertion material redacted.
	HTTPDebug bool
	// Timeout bounds each HTTP call; zero means 30 s.
	Timeout time.Duration
}

// GraphClient is the five Graph calls passkeyd makes (graph-api.md §4).
// {user} is an object ID or UPN; implementations escape it.
type GraphClient interface {
	// CreationOptions fetches WebAuthn creation options for user. A
	// timeout of 5 minutes uses v1.0; any other uses beta's inline
	// function-parameter form.
	CreationOptions(ctx context.Context, user string, timeoutMinutes int) (*CreationOptions, error)
	// CreateMethod registers an attested credential for user.
	CreateMethod(ctx context.Context, user string, req CreateMethodRequest) (*Fido2Method, error)
	// ListMethods lists all FIDO2 methods of user, following nextLinks.
	ListMethods(ctx context.Context, user string) ([]Fido2Method, error)
	// GetMethod returns one method; a *GraphError with status 404 if unknown.
	GetMethod(ctx context.Context, user, id string) (*Fido2Method, error)
	// DeleteMethod deletes one method. A 404 is returned as a *GraphError
	// with Status 404 so that callers decide (revocation treats it as done).
	DeleteMethod(ctx context.Context, user, id string) error
	// Token acquires (or returns the cached) access token; used by Test
	// Connection to show its claims.
	Token(ctx context.Context) (string, error)
	// Fido2Policy reads the tenant's FIDO2 authentication method policy
	// (needs Policy.Read.AuthenticationMethod; 403 otherwise).
	Fido2Policy(ctx context.Context) (*Fido2Policy, error)
}

// CreationOptions is Graph's webauthnCredentialCreationOptions.
type CreationOptions struct {
	ChallengeTimeout time.Time
	// PublicKey is Graph's publicKey object exactly as received: it is
	// handed to the device untouched.
	PublicKey json.RawMessage
	// Parsed fields of PublicKey that passkeyd itself needs.
	RPID      string
	Challenge string
	UserName  string
	// ClientRequestID of the call that fetched the options.
	ClientRequestID string
}

// CreateMethodRequest is the body of the Graph create call (graph-api.md
// §4.2); binary values are base64url without padding.
type CreateMethodRequest struct {
	DisplayName            string
	CredentialID           string
	ClientDataJSON         string
	AttestationObject      string
	ClientExtensionResults json.RawMessage // may be nil: sent as {}
}

// Fido2Method is Graph's fido2AuthenticationMethod.
type Fido2Method struct {
	ID                      string    `json:"id"`
	DisplayName             string    `json:"displayName"`
	CreatedDateTime         time.Time `json:"createdDateTime"`
	AAGUID                  string    `json:"aaGuid"`
	Model                   string    `json:"model,omitempty"`
	AttestationCertificates []string  `json:"attestationCertificates,omitempty"`
	AttestationLevel        string    `json:"attestationLevel,omitempty"`
	PasskeyType             string    `json:"passkeyType,omitempty"`
	ClientRequestID         string    `json:"-"`
}

// GraphError is a failed call to the Microsoft identity platform or to
// Graph, with what an admin and the retry logic need.
type GraphError struct {
	Op     string // "token", "creationOptions", "create", "list", "get", "delete", "fido2Policy"
	Status int    // HTTP status; 0 when no response arrived
	// Code is Graph's error code (innermost innerError code wins) or the
	// OAuth error ("invalid_client"); ErrorCodes the AADSTS numbers.
	Code       string
	ErrorCodes []int
	// Message is Microsoft's own description (safe to show an admin).
	Message         string
	RequestID       string
	ClientRequestID string
	// RetryAfter is the server's Retry-After, if any.
	RetryAfter time.Duration
	// Sent reports whether the request body may have reached the server,
	// which makes a create's outcome unknown on a transport error.
	Sent bool
	Err  error // transport cause, if any
}

// Error implements error.
func (e *GraphError) Error() string {
	s := "graph " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if len(e.ErrorCodes) > 0 {
		s += fmt.Sprintf(" AADSTS%d", e.ErrorCodes[0])
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the transport cause.
func (e *GraphError) Unwrap() error { return e.Err }

// Temporary reports whether retrying later may succeed: transport errors,
// 408, 429, and 5xx.
func (e *GraphError) Temporary() bool {
	switch {
	case e.Status == 0:
		return true
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests:
		return true
	case e.Status >= 500:
		return true
	}
	return false
}

// HasErrorCode reports whether the AADSTS code n is among e's codes.
func (e *GraphError) HasErrorCode(n int) bool {
	for _, c := range e.ErrorCodes {
		if c == n {
			return true
		}
	}
	return false
}

// AsGraphError returns the *GraphError in err's chain, or nil.
func AsGraphError(err error) *GraphError {
	var ge *GraphError
	if errors.As(err, &ge) {
		return ge
	}
	return nil
}

// IsGraphNotFound reports whether err is Graph's 404.
func IsGraphNotFound(err error) bool {
	ge := AsGraphError(err)
	return ge != nil && ge.Status == http.StatusNotFound
}
