package passkeyd

import "context"

// Actor is who caused a change: it lands in every audit event.
type Actor struct {
	Kind string // "token", "admin", "device", "system"
	ID   string
	Role Role // for tokens and admins
}

// String is the actor as written in the audit log, e.g. "token:abc".
func (a Actor) String() string {
	if a.Kind == "" {
		return "anonymous"
	}
	if a.ID == "" {
		return a.Kind
	}
	return a.Kind + ":" + a.ID
}

// SystemActor is the actor of background jobs.
var SystemActor = Actor{Kind: "system"}

type ctxKey int

const (
	actorKey ctxKey = iota
	requestIDKey
	clientRequestIDKey
	clientIPKey
	deviceKey
)

// WithDevice returns a context carrying the device a request has just
// authenticated as, so the service need not read it a second time.
func WithDevice(ctx context.Context, d *Device) context.Context {
	return context.WithValue(ctx, deviceKey, d)
}

// DeviceFrom returns the authenticated device of ctx, or nil.
func DeviceFrom(ctx context.Context) *Device {
	d, _ := ctx.Value(deviceKey).(*Device)
	return d
}

// WithActor returns a context carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// ActorFrom returns the actor of ctx, or the zero Actor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey).(Actor)
	return a
}

// WithRequestID returns a context carrying the request ID of an API call.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestIDFrom returns the request ID of ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithClientRequestID returns a context that asks the Graph client to send
// id as the client-request-id of its next call, so that the caller can
// record it (in the audit log) before the call is made.
func WithClientRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientRequestIDKey, id)
}

// ClientRequestIDFrom returns the client-request-id set by
// WithClientRequestID, or "".
func ClientRequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(clientRequestIDKey).(string)
	return id
}

// WithClientIP returns a context carrying the address of the client of an
// HTTP request: the TCP peer, or the address a trusted proxy forwarded.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey, ip)
}

// ClientIPFrom returns the client address of ctx, or "" outside a request.
func ClientIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey).(string)
	return ip
}
