package jobs

import (
	"testing"
	"time"
)

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	tests := []struct {
		attempt int
		base    time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{5, 16 * time.Second},
		{10, 512 * time.Second},
		{11, maxBackoff},
		{19, maxBackoff},
		{20, maxBackoff},
		{64, maxBackoff},
		{maxAttempts, maxBackoff},
	}
	for _, tt := range tests {
		// The jitter is random: every draw must lie in [base/2, base].
		for range 200 {
			d := backoff(tt.attempt)
			if d < tt.base/2 || d > tt.base {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.base/2, tt.base)
			}
		}
	}
}

func TestRevokeArgsInsertOpts(t *testing.T) {
	o := RevokeArgs{}.InsertOpts()
	if o.Queue != queueRevoke || o.MaxAttempts != maxAttempts {
		t.Errorf("InsertOpts = %+v", o)
	}
	if k := (RevokeArgs{}).Kind(); k != "revoke_passkey" {
		t.Errorf("Kind = %q", k)
	}
}
