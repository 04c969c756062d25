package manager

import (
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

const testAAGUID = "2e654094-6d25-4fb2-8448-150efba93f9f"

func okPolicy() *passkeyd.Fido2Policy {
	return &passkeyd.Fido2Policy{State: "enabled", IsSelfServiceRegistrationAllowed: true,
		IncludeTargets: []passkeyd.PolicyTarget{{TargetType: "group", ID: "all_users"}}}
}

func TestPolicyFindings(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(p *passkeyd.Fido2Policy)
		check  string // the finding that must have status
		status string
		detail string
	}{
		{"all good", func(*passkeyd.Fido2Policy) {}, "fido2", passkeyd.StepOK, "enabled"},
		{"disabled", func(p *passkeyd.Fido2Policy) { p.State = "disabled" }, "fido2", passkeyd.StepFailed, "disabled"},
		{"self-service off", func(p *passkeyd.Fido2Policy) { p.IsSelfServiceRegistrationAllowed = false }, "self_service", passkeyd.StepFailed, "self-service"},
		{"legacy attestation enforced", func(p *passkeyd.Fido2Policy) { p.IsAttestationEnforced = true }, "attestation", passkeyd.StepFailed, "FIDO metadata"},
		{"profile attestation enforced", func(p *passkeyd.Fido2Policy) {
			p.PasskeyProfiles = []passkeyd.PasskeyProfile{{Name: "p", AttestationEnforcement: "registrationOnly"}}
		}, "attestation", passkeyd.StepFailed, "enforced"},
		{"allow list without provider", func(p *passkeyd.Fido2Policy) {
			p.KeyRestrictions = &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}}
		}, "aaguid", passkeyd.StepFailed, "not among them"},
		{"allow list with provider (upper case)", func(p *passkeyd.Fido2Policy) {
			p.KeyRestrictions = &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{strings.ToUpper(testAAGUID)}}
		}, "aaguid", passkeyd.StepOK, "allow"},
		{"block list in a profile", func(p *passkeyd.Fido2Policy) {
			p.PasskeyProfiles = []passkeyd.PasskeyProfile{{Name: "p", KeyRestrictions: &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "block", AAGUIDs: []string{testAAGUID}}}}
		}, "aaguid", passkeyd.StepFailed, "blocks"},
		{"unenforced block list", func(p *passkeyd.Fido2Policy) {
			p.KeyRestrictions = &passkeyd.KeyRestrictions{IsEnforced: false, EnforcementType: "block", AAGUIDs: []string{testAAGUID}}
		}, "aaguid", passkeyd.StepOK, "No key restrictions"},
		{"synced only", func(p *passkeyd.Fido2Policy) {
			p.PasskeyProfiles = []passkeyd.PasskeyProfile{{Name: "phones", PasskeyTypes: "synced"}}
		}, "passkey_type", passkeyd.StepFailed, "deviceBound"},
		{"groups only", func(p *passkeyd.Fido2Policy) {
			p.IncludeTargets = []passkeyd.PolicyTarget{{TargetType: "group", ID: "9d2c1f7e-0000-4000-8000-000000000001"}}
		}, "targets", passkeyd.StepWarning, "specific groups"},
		{"nobody", func(p *passkeyd.Fido2Policy) { p.IncludeTargets = nil }, "targets", passkeyd.StepFailed, "nobody"},
		{"exclusions", func(p *passkeyd.Fido2Policy) {
			p.ExcludeTargets = []passkeyd.PolicyTarget{{TargetType: "group", ID: "9d2c1f7e-0000-4000-8000-000000000002"}}
		}, "targets", passkeyd.StepWarning, "excludes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := okPolicy()
			tt.edit(p)
			fs := policyFindings(p, []string{testAAGUID})
			var got *finding
			for i := range fs {
				if fs[i].check == tt.check {
					if got != nil && fs[i].status == passkeyd.StepOK {
						continue
					}
					got = &fs[i]
				}
			}
			if got == nil {
				t.Fatalf("no %s finding in %+v", tt.check, fs)
			}
			if got.status != tt.status || !strings.Contains(got.detail, tt.detail) {
				t.Errorf("%s = %s %q, want %s mentioning %q", tt.check, got.status, got.detail, tt.status, tt.detail)
			}
			// Every check reports exactly once unless it failed per list.
			for _, c := range []string{"fido2", "self_service", "attestation", "passkey_type", "targets"} {
				n := 0
				for _, f := range fs {
					if f.check == c {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d %s findings, want 1", n, c)
				}
			}
		})
	}
}
