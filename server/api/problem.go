package api

import (
	"net/http"

	passkeyd "github.com/passkeyd/passkeyd"
)

// ProblemContentType is the media type of error responses (RFC 9457).
const ProblemContentType = "application/problem+json"

// ProblemTypeBase prefixes the error code to form a problem's type URI.
const ProblemTypeBase = "https://passkeyd.dev/problems/"

// Problem is an RFC 9457 problem details object, extended with passkeyd's
// error code, the field problems and the request ID.
type Problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail,omitempty"`
	Code      passkeyd.ErrorCode   `json:"code"`
	Errors    passkeyd.FieldErrors `json:"errors,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
}

type codeInfo struct {
	status int
	title  string
}

// codes is the one place where an error code meets its HTTP status.
func codes() map[passkeyd.ErrorCode]codeInfo {
	return map[passkeyd.ErrorCode]codeInfo{
		passkeyd.EInvalid:          {http.StatusBadRequest, "Invalid request"},
		passkeyd.EUnauthorized:     {http.StatusUnauthorized, "Unauthorized"},
		passkeyd.EForbidden:        {http.StatusForbidden, "Forbidden"},
		passkeyd.ENotFound:         {http.StatusNotFound, "Not found"},
		passkeyd.EConflict:         {http.StatusConflict, "Conflict"},
		passkeyd.EGone:             {http.StatusGone, "Gone"},
		passkeyd.ETooLarge:         {http.StatusRequestEntityTooLarge, "Request too large"},
		passkeyd.EUnsupportedMedia: {http.StatusUnsupportedMediaType, "Unsupported media type"},
		passkeyd.EUnprocessable:    {http.StatusUnprocessableEntity, "Unprocessable request"},
		passkeyd.ERateLimited:      {http.StatusTooManyRequests, "Too many requests"},
		passkeyd.EUpstream:         {http.StatusBadGateway, "Upstream error"},
		passkeyd.EUnavailable:      {http.StatusServiceUnavailable, "Service unavailable"},
		passkeyd.EInternal:         {http.StatusInternalServerError, "Internal error"},
	}
}

// StatusOf returns the HTTP status of an error code; unknown codes are
// internal errors (500).
func StatusOf(code passkeyd.ErrorCode) int {
	if ci, ok := codes()[code]; ok {
		return ci.status
	}
	return http.StatusInternalServerError
}

// TitleOf returns the problem title of an error code.
func TitleOf(code passkeyd.ErrorCode) string {
	if ci, ok := codes()[code]; ok {
		return ci.title
	}
	return "Internal error"
}

// CodeOfStatus returns the error code of an HTTP status, for responses
// that carry no problem body (a proxy's error page, say). Statuses with no
// code of their own map to EInvalid (other 4xx) or EInternal.
func CodeOfStatus(status int) passkeyd.ErrorCode {
	switch status {
	case http.StatusGatewayTimeout:
		return passkeyd.EUpstream
	}
	for code, ci := range codes() {
		if ci.status == status {
			return code
		}
	}
	if status >= 400 && status < 500 {
		return passkeyd.EInvalid
	}
	return passkeyd.EInternal
}

// NewProblem returns the problem of code with the safe detail text.
func NewProblem(code passkeyd.ErrorCode, detail string) *Problem {
	if _, ok := codes()[code]; !ok {
		code = passkeyd.EInternal
	}
	return &Problem{
		Type:   ProblemTypeBase + string(code),
		Title:  TitleOf(code),
		Status: StatusOf(code),
		Detail: detail,
		Code:   code,
	}
}
