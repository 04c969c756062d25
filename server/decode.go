package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/bodyio"
	"github.com/passkeyd/passkeyd/server/api"
)

// readJSON decodes the body of r into dst: application/json only, at most
// limit bytes, one JSON value, no unknown fields, no duplicate keys and at
// most maxJSONDepth levels of nesting. When optional is true an
// empty body is allowed and present reports whether there was one.
func readJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64, optional bool) (present bool, err error) {
	if r.ContentLength > limit {
		return false, tooLarge(limit)
	}
	body, err := bodyio.ReadAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return false, tooLarge(limit)
		}
		return false, passkeyd.WrapError(passkeyd.EInvalid, err, "reading the request body failed")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return false, nil
		}
		return false, passkeyd.Errorf(passkeyd.EInvalid, "the request body is empty; a JSON object is required")
	}
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return false, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return false, jsonError(err, dec.InputOffset())
	}
	// A second value, or garbage, after the first is a client bug that
	// would otherwise be silently ignored.
	if _, err := dec.Token(); err != io.EOF {
		return false, passkeyd.Errorf(passkeyd.EInvalid, "invalid JSON: unexpected data after the JSON value at offset %d", dec.InputOffset())
	}
	// The body is valid JSON now, which the key check relies on.
	if err := checkJSONKeys(body); err != nil {
		return false, err
	}
	return true, nil
}

// maxJSONDepth bounds the nesting of a request body; no request of the
// API nests more than a few levels.
const maxJSONDepth = 32

// duplicateKey is the error for key repeating first (equal, or equal but
// for case) in the object at path; field is the key's own path.
func duplicateKey(key, first, path, field string) error {
	var fe passkeyd.FieldErrors
	fe.Add(field, "is given more than once")
	msg := fmt.Sprintf("invalid JSON: duplicate key %q", safeFieldName(key))
	if key != first {
		msg += fmt.Sprintf(" (the same as %q, as keys match regardless of case)", safeFieldName(first))
	}
	if path != "" {
		msg += fmt.Sprintf(" in %q", path)
	}
	return &passkeyd.Error{Code: passkeyd.EInvalid, Message: msg, Fields: fe}
}

func tooLarge(limit int64) error {
	return passkeyd.Errorf(passkeyd.ETooLarge, "the request body exceeds %d bytes", limit)
}

// checkJSONContentType accepts application/json with at most a UTF-8
// charset parameter.
func checkJSONContentType(ct string) error {
	if ct == "" {
		return passkeyd.Errorf(passkeyd.EUnsupportedMedia, "Content-Type is missing; use application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return passkeyd.Errorf(passkeyd.EUnsupportedMedia, "Content-Type must be application/json")
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return passkeyd.Errorf(passkeyd.EUnsupportedMedia, "Content-Type must be application/json with no parameter but charset=utf-8")
		}
	}
	return nil
}

// jsonError turns a decoding error into a precise EInvalid error.
func jsonError(err error, offset int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included;
		// report the zero-based position of that byte.
		return passkeyd.Errorf(passkeyd.EInvalid, "invalid JSON at offset %d: %s", max(syn.Offset-1, 0), strings.TrimPrefix(syn.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return passkeyd.Errorf(passkeyd.EInvalid, "invalid JSON at offset %d: unexpected end of input", offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		var fe passkeyd.FieldErrors
		fe.Add(field, fmt.Sprintf("must be a JSON %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value))
		return &passkeyd.Error{Code: passkeyd.EInvalid, Message: fmt.Sprintf("invalid JSON at offset %d: wrong type for %s", typ.Offset, field), Fields: fe}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = safeFieldName(strings.Trim(name, `"`))
		var fe passkeyd.FieldErrors
		fe.Add(name, "is not a known field")
		return &passkeyd.Error{Code: passkeyd.EInvalid, Message: fmt.Sprintf("unknown field %q at offset %d", name, offset), Fields: fe}
	}
	return passkeyd.WrapError(passkeyd.EInvalid, err, "invalid JSON at offset %d", offset)
}

// safeFieldName makes a caller-chosen field name fit to echo: short and
// without control or bidi characters.
func safeFieldName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	if !passkeyd.Printable(name) {
		name = strings.Trim(strconv.QuoteToASCII(name), `"`)
	}
	return name
}

// jsonKind names a Go kind the way a JSON author thinks of it.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "struct" || k == "map":
		return "object"
	case k == "slice" || k == "array":
		return "array"
	case k == "bool":
		return "boolean"
	}
	return k
}

// query reads query parameters strictly: unknown and repeated parameters
// are errors, so that a misspelt filter never silently widens a listing.
type query struct {
	v  url.Values
	fe passkeyd.FieldErrors
}

// parseQuery parses r's query, allowing only the names given.
func parseQuery(r *http.Request, allowed ...string) (*query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, passkeyd.WrapError(passkeyd.EInvalid, err, "the query string is malformed")
	}
	q := &query{v: v}
	for name, vals := range v {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		switch {
		case !known:
			q.fe.Add(name, "is not a known query parameter")
		case len(vals) > 1:
			q.fe.Add(name, "must be given at most once")
		}
	}
	return q, nil
}

