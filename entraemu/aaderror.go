package entraemu

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"
)

// aadError is an identity platform error (graph-api.md §2): an OAuth
// error, an AADSTS number and Microsoft's description.
type aadError struct {
	status int    // 400 or 401
	oauth  string // "invalid_client", "invalid_request", ...
	code   int    // AADSTS number
	msg    string // description after "AADSTSnnn: "
}

func (e *aadError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.msg) }

func errInvalidClient(code int, format string, args ...any) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", code, fmt.Sprintf(format, args...)}
}

func errInvalidRequest(code int, format string, args ...any) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_request", code, fmt.Sprintf(format, args...)}
}

// AADSTS codes the emulator produces.
const (
	codeTenantNotFound   = 90002
	codeMalformedTenant  = 900023
	codeMissingParameter = 900144
	codeUnsupportedGrant = 70003
	codeBadScope         = 70011
	codeAppNotFound      = 700016
	codeWrongSecret      = 7000215
	codeExpiredSecret    = 7000222
	codeNoCredential     = 7000218
	codeMalformedJWT     = 50027
	codeAssertionIssuer  = 700021
	codeAssertionTime    = 700024
	codeAssertionBadKey  = 700027
	codeServiceBusy      = 90033 // used for injected token faults
)

// writeAAD writes e in the identity platform's JSON error form. The
// description carries trace and correlation IDs and a timestamp, as
// Entra's does; clients must branch on error_codes only.
func (em *Emulator) writeAAD(w http.ResponseWriter, r *http.Request, e *aadError) {
	traceID := uuid.NewString()
	corrID := r.Header.Get("client-request-id")
	if uuid.Validate(corrID) != nil {
		corrID = uuid.NewString()
	}
	ts := em.now().UTC().Format("2006-01-02 15:04:05Z")
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.code, e.msg, traceID, corrID, ts)
	body := map[string]any{
		"error":             e.oauth,
		"error_description": desc,
		"error_codes":       []int{e.code},
		"timestamp":         ts,
		"trace_id":          traceID,
		"correlation_id":    corrID,
		"error_uri":         em.baseURL(r) + "/error?code=" + fmt.Sprint(e.code),
	}
	em.log.Info("token request refused", "aadsts", e.code, "error", e.oauth, "trace_id", traceID, "correlation_id", corrID)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("x-ms-request-id", traceID)
	writeJSON(w, e.status, body)
}

// writeJSON writes v with status; v never fails to encode (maps and
// plain structs), so the encode error is only a broken connection.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	writeJSONNoType(w, status, v)
}

// writeJSONNoType writes v with status, keeping the Content-Type set.
func writeJSONNoType(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
