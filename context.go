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
)

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
