package graph

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestMethodIDsKeptVerbatim: method IDs are opaque keys. Whatever
// encoding Graph uses for them, passkeyd must hand back exactly the ID it
// was given (never a "normalised" base64url form, which Graph would not
// know) and send it path-escaped on GET and DELETE.
func TestMethodIDsKeptVerbatim(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		escaped string // the path segment on the wire
	}{
		{"base64url", "Y3JlZC1pZC1fLQ", "Y3JlZC1pZC1fLQ"},
		{"padded base64url", "Y3JlZC1pZA==", "Y3JlZC1pZA%3D%3D"},
		{"standard alphabet, padded", "ab+/cw==", "ab%2B%2Fcw%3D%3D"},
		{"standard alphabet, unpadded", "+/8", "%2B%2F8"},
		{".NET padding digit", "Y3JlZC1pZA2", "Y3JlZC1pZA2"},
		{".NET padding digit 1", "Y3JlZC1pZDE1", "Y3JlZC1pZDE1"},
		{"padding digit 0", "AQID0", "AQID0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const base = "/v1.0/users/" + testUserID + "/authentication/fido2Methods"
			method := `{"id":"` + tt.id + `","displayName":"key"}`
			var gotURIs []string
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodPost && r.RequestURI == base:
					writeRaw(w, http.StatusCreated, method)
				case r.Method == http.MethodGet && r.RequestURI == base:
					writeRaw(w, http.StatusOK, `{"value":[`+method+`]}`)
				case r.Method == http.MethodGet || r.Method == http.MethodDelete:
					gotURIs = append(gotURIs, r.Method+" "+r.RequestURI)
					// The server sees exactly the ID once unescaped.
					if seg := strings.TrimPrefix(r.URL.Path, base+"/"); seg != tt.id {
						t.Errorf("%s: server decoded ID %q, want %q", r.Method, seg, tt.id)
					}
					if r.Method == http.MethodDelete {
						w.WriteHeader(http.StatusNoContent)
						return
					}
					writeRaw(w, http.StatusOK, method)
				default:
					t.Errorf("unexpected %s %s", r.Method, r.RequestURI)
				}
			})
			c := f.client(t)
			ctx := context.Background()

			created, err := c.CreateMethod(ctx, testUserID, validCreateRequest())
			if err != nil || created.ID != tt.id {
				t.Fatalf("CreateMethod ID = %v, %v; want %q", created, err, tt.id)
			}
			listed, err := c.ListMethods(ctx, testUserID)
			if err != nil || len(listed) != 1 || listed[0].ID != tt.id {
				t.Fatalf("ListMethods = %+v, %v; want ID %q", listed, err, tt.id)
			}
			got, err := c.GetMethod(ctx, testUserID, listed[0].ID)
			if err != nil || got.ID != tt.id {
				t.Fatalf("GetMethod = %+v, %v; want ID %q", got, err, tt.id)
			}
			if err := c.DeleteMethod(ctx, testUserID, listed[0].ID); err != nil {
				t.Fatalf("DeleteMethod: %v", err)
			}
			want := []string{"GET " + base + "/" + tt.escaped, "DELETE " + base + "/" + tt.escaped}
			if strings.Join(gotURIs, "\n") != strings.Join(want, "\n") {
				t.Errorf("requests =\n%s\nwant\n%s", strings.Join(gotURIs, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
