package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

func TestCreationOptionsPathChoice(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		timeout int
		want    string // request URI
	}{
		{"v1.0 for 5 minutes", testUPN, 5, "/v1.0/users/" + testUPNPath + "/authentication/fido2Methods/creationOptions"},
		{"zero means the default", testUserID, 0, "/v1.0/users/" + testUserID + "/authentication/fido2Methods/creationOptions"},
		{"beta inline form", testUPN, 60, "/beta/users/" + testUPNPath + "/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=60)"},
		{"beta maximum", testUserID, 43200, "/beta/users/" + testUserID + "/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=43200)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet {
					t.Errorf("method = %s, want GET", r.Method)
				}
				got = r.RequestURI
				writeRaw(w, http.StatusOK, sampleOptions)
			})
			if _, err := f.client(t).CreationOptions(context.Background(), tt.user, tt.timeout); err != nil {
				t.Fatalf("CreationOptions: %v", err)
			}
			if got != tt.want {
				t.Errorf("request URI = %s\nwant          %s", got, tt.want)
			}
		})
	}
}

func TestCreationOptionsTimeoutOutOfRange(t *testing.T) {
	f := newFakeMS(t, nil)
	c := f.client(t)
	for _, n := range []int{-1, 4, 43201} {
		_, err := c.CreationOptions(context.Background(), testUPN, n)
		mustCode(t, err, passkeyd.EInvalid)
	}
	if n := f.graphRequests.Load() + f.tokenRequests.Load(); n != 0 {
		t.Errorf("%d requests made for invalid timeouts, want 0", n)
	}
}

func TestRequestHeaders(t *testing.T) {
	var ids []string
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.Header.Get("Authorization"), "Bearer "+testToken(1); got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "passkeyd-test/1" {
			t.Errorf("User-Agent = %q", got)
		}
		crid := r.Header.Get("client-request-id")
		if _, err := uuid.Parse(crid); err != nil {
			t.Errorf("client-request-id %q is not a UUID", crid)
		}
		ids = append(ids, crid)
		w.Header().Set("request-id", "rid-"+crid)
		writeRaw(w, http.StatusOK, sampleOptions)
	})
	c := f.client(t, WithUserAgent("passkeyd-test/1"))
	for range 3 {
		co, err := c.CreationOptions(context.Background(), testUPN, 5)
		if err != nil {
			t.Fatal(err)
		}
		if co.ClientRequestID != ids[len(ids)-1] {
			t.Errorf("ClientRequestID = %q, want the header sent, %q", co.ClientRequestID, ids[len(ids)-1])
		}
	}
	if ids[0] == ids[1] || ids[1] == ids[2] {
		t.Errorf("client-request-id reused across calls: %v", ids)
	}
}

func TestInvalidInputsNeverReachGraph(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.RequestURI)
	})
	c := f.client(t)
	ctx := context.Background()
	badUsers := []string{"", "me", "../x", "alice@contoso.com/../../x", "alice@contoso.com?$filter=x",
		"alice@contoso.com#frag", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", "alice", "a b@contoso.com", "users/alice@contoso.com"}
	for _, u := range badUsers {
		_, err := c.CreationOptions(ctx, u, 5)
		mustCode(t, err, passkeyd.EInvalid)
		_, err = c.CreateMethod(ctx, u, validCreateRequest())
		mustCode(t, err, passkeyd.EInvalid)
		_, err = c.ListMethods(ctx, u)
		mustCode(t, err, passkeyd.EInvalid)
		_, err = c.GetMethod(ctx, u, "abc")
		mustCode(t, err, passkeyd.EInvalid)
		mustCode(t, c.DeleteMethod(ctx, u, "abc"), passkeyd.EInvalid)
	}
	badIDs := []string{"", "../x", "a?b", "a#b", "a%2Fb", "a b", "a.b", strings.Repeat("A", maxMethodIDLength+1)}
	for _, id := range badIDs {
		_, err := c.GetMethod(ctx, testUPN, id)
		mustCode(t, err, passkeyd.EInvalid)
		mustCode(t, c.DeleteMethod(ctx, testUPN, id), passkeyd.EInvalid)
	}
	if n := f.tokenRequests.Load(); n != 0 {
		t.Errorf("%d token requests for invalid input, want 0", n)
	}
}

