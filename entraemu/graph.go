package entraemu

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// graphCall is one Graph request being served.
type graphCall struct {
	version   string // "v1.0" or "beta"
	requestID string
	clientID  string // client-request-id echoed back
	tenant    *tenantState
	user      *User
	userSeg   string // the user path segment as sent (escaped)
}

// graphError is a Graph error: status, code and message, and for policy
// rejections a machine hint sent as innerError.code.
type graphError struct {
	status int
	code   string
	msg    string
	inner  string
}

func (g *graphError) Error() string { return g.code + ": " + g.msg }

func gerr(status int, code, msg string) *graphError {
	return &graphError{status: status, code: code, msg: msg}
}

// writeGraphError writes Graph's error envelope (graph-api.md §7).
func (e *Emulator) writeGraphError(w http.ResponseWriter, c *graphCall, ge *graphError) {
	if ge.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	}
	inner := map[string]any{
		"date":              e.now().UTC().Format("2006-01-02T15:04:05"),
		"request-id":        c.requestID,
		"client-request-id": c.clientID,
	}
	if ge.inner != "" {
		inner["code"] = ge.inner
	}
	writeJSON(w, ge.status, map[string]any{"error": map[string]any{
		"code":       ge.code,
		"message":    ge.msg,
		"innerError": inner,
	}})
}

// writeGraphJSON writes a Graph success body.
func writeGraphJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	writeJSONNoType(w, status, v)
}

// serveGraph routes /{v1.0|beta}/users/{user}/authentication/fido2Methods[...].
func (e *Emulator) serveGraph(w http.ResponseWriter, r *http.Request) {
	c := &graphCall{requestID: uuid.NewString(), clientID: r.Header.Get("client-request-id")}
	if c.clientID == "" || len(c.clientID) > 64 {
		c.clientID = c.requestID
	}
	w.Header().Set("request-id", c.requestID)
	w.Header().Set("client-request-id", c.clientID)
	w.Header().Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"entraemu","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"entraemu"}}`)

	// Split the escaped path so that a %2F inside a UPN cannot add
	// segments, then unescape each segment.
	raw := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			e.writeGraphError(w, c, gerr(http.StatusBadRequest, "invalidRequest", "The request URL is not correctly escaped."))
			return
		}
		segs[i] = u
	}
	c.version = segs[0]
	if isFido2PolicyPath(segs) {
		e.serveFido2Policy(w, r, c)
		return
	}
	if len(segs) < 5 || segs[1] != "users" || segs[3] != "authentication" || segs[4] != "fido2Methods" || len(segs) > 6 {
		e.writeGraphError(w, c, gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+truncate(r.URL.Path, 200)+"'. The emulator serves only /users/{user}/authentication/fido2Methods."))
		return
	}
	c.userSeg = raw[2]
	op, handler, ge := e.graphRoute(r, segs)
	if ge != nil {
		e.writeGraphError(w, c, ge)
		return
	}
	e.mu.Lock()
	e.stats.GraphCalls[op]++
	e.mu.Unlock()

	if ge := e.authorize(r, c, segs[2]); ge != nil {
		e.log.Info("graph call refused", "op", op, "status", ge.status, "code", ge.code, "request_id", c.requestID)
		e.writeGraphError(w, c, ge)
		return
	}
	run := func(w http.ResponseWriter) { handler(w, r, c) }
	if e.applyFault(w, r, op, func(w http.ResponseWriter, ge *graphError) {
		e.writeGraphError(w, c, ge)
	}, run) {
		return
	}
	run(w)
}

type graphHandler func(http.ResponseWriter, *http.Request, *graphCall)

