package storetest

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func testConnector(t *testing.T, e *env) {
	_, err := e.s.Connector(e.ctx)
	wantCode(t, "Connector before first save", err, passkeyd.ENotFound, "connector not found")

	secretExpiry := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	debugUntil := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	c := &passkeyd.Connector{
		Enabled: true, HTTPDebug: true, Cloud: passkeyd.CloudCustom,
		AuthorityHost: "https://login.example.test", GraphURL: "https://graph.example.test",
		CACertPEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		TenantID:  "contoso.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555",
		HasClientSecret: true, ClientSecretHint: "abc********", SealedClientSecret: []byte{0, 1, 2, 0xff},
		ChallengeTimeoutMinutes: 60, DisplayNameTemplate: "passkeyd {device}",
		CredentialType: passkeyd.CredentialCertificate, ClientSecretExpiresAt: &secretExpiry,
		CertificateChainPEM:  "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
		SealedCertificateKey: []byte{9, 8, 7}, AssertionFormat: passkeyd.AssertionRS256, HTTPDebugUntil: &debugUntil,
	}
	if err := e.s.PutConnector(e.ctx, c, ev("connector.updated", "connector", "default")); err != nil {
		t.Fatalf("PutConnector: %v", err)
	}
	if c.ID != passkeyd.ConnectorID || c.UpdatedAt.IsZero() {
		t.Errorf("PutConnector left ID %q UpdatedAt %v", c.ID, c.UpdatedAt)
	}
	got, err := e.s.Connector(e.ctx)
	if err != nil {
		t.Fatalf("Connector: %v", err)
	}
	if !bytes.Equal(got.SealedClientSecret, c.SealedClientSecret) {
		t.Errorf("SealedClientSecret = %x, want %x", got.SealedClientSecret, c.SealedClientSecret)
	}
	if !bytes.Equal(got.SealedCertificateKey, c.SealedCertificateKey) {
		t.Errorf("SealedCertificateKey = %x, want %x", got.SealedCertificateKey, c.SealedCertificateKey)
	}
	want := *c
	got.SealedClientSecret, want.SealedClientSecret = nil, nil
	got.SealedCertificateKey, want.SealedCertificateKey = nil, nil
	if !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, want.UpdatedAt)
	}
	got.UpdatedAt = want.UpdatedAt
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Connector =\n%+v\nwant\n%+v", *got, want)
	}

	// Replace: everything changes, the secret goes.
	c2 := &passkeyd.Connector{Cloud: passkeyd.CloudGlobal, ChallengeTimeoutMinutes: 5, DisplayNameTemplate: "x"}
	if err := e.s.PutConnector(e.ctx, c2, ev("connector.updated", "connector", "default")); err != nil {
		t.Fatalf("PutConnector again: %v", err)
	}
	got, err = e.s.Connector(e.ctx)
	if err != nil {
		t.Fatalf("Connector: %v", err)
	}
	if got.Enabled || got.Cloud != passkeyd.CloudGlobal || got.HasClientSecret || len(got.SealedClientSecret) != 0 || got.TenantID != "" {
		t.Errorf("replaced connector = %+v", got)
	}
	if n := len(e.events()); n != 2 {
		t.Errorf("%d audit events, want 2", n)
	}
}

