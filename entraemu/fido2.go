package entraemu

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/google/uuid"
)

// Creation options bounds (graph-api.md §4.1).
const (
	defaultChallengeMinutes = 5
	maxChallengeMinutes     = 43200
	maxCreateBody           = 256 << 10
	maxDisplayName          = 30
)

// handleCreationOptions serves v1.0 creationOptions and beta's
// creationOptions(challengeTimeoutInMinutes=N).
func (e *Emulator) handleCreationOptions(w http.ResponseWriter, r *http.Request, c *graphCall) {
	if r.URL.Query().Has("challengeTimeoutInMinutes") {
		// Observed in production: only the inline function-parameter form works.
		e.writeGraphError(w, c, gerr(http.StatusMethodNotAllowed, "methodNotAllowed", "The query-string form is not supported: use creationOptions(challengeTimeoutInMinutes=N) on beta."))
		return
	}
	seg := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	minutes := defaultChallengeMinutes
	if arg, ok := strings.CutPrefix(seg, "creationOptions("); ok {
		if c.version != "beta" {
			e.writeGraphError(w, c, gerr(http.StatusBadRequest, "BadRequest", "creationOptions takes no parameters in v1.0; challengeTimeoutInMinutes is a beta parameter."))
			return
		}
		v, ok := strings.CutPrefix(strings.TrimSuffix(arg, ")"), "challengeTimeoutInMinutes=")
		n, err := strconv.Atoi(v)
		if !ok || !strings.HasSuffix(arg, ")") || err != nil || n < defaultChallengeMinutes || n > maxChallengeMinutes {
			e.writeGraphError(w, c, gerr(http.StatusBadRequest, "invalidRequest", fmt.Sprintf("challengeTimeoutInMinutes must be an integer from %d to %d.", defaultChallengeMinutes, maxChallengeMinutes)))
			return
		}
		minutes = n
	}
	// Only the method's state is checked here; targets, self-service and
	// credential rules are enforced at create (see the package doc).
	e.mu.Lock()
	state := c.tenant.policy.State
	e.mu.Unlock()
	if state != policyEnabled {
		e.writeGraphError(w, c, policyDenied(InnerCodeFido2MethodDisabled, "The FIDO2 (passkey) authentication method is disabled in the tenant's authentication methods policy."))
		return
	}
	expires := e.now().Add(time.Duration(minutes) * time.Minute).UTC()
	ch, ok := e.newChallenge(challengeState{purpose: purposeCreate, tenantID: c.tenant.ID, userID: c.user.ID, expires: expires}, createChallengeBytes)
	if !ok {
		e.writeGraphError(w, c, gerr(http.StatusTooManyRequests, "activityLimitReached", "Too many outstanding challenges."))
		return
	}
	e.mu.Lock()
	exclude := []map[string]any{}
	for _, m := range c.tenant.methods[c.user.ID] {
		exclude = append(exclude, map[string]any{"type": "public-key", "id": credentialIDString(m.CredentialID, e.idEncoding), "transports": []string{}})
	}
	e.mu.Unlock()
	writeGraphJSON(w, http.StatusOK, map[string]any{
		"@odata.context":           e.baseURL(r) + "/" + c.version + "/$metadata#microsoft.graph.webauthnCredentialCreationOptions",
		"challengeTimeoutDateTime": expires.Format(time.RFC3339),
		"publicKey": map[string]any{
			"rp":        map[string]any{"id": e.rpID, "name": "Microsoft"},
			"user":      map[string]any{"id": b64(c.user.Handle), "name": c.user.UPN, "displayName": c.user.DisplayName},
			"challenge": ch,
			"pubKeyCredParams": []map[string]any{
				{"type": "public-key", "alg": -7},
				{"type": "public-key", "alg": -257},
			},
			"timeout":            60000,
			"excludeCredentials": exclude,
			"authenticatorSelection": map[string]any{
				"authenticatorAttachment": "cross-platform",
				"requireResidentKey":      true,
				"userVerification":        "required",
			},
			"attestation": "direct",
			"extensions": map[string]any{
				"hmacCreateSecret":                  true,
				"enforceCredentialProtectionPolicy": true,
				"credentialProtectionPolicy":        "userVerificationOptional",
			},
		},
	})
}

// createBody is exactly the create request of graph-api.md §4.2; unknown
// fields anywhere are refused, as Graph refused them in the field.
type createBody struct {
	DisplayName         *string `json:"displayName"`
	PublicKeyCredential *struct {
		ID       string `json:"id"`
		Response *struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AttestationObject string `json:"attestationObject"`
		} `json:"response"`
		ClientExtensionResults json.RawMessage `json:"clientExtensionResults"`
	} `json:"publicKeyCredential"`
}