func TestCreationOptionsParsing(t *testing.T) {
	const pk = `{ "challenge" : "Y2g" ,"rp":{"id":"login.example"},"user":{"name":"bob@contoso.com"},"x":[1, 2]}`
	requested := time.Date(2029, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name       string
		body       string
		wantExpiry time.Time
		wantPK     string
		wantErr    bool
	}{
		{"top level", `{"challengeTimeoutDateTime":"2030-01-02T03:04:05Z","publicKey":` + pk + `}`,
			time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), pk, false},
		{"value wrapper and annotations", `{"@odata.context":"x","value":{"@odata.type":"y","challengeTimeoutDateTime":"2030-01-02T03:04:05.1234567Z","publicKey":` + pk + `}}`,
			time.Date(2030, 1, 2, 3, 4, 5, 123456700, time.UTC), pk, false},
		{"time without zone is UTC", `{"challengeTimeoutDateTime":"2030-01-02T03:04:05.5","publicKey":` + pk + `}`,
			time.Date(2030, 1, 2, 3, 4, 5, 500000000, time.UTC), pk, false},
		{"missing time falls back to request time plus timeout", `{"publicKey":` + pk + `}`,
			requested.Add(5 * time.Minute), pk, false},
		{"missing challenge", `{"publicKey":{"rp":{"id":"login.example"}}}`, time.Time{}, "", true},
		{"missing rp.id", `{"publicKey":{"challenge":"Y2g","rp":{"name":"x"}}}`, time.Time{}, "", true},
		{"publicKey not an object", `{"publicKey":"x"}`, time.Time{}, "", true},
		{"not JSON", `<html>`, time.Time{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, http.StatusOK, tt.body) })
			co, err := f.client(t, WithNow(func() time.Time { return requested })).CreationOptions(context.Background(), testUPN, 5)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedResponse) {
					t.Fatalf("err = %v, want ErrMalformedResponse", err)
				}
				mustCode(t, err, passkeyd.EUpstream)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(co.PublicKey) != tt.wantPK {
				t.Errorf("PublicKey = %s\nwant        %s", co.PublicKey, tt.wantPK)
			}
			if !co.ChallengeTimeout.Equal(tt.wantExpiry) {
				t.Errorf("ChallengeTimeout = %v, want %v", co.ChallengeTimeout, tt.wantExpiry)
			}
			if co.RPID != "login.example" || co.Challenge != "Y2g" || co.UserName != "bob@contoso.com" {
				t.Errorf("parsed = %q %q %q", co.RPID, co.Challenge, co.UserName)
			}
		})
	}
}

func TestCreationOptionsBodyTooLarge(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, http.StatusOK, `{"publicKey":{"challenge":"`+strings.Repeat("A", maxSuccessBody)+`"}}`)
	})
	_, err := f.client(t).CreationOptions(context.Background(), testUPN, 5)
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("err = %v, want ErrMalformedResponse", err)
	}
}

func validCreateRequest() passkeyd.CreateMethodRequest {
	return passkeyd.CreateMethodRequest{
		DisplayName:       "passkeyd Pixel",
		CredentialID:      "Y3JlZC1pZA",
		ClientDataJSON:    "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0",
		AttestationObject: "o2NmbXRkbm9uZQ",
	}
}

