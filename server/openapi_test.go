package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/servertest"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIDocument())
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid31(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %q used by %s and %s", op.OperationID, other, where)
			}
			ids[op.OperationID] = where
			if len(op.Tags) != 1 || !slices.Contains([]string{"admin", "device", "operations"}, op.Tags[0]) {
				t.Errorf("%s: tags %v, want exactly one of admin, device, operations", where, op.Tags)
			}
			if op.Security == nil {
				t.Errorf("%s: security is not stated (use [] for a public route)", where)
			}
		}
	}
}

// TestOpenAPISchemasCompileAsJSONSchema2020 compiles every component
// schema with an independent JSON Schema 2020-12 implementation, so that
// the document is not only what kin-openapi accepts.
func TestOpenAPISchemasCompileAsJSONSchema2020(t *testing.T) {
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(OpenAPIDocument()))
	if err != nil {
		t.Fatalf("parsing: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", raw); err != nil {
		t.Fatalf("AddResource: %v", err)
	}
	schemas := raw.(map[string]any)["components"].(map[string]any)["schemas"].(map[string]any)
	if len(schemas) < 40 {
		t.Fatalf("only %d component schemas", len(schemas))
	}
	for name := range schemas {
		if _, err := c.Compile("openapi.json#/components/schemas/" + name); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
}

// TestOpenAPISecretsAndRequestBodies checks the document's promises about
// inputs: secrets sent by clients are writeOnly, and every request body
// is closed (the server refuses unknown fields).
func TestOpenAPISecretsAndRequestBodies(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := doc.Components.Schemas
	writeOnly := map[string][]string{
		"ConnectorUpdate":   {"client_secret"},
		"CertificateUpload": {"private_key_pem", "pkcs12", "password"},
		"RegisterDevice":    {"code"},
	}
	for name, props := range writeOnly {
		for _, p := range props {
			ref := schemas[name].Value.Properties[p]
			if ref == nil || !ref.Value.WriteOnly {
				t.Errorf("%s.%s is not writeOnly", name, p)
			}
		}
	}
	// No response may contain a field a client could mistake for a
	// stored secret it can read back.
	for _, name := range []string{"Connector", "CertificateReport", "APIToken", "Invitation", "Device"} {
		for p := range schemas[name].Value.Properties {
			if slices.Contains([]string{"client_secret", "private_key_pem", "password", "pkcs12", "hash", "token_hash", "code_hash"}, p) {
				t.Errorf("response schema %s exposes %s", name, p)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				t.Errorf("%s %s: request body is not application/json", method, path)
				continue
			}
			ap := mt.Schema.Value.AdditionalProperties
			if ap.Has == nil || *ap.Has {
				t.Errorf("%s %s: request body schema allows unknown fields", method, path)
			}
		}
	}
}

// docRoutes returns the documented operations as ServeMux patterns with
// their security scheme ("" for none).
func docRoutes(doc *openapi3.T) map[string]string {
	out := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			scheme := ""
			if op.Security != nil && len(*op.Security) > 0 {
				for name := range (*op.Security)[0] {
					scheme = name
				}
			}
			out[method+" "+path] = scheme
		}
	}
	return out
}

