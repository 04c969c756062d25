package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Debug log limits: bodies are shown up to maxLoggedBody bytes after
// redaction; bodies larger than maxInspectedBody are not parsed at all
// (and so not shown), since redaction needs the whole document.
const (
	maxLoggedBody    = 4 << 10
	maxInspectedBody = 1 << 20
	redactedValue    = "[REDACTED]"
)

// isSecretKey reports whether a form or JSON key's value is never logged.
func isSecretKey(lowerKey string) bool {
	switch lowerKey {
	case "client_secret", "client_assertion", "access_token", "refresh_token", "id_token",
		"assertion", "password", "authorization":
		return true
	}
	return false
}

// isShortenedKey reports whether a key holds WebAuthn material that is
// logged as a prefix and length: enough to compare two calls, too little to
// replay anything. A live creationOptions challenge is such material: with
// it, anyone reading the log could complete a registration for the user
// until the challenge expires.
func isShortenedKey(lowerKey string) bool {
	return lowerKey == "attestationobject" || lowerKey == "clientdatajson" || lowerKey == "challenge"
}

// throttleHeaders are the response headers worth an admin's eyes when
// Graph slows down (graph-api.md §7).
func throttleHeaders() [4]string {
	return [4]string{"x-ms-throttle-scope", "x-ms-throttle-information", "x-ms-resource-unit", "Retry-After"}
}

// debugTransport logs every request and response at debug level, with
// tokens, secrets and WebAuthn material redacted. It sits under the
// http.Client that both Graph calls and azidentity's token calls use, so
// both are covered.
type debugTransport struct {
	base http.RoundTripper
	log  *slog.Logger
	now  func() time.Time
}

// CloseIdleConnections passes the call on to the base transport.
func (d *debugTransport) CloseIdleConnections() { closeIdle(d.base) }

// RoundTrip implements http.RoundTripper.
func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !d.log.Enabled(ctx, slog.LevelDebug) {
		return d.base.RoundTrip(req)
	}
	attrs := []any{"method", req.Method, "url", req.URL.Redacted(), "client_request_id", req.Header.Get("client-request-id")}
	if req.Header.Get("Authorization") != "" {
		attrs = append(attrs, "authorization", redactedValue)
	}
	if req.Body != nil && req.Body != http.NoBody {
		// Read the body into memory for logging and hand the transport
		// a copy; the caller's request itself is not modified.
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(ctx)
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		attrs = append(attrs, "body", redactBody(req.Header.Get("Content-Type"), b))
	}
	d.log.DebugContext(ctx, "graph http request", attrs...)

	start := d.now()
	resp, err := d.base.RoundTrip(req)
	attrs = []any{"method", req.Method, "url", req.URL.Redacted(), "duration", d.now().Sub(start),
		"client_request_id", req.Header.Get("client-request-id")}
	if err != nil {
		d.log.DebugContext(ctx, "graph http response", append(attrs, "err", err.Error())...)
		return nil, err
	}
	attrs = append(attrs, "status", resp.StatusCode, "request_id", firstNonEmpty(resp.Header.Get("request-id"), resp.Header.Get("x-ms-request-id")))
	for _, h := range throttleHeaders() {
		if v := resp.Header.Get(h); v != "" {
			attrs = append(attrs, strings.ToLower(h), v)
		}
	}
	if resp.Body != nil && resp.Body != http.NoBody {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxInspectedBody+1))
		// Give the caller the whole body back, read part first.
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		switch {
		case rerr != nil:
			attrs = append(attrs, "body", "[unreadable: "+rerr.Error()+"]")
		case len(b) > maxInspectedBody:
			attrs = append(attrs, "body", "[larger than 1 MiB, not logged]")
		case len(b) > 0:
			attrs = append(attrs, "body", redactBody(resp.Header.Get("Content-Type"), b))
		}
	}
	d.log.DebugContext(ctx, "graph http response", attrs...)
	return resp, nil
}

// redactBody returns a loggable form of a body: JSON and form bodies with
// secrets removed, truncated; anything else only described, since it could
// hold anything.
func redactBody(contentType string, b []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	var out string
	switch {
	case mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(b))
		if err != nil {
			return "[malformed form body not logged]"
		}
		for k := range vals {
			if isSecretKey(strings.ToLower(k)) {
				vals[k] = []string{redactedValue}
			}
		}
		out = vals.Encode()
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && json.Valid(b)):
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return "[malformed JSON body not logged]"
		}
		r, err := json.Marshal(redactJSON(v, ""))
		if err != nil {
			return "[JSON body not logged]"
		}
		out = string(r)
	default:
		return "[" + mt + " body of " + itoa(len(b)) + " bytes not logged]"
	}
	return truncate(out, maxLoggedBody)
}

// redactJSON walks v, replacing secret values and shortening WebAuthn ones.
// Strings that look like JWTs are redacted wherever they appear.
func redactJSON(v any, key string) any {
	lk := strings.ToLower(key)
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = redactJSON(e, k)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactJSON(e, key)
		}
		return x
	case string:
		switch {
		case isSecretKey(lk) || looksLikeJWT(x):
			return redactedValue
		case isShortenedKey(lk):
			return shorten(x)
		}
		return x
	}
	if isSecretKey(lk) && v != nil {
		return redactedValue
	}
	return v
}

// looksLikeJWT reports whether s has the shape header.payload[.signature]
// with a base64url JSON header.
func looksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") >= 2
}

func shorten(s string) string {
	if len(s) <= 16 {
		return s
	}
	return s[:8] + "…[" + itoa(len(s)) + " chars]"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[truncated, " + itoa(len(s)) + " bytes]"
}

func itoa(n int) string { return strconv.Itoa(n) }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