func testPolicies(t *testing.T, e *env) {
	def, err := e.s.Policy(e.ctx, passkeyd.DefaultPolicyID)
	if err != nil {
		t.Fatalf("default policy: %v", err)
	}
	if def.EntraPasskey != passkeyd.PolicyOff || def.Name == "" || def.CreatedAt.IsZero() {
		t.Errorf("default policy = %+v, want a named policy with mode off", def)
	}
	_, err = e.s.Policy(e.ctx, "nope")
	wantCode(t, "Policy(unknown)", err, passkeyd.ENotFound, "policy not found")

	p := &passkeyd.Policy{ID: "engineering", Name: "Engineering", EntraPasskey: passkeyd.PolicyRequired,
		MaxPasskeysPerUser: 3, CreatedAt: t0}
	if err := e.s.PutPolicy(e.ctx, p, ev("policy.updated", "policy", "engineering")); err != nil {
		t.Fatalf("PutPolicy: %v", err)
	}
	got, err := e.s.Policy(e.ctx, "engineering")
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	if got.Name != p.Name || got.EntraPasskey != p.EntraPasskey || got.MaxPasskeysPerUser != 3 ||
		!sameTime(got.CreatedAt, t0) || !sameTime(got.UpdatedAt, p.UpdatedAt) {
		t.Errorf("Policy = %+v, want %+v", got, p)
	}

	// Replacing keeps the creation time.
	upd := &passkeyd.Policy{ID: "engineering", Name: "Eng", EntraPasskey: passkeyd.PolicyOptional}
	if err := e.s.PutPolicy(e.ctx, upd, ev("policy.updated", "policy", "engineering")); err != nil {
		t.Fatalf("PutPolicy replace: %v", err)
	}
	if !sameTime(upd.CreatedAt, t0) {
		t.Errorf("replaced policy CreatedAt = %v, want %v", upd.CreatedAt, t0)
	}
	def.EntraPasskey = passkeyd.PolicyOptional
	if err := e.s.PutPolicy(e.ctx, def, ev("policy.updated", "policy", "default")); err != nil {
		t.Fatalf("PutPolicy default: %v", err)
	}

	ps, err := e.s.Policies(e.ctx)
	if err != nil {
		t.Fatalf("Policies: %v", err)
	}
	if len(ps) != 2 || ps[0].ID != "default" || ps[0].EntraPasskey != passkeyd.PolicyOptional ||
		ps[1].ID != "engineering" || ps[1].Name != "Eng" || ps[1].MaxPasskeysPerUser != 0 {
		t.Errorf("Policies = %+v", ps)
	}
}

func testAPITokens(t *testing.T, e *env) {
	exp := t0.Add(24 * time.Hour)
	tk := &passkeyd.APIToken{Name: "ci", Hash: []byte("hash-1"), Last8: "abcd1234", Role: passkeyd.RoleOperator, ExpiresAt: &exp}
	if err := e.s.CreateAPIToken(e.ctx, tk, ev("token.created", "token", "")); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if tk.ID == "" || tk.CreatedAt.IsZero() {
		t.Errorf("CreateAPIToken left ID %q CreatedAt %v", tk.ID, tk.CreatedAt)
	}
	got, err := e.s.APITokenByHash(e.ctx, []byte("hash-1"))
	if err != nil {
		t.Fatalf("APITokenByHash: %v", err)
	}
	if got.ID != tk.ID || got.Name != "ci" || got.Role != passkeyd.RoleOperator || got.Last8 != "abcd1234" ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || !bytes.Equal(got.Hash, tk.Hash) {
		t.Errorf("APITokenByHash = %+v, want %+v", got, tk)
	}
	_, err = e.s.APITokenByHash(e.ctx, []byte("nope"))
	wantCode(t, "APITokenByHash(unknown)", err, passkeyd.ENotFound, "API token not found")

	dup := &passkeyd.APIToken{Name: "dup", Hash: []byte("hash-1"), Last8: "x", Role: passkeyd.RoleAdmin}
	wantCode(t, "CreateAPIToken(same hash)", e.s.CreateAPIToken(e.ctx, dup, ev("token.created", "token", "")), passkeyd.EConflict, "")

	forever := &passkeyd.APIToken{Name: "forever", Hash: []byte("hash-2"), Last8: "y", Role: passkeyd.RoleAuditor}
	if err := e.s.CreateAPIToken(e.ctx, forever, ev("token.created", "token", "")); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	tks, err := e.s.APITokens(e.ctx)
	if err != nil || len(tks) != 2 || tks[1].ExpiresAt != nil {
		t.Fatalf("APITokens = %+v, %v; want 2, the second without expiry", tks, err)
	}
	before := len(e.events())
	if err := e.s.DeleteAPIToken(e.ctx, tk.ID, ev("token.deleted", "token", tk.ID)); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	_, err = e.s.APITokenByHash(e.ctx, []byte("hash-1"))
	wantCode(t, "APITokenByHash(deleted)", err, passkeyd.ENotFound, "")
	before++
	wantCode(t, "DeleteAPIToken(again)", e.s.DeleteAPIToken(e.ctx, tk.ID, ev("token.deleted", "token", tk.ID)), passkeyd.ENotFound, "API token not found")
	e.unchangedAudit("DeleteAPIToken(again)", before)
}
