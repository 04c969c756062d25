package manager_test

import (
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/manager"
)

func TestUpdateConnectorReportsEveryProblem(t *testing.T) {
	v := newTestManager(t)
	_, err := v.m.UpdateConnector(v.admin, passkeyd.ConnectorUpdate{
		Enabled:                 true,
		Cloud:                   passkeyd.CloudCustom,
		AuthorityHost:           "http://login.example.com",
		GraphURL:                "",
		CACertPEM:               "not a certificate",
		TenantID:                "not a tenant!",
		ClientID:                "not-a-guid",
		ChallengeTimeoutMinutes: 3,
	})
	wantCode(t, err, passkeyd.EInvalid)
	got := fieldsOf(err)
	for _, f := range []string{"ca_cert_pem", "authority_host", "graph_url", "tenant_id", "client_id", "client_secret", "challenge_timeout_minutes"} {
		if !got[f] {
			t.Errorf("no problem reported for %s; got %v", f, passkeyd.ErrorFields(err))
		}
	}
	if c, err := v.m.Connector(v.admin); err != nil || c.Enabled || c.TenantID != "" {
		t.Errorf("connector after a refused update = %+v, %v; want the defaults", c, err)
	}
}

func TestUpdateConnectorSecretHandling(t *testing.T) {
	v := newTestManager(t)
	const plain = "super-secret-value-0123456789"
	c, err := v.m.UpdateConnector(v.admin, v.connectorUpdate(plain))
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasClientSecret || c.ClientSecretHint != "sup********" {
		t.Errorf("HasClientSecret=%v hint=%q, want true and sup********", c.HasClientSecret, c.ClientSecretHint)
	}
	stored, err := v.db.Connector(v.admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.SealedClientSecret) == 0 || strings.Contains(string(stored.SealedClientSecret), plain) {
		t.Errorf("the stored secret is not sealed: %q", stored.SealedClientSecret)
	}

	// A nil secret keeps the stored one.
	u := v.connectorUpdate("")
	u.ClientSecret = nil
	u.DisplayNameTemplate = "pk {device}"
	c, err = v.m.UpdateConnector(v.admin, u)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasClientSecret || c.ClientSecretHint != "sup********" {
		t.Errorf("nil secret: HasClientSecret=%v hint=%q, want the old secret kept", c.HasClientSecret, c.ClientSecretHint)
	}
	again, _ := v.db.Connector(v.admin)
	if string(again.SealedClientSecret) != string(stored.SealedClientSecret) {
		t.Error("nil secret: the sealed secret changed")
	}

	// An empty secret clears it (allowed only with the connector disabled).
	u = v.connectorUpdate("   ")
	u.Enabled = false
	c, err = v.m.UpdateConnector(v.admin, u)
	if err != nil {
		t.Fatal(err)
	}
	if c.HasClientSecret || c.ClientSecretHint != "" || len(c.SealedClientSecret) != 0 {
		t.Errorf("empty secret: %+v, want it cleared", c)
	}

	// Enabling without a secret is refused.
	u.Enabled = true
	u.ClientSecret = nil
	_, err = v.m.UpdateConnector(v.admin, u)
	wantCode(t, err, passkeyd.EInvalid)
	if !fieldsOf(err)["client_secret"] {
		t.Errorf("enabled without secret: fields %v", passkeyd.ErrorFields(err))
	}

	// The secret appears nowhere in the audit log.
	evs := v.auditEvents(t, "")
	raw, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), plain); n != 0 {
		t.Errorf("the plaintext secret appears %d times in the audit log", n)
	}
	updated := v.auditEvents(t, "connector.updated")
	if len(updated) != 3 {
		t.Fatalf("%d connector.updated events, want 3", len(updated))
	}
	for i, want := range []string{`"client_secret":"replaced"`, ``, `"client_secret":"cleared"`} {
		d := string(updated[i].Details)
		if want != "" && !strings.Contains(d, want) {
			t.Errorf("event %d details %s lack %s", i, d, want)
		}
		if want == "" && strings.Contains(d, "client_secret") {
			t.Errorf("event %d details %s mention the kept secret", i, d)
		}
		if updated[i].Actor != "token:admin1" {
			t.Errorf("event %d actor %q", i, updated[i].Actor)
		}
	}
}

