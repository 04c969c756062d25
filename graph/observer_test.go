package graph

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// graphObservation is one ObserveGraph call.
type graphObservation struct {
	op         string
	status     int
	d          time.Duration
	retryAfter time.Duration
}

// recordingObserver records what the Client reports.
type recordingObserver struct {
	mu     sync.Mutex
	graph  []graphObservation
	tokens []bool
}

func (r *recordingObserver) ObserveGraph(op string, status int, d, retryAfter time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.graph = append(r.graph, graphObservation{op, status, d, retryAfter})
}

func (r *recordingObserver) ObserveToken(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, ok)
}

func (r *recordingObserver) snapshot() ([]graphObservation, []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]graphObservation(nil), r.graph...), append([]bool(nil), r.tokens...)
}

// steppingClock advances by step on every reading, so that a duration
// measured between two readings is exactly step.
func steppingClock(step time.Duration) func() time.Time {
	var n atomic.Int64
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * step) }
}

func TestObserverSeesEveryCall(t *testing.T) {
	const listPath = "/v1.0/users/" + testUserID + "/authentication/fido2Methods"
	f := newFakeMS(t, nil)
	f.setGraph(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2":
			writeRaw(w, http.StatusOK, samplePolicy)
		case r.Method == http.MethodPost:
			writeRaw(w, http.StatusCreated, sampleMethod)
		case r.RequestURI == listPath:
			writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "@odata.nextLink": f.srv.URL + listPath + "?$skiptoken=2"})
		case r.RequestURI == listPath+"?$skiptoken=2":
			writeJSON(w, http.StatusOK, map[string]any{"value": []any{}})
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == listPath+"/creationOptions":
			writeRaw(w, http.StatusOK, sampleOptions)
		default: // the GET of one method
			writeRaw(w, http.StatusNotFound, `{"error":{"code":"itemNotFound","message":"gone"}}`)
		}
	})
	obs := &recordingObserver{}
	const step = 10 * time.Millisecond
	c := f.client(t, WithObserver(obs), WithNow(steppingClock(step)))
	ctx := context.Background()

	if _, err := c.CreationOptions(ctx, testUserID, 5); err != nil {
		t.Fatalf("CreationOptions: %v", err)
	}
	if _, err := c.CreateMethod(ctx, testUserID, validCreateRequest()); err != nil {
		t.Fatalf("CreateMethod: %v", err)
	}
	if _, err := c.ListMethods(ctx, testUserID); err != nil {
		t.Fatalf("ListMethods: %v", err)
	}
	if _, err := c.GetMethod(ctx, testUserID, "a1"); err == nil {
		t.Fatal("GetMethod: want the 404 error")
	}
	if err := c.DeleteMethod(ctx, testUserID, "a1"); err != nil {
		t.Fatalf("DeleteMethod: %v", err)
	}
	if _, err := c.Fido2Policy(ctx); err != nil {
		t.Fatalf("Fido2Policy: %v", err)
	}

	got, tokens := obs.snapshot()
	want := []graphObservation{
		{"creationOptions", 200, step, 0},
		{"create", 201, step, 0},
		{"list", 200, step, 0}, // one observation per page
		{"list", 200, step, 0},
		{"get", 404, step, 0},
		{"delete", 204, step, 0},
		{"fido2Policy", 200, step, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("observations:\n got %+v\nwant %+v", got, want)
	}
	if n := int(f.graphRequests.Load()); n != len(got) {
		t.Errorf("%d Graph requests, %d observations", n, len(got))
	}
	// One token for all seven requests: the cache hits are not counted.
	if !reflect.DeepEqual(tokens, []bool{true}) {
		t.Errorf("token observations = %v, want [true]", tokens)
	}
}

func TestObserverAttempts(t *testing.T) {
	tests := []struct {
		name       string
		graph      func(t *testing.T, w http.ResponseWriter, r *http.Request, n int)
		call       func(c *Client) error
		want       []graphObservation // durations are not compared
		wantTokens []bool
	}{
		{
			name: "throttled with Retry-After",
			graph: func(t *testing.T, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", "7")
				writeRaw(w, http.StatusTooManyRequests, `{"error":{"code":"TooManyRequests","message":"slow down"}}`)
			},
			call: func(c *Client) error {
				_, err := c.CreationOptions(context.Background(), testUPN, 5)
				return err
			},
			want:       []graphObservation{{op: "creationOptions", status: 429, retryAfter: 7 * time.Second}},
			wantTokens: []bool{true},
		},
		{
			name: "401 then a fresh token",
			graph: func(t *testing.T, w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					writeRaw(w, http.StatusUnauthorized, `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`)
					return
				}
				writeRaw(w, http.StatusCreated, sampleMethod)
			},
			call: func(c *Client) error {
				_, err := c.CreateMethod(context.Background(), testUPN, validCreateRequest())
				return err
			},
			want:       []graphObservation{{op: "create", status: 401}, {op: "create", status: 201}},
			wantTokens: []bool{true, true},
		},
		{
			name: "connection dropped twice",
			graph: func(t *testing.T, w http.ResponseWriter, r *http.Request, n int) {
				hangUp(t, w)
			},
			call: func(c *Client) error {
				_, err := c.GetMethod(context.Background(), testUPN, "a1")
				return err
			},
			want:       []graphObservation{{op: "get", status: 0}, {op: "get", status: 0}},
			wantTokens: []bool{true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
				tt.graph(t, w, r, int(n.Add(1)))
			})
			obs := &recordingObserver{}
			if err := tt.call(f.client(t, WithObserver(obs))); err == nil && tt.want[len(tt.want)-1].status >= 300 {
				t.Fatal("call succeeded, want an error")
			}
			got, tokens := obs.snapshot()
			for i := range got {
				got[i].d = 0
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("observations:\n got %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(tokens, tt.wantTokens) {
				t.Errorf("token observations = %v, want %v", tokens, tt.wantTokens)
			}
		})
	}
}

func TestObserverTokenFailure(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("Graph called without a token: %s", r.URL)
	})
	f.setTokenHandler(func(w http.ResponseWriter, r *http.Request, n int) {
		writeRaw(w, http.StatusUnauthorized, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`)
	})
	obs := &recordingObserver{}
	c := f.client(t, WithObserver(obs))
	for range 2 {
		if _, err := c.Fido2Policy(context.Background()); err == nil {
			t.Fatal("Fido2Policy succeeded with a rejected secret")
		}
	}
	graph, tokens := obs.snapshot()
	if len(graph) != 0 {
		t.Errorf("Graph observations = %+v, want none", graph)
	}
	// Each failed acquisition went to the network: nothing was cached.
	if want := []bool{false, false}; !reflect.DeepEqual(tokens, want) || int(f.tokenRequests.Load()) != len(want) {
		t.Errorf("token observations = %v for %d token requests, want %v", tokens, f.tokenRequests.Load(), want)
	}
}

func TestWithObserverNilIsIgnored(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, http.StatusOK, samplePolicy) })
	if _, err := f.client(t, WithObserver(nil)).Fido2Policy(context.Background()); err != nil {
		t.Fatalf("Fido2Policy: %v", err)
	}
}