// TestOpenAPIMatchesRouter walks the router: every registered route is a
// documented operation with the right security and roles, and every
// documented operation is a registered route.
func TestOpenAPIMatchesRouter(t *testing.T) {
	doc := loadOpenAPI(t)
	s, _ := newServer(t, newFake(), nil)
	documented := docRoutes(doc)
	wantScheme := map[Auth]string{AuthAdmin: "apiToken", AuthDevice: "deviceToken", AuthNone: ""}
	registered := map[string]bool{}
	for _, r := range s.Routes() {
		registered[r.Pattern] = true
		scheme, ok := documented[r.Pattern]
		if !ok {
			t.Errorf("route %q is not documented", r.Pattern)
			continue
		}
		if scheme != wantScheme[r.Auth] {
			t.Errorf("route %q (auth %s) is documented with security %q, want %q", r.Pattern, r.Auth, scheme, wantScheme[r.Auth])
		}
		if r.Auth == AuthAdmin {
			method, path, _ := strings.Cut(r.Pattern, " ")
			op := doc.Paths.Find(path).GetOperation(method)
			var roles []string
			for _, role := range r.Roles {
				roles = append(roles, string(role))
			}
			want := "Roles: " + strings.Join(roles, ", ") + "."
			if !strings.Contains(op.Description, want) {
				t.Errorf("route %q: description %q does not say %q", r.Pattern, op.Description, want)
			}
		}
	}
	for pattern := range documented {
		if !registered[pattern] {
			t.Errorf("documented operation %q is not a registered route", pattern)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	s, _ := newServer(t, newFake(), nil)
	w := do(t, s, req{method: "GET", path: "/api/v1/openapi.json"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
	if !bytes.Equal(w.Body.Bytes(), OpenAPIDocument()) {
		t.Error("served document differs from the embedded one")
	}
}

// strictResponses closes every component object schema that lists its
// properties, so that a handler sending an undocumented field fails the
// response tests. The published document stays open for additions.
func strictResponses(doc *openapi3.T) {
	no := false
	for _, ref := range doc.Components.Schemas {
		v := ref.Value
		if v.Type.Is("object") && len(v.Properties) > 0 && v.AdditionalProperties.Has == nil && v.AdditionalProperties.Schema == nil {
			v.AdditionalProperties.Has = &no
		}
	}
}

// specRouter finds the documented operation of a request the way the
// server's mux does.
type specRouter struct {
	doc *openapi3.T
	mux *http.ServeMux
}

func newSpecRouter(doc *openapi3.T) *specRouter {
	mux := http.NewServeMux()
	for pattern := range docRoutes(doc) {
		mux.Handle(pattern, http.NotFoundHandler())
	}
	return &specRouter{doc: doc, mux: mux}
}

// find returns the route of r and its path parameters.
func (sr *specRouter) find(t *testing.T, r *http.Request) (*routers.Route, map[string]string) {
	t.Helper()
	_, pattern := sr.mux.Handler(r)
	if pattern == "" {
		t.Fatalf("%s %s matches no documented operation", r.Method, r.URL.Path)
	}
	method, path, _ := strings.Cut(pattern, " ")
	item := sr.doc.Paths.Find(path)
	params := map[string]string{}
	// The ServeMux pattern and the OpenAPI template share {name}
	// syntax; pick the values out segment by segment.
	tmpl, got := strings.Split(path, "/"), strings.Split(r.URL.Path, "/")
	for i, seg := range tmpl {
		if strings.HasPrefix(seg, "{") && i < len(got) {
			params[strings.Trim(seg, "{}")] = got[i]
		}
	}
	return &routers.Route{Spec: sr.doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)}, params
}

// oaCase is one call of the API whose exchange must match the document.
type oaCase struct {
	name         string
	method, path string
	token        string
	body         string
	edit         func(*servertest.Service)
	ready        func(context.Context) error
	want         int
}

// TestOpenAPIResponsesMatchHandlers calls every route through the real
// handler with realistic service values, and validates requests and
// responses against the document, problems included.
func TestOpenAPIResponsesMatchHandlers(t *testing.T) {
	doc := loadOpenAPI(t)
	strictResponses(doc)
	router := newSpecRouter(doc)
	admin, auditor := roleTokens()[passkeyd.RoleAdmin], roleTokens()[passkeyd.RoleAuditor]
	conn := "/api/v1/connectors/default"
	certBody := `{"certificate_pem":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","private_key_pem":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}`
	cred := `{"enrollment_id":"` + enrollID + `","credential":{"id":"AQIDBA","client_data_json":"eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0","attestation_object":"o2NmbXRkbm9uZQ","client_extension_results":{"credProps":{"rk":true}}}}`
	cases := []oaCase{
		{name: "get connector", method: "GET", path: conn, token: auditor, want: 200},
		{name: "put connector", method: "PUT", path: conn, token: admin, want: 200,
			body: `{"enabled":true,"cloud":"custom","authority_host":"https://login.emu.test","graph_url":"https://graph.emu.test","tenant_id":"contoso.onmicrosoft.com","client_id":"` + tokenID + `","client_secret":"s3cr3t-value","client_secret_expires_at":"2026-11-25T10:00:00Z","challenge_timeout_minutes":60,"display_name_template":"passkeyd {device}","credential_type":"certificate","client_certificate":` + certBody + `,"assertion_format":"ps256"}`},
		{name: "test connector", method: "POST", path: conn + "/test", token: admin, body: `{"user":"alice@contoso.com"}`, want: 200},
		{name: "test connector without body", method: "POST", path: conn + "/test", token: admin, want: 200},
		{name: "validate certificate", method: "POST", path: conn + "/validate-certificate", token: admin, body: certBody, want: 200},
		{name: "validate pkcs12", method: "POST", path: conn + "/validate-certificate", token: admin, body: `{"pkcs12":"MIIKAgEDMIIJ","password":"pw"}`, want: 200},
		{name: "list policies", method: "GET", path: "/api/v1/policies", token: auditor, want: 200},
		{name: "get policy", method: "GET", path: "/api/v1/policies/" + policyGUID, token: auditor, want: 200},
		{name: "put policy", method: "PUT", path: "/api/v1/policies/default", token: admin, body: `{"name":"Default","entra_passkey":"required","max_passkeys_per_user":2}`, want: 200},
		{name: "list users", method: "GET", path: "/api/v1/users?query=alice&limit=1", token: auditor, want: 200},
		{name: "create user", method: "POST", path: "/api/v1/users", token: admin, body: `{"upn":"bob@contoso.com","display_name":"Bob Jones","policy_id":"` + policyGUID + `","entra_object_id":"` + userID + `"}`, want: 201},
		{name: "get user", method: "GET", path: "/api/v1/users/" + userID, token: auditor, want: 200},
		{name: "create invitation with QR", method: "POST", path: "/api/v1/users/" + userID + "/invitations?qr=1", token: admin, body: `{"ttl_seconds":3600}`, want: 201},
		{name: "create invitation without body", method: "POST", path: "/api/v1/users/" + userID + "/invitations", token: admin, want: 201},
		{name: "list devices", method: "GET", path: "/api/v1/devices?user_id=" + userID + "&state=active&limit=1", token: auditor, want: 200},
		{name: "get device", method: "GET", path: "/api/v1/devices/" + deviceID, token: auditor, want: 200},
		{name: "remove device", method: "DELETE", path: "/api/v1/devices/" + deviceID, token: admin, want: 202},
		{name: "offboard user", method: "POST", path: "/api/v1/users/" + userID + "/offboard", token: admin, want: 202},
		{name: "list passkeys", method: "GET", path: "/api/v1/passkeys?device_id=" + deviceID + "&state=active&aaguid=" + aaguid, token: auditor, want: 200},
		{name: "get passkey", method: "GET", path: "/api/v1/passkeys/" + passkeyID, token: auditor, want: 200},
		{name: "revoke passkey", method: "POST", path: "/api/v1/passkeys/" + passkeyID + "/revoke", token: admin, want: 202},
		{name: "bulk revoke", method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{"user_id":"` + userID + `","device_id":"` + deviceID + `","aaguid":"` + strings.ToUpper(aaguid) + `"}`, want: 202},
		{name: "bulk revoke by model", method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{"aaguid":"` + aaguid + `"}`, want: 202},
		{name: "reconcile user", method: "POST", path: "/api/v1/reconcile", token: admin, body: `{"user_id":"` + userID + `"}`, want: 200},
		{name: "reconcile all without body", method: "POST", path: "/api/v1/reconcile", token: admin, want: 200},
		{name: "reconcile without drift", method: "POST", path: "/api/v1/reconcile", token: admin, body: `{}`, want: 200, edit: func(f *servertest.Service) {
			f.ReconcileFn = func(context.Context, string) (*passkeyd.DriftReport, error) {
				return &passkeyd.DriftReport{StartedAt: testNow, FinishedAt: testNow, Users: 0}, nil
			}
		}},
		{name: "create policy", method: "POST", path: "/api/v1/policies", token: admin, want: 201,
			body: `{"name":"Finance","entra_passkey":"required","max_passkeys_per_user":1}`},
		{name: "create policy bad mode", method: "POST", path: "/api/v1/policies", token: admin, want: 400,
			body: `{"name":"Finance","entra_passkey":"sometimes","max_passkeys_per_user":1}`},
		{name: "update user", method: "PUT", path: "/api/v1/users/" + userID, token: admin, want: 200,
			body: `{"display_name":"Bob","policy_id":"7f1c4a0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"}`},
		{name: "update user bad policy", method: "PUT", path: "/api/v1/users/" + userID, token: admin, want: 400,
			body: `{"display_name":"Bob","policy_id":"../tokens"}`},
		{name: "list audit", method: "GET", path: "/api/v1/audit?after_seq=6&action=device.removed&target_type=device&target_id=" + deviceID + "&limit=1", token: auditor, want: 200},
		{name: "verify audit", method: "GET", path: "/api/v1/audit/verify", token: auditor, want: 200},
		{name: "verify broken audit", method: "GET", path: "/api/v1/audit/verify", token: auditor, want: 200, edit: func(f *servertest.Service) {
			f.VerifyAuditFn = func(context.Context) (*passkeyd.AuditReport, error) {
				return &passkeyd.AuditReport{OK: false, Events: 9, FirstBadSeq: 4, Problem: "hash mismatch", LastHash: strings.Repeat("ab", 32)}, nil
			}
		}},
		{name: "list tokens", method: "GET", path: "/api/v1/tokens", token: auditor, want: 200},
		{name: "create token", method: "POST", path: "/api/v1/tokens", token: admin, body: `{"name":"ci","role":"auditor","ttl_seconds":3600}`, want: 201},
		{name: "delete token", method: "DELETE", path: "/api/v1/tokens/" + tokenID, token: admin, want: 204},
		{name: "register device", method: "POST", path: "/api/v1/device/register", body: `{"code":"KVJH-VWP4-CJFF","name":"Alice's iPhone","platform":"ios","model":"iPhone 15"}`, want: 201},
		{name: "device status", method: "GET", path: "/api/v1/device/status", token: deviceToken, want: 200},
		{name: "begin enrollment", method: "POST", path: "/api/v1/device/passkeys/options", token: deviceToken, want: 201},
		{name: "finish enrollment", method: "POST", path: "/api/v1/device/passkeys", token: deviceToken, body: cred, want: 201},
		{name: "skip enrollment", method: "POST", path: "/api/v1/device/passkeys/skip", token: deviceToken, want: 204},
		{name: "unregister device", method: "DELETE", path: "/api/v1/device", token: deviceToken, want: 202},
		{name: "healthz", method: "GET", path: "/healthz", want: 200},
		{name: "readyz", method: "GET", path: "/readyz", want: 200},
		{name: "openapi", method: "GET", path: "/api/v1/openapi.json", want: 200},

		// Problems.
		{name: "400 bad query", method: "GET", path: "/api/v1/devices?state=gone&foo=1", token: auditor, want: 400},
		{name: "400 bad path id", method: "GET", path: "/api/v1/passkeys/not-a-guid", token: auditor, want: 400},
		{name: "400 bad field", method: "POST", path: "/api/v1/users/" + userID + "/invitations", token: admin, body: `{"ttl_seconds":5}`, want: 400},
		{name: "400 revoke bad path id", method: "POST", path: "/api/v1/passkeys/not-a-guid/revoke", token: admin, want: 400},
		{name: "400 bulk revoke without filter", method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{}`, want: 400},
		{name: "400 reconcile bad user", method: "POST", path: "/api/v1/reconcile", token: admin, body: `{"user_id":"alice"}`, want: 400},
		{name: "401 no token", method: "GET", path: "/api/v1/users", want: 401},
		{name: "401 unknown device token", method: "GET", path: "/api/v1/device/status", token: "not-a-device-token", want: 401},
		{name: "403 wrong role", method: "POST", path: "/api/v1/tokens", token: auditor, body: `{"name":"ci","role":"admin"}`, want: 403},
		{name: "404 other connector", method: "GET", path: "/api/v1/connectors/other", token: auditor, want: 404},
		{name: "404 no such device", method: "GET", path: "/api/v1/devices/" + deviceID, token: auditor, want: 404, edit: func(f *servertest.Service) {
			f.DeviceFn = func(context.Context, string) (*passkeyd.Device, error) {
				return nil, passkeyd.Errorf(passkeyd.ENotFound, "device not found")
			}
		}},
		{name: "404 revoke no such passkey", method: "POST", path: "/api/v1/passkeys/" + passkeyID + "/revoke", token: admin, want: 404, edit: func(f *servertest.Service) {
			f.RequestRevocationFn = func(context.Context, string) (*passkeyd.Passkey, error) {
				return nil, passkeyd.Errorf(passkeyd.ENotFound, "passkey not found")
			}
		}},
		{name: "404 reconcile no such user", method: "POST", path: "/api/v1/reconcile", token: admin, body: `{"user_id":"` + userID + `"}`, want: 404, edit: func(f *servertest.Service) {
			f.ReconcileFn = func(context.Context, string) (*passkeyd.DriftReport, error) {
				return nil, passkeyd.Errorf(passkeyd.ENotFound, "user not found")
			}
		}},
		{name: "409 revoke revoked passkey", method: "POST", path: "/api/v1/passkeys/" + passkeyID + "/revoke", token: admin, want: 409, edit: func(f *servertest.Service) {
			f.RequestRevocationFn = func(context.Context, string) (*passkeyd.Passkey, error) {
				return nil, passkeyd.Errorf(passkeyd.EConflict, "the passkey is revoked: only active or revoke_failed passkeys can be revoked")
			}
		}},
		{name: "409 skip required", method: "POST", path: "/api/v1/device/passkeys/skip", token: deviceToken, want: 409, edit: func(f *servertest.Service) {
			f.SkipEnrollmentFn = func(context.Context, string) error {
				return passkeyd.Errorf(passkeyd.EConflict, `the policy is "required": only an optional passkey may be skipped`)
			}
		}},
		{name: "410 used code", method: "POST", path: "/api/v1/device/register", body: `{"code":"KVJH-VWP4-CJFF","name":"phone"}`, want: 410, edit: func(f *servertest.Service) {
			f.RegisterDeviceFn = func(context.Context, passkeyd.Secret, passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
				return nil, "", passkeyd.Errorf(passkeyd.EGone, "the invitation code was already used")
			}
		}},
		{name: "415 wrong content type", method: "POST", path: "/api/v1/users", token: admin, body: `upn=bob`, want: 415},
		{name: "429 throttled", method: "POST", path: "/api/v1/device/passkeys/options", token: deviceToken, want: 429, edit: func(f *servertest.Service) {
			f.BeginEnrollmentFn = func(context.Context, string) (*passkeyd.EnrollmentOptions, error) {
				return nil, passkeyd.Errorf(passkeyd.ERateLimited, "Entra is throttling requests")
			}
		}},
		{name: "500 internal", method: "GET", path: "/api/v1/policies", token: auditor, want: 500, edit: func(f *servertest.Service) {
			f.PoliciesFn = func(context.Context) ([]passkeyd.Policy, error) { return nil, errors.New("database is locked") }
		}},
		{name: "503 reconcile connector disabled", method: "POST", path: "/api/v1/reconcile", token: admin, want: 503, edit: func(f *servertest.Service) {
			f.ReconcileFn = func(context.Context, string) (*passkeyd.DriftReport, error) {
				return nil, passkeyd.Errorf(passkeyd.EUnavailable, "the Entra connector is disabled")
			}
		}},
		{name: "503 not ready", method: "GET", path: "/readyz", want: 503, ready: func(context.Context) error { return errors.New("database down") }},
		{name: "metrics", method: "GET", path: "/metrics", want: 200},
		{name: "export audit", method: "GET", path: "/api/v1/audit/export?after_seq=2", token: auditor, want: 200},
		{name: "export audit bad cursor", method: "GET", path: "/api/v1/audit/export?after_seq=-1", token: auditor, want: 400},
	}
	// JSON lines are text to the validator: the schema says "string".
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
	succeeded := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := realisticFake()
			if tc.edit != nil {
				tc.edit(fake)
			}
			s, _ := newServer(t, fake, func(c *Config) {
				c.Ready = tc.ready
				c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "text/plain; version=0.0.4")
					_, _ = w.Write([]byte("passkeyd_up 1\n"))
				})
			})
			rq := req{method: tc.method, path: tc.path, token: tc.token, body: tc.body}
			if tc.want == http.StatusUnsupportedMediaType {
				rq.contentType = "application/x-www-form-urlencoded"
			}
			w := do(t, s, rq)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			in := requestInput(t, router, rq)
			if w.Code < 300 {
				succeeded[in.Route.Method+" "+in.Route.Path] = true
				// What the client sent was accepted by the server, so
				// the document must accept it too.
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("the accepted request does not match the document: %v", err)
				}
			}
			if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 w.Code,
				Header:                 w.Header(),
				Body:                   io.NopCloser(bytes.NewReader(w.Body.Bytes())),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			}); err != nil {
				t.Errorf("the response does not match the document: %v\nbody: %s", err, w.Body)
			}
		})
	}
	s, _ := newServer(t, newFake(), nil)
	var missed []string
	for _, r := range s.Routes() {
		if !succeeded[r.Pattern] {
			missed = append(missed, r.Pattern)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("no successful call checked the response of: %s", strings.Join(missed, ", "))
	}
}

// requestInput builds the validation input of rq.
func requestInput(t *testing.T, router *specRouter, rq req) *openapi3filter.RequestValidationInput {
	t.Helper()
	var body io.Reader = http.NoBody
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.body != "" {
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if rq.token != "" {
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	route, params := router.find(t, r)
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
}

// TestOpenAPIRejectsWhatTheServerRejects checks request bodies the server
// refuses for their shape: the document must refuse them too, so that a
// client validating against it learns of the mistake before sending.
func TestOpenAPIRejectsWhatTheServerRejects(t *testing.T) {
	doc := loadOpenAPI(t)
	router := newSpecRouter(doc)
	admin := roleTokens()[passkeyd.RoleAdmin]
	tests := []struct {
		name         string
		method, path string
		body         string
	}{
		{"unknown field", "POST", "/api/v1/users", `{"upn":"bob@contoso.com","admin":true}`},
		{"wrong type", "POST", "/api/v1/tokens", `{"name":"ci","role":"auditor","ttl_seconds":"1h"}`},
		{"bad role", "POST", "/api/v1/tokens", `{"name":"ci","role":"root"}`},
		{"ttl too short", "POST", "/api/v1/users/" + userID + "/invitations", `{"ttl_seconds":59}`},
		{"bad policy mode", "PUT", "/api/v1/policies/default", `{"name":"Default","entra_passkey":"always"}`},
		{"padded base64", "POST", "/api/v1/device/passkeys", `{"enrollment_id":"` + enrollID + `","credential":{"id":"AQIDBA==","client_data_json":"e30","attestation_object":"o2M"}}`},
		{"unknown certificate field", "POST", "/api/v1/connectors/default/validate-certificate", `{"pfx":"MIIK"}`},
		{"missing code", "POST", "/api/v1/device/register", `{"name":"phone"}`},
		{"bulk revoke without filter", "POST", "/api/v1/passkeys:revoke", `{}`},
		{"bulk revoke bad aaguid", "POST", "/api/v1/passkeys:revoke", `{"aaguid":"yubikey-5"}`},
		{"bulk revoke unknown filter", "POST", "/api/v1/passkeys:revoke", `{"user_id":"` + userID + `","state":"active"}`},
		{"reconcile bad user", "POST", "/api/v1/reconcile", `{"user_id":"alice@contoso.com"}`},
		{"reconcile unknown field", "POST", "/api/v1/reconcile", `{"upn":"alice@contoso.com"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := admin
			if strings.HasPrefix(tt.path, "/api/v1/device/") {
				token = deviceToken
			}
			rq := req{method: tt.method, path: tt.path, token: token, body: tt.body}
			s, _ := newServer(t, realisticFake(), nil)
			if w := do(t, s, rq); w.Code != http.StatusBadRequest {
				t.Fatalf("server answered %d, want 400: %s", w.Code, w.Body)
			}
			if err := openapi3filter.ValidateRequest(context.Background(), requestInput(t, router, rq)); err == nil {
				t.Error("the document accepts a body the server refuses")
			}
		})
	}
}

// aaguid is the AAGUID of the test authenticator model.
const aaguid = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"

// realisticFake returns the test fake with every field the manager fills
// in set to a plausible value, so that the responses exercise the whole
// schemas, optional fields included.
func realisticFake() *servertest.Service {
	f := newFake()
	at := func(d time.Duration) *time.Time { t := testNow.Add(d); return &t }
	created, updated := testNow.Add(-48*time.Hour), testNow.Add(-time.Hour)
	pol := passkeyd.Policy{ID: policyGUID, Name: "Engineering", EntraPasskey: passkeyd.PolicyRequired, MaxPasskeysPerUser: 2, CreatedAt: created, UpdatedAt: updated}
	user := passkeyd.User{ID: userID, UPN: "alice@contoso.com", EntraObjectID: "77777777-7777-4777-8777-777777777777", DisplayName: "Alice Smith", PolicyID: policyGUID, CreatedAt: created, UpdatedAt: updated}
	dev := passkeyd.Device{ID: deviceID, UserID: userID, Name: "Alice's iPhone", Platform: "ios", Model: "iPhone 15", State: passkeyd.DeviceActive, CreatedAt: created, UpdatedAt: updated, EnrollmentSkippedAt: at(-2 * time.Hour)}
	pk := passkeyd.Passkey{
		ID: passkeyID, UserID: userID, DeviceID: deviceID, EnrollmentID: enrollID,
		GraphMethodID: "bG9uZy1ncmFwaC1tZXRob2QtaWQ", CredentialID: "AQIDBA", AAGUID: aaguid,
		DisplayName: "passkeyd Alice's iPhone", AttestationLevel: "notAttested", PasskeyType: "deviceBound",
		State: passkeyd.PasskeyActive, CreatedAt: created, UpdatedAt: updated,
	}
	revoked := pk
	revoked.ID, revoked.State, revoked.LastError, revoked.RevokedAt = "88888888-8888-4888-8888-888888888888", passkeyd.PasskeyRevoked, "deleted in Entra", at(-time.Hour)
	cert := &passkeyd.CertificateReport{
		Valid: true, Subject: "CN=passkeyd", Issuer: "CN=passkeyd", SerialNumber: "01ab",
		NotBefore: testNow.Add(-24 * time.Hour), NotAfter: testNow.Add(365 * 24 * time.Hour),
		KeyType: "EC", KeySize: 256, Curve: "P-256",
		ThumbprintSHA1: strings.Repeat("AB", 20), ThumbprintSHA256: strings.Repeat("CD", 32),
		KeyMatches: true, SelfSigned: true, ChainLength: 1,
		Warnings: []string{"the certificate is self-signed"},
	}
	connector := &passkeyd.Connector{
		ID:                      passkeyd.ConnectorID,
		Enabled:                 true,
		HTTPDebug:               true,
		Cloud:                   passkeyd.CloudCustom,
		AuthorityHost:           "https://login.emu.test",
		GraphURL:                "https://graph.emu.test",
		CACertPEM:               "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		TenantID:                "contoso.onmicrosoft.com",
		ClientID:                tokenID,
		CredentialType:          passkeyd.CredentialCertificate,
		HasClientSecret:         true,
		ClientSecretHint:        "s3c",
		ClientSecretExpiresAt:   at(90 * 24 * time.Hour),
		CertificateChainPEM:     "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		Certificate:             cert,
		AssertionFormat:         passkeyd.AssertionPS256,
		HTTPDebugUntil:          at(time.Hour),
		ChallengeTimeoutMinutes: 60,
		DisplayNameTemplate:     passkeyd.DefaultDisplayNameTemplate,
		UpdatedAt:               updated,
		// Sealed values must never reach the wire (json:"-").
		SealedClientSecret:   []byte("sealed"),
		SealedCertificateKey: []byte("sealed key"),
	}
	token := passkeyd.APIToken{ID: tokenID, Name: "ci", Last8: "89abcdef", Role: passkeyd.RoleAuditor, ExpiresAt: at(24 * time.Hour), CreatedAt: created, Hash: []byte("hash")}
	event := passkeyd.AuditEvent{
		Seq: 7, Time: testNow, Actor: "token:" + tokenID, Action: "device.removed", TargetType: "device", TargetID: deviceID,
		Outcome: passkeyd.OutcomeSuccess, Reason: "lost", RequestID: "req-1", ClientRequestID: "99999999-9999-4999-8999-999999999999",
		Details: json.RawMessage(`{"passkeys":1}`), PrevHash: strings.Repeat("0", 64), Hash: strings.Repeat("f", 64),
	}

	f.ConnectorFn = func(context.Context) (*passkeyd.Connector, error) { c := *connector; return &c, nil }
	f.UpdateConnectorFn = func(context.Context, passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
		c := *connector
		return &c, nil
	}
	f.TestConnectionFn = func(context.Context, passkeyd.TestOptions) (*passkeyd.ConnectionReport, error) {
		return &passkeyd.ConnectionReport{OK: false, Steps: []passkeyd.ConnectionStep{
			{Name: "configuration", Status: passkeyd.StepOK, Detail: "complete"},
			{Name: "token", Status: passkeyd.StepFailed, Detail: "the client secret is wrong", Code: "AADSTS7000215"},
			{Name: "graph", Status: passkeyd.StepSkipped, Detail: "an earlier step failed"},
		}}, nil
	}
	f.ValidateCertificateFn = func(context.Context, passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error) {
		r := *cert
		r.Errors = []string{"the certificate expires in 10 days"}
		return &r, nil
	}
	f.PoliciesFn = func(context.Context) ([]passkeyd.Policy, error) { return []passkeyd.Policy{pol}, nil }
	f.PolicyFn = func(context.Context, string) (*passkeyd.Policy, error) { p := pol; return &p, nil }
	f.UpdatePolicyFn = func(_ context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
		p.CreatedAt, p.UpdatedAt = created, testNow
		return &p, []string{"the connector is disabled: required cannot be met"}, nil
	}
	f.UsersFn = func(context.Context, passkeyd.UserFilter) ([]passkeyd.User, error) { return []passkeyd.User{user}, nil }
	f.CreateUserFn = func(_ context.Context, u passkeyd.User) (*passkeyd.User, error) {
		u.ID, u.CreatedAt, u.UpdatedAt = userID, testNow, testNow
		return &u, nil
	}
	f.UserDetailFn = func(context.Context, string) (*passkeyd.UserDetail, error) {
		return &passkeyd.UserDetail{User: user, EffectivePolicy: pol, Devices: []passkeyd.Device{dev}, Passkeys: []passkeyd.Passkey{pk, revoked}}, nil
	}
	f.CreateInvitationFn = func(_ context.Context, uid string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
		return &passkeyd.Invitation{ID: enrollID, UserID: uid, ExpiresAt: testNow.Add(ttl), CreatedAt: testNow, CodeHash: []byte("h")}, "KVJH-VWP4-CJFF-1R9A-B1G2", nil
	}
	f.DevicesFn = func(context.Context, passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
		return []passkeyd.Device{dev}, nil
	}
	f.DeviceFn = func(context.Context, string) (*passkeyd.Device, error) { d := dev; return &d, nil }
	f.RemoveDeviceFn = func(context.Context, string) (*passkeyd.Device, []passkeyd.Passkey, error) {
		d := dev
		d.State, d.RemovedAt = passkeyd.DeviceRemoved, at(0)
		p := pk
		p.State = passkeyd.PasskeyRevoking
		return &d, []passkeyd.Passkey{p}, nil
	}
	f.PasskeysFn = func(context.Context, passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
		return []passkeyd.Passkey{pk, revoked}, nil
	}
	f.PasskeyFn = func(context.Context, string) (*passkeyd.Passkey, error) { p := revoked; return &p, nil }
	f.RequestRevocationFn = func(_ context.Context, id string) (*passkeyd.Passkey, error) {
		p := pk
		p.ID, p.State, p.LastError, p.UpdatedAt = id, passkeyd.PasskeyRevoking, "Graph answered 403: the app lacks UserAuthenticationMethod.ReadWrite.All", testNow
		return &p, nil
	}
	f.RevokePasskeysFn = func(context.Context, passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error) {
		return &passkeyd.BulkRevocation{Matched: 3, Queued: 2}, nil
	}
	f.ReconcileFn = func(context.Context, string) (*passkeyd.DriftReport, error) {
		return &passkeyd.DriftReport{
			StartedAt: testNow, FinishedAt: testNow.Add(2 * time.Second), Users: 2,
			Missing:   []passkeyd.DriftItem{{UserID: userID, UPN: user.UPN, PasskeyID: passkeyID, MethodID: pk.GraphMethodID}},
			Adopted:   []passkeyd.DriftItem{{UserID: userID, UPN: user.UPN, PasskeyID: revoked.ID, MethodID: "YWRvcHRlZC1tZXRob2Q"}},
			Unmanaged: []passkeyd.DriftItem{{UserID: userID, UPN: user.UPN, MethodID: "dW5tYW5hZ2VkLW1ldGhvZA", DisplayName: "YubiKey 5", AAGUID: aaguid, CreatedAt: created}},
			Errors:    []passkeyd.DriftError{{UserID: "99999999-9999-4999-8999-999999999999", UPN: "bob@contoso.com", Error: "Graph answered 404: the user does not exist in Entra"}},
		}, nil
	}
	f.AuditEventsFn = func(context.Context, passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
		return []passkeyd.AuditEvent{event}, nil
	}
	f.VerifyAuditFn = func(context.Context) (*passkeyd.AuditReport, error) {
		return &passkeyd.AuditReport{OK: true, Events: 7, LastHash: strings.Repeat("f", 64)}, nil
	}
	f.APITokensFn = func(context.Context) ([]passkeyd.APIToken, error) { return []passkeyd.APIToken{token}, nil }
	f.CreateAPITokenFn = func(_ context.Context, name string, role passkeyd.Role, ttl time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error) {
		tk := token
		tk.Name, tk.Role, tk.ExpiresAt = name, role, at(ttl)
		return &tk, "pkd_api_VTPJsecretvalue0123456789", nil
	}
	f.RegisterDeviceFn = func(_ context.Context, _ passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
		d := dev
		d.Name, d.Platform, d.Model, d.EnrollmentSkippedAt = info.Name, info.Platform, info.Model, nil
		return &d, "pkd_dev_9n_rsecretvalue0123456789", nil
	}
	f.DeviceStatusFn = func(context.Context, string) (*passkeyd.DeviceStatus, error) {
		return &passkeyd.DeviceStatus{Device: dev, Policy: passkeyd.PolicyRequired, Passkeys: []passkeyd.Passkey{pk}, NextStep: passkeyd.NextDone}, nil
	}
	f.BeginEnrollmentFn = func(context.Context, string) (*passkeyd.EnrollmentOptions, error) {
		pub := fmt.Sprintf(`{"rp":{"id":"login.microsoft.com","name":"Microsoft"},"user":{"id":"dXNlcg","name":%q,"displayName":"Alice Smith"},"challenge":"Y2hhbGxlbmdl","pubKeyCredParams":[{"type":"public-key","alg":-7}],"timeout":300000,"attestation":"direct"}`, user.UPN)
		return &passkeyd.EnrollmentOptions{EnrollmentID: enrollID, PublicKey: json.RawMessage(pub), ExpiresAt: testNow.Add(5 * time.Minute)}, nil
	}
	f.FinishEnrollmentFn = func(context.Context, string, string, passkeyd.Credential) (*passkeyd.Passkey, error) {
		p := pk
		return &p, nil
	}
	return f
}
