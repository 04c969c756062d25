package entraemu

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Role names the emulator recognises at Graph (graph-api.md §3).
const (
	RolePasskeyReadWriteAll    = "UserAuthMethod-Passkey.ReadWrite.All"
	RoleAuthMethodReadWriteAll = "UserAuthenticationMethod.ReadWrite.All"
	// RolePolicyReadAuthMethod reads the authentication methods policy
	// (the FIDO2 policy preflight); RolePolicyReadWriteAuthMethod, its
	// write counterpart, reads it too.
	RolePolicyReadAuthMethod      = "Policy.Read.AuthenticationMethod"
	RolePolicyReadWriteAuthMethod = "Policy.ReadWrite.AuthenticationMethod"
)

// Tenant is an Entra directory.
type Tenant struct {
	ID     string `json:"id"`     // GUID
	Domain string `json:"domain"` // e.g. contoso.onmicrosoft.com
}

// ClientSecret is one secret of an app registration.
type ClientSecret struct {
	ID      string          `json:"id"` // the secret's key ID (GUID); never the value
	Value   passkeyd.Secret `json:"value"`
	Expires time.Time       `json:"expires"`
}

// App is an app registration with its service principal in one tenant.
type App struct {
	ClientID    string         `json:"client_id"` // application (client) ID, GUID
	ObjectID    string         `json:"object_id"` // service principal object ID (the token's oid)
	DisplayName string         `json:"display_name"`
	Secrets     []ClientSecret `json:"secrets"`
	// Roles are the application permissions an admin consented to. None
	// means consent was never granted: tokens carry no roles claim.
	Roles []string `json:"roles"`
	// Certificates are the uploaded certificate credentials (public parts).
	Certificates []AppCertificate `json:"certificates,omitempty"`
}

// AppCertificate is an uploaded certificate credential of an app.
type AppCertificate struct {
	PEM string `json:"pem"` // one CERTIFICATE block
}

// User is a directory user.
type User struct {
	ID          string `json:"id"` // object ID, GUID
	UPN         string `json:"upn"`
	DisplayName string `json:"display_name"`
	// Groups are the object IDs (GUIDs) of the groups the user belongs
	// to, for the FIDO2 policy's group targets.
	Groups []string `json:"groups,omitempty"`
	// Handle is the WebAuthn user handle Graph hands out in creation
	// options; derived from the tenant and object ID when empty.
	Handle []byte `json:"-"`
}

// Method is a registered FIDO2 authentication method, with the private
// state (credential ID, public key, counter) the emulator keeps for
// sign-in.
type Method struct {
	ID                      string    // Graph's opaque method ID
	UserID                  string    // owner's object ID
	DisplayName             string    //
	CreatedDateTime         time.Time //
	AAGUID                  string    // GUID string form
	Model                   *string   // from FIDO metadata; always nil here
	AttestationCertificates []string  // SHA-1 thumbprints (hex) of x5c
	AttestationLevel        string    // "attested" | "notAttested"
	PasskeyType             string    // "deviceBound" | "synced"
	AttestationFormat       string    // "none", "packed", ...
	CredentialID            []byte
	PublicKey               []byte // COSE_Key as registered
	SignCount               uint32
	// visibleAt is when reads and deletes first see the method
	// (replication lag); Methods() shows the truth regardless.
	visibleAt time.Time
}

// tenantState is a tenant with everything it owns.
type tenantState struct {
	Tenant
	apps    []*App
	users   []*User
	methods map[string][]*Method // by user object ID, in creation order
	// byCredential indexes methods by credential ID: registration checks
	// a credential is new across the whole tenant, and a scan of every
	// method made that cost grow with the tenant.
	byCredential map[string]*Method
	// byName indexes users by lower-cased object ID and UPN: every Graph
	// call resolves its user, and a scan made that grow with the tenant.
	byName map[string]*User
	policy passkeyd.Fido2Policy // validated and normalised; see policy.go
}

func (t *tenantState) app(clientID string) *App {
	for _, a := range t.apps {
		if strings.EqualFold(a.ClientID, clientID) {
			return a
		}
	}
	return nil
}

// user resolves an object ID or a UPN (case-insensitive, as Entra does).
func (t *tenantState) user(idOrUPN string) *User {
	return t.byName[strings.ToLower(idOrUPN)]
}

// methodByCredentialID finds a credential in any user of the tenant.
func (t *tenantState) methodByCredentialID(id []byte) *Method {
	return t.byCredential[string(id)]
}

// addMethod appends a user's new method; caller holds e.mu.
func (t *tenantState) addMethod(m *Method) {
	t.methods[m.UserID] = append(t.methods[m.UserID], m)
	t.byCredential[string(m.CredentialID)] = m
}

