package manager

import (
	"context"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestSettingsCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stored := &passkeyd.Policy{ID: "default", EntraPasskey: passkeyd.PolicyRequired}
	reads := 0
	read := func(context.Context, string) (*passkeyd.Policy, error) {
		reads++
		p := *stored
		return &p, nil
	}
	s := settingsCache{ttl: time.Second, now: func() time.Time { return now }}
	get := func() {
		p, err := s.getPolicy(ctx, "default", read)
		if err != nil {
			t.Fatal(err)
		}
		p.EntraPasskey = "scribbled" // callers get copies
	}
	get()
	stored.EntraPasskey = passkeyd.PolicyOff // changed on another node
	get()
	if reads != 1 {
		t.Fatalf("%d reads within the TTL, want 1", reads)
	}
	p, _ := s.getPolicy(ctx, "default", read)
	if p.EntraPasskey != passkeyd.PolicyRequired {
		t.Fatalf("cached policy %q, want the value read (required), unchanged by callers", p.EntraPasskey)
	}
	now = now.Add(time.Second)
	if p, _ := s.getPolicy(ctx, "default", read); p.EntraPasskey != passkeyd.PolicyOff || reads != 2 {
		t.Fatalf("after the TTL: %q after %d reads, want off after 2", p.EntraPasskey, reads)
	}
	stored.EntraPasskey = passkeyd.PolicyOptional // changed through this node
	s.forget()
	if p, _ := s.getPolicy(ctx, "default", read); p.EntraPasskey != passkeyd.PolicyOptional {
		t.Fatalf("after forget: %q, want optional", p.EntraPasskey)
	}

	// A read that a change overtakes is not kept.
	slow := func(context.Context, string) (*passkeyd.Policy, error) {
		p := *stored
		s.forget() // the change lands while the read is in flight
		return &p, nil
	}
	s.forget()
	s.getPolicy(ctx, "default", slow)
	stored.EntraPasskey = passkeyd.PolicyOff
	if p, _ := s.getPolicy(ctx, "default", read); p.EntraPasskey != passkeyd.PolicyOff {
		t.Fatalf("a read overtaken by a change was cached: %q, want off", p.EntraPasskey)
	}

	// Without a TTL nothing is kept.
	off := settingsCache{now: func() time.Time { return now }}
	reads = 0
	for range 3 {
		off.getPolicy(ctx, "default", read)
	}
	if reads != 3 {
		t.Fatalf("TTL 0: %d reads for 3 gets, want 3", reads)
	}
}
