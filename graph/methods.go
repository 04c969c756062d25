package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Limits of the create request and of list paging.
const (
	maxBinaryField = 256 << 10 // clientDataJSON, attestationObject, credential ID (encoded)
	maxListPages   = 50
)

// methodsURL is {GraphURL}/{version}/users/{user}/authentication/fido2Methods
// followed by suffix (already escaped).
func (c *Client) methodsURL(version, user, suffix string) string {
	return c.graphBase.String() + "/" + version + "/users/" + escapeSegment(user) +
		"/authentication/fido2Methods" + suffix
}

// CreationOptions fetches WebAuthn creation options for user (graph-api.md
// §4.1). timeoutMinutes 5 (or 0, the default) uses v1.0, whose challenge
// lives 5 minutes; 6..43200 uses beta's inline function-parameter form.
func (c *Client) CreationOptions(ctx context.Context, user string, timeoutMinutes int) (*passkeyd.CreationOptions, error) {
	const op = "creationOptions"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	if timeoutMinutes == 0 {
		timeoutMinutes = passkeyd.DefaultChallengeTimeoutMinutes
	}
	var u string
	switch {
	case timeoutMinutes == passkeyd.DefaultChallengeTimeoutMinutes:
		u = c.methodsURL("v1.0", user, "/creationOptions")
	case timeoutMinutes > passkeyd.DefaultChallengeTimeoutMinutes && timeoutMinutes <= passkeyd.MaxChallengeTimeoutMinutes:
		// Never the ?challengeTimeoutInMinutes= query form: Graph has
		// answered it with 405.
		u = c.methodsURL("beta", user, "/creationOptions(challengeTimeoutInMinutes="+strconv.Itoa(timeoutMinutes)+")")
	default:
		e := passkeyd.Errorf(passkeyd.EInvalid, "the challenge timeout must be between 5 and %d minutes", passkeyd.MaxChallengeTimeoutMinutes)
		e.Op = "graph " + op
		return nil, e
	}
	requested := c.now()
	res, err := c.do(ctx, call{op: op, method: http.MethodGet, url: u, want: http.StatusOK})
	if err != nil {
		return nil, err
	}
	co, err := parseCreationOptions(res.body, requested.Add(time.Duration(timeoutMinutes)*time.Minute))
	if err != nil {
		return nil, malformed(op, res.clientRequestID, err.Error())
	}
	co.ClientRequestID = res.clientRequestID
	return co, nil
}

// parseCreationOptions reads Graph's webauthnCredentialCreationOptions,
// at the top level or inside {"value": {...}}, ignoring unknown fields.
// fallbackExpiry is used when challengeTimeoutDateTime is absent or
// unreadable; it is computed from the request time, so it errs early.
func parseCreationOptions(body []byte, fallbackExpiry time.Time) (*passkeyd.CreationOptions, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("creation options are not a JSON object: %v", err)
	}
	if v, ok := top["value"]; ok && isJSONObject(v) {
		top = nil
		if err := json.Unmarshal(v, &top); err != nil {
			return nil, fmt.Errorf("creation options value is not a JSON object: %v", err)
		}
	}
	pk, ok := top["publicKey"]
	if !ok || !isJSONObject(pk) {
		return nil, fmt.Errorf("creation options have no publicKey object")
	}
	var parsed struct {
		RP struct {
			ID string `json:"id"`
		} `json:"rp"`
		Challenge string `json:"challenge"`
		User      struct {
			Name string `json:"name"`
		} `json:"user"`
	}
	if err := json.Unmarshal(pk, &parsed); err != nil {
		return nil, fmt.Errorf("publicKey: %v", err)
	}
	if parsed.Challenge == "" {
		return nil, fmt.Errorf("publicKey has no challenge")
	}
	if parsed.RP.ID == "" {
		return nil, fmt.Errorf("publicKey has no rp.id")
	}
	expiry := fallbackExpiry
	var ts string
	if raw, ok := top["challengeTimeoutDateTime"]; ok && json.Unmarshal(raw, &ts) == nil {
		if t, ok := parseGraphTime(ts); ok {
			expiry = t
		}
	}
	return &passkeyd.CreationOptions{
		ChallengeTimeout: expiry,
		// Kept byte for byte: the device gets exactly what Graph sent.
		PublicKey: append(json.RawMessage(nil), pk...),
		RPID:      parsed.RP.ID,
		Challenge: parsed.Challenge,
		UserName:  parsed.User.Name,
	}, nil
}

