package manager

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// checkPolicy reads the tenant's FIDO2 policy and reports, finding by
// finding, whether provisioning through passkeyd can work under it. Without
// Policy.Read.AuthenticationMethod it says "skipped" and why.
func (m *Manager) checkPolicy(ctx context.Context, r *reportBuilder, g passkeyd.GraphClient) {
	p, err := g.Fido2Policy(ctx)
	if ge := passkeyd.AsGraphError(err); ge != nil && ge.Status == http.StatusForbidden {
		r.add("policy", passkeyd.StepSkipped, ge.Code, "Skipped: the app lacks Policy.Read.AuthenticationMethod, so passkeyd cannot read the tenant's FIDO2 policy. Grant that application permission (with admin consent) to let Test Connection check it; provisioning does not need it.")
		return
	}
	if err != nil {
		code, detail := explainGraphError(err)
		r.warn("policy", code, "The FIDO2 policy could not be read: "+detail)
		return
	}
	for _, f := range policyFindings(p, m.aaguids) {
		r.add("policy."+f.check, f.status, "", f.detail)
		if f.status == passkeyd.StepFailed {
			r.failed = true
		}
	}
}

// finding is one result of the policy doctor.
type finding struct {
	check, status, detail string
}

// policyFindings checks a FIDO2 policy against what passkeyd needs to
// provision device-bound passkeys from providers with the given AAGUIDs
// (graph-api.md §4.5, §5, §7). It is a pure function: each rule is a
// finding, ok or not.
func policyFindings(p *passkeyd.Fido2Policy, aaguids []string) []finding {
	var fs []finding
	add := func(check, status, format string, args ...any) {
		fs = append(fs, finding{check, status, fmt.Sprintf(format, args...)})
	}
	if strings.EqualFold(p.State, "enabled") {
		add("fido2", passkeyd.StepOK, "Passkey (FIDO2) is enabled in the Authentication methods policy.")
	} else {
		add("fido2", passkeyd.StepFailed, "Passkey (FIDO2) is %s in the tenant's Authentication methods policy: enable it (Entra admin center → Authentication methods → Passkey (FIDO2)).", orUnknown(p.State))
	}
	if p.IsSelfServiceRegistrationAllowed {
		add("self_service", passkeyd.StepOK, "Self-service setup is allowed, which provisioning on behalf of users requires.")
	} else {
		add("self_service", passkeyd.StepFailed, "\"Allow self-service set up\" is off: with it off, provisioning passkeys on behalf of users fails (a known Entra issue). Turn it on in the Passkey (FIDO2) settings.")
	}

	enforced := p.IsAttestationEnforced
	for _, pr := range p.PasskeyProfiles {
		enforced = enforced || strings.EqualFold(pr.AttestationEnforcement, "registrationOnly")
	}
	if enforced {
		add("attestation", passkeyd.StepFailed, "Attestation is enforced: Entra then accepts only packed attestation chaining to a root in FIDO metadata, and passkeyd's software provider presents self-attestation. Turn enforcement off, or enroll only with providers listed in FIDO metadata.")
	} else {
		add("attestation", passkeyd.StepOK, "Attestation is not enforced: self-attested device-bound passkeys are accepted.")
	}

	restrictions := []*passkeyd.KeyRestrictions{p.KeyRestrictions}
	for _, pr := range p.PasskeyProfiles {
		restrictions = append(restrictions, pr.KeyRestrictions)
	}
	restricted := false
	for _, kr := range restrictions {
		if kr == nil || !kr.IsEnforced {
			continue
		}
		restricted = true
		for _, id := range aaguids {
			listed := slices.ContainsFunc(kr.AAGUIDs, func(s string) bool { return strings.EqualFold(s, id) })
			switch {
			case strings.EqualFold(kr.EnforcementType, "allow") && !listed:
				add("aaguid", passkeyd.StepFailed, "The key restriction policy allows only listed AAGUIDs and the provider's AAGUID %s is not among them: add it to the allow list.", id)
			case strings.EqualFold(kr.EnforcementType, "block") && listed:
				add("aaguid", passkeyd.StepFailed, "The key restriction policy blocks the provider's AAGUID %s: remove it from the block list.", id)
			}
		}
	}
	if !slices.ContainsFunc(fs, func(f finding) bool { return f.check == "aaguid" }) {
		if restricted {
			add("aaguid", passkeyd.StepOK, "Key restrictions allow the provider's AAGUIDs %v.", aaguids)
		} else {
			add("aaguid", passkeyd.StepOK, "No key restrictions are enforced.")
		}
	}

	typesOK := true
	for _, pr := range p.PasskeyProfiles {
		if pr.PasskeyTypes != "" && !strings.Contains(strings.ToLower(pr.PasskeyTypes), "devicebound") {
			typesOK = false
			add("passkey_type", passkeyd.StepFailed, "The passkey profile %q allows only %q: allow deviceBound passkeys.", orUnknown(pr.Name), pr.PasskeyTypes)
		}
	}
	if typesOK {
		add("passkey_type", passkeyd.StepOK, "Device-bound passkeys are allowed.")
	}

	allUsers := slices.ContainsFunc(p.IncludeTargets, func(t passkeyd.PolicyTarget) bool { return t.ID == "all_users" })
	switch {
	case len(p.IncludeTargets) == 0:
		add("targets", passkeyd.StepFailed, "The FIDO2 policy targets nobody: include All users or the groups whose passkeys passkeyd provisions.")
	case !allUsers:
		add("targets", passkeyd.StepWarning, "The FIDO2 policy targets %d specific groups or users: people outside them cannot receive passkeys.", len(p.IncludeTargets))
	case len(p.ExcludeTargets) > 0:
		add("targets", passkeyd.StepWarning, "The FIDO2 policy targets all users but excludes %d groups or users: their enrollments will fail.", len(p.ExcludeTargets))
	default:
		add("targets", passkeyd.StepOK, "The FIDO2 policy targets all users.")
	}
	return fs
}

