package audit

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Syslog transports.
const (
	SyslogUDP = "udp"     // one message per datagram (RFC 5426); lossy, no framing
	SyslogTCP = "tcp"     // octet-counting framing (RFC 6587 §3.4.1)
	SyslogTLS = "tcp+tls" // as tcp, inside TLS (RFC 5425)
)

// DefaultSyslogTimeout bounds one Send when the context has no deadline.
const DefaultSyslogTimeout = 30 * time.Second

// maxUDPMessage is the largest UDP payload over IPv4; a larger message
// cannot be sent as one datagram.
const maxUDPMessage = 65507

// SyslogSink sends audit events to a syslog collector as RFC 5424
// messages. Each Send opens one connection, writes the batch and closes
// it, so a collector restart between runs costs nothing. Over TCP and TLS
// a nil error means the collector's kernel accepted the bytes, not that
// the collector stored them; over UDP nothing is acknowledged at all, so
// prefer tcp+tls where loss matters.
type SyslogSink struct {
	// Network is SyslogUDP, SyslogTCP or SyslogTLS.
	Network string
	// Addr is host:port of the collector.
	Addr string
	// TLS configures SyslogTLS; nil means system roots, the server name
	// from Addr and at least TLS 1.2.
	TLS *tls.Config
	// Format sets facility, hostname and app-name.
	Format SyslogFormat
	// Timeout bounds a Send when ctx has no earlier deadline; 0 means
	// DefaultSyslogTimeout.
	Timeout time.Duration
	// Dial opens the plain connection (tests, proxies); nil uses
	// net.Dialer. TLS is layered on top for SyslogTLS.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Validate reports every problem of the sink's configuration at once.
func (s *SyslogSink) Validate() error {
	var fe passkeyd.FieldErrors
	switch s.Network {
	case SyslogUDP, SyslogTCP, SyslogTLS:
	default:
		fe.Add("network", `must be "udp", "tcp" or "tcp+tls"`)
	}
	if _, port, err := net.SplitHostPort(s.Addr); err != nil || port == "" {
		fe.Add("addr", "must be host:port")
	}
	if s.Format.Facility < 0 || s.Format.Facility > 23 {
		fe.Add("facility", "must be between 0 and 23")
	}
	if s.TLS != nil && s.Network != SyslogTLS {
		fe.Add("tls", `is only used with network "tcp+tls"`)
	}
	return fe.Err("invalid syslog sink")
}

// Send writes evs to the collector, in order. On error some events may
// have been delivered already; Ship sends the batch again and receivers
// deduplicate by seq.
func (s *SyslogSink) Send(ctx context.Context, evs []passkeyd.AuditEvent) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSyslogTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return passkeyd.WrapError(passkeyd.EUnavailable, err, "syslog collector %s unreachable", s.Addr)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return fmt.Errorf("audit: syslog %s: set deadline: %w", s.Addr, err)
		}
	}
	// Closing the connection when ctx ends unblocks a write stuck on a
	// full window, so cancellation is prompt.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if s.Network == SyslogUDP {
		for i := range evs {
			msg := s.Format.Format(evs[i])
			if len(msg) > maxUDPMessage {
				return passkeyd.Errorf(passkeyd.ETooLarge, "audit record %d is %d bytes, too large for one UDP datagram: use tcp", evs[i].Seq, len(msg))
			}
			if _, err := conn.Write(msg); err != nil {
				return passkeyd.WrapError(passkeyd.EUnavailable, err, "send audit record %d to syslog %s", evs[i].Seq, s.Addr)
			}
		}
		return nil
	}
	w := bufio.NewWriterSize(conn, 32<<10)
	for i := range evs {
		msg := s.Format.Format(evs[i])
		w.WriteString(strconv.Itoa(len(msg)))
		w.WriteByte(' ')
		if _, err := w.Write(msg); err != nil {
			return passkeyd.WrapError(passkeyd.EUnavailable, err, "send audit record %d to syslog %s", evs[i].Seq, s.Addr)
		}
	}
	if err := w.Flush(); err != nil {
		return passkeyd.WrapError(passkeyd.EUnavailable, err, "send audit records to syslog %s", s.Addr)
	}
	return nil
}

func (s *SyslogSink) dial(ctx context.Context) (net.Conn, error) {
	network := s.Network
	if network == SyslogTLS {
		network = "tcp"
	}
	dial := s.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, network, s.Addr)
	if err != nil {
		return nil, err
	}
	if s.Network != SyslogTLS {
		return conn, nil
	}
	cfg := s.TLS.Clone()
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(s.Addr)
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}
