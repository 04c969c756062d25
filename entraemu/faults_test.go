package entraemu

import (
	"net/http"
	"testing"
)

func TestFaults(t *testing.T) {
	v := newEnv(t, nil)
	if err := v.e.InjectFault(Fault{Op: OpToken, Status: 429, RetryAfter: 1500e6, Count: 1}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(v.srv.URL+"/"+v.set.TenantID+"/oauth2/v2.0/token", v.form(v.secret, v.srv.URL+"/.default"))
	if err != nil {
		t.Fatal(err)
	}
	st, body := decodeResp(t, resp)
	if st != 429 || resp.Header.Get("Retry-After") != "2" || body["error_codes"] == nil {
		t.Fatalf("token fault: %d %v Retry-After=%q", st, body, resp.Header.Get("Retry-After"))
	}
	tok := v.token(t) // the fault was used up

	if err := v.e.InjectFault(Fault{Op: OpList, Status: 503, Count: 2}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{503, 503, 200} {
		st, body, _ := v.graph(t, "GET", methodsPath(aliceUPN), tok, nil)
		if st != want {
			t.Fatalf("list %d: %d %v, want %d", i, st, body, want)
		}
		if want == 503 && graphCode(body) != "serviceNotAvailable" {
			t.Errorf("code = %q", graphCode(body))
		}
	}

	// Unknown outcome: the create happens, the client sees a 500.
	a := newAuthenticator(t, 40)
	if err := v.e.InjectFault(Fault{Op: OpCreate, Status: 500, AfterHandler: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	st, body, _ = v.graph(t, "POST", methodsPath(aliceUPN), tok, a.create(t, v.options(t, tok, aliceUPN), "key", makeOpts{}))
	if st != 500 || graphCode(body) != "generalException" {
		t.Fatalf("create fault: %d %v", st, body)
	}
	ms := v.e.Methods(v.set.TenantID, aliceUPN)
	if len(ms) != 1 {
		t.Fatalf("after-handler create stored %d methods, want 1", len(ms))
	}
	// A fault before the handler does nothing.
	if err := v.e.InjectFault(Fault{Op: OpDelete, Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := v.graph(t, "DELETE", methodsPath(aliceUPN)+"/"+ms[0].ID, tok, nil); st != 503 || len(v.e.Methods(v.set.TenantID, aliceUPN)) != 1 {
		t.Fatalf("delete before-handler fault: %d", st)
	}
	if err := v.e.InjectFault(Fault{Op: OpDelete, Status: 504, AfterHandler: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := v.graph(t, "DELETE", methodsPath(aliceUPN)+"/"+ms[0].ID, tok, nil); st != 504 || len(v.e.Methods(v.set.TenantID, aliceUPN)) != 0 {
		t.Fatalf("delete after-handler fault: %d", st)
	}
	s := v.e.Stats()
	if s.FaultsInjected != 6 || s.GraphCalls[OpList] != 3 || s.GraphCalls[OpCreate] != 1 || s.GraphCalls[OpDelete] != 2 {
		t.Errorf("stats = %+v", s)
	}
	if err := v.e.InjectFault(Fault{Op: "bogus", Status: 500}); err == nil {
		t.Error("unknown op accepted")
	}
	if err := v.e.InjectFault(Fault{Op: OpGet, Status: 200}); err == nil {
		t.Error("non-error status accepted")
	}
}
