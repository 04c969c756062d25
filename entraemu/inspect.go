package entraemu

import (
	"maps"
	"slices"
)

// Stats counts requests, for tests and benchmarks.
type Stats struct {
	TokenRequests  int        `json:"token_requests"` // every call to a token endpoint
	TokensIssued   int        `json:"tokens_issued"`
	GraphCalls     map[Op]int `json:"graph_calls"` // by operation, including refused ones
	FaultsInjected int        `json:"faults_injected"`
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.GraphCalls = maps.Clone(e.stats.GraphCalls)
	return s
}

// Tenants lists the tenants.
func (e *Emulator) Tenants() []Tenant {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Tenant, 0, len(e.tenants))
	for _, t := range e.tenants {
		out = append(out, t.Tenant)
	}
	return out
}

// Apps lists a tenant's apps, secrets included; nil if the tenant is unknown.
func (e *Emulator) Apps(tenant string) []App {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenant(tenant)
	if t == nil {
		return nil
	}
	out := make([]App, 0, len(t.apps))
	for _, a := range t.apps {
		out = append(out, copyApp(a))
	}
	return out
}

// Users lists a tenant's users (tenant GUID or domain); nil if unknown.
func (e *Emulator) Users(tenant string) []User {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenant(tenant)
	if t == nil {
		return nil
	}
	out := make([]User, 0, len(t.users))
	for _, u := range t.users {
		c := *u
		c.Handle = slices.Clone(u.Handle)
		c.Groups = slices.Clone(u.Groups)
		out = append(out, c)
	}
	return out
}

// Methods returns copies of a user's FIDO2 methods (user by object ID or
// UPN), in creation order; nil if the tenant or user is unknown.
func (e *Emulator) Methods(tenant, user string) []Method {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenant(tenant)
	if t == nil {
		return nil
	}
	u := t.user(user)
	if u == nil {
		return nil
	}
	out := []Method{}
	for _, m := range t.methods[u.ID] {
		out = append(out, copyMethod(m))
	}
	return out
}

// Settings is what a script needs to point a client at the emulator; it
// marshals as one JSON object (passkeyd emulator prints it on one line).
// It holds the client secret in clear: it is meant for test tenants.
type Settings struct {
	TenantID      string         `json:"tenant_id"`
	Domain        string         `json:"domain"`
	ClientID      string         `json:"client_id"`
	ClientSecret  string         `json:"client_secret"`
	Users         []SettingsUser `json:"users"`
	CAFile        string         `json:"ca_file,omitempty"`
	AuthorityHost string         `json:"authority_host"`
	GraphURL      string         `json:"graph_url"`
	URL           string         `json:"url"`
}

// SettingsUser is a user in Settings.
type SettingsUser struct {
	ID  string `json:"id"`
	UPN string `json:"upn"`
}

// Settings describes the first tenant and its first app (and that app's
// first secret). URLs are empty before Start.
func (e *Emulator) Settings() Settings {
	u := e.URL()
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Settings{CAFile: e.caFile, AuthorityHost: u, GraphURL: u, URL: u, Users: []SettingsUser{}}
	if len(e.tenants) == 0 {
		return s
	}
	t := e.tenants[0]
	s.TenantID, s.Domain = t.ID, t.Domain
	if len(t.apps) > 0 {
		s.ClientID = t.apps[0].ClientID
		if len(t.apps[0].Secrets) > 0 {
			s.ClientSecret = t.apps[0].Secrets[0].Value.Reveal()
		}
	}
	for _, usr := range t.users {
		s.Users = append(s.Users, SettingsUser{ID: usr.ID, UPN: usr.UPN})
	}
	return s
}
