package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// TestMetricsEndpoint: after an enrollment and a revocation, /metrics shows
// the Graph calls, the outcomes and the credential expiry.
func TestMetricsEndpoint(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	pk, err := env.prov.Enroll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.admin.RemoveDevice(ctx, pk.DeviceID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := env.admin.Passkey(ctx, pk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.State == passkeyd.PasskeyRevoked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s", p.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(env.app.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`passkeyd_graph_requests_total{op="creationOptions",status="200"} 1`,
		`passkeyd_graph_requests_total{op="create",status="201"} 1`,
		`passkeyd_graph_requests_total{op="delete",status="204"} 1`,
		`passkeyd_enrollments_total{outcome="active"} 1`,
		`passkeyd_revocations_total{outcome="done"} 1`,
		`passkeyd_token_requests_total{outcome="success"} 1`,
		`passkeyd_collector_success{collector="jobs"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
