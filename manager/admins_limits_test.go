package manager_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/manager"
)

func TestDefaultMaxConcurrentHashes(t *testing.T) {
	if n := manager.DefaultMaxConcurrentHashes(); n < 1 || n > 4 || n > max(runtime.NumCPU(), 1) {
		t.Fatalf("DefaultMaxConcurrentHashes = %d, want 1..min(NumCPU, 4)", n)
	}
}

// At most MaxConcurrentHashes argon2id computations run at once (each
// holds 64 MiB by default); further sign-ins wait for a slot, and one whose
// request ends while waiting gives up without being counted or audited.
func TestPasswordHashesAreBounded(t *testing.T) {
	v := newTestManager(t)
	seedAdmin(t, v, "alice", false)
	m, err := manager.New(manager.Config{
		Store: v.db, Sealer: v.sealer, Now: v.clk.Now, GraphWriteRate: -1,
		NewGraph:            func(passkeyd.GraphConfig) (passkeyd.GraphClient, error) { return nil, fmt.Errorf("unused") },
		PasswordHashing:     manager.PasswordHashing{MemoryKiB: 64, Time: 1, Threads: 1},
		MaxConcurrentHashes: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	var inside, most atomic.Int32
	entered, release := make(chan struct{}, 16), make(chan struct{})
	manager.SetArgon2Key(m, func(pw, salt []byte, tm, mem uint32, th uint8, n uint32) []byte {
		c := inside.Add(1)
		for {
			if old := most.Load(); c <= old || most.CompareAndSwap(old, c) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		inside.Add(-1)
		return argon2.IDKey(pw, salt, tm, mem, th, n)
	})

	type result struct{ err error }
	first := make(chan result, 2)
	for _, user := range []string{"alice", "bob-unknown"} { // a known and an unknown name
		go func() {
			_, _, _, err := m.Login(context.Background(), user, "wrong password!")
			first <- result{err}
		}()
	}
	<-entered
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	third := make(chan result, 1)
	go func() {
		_, _, _, err := m.Login(ctx, "mallory", adminPassword)
		third <- result{err}
	}()
	deadline := time.Now().Add(30 * time.Second) // a guard against hanging, not a measurement
	for manager.HashWaiting(m) != 1 {
		select {
		case <-entered:
			t.Fatal("a third argon2id computation started while both slots were taken")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the third sign-in never waited for a slot")
		}
		runtime.Gosched()
	}
	cancel()
	r := <-third
	wantErr(t, "sign-in whose request ended while waiting", r.err, passkeyd.EUnavailable, "try again")

	close(release)
	for range 2 {
		r := <-first
		wantErr(t, "held sign-in", r.err, passkeyd.EUnauthorized, "invalid username or password")
	}
	if n := most.Load(); n != 2 {
		t.Errorf("%d argon2id computations ran at once, want at most 2", n)
	}
	if n, _ := v.db.CountLoginFailures(context.Background(), "mallory", t0); n != 0 {
		t.Errorf("the abandoned sign-in was counted as %d failures", n)
	}
	// The slots were given back.
	if _, _, _, err := m.Login(context.Background(), "alice", adminPassword); err != nil {
		t.Fatalf("sign-in after the burst: %v", err)
	}
}

// Once a username reaches the limit, one event says so; the attempts
// refused afterwards are not audited one by one, and neither are attempts
// no admin could match.
func TestRefusedLoginsAreNotAuditedOneByOne(t *testing.T) {
	v := newTestManager(t)
	ctx := context.Background()
	seedAdmin(t, v, "alice", false)
	count := func() map[string]int {
		_, actions := auditJSON(t, v)
		n := map[string]int{}
		for _, a := range actions {
			n[a]++
		}
		return n
	}
	for range passkeyd.MaxFailedLogins - 1 {
		if _, _, _, err := v.m.Login(ctx, "alice", "wrong password!"); passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized {
			t.Fatalf("failure: %v", err)
		}
	}
	if n := count(); n["admin.login_failed"] != passkeyd.MaxFailedLogins-1 || n["admin.login_rate_limited"] != 0 {
		t.Fatalf("before the limit: %v", n)
	}
	// The failure that reaches the limit is audited, with one event saying
	// the username is now refused.
	if _, _, _, err := v.m.Login(ctx, "alice", "wrong password!"); passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized {
		t.Fatalf("last failure: %v", err)
	}
	for i := range 50 {
		_, _, _, err := v.m.Login(ctx, "alice", "wrong password!")
		wantErr(t, fmt.Sprintf("refused attempt %d", i), err, passkeyd.ERateLimited, "too many failed logins")
	}
	for range 50 {
		_, _, _, err := v.m.Login(ctx, "x", "wrong password!") // no admin can be called "x"
		wantErr(t, "malformed", err, passkeyd.EUnauthorized, "invalid username or password")
	}
	n := count()
	if n["admin.login_failed"] != passkeyd.MaxFailedLogins || n["admin.login_rate_limited"] != 1 {
		t.Fatalf("after 50 refused and 50 malformed attempts: %v, want %d admin.login_failed and one admin.login_rate_limited",
			n, passkeyd.MaxFailedLogins)
	}
	evs := v.auditEvents(t, "admin.login_rate_limited")
	if evs[0].Outcome != passkeyd.OutcomeFailure || string(evs[0].Details) == "" {
		t.Errorf("limit event = %+v", evs[0])
	}
}