func TestCreateMethodWireFormat(t *testing.T) {
	var body map[string]any
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.RequestURI != "/v1.0/users/"+testUPNPath+"/authentication/fido2Methods" {
			t.Errorf("request = %s %s", r.Method, r.RequestURI)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		w.Header().Set("request-id", "rid-1")
		writeRaw(w, http.StatusCreated, sampleMethod)
	})
	req := passkeyd.CreateMethodRequest{
		DisplayName:            "passkeyd Pixel",
		CredentialID:           "+/8=", // standard alphabet, padded
		ClientDataJSON:         "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0=",
		AttestationObject:      "o2NmbXRkbm9uZQ", // already canonical
		ClientExtensionResults: json.RawMessage(`{"credProps":{"rk":true}}`),
	}
	m, err := f.client(t).CreateMethod(context.Background(), testUPN, req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"displayName": "passkeyd Pixel",
		"publicKeyCredential": map[string]any{
			"id": "-_8",
			"response": map[string]any{
				"clientDataJSON":    "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0",
				"attestationObject": "o2NmbXRkbm9uZQ",
			},
			"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": true}},
		},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body = %#v\nwant   %#v", body, want)
	}
	wantM := &passkeyd.Fido2Method{ID: "Y3JlZC1pZA2", DisplayName: "passkeyd Pixel",
		CreatedDateTime: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), AAGUID: "90a3ccdf-635c-4729-a248-9b709135078f",
		AttestationCertificates: []string{"abcd"}, AttestationLevel: "attested", PasskeyType: "deviceBound",
		ClientRequestID: m.ClientRequestID}
	if !reflect.DeepEqual(m, wantM) || m.ClientRequestID == "" {
		t.Errorf("method = %#v\nwant     %#v", m, wantM)
	}
}

func TestCreateMethodDefaultsExtensionResults(t *testing.T) {
	var raw string
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		raw = string(b)
		writeRaw(w, http.StatusCreated, sampleMethod)
	})
	if _, err := f.client(t).CreateMethod(context.Background(), testUserID, validCreateRequest()); err != nil {
		t.Fatal(err)
	}
	const want = `{"displayName":"passkeyd Pixel","publicKeyCredential":{"id":"Y3JlZC1pZA","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0","attestationObject":"o2NmbXRkbm9uZQ"},"clientExtensionResults":{}}}`
	if raw != want {
		t.Errorf("body = %s\nwant   %s", raw, want)
	}
}

func TestCreateMethodInvalidRequest(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected request") })
	c := f.client(t)
	tests := []struct {
		name  string
		edit  func(*passkeyd.CreateMethodRequest)
		field string
	}{
		{"empty display name", func(r *passkeyd.CreateMethodRequest) { r.DisplayName = "" }, "displayName"},
		{"display name too long", func(r *passkeyd.CreateMethodRequest) { r.DisplayName = strings.Repeat("é", 31) }, "displayName"},
		{"control character", func(r *passkeyd.CreateMethodRequest) { r.DisplayName = "a\nb" }, "displayName"},
		{"bad credential id", func(r *passkeyd.CreateMethodRequest) { r.CredentialID = "not base64!" }, "publicKeyCredential.id"},
		{"missing attestation", func(r *passkeyd.CreateMethodRequest) { r.AttestationObject = "" }, "publicKeyCredential.response.attestationObject"},
		{"extension results not an object", func(r *passkeyd.CreateMethodRequest) { r.ClientExtensionResults = json.RawMessage(`[1]`) }, "publicKeyCredential.clientExtensionResults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validCreateRequest()
			tt.edit(&req)
			_, err := c.CreateMethod(context.Background(), testUPN, req)
			mustCode(t, err, passkeyd.EInvalid)
			fields := passkeyd.ErrorFields(err)
			if len(fields) != 1 || fields[0].Field != tt.field {
				t.Errorf("fields = %v, want one for %s", fields, tt.field)
			}
		})
	}
}

func TestListMethodsFollowsNextLink(t *testing.T) {
	f := newFakeMS(t, nil)
	const listPath = "/v1.0/users/" + testUserID + "/authentication/fido2Methods"
	f.setGraph(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("method = %s", r.Method)
		}
		switch r.RequestURI {
		case listPath:
			writeJSON(w, http.StatusOK, map[string]any{
				"@odata.context":  "x",
				"value":           []any{map[string]any{"id": "a1", "displayName": "one"}},
				"@odata.nextLink": f.srv.URL + listPath + "?$skiptoken=page2",
			})
		case listPath + "?$skiptoken=page2":
			writeJSON(w, http.StatusOK, map[string]any{"value": []any{map[string]any{"id": "b2", "displayName": "two", "model": "Key"}}})
		default:
			t.Errorf("unexpected %s", r.RequestURI)
		}
	})
	ms, err := f.client(t).ListMethods(context.Background(), testUserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].ID != "a1" || ms[1].ID != "b2" || ms[1].Model != "Key" {
		t.Errorf("methods = %+v", ms)
	}
}