// handleCreate registers a credential after verifying the attestation.
func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request, c *graphCall) {
	if e.throttleWrite(w, r, c) {
		return
	}
	m, ge := e.verifyCreate(r, c)
	if ge != nil {
		e.log.Info("create refused", "user", c.user.ID, "reason", ge.msg, "request_id", c.requestID)
		e.writeGraphError(w, c, ge)
		return
	}
	e.log.Info("fido2 method created", "tenant", c.tenant.ID, "user", c.user.ID, "method_id", m.ID, "aaguid", m.AAGUID)
	e.mu.Lock()
	enc := e.idEncoding
	e.mu.Unlock()
	w.Header().Set("Location", e.baseURL(r)+"/"+c.version+"/users/"+c.user.ID+"/authentication/fido2Methods/"+url.PathEscape(methodIDString(m, enc)))
	writeGraphJSON(w, http.StatusCreated, e.methodJSON(r, c, m, enc, true))
}

func badRequest(format string, args ...any) *graphError {
	return gerr(http.StatusBadRequest, "invalidRequest", fmt.Sprintf(format, args...))
}

// verifyCreate decodes, verifies and stores a registration. Nothing is
// stored unless every check passes.
func (e *Emulator) verifyCreate(r *http.Request, c *graphCall) (*Method, *graphError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCreateBody+1))
	if err != nil {
		return nil, badRequest("Could not read the request body.")
	}
	if len(body) > maxCreateBody {
		return nil, gerr(http.StatusRequestEntityTooLarge, "requestTooLarge", "The request body is too large.")
	}
	var req createBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("Invalid request body: %s.", jsonProblem(err))
	}
	if dec.More() {
		return nil, badRequest("Invalid request body: trailing data after the JSON object.")
	}
	if req.DisplayName == nil || req.PublicKeyCredential == nil || req.PublicKeyCredential.Response == nil {
		return nil, badRequest("displayName and publicKeyCredential.response are required.")
	}
	if n := utf8.RuneCountInString(*req.DisplayName); n < 1 || n > maxDisplayName || strings.TrimSpace(*req.DisplayName) == "" {
		return nil, badRequest("displayName must be 1 to %d characters.", maxDisplayName)
	}
	// User-level policy first: the user may not register a passkey at
	// all, whatever the credential.
	e.mu.Lock()
	policy := cloneFido2Policy(c.tenant.policy)
	e.mu.Unlock()
	if ge := checkUserPolicy(policy, c.user); ge != nil {
		return nil, ge
	}
	pk := req.PublicKeyCredential
	rawID, err1 := base64.RawURLEncoding.DecodeString(pk.ID)
	cdj, err2 := base64.RawURLEncoding.DecodeString(pk.Response.ClientDataJSON)
	att, err3 := base64.RawURLEncoding.DecodeString(pk.Response.AttestationObject)
	if err := errors.Join(err1, err2, err3); err != nil || len(rawID) == 0 || len(cdj) == 0 || len(att) == 0 {
		return nil, badRequest("publicKeyCredential.id, response.clientDataJSON and response.attestationObject must be non-empty base64url without padding.")
	}
	ccr := protocol.CredentialCreationResponse{
		PublicKeyCredential: protocol.PublicKeyCredential{
			Credential: protocol.Credential{ID: pk.ID, Type: string(protocol.PublicKeyCredentialType)},
			RawID:      rawID,
		},
		AttestationResponse: protocol.AuthenticatorAttestationResponse{
			AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: cdj},
			AttestationObject:     att,
		},
	}
	if len(pk.ClientExtensionResults) > 0 && string(pk.ClientExtensionResults) != "null" {
		if pk.ClientExtensionResults[0] != '{' || json.Unmarshal(pk.ClientExtensionResults, &ccr.ClientExtensionResults) != nil {
			return nil, badRequest("publicKeyCredential.clientExtensionResults must be an object.")
		}
	}
	pcc, err := ccr.Parse()
	if err != nil {
		return nil, badRequest("The credential could not be parsed: %s.", webauthnProblem(err))
	}
	challenge := pcc.Response.CollectedClientData.Challenge
	now := e.now()
	e.mu.Lock()
	st, _ := e.lookupChallengeLocked(challenge)
	e.mu.Unlock()
	switch {
	case st == nil || st.purpose != purposeCreate:
		return nil, badRequest("The challenge is unknown or was already used.")
	case st.tenantID != c.tenant.ID || st.userID != c.user.ID:
		return nil, badRequest("The challenge was issued for another user.")
	case !now.Before(st.expires):
		return nil, badRequest("The challenge expired at %s.", st.expires.Format(time.RFC3339))
	}
	params := []protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
	}
	if !bytes.Equal(pcc.Response.AttestationObject.AuthData.AttData.CredentialID, rawID) {
		return nil, badRequest("publicKeyCredential.id does not match the attested credential ID.")
	}
	if _, err := pcc.Verify(challenge, e.rpID, []string{"https://" + e.rpID}, nil, nil,
		protocol.TopOriginExplicitVerificationMode, false, true, true, nil, params,
		protocol.AttestationPolicy{}, protocol.SignaturePolicy{}); err != nil {
		return nil, badRequest("The attestation could not be verified: %s.", webauthnProblem(err))
	}
	ao := pcc.Response.AttestationObject
	switch ao.Format {
	case "none", "packed", "tpm":
	default:
		return nil, badRequest("Attestation format %q is not accepted (none, packed, tpm).", truncate(ao.Format, 32))
	}
	// With attestation "none" nothing else would look at the key: a
	// credential whose key is not a valid ES256/RS256 key is refused.
	if _, err := webauthncose.ParsePublicKey(ao.AuthData.AttData.CredentialPublicKey); err != nil {
		return nil, badRequest("The credential public key is not a valid COSE key.")
	}
	aaguid, err := uuid.FromBytes(ao.AuthData.AttData.AAGUID)
	if err != nil {
		return nil, badRequest("The authenticator data has no valid AAGUID.")
	}
	facts := credentialFacts{aaguid: aaguid, backupEligible: ao.AuthData.Flags.HasBackupEligible(), format: ao.Format}
	x5c, _ := ao.AttStatement["x5c"].([]any)
	for _, c := range x5c {
		if der, ok := c.([]byte); ok {
			facts.x5c = append(facts.x5c, der)
		}
	}
	if ge := e.checkCredentialPolicy(policy, facts); ge != nil {
		return nil, ge
	}
	m := &Method{
		UserID:                  c.user.ID,
		DisplayName:             *req.DisplayName,
		CreatedDateTime:         now.UTC().Truncate(time.Second),
		AAGUID:                  aaguid.String(),
		AttestationLevel:        "notAttested",
		PasskeyType:             "deviceBound",
		AttestationFormat:       ao.Format,
		CredentialID:            ao.AuthData.AttData.CredentialID,
		PublicKey:               ao.AuthData.AttData.CredentialPublicKey,
		SignCount:               ao.AuthData.Counter,
		AttestationCertificates: []string{},
	}
	if ao.AuthData.Flags.HasBackupEligible() {
		m.PasskeyType = "synced"
	}
	if len(facts.x5c) > 0 {
		// The chain's signature was verified; its root is checked only
		// where the policy enforces attestation, which the emulator
		// accepts as "attested" either way.
		m.AttestationLevel = "attested"
		for _, der := range facts.x5c {
			sum := sha1.Sum(der)
			m.AttestationCertificates = append(m.AttestationCertificates, strings.ToUpper(hex.EncodeToString(sum[:])))
		}
	}
	m.ID = methodID(m.CredentialID)

	e.mu.Lock()
	defer e.mu.Unlock()
	// Re-check under the lock: a concurrent create may have used the
	// challenge or registered the same credential meanwhile.
	st, key := e.lookupChallengeLocked(challenge)
	if st == nil {
		return nil, badRequest("The challenge is unknown or was already used.")
	}
	if c.tenant.methodByCredentialID(m.CredentialID) != nil {
		return nil, badRequest("This credential is already registered.")
	}
	delete(e.challenges, key)
	m.visibleAt = e.now().Add(e.lag)
	c.tenant.addMethod(m)
	return m, nil
}

