package manager

import (
	"context"
	"sync"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// DefaultSettingsCacheTTL is how long a node serves device requests from
// the connector and policies it read last (Config.SettingsCacheTTL).
const DefaultSettingsCacheTTL = time.Second

// settingsCache keeps the connector and the policies, which every device
// request reads and which change a few times a year, for ttl. A change
// made through this node drops them at once; one made on another node
// (PostgreSQL) or by a CLI command against the database applies here
// within ttl. Reads of both were two of a request's five queries. Admin
// reads and changes go to the store. Callers get shallow copies: they must
// not write into the slices and pointers they share with the cache.
type settingsCache struct {
	ttl time.Duration
	now func() time.Time

	mu          sync.Mutex
	gen         uint64 // bumped by forget, so that a read racing it is not kept
	connector   *passkeyd.Connector
	connectorAt time.Time
	policies    map[string]cachedPolicy
}

type cachedPolicy struct {
	p  *passkeyd.Policy
	at time.Time
}

func (s *settingsCache) fresh(at time.Time) bool {
	return s.ttl > 0 && !at.IsZero() && s.now().Sub(at) < s.ttl
}

// getConnector returns the cached connector, or reads it with read.
func (s *settingsCache) getConnector(ctx context.Context, read func(context.Context) (*passkeyd.Connector, error)) (*passkeyd.Connector, error) {
	s.mu.Lock()
	if s.connector != nil && s.fresh(s.connectorAt) {
		c := *s.connector
		s.mu.Unlock()
		return &c, nil
	}
	gen := s.gen
	s.mu.Unlock()
	c, err := read(ctx)
	if err != nil || s.ttl <= 0 {
		return c, err
	}
	s.mu.Lock()
	if s.gen == gen {
		kept := *c
		s.connector, s.connectorAt = &kept, s.now()
	}
	s.mu.Unlock()
	return c, nil
}

// getPolicy returns the cached policy id, or reads it with read.
func (s *settingsCache) getPolicy(ctx context.Context, id string, read func(context.Context, string) (*passkeyd.Policy, error)) (*passkeyd.Policy, error) {
	s.mu.Lock()
	if cp, ok := s.policies[id]; ok && s.fresh(cp.at) {
		p := *cp.p
		s.mu.Unlock()
		return &p, nil
	}
	gen := s.gen
	s.mu.Unlock()
	p, err := read(ctx, id)
	if err != nil || s.ttl <= 0 {
		return p, err
	}
	s.mu.Lock()
	if s.gen == gen {
		if s.policies == nil {
			s.policies = map[string]cachedPolicy{}
		}
		kept := *p
		s.policies[id] = cachedPolicy{p: &kept, at: s.now()}
	}
	s.mu.Unlock()
	return p, nil
}

// forget drops everything, after a change made through this node.
func (s *settingsCache) forget() {
	s.mu.Lock()
	s.gen++
	s.connector, s.policies = nil, nil
	s.mu.Unlock()
}
