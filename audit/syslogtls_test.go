package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/audit"
)

// selfSigned returns a fixed Ed25519 certificate for 127.0.0.1.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "syslog test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestSyslogSinkTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		got <- readFramed(t, conn)
	}()

	evs := chain(t, 2)
	sink := &audit.SyslogSink{Network: audit.SyslogTLS, Addr: ln.Addr().String(), TLS: &tls.Config{RootCAs: pool}}
	if err := sink.Send(context.Background(), evs); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := <-got
	if len(msgs) != 2 || msgs[1] != string(sink.Format.Format(evs[1])) {
		t.Errorf("received %q, want the 2 messages", msgs)
	}

	// Without the test CA the handshake fails: the sink does not trust
	// blindly.
	untrusting := &audit.SyslogSink{Network: audit.SyslogTLS, Addr: ln.Addr().String()}
	go func() {
		if conn, err := ln.Accept(); err == nil {
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	if err := untrusting.Send(context.Background(), evs); err == nil {
		t.Error("Send to an untrusted certificate succeeded")
	}
}