// methodID is Graph's observed method ID form: base64url of the
// credential ID followed by the number of '=' padding characters removed
// (the .NET token encoding). Clients must treat it as opaque.
func methodID(credID []byte) string { return paddingDigit(credID) }

// jsonProblem describes a JSON decoding error without echoing input.
func jsonProblem(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		return "field " + ute.Field + " has the wrong type"
	case errors.As(err, &se):
		return "malformed JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return "malformed JSON"
}

// webauthnProblem is the safe, specific part of a go-webauthn error.
func webauthnProblem(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if pe.Details != "" {
			return pe.Details
		}
		return pe.Type
	}
	return "invalid data"
}

// methodJSON is a fido2AuthenticationMethod as Graph returns it.
// Its id is written in the encoding enc (SetIDEncoding).
func (e *Emulator) methodJSON(r *http.Request, c *graphCall, m *Method, enc IDEncoding, withContext bool) map[string]any {
	v := map[string]any{
		"@odata.type":             "#microsoft.graph.fido2AuthenticationMethod",
		"id":                      methodIDString(m, enc),
		"displayName":             m.DisplayName,
		"createdDateTime":         m.CreatedDateTime.UTC().Format(time.RFC3339),
		"aaGuid":                  m.AAGUID,
		"model":                   m.Model,
		"attestationCertificates": append([]string{}, m.AttestationCertificates...),
		"attestationLevel":        m.AttestationLevel,
		"passkeyType":             m.PasskeyType,
	}
	if withContext {
		v["@odata.context"] = e.baseURL(r) + "/" + c.version + "/$metadata#users('" + c.userSeg + "')/authentication/fido2Methods/$entity"
	}
	return v
}