// graphRoute picks the operation for the path after the user segment.
func (e *Emulator) graphRoute(r *http.Request, segs []string) (Op, graphHandler, *graphError) {
	notAllowed := gerr(http.StatusMethodNotAllowed, "methodNotAllowed", "The HTTP method '"+r.Method+"' is not allowed on this resource.")
	if len(segs) == 5 {
		switch r.Method {
		case http.MethodGet:
			return OpList, e.handleList, nil
		case http.MethodPost:
			return OpCreate, e.handleCreate, nil
		}
		return "", nil, notAllowed
	}
	last := segs[5]
	if last == "creationOptions" || strings.HasPrefix(last, "creationOptions(") {
		if r.Method != http.MethodGet {
			return "", nil, notAllowed
		}
		return OpCreationOptions, e.handleCreationOptions, nil
	}
	switch r.Method {
	case http.MethodGet:
		return OpGet, e.handleGet, nil
	case http.MethodDelete:
		return OpDelete, e.handleDelete, nil
	}
	return "", nil, notAllowed
}

// authorize checks the bearer token (signature, audience, lifetime,
// tenant, roles) and resolves the user in the token's tenant.
func (e *Emulator) authorize(r *http.Request, c *graphCall, user string) *graphError {
	t, roles, ge := e.authenticate(r, c)
	if ge != nil {
		return ge
	}
	if !slices.ContainsFunc(roles, func(v any) bool {
		return v == RolePasskeyReadWriteAll || v == RoleAuthMethodReadWriteAll
	}) {
		return gerr(http.StatusForbidden, "accessDenied", "Request Authorization failed: the token has no "+RolePasskeyReadWriteAll+" or "+RoleAuthMethodReadWriteAll+" role. Grant admin consent to the application permission.")
	}
	// A user is looked up in the token's tenant only: another tenant's
	// user is simply not in this directory.
	e.mu.Lock()
	u := t.user(user)
	e.mu.Unlock()
	if u == nil {
		return gerr(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+truncate(user, 120)+"' does not exist or one of its queried reference-property objects are not present.")
	}
	c.tenant, c.user = t, u
	return nil
}

// authenticate checks the bearer token (signature, audience, lifetime,
// tenant) and returns the token's tenant and roles claim.
func (e *Emulator) authenticate(r *http.Request, c *graphCall) (*tenantState, []any, *graphError) {
	authz := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok || tok == "" {
		return nil, nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	jwt, err := e.verifyAccessToken(r, tok)
	if err != nil {
		e.log.Debug("bearer token refused", "reason", err.Error(), "request_id", c.requestID)
		msg := "Access token validation failure. Invalid audience."
		switch {
		case errors.Is(err, errTokenExpired):
			msg = "Lifetime validation failed, the token is expired."
		case !errors.Is(err, errTokenAudience):
			msg = "IDX14100: JWT is not well formed, or its signature is invalid."
		}
		return nil, nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
	}
	e.mu.Lock()
	t := e.tenant(jwt.str("tid"))
	e.mu.Unlock()
	if t == nil || jwt.str("iss") != "https://sts.windows.net/"+t.ID+"/" {
		return nil, nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: unknown tenant or issuer.")
	}
	roles, _ := jwt.Claims["roles"].([]any)
	return t, roles, nil
}

var (
	errTokenExpired  = errors.New("token expired or not yet valid")
	errTokenAudience = errors.New("token audience is not Microsoft Graph")
)

// verifyAccessToken checks that tok is one of this emulator's tokens,
// current, for Graph.
func (e *Emulator) verifyAccessToken(r *http.Request, tok string) (*jwtParts, error) {
	jwt, err := parseJWT(tok)
	if err != nil {
		return nil, errors.Join(errTokenInvalid, err)
	}
	if jwt.hstr("alg") != "RS256" || jwt.hstr("kid") != e.signer.kid {
		return nil, errors.Join(errTokenInvalid, errors.New("unknown alg or kid"))
	}
	if err := jwt.verifyRSA("RS256", &e.signer.key.PublicKey); err != nil {
		return nil, errors.Join(errTokenInvalid, err)
	}
	now := e.now()
	exp, ok1 := jwt.unix("exp")
	nbf, ok2 := jwt.unix("nbf")
	if !ok1 || !ok2 || now.Before(nbf) || !now.Before(exp) {
		return nil, errTokenExpired
	}
	if !e.isGraphResource(r, jwt.str("aud")) {
		return nil, errTokenAudience
	}
	return jwt, nil
}
