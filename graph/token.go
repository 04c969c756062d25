package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	passkeyd "github.com/passkeyd/passkeyd"
)

// maxTokenErrorBody bounds how much of a token error response is read.
const maxTokenErrorBody = 64 << 10

// tokenSource hands out app-only tokens for one scope. azidentity caches
// each token for its lifetime, so most calls do no I/O.
//
// Forcing a refresh after a 401: azidentity offers no "drop this token"
// call, and asking with claims would send a claims parameter Entra only
// expects in answer to a CAE challenge. So invalidate replaces the
// credential with a new one, whose cache is empty; the next Token call then
// asks the token endpoint. A generation number makes concurrent 401s for
// the same token rebuild the credential only once.
type tokenSource struct {
	scope   string
	now     func() time.Time
	newCred func() (azcore.TokenCredential, error)

	mu   sync.Mutex
	cred azcore.TokenCredential
	gen  uint64
}

func newTokenSource(cfg passkeyd.GraphConfig, hc *http.Client, now func() time.Time) (*tokenSource, error) {
	ts := &tokenSource{
		scope:   cfg.GraphURL + "/.default",
		now:     now,
		newCred: func() (azcore.TokenCredential, error) { return newCredential(cfg, hc, now) },
	}
	cred, err := ts.newCred()
	if err != nil {
		return nil, err
	}
	ts.cred = cred
	return ts, nil
}

// newCredential builds the credential the config holds. It is the one
// place that knows the kinds: a client secret, or a client certificate
// whose assertions assertionSigner signs (see there for why not
// azidentity's own certificate credential). New has already checked that
// exactly one is set.
func newCredential(cfg passkeyd.GraphConfig, hc *http.Client, now func() time.Time) (azcore.TokenCredential, error) {
	copts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.AuthorityHost + "/"},
		Transport: hc,
		// Retrying and backing off is the job queue's business; azcore's
		// default would add up to three hidden retries per token call.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}
	var (
		cred azcore.TokenCredential
		err  error
	)
	switch {
	case cfg.Certificate != nil:
		signer := newAssertionSigner(cfg, now)
		cred, err = azidentity.NewClientAssertionCredential(cfg.TenantID, cfg.ClientID, signer.assertion,
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
	case cfg.ClientSecret != "":
		cred, err = azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret.Reveal(),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
	default:
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "no client credential configured: set a client secret or a client certificate")
	}
	if err != nil {
		// azidentity only fails here on a malformed tenant ID, and its
		// text holds no secret.
		return nil, passkeyd.WrapError(passkeyd.EInvalid, err, "invalid tenant ID for the token endpoint")
	}
	return cred, nil
}

// get returns a token and the generation of the credential that issued it.
func (ts *tokenSource) get(ctx context.Context) (string, uint64, error) {
	ts.mu.Lock()
	cred, gen := ts.cred, ts.gen
	ts.mu.Unlock()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ts.scope}})
	if err != nil {
		return "", gen, tokenError(err, ts.now)
	}
	return tok.Token, gen, nil
}

// invalidate drops the cache of generation gen, if it is still current.
func (ts *tokenSource) invalidate(gen uint64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if gen != ts.gen {
		return // another call already refreshed
	}
	cred, err := ts.newCred()
	if err != nil {
		return // cannot happen with a config that built once; keep the old one
	}
	ts.cred, ts.gen = cred, ts.gen+1
}

// Token returns an access token for Graph, from azidentity's cache when it
// is still valid. Test Connection decodes it with DecodeTokenClaims.
func (c *Client) Token(ctx context.Context) (string, error) {
	tok, _, err := c.tokens.get(ctx)
	return tok, err
}

// oauthError is the token endpoint's error body (graph-api.md §2).
type oauthError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// tokenError maps an azidentity failure into a *passkeyd.GraphError with
// Op "token", reading the OAuth error body when there is a response.
func tokenError(err error, now func() time.Time) error {
	ge := &passkeyd.GraphError{Op: "token"}
	afe, ok := errorsAs[*azidentity.AuthenticationFailedError](err)
	if !ok || afe.RawResponse == nil {
		// No response: transport failure, cancelled context, or a
		// response MSAL could not parse. azidentity's text carries no
		// secret, so it is kept as the cause.
		ge.Err = err
		return ge
	}
	resp := afe.RawResponse
	ge.Status = resp.StatusCode
	ge.RequestID = resp.Header.Get("x-ms-request-id")
	ge.ClientRequestID = resp.Header.Get("client-request-id")
	ge.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	body := readAndRestore(resp, maxTokenErrorBody)
	var oe oauthError
	if json.Unmarshal(body, &oe) == nil {
		ge.Code = oe.Error
		ge.ErrorCodes = oe.ErrorCodes
		// The first line is the AADSTS text; trace and correlation IDs
		// that follow it are kept in their own fields.
		ge.Message, _, _ = strings.Cut(oe.Description, "\r\n")
		ge.Message, _, _ = strings.Cut(ge.Message, "\n")
		if oe.TraceID != "" {
			ge.RequestID = oe.TraceID
		}
		if oe.CorrelationID != "" {
			ge.ClientRequestID = oe.CorrelationID
		}
	}
	if ge.Code == "" {
		ge.Message = fmt.Sprintf("the token endpoint answered HTTP %d without an OAuth error", resp.StatusCode)
	}
	return ge
}

// readAndRestore reads up to limit bytes of resp's body and puts back a
// body that yields the same bytes, so that azidentity's own error text
// still shows the response.
func readAndRestore(resp *http.Response, limit int64) []byte {
	if resp.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	return b
}
