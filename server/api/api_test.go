package api

import (
	"net/http"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestStatusCodeRoundTrip(t *testing.T) {
	for code := range codes() {
		if got := CodeOfStatus(StatusOf(code)); got != code {
			t.Errorf("CodeOfStatus(StatusOf(%q)) = %q", code, got)
		}
		if p := NewProblem(code, "d"); p.Type != ProblemTypeBase+string(code) || p.Status != StatusOf(code) || p.Title == "" {
			t.Errorf("NewProblem(%q) = %+v", code, p)
		}
	}
	tests := []struct {
		status int
		want   passkeyd.ErrorCode
	}{
		{http.StatusTeapot, passkeyd.EInvalid},
		{http.StatusMethodNotAllowed, passkeyd.EInvalid},
		{http.StatusGatewayTimeout, passkeyd.EUpstream},
		{http.StatusNotImplemented, passkeyd.EInternal},
	}
	for _, tt := range tests {
		if got := CodeOfStatus(tt.status); got != tt.want {
			t.Errorf("CodeOfStatus(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
	if StatusOf("bogus") != 500 || NewProblem("bogus", "").Code != passkeyd.EInternal {
		t.Error("unknown code is not internal")
	}
}

func TestConnectorUpdateKeepsTheSecret(t *testing.T) {
	s := passkeyd.Secret("hunter2-hunter2")
	u := passkeyd.ConnectorUpdate{Enabled: true, Cloud: passkeyd.CloudChina, TenantID: "t", ClientID: "c", ClientSecret: &s, ChallengeTimeoutMinutes: 9}
	back := NewConnectorUpdate(u).Domain()
	if back.ClientSecret == nil || back.ClientSecret.Reveal() != "hunter2-hunter2" || back.ChallengeTimeoutMinutes != 9 || back.Cloud != passkeyd.CloudChina {
		t.Errorf("round trip lost data: %+v", back)
	}
	u.ClientSecret = nil
	if NewConnectorUpdate(u).Domain().ClientSecret != nil {
		t.Error("nil secret became non-nil")
	}
}
