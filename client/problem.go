package client

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

// Problem is an error answered by the server (RFC 9457 problem details),
// or synthesized from the status of a response that carried none (a
// proxy's error page, say).
type Problem struct {
	Status int
	Type   string
	Title  string
	Detail string
	// RawCode is the code as the server sent it; Code maps it back to a
	// passkeyd.ErrorCode.
	RawCode   string
	Errors    passkeyd.FieldErrors
	RequestID string
}

// Error implements error.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "passkeyd: %s (HTTP %d, %s)", p.Title, p.Status, p.Code())
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "; %s %s", f.Field, f.Message)
	}
	if p.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", p.RequestID)
	}
	return b.String()
}

// Code returns the passkeyd error code: the one sent if known, else the
// one of the HTTP status (a newer server may send codes this client does
// not know).
func (p *Problem) Code() passkeyd.ErrorCode {
	c := passkeyd.ErrorCode(p.RawCode)
	if c != "" && api.StatusOf(c) == p.Status {
		return c
	}
	return api.CodeOfStatus(p.Status)
}

// Unwrap returns the problem as a *passkeyd.Error, so that
// passkeyd.ErrorCodeOf, ErrorMessage and ErrorFields work on it.
func (p *Problem) Unwrap() error {
	return &passkeyd.Error{Code: p.Code(), Message: p.Detail, Fields: p.Errors}
}

// problemFrom builds the Problem of an unexpected response.
func problemFrom(resp *http.Response, body []byte) *Problem {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == api.ProblemContentType {
		var ap api.Problem
		if err := json.Unmarshal(body, &ap); err == nil && ap.Status == resp.StatusCode {
			return &Problem{
				Status: ap.Status, Type: ap.Type, Title: ap.Title, Detail: ap.Detail,
				RawCode: string(ap.Code), Errors: ap.Errors, RequestID: ap.RequestID,
			}
		}
	}
	code := api.CodeOfStatus(resp.StatusCode)
	title := http.StatusText(resp.StatusCode)
	if title == "" {
		title = "Unexpected status"
	}
	return &Problem{
		Status:    resp.StatusCode,
		Type:      "about:blank",
		Title:     title,
		Detail:    fmt.Sprintf("unexpected response: HTTP %d with Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type")),
		RawCode:   string(code),
		RequestID: resp.Header.Get("X-Request-ID"),
	}
}
