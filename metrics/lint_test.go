package metrics

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// populated returns Metrics with every instrument and source holding data.
func populated(t *testing.T) *Metrics {
	t.Helper()
	m := New(Options{
		QueueStats: func(context.Context) ([]QueueStat, error) {
			return []QueueStat{{Queue: "default", State: "available", Count: 1, OldestAge: time.Second}}, nil
		},
		CredentialExpiry: func(context.Context) (*time.Time, *time.Time, error) {
			e := time.Now().Add(time.Hour)
			return &e, &e, nil
		},
	})
	m.ObserveGraph("create", 429, time.Second, time.Second)
	m.ObserveToken(true)
	m.ObserveEnrollment("success")
	m.ObserveRevocation("success")
	m.ObserveDrift(1, 1, 1)
	return m
}

func TestMetricNamesFollowConventions(t *testing.T) {
	problems, err := testutil.GatherAndLint(populated(t).Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		// Days, not seconds, on purpose: the issue asks for a number an
		// admin reads at a glance against 30- and 7-day thresholds.
		if p.Metric == "passkeyd_credential_expiry_days" && strings.Contains(p.Text, "base unit") {
			continue
		}
		if strings.HasPrefix(p.Metric, "passkeyd_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// The dashboard must only query metrics this package exposes, so that a
// rename here cannot silently blank a panel.
func TestDashboardQueriesExposedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	fams := scrape(t, populated(t))
	name := regexp.MustCompile(`passkeyd_[a-z_]+`)
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				family := n
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if f, ok := strings.CutSuffix(n, suffix); ok && fams[f] != nil {
						family = f
					}
				}
				if fams[family] == nil {
					t.Errorf("panel %q queries %s, which the package does not expose", p.Title, n)
				}
				seen[family] = true
			}
		}
	}
	for f := range fams {
		if strings.HasPrefix(f, "passkeyd_") && !seen[f] {
			t.Errorf("%s is on no dashboard panel", f)
		}
	}
}
