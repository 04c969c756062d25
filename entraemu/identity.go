package entraemu

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
)

// GraphGlobalResource is the global cloud's Graph resource. The emulator
// accepts it as a scope and audience besides its own URL, so a tool
// configured for the global cloud but pointed at the emulator still works.
const GraphGlobalResource = "https://graph.microsoft.com"

// Token lifetime, as Entra issues app-only tokens.
const tokenLifetime = 3599 * time.Second

// maxFormBody bounds token and sign-in request bodies.
const maxFormBody = 64 << 10

// maxRequestBody bounds any request body the HTTPS server accepts.
const maxRequestBody = 1 << 20

// serveIdentity routes /{tenant}/... requests.
func (e *Emulator) serveIdentity(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(segs) != 4 {
		e.notFound(w, r)
		return
	}
	route := strings.Join(segs[1:], "/")
	var h func(http.ResponseWriter, *http.Request, *tenantState)
	method := http.MethodPost
	switch route {
	case "v2.0/.well-known/openid-configuration":
		h, method = e.handleDiscovery, http.MethodGet
	case "discovery/v2.0/keys":
		h, method = e.handleKeys, http.MethodGet
	case "oauth2/v2.0/token":
		h = e.handleToken
	case "passkey/signin/begin":
		h = e.handleSignInBegin
	case "passkey/signin/finish":
		h = e.handleSignInFinish
	default:
		e.notFound(w, r)
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed"})
		return
	}
	if route == "oauth2/v2.0/token" {
		e.mu.Lock()
		e.stats.TokenRequests++
		e.mu.Unlock()
		if e.applyFault(w, r, OpToken, nil) {
			return
		}
	}
	t, aerr := e.resolveTenant(segs[0])
	if aerr != nil {
		e.writeAAD(w, r, aerr)
		return
	}
	h(w, r, t)
}

func (e *Emulator) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "entraemu: no such endpoint: " + r.URL.Path})
}

// resolveTenant maps a path segment (GUID or domain) to a tenant, or to
// AADSTS900023 / AADSTS90002.
func (e *Emulator) resolveTenant(seg string) (*tenantState, *aadError) {
	if !passkeyd.ValidTenantID(seg) {
		if len(seg) > 64 {
			seg = seg[:64]
		}
		return nil, errInvalidRequest(codeMalformedTenant, "Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", seg)
	}
	e.mu.Lock()
	t := e.tenant(seg)
	e.mu.Unlock()
	if t == nil {
		return nil, errInvalidRequest(codeTenantNotFound, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", seg)
	}
	return t, nil
}

// handleDiscovery serves the tenant's OpenID configuration: what MSAL
// (and so azidentity) reads before asking for a token.
func (e *Emulator) handleDiscovery(w http.ResponseWriter, r *http.Request, t *tenantState) {
	base := e.baseURL(r) + "/" + t.ID
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "entraemu.invalid",
		"cloud_graph_host_name":                 "graph.entraemu.invalid",
		"msgraph_host":                          strings.TrimPrefix(e.baseURL(r), "https://"),
	})
}

// handleKeys serves the JWKS that verifies access tokens.
func (e *Emulator) handleKeys(w http.ResponseWriter, r *http.Request, t *tenantState) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{e.signer.jwk(e.baseURL(r) + "/" + t.ID + "/v2.0")}})
}

// handleToken is the client-credentials grant.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request, t *tenantState) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		e.writeAAD(w, r, errInvalidRequest(codeMissingParameter, "The request body must be application/x-www-form-urlencoded and at most %d bytes.", maxFormBody))
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt == "" {
		e.writeAAD(w, r, errInvalidRequest(codeMissingParameter, "The request body must contain the following parameter: 'grant_type'."))
		return
	} else if gt != "client_credentials" {
		e.writeAAD(w, r, &aadError{http.StatusBadRequest, "unsupported_grant_type", codeUnsupportedGrant, "The app requested an unsupported grant type. The emulator supports only 'client_credentials'."})
		return
	}
	clientID, basicSecret, hasBasic := r.BasicAuth()
	if !hasBasic {
		clientID = f.Get("client_id")
	}
	if clientID == "" {
		e.writeAAD(w, r, errInvalidRequest(codeMissingParameter, "The request body must contain the following parameter: 'client_id'."))
		return
	}
	e.mu.Lock()
	app := t.app(clientID)
	var snapshot App
	if app != nil {
		snapshot = copyApp(app)
	}
	e.mu.Unlock()
	if app == nil {
		if len(clientID) > 64 {
			clientID = clientID[:64]
		}
		e.writeAAD(w, r, &aadError{http.StatusBadRequest, "unauthorized_client", codeAppNotFound, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.Domain)})
		return
	}
	resource, aerr := e.resourceFromScope(r, f.Get("scope"))
	if aerr != nil {
		e.writeAAD(w, r, aerr)
		return
	}
	secret := f.Get("client_secret")
	if hasBasic {
		secret = basicSecret
	}
	acr, aerr := e.authenticateClient(r, t, &snapshot, secret, f.Get("client_assertion_type"), f.Get("client_assertion"))
	if aerr != nil {
		e.writeAAD(w, r, aerr)
		return
	}
	tok, err := e.issueToken(t, &snapshot, resource, acr)
	if err != nil {
		e.log.Error("issue token", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	e.mu.Lock()
	e.stats.TokensIssued++
	e.mu.Unlock()
	e.log.Info("token issued", "tenant", t.ID, "client_id", snapshot.ClientID, "roles", len(snapshot.Roles))
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(tokenLifetime / time.Second),
		"ext_expires_in": int(tokenLifetime / time.Second),
		"access_token":   tok,
	})
}

