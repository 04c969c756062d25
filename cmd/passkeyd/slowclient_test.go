package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestSlowClientsAreCut: a client that never finishes its headers, or
// trickles its body, is disconnected by the server's timeouts instead of
// holding a connection forever (slowloris). The timeouts are shortened for
// the test; production uses 10 s for headers and 30 s for the request.
func TestSlowClientsAreCut(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Dev = t.TempDir(), "127.0.0.1:0", true
	cfg.bootstrapToken = string(newDemoToken())
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop(ctx) })
	if a.http.ReadHeaderTimeout <= 0 || a.http.ReadTimeout <= 0 {
		t.Fatalf("the server has no header or read timeout: %+v", a.http)
	}
	a.http.ReadHeaderTimeout, a.http.ReadTimeout = 300*time.Millisecond, 600*time.Millisecond
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := a.ln.Addr().String()
	for _, tc := range []struct{ name, send string }{
		{"headers never finished", "GET /healthz HTTP/1.1\r\nHost: passkeyd\r\nX-Slow: "},
		{"body trickled", "POST /api/v1/device/register HTTP/1.1\r\nHost: passkeyd\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"code\":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			// The server must close the connection: read until EOF. The
			// deadline only keeps a broken server from hanging the test.
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.ReadAll(conn)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server kept the slow connection open")
			}
		})
	}
}