// removeMethod deletes the user's i-th method; caller holds e.mu.
func (t *tenantState) removeMethod(userID string, i int) {
	ms := t.methods[userID]
	delete(t.byCredential, string(ms[i].CredentialID))
	t.methods[userID] = append(ms[:i:i], ms[i+1:]...)
}

// tenant resolves a GUID or a domain; caller holds e.mu.
func (e *Emulator) tenant(idOrDomain string) *tenantState {
	for _, t := range e.tenants {
		if strings.EqualFold(t.ID, idOrDomain) || strings.EqualFold(t.Domain, idOrDomain) {
			return t
		}
	}
	return nil
}

// AddTenant adds a directory. An empty ID gets a random GUID. It returns
// the tenant as stored.
func (e *Emulator) AddTenant(t Tenant) (Tenant, error) {
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	t.ID = strings.ToLower(t.ID)
	t.Domain = strings.ToLower(t.Domain)
	if !passkeyd.IsGUID(t.ID) {
		return Tenant{}, fmt.Errorf("entraemu: add tenant: id %q is not a GUID", t.ID)
	}
	if passkeyd.IsGUID(t.Domain) || !passkeyd.ValidTenantID(t.Domain) {
		return Tenant{}, fmt.Errorf("entraemu: add tenant: domain %q is not a domain name", t.Domain)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tenant(t.ID) != nil || e.tenant(t.Domain) != nil {
		return Tenant{}, fmt.Errorf("entraemu: add tenant %s: already exists", t.Domain)
	}
	e.tenants = append(e.tenants, &tenantState{Tenant: t, methods: map[string][]*Method{}, byCredential: map[string]*Method{}, byName: map[string]*User{}, policy: defaultFido2Policy()})
	return t, nil
}

// AddApp registers an app in a tenant (GUID or domain). Empty ClientID and
// ObjectID get random GUIDs; secrets without an ID get one. It returns the
// app as stored.
func (e *Emulator) AddApp(tenant string, a App) (App, error) {
	if a.ClientID == "" {
		a.ClientID = uuid.NewString()
	}
	if a.ObjectID == "" {
		a.ObjectID = uuid.NewString()
	}
	if a.DisplayName == "" {
		a.DisplayName = "passkeyd"
	}
	if !passkeyd.IsGUID(a.ClientID) || !passkeyd.IsGUID(a.ObjectID) {
		return App{}, errors.New("entraemu: add app: client_id and object_id must be GUIDs")
	}
	a.Secrets = append([]ClientSecret(nil), a.Secrets...)
	for i := range a.Secrets {
		if a.Secrets[i].ID == "" {
			a.Secrets[i].ID = uuid.NewString()
		}
		if a.Secrets[i].Value == "" {
			return App{}, fmt.Errorf("entraemu: add app %s: secret %s has no value", a.ClientID, a.Secrets[i].ID)
		}
		if a.Secrets[i].Expires.IsZero() {
			// A seed that gives no expiry means a working secret, as the
			// portal's longest choice (two years) would be.
			a.Secrets[i].Expires = e.now().AddDate(2, 0, 0).UTC()
		}
	}
	a.Roles = append([]string(nil), a.Roles...)
	a.Certificates = append([]AppCertificate(nil), a.Certificates...)
	for _, c := range a.Certificates {
		if _, err := c.parse(); err != nil {
			return App{}, fmt.Errorf("entraemu: add app %s: %w", a.ClientID, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenant(tenant)
	if t == nil {
		return App{}, fmt.Errorf("entraemu: add app: tenant %q not found", tenant)
	}
	if t.app(a.ClientID) != nil {
		return App{}, fmt.Errorf("entraemu: add app: %s already exists in %s", a.ClientID, t.Domain)
	}
	stored := a
	t.apps = append(t.apps, &stored)
	return copyApp(&stored), nil
}

// AddClientSecret adds a random secret, valid until expires, to an app and
// returns it (the only time its value is handed out besides Settings).
func (e *Emulator) AddClientSecret(tenant, clientID string, expires time.Time) (ClientSecret, error) {
	s := ClientSecret{ID: uuid.NewString(), Value: passkeyd.Secret(newSecretValue()), Expires: expires.UTC()}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lockedApp(tenant, clientID)
	if err != nil {
		return ClientSecret{}, fmt.Errorf("entraemu: add client secret: %w", err)
	}
	a.Secrets = append(a.Secrets, s)
	return s, nil
}

// AddAppCertificate uploads a certificate credential (PEM, public part
// only) to an app, as an admin does in the portal.
func (e *Emulator) AddAppCertificate(tenant, clientID string, certPEM []byte) error {
	c := AppCertificate{PEM: string(certPEM)}
	if _, err := c.parse(); err != nil {
		return fmt.Errorf("entraemu: add certificate: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lockedApp(tenant, clientID)
	if err != nil {
		return fmt.Errorf("entraemu: add certificate: %w", err)
	}
	a.Certificates = append(a.Certificates, c)
	return nil
}

// SetAppRoles replaces the application permissions granted to an app;
// nil models "admin consent never granted".
func (e *Emulator) SetAppRoles(tenant, clientID string, roles []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lockedApp(tenant, clientID)
	if err != nil {
		return fmt.Errorf("entraemu: set roles: %w", err)
	}
	a.Roles = append([]string(nil), roles...)
	return nil
}

func (e *Emulator) lockedApp(tenant, clientID string) (*App, error) {
	t := e.tenant(tenant)
	if t == nil {
		return nil, fmt.Errorf("tenant %q not found", tenant)
	}
	a := t.app(clientID)
	if a == nil {
		return nil, fmt.Errorf("app %q not found in %s", clientID, t.Domain)
	}
	return a, nil
}

// AddUser adds a user to a tenant. An empty ID gets a random GUID and an
// empty display name is derived from the UPN. It returns the user as
// stored.
func (e *Emulator) AddUser(tenant string, u User) (User, error) {
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	u.ID = strings.ToLower(u.ID)
	if !passkeyd.IsGUID(u.ID) {
		return User{}, fmt.Errorf("entraemu: add user: id %q is not a GUID", u.ID)
	}
	if !passkeyd.ValidUPN(u.UPN) {
		return User{}, fmt.Errorf("entraemu: add user: %q is not a valid UPN", u.UPN)
	}
	groups, err := normaliseGroups(u.Groups)
	if err != nil {
		return User{}, fmt.Errorf("entraemu: add user %s: %w", u.UPN, err)
	}
	u.Groups = groups
	if u.DisplayName == "" {
		local, _, _ := strings.Cut(u.UPN, "@")
		u.DisplayName = strings.ToUpper(local[:1]) + local[1:]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenant(tenant)
	if t == nil {
		return User{}, fmt.Errorf("entraemu: add user: tenant %q not found", tenant)
	}
	if t.user(u.ID) != nil || t.user(u.UPN) != nil {
		return User{}, fmt.Errorf("entraemu: add user %s: already exists", u.UPN)
	}
	if len(u.Handle) == 0 {
		// Stable across restarts with the same seed, opaque to clients.
		sum := sha256.Sum256([]byte("entraemu user handle\x00" + t.ID + "\x00" + u.ID))
		u.Handle = sum[:]
	}
	stored := u
	t.users = append(t.users, &stored)
	t.byName[strings.ToLower(stored.ID)] = &stored
	t.byName[strings.ToLower(stored.UPN)] = &stored
	return stored, nil
}

// newSecretValue returns a value shaped like an Entra client secret
// (40 characters, "8Q~" after a three-character prefix).
func newSecretValue() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	s := base64.RawURLEncoding.EncodeToString(b)
	s = strings.NewReplacer("-", "~", "_", ".").Replace(s)
	return s[:3] + "8Q~" + s[3:37]
}

// maxUserGroups bounds a user's group memberships.
const maxUserGroups = 1000

// normaliseGroups checks that groups are distinct GUIDs and lowercases
// them, returning a fresh slice (nil when empty).
func normaliseGroups(groups []string) ([]string, error) {
	if len(groups) > maxUserGroups {
		return nil, fmt.Errorf("%d groups, at most %d", len(groups), maxUserGroups)
	}
	var out []string
	for i, g := range groups {
		if !passkeyd.IsGUID(g) {
			return nil, fmt.Errorf("groups[%d] %q is not a GUID", i, truncate(g, 64))
		}
		g = strings.ToLower(g)
		if slices.Contains(out, g) {
			return nil, fmt.Errorf("groups[%d] %s is listed twice", i, g)
		}
		out = append(out, g)
	}
	return out, nil
}

func copyApp(a *App) App {
	c := *a
	c.Secrets = append([]ClientSecret(nil), a.Secrets...)
	c.Roles = append([]string(nil), a.Roles...)
	c.Certificates = append([]AppCertificate(nil), a.Certificates...)
	return c
}

func copyMethod(m *Method) Method {
	c := *m
	c.AttestationCertificates = append([]string{}, m.AttestationCertificates...)
	c.CredentialID = append([]byte(nil), m.CredentialID...)
	c.PublicKey = append([]byte(nil), m.PublicKey...)
	return c
}
