package entraemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	passkeyd "github.com/passkeyd/passkeyd"
)

// maxSeed bounds a seed file.
const maxSeed = 8 << 20

// Seed is the initial state of an emulator, usually from a JSON file:
//
//	{"tenants": [{"id": "<guid>", "domain": "contoso.onmicrosoft.com",
//	  "apps": [{"client_id": "<guid>", "display_name": "passkeyd",
//	            "secrets": [{"id": "<guid>", "value": "…", "expires": "2030-01-01T00:00:00Z"}],
//	            "roles": ["UserAuthMethod-Passkey.ReadWrite.All"],
//	            "certificates": [{"pem": "-----BEGIN CERTIFICATE-----…"}]}],
//	  "users": [{"id": "<guid>", "upn": "alice@contoso.onmicrosoft.com", "display_name": "Alice",
//	             "groups": ["<group guid>"]}],
//	  "fido2_policy": {"state": "enabled", "isSelfServiceRegistrationAllowed": true,
//	                   "isAttestationEnforced": false,
//	                   "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": ["<guid>"]},
//	                   "includeTargets": [{"targetType": "group", "id": "all_users"}],
//	                   "excludeTargets": [{"targetType": "group", "id": "<group guid>"}],
//	                   "passkeyProfiles": [{"id": "…", "name": "…", "passkeyTypes": "deviceBound",
//	                                        "attestationEnforcement": "registrationOnly"}]}}],
//	 "trusted_attestation_roots": ["-----BEGIN CERTIFICATE-----…"]}
//
// Empty IDs get random GUIDs. Unknown fields are errors. A tenant without
// fido2_policy gets the default policy (FIDO2 enabled for all users,
// self-service allowed, no restrictions); the policy's own fields use
// Graph's names, as GET .../authenticationMethodConfigurations/fido2
// returns them.
type Seed struct {
	Tenants []SeedTenant `json:"tenants"`
	// TrustedAttestationRoots are PEM certificates trusted as attestation
	// roots (see AddTrustedAttestationRoot).
	TrustedAttestationRoots []string `json:"trusted_attestation_roots,omitempty"`
}

// SeedTenant is one tenant of a Seed with what it owns.
type SeedTenant struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
	Apps   []App  `json:"apps"`
	Users  []User `json:"users"`
	// Fido2Policy, when set, replaces the default FIDO2 policy.
	Fido2Policy *passkeyd.Fido2Policy `json:"fido2_policy,omitempty"`
}

// LoadSeed decodes a JSON seed strictly (unknown fields are errors,
// at most 8 MiB).
func LoadSeed(r io.Reader) (*Seed, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxSeed+1))
	dec.DisallowUnknownFields()
	var s Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("entraemu: decode seed: %w", err)
	}
	if dec.More() {
		return nil, errors.New("entraemu: decode seed: trailing data after the JSON object")
	}
	if len(s.Tenants) == 0 {
		return nil, errors.New("entraemu: seed has no tenants")
	}
	return &s, nil
}

// applySeed adds every tenant, app and user, reporting every problem.
func (e *Emulator) applySeed(s *Seed) error {
	var errs []error
	for i, st := range s.Tenants {
		t, err := e.AddTenant(Tenant{ID: st.ID, Domain: st.Domain})
		if err != nil {
			errs = append(errs, fmt.Errorf("tenants[%d]: %w", i, err))
			continue
		}
		for j, a := range st.Apps {
			if _, err := e.AddApp(t.ID, a); err != nil {
				errs = append(errs, fmt.Errorf("tenants[%d].apps[%d]: %w", i, j, err))
			}
		}
		for j, u := range st.Users {
			if _, err := e.AddUser(t.ID, u); err != nil {
				errs = append(errs, fmt.Errorf("tenants[%d].users[%d]: %w", i, j, err))
			}
		}
		if st.Fido2Policy != nil {
			if err := e.SetFido2Policy(t.ID, *st.Fido2Policy); err != nil {
				errs = append(errs, fmt.Errorf("tenants[%d].fido2_policy: %w", i, err))
			}
		}
	}
	for i, root := range s.TrustedAttestationRoots {
		if err := e.AddTrustedAttestationRoot([]byte(root)); err != nil {
			errs = append(errs, fmt.Errorf("trusted_attestation_roots[%d]: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("entraemu: invalid seed: %w", err)
	}
	return nil
}
