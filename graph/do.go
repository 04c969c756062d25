package graph

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/bodyio"
)

// Response body limits. Creation options are observed at ~10 KB (the
// challenge alone ~7 KB); a list page holds a handful of small methods.
const (
	maxSuccessBody = 1 << 20
	maxErrorBody   = 64 << 10
)

// call is one Graph request.
type call struct {
	op     string // GraphError.Op
	method string
	url    string // absolute, already escaped
	body   []byte // JSON, POST only
	want   int    // the documented success status; any 2xx is accepted
}

// result is a successful response.
type result struct {
	body            []byte
	requestID       string
	clientRequestID string
}

// do performs cl with a bearer token. A 401 gets one fresh token and one
// more try (a 401 means Graph rejected the token before doing anything, so
// even a create is safe to repeat). A GET or DELETE gets one more try after
// a connection error without a response; a POST never does.
func (c *Client) do(ctx context.Context, cl call) (*result, error) {
	token, gen, err := c.tokens.get(ctx)
	if err != nil {
		return nil, err
	}
	refreshed, redialed := false, false
	// The first attempt uses the caller's client-request-id, if it set one
	// (it records the ID in its audit event before the call); a retry is a
	// new request and gets a new ID.
	crid := passkeyd.ClientRequestIDFrom(ctx)
	for {
		if crid == "" {
			crid = uuid.NewString()
		}
		start := c.now()
		resp, sent, err := c.send(ctx, cl, token, crid)
		c.observe(cl.op, resp, err, start)
		if err != nil {
			ge := &passkeyd.GraphError{Op: cl.op, ClientRequestID: crid, Sent: sent, Err: err}
			if cl.method != http.MethodPost && !redialed && retryableTransportError(ctx, err) {
				redialed = true
				c.log.DebugContext(ctx, "graph call failed without a response; trying once more",
					"op", cl.op, "client_request_id", crid, "err", err)
				crid = ""
				continue
			}
			return nil, ge
		}
		requestID := resp.Header.Get("request-id")
		c.log.DebugContext(ctx, "graph call", "op", cl.op, "status", resp.StatusCode,
			"duration", c.since(start), "client_request_id", crid, "request_id", requestID)

		if resp.StatusCode == http.StatusUnauthorized && !refreshed {
			drainClose(resp)
			refreshed = true
			c.tokens.invalidate(gen)
			if token, gen, err = c.tokens.get(ctx); err != nil {
				return nil, err
			}
			crid = ""
			continue
		}
		// Any 2xx is success: a create answered 200 instead of the
		// documented 201 still created the method.
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			drainClose(resp)
			return nil, c.apiError(cl.op, resp, body, crid)
		}
		if resp.StatusCode != cl.want {
			c.log.WarnContext(ctx, "Graph answered an undocumented success status", "op", cl.op,
				"status", resp.StatusCode, "want", cl.want, "client_request_id", crid, "request_id", requestID)
		}
		body, err := bodyio.ReadAll(io.LimitReader(resp.Body, maxSuccessBody+1), resp.ContentLength, maxSuccessBody+1)
		drainClose(resp)
		if err != nil {
			// Success was announced but the body is lost: for a create
			// the method exists and its ID is unknown, so the outcome is
			// reported as unknown (Sent, no status) for reconciliation.
			return nil, &passkeyd.GraphError{Op: cl.op, ClientRequestID: crid, RequestID: requestID, Sent: true,
				Err: fmt.Errorf("reading the HTTP %d response: %w", resp.StatusCode, err)}
		}
		if len(body) > maxSuccessBody {
			what := fmt.Sprintf("body exceeds %d bytes", maxSuccessBody)
			if cl.method == http.MethodPost {
				return nil, createOutcomeUnknown(resp.StatusCode, requestID, crid, what)
			}
			return nil, malformed(cl.op, crid, what)
		}
		return &result{body: body, requestID: requestID, clientRequestID: crid}, nil
	}
}

// send makes one HTTP request. sent reports, for a failed request, whether
// it may have reached Graph: true once headers were written, or when the
// transport does not report its progress and the error is not one that
// happens before a connection exists.
func (c *Client) send(ctx context.Context, cl call, token, crid string) (resp *http.Response, sent bool, err error) {
	var traced, wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		GetConn:      func(string) { traced.Store(true) },
		WroteHeaders: func() { wrote.Store(true) },
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), cl.method, cl.url, body)
	if err != nil {
		return nil, false, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("client-request-id", crid)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err = c.hc.Do(req)
	if err != nil {
		if traced.Load() {
			return nil, wrote.Load(), err
		}
		return nil, !preConnectError(err), err
	}
	return resp, true, nil
}

// preConnectError reports whether err certainly happened before any byte
// of the request left: name resolution, dialing, or TLS verification.
func preConnectError(err error) bool {
	if oe, ok := errorsAs[*net.OpError](err); ok && oe.Op == "dial" {
		return true
	}
	if _, ok := errorsAs[*net.DNSError](err); ok {
		return true
	}
	if _, ok := errorsAs[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errorsAs[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errorsAs[x509.HostnameError](err); ok {
		return true
	}
	_, ok := errorsAs[tls.RecordHeaderError](err)
	return ok
}

// retryableTransportError reports whether a request that got no response
// is worth one more try: not when the caller gave up or a timeout expired
// (trying again would only double the wait), nor for TLS trust failures.
func retryableTransportError(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if ne, ok := errorsAs[net.Error](err); ok && ne.Timeout() {
		return false
	}
	if _, ok := errorsAs[*tls.CertificateVerificationError](err); ok {
		return false
	}
	return true
}

// drainClose reads a little of what is left so the connection can be
// reused, then closes the body.
func drainClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
}

// observe reports one attempt to the Observer: status 0 when no response
// arrived, and the Retry-After wait the response asked for, if any.
func (c *Client) observe(op string, resp *http.Response, err error, start time.Time) {
	d := c.since(start)
	if err != nil || resp == nil {
		c.observer.ObserveGraph(op, 0, d, 0)
		return
	}
	c.observer.ObserveGraph(op, resp.StatusCode, d, parseRetryAfter(resp.Header.Get("Retry-After"), c.now))
}

// since is the duration from start by the injected clock.
func (c *Client) since(start time.Time) time.Duration { return c.now().Sub(start) }
