package entraemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
)

// FIDO2 policy vocabulary (graph-api.md §4.5).
const (
	policyEnabled               = "enabled"
	policyDisabled              = "disabled"
	targetAllUsers              = "all_users"
	targetGroup                 = "group"
	targetUser                  = "user"
	enforceAllow                = "allow"
	enforceBlock                = "block"
	passkeyDeviceBound          = "deviceBound"
	passkeySynced               = "synced"
	attestationDisabled         = "disabled"
	attestationRegistrationOnly = "registrationOnly"
)

// Bounds on a policy given to SetFido2Policy or a seed file.
const (
	maxPolicyTargets  = 500
	maxPolicyAAGUIDs  = 500
	maxPolicyProfiles = 50
	maxProfileField   = 256
)

// defaultFido2Policy is the policy of a new tenant: FIDO2 enabled for all
// users, self-service allowed, no attestation or key restrictions, no
// passkey profiles.
func defaultFido2Policy() passkeyd.Fido2Policy {
	return passkeyd.Fido2Policy{
		State:                            policyEnabled,
		IsSelfServiceRegistrationAllowed: true,
		IncludeTargets:                   []passkeyd.PolicyTarget{{TargetType: targetGroup, ID: targetAllUsers}},
	}
}

// SetFido2Policy replaces a tenant's (GUID or domain) FIDO2 policy. The
// policy is validated strictly, every problem reported at once; GUIDs
// are stored lowercase.
func (e *Emulator) SetFido2Policy(tenant string, p passkeyd.Fido2Policy) error {
	np, err := normaliseFido2Policy(p)
	if err != nil {
		return fmt.Errorf("entraemu: set FIDO2 policy: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenant(tenant)
	if t == nil {
		return fmt.Errorf("entraemu: set FIDO2 policy: tenant %q not found", tenant)
	}
	t.policy = np
	return nil
}

// Fido2Policy returns a copy of a tenant's FIDO2 policy, or the zero
// policy when the tenant is unknown.
func (e *Emulator) Fido2Policy(tenant string) passkeyd.Fido2Policy {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenant(tenant)
	if t == nil {
		return passkeyd.Fido2Policy{}
	}
	return cloneFido2Policy(t.policy)
}

// normaliseFido2Policy validates p and returns a deep copy with GUIDs in
// lowercase.
func normaliseFido2Policy(p passkeyd.Fido2Policy) (passkeyd.Fido2Policy, error) {
	p = cloneFido2Policy(p)
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.State != policyEnabled && p.State != policyDisabled {
		bad("state %q must be %q or %q", truncate(p.State, 32), policyEnabled, policyDisabled)
	}
	errs = append(errs, normaliseKeyRestrictions("keyRestrictions", p.KeyRestrictions)...)
	errs = append(errs, normaliseTargets("includeTargets", p.IncludeTargets)...)
	errs = append(errs, normaliseTargets("excludeTargets", p.ExcludeTargets)...)
	if len(p.PasskeyProfiles) > maxPolicyProfiles {
		bad("passkeyProfiles: %d profiles, at most %d", len(p.PasskeyProfiles), maxPolicyProfiles)
	}
	for i := range p.PasskeyProfiles {
		pp := &p.PasskeyProfiles[i]
		where := fmt.Sprintf("passkeyProfiles[%d]", i)
		if len(pp.ID) > maxProfileField || len(pp.Name) > maxProfileField {
			bad("%s: id and name are limited to %d bytes", where, maxProfileField)
		}
		if _, err := parsePasskeyTypes(pp.PasskeyTypes); err != nil {
			bad("%s.passkeyTypes: %w", where, err)
		}
		if pp.AttestationEnforcement != attestationDisabled && pp.AttestationEnforcement != attestationRegistrationOnly {
			bad("%s.attestationEnforcement %q must be %q or %q", where, truncate(pp.AttestationEnforcement, 32), attestationDisabled, attestationRegistrationOnly)
		}
		errs = append(errs, normaliseKeyRestrictions(where+".keyRestrictions", pp.KeyRestrictions)...)
	}
	if err := errors.Join(errs...); err != nil {
		return passkeyd.Fido2Policy{}, err
	}
	return p, nil
}

func normaliseKeyRestrictions(where string, kr *passkeyd.KeyRestrictions) []error {
	if kr == nil {
		return nil
	}
	var errs []error
	switch {
	case kr.EnforcementType == enforceAllow || kr.EnforcementType == enforceBlock:
	case kr.EnforcementType == "" && !kr.IsEnforced:
	default:
		errs = append(errs, fmt.Errorf("%s.enforcementType %q must be %q or %q", where, truncate(kr.EnforcementType, 32), enforceAllow, enforceBlock))
	}
	if len(kr.AAGUIDs) > maxPolicyAAGUIDs {
		return append(errs, fmt.Errorf("%s.aaGuids: %d entries, at most %d", where, len(kr.AAGUIDs), maxPolicyAAGUIDs))
	}
	for i, g := range kr.AAGUIDs {
		if !passkeyd.IsGUID(g) {
			errs = append(errs, fmt.Errorf("%s.aaGuids[%d] %q is not a GUID", where, i, truncate(g, 64)))
			continue
		}
		kr.AAGUIDs[i] = strings.ToLower(g)
	}
	return errs
}

func normaliseTargets(where string, ts []passkeyd.PolicyTarget) []error {
	if len(ts) > maxPolicyTargets {
		return []error{fmt.Errorf("%s: %d targets, at most %d", where, len(ts), maxPolicyTargets)}
	}
	var errs []error
	for i := range ts {
		tg := &ts[i]
		if tg.TargetType != targetGroup && tg.TargetType != targetUser {
			errs = append(errs, fmt.Errorf("%s[%d].targetType %q must be %q or %q", where, i, truncate(tg.TargetType, 32), targetGroup, targetUser))
		}
		switch {
		case tg.ID == targetAllUsers:
		case passkeyd.IsGUID(tg.ID):
			tg.ID = strings.ToLower(tg.ID)
		default:
			errs = append(errs, fmt.Errorf("%s[%d].id %q must be a GUID or %q", where, i, truncate(tg.ID, 64), targetAllUsers))
		}
	}
	return errs
}

// passkeyTypes is a parsed passkeyTypes value.
type passkeyTypes struct{ deviceBound, synced bool }

// parsePasskeyTypes reads "deviceBound,synced" (either or both, in any
// order, Graph's comma-separated flags enum).
func parsePasskeyTypes(s string) (passkeyTypes, error) {
	var pt passkeyTypes
	if s == "" {
		return pt, errors.New(`is empty; use "deviceBound", "synced" or "deviceBound,synced"`)
	}
	for _, v := range strings.Split(s, ",") {
		switch strings.TrimSpace(v) {
		case passkeyDeviceBound:
			pt.deviceBound = true
		case passkeySynced:
			pt.synced = true
		default:
			return pt, fmt.Errorf("%q is not %q or %q", truncate(v, 32), passkeyDeviceBound, passkeySynced)
		}
	}
	return pt, nil
}

func cloneFido2Policy(p passkeyd.Fido2Policy) passkeyd.Fido2Policy {
	p.KeyRestrictions = cloneKeyRestrictions(p.KeyRestrictions)
	p.IncludeTargets = slices.Clone(p.IncludeTargets)
	p.ExcludeTargets = slices.Clone(p.ExcludeTargets)
	p.PasskeyProfiles = slices.Clone(p.PasskeyProfiles)
	for i := range p.PasskeyProfiles {
		p.PasskeyProfiles[i].KeyRestrictions = cloneKeyRestrictions(p.PasskeyProfiles[i].KeyRestrictions)
	}
	return p
}

func cloneKeyRestrictions(kr *passkeyd.KeyRestrictions) *passkeyd.KeyRestrictions {
	if kr == nil {
		return nil
	}
	c := *kr
	c.AAGUIDs = slices.Clone(kr.AAGUIDs)
	return &c
}

// isFido2PolicyPath reports whether segs (unescaped, after the version)
// name /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2.
// Graph matches the configuration ID case-insensitively ("Fido2").
func isFido2PolicyPath(segs []string) bool {
	return len(segs) == 5 && segs[1] == "policies" && segs[2] == "authenticationMethodsPolicy" &&
		segs[3] == "authenticationMethodConfigurations" && strings.EqualFold(segs[4], "fido2")
}

// serveFido2Policy answers GET .../authenticationMethodConfigurations/fido2
// for the token's tenant. Writing the policy is not emulated (405): tests
// and seeds set it through the Go API.
func (e *Emulator) serveFido2Policy(w http.ResponseWriter, r *http.Request, c *graphCall) {
	if r.Method != http.MethodGet {
		e.writeGraphError(w, c, gerr(http.StatusMethodNotAllowed, "methodNotAllowed", "The HTTP method '"+r.Method+"' is not allowed on this resource; the emulator serves the FIDO2 policy read-only."))
		return
	}
	e.mu.Lock()
	e.stats.GraphCalls[OpGetFido2Policy]++
	e.mu.Unlock()
	t, roles, ge := e.authenticate(r, c)
	if ge == nil && !slices.ContainsFunc(roles, func(v any) bool {
		return v == RolePolicyReadAuthMethod || v == RolePolicyReadWriteAuthMethod
	}) {
		ge = gerr(http.StatusForbidden, "accessDenied", "Request Authorization failed: the token has no "+RolePolicyReadAuthMethod+" or "+RolePolicyReadWriteAuthMethod+" role. Grant admin consent to the application permission to read the FIDO2 policy.")
	}
	if ge != nil {
		e.log.Info("graph call refused", "op", OpGetFido2Policy, "status", ge.status, "code", ge.code, "request_id", c.requestID)
		e.writeGraphError(w, c, ge)
		return
	}
	if e.applyFault(w, r, OpGetFido2Policy, func(w http.ResponseWriter, ge *graphError) { e.writeGraphError(w, c, ge) }) {
		return
	}
	e.mu.Lock()
	p := cloneFido2Policy(t.policy)
	e.mu.Unlock()
	body, err := fido2PolicyJSON(p)
	if err != nil {
		e.log.Error("encode FIDO2 policy", "err", err)
		e.writeGraphError(w, c, gerr(http.StatusInternalServerError, "generalException", "The policy could not be encoded."))
		return
	}
	body["@odata.context"] = e.baseURL(r) + "/" + c.version + "/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity"
	body["@odata.type"] = "#microsoft.graph.fido2AuthenticationMethodConfiguration"
	body["id"] = "Fido2"
	writeGraphJSON(w, http.StatusOK, body)
}

// fido2PolicyJSON renders p as Graph does: keyRestrictions and both
// target lists are always present (Graph never omits them), profiles too.
func fido2PolicyJSON(p passkeyd.Fido2Policy) (map[string]any, error) {
	if p.KeyRestrictions == nil {
		p.KeyRestrictions = &passkeyd.KeyRestrictions{EnforcementType: enforceBlock}
	}
	if p.KeyRestrictions.AAGUIDs == nil {
		p.KeyRestrictions.AAGUIDs = []string{}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal policy: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("unmarshal policy: %w", err)
	}
	for _, k := range []string{"includeTargets", "excludeTargets", "passkeyProfiles"} {
		if _, ok := m[k]; !ok {
			m[k] = []any{}
		}
	}
	return m, nil
}

// userTargeted reports whether targets name everyone, the user or one of
// the user's groups.
func userTargeted(targets []passkeyd.PolicyTarget, u *User) bool {
	return slices.ContainsFunc(targets, func(tg passkeyd.PolicyTarget) bool {
		switch {
		case tg.ID == targetAllUsers:
			return true
		case tg.TargetType == targetUser:
			return strings.EqualFold(tg.ID, u.ID)
		default:
			return slices.Contains(u.Groups, strings.ToLower(tg.ID))
		}
	})
}

// aaguidIn reports whether the AAGUID (canonical lowercase string) is in
// the list.
func aaguidIn(list []string, aaguid uuid.UUID) bool {
	return slices.Contains(list, aaguid.String())
}
