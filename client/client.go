// Package client is the Go client of passkeyd's HTTP API: the admin API
// (with an API token) and the device API (with a device token). It is used
// by the CLI, the software provider and the end-to-end tests.
//
// Errors returned by the server are *Problem values; passkeyd.ErrorCodeOf
// works on them too, so callers can branch on passkeyd.ENotFound and
// friends without knowing HTTP.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/bodyio"
	"github.com/passkeyd/passkeyd/server/api"
)

// DefaultMaxResponseBytes bounds response bodies: a page of 1000 passkeys
// is well under a megabyte.
const DefaultMaxResponseBytes = 8 << 20

// defaultTimeout bounds a call when the caller brings no http.Client;
// Test Connection talks to Microsoft and may take a while.
const defaultTimeout = 2 * time.Minute

// Client calls one passkeyd server. It is safe for concurrent use.
type Client struct {
	base        string // scheme://host[:port][/path], no trailing slash
	token       passkeyd.Secret
	hc          *http.Client
	userAgent   string
	maxResponse int64
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates calls with tok: an API token for the admin API,
// a device token for the device API.
func WithToken(tok passkeyd.Secret) Option { return func(c *Client) { c.token = tok } }

// WithHTTPClient makes the client use hc, e.g. one whose transport trusts a
// private CA.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithMaxResponseBytes bounds response bodies (DefaultMaxResponseBytes
// when unset).
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.maxResponse = n } }

// New returns a client of the server at baseURL, e.g.
// "https://passkeyd.example.com".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: parsing base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("client: base URL %q must be http(s)://host[:port][/path] without credentials, query or fragment", u.Redacted())
	}
	c := &Client{
		base:        strings.TrimSuffix(u.String(), "/"),
		userAgent:   "passkeyd-client",
		maxResponse: DefaultMaxResponseBytes,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultTimeout}
	}
	if c.maxResponse <= 0 {
		return nil, errors.New("client: the response limit must be positive")
	}
	return c, nil
}

// WithToken returns a copy of c that authenticates with tok, e.g. with the
// device token RegisterDevice returned.
func (c *Client) WithToken(tok passkeyd.Secret) *Client {
	cp := *c
	cp.token = tok
	return &cp
}

// call is one API request.
type call struct {
	method string
	path   string // below api.Prefix, IDs already escaped
	query  url.Values
	in     any // request body, nil for none
	out    any // response body, nil to discard
	want   int // expected status
	noAuth bool
	root   bool // path is not below api.Prefix (health endpoints)
}

// do performs cl and decodes its answer.
func (c *Client) do(ctx context.Context, cl call) error {
	u := c.base + api.Prefix + cl.path
	if cl.root {
		u = c.base + cl.path
	}
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.in != nil {
		b, err := json.Marshal(cl.in)
		if err != nil {
			return fmt.Errorf("client: %s %s: encoding request: %w", cl.method, cl.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", cl.method, cl.path, err)
	}
	if cl.in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, "+api.ProblemContentType)
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" && !cl.noAuth {
		req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", cl.method, cl.path, err)
	}
	defer resp.Body.Close()
	data, err := bodyio.ReadAll(io.LimitReader(resp.Body, c.maxResponse+1), resp.ContentLength, c.maxResponse+1)
	if err != nil {
		return fmt.Errorf("client: %s %s: reading response: %w", cl.method, cl.path, err)
	}
	if int64(len(data)) > c.maxResponse {
		return fmt.Errorf("client: %s %s: response exceeds %d bytes", cl.method, cl.path, c.maxResponse)
	}
	if resp.StatusCode != cl.want {
		return problemFrom(resp, data)
	}
	if cl.out == nil {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("client: %s %s: response Content-Type %q, want application/json", cl.method, cl.path, resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(data, cl.out); err != nil {
		return fmt.Errorf("client: %s %s: decoding response: %w", cl.method, cl.path, err)
	}
	return nil
}

// esc escapes an ID for a path segment, so that no ID can change the route.
func esc(id string) string { return url.PathEscape(id) }

// pageQuery adds the cursor and limit of p to q.
func pageQuery(q url.Values, p passkeyd.Page) {
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit != 0 {
		q.Set("limit", fmt.Sprint(p.Limit))
	}
}

// setIf sets q[k] when v is not empty.
func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// getRoot GETs a path outside the API prefix.
func (c *Client) getRoot(ctx context.Context, path string, out any) error {
	return c.do(ctx, call{method: http.MethodGet, path: path, out: out, want: http.StatusOK, root: true, noAuth: true})
}
