package bench

import (
	"context"
	"fmt"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
)

// DirectEnroller is the baseline: what a script does without passkeyd.
// One Graph client (one app, one token) shared by every provider, and per
// provider an in-memory authenticator; an enrollment is creationOptions,
// MakeCredential and create, exactly the Graph calls passkeyd makes.
type DirectEnroller struct {
	Graph passkeyd.GraphClient
	// TimeoutMinutes is the challenge timeout asked for (5 uses v1.0).
	TimeoutMinutes int
}

// Enroll registers a new passkey for user with auth and returns its
// Graph method.
func (d DirectEnroller) Enroll(ctx context.Context, auth *authenticator.Authenticator, user string) (*passkeyd.Fido2Method, error) {
	opts, err := d.Graph.CreationOptions(ctx, user, d.TimeoutMinutes)
	if err != nil {
		return nil, fmt.Errorf("direct enrollment: creation options: %w", err)
	}
	att, err := auth.MakeCredential(opts.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("direct enrollment: make credential: %w", err)
	}
	c := att.Credential()
	m, err := d.Graph.CreateMethod(ctx, user, passkeyd.CreateMethodRequest{
		DisplayName:            "bench direct",
		CredentialID:           c.ID,
		ClientDataJSON:         c.ClientDataJSON,
		AttestationObject:      c.AttestationObject,
		ClientExtensionResults: c.ClientExtensionResults,
	})
	if err != nil {
		_ = auth.Discard(att.CredentialID)
		return nil, fmt.Errorf("direct enrollment: create: %w", err)
	}
	return m, nil
}
