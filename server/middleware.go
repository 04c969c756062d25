package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

// maxRequestIDLength bounds an incoming X-Request-ID.
const maxRequestIDLength = 64

// reqInfo is what inner handlers learn about a request and the logging
// middleware reports once the response is written.
type reqInfo struct {
	pattern  string
	actor    passkeyd.Actor
	clientIP string
}

type infoKey struct{}

// infoFrom returns the request's reqInfo; a throwaway one outside the
// middleware, so that handlers never need to check.
func infoFrom(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// middleware wraps h with, from the outside in: request ID, security
// headers, request logging and panic recovery.
func (s *Server) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		ri := &reqInfo{clientIP: clientIP(r, s.trustedProxies)}
		ctx := passkeyd.WithRequestID(context.WithValue(r.Context(), infoKey{}, ri), id)
		ctx = passkeyd.WithClientIP(ctx, ri.clientIP)
		r = r.WithContext(ctx)

		w.Header().Set("X-Request-ID", id)
		setSecurityHeaders(w.Header(), r)

		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic serving request", "request_id", id, "panic", fmt.Sprint(v))
				if sw.status == 0 {
					s.writeError(sw, r, passkeyd.Errorf(passkeyd.EInternal, "internal error"))
				}
			}
			s.logRequest(ctx, r, ri, id, sw.status, s.now().Sub(start))
		}()
		h.ServeHTTP(sw, r)
	})
}

// logRequest writes the one line of a request. It never logs headers,
// queries or bodies: they may hold tokens, codes and personal data.
func (s *Server) logRequest(ctx context.Context, r *http.Request, ri *reqInfo, id string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case (ri.pattern == "GET /healthz" || ri.pattern == "GET /readyz") && status < 300:
		// Probes hit these every few seconds; keep them out of the way.
		level = slog.LevelDebug
	}
	route := ri.pattern
	if route == "" {
		route = "unmatched"
	}
	s.log.LogAttrs(ctx, level, "http request",
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("request_id", id),
		slog.String("actor", ri.actor.String()),
		slog.String("client_ip", ri.clientIP),
	)
}

// validRequestID accepts a caller's request ID only when it is short and
// made of characters safe in logs and headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}

// setSecurityHeaders sets the headers every API response carries.
func setSecurityHeaders(h http.Header, r *http.Request) {
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	// HSTS over plain HTTP is ignored by browsers and would be wrong
	// behind a TLS-terminating proxy that also serves HTTP; only send it
	// when this process itself terminated TLS.
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
