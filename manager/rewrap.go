package manager

import (
	"bytes"
	"context"
	"sort"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/secret"
)

// Rewrapper re-seals a value under the primary master key (secret.Keyring).
type Rewrapper interface {
	Rewrap(sealed []byte, aad string) ([]byte, error)
}

// RewrapReport is the result of re-sealing the stored secrets under the
// primary master key.
type RewrapReport struct {
	Rewrapped int `json:"rewrapped"`
	Unchanged int `json:"unchanged"`
	// KeyIDsInUse are the master keys the connector's secrets are sealed
	// with after the pass: an old key can be retired once it is not
	// listed here (and idempotency records sealed with it, kept 24 h,
	// have expired).
	KeyIDsInUse []string `json:"key_ids_in_use"`
}

// RewrapSecrets re-seals the connector's client secret and certificate key
// under the primary master key, checking that each still opens (a rewrap
// pass is also an integrity pass). progress is told each value done.
func (m *Manager) RewrapSecrets(ctx context.Context, progress func(what string)) (*RewrapReport, error) {
	rw, ok := m.sealer.(Rewrapper)
	if !ok {
		return nil, passkeyd.Errorf(passkeyd.EInternal, "the configured sealer cannot rewrap")
	}
	c, err := m.store.Connector(ctx)
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return &RewrapReport{KeyIDsInUse: []string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	rep := &RewrapReport{}
	inUse := map[string]bool{}
	for _, v := range []struct {
		what, aad string
		field     *[]byte
	}{
		{"client secret", secretAAD, &c.SealedClientSecret},
		{"certificate key", certKeyAAD, &c.SealedCertificateKey},
	} {
		if len(*v.field) == 0 {
			continue
		}
		out, err := rw.Rewrap(*v.field, v.aad)
		if err != nil {
			return nil, passkeyd.WrapError(passkeyd.EInternal, err, "cannot rewrap the %s: is its old master key configured?", v.what)
		}
		if bytes.Equal(out, *v.field) {
			rep.Unchanged++
		} else {
			rep.Rewrapped++
		}
		*v.field = out
		if id, err := secret.SealedKeyID(out); err == nil {
			inUse[id] = true
		}
		if progress != nil {
			progress(v.what)
		}
	}
	if rep.Rewrapped > 0 {
		c.Certificate = nil
		ev := m.event(passkeyd.WithActor(ctx, passkeyd.SystemActor), "connector.secrets_rewrapped", "connector", c.ID, map[string]any{"rewrapped": rep.Rewrapped})
		err := m.store.PutConnector(ctx, c, ev)
		m.settings.forget()
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.graph = nil
		m.mu.Unlock()
	}
	for id := range inUse {
		rep.KeyIDsInUse = append(rep.KeyIDsInUse, id)
	}
	sort.Strings(rep.KeyIDsInUse)
	return rep, nil
}