// err returns the problems found so far.
func (q *query) err() error { return q.fe.Err("invalid query parameters") }

// str returns a printable parameter of at most max bytes.
func (q *query) str(name string, max int) string {
	s := q.v.Get(name)
	if len(s) > max || !passkeyd.Printable(s) {
		q.fe.Add(name, fmt.Sprintf("must be at most %d printable characters", max))
		return ""
	}
	return s
}

// id returns an optional GUID parameter.
func (q *query) id(name string) string {
	s := q.v.Get(name)
	if s != "" && !passkeyd.IsGUID(s) {
		q.fe.Add(name, "must be a GUID")
		return ""
	}
	return s
}

// oneOf returns an optional parameter that must be one of allowed.
func (q *query) oneOf(name string, allowed ...string) string {
	s := q.v.Get(name)
	if s == "" {
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	q.fe.Add(name, "must be one of "+strings.Join(allowed, ", "))
	return ""
}

// int returns an optional integer parameter within [min, max]; def when
// absent.
func (q *query) int(name string, min, max, def int64) int64 {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		q.fe.Add(name, fmt.Sprintf("must be an integer from %d to %d", min, max))
		return def
	}
	return n
}

// bool returns an optional boolean parameter: 1/true or 0/false.
func (q *query) bool(name string) bool {
	switch q.v.Get(name) {
	case "", "0", "false":
		return false
	case "1", "true":
		return true
	}
	q.fe.Add(name, "must be 1, true, 0 or false")
	return false
}

// page returns the cursor and limit parameters.
func (q *query) page() passkeyd.Page {
	p := passkeyd.Page{Limit: int(q.int("limit", 1, passkeyd.MaxPageSize, 0))}
	p.Cursor = q.v.Get("cursor")
	if len(p.Cursor) > api.MaxCursorLength || !passkeyd.Printable(p.Cursor) {
		q.fe.Add("cursor", fmt.Sprintf("must be at most %d printable characters", api.MaxCursorLength))
		p.Cursor = ""
	}
	return p
}

// nextCursor returns the cursor of the page after items, or "" when items
// is the last page (fewer than asked for).
func nextCursor[T any](items []T, p passkeyd.Page, id func(T) string) string {
	limit := p.Limit
	if limit == 0 {
		limit = passkeyd.DefaultPageSize
	}
	if len(items) == 0 || len(items) < limit {
		return ""
	}
	return id(items[len(items)-1])
}

// pathID returns the path parameter name, which must be a GUID.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !passkeyd.IsGUID(id) {
		return "", invalidPathID(name)
	}
	return id, nil
}

// policyID returns the {id} of a policy route: a GUID or "default".
func policyID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id != passkeyd.DefaultPolicyID && !passkeyd.IsGUID(id) {
		return "", invalidPathID("id")
	}
	return id, nil
}

func invalidPathID(name string) error {
	var fe passkeyd.FieldErrors
	fe.Add(name, `must be a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e`)
	return &passkeyd.Error{Code: passkeyd.EInvalid, Message: "invalid " + name + " in the path", Fields: fe}
}
