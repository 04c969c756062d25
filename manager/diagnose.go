package manager

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Application permissions that allow passkey provisioning (graph-api.md §3).
var passkeyRoles = []string{"UserAuthMethod-Passkey.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"}

// probeUser is a user that exists in no tenant: Graph answers 404 for it
// when the token is accepted and 401/403 when it is not, so Test Connection
// can check the token without touching anyone's methods.
const probeUser = "00000000-0000-0000-0000-000000000000"

// TestConnection checks the connector step by step: configuration,
// credential expiry, token, permission in the token, a Graph call, the
// tenant's FIDO2 policy (the "policy doctor") and, for opts.User, a dry
// run of enrollment. A failed step of the chain ends it; the policy
// checks and the dry run report each finding.
func (m *Manager) TestConnection(ctx context.Context, opts passkeyd.TestOptions) (*passkeyd.ConnectionReport, error) {
	if opts.User != "" && !passkeyd.IsGUID(opts.User) && !passkeyd.ValidUPN(opts.User) {
		return nil, fieldError("user", "must be a UPN such as alice@contoso.com or an object ID")
	}
	r := &reportBuilder{}
	c, err := m.Connector(ctx)
	if err != nil {
		return nil, err
	}
	m.checkConfiguration(r, c)
	m.checkCredentialExpiry(r, c)
	var g passkeyd.GraphClient
	if !r.failed {
		if g, _, err = m.clientFor(c); err != nil { // the settings just read, not the cached ones
			r.fail("token", "", passkeyd.ErrorMessage(err))
		}
	}
	if !r.failed {
		m.testToken(ctx, r, g)
	}
	if !r.failed {
		m.checkPolicy(ctx, r, g)
	}
	if !r.failed && opts.User != "" {
		m.dryRun(ctx, r, g, c, opts.User)
	}
	r.skipRest("configuration", "token", "permission", "graph", "policy")
	rep := &passkeyd.ConnectionReport{OK: !r.failed, Steps: r.steps}
	ev := m.event(ctx, "connector.tested", "connector", c.ID, map[string]any{"ok": rep.OK, "user": opts.User})
	if !rep.OK {
		ev = failure(ev, r.lastFailure())
	}
	m.audit(ctx, ev)
	return rep, nil
}

func (m *Manager) checkConfiguration(r *reportBuilder, c *passkeyd.Connector) {
	switch {
	case !c.Enabled:
		r.fail("configuration", "", "The connector is disabled: enable it and save.")
		return
	case c.TenantID == "" || c.ClientID == "":
		r.fail("configuration", "", "Tenant ID and client ID are both required.")
		return
	case c.CredentialType == passkeyd.CredentialSecret && !c.HasClientSecret:
		r.fail("configuration", "", "No client secret is set: paste the secret's Value, or upload a certificate.")
		return
	case c.CredentialType == passkeyd.CredentialCertificate && c.CertificateChainPEM == "":
		r.fail("configuration", "", "No client certificate is stored: upload one, or use a client secret.")
		return
	}
	note := fmt.Sprintf("Tenant %s, client %s, %s credential.", c.TenantID, c.ClientID, c.CredentialType)
	if c.ChallengeTimeoutMinutes != passkeyd.DefaultChallengeTimeoutMinutes {
		note += fmt.Sprintf(" The %d-minute challenge timeout uses the Graph beta endpoint.", c.ChallengeTimeoutMinutes)
	}
	r.ok("configuration", note)
	if !c.Cloud.OffersProvisioning() {
		r.warn("cloud", "", fmt.Sprintf("Microsoft documents passkey provisioning (creationOptions) for the global cloud only; the %s cloud offers list and delete but not enrollment.", c.Cloud))
	}
}

// expiryWarning is how long before a credential expires Test Connection
// starts warning.
const expiryWarning = 30 * 24 * time.Hour

func (m *Manager) checkCredentialExpiry(r *reportBuilder, c *passkeyd.Connector) {
	if r.failed {
		return
	}
	now := m.now()
	var what string
	var exp *time.Time
	switch c.CredentialType {
	case passkeyd.CredentialCertificate:
		if c.Certificate == nil || c.Certificate.NotAfter.IsZero() {
			return
		}
		what, exp = "certificate "+c.Certificate.ThumbprintSHA1, &c.Certificate.NotAfter
	default:
		what, exp = "client secret", c.ClientSecretExpiresAt
	}
	switch {
	case exp == nil:
		r.warn("credential", "", "The client secret's expiry date is not recorded: enter it so passkeyd can warn before it expires.")
	case !now.Before(*exp):
		r.fail("credential", "", fmt.Sprintf("The %s expired on %s: create a new one in the app registration and save it here.", what, exp.Format("2006-01-02")))
	case exp.Sub(now) < expiryWarning:
		r.warn("credential", "", fmt.Sprintf("The %s expires in %d days, on %s: renew it before then.", what, int(exp.Sub(now).Hours()/24), exp.Format("2006-01-02")))
	default:
		r.ok("credential", fmt.Sprintf("The %s is valid until %s.", what, exp.Format("2006-01-02")))
	}
}