func orUnknown(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return s
}

// dryRun answers "would enrollment for this user succeed?" without creating
// anything: the user exists in Entra, passkeyd knows them and offers a
// passkey, and Entra issues creation options for them (a challenge that is
// simply left to expire).
func (m *Manager) dryRun(ctx context.Context, r *reportBuilder, g passkeyd.GraphClient, c *passkeyd.Connector, user string) {
	methods, err := g.ListMethods(ctx, user)
	if err != nil {
		code, detail := explainGraphError(err)
		if passkeyd.IsGraphNotFound(err) {
			detail = fmt.Sprintf("%s was not found in tenant %s: check the UPN or object ID.", user, c.TenantID)
		}
		r.fail("dry_run.user", code, detail)
		return
	}
	// Count the user's methods passkeyd holds (all pages of the user's
	// passkeys, not a global first page).
	managed := 0
	if pu, err := m.store.UserByUPN(ctx, user); err == nil {
		if claimed, err := m.claimedMethods(ctx, pu.ID); err == nil {
			for _, meth := range methods {
				if claimed[meth.ID] {
					managed++
				}
			}
		}
	}
	r.ok("dry_run.user", fmt.Sprintf("%s exists in Entra with %d FIDO2 methods (%d registered by passkeyd).", user, len(methods), managed))

	if u, err := m.store.UserByUPN(ctx, user); err != nil {
		r.warn("dry_run.passkeyd", "", fmt.Sprintf("%s is not a passkeyd user yet: add the user and send an invitation.", user))
	} else if p, err := m.effectivePolicy(ctx, u); err == nil && p.EntraPasskey == passkeyd.PolicyOff {
		r.warn("dry_run.passkeyd", "", fmt.Sprintf("%s's policy %q has Entra Passkey off: no passkey would be offered.", user, p.Name))
	} else if err == nil {
		r.ok("dry_run.passkeyd", fmt.Sprintf("%s's policy %q offers an Entra passkey (%s).", user, p.Name, p.EntraPasskey))
	}

	opts, err := g.CreationOptions(ctx, user, c.ChallengeTimeoutMinutes)
	if err != nil {
		code, detail := explainGraphError(err)
		r.fail("dry_run.creation_options", code, "Entra refused creation options for "+user+": "+detail)
		return
	}
	r.ok("dry_run.creation_options", fmt.Sprintf("Entra issued creation options for %s (relying party %s, challenge valid until %s); nothing was created.",
		user, opts.RPID, opts.ChallengeTimeout.UTC().Format(time.RFC3339)))
}