func TestUpdateConnectorCAPEM(t *testing.T) {
	v := newTestManager(t)
	blk, _ := pem.Decode([]byte(v.caPEM))
	junkCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: blk.Bytes[:20]}))
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	tests := []struct {
		name, pem, want string // want "" means accepted
	}{
		{"valid", v.caPEM, ""},
		{"two certificates", v.caPEM + v.caPEM, ""},
		{"not PEM", "hello", "must be PEM-encoded certificates"},
		{"trailing junk", v.caPEM + "junk", "must be PEM-encoded certificates"},
		{"private key", key, "must contain only CERTIFICATE PEM blocks, found PRIVATE KEY"},
		{"unparsable certificate", junkCert, "holds a certificate that cannot be parsed"},
		{"too large", strings.Repeat(v.caPEM, 64<<10/len(v.caPEM)+1), "must be at most 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := v.connectorUpdate(v.set.ClientSecret)
			u.CACertPEM = tt.pem
			_, err := v.m.UpdateConnector(v.admin, u)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantCode(t, err, passkeyd.EInvalid)
			fe := passkeyd.ErrorFields(err)
			if len(fe) != 1 || fe[0].Field != "ca_cert_pem" || fe[0].Message != tt.want {
				t.Errorf("fields = %v, want ca_cert_pem %q", fe, tt.want)
			}
		})
	}

	// A preset cloud drops custom endpoints and CA instead of checking them.
	u := v.connectorUpdate(v.set.ClientSecret)
	u.Cloud, u.CACertPEM = passkeyd.CloudGlobal, "garbage"
	c, err := v.m.UpdateConnector(v.admin, u)
	if err != nil {
		t.Fatal(err)
	}
	if c.CACertPEM != "" || c.AuthorityHost != "" || c.GraphURL != "" {
		t.Errorf("global cloud kept custom settings: %+v", c)
	}
}

func stepsByName(rep *passkeyd.ConnectionReport) map[string]passkeyd.ConnectionStep {
	m := map[string]passkeyd.ConnectionStep{}
	for _, s := range rep.Steps {
		m[s.Name] = s
	}
	return m
}

