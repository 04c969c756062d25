package passkeyd

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorCode classifies an error; the HTTP layer maps each code to one
// status in one place.
type ErrorCode string

// Error codes.
const (
	EInvalid          ErrorCode = "invalid"           // 400: the request is malformed or a field is wrong
	EUnauthorized     ErrorCode = "unauthorized"      // 401: no or bad credentials
	EForbidden        ErrorCode = "forbidden"         // 403: authenticated but not allowed
	ENotFound         ErrorCode = "not_found"         // 404
	EConflict         ErrorCode = "conflict"          // 409: the state does not allow it (now)
	EGone             ErrorCode = "gone"              // 410: expired or already used (codes, enrollments)
	ETooLarge         ErrorCode = "too_large"         // 413
	EUnsupportedMedia ErrorCode = "unsupported_media" // 415
	EUnprocessable    ErrorCode = "unprocessable"     // 422: well-formed but rejected (attestation, policy)
	ERateLimited      ErrorCode = "rate_limited"      // 429
	EUpstream         ErrorCode = "upstream"          // 502: Entra / Graph refused or failed
	EUnavailable      ErrorCode = "unavailable"       // 503: not configured or not ready
	EInternal         ErrorCode = "internal"          // 500
)

// Error is the error type of passkeyd: a code for machines, a message that
// is safe to show to the caller, the operation that failed and the wrapped
// cause (never shown to callers, only logged).
type Error struct {
	Code    ErrorCode
	Op      string
	Message string
	Fields  FieldErrors
	Err     error
}

// Error implements error. It includes the cause, for logs.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s %s", f.Field, f.Message)
	}
	if e.Err != nil && e.Err.Error() != e.Message {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and safe message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with code and safe message wrapping cause.
func WrapError(code ErrorCode, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the safe message of the first *Error in err's chain,
// or a generic text for other errors (whose text may hold internals).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field problems of the first *Error in err's chain.
func ErrorFields(err error) FieldErrors {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// FieldError is one problem with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldErrors collects every problem of an input, so that all are reported
// at once.
type FieldErrors []FieldError

// Add records a problem with field.
func (fe *FieldErrors) Add(field, message string) {
	*fe = append(*fe, FieldError{Field: field, Message: message})
}

// Err returns nil when there is no problem, else an EInvalid *Error with
// message and the problems.
func (fe FieldErrors) Err(message string) error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: EInvalid, Message: message, Fields: fe}
}