func (m *Manager) testToken(ctx context.Context, r *reportBuilder, g passkeyd.GraphClient) {
	tok, err := g.Token(ctx)
	if err != nil {
		code, detail := explainGraphError(err)
		r.fail("token", code, detail)
		return
	}
	r.ok("token", "Entra issued an access token.")
	claims, err := decodeClaims(tok)
	if err != nil {
		r.warn("permission", "", "The token could not be decoded to check its roles: "+err.Error())
	} else if !slices.ContainsFunc(claims.Roles, func(s string) bool { return slices.Contains(passkeyRoles, s) }) {
		detail := "The token carries no application roles: admin consent was never granted. In the app registration, open API permissions and click \"Grant admin consent\" for UserAuthMethod-Passkey.ReadWrite.All."
		if len(claims.Roles) > 0 {
			detail = fmt.Sprintf("The token's roles %v lack UserAuthMethod-Passkey.ReadWrite.All: add that application permission and grant admin consent.", claims.Roles)
		}
		r.fail("permission", "", detail)
		return
	} else {
		r.ok("permission", fmt.Sprintf("The token holds %v.", claims.Roles))
	}
	_, err = g.ListMethods(ctx, probeUser)
	switch ge := passkeyd.AsGraphError(err); {
	case err == nil, ge != nil && ge.Status == http.StatusNotFound:
		r.ok("graph", "Microsoft Graph accepted the token for authentication methods.")
	default:
		code, detail := explainGraphError(err)
		r.fail("graph", code, detail)
	}
}

// explainGraphError turns a failed call into Microsoft's code and one
// sentence telling the admin what to fix.
func explainGraphError(err error) (code, detail string) {
	ge := passkeyd.AsGraphError(err)
	if ge == nil {
		return "", passkeyd.ErrorMessage(err)
	}
	if len(ge.ErrorCodes) > 0 {
		code = "AADSTS" + strconv.Itoa(ge.ErrorCodes[0])
		if advice := passkeyd.ExplainAADSTS(ge.ErrorCodes[0]); advice != "" {
			return code, advice
		}
		return code, "Entra refused the token request: " + ge.Message
	}
	code = ge.Code
	switch {
	case ge.Status == 0:
		return code, "The endpoint could not be reached: check the host, the network and its TLS certificate. " + errorText(ge.Err)
	case ge.Status == http.StatusForbidden:
		return code, "Graph denied access: grant the UserAuthMethod-Passkey.ReadWrite.All application permission and admin consent."
	case ge.Status == http.StatusUnauthorized:
		return code, "Graph rejected the token: check that the tenant and cloud match the app registration."
	case ge.Status == http.StatusTooManyRequests:
		return code, "Graph is throttling this app; try again later."
	}
	return code, fmt.Sprintf("Graph answered HTTP %d: %s", ge.Status, ge.Message)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

type tokenClaims struct {
	Roles []string `json:"roles"`
	TID   string   `json:"tid"`
	AppID string   `json:"appid"`
}

// decodeClaims reads (without verifying: it is only for diagnosis) the
// payload of a JWT access token.
func decodeClaims(tok string) (*tokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return nil, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("payload is not base64url")
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, errors.New("payload is not JSON")
	}
	return &c, nil
}

// reportBuilder collects Test Connection steps.
type reportBuilder struct {
	steps  []passkeyd.ConnectionStep
	failed bool
}

func (r *reportBuilder) add(name, status, code, detail string) {
	r.steps = append(r.steps, passkeyd.ConnectionStep{Name: name, Status: status, Code: code, Detail: detail})
}
func (r *reportBuilder) ok(name, detail string) { r.add(name, passkeyd.StepOK, "", detail) }
func (r *reportBuilder) warn(name, code, detail string) {
	r.add(name, passkeyd.StepWarning, code, detail)
}
func (r *reportBuilder) fail(name, code, detail string) {
	r.add(name, passkeyd.StepFailed, code, detail)
	r.failed = true
}

// skipRest adds a skipped entry for each named step not yet reported.
func (r *reportBuilder) skipRest(names ...string) {
	for _, n := range names {
		if !slices.ContainsFunc(r.steps, func(s passkeyd.ConnectionStep) bool { return s.Name == n || strings.HasPrefix(s.Name, n+".") }) {
			r.add(n, passkeyd.StepSkipped, "", "Skipped: an earlier step failed.")
		}
	}
}

func (r *reportBuilder) lastFailure() string {
	for i := len(r.steps) - 1; i >= 0; i-- {
		if r.steps[i].Status == passkeyd.StepFailed {
			return r.steps[i].Name + ": " + r.steps[i].Detail
		}
	}
	return ""
}
