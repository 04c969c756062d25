package graph

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestGraphErrorMapping(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		status    int
		headers   map[string]string
		body      string
		want      passkeyd.GraphError
		temporary bool
	}{
		{
			name: "nested innerError code wins", status: 403,
			headers: map[string]string{"request-id": "rid-h"},
			body:    `{"error":{"code":"accessDenied","message":"Request Authorization failed","innerError":{"code":"outer","date":"x","request-id":"rid-b","innerError":{"code":"policyFido2Disabled"}}}}`,
			want:    passkeyd.GraphError{Code: "policyFido2Disabled", Message: "Request Authorization failed", RequestID: "rid-h"},
		},
		{
			name: "lower-case innererror and request-id from body", status: 400,
			body: `{"error":{"code":"invalidRequest","message":"bad","innererror":{"request-id":"rid-b","client-request-id":"c"}}}`,
			want: passkeyd.GraphError{Code: "invalidRequest", Message: "bad", RequestID: "rid-b"},
		},
		{
			name: "Retry-After seconds", status: 429,
			headers:   map[string]string{"Retry-After": "17", "request-id": "r"},
			body:      `{"error":{"code":"activityLimitReached","message":"slow down"}}`,
			want:      passkeyd.GraphError{Code: "activityLimitReached", Message: "slow down", RequestID: "r", RetryAfter: 17 * time.Second},
			temporary: true,
		},
		{
			name: "Retry-After HTTP date", status: 503,
			headers:   map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)},
			body:      `{"error":{"code":"serviceNotAvailable","message":"later"}}`,
			want:      passkeyd.GraphError{Code: "serviceNotAvailable", Message: "later", RetryAfter: 90 * time.Second},
			temporary: true,
		},
		{
			name: "Retry-After in the past or garbage", status: 503,
			headers:   map[string]string{"Retry-After": "soon"},
			body:      `upstream connect error`,
			want:      passkeyd.GraphError{},
			temporary: true,
		},
		{
			name: "405 wrong URL form", status: 405,
			body: `{"error":{"code":"methodNotAllowed","message":"no"}}`,
			want: passkeyd.GraphError{Code: "methodNotAllowed", Message: "no"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				writeRaw(w, tt.status, tt.body)
			})
			_, err := f.client(t, WithNow(func() time.Time { return now })).GetMethod(context.Background(), testUPN, "abc")
			ge := mustGraphError(t, err)
			if ge.ClientRequestID == "" {
				t.Error("ClientRequestID is empty")
			}
			want := tt.want
			want.Op, want.Status, want.Sent, want.ClientRequestID = "get", tt.status, true, ge.ClientRequestID
			if !reflect.DeepEqual(*ge, want) {
				t.Errorf("GraphError = %+v\nwant         %+v", *ge, want)
			}
			if ge.Temporary() != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", ge.Temporary(), tt.temporary)
			}
		})
	}
}

func TestUnauthorizedRefreshesTokenOnce(t *testing.T) {
	tests := []struct {
		name          string
		okFromToken   int // the token number Graph accepts; 0: none
		wantErrStatus int
	}{
		{"stale token replaced", 2, 0},
		{"still unauthorized after refresh", 0, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.okFromToken != 0 && r.Header.Get("Authorization") == "Bearer "+testToken(tt.okFromToken) {
					writeRaw(w, http.StatusCreated, sampleMethod)
					return
				}
				writeRaw(w, http.StatusUnauthorized, `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`)
			})
			_, err := f.client(t).CreateMethod(context.Background(), testUPN, validCreateRequest())
			if tt.wantErrStatus == 0 && err != nil {
				t.Fatalf("CreateMethod: %v", err)
			}
			if tt.wantErrStatus != 0 {
				if ge := mustGraphError(t, err); ge.Status != tt.wantErrStatus || ge.Code != "InvalidAuthenticationToken" {
					t.Errorf("GraphError = %+v", ge)
				}
			}
			if n := f.tokenRequests.Load(); n != 2 {
				t.Errorf("%d token requests, want 2", n)
			}
			if n := f.graphRequests.Load(); n != 2 {
				t.Errorf("%d Graph requests, want 2", n)
			}
		})
	}
}

// hangUp closes the connection without answering.
func hangUp(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_ = conn.Close()
}

func TestTransportErrorRetries(t *testing.T) {
	tests := []struct {
		name         string
		call         func(*Client) error
		wantRequests int32
		wantErr      bool
	}{
		{"create is never retried", func(c *Client) error {
			_, err := c.CreateMethod(context.Background(), testUPN, validCreateRequest())
			return err
		}, 1, true},
		{"get is retried once", func(c *Client) error {
			_, err := c.GetMethod(context.Background(), testUPN, "abc")
			return err
		}, 2, false},
		{"delete is retried once", func(c *Client) error {
			return c.DeleteMethod(context.Background(), testUPN, "abc")
		}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					hangUp(t, w)
					return
				}
				switch r.Method {
				case http.MethodDelete:
					w.WriteHeader(http.StatusNoContent)
				default:
					writeRaw(w, http.StatusOK, sampleMethod)
				}
			})
			err := tt.call(f.client(t))
			if got := n.Load(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			ge := mustGraphError(t, err)
			if ge.Status != 0 || !ge.Sent || ge.Err == nil || !ge.Temporary() {
				t.Errorf("GraphError = %+v, want a sent transport error", ge)
			}
		})
	}
}

// failingGraph is a transport that passes identity calls to base and fails
// Graph calls with err.
type failingGraph struct {
	base http.RoundTripper
	err  error
}

func (f failingGraph) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "" || r.URL.Path[1] == 'v' || r.URL.Path[1] == 'b' { // /v1.0, /beta
		return nil, f.err
	}
	return f.base.RoundTrip(r)
}

func TestSentClassification(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantSent bool
	}{
		{"dial error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false},
		{"DNS error", &net.DNSError{Err: "no such host", Name: "graph.example"}, false},
		{"reset after connect", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, true},
		{"unknown", errors.New("unexpected EOF"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t, nil)
			c := f.client(t, WithTransport(failingGraph{base: f.srv.Client().Transport, err: tt.err}))
			_, err := c.CreateMethod(context.Background(), testUPN, validCreateRequest())
			ge := mustGraphError(t, err)
			if ge.Sent != tt.wantSent || ge.Op != "create" || !errors.Is(err, tt.err) {
				t.Errorf("GraphError = %+v, want Sent %v", ge, tt.wantSent)
			}
		})
	}
}

func TestSentFalseWhenServerUnreachable(t *testing.T) {
	f := newFakeMS(t, nil)
	cfg := f.config()
	// A listener that is closed again: connecting is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.GraphURL = "https://" + l.Addr().String()
	_ = l.Close()
	_, err = f.clientWith(t, cfg).CreateMethod(context.Background(), testUPN, validCreateRequest())
	ge := mustGraphError(t, err)
	if ge.Sent || ge.Status != 0 {
		t.Errorf("GraphError = %+v, want not sent", ge)
	}
}

func TestConcurrentUnauthorizedRefreshesOnce(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+testToken(1) {
			writeRaw(w, http.StatusUnauthorized, `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`)
			return
		}
		writeRaw(w, http.StatusOK, `{"value":[]}`)
	})
	c := f.client(t)
	if _, err := c.Token(context.Background()); err != nil { // everyone starts from token 1
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.ListMethods(context.Background(), testUPN); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// However the calls interleave, the stale token is replaced once.
	if n := f.tokenRequests.Load(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}
