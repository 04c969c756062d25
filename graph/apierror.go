package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// ErrMalformedResponse is wrapped by errors for 2xx responses passkeyd
// cannot use: not JSON, too large, or missing a field it needs.
var ErrMalformedResponse = errors.New("malformed Graph response")

// maxInnerErrors bounds the walk down nested innerError objects.
const maxInnerErrors = 8

// graphEnvelope is Graph's error body (graph-api.md §7). encoding/json
// matches keys case-insensitively, so "innererror" is read as well.
type graphEnvelope struct {
	Error *struct {
		Code       string          `json:"code"`
		Message    string          `json:"message"`
		InnerError json.RawMessage `json:"innerError"`
	} `json:"error"`
}

type innerError struct {
	Code            string          `json:"code"`
	RequestID       string          `json:"request-id"`
	ClientRequestID string          `json:"client-request-id"`
	InnerError      json.RawMessage `json:"innerError"`
}

// apiError builds the *passkeyd.GraphError of a non-success response.
func (c *Client) apiError(op string, resp *http.Response, body []byte, clientRequestID string) *passkeyd.GraphError {
	ge := &passkeyd.GraphError{
		Op:              op,
		Status:          resp.StatusCode,
		RequestID:       resp.Header.Get("request-id"),
		ClientRequestID: clientRequestID,
		RetryAfter:      parseRetryAfter(resp.Header.Get("Retry-After"), c.now),
		Sent:            true,
	}
	var env graphEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		ge.Code = env.Error.Code
		ge.Message = env.Error.Message
		raw := env.Error.InnerError
		for i := 0; i < maxInnerErrors && len(raw) > 0; i++ {
			var ie innerError
			if json.Unmarshal(raw, &ie) != nil {
				break
			}
			// The innermost code is the most specific one.
			if ie.Code != "" {
				ge.Code = ie.Code
			}
			if ge.RequestID == "" && ie.RequestID != "" {
				ge.RequestID = ie.RequestID
			}
			raw = ie.InnerError
		}
	}
	return ge
}

// parseRetryAfter reads Retry-After as delay seconds or an HTTP date; zero
// when absent, malformed or in the past.
func parseRetryAfter(v string, now func() time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Cap absurd values instead of overflowing a Duration.
		return time.Duration(min(secs, int64(7*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now()); d > 0 {
			return d
		}
	}
	return 0
}

// malformed returns the error for an unusable 2xx response.
func malformed(op, clientRequestID, what string) error {
	e := passkeyd.WrapError(passkeyd.EUpstream, fmt.Errorf("%w: %s", ErrMalformedResponse, what),
		"Microsoft Graph returned an unusable %s response (client-request-id %s)", op, clientRequestID)
	e.Op = "graph " + op
	return e
}

// createOutcomeUnknown is the error of a create that Graph accepted (2xx)
// with a body passkeyd cannot read: the method exists but its ID is
// unknown. It is reported like a create whose response was lost (Sent, no
// status), so that the caller reconciles by listing instead of assuming
// failure and leaving an orphan passkey.
func createOutcomeUnknown(status int, requestID, clientRequestID, what string) error {
	return &passkeyd.GraphError{
		Op:              "create",
		Message:         fmt.Sprintf("Graph answered HTTP %d but its response could not be read", status),
		RequestID:       requestID,
		ClientRequestID: clientRequestID,
		Sent:            true,
		Err:             fmt.Errorf("%w: %s", ErrMalformedResponse, what),
	}
}
