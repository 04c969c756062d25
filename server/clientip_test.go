package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, peer, xff, want string
	}{
		{"untrusted peer, spoofed header ignored", "203.0.113.9:5555", "1.2.3.4", "203.0.113.9"},
		{"trusted proxy, client from the header", "10.1.2.3:443", "198.51.100.7", "198.51.100.7"},
		{"chain of trusted proxies", "10.1.2.3:443", "198.51.100.7, 10.9.9.9", "198.51.100.7"},
		{"spoofed left-most entry is not believed", "10.1.2.3:443", "6.6.6.6, 198.51.100.7", "198.51.100.7"},
		{"garbled hop stops the walk", "10.1.2.3:443", "198.51.100.7, not-an-ip", "10.1.2.3"},
		{"trusted proxy, no header", "10.1.2.3:443", "", "10.1.2.3"},
		{"IPv6 proxy", "[::1]:443", "2001:db8::5", "2001:db8::5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/healthz", nil)
			r.RemoteAddr = tt.peer
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := clientIP(r, proxies); got != tt.want {
				t.Errorf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
	// With no trusted proxies the header never counts.
	r := httptest.NewRequest("GET", "/healthz", nil)
	r.RemoteAddr, r.Header["X-Forwarded-For"] = "10.1.2.3:1", []string{"198.51.100.7"}
	if got := clientIP(r, nil); got != "10.1.2.3" {
		t.Errorf("clientIP with no trusted proxies = %s", got)
	}
}
