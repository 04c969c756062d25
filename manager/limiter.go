package manager

import (
	"net/netip"
	"sync"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// failureLimiter counts failures per key in fixed windows, in memory: each
// node counts its own. It tracks at most maxKeys keys at once; when that
// many are live, further keys share one overflow count, so that failures
// are still counted (together) instead of escaping the limit.
type failureLimiter struct {
	limit   int
	window  time.Duration
	maxKeys int

	mu   sync.Mutex
	keys map[string]*failureCount
}

type failureCount struct {
	start time.Time // of the window
	n     int
}

// overflowKey is the shared count of keys that did not fit.
const overflowKey = "\x00overflow"

func newFailureLimiter(limit int, window time.Duration, maxKeys int) *failureLimiter {
	return &failureLimiter{limit: limit, window: window, maxKeys: maxKeys, keys: map[string]*failureCount{}}
}

// entry returns key's live count, creating it; the caller holds l.mu.
func (l *failureLimiter) entry(key string, now time.Time) *failureCount {
	if c, ok := l.keys[key]; ok {
		if now.Sub(c.start) < l.window {
			return c
		}
		c.start, c.n = now, 0
		return c
	}
	if len(l.keys) >= l.maxKeys {
		for k, c := range l.keys {
			if now.Sub(c.start) >= l.window {
				delete(l.keys, k)
			}
		}
	}
	if len(l.keys) >= l.maxKeys && key != overflowKey {
		return l.entry(overflowKey, now)
	}
	c := &failureCount{start: now}
	l.keys[key] = c
	return c
}

// blocked reports whether key has used up its failures in the current
// window, and how long until the window ends.
func (l *failureLimiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.keys[key]
	if !ok && len(l.keys) >= l.maxKeys {
		c, ok = l.keys[overflowKey]
	}
	if !ok || now.Sub(c.start) >= l.window || c.n < l.limit {
		return false, 0
	}
	return true, c.start.Add(l.window).Sub(now)
}

// fail records a failure of key and returns the number of failures in
// the current window, this one included.
func (l *failureLimiter) fail(key string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.entry(key, now)
	c.n++
	return c.n
}

// clientKey is what failures of an anonymous caller are counted under: its
// address, or for IPv6 its /64 (one subscriber usually has a whole /64).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if ip == "" {
			return "unknown"
		}
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// rateLimited is an ERateLimited error that says when to try again
// (the HTTP layer sends it as Retry-After).
type rateLimited struct {
	err   *passkeyd.Error
	after time.Duration
}

func (e *rateLimited) Error() string             { return e.err.Error() }
func (e *rateLimited) RetryAfter() time.Duration { return e.after }
func (e *rateLimited) Unwrap() error             { return e.err }
