package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
)

// fido2PolicyPath is the FIDO2 authentication method configuration
// (graph-api.md §4.5), under /v1.0.
const fido2PolicyPath = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"

// Fido2Policy reads the tenant's FIDO2 authentication method policy for
// Test Connection's optional preflight. It needs
// Policy.Read.AuthenticationMethod: without it Graph answers 403, which
// comes back as a *passkeyd.GraphError with Op "fido2Policy" and Status
// 403 so that the caller reports the step as skipped rather than failed.
func (c *Client) Fido2Policy(ctx context.Context) (*passkeyd.Fido2Policy, error) {
	const op = "fido2Policy"
	res, err := c.do(ctx, call{op: op, method: http.MethodGet, url: c.graphBase.String() + fido2PolicyPath, want: http.StatusOK})
	if err != nil {
		return nil, err
	}
	p, err := parseFido2Policy(res.body)
	if err != nil {
		return nil, malformed(op, res.clientRequestID, err.Error())
	}
	return p, nil
}

// wireFido2Policy is fido2AuthenticationMethodConfiguration as Graph sends
// it. Unknown fields and @odata annotations are ignored; passkeyTypes is
// read as the documented comma-separated string or, should Graph ever
// send it so, a list.
type wireFido2Policy struct {
	State                            *string                   `json:"state"`
	IsSelfServiceRegistrationAllowed *bool                     `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            *bool                     `json:"isAttestationEnforced"`
	KeyRestrictions                  *passkeyd.KeyRestrictions `json:"keyRestrictions"`
	IncludeTargets                   []passkeyd.PolicyTarget   `json:"includeTargets"`
	ExcludeTargets                   []passkeyd.PolicyTarget   `json:"excludeTargets"`
	PasskeyProfiles                  []wirePasskeyProfile      `json:"passkeyProfiles"`
}

type wirePasskeyProfile struct {
	ID                     string                    `json:"id"`
	Name                   string                    `json:"name"`
	PasskeyTypes           json.RawMessage           `json:"passkeyTypes"`
	AttestationEnforcement string                    `json:"attestationEnforcement"`
	KeyRestrictions        *passkeyd.KeyRestrictions `json:"keyRestrictions"`
}

// parseFido2Policy decodes the policy. state is the one field it insists
// on: a preflight that cannot tell enabled from disabled has nothing to
// say, and reading a missing state as "" would look like a real answer.
func parseFido2Policy(body []byte) (*passkeyd.Fido2Policy, error) {
	if !isJSONObject(body) {
		return nil, fmt.Errorf("FIDO2 policy is not a JSON object")
	}
	var w wireFido2Policy
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("FIDO2 policy: %v", err)
	}
	if w.State == nil || *w.State == "" {
		return nil, fmt.Errorf("FIDO2 policy has no state")
	}
	p := &passkeyd.Fido2Policy{
		State:           *w.State,
		KeyRestrictions: w.KeyRestrictions,
		IncludeTargets:  w.IncludeTargets,
		ExcludeTargets:  w.ExcludeTargets,
	}
	if w.IsSelfServiceRegistrationAllowed != nil {
		p.IsSelfServiceRegistrationAllowed = *w.IsSelfServiceRegistrationAllowed
	}
	if w.IsAttestationEnforced != nil {
		p.IsAttestationEnforced = *w.IsAttestationEnforced
	}
	for i, wp := range w.PasskeyProfiles {
		types, err := passkeyTypes(wp.PasskeyTypes)
		if err != nil {
			return nil, fmt.Errorf("FIDO2 policy passkeyProfiles[%d].passkeyTypes: %v", i, err)
		}
		p.PasskeyProfiles = append(p.PasskeyProfiles, passkeyd.PasskeyProfile{
			ID:                     wp.ID,
			Name:                   wp.Name,
			PasskeyTypes:           types,
			AttestationEnforcement: wp.AttestationEnforcement,
			KeyRestrictions:        wp.KeyRestrictions,
		})
	}
	return p, nil
}

// passkeyTypes reads "deviceBound,synced", ["deviceBound","synced"] or
// null into the comma-separated form.
func passkeyTypes(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", fmt.Errorf("neither a string nor a list of strings")
	}
	return strings.Join(list, ","), nil
}
