package entraemu

// Passkey sign-in: an emulator-only API (not a Microsoft API) that lets a
// demo or test prove a registered passkey works.
//
//	POST /{tenant}/passkey/signin/begin   {"user":"upn-or-object-id"}
//	  200 {"challenge","rpId","allowCredentials":[{"type","id"}],"timeout"}
//	POST /{tenant}/passkey/signin/finish  {"id","clientDataJSON","authenticatorData","signature","userHandle"}
//	  200 {"user_id","upn","method_id","sign_count"}
//
// Binary values are base64url without padding. The assertion is verified
// for real: the challenge (single-use, five minutes, consumed by the first
// finish that presents it, whatever the outcome), type webauthn.get,
// origin https://{rpId}, rpIdHash, UP and UV, the signature with the
// stored public key, and a strictly increasing sign counter unless both
// the stored and presented counters are zero. Failures answer 400
// (malformed) or 401 (not verified) with {"error","error_description"}.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
)

const signInTimeout = 5 * time.Minute

type signInBeginRequest struct {
	User string `json:"user"`
}

type signInFinishRequest struct {
	ID                string `json:"id"`
	ClientDataJSON    string `json:"clientDataJSON"`
	AuthenticatorData string `json:"authenticatorData"`
	Signature         string `json:"signature"`
	UserHandle        string `json:"userHandle"`
}

func writeSignInError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// decodeStrict reads a small JSON body, refusing unknown fields.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeSignInError(w, http.StatusBadRequest, "invalid_request", "invalid JSON body: "+jsonProblem(err))
		return false
	}
	return true
}

func (e *Emulator) handleSignInBegin(w http.ResponseWriter, r *http.Request, t *tenantState) {
	var req signInBeginRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	e.mu.Lock()
	u := t.user(req.User)
	var allow []map[string]string
	if u != nil {
		for _, m := range t.methods[u.ID] {
			allow = append(allow, map[string]string{"type": "public-key", "id": b64(m.CredentialID)})
		}
	}
	e.mu.Unlock()
	if u == nil {
		writeSignInError(w, http.StatusNotFound, "user_not_found", "no such user in this tenant")
		return
	}
	if len(allow) == 0 {
		writeSignInError(w, http.StatusBadRequest, "no_passkey", "the user has no FIDO2 method registered")
		return
	}
	ch, ok := e.newChallenge(challengeState{purpose: purposeSignIn, tenantID: t.ID, userID: u.ID, expires: e.now().Add(signInTimeout)}, signInChallengeBytes)
	if !ok {
		writeSignInError(w, http.StatusTooManyRequests, "too_many_challenges", "too many outstanding challenges")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"challenge":        ch,
		"rpId":             e.rpID,
		"allowCredentials": allow,
		"timeout":          signInTimeout.Milliseconds(),
	})
}

func (e *Emulator) handleSignInFinish(w http.ResponseWriter, r *http.Request, t *tenantState) {
	var req signInFinishRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	dec := func(s string) ([]byte, bool) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		return b, err == nil
	}
	credID, ok1 := dec(req.ID)
	cdj, ok2 := dec(req.ClientDataJSON)
	ad, ok3 := dec(req.AuthenticatorData)
	sig, ok4 := dec(req.Signature)
	uh, ok5 := dec(req.UserHandle)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || len(credID) == 0 || len(cdj) == 0 || len(ad) == 0 || len(sig) == 0 {
		writeSignInError(w, http.StatusBadRequest, "invalid_request", "id, clientDataJSON, authenticatorData and signature are required, base64url without padding")
		return
	}
	car := protocol.CredentialAssertionResponse{
		PublicKeyCredential: protocol.PublicKeyCredential{
			Credential: protocol.Credential{ID: req.ID, Type: string(protocol.PublicKeyCredentialType)},
			RawID:      credID,
		},
		AssertionResponse: protocol.AuthenticatorAssertionResponse{
			AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: cdj},
			AuthenticatorData:     ad,
			Signature:             sig,
			UserHandle:            uh,
		},
	}
	par, err := car.Parse()
	if err != nil {
		writeSignInError(w, http.StatusBadRequest, "invalid_request", "assertion could not be parsed: "+webauthnProblem(err))
		return
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	// The challenge is consumed by the first finish presenting it, so a
	// failed attempt cannot be retried with the same challenge.
	st, key := e.lookupChallengeLocked(par.Response.CollectedClientData.Challenge)
	if st != nil {
		delete(e.challenges, key)
	}
	m := t.methodByCredentialID(credID)
	var u *User
	if m != nil {
		u = t.user(m.UserID)
	}
	fail := func(desc string) {
		e.log.Info("passkey sign-in refused", "tenant", t.ID, "reason", desc)
		writeSignInError(w, http.StatusUnauthorized, "signin_failed", desc)
	}
	switch {
	case st == nil || st.purpose != purposeSignIn || st.tenantID != t.ID:
		fail("the challenge is unknown or was already used")
		return
	case !now.Before(st.expires):
		fail("the challenge expired")
		return
	case m == nil || u == nil:
		fail("the credential is not registered in this tenant")
		return
	case st.userID != "" && st.userID != u.ID:
		fail("the credential belongs to another user than the one signing in")
		return
	case len(uh) > 0 && !bytes.Equal(uh, u.Handle):
		fail("the user handle does not match the credential's user")
		return
	}
	if err := par.Verify(par.Response.CollectedClientData.Challenge, e.rpID, "", []string{"https://" + e.rpID}, nil, nil,
		protocol.TopOriginExplicitVerificationMode, false, true, true, m.PublicKey, protocol.SignaturePolicy{}); err != nil {
		fail("the assertion could not be verified: " + webauthnProblem(err))
		return
	}
	count := par.Response.AuthenticatorData.Counter
	if (count != 0 || m.SignCount != 0) && count <= m.SignCount {
		fail("the signature counter did not increase: the credential may be cloned")
		return
	}
	m.SignCount = count
	e.log.Info("passkey sign-in", "tenant", t.ID, "user", u.ID, "method_id", m.ID)
	writeJSON(w, http.StatusOK, map[string]any{"user_id": u.ID, "upn": u.UPN, "method_id": m.ID, "sign_count": count})
}
