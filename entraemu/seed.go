package entraemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
//	  "users": [{"id": "<guid>", "upn": "alice@contoso.onmicrosoft.com", "display_name": "Alice"}]}]}
//
// Empty IDs get random GUIDs. Unknown fields are errors.
type Seed struct {
	Tenants []SeedTenant `json:"tenants"`
}

// SeedTenant is one tenant of a Seed with what it owns.
type SeedTenant struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
	Apps   []App  `json:"apps"`
	Users  []User `json:"users"`
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
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("entraemu: invalid seed: %w", err)
	}
	return nil
}
