// Package provider is passkeyd's software passkey provider: what a mobile
// or desktop app does to register with a passkeyd server, enroll a
// device-bound Entra passkey and use it. It joins the authenticator (keys,
// attestation, assertions, encrypted keystore) with the device API client,
// and is the reference for real apps (docs/provider.md).
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/client"
)

// Keystore data keys: the device's registration, kept encrypted with the
// credentials.
const (
	keyServerURL   = "server_url"
	keyDeviceID    = "device_id"
	keyDeviceToken = "device_token"
)

// ErrNotRegistered is returned by calls that need a registered device.
var ErrNotRegistered = errors.New("this provider is not registered with a passkeyd server: run register first")

// Provider is one software device.
type Provider struct {
	auth *authenticator.Authenticator
	hc   *http.Client
}

// New returns a provider over an opened authenticator (its keystore holds
// the registration). hc is used for the server's API; nil means
// http.DefaultClient.
func New(auth *authenticator.Authenticator, hc *http.Client) *Provider {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Provider{auth: auth, hc: hc}
}

// Authenticator returns the provider's authenticator.
func (p *Provider) Authenticator() *authenticator.Authenticator { return p.auth }

// DeviceID returns the registered device's ID, or "".
func (p *Provider) DeviceID() string {
	id, _ := p.auth.Data(keyDeviceID)
	return id
}

// Register consumes an invitation code at the server and stores the
// device's registration in the keystore.
func (p *Provider) Register(ctx context.Context, serverURL string, code passkeyd.Secret, info passkeyd.DeviceInfo) (string, error) {
	if p.DeviceID() != "" {
		return "", fmt.Errorf("already registered as device %s: unregister first", p.DeviceID())
	}
	c, err := client.New(serverURL, client.WithHTTPClient(p.hc))
	if err != nil {
		return "", err
	}
	id, tok, err := c.RegisterDevice(ctx, code, info)
	if err != nil {
		return "", err
	}
	for k, v := range map[string]string{keyServerURL: serverURL, keyDeviceID: id, keyDeviceToken: tok.Reveal()} {
		if err := p.auth.SetData(k, v); err != nil {
			return "", err
		}
	}
	return id, p.auth.Save()
}

// api returns a device API client authenticated as this device.
func (p *Provider) api() (*client.Client, error) {
	url, ok1 := p.auth.Data(keyServerURL)
	tok, ok2 := p.auth.Data(keyDeviceToken)
	if !ok1 || !ok2 {
		return nil, ErrNotRegistered
	}
	return client.New(url, client.WithHTTPClient(p.hc), client.WithToken(passkeyd.Secret(tok)))
}

// Status asks the server for the device's policy, passkeys and next step.
func (p *Provider) Status(ctx context.Context) (*passkeyd.DeviceStatus, error) {
	c, err := p.api()
	if err != nil {
		return nil, err
	}
	return c.DeviceStatus(ctx)
}

// Enroll creates a device-bound passkey for the device's user: passkeyd
// fetches Graph's creation options, this authenticator makes the key pair
// and attestation, and passkeyd registers it in Entra. A credential Entra
// did not accept is discarded from the keystore.
func (p *Provider) Enroll(ctx context.Context, opts ...authenticator.CallOption) (*passkeyd.Passkey, error) {
	c, err := p.api()
	if err != nil {
		return nil, err
	}
	eo, err := c.EnrollmentOptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("creation options: %w", err)
	}
	att, err := p.auth.MakeCredential(eo.PublicKey, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the credential: %w", err)
	}
	pk, err := c.CompleteEnrollment(ctx, eo.EnrollmentID, att.Credential())
	if err != nil {
		if derr := p.auth.Discard(att.CredentialID); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, fmt.Errorf("registration: %w", err)
	}
	if err := p.auth.SetMethodID(att.CredentialID, pk.GraphMethodID); err != nil {
		return nil, err
	}
	return pk, p.auth.Save()
}

// Skip declines an optional passkey.
func (p *Provider) Skip(ctx context.Context) error {
	c, err := p.api()
	if err != nil {
		return err
	}
	return c.SkipEnrollment(ctx)
}

// Unregister removes the device at the server (which revokes its
// passkeys in Entra) and forgets the registration and its credentials.
func (p *Provider) Unregister(ctx context.Context) error {
	c, err := p.api()
	if err != nil {
		return err
	}
	if _, _, err := c.UnregisterDevice(ctx); err != nil {
		return err
	}
	for _, cred := range p.auth.Credentials() {
		if err := p.auth.Discard(cred.ID); err != nil {
			return err
		}
	}
	for _, k := range []string{keyServerURL, keyDeviceID, keyDeviceToken} {
		if err := p.auth.DeleteData(k); err != nil {
			return err
		}
	}
	return p.auth.Save()
}