func TestTestConnection(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, v *testEnv)
		ok    bool
		// want maps step names to their status; detail and code check
		// the failed step.
		want         map[string]string
		failedCode   string
		failedDetail string
	}{
		{
			name:  "success",
			setup: func(t *testing.T, v *testEnv) { v.connect(t) },
			ok:    true,
			want: map[string]string{"configuration": passkeyd.StepOK, "credential": passkeyd.StepWarning, "token": passkeyd.StepOK,
				"permission": passkeyd.StepOK, "graph": passkeyd.StepOK, "policy": passkeyd.StepSkipped},
		},
		{
			name: "policy doctor: self-service off",
			setup: func(t *testing.T, v *testEnv) {
				if err := v.emu.SetAppRoles(v.set.TenantID, v.set.ClientID, []string{entraemu.RolePasskeyReadWriteAll, entraemu.RolePolicyReadAuthMethod}); err != nil {
					t.Fatal(err)
				}
				p := v.emu.Fido2Policy(v.set.TenantID)
				p.IsSelfServiceRegistrationAllowed = false
				if err := v.emu.SetFido2Policy(v.set.TenantID, p); err != nil {
					t.Fatal(err)
				}
				v.connect(t)
			},
			want: map[string]string{"graph": passkeyd.StepOK, "policy.fido2": passkeyd.StepOK,
				"policy.self_service": passkeyd.StepFailed, "policy.attestation": passkeyd.StepOK},
			failedDetail: "self-service",
		},
		{
			name: "expired secret date",
			setup: func(t *testing.T, v *testEnv) {
				u := v.connectorUpdate(v.set.ClientSecret)
				past := v.clk.Now().AddDate(0, 0, -1)
				u.ClientSecretExpiresAt = &past
				if _, err := v.m.UpdateConnector(v.admin, u); err != nil {
					t.Fatal(err)
				}
			},
			want:         map[string]string{"configuration": passkeyd.StepOK, "credential": passkeyd.StepFailed, "token": passkeyd.StepSkipped},
			failedDetail: "expired on",
		},
		{
			name: "wrong secret",
			setup: func(t *testing.T, v *testEnv) {
				if _, err := v.m.UpdateConnector(v.admin, v.connectorUpdate("wrong-secret-wrong-secret")); err != nil {
					t.Fatal(err)
				}
			},
			want:         map[string]string{"configuration": passkeyd.StepOK, "token": passkeyd.StepFailed, "permission": passkeyd.StepSkipped, "graph": passkeyd.StepSkipped},
			failedCode:   "AADSTS7000215",
			failedDetail: "paste the secret's Value",
		},
		{
			name: "no admin consent",
			setup: func(t *testing.T, v *testEnv) {
				if err := v.emu.SetAppRoles(v.set.TenantID, v.set.ClientID, nil); err != nil {
					t.Fatal(err)
				}
				v.connect(t)
			},
			want:         map[string]string{"configuration": passkeyd.StepOK, "token": passkeyd.StepOK, "permission": passkeyd.StepFailed, "graph": passkeyd.StepSkipped},
			failedDetail: "admin consent",
		},
		{
			name: "disabled",
			setup: func(t *testing.T, v *testEnv) {
				u := v.connectorUpdate(v.set.ClientSecret)
				u.Enabled = false
				if _, err := v.m.UpdateConnector(v.admin, u); err != nil {
					t.Fatal(err)
				}
			},
			want:         map[string]string{"configuration": passkeyd.StepFailed, "token": passkeyd.StepSkipped, "permission": passkeyd.StepSkipped, "graph": passkeyd.StepSkipped},
			failedDetail: "disabled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestManager(t)
			tt.setup(t, v)
			rep, err := v.m.TestConnection(v.admin, passkeyd.TestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tt.ok {
				t.Errorf("OK = %v, want %v; steps %+v", rep.OK, tt.ok, rep.Steps)
			}
			steps := stepsByName(rep)
			if _, ok := steps["policy"]; !ok && tt.want["policy.fido2"] == "" {
				t.Errorf("no policy step (ok, skipped or findings): %+v", rep.Steps)
			}
			for name, status := range tt.want {
				s := steps[name]
				if s.Status != status {
					t.Errorf("step %s = %s (%s), want %s", name, s.Status, s.Detail, status)
				}
				if status == passkeyd.StepFailed {
					if s.Code != tt.failedCode {
						t.Errorf("step %s code = %q, want %q", name, s.Code, tt.failedCode)
					}
					if !strings.Contains(s.Detail, tt.failedDetail) {
						t.Errorf("step %s detail = %q, want it to mention %q", name, s.Detail, tt.failedDetail)
					}
				}
			}
			evs := v.auditEvents(t, "connector.tested")
			if len(evs) != 1 {
				t.Fatalf("%d connector.tested events, want 1", len(evs))
			}
			wantOutcome := passkeyd.OutcomeSuccess
			if !tt.ok {
				wantOutcome = passkeyd.OutcomeFailure
			}
			if evs[0].Outcome != wantOutcome {
				t.Errorf("audit outcome %q, want %q", evs[0].Outcome, wantOutcome)
			}
			if tt.name == "disabled" {
				if n := v.emu.Stats().TokenRequests; n != 0 {
					t.Errorf("a disabled connector made %d token requests", n)
				}
			}
		})
	}
}

func TestHTTPDebugSwitchesItselfOff(t *testing.T) {
	v := newTestManager(t)
	u := v.connectorUpdate(v.set.ClientSecret)
	u.HTTPDebug = true
	c, err := v.m.UpdateConnector(v.admin, u)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HTTPDebug || c.HTTPDebugUntil == nil || !c.HTTPDebugUntil.Equal(v.clk.Now().Add(manager.DefaultHTTPDebugPeriod)) {
		t.Fatalf("after enabling: debug %v until %v", c.HTTPDebug, c.HTTPDebugUntil)
	}
	v.clk.Advance(manager.DefaultHTTPDebugPeriod - time.Minute)
	if c, _ := v.m.Connector(v.admin); !c.HTTPDebug {
		t.Fatal("HTTP debug went off early")
	}
	v.clk.Advance(2 * time.Minute)
	if c, _ := v.m.Connector(v.admin); c.HTTPDebug {
		t.Fatal("HTTP debug still on after its period")
	}
	u.HTTPDebug = false
	if c, _ = v.m.UpdateConnector(v.admin, u); c.HTTPDebugUntil != nil {
		t.Fatalf("disabling kept until = %v", c.HTTPDebugUntil)
	}
}

func TestProvisioningRefusedInNationalClouds(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	u := v.connectorUpdate(v.set.ClientSecret)
	u.Cloud = passkeyd.CloudUSGov
	if _, err := v.m.UpdateConnector(v.admin, u); err != nil {
		t.Fatal(err)
	}
	rep, err := v.m.TestConnection(v.admin, passkeyd.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := stepsByName(rep)["cloud"]; s.Status != passkeyd.StepWarning || !strings.Contains(s.Detail, "global cloud only") {
		t.Errorf("cloud step = %+v", s)
	}
}