func isJSONObject(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// parseGraphTime reads Graph's ISO-8601 timestamps, with or without a zone
// (.NET omits it at times; Graph's times are UTC) and with up to seven
// fractional digits.
func parseGraphTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// createBody is exactly the documented create body (graph-api.md §4.2):
// adding type, rawId or transports has made registrations fail.
type createBody struct {
	DisplayName         string               `json:"displayName"`
	PublicKeyCredential createBodyCredential `json:"publicKeyCredential"`
}

type createBodyCredential struct {
	ID                     string          `json:"id"`
	Response               createBodyResp  `json:"response"`
	ClientExtensionResults json.RawMessage `json:"clientExtensionResults"`
}

type createBodyResp struct {
	ClientDataJSON    string `json:"clientDataJSON"`
	AttestationObject string `json:"attestationObject"`
}

// CreateMethod registers an attested credential for user (graph-api.md
// §4.2). It is never retried after a transport error: the returned
// *passkeyd.GraphError says with Sent whether the outcome is unknown.
func (c *Client) CreateMethod(ctx context.Context, user string, req passkeyd.CreateMethodRequest) (*passkeyd.Fido2Method, error) {
	const op = "create"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	body, err := buildCreateBody(req)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{op: op, method: http.MethodPost, url: c.methodsURL("v1.0", user, ""), body: body, want: http.StatusCreated})
	if err != nil {
		return nil, err
	}
	m, err := parseMethod(res.body)
	if err != nil {
		return nil, createOutcomeUnknown(http.StatusCreated, res.requestID, res.clientRequestID, err.Error())
	}
	m.ClientRequestID = res.clientRequestID
	return m, nil
}

// buildCreateBody validates req and encodes the create body, re-encoding
// binary fields as base64url without padding.
func buildCreateBody(req passkeyd.CreateMethodRequest) ([]byte, error) {
	var fe passkeyd.FieldErrors
	if !checkDisplayName(req.DisplayName) {
		fe.Add("displayName", fmt.Sprintf("must be 1 to %d printable characters", passkeyd.MaxDisplayNameLength))
	}
	bin := func(field, v string) string {
		if v == "" || len(v) > maxBinaryField {
			fe.Add(field, fmt.Sprintf("must be 1 to %d characters of base64url", maxBinaryField))
			return ""
		}
		if isCanonicalBase64URL(v) {
			return v
		}
		b, err := DecodeBase64Tolerant(v)
		if err != nil {
			fe.Add(field, "must be base64url")
			return ""
		}
		return EncodeBase64URL(b)
	}
	cred := createBodyCredential{
		ID: bin("publicKeyCredential.id", req.CredentialID),
		Response: createBodyResp{
			ClientDataJSON:    bin("publicKeyCredential.response.clientDataJSON", req.ClientDataJSON),
			AttestationObject: bin("publicKeyCredential.response.attestationObject", req.AttestationObject),
		},
		ClientExtensionResults: json.RawMessage("{}"),
	}
	if len(bytes.TrimSpace(req.ClientExtensionResults)) > 0 {
		var obj map[string]json.RawMessage
		if len(req.ClientExtensionResults) > maxBinaryField || json.Unmarshal(req.ClientExtensionResults, &obj) != nil || obj == nil {
			fe.Add("publicKeyCredential.clientExtensionResults", "must be a JSON object")
		} else {
			cred.ClientExtensionResults = req.ClientExtensionResults
		}
	}
	if err := fe.Err("invalid FIDO2 method creation request"); err != nil {
		err.(*passkeyd.Error).Op = "graph create"
		return nil, err
	}
	body, err := json.Marshal(createBody{DisplayName: req.DisplayName, PublicKeyCredential: cred})
	if err != nil {
		return nil, fmt.Errorf("graph create: encoding the body: %w", err)
	}
	return body, nil
}

// wireMethod is fido2AuthenticationMethod as Graph sends it; times and
// nulls are read tolerantly before they become a passkeyd.Fido2Method.
type wireMethod struct {
	ID                      string   `json:"id"`
	DisplayName             string   `json:"displayName"`
	CreatedDateTime         *string  `json:"createdDateTime"`
	AAGUID                  string   `json:"aaGuid"`
	Model                   *string  `json:"model"`
	AttestationCertificates []string `json:"attestationCertificates"`
	AttestationLevel        string   `json:"attestationLevel"`
	PasskeyType             string   `json:"passkeyType"`
}