// resourceFromScope accepts exactly one "<resource>/.default" scope plus
// the OpenID scopes MSAL always adds, and returns the resource.
func (e *Emulator) resourceFromScope(r *http.Request, scope string) (string, *aadError) {
	var resources []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		resources = append(resources, s)
	}
	bad := func(reason string) *aadError {
		return &aadError{http.StatusBadRequest, "invalid_scope", codeBadScope, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. " + reason}
	}
	if len(resources) != 1 {
		return "", bad(fmt.Sprintf("Exactly one resource scope ending in '/.default' is required for client credentials; got %d.", len(resources)))
	}
	res, ok := strings.CutSuffix(resources[0], "/.default")
	if !ok {
		return "", bad("The scope must be '<resource>/.default' for client credentials.")
	}
	res = strings.TrimSuffix(res, "/")
	if !e.isGraphResource(r, res) {
		return "", bad(fmt.Sprintf("The resource is not Microsoft Graph: use '%s/.default' (or '%s/.default').", e.baseURL(r), GraphGlobalResource))
	}
	return res, nil
}

// isGraphResource reports whether res names this emulator's Graph: its
// own base URL (as started or as reached) or the global Graph resource.
func (e *Emulator) isGraphResource(r *http.Request, res string) bool {
	res = strings.TrimSuffix(res, "/")
	if strings.EqualFold(res, GraphGlobalResource) || strings.EqualFold(res, e.baseURL(r)) {
		return true
	}
	u := e.URL()
	return u != "" && strings.EqualFold(res, u)
}

// authenticateClient checks the client's credential: a certificate
// assertion or a client secret. It returns the token's appidacr ("1"
// secret, "2" certificate).
func (e *Emulator) authenticateClient(r *http.Request, t *tenantState, app *App, secret, assertionType, assertion string) (string, *aadError) {
	switch {
	case assertion != "" || assertionType != "":
		if err := e.verifyClientAssertion(r, t, app, assertionType, assertion); err != nil {
			return "", err
		}
		return "2", nil
	case secret != "":
		return "1", e.checkSecret(app, secret)
	}
	return "", errInvalidClient(codeNoCredential, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

func (e *Emulator) checkSecret(app *App, secret string) *aadError {
	now := e.now()
	for _, s := range app.Secrets {
		if subtle.ConstantTimeCompare([]byte(s.Value.Reveal()), []byte(secret)) == 1 {
			if !now.Before(s.Expires) {
				return errInvalidClient(codeExpiredSecret, "The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.ClientID)
			}
			return nil
		}
	}
	return errInvalidClient(codeWrongSecret, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)
}

// tokenClaims are the claims of an app-only v1 access token, as Entra
// issues them for Graph.
type tokenClaims struct {
	Aud            string   `json:"aud"`
	Iss            string   `json:"iss"`
	Iat            int64    `json:"iat"`
	Nbf            int64    `json:"nbf"`
	Exp            int64    `json:"exp"`
	AppDisplayName string   `json:"app_displayname"`
	AppID          string   `json:"appid"`
	AppIDAcr       string   `json:"appidacr"`
	Idp            string   `json:"idp"`
	IdTyp          string   `json:"idtyp"`
	OID            string   `json:"oid"`
	Roles          []string `json:"roles,omitempty"` // absent when consent was never granted
	Sub            string   `json:"sub"`
	TID            string   `json:"tid"`
	Uti            string   `json:"uti"`
	Ver            string   `json:"ver"`
}

func (e *Emulator) issueToken(t *tenantState, app *App, resource, acr string) (string, error) {
	now := e.now()
	iss := "https://sts.windows.net/" + t.ID + "/"
	return e.signer.sign(tokenClaims{
		Aud: resource, Iss: iss, Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(tokenLifetime).Unix(),
		AppDisplayName: app.DisplayName, AppID: app.ClientID, AppIDAcr: acr, Idp: iss, IdTyp: "app",
		OID: app.ObjectID, Roles: app.Roles, Sub: app.ObjectID, TID: t.ID,
		Uti: strings.ReplaceAll(uuid.NewString(), "-", "")[:22], Ver: "1.0",
	})
}

// errTokenInvalid explains why a bearer token was refused (to the log
// and, in Graph's generic words, to the client).
var errTokenInvalid = errors.New("access token validation failure")
