package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/bodyio"
)

// Idempotency stores the outcomes of requests made with an
// Idempotency-Key header (package idempotency implements it on the store,
// sealing the stored responses, which can carry secrets shown once).
type Idempotency interface {
	// Begin claims the key: nil, nil when the caller now owns it; the
	// stored response when the request already completed; EConflict
	// while it runs; EUnprocessable for another request under the key.
	Begin(ctx context.Context, scope, key string, reqHash []byte) (*Replay, error)
	Finish(ctx context.Context, scope, key string, status int, body []byte) error
	Abandon(ctx context.Context, scope, key string) error
}

// Replay is a stored response.
type Replay struct {
	Status int
	Body   []byte
}

// maxIdempotentBody bounds what the wrapper reads to hash the request; the
// handler applies its own, smaller limit again.
const maxIdempotentBody = 1 << 20

// idempotent makes a mutating handler safe to retry with the same
// Idempotency-Key: a retry after completion gets the stored response, a
// retry while it runs gets 409, the same key with another body gets 422.
// Keys are scoped to the caller (the API token or device), so one caller
// can never replay another's response. A failure worth retrying (5xx,
// 429) releases the key, and so does any failure of an unauthenticated
// caller (device registration), so that only redeemed invitations leave
// a record.
func (s *Server) idempotent(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || s.idem == nil {
			return h(w, r)
		}
		if len(key) > 255 || !printableASCII(key) {
			return fieldErr("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
		}
		body, err := bodyio.ReadAll(http.MaxBytesReader(w, r.Body, maxIdempotentBody), r.ContentLength, maxIdempotentBody)
		if err != nil {
			return passkeyd.Errorf(passkeyd.ETooLarge, "the request body is larger than %d bytes", maxIdempotentBody)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		sum.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
		sum.Write(body)
		scope := passkeyd.ActorFrom(r.Context()).String()
		anonymous := scope == "anonymous"
		if anonymous {
			// Device registration: the body holds the one-time code, so
			// only the holder of the code and the key can replay it.
			scope = "register"
		}
		rep, err := s.idem.Begin(r.Context(), scope, key, sum.Sum(nil))
		if err != nil {
			return err
		}
		if rep != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(rep.Status)
			_, _ = w.Write(rep.Body)
			return nil
		}
		rec := &captureWriter{header: http.Header{}}
		if err := h(rec, r); err != nil {
			s.writeError(rec, r, err)
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		ctx := context.WithoutCancel(r.Context())
		// An anonymous caller keeps a record only when it succeeded, that
		// is redeemed an invitation an admin issued: its failures would
		// otherwise let anyone add rows at will. (A failed registration
		// changed nothing, so running it again is safe.)
		if rec.status >= 500 || rec.status == http.StatusTooManyRequests || (anonymous && rec.status >= 300) {
			if err := s.idem.Abandon(ctx, scope, key); err != nil {
				s.log.ErrorContext(ctx, "could not release an idempotency key", "err", err)
			}
		} else if err := s.idem.Finish(ctx, scope, key, rec.status, rec.body); err != nil {
			s.log.ErrorContext(ctx, "could not store an idempotent response", "err", err)
		}
		rec.replay(w)
		return nil
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// fieldErr is an EInvalid error about one input.
func fieldErr(field, msg string) error {
	var fe passkeyd.FieldErrors
	fe.Add(field, msg)
	return fe.Err("invalid request")
}

// idempotentDevice is idempotent for device handlers.
func (s *Server) idempotentDevice(h deviceHandler) deviceHandler {
	return func(w http.ResponseWriter, r *http.Request, d *passkeyd.Device) error {
		return s.idempotent(func(w http.ResponseWriter, r *http.Request) error { return h(w, r, d) })(w, r)
	}
}