func (w *wireMethod) method() (*passkeyd.Fido2Method, error) {
	if w.ID == "" {
		return nil, fmt.Errorf("method has no id")
	}
	m := &passkeyd.Fido2Method{
		ID:                      w.ID,
		DisplayName:             w.DisplayName,
		AAGUID:                  w.AAGUID,
		AttestationCertificates: w.AttestationCertificates,
		AttestationLevel:        w.AttestationLevel,
		PasskeyType:             w.PasskeyType,
	}
	if w.Model != nil {
		m.Model = *w.Model
	}
	if w.CreatedDateTime != nil {
		if t, ok := parseGraphTime(*w.CreatedDateTime); ok {
			m.CreatedDateTime = t
		}
	}
	return m, nil
}

func parseMethod(body []byte) (*passkeyd.Fido2Method, error) {
	var w wireMethod
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("method is not a JSON object: %v", err)
	}
	return w.method()
}

// ListMethods lists user's FIDO2 methods (graph-api.md §4.3), following
// @odata.nextLink only to the configured Graph host and for at most
// maxListPages pages.
func (c *Client) ListMethods(ctx context.Context, user string) ([]passkeyd.Fido2Method, error) {
	const op = "list"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	next := c.methodsURL("v1.0", user, "")
	var out []passkeyd.Fido2Method
	for page := 0; next != ""; page++ {
		if page == maxListPages {
			return nil, malformed(op, "", fmt.Sprintf("more than %d pages of methods", maxListPages))
		}
		res, err := c.do(ctx, call{op: op, method: http.MethodGet, url: next, want: http.StatusOK})
		if err != nil {
			return nil, err
		}
		var pageBody struct {
			Value    []wireMethod `json:"value"`
			NextLink string       `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(res.body, &pageBody); err != nil {
			return nil, malformed(op, res.clientRequestID, "list is not a JSON object with a value array")
		}
		for i := range pageBody.Value {
			m, err := pageBody.Value[i].method()
			if err != nil {
				return nil, malformed(op, res.clientRequestID, err.Error())
			}
			out = append(out, *m)
		}
		next = ""
		if pageBody.NextLink != "" {
			if next, err = c.checkNextLink(pageBody.NextLink); err != nil {
				return nil, malformed(op, res.clientRequestID, err.Error())
			}
		}
	}
	return out, nil
}

// checkNextLink accepts a nextLink only on the configured Graph scheme and
// host, so that a response cannot send the bearer token elsewhere.
func (c *Client) checkNextLink(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != c.graphBase.Scheme || !strings.EqualFold(u.Host, c.graphBase.Host) || u.User != nil {
		return "", fmt.Errorf("@odata.nextLink does not point at the configured Graph host")
	}
	if !strings.HasPrefix(u.EscapedPath(), c.graphBase.EscapedPath()+"/") {
		return "", fmt.Errorf("@odata.nextLink is outside the configured Graph URL")
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// GetMethod returns one of user's FIDO2 methods, or a *passkeyd.GraphError
// with Status 404 when Graph does not know it.
func (c *Client) GetMethod(ctx context.Context, user, id string) (*passkeyd.Fido2Method, error) {
	const op = "get"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	if err := checkMethodID(op, id); err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{op: op, method: http.MethodGet, url: c.methodsURL("v1.0", user, "/"+escapeSegment(id)), want: http.StatusOK})
	if err != nil {
		return nil, err
	}
	m, err := parseMethod(res.body)
	if err != nil {
		return nil, malformed(op, res.clientRequestID, err.Error())
	}
	m.ClientRequestID = res.clientRequestID
	return m, nil
}

// DeleteMethod deletes one of user's FIDO2 methods. Graph's 404 comes back
// as a *passkeyd.GraphError with Status 404: revocation treats it as done.
func (c *Client) DeleteMethod(ctx context.Context, user, id string) error {
	const op = "delete"
	if err := checkUser(op, user); err != nil {
		return err
	}
	if err := checkMethodID(op, id); err != nil {
		return err
	}
	_, err := c.do(ctx, call{op: op, method: http.MethodDelete, url: c.methodsURL("v1.0", user, "/"+escapeSegment(id)), want: http.StatusNoContent})
	return err
}
