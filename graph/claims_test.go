package graph

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
)

func jwtWith(payload string) string {
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
}

func TestDecodeTokenClaims(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		want    Claims
		wantErr bool
	}{
		{"v1 token from the fake", testToken(1), Claims{TenantID: testTenant, AppID: testClientID,
			Audience: []string{"https://graph.microsoft.com"}, Roles: []string{"UserAuthMethod-Passkey.ReadWrite.All"},
			ExpiresAt: time.Unix(1900000000, 0).UTC()}, false},
		{"no roles: consent missing, aud list, azp", jwtWith(`{"tid":"t","azp":"app","aud":["a","b"],"exp":1.9e9,"iss":"https://sts"}`),
			Claims{TenantID: "t", AppID: "app", Audience: []string{"a", "b"}, ExpiresAt: time.Unix(1900000000, 0).UTC(), Issuer: "https://sts"}, false},
		{"two parts", "a.b", Claims{}, true},
		{"payload not base64", "a.!!.c", Claims{}, true},
		{"payload not JSON", jwtWith("nope"), Claims{}, true},
		{"aud wrong type", jwtWith(`{"aud":5}`), Claims{}, true},
		{"exp wrong type", jwtWith(`{"exp":"soon"}`), Claims{}, true},
		{"too long", jwtWith(`{"x":"` + strings.Repeat("a", maxTokenLength) + `"}`), Claims{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTokenClaims(tt.token)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("DecodeTokenClaims = %+v, want an error", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeTokenClaims = %+v, %v\nwant               %+v", got, err, tt.want)
			}
		})
	}
	if c, _ := DecodeTokenClaims(testToken(1)); !c.HasRole("UserAuthMethod-Passkey.ReadWrite.All") || c.HasRole("x") {
		t.Error("HasRole")
	}
}
