package entraemu

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WriteQuota shapes Graph's identity write quota: a token bucket per
// app+tenant holding Limit writes that refills continuously at Limit per
// Window (graph-api.md §7 publishes 3,000 writes per 150 s per app and
// tenant). The zero value turns the quota off.
type WriteQuota struct {
	Limit  int           `json:"limit"`
	Window time.Duration `json:"window"`
}

// QuotaStats counts the write quota's decisions since SetWriteQuota.
type QuotaStats struct {
	Allowed   int `json:"allowed"`   // writes that took a token
	Throttled int `json:"throttled"` // writes answered 429
}

// quotaState is the write quota and its buckets; guarded by Emulator.mu.
type quotaState struct {
	q       WriteQuota
	buckets map[string]*quotaBucket // by tenant ID + "/" + app ID
	stats   QuotaStats
}

// quotaBucket is one app+tenant's tokens as of last.
type quotaBucket struct {
	tokens float64
	last   time.Time
}

// SetWriteQuota enforces q on create and delete calls from now on, with
// every bucket full; a zero WriteQuota turns it off. Each write that
// reaches the handler takes one token, whatever its outcome (Graph
// counts requests, not successes); a write with no token left is answered
// 429 with Retry-After (whole seconds until a token frees) and the
// x-ms-throttle-scope and x-ms-throttle-information headers.
func (e *Emulator) SetWriteQuota(q WriteQuota) error {
	switch {
	case q.Limit < 0 || q.Window < 0:
		return fmt.Errorf("entraemu: write quota %d per %s: limit and window must not be negative", q.Limit, q.Window)
	case (q.Limit == 0) != (q.Window == 0):
		return fmt.Errorf("entraemu: write quota %d per %s: set both limit and window, or neither to turn it off", q.Limit, q.Window)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.quota = quotaState{q: q, buckets: map[string]*quotaBucket{}}
	return nil
}

// QuotaStats returns the write quota's counters.
func (e *Emulator) QuotaStats() QuotaStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.quota.stats
}

// throttleWrite takes a write token for the call's app and tenant, or
// answers 429 and reports true. It runs after authorize, so the bearer
// token was verified and its appid claim can be trusted.
func (e *Emulator) throttleWrite(w http.ResponseWriter, r *http.Request, c *graphCall) bool {
	app := callerAppID(r)
	wait, ok := e.takeWriteToken(c.tenant.ID, app)
	if ok {
		return false
	}
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	// Graph's form: scope/limit/application ID/tenant ID.
	w.Header().Set("x-ms-throttle-scope", "Tenant_Application/Write/"+app+"/"+c.tenant.ID)
	w.Header().Set("x-ms-throttle-information", "WriteLimitExceeded")
	e.log.Info("write throttled", "tenant", c.tenant.ID, "app", app, "retry_after_seconds", secs, "request_id", c.requestID)
	e.writeGraphError(w, c, gerr(http.StatusTooManyRequests, "activityLimitReached",
		"Too many requests: the application's write quota in this tenant is used up. Retry after "+strconv.FormatInt(secs, 10)+" seconds."))
	return true
}

// takeWriteToken refills the bucket of tenant+app by the time passed and
// takes one token; without one it returns how long until one frees.
func (e *Emulator) takeWriteToken(tenant, app string) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	qs := &e.quota
	if qs.q.Limit == 0 {
		return 0, true
	}
	now := e.now()
	key := tenant + "/" + app
	b := qs.buckets[key]
	if b == nil {
		b = &quotaBucket{tokens: float64(qs.q.Limit), last: now}
		qs.buckets[key] = b
	}
	perToken := qs.q.Window / time.Duration(qs.q.Limit) // refill period of one token
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(float64(qs.q.Limit), b.tokens+float64(elapsed)/float64(perToken))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		qs.stats.Allowed++
		return 0, true
	}
	qs.stats.Throttled++
	return time.Duration((1 - b.tokens) * float64(perToken)), false
}

// callerAppID is the appid claim of the request's bearer token ("" if
// unreadable; authorize has already refused such a token).
func callerAppID(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	jwt, err := parseJWT(tok)
	if err != nil {
		return ""
	}
	return jwt.str("appid")
}

// ParseWriteQuota reads "LIMIT/WINDOW", e.g. "3000/150s".
func ParseWriteQuota(s string) (WriteQuota, error) {
	l, w, ok := strings.Cut(s, "/")
	if !ok {
		return WriteQuota{}, fmt.Errorf("write quota %q: want LIMIT/WINDOW, e.g. 3000/150s", s)
	}
	n, err1 := strconv.Atoi(l)
	d, err2 := time.ParseDuration(w)
	if err := errors.Join(err1, err2); err != nil || n <= 0 || d <= 0 {
		return WriteQuota{}, fmt.Errorf("write quota %q: want a positive count and duration, e.g. 3000/150s", s)
	}
	return WriteQuota{Limit: n, Window: d}, nil
}
