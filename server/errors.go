package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

// defaultRetryAfter is sent with a 429 whose cause does not say how long
// to wait.
const defaultRetryAfter = 30 * time.Second

// retryAfterer is implemented by errors that know when to retry (a
// throttled Graph call, a rate limiter).
type retryAfterer interface {
	RetryAfter() time.Duration
}

// writeError answers err as a problem. Internal errors are logged with
// their cause and shown as "internal error"; other errors show only their
// safe message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := passkeyd.ErrorCodeOf(err)
	detail := passkeyd.ErrorMessage(err)
	switch {
	case code == passkeyd.EInternal:
		detail = "internal error"
		s.log.ErrorContext(r.Context(), "internal error", "request_id", passkeyd.RequestIDFrom(r.Context()), "err", err)
	case api.StatusOf(code) >= 500:
		s.log.WarnContext(r.Context(), "request failed", "request_id", passkeyd.RequestIDFrom(r.Context()), "code", string(code), "err", err)
	}
	p := api.NewProblem(code, detail)
	p.Errors = passkeyd.ErrorFields(err)
	if code == passkeyd.ERateLimited {
		d := defaultRetryAfter
		var ra retryAfterer
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			d = ra.RetryAfter()
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
	if code == passkeyd.EUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="passkeyd"`)
	}
	s.writeProblem(w, r, p)
}

// writeProblem sends p with the request ID.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p *api.Problem) {
	p.RequestID = passkeyd.RequestIDFrom(r.Context())
	w.Header().Set("Content-Type", api.ProblemContentType)
	w.WriteHeader(p.Status)
	if err := json.NewEncoder(w).Encode(p); err != nil {
		s.log.DebugContext(r.Context(), "writing problem failed", "err", err)
	}
}

// writeJSON sends v with status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	// Encoded first, so that the response carries its length: a client
	// then reads it into one buffer of the right size, and HTTP/1.1 needs
	// no chunking (an enrollment's options run to kilobytes).
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledJSONBuffer {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		s.writeError(w, r, passkeyd.WrapError(passkeyd.EInternal, err, "encoding the response failed"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		// The status is sent; all that is left is to say why the body
		// is short (usually the client went away).
		s.log.DebugContext(r.Context(), "writing response failed", "err", err)
	}
}

// jsonBuffers recycles writeJSON's buffers; one larger than
// maxPooledJSONBuffer (a big listing) is left to the GC.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledJSONBuffer = 64 << 10