func TestListMethodsRefusesForeignNextLink(t *testing.T) {
	f := newFakeMS(t, nil)
	for _, link := range []string{"https://evil.example/v1.0/users/x", "http://" + strings.TrimPrefix(f.srv.URL, "https://") + "/v1.0/x", "::"} {
		f.setGraph(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "@odata.nextLink": link})
		})
		before := f.graphRequests.Load()
		_, err := f.client(t).ListMethods(context.Background(), testUPN)
		if !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("nextLink %q: err = %v, want ErrMalformedResponse", link, err)
		}
		if n := f.graphRequests.Load() - before; n != 1 {
			t.Errorf("nextLink %q: %d requests, want 1", link, n)
		}
	}
}

func TestListMethodsCapsPages(t *testing.T) {
	f := newFakeMS(t, nil)
	f.setGraph(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "@odata.nextLink": f.srv.URL + r.URL.Path})
	})
	_, err := f.client(t).ListMethods(context.Background(), testUPN)
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("err = %v, want ErrMalformedResponse", err)
	}
	if n := f.graphRequests.Load(); n != maxListPages {
		t.Errorf("%d requests, want %d", n, maxListPages)
	}
}

func TestGetAndDeleteMethod(t *testing.T) {
	const id = "ab+/c=1"
	const wantURI = "/v1.0/users/" + testUPNPath + "/authentication/fido2Methods/ab%2B%2Fc%3D1"
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI != wantURI {
			t.Errorf("URI = %s, want %s", r.RequestURI, wantURI)
		}
		switch r.Method {
		case http.MethodGet:
			writeRaw(w, http.StatusOK, sampleMethod)
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	c := f.client(t)
	m, err := c.GetMethod(context.Background(), testUPN, id)
	if err != nil || m.ID != "Y3JlZC1pZA2" {
		t.Fatalf("GetMethod = %+v, %v", m, err)
	}
	if err := c.DeleteMethod(context.Background(), testUPN, id); err != nil {
		t.Fatalf("DeleteMethod: %v", err)
	}
}

func TestDeleteMethodNotFound(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid-404")
		writeRaw(w, http.StatusNotFound, `{"error":{"code":"itemNotFound","message":"gone"}}`)
	})
	err := f.client(t).DeleteMethod(context.Background(), testUPN, "abc")
	if !passkeyd.IsGraphNotFound(err) {
		t.Fatalf("err = %v, want a Graph 404", err)
	}
	ge := mustGraphError(t, err)
	if ge.Op != "delete" || ge.Code != "itemNotFound" || ge.RequestID != "rid-404" || ge.Temporary() {
		t.Errorf("GraphError = %+v", ge)
	}
}

func TestCheckMethodIDAccepts(t *testing.T) {
	for _, id := range []string{"A", "a-_", "+/=", "09", "Y3JlZC1pZA2", strings.Repeat("A", maxMethodIDLength)} {
		if err := checkMethodID("get", id); err != nil {
			t.Errorf("checkMethodID(%q) = %v, want nil", id, err)
		}
	}
}

func TestCreateMethodUnreadableResponseIsUnknownOutcome(t *testing.T) {
	for _, body := range []string{`{"displayName":"no id"}`, `not json`} {
		f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("request-id", "rid-c")
			writeRaw(w, http.StatusCreated, body)
		})
		_, err := f.client(t).CreateMethod(context.Background(), testUPN, validCreateRequest())
		ge := mustGraphError(t, err)
		if !ge.Sent || ge.Status != 0 || ge.RequestID != "rid-c" || !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("body %q: GraphError = %+v, want an unknown create outcome", body, ge)
		}
	}
}
