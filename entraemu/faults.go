package entraemu

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// Op names an emulated operation, for faults and statistics.
type Op string

// Operations.
const (
	OpToken           Op = "token"
	OpCreationOptions Op = "creationOptions"
	OpCreate          Op = "create"
	OpList            Op = "list"
	OpGet             Op = "get"
	OpDelete          Op = "delete"
	// OpGetFido2Policy reads the tenant's FIDO2 authentication method
	// configuration.
	OpGetFido2Policy Op = "getFido2Policy"
)

// Fault makes calls of one operation fail. Faults are matched in the
// order injected; each call consumes one use of the first fault of its
// operation that has uses left. Graph faults apply after the bearer token
// was checked (a refused token is still a 401); token faults apply before
// any validation.
type Fault struct {
	Op     Op
	Status int // HTTP status to answer, e.g. 429, 503, 500
	// Code is the Graph error code; empty picks one from Status
	// (429 activityLimitReached, 503 serviceNotAvailable, ...). For token
	// faults, AADSTS is the number reported (default 90033, transient).
	Code    string
	AADSTS  int
	Message string
	// RetryAfter, when positive, is sent as Retry-After (whole seconds,
	// rounded up).
	RetryAfter time.Duration
	// Count is how many calls the fault applies to; zero or less means
	// every call until ClearFaults.
	Count int
	// AfterHandler, for create and delete, performs the operation and then
	// answers with the fault: the client cannot know the outcome (the
	// "unknown outcome" case). Ignored for other operations.
	AfterHandler bool
}

type faultState struct {
	Fault
	left int // uses left; <0 means unlimited
}

// InjectFault adds f. Later knobs (write quotas, replication lag,
// encoding variants) join Fault and SetLatency as separate settings.
func (e *Emulator) InjectFault(f Fault) error {
	if f.Status < 400 || f.Status > 599 {
		return fmt.Errorf("entraemu: inject fault: status %d is not an HTTP error status", f.Status)
	}
	switch f.Op {
	case OpToken, OpCreationOptions, OpCreate, OpList, OpGet, OpDelete, OpGetFido2Policy:
	default:
		return fmt.Errorf("entraemu: inject fault: unknown operation %q", f.Op)
	}
	left := f.Count
	if left <= 0 {
		left = -1
	}
	e.mu.Lock()
	e.faults = append(e.faults, &faultState{Fault: f, left: left})
	e.mu.Unlock()
	return nil
}

// ClearFaults removes every injected fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	e.faults = nil
	e.mu.Unlock()
}

// SetLatency delays every response by d (zero turns it off); a request
// whose client gives up during the delay gets no answer.
func (e *Emulator) SetLatency(d time.Duration) {
	e.mu.Lock()
	e.latency = max(d, 0)
	e.mu.Unlock()
}

func (e *Emulator) currentLatency() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.latency
}

// takeFault consumes one use of the first fault for op, if any.
func (e *Emulator) takeFault(op Op) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, f := range e.faults {
		if f.Op != op {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
			}
		}
		e.stats.FaultsInjected++
		fc := f.Fault
		return &fc
	}
	return nil
}

// applyFault answers the call with an injected fault if one applies and
// reports whether it did. writeGraph writes a Graph error (nil for the
// token endpoint); run performs the real operation for AfterHandler.
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, op Op, writeGraph func(http.ResponseWriter, *graphError), run ...func(http.ResponseWriter)) bool {
	f := e.takeFault(op)
	if f == nil {
		return false
	}
	if f.AfterHandler && (op == OpCreate || op == OpDelete) && len(run) > 0 {
		run[0](&discardWriter{header: http.Header{}})
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int64(math.Ceil(f.RetryAfter.Seconds()))))
	}
	e.log.Info("fault injected", "op", op, "status", f.Status, "after_handler", f.AfterHandler)
	if writeGraph == nil {
		code := f.AADSTS
		if code == 0 {
			code = codeServiceBusy
		}
		msg := f.Message
		if msg == "" {
			msg = "A transient error has occurred. Please try again."
		}
		oauth := "temporarily_unavailable"
		if f.Status < 500 && f.Status != http.StatusTooManyRequests {
			oauth = "invalid_request"
		}
		e.writeAAD(w, r, &aadError{f.Status, oauth, code, msg})
		return true
	}
	code := f.Code
	if code == "" {
		code = codeForStatus(f.Status)
	}
	msg := f.Message
	if msg == "" {
		msg = "Injected fault: " + http.StatusText(f.Status) + "."
	}
	writeGraph(w, gerr(f.Status, code, msg))
	return true
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalidRequest"
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken"
	case http.StatusForbidden:
		return "accessDenied"
	case http.StatusNotFound:
		return "itemNotFound"
	case http.StatusMethodNotAllowed:
		return "methodNotAllowed"
	case http.StatusTooManyRequests:
		return "activityLimitReached"
	case http.StatusServiceUnavailable:
		return "serviceNotAvailable"
	case http.StatusGatewayTimeout:
		return "gatewayTimeout"
	}
	if status >= 500 {
		return "generalException"
	}
	return "unknownError"
}

// discardWriter swallows the real response of an AfterHandler fault.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// SetReplicationLag makes every method created from now on invisible to
// list, get and delete for d, as Graph's eventually consistent reads do
// (graph-api.md §7): a delete right after a create answers 404 while the
// method still exists. Zero turns it off.
func (e *Emulator) SetReplicationLag(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lag = max(d, 0)
}

// visibleLocked reports whether reads see m yet; caller holds e.mu.
func (e *Emulator) visibleLocked(m *Method) bool { return !e.now().Before(m.visibleAt) }