// handleList pages through the user's methods with @odata.nextLink.
func (e *Emulator) handleList(w http.ResponseWriter, r *http.Request, c *graphCall) {
	offset := 0
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "offset:") || n < 0 {
			e.writeGraphError(w, c, badRequest("The $skiptoken is invalid."))
			return
		}
		offset = n
	}
	e.mu.Lock()
	var all []*Method
	for _, m := range c.tenant.methods[c.user.ID] {
		if e.visibleLocked(m) {
			all = append(all, m)
		}
	}
	page := []map[string]any{}
	end := min(offset+e.pageSize, len(all))
	for i := offset; i < end; i++ {
		page = append(page, e.methodJSON(r, c, all[i], e.idEncoding, false))
	}
	more := end < len(all)
	e.mu.Unlock()
	base := e.baseURL(r) + "/" + c.version + "/users/" + c.userSeg + "/authentication/fido2Methods"
	body := map[string]any{
		"@odata.context": e.baseURL(r) + "/" + c.version + "/$metadata#users('" + c.userSeg + "')/authentication/fido2Methods",
		"value":          page,
	}
	if more {
		body["@odata.nextLink"] = base + "?$skiptoken=" + b64([]byte("offset:"+strconv.Itoa(end)))
	}
	writeGraphJSON(w, http.StatusOK, body)
}

// methodIndexLocked finds a method of the call's user by ID, in any
// encoding the emulator writes; caller holds e.mu.
func (c *graphCall) methodIndexLocked(id string) int {
	for i, m := range c.tenant.methods[c.user.ID] {
		if matchesMethodID(m, id) {
			return i
		}
	}
	return -1
}

func methodSegment(r *http.Request) string {
	p := r.URL.EscapedPath()
	s, _ := url.PathUnescape(p[strings.LastIndex(p, "/")+1:])
	return s
}

func (e *Emulator) handleGet(w http.ResponseWriter, r *http.Request, c *graphCall) {
	id := methodSegment(r)
	e.mu.Lock()
	i := c.methodIndexLocked(id)
	var m Method
	if i >= 0 && !e.visibleLocked(c.tenant.methods[c.user.ID][i]) {
		i = -1 // not replicated to this read yet
	}
	if i >= 0 {
		m = copyMethod(c.tenant.methods[c.user.ID][i])
	}
	enc := e.idEncoding
	e.mu.Unlock()
	if i < 0 {
		e.writeGraphError(w, c, gerr(http.StatusNotFound, "itemNotFound", "The requested FIDO2 method was not found."))
		return
	}
	writeGraphJSON(w, http.StatusOK, e.methodJSON(r, c, &m, enc, true))
}

func (e *Emulator) handleDelete(w http.ResponseWriter, r *http.Request, c *graphCall) {
	if e.throttleWrite(w, r, c) {
		return
	}
	id := methodSegment(r)
	e.mu.Lock()
	i := c.methodIndexLocked(id)
	if i >= 0 && !e.visibleLocked(c.tenant.methods[c.user.ID][i]) {
		i = -1 // not replicated yet: the delete misses it, the method stays
	}
	if i >= 0 {
		c.tenant.removeMethod(c.user.ID, i)
	}
	e.mu.Unlock()
	if i < 0 {
		e.writeGraphError(w, c, gerr(http.StatusNotFound, "itemNotFound", "The requested FIDO2 method was not found."))
		return
	}
	e.log.Info("fido2 method deleted", "tenant", c.tenant.ID, "user", c.user.ID, "method_id", id)
	w.WriteHeader(http.StatusNoContent)
}
