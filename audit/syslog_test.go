package audit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

func fixedEvent() passkeyd.AuditEvent {
	return passkeyd.AuditEvent{
		Seq: 42, Time: time.Date(2025, 11, 25, 9, 0, 0, 123456000, time.UTC),
		Actor: "token:abc", Action: "device.removed", TargetType: "device", TargetID: "dev-1",
		Outcome: passkeyd.OutcomeSuccess, PrevHash: strings.Repeat("cd", 32), Hash: strings.Repeat("ab", 32),
	}
}

func TestFormatRFC5424Exact(t *testing.T) {
	hash, prev := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	want := `<85>1 2025-11-25T09:00:00.123456Z host1 passkeyd - device.removed ` +
		`[passkeyd@32473 seq="42" actor="token:abc" target="device:dev-1" outcome="success" hash="` + hash + `"] ` +
		"\xef\xbb\xbf" + `{"seq":42,"time":"2025-11-25T09:00:00.123456Z","actor":"token:abc","action":"device.removed",` +
		`"target_type":"device","target_id":"dev-1","outcome":"success","prev_hash":"` + prev + `","hash":"` + hash + `"}`
	if got := string(audit.FormatRFC5424(fixedEvent(), "host1", "")); got != want {
		t.Errorf("FormatRFC5424 =\n%q\nwant\n%q", got, want)
	}
}

func TestFormatRFC5424Fields(t *testing.T) {
	cases := []struct {
		name   string
		format audit.SyslogFormat
		edit   func(ev *passkeyd.AuditEvent)
		want   string // substring of the message
	}{
		{"failure is a warning", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.Outcome = passkeyd.OutcomeFailure }, "<84>1 "},
		{"local0 notice", audit.SyslogFormat{Facility: audit.FacilityLocal0}, nil, "<133>1 "},
		{"no hostname is nil", audit.SyslogFormat{AppName: "pk"}, nil, "Z - pk - device.removed ["},
		{"hostname made ASCII", audit.SyslogFormat{Hostname: "hôst a"}, nil, "Z h__st_a passkeyd "},
		{"msgid cut to 32", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.Action = strings.Repeat("x", 40) }, " - " + strings.Repeat("x", 32) + " ["},
		{"msgid made ASCII", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.Action = "a b\nc" }, " - a_b_c ["},
		{"quote escaped", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.Actor = `say "hi"` }, ` actor="say \"hi\"" `},
		{"backslash escaped", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.Actor = `C:\x` }, ` actor="C:\\x" `},
		{"bracket escaped", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.TargetID = "a]b" }, ` target="device:a\]b" `},
		{"control sanitised", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.Actor = "a\nb" }, ` actor="a\\u000ab" `},
		{"target type only", audit.SyslogFormat{}, func(ev *passkeyd.AuditEvent) { ev.TargetID = "" }, ` target="device" `},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := fixedEvent()
			if tc.edit != nil {
				tc.edit(&ev)
			}
			got := string(tc.format.Format(ev))
			if !strings.Contains(got, tc.want) {
				t.Errorf("Format =\n%q\nwant it to contain %q", got, tc.want)
			}
			if strings.ContainsAny(got, "\n\r") {
				t.Errorf("Format = %q holds a line break", got)
			}
		})
	}
}

// TestFormatRFC5424MessageRoundTrips checks that MSG is the event, so a
// receiver can verify the chain from syslog alone.
func TestFormatRFC5424MessageRoundTrips(t *testing.T) {
	ev := chain(t, 1)[0]
	msg := string(audit.FormatRFC5424(ev, "h", "passkeyd"))
	_, body, ok := strings.Cut(msg, "] \xef\xbb\xbf")
	if !ok {
		t.Fatalf("no structured data end and BOM in %q", msg)
	}
	var back passkeyd.AuditEvent
	if err := json.Unmarshal([]byte(body), &back); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, pages([]passkeyd.AuditEvent{back})); !rep.OK {
		t.Errorf("event from syslog does not verify: %+v", rep)
	}
}

// readFramed reads octet-counted messages (RFC 6587) until EOF.
func readFramed(t *testing.T, conn net.Conn) []string {
	t.Helper()
	r := bufio.NewReader(conn)
	var msgs []string
	for {
		n, err := r.ReadString(' ')
		if err == io.EOF && n == "" {
			return msgs
		}
		if err != nil {
			t.Errorf("read length: %v", err)
			return msgs
		}
		size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
		if err != nil {
			t.Errorf("length %q: %v", n, err)
			return msgs
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Errorf("read message: %v", err)
			return msgs
		}
		msgs = append(msgs, string(buf))
	}
}

func TestSyslogSinkTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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

	evs := chain(t, 3)
	evs[1].Actor = "multi\nline ] \"actor\""
	sink := &audit.SyslogSink{Network: audit.SyslogTCP, Addr: ln.Addr().String(), Format: audit.SyslogFormat{Hostname: "node1"}}
	if err := sink.Send(context.Background(), evs); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := <-got
	if len(msgs) != len(evs) {
		t.Fatalf("received %d messages, want %d: %q", len(msgs), len(evs), msgs)
	}
	for i, m := range msgs {
		if want := string(sink.Format.Format(evs[i])); m != want {
			t.Errorf("message %d =\n%q\nwant\n%q", i, m, want)
		}
	}
}

func TestSyslogSinkUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	evs := chain(t, 2)
	sink := &audit.SyslogSink{Network: audit.SyslogUDP, Addr: pc.LocalAddr().String()}
	if err := sink.Send(context.Background(), evs); err != nil {
		t.Fatalf("Send: %v", err)
	}
	buf := make([]byte, 64<<10)
	for i := range evs {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if got, want := string(buf[:n]), string(sink.Format.Format(evs[i])); got != want {
			t.Errorf("datagram %d =\n%q\nwant\n%q", i, got, want)
		}
	}
}

func TestSyslogSinkErrors(t *testing.T) {
	// A port nobody listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	cases := []struct {
		name string
		sink audit.SyslogSink
		code passkeyd.ErrorCode
	}{
		{"bad network", audit.SyslogSink{Network: "http", Addr: "127.0.0.1:514"}, passkeyd.EInvalid},
		{"no port", audit.SyslogSink{Network: audit.SyslogTCP, Addr: "127.0.0.1"}, passkeyd.EInvalid},
		{"bad facility", audit.SyslogSink{Network: audit.SyslogTCP, Addr: "h:514", Format: audit.SyslogFormat{Facility: 24}}, passkeyd.EInvalid},
		{"refused", audit.SyslogSink{Network: audit.SyslogTCP, Addr: closed}, passkeyd.EUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sink.Send(context.Background(), chain(t, 1))
			if code := passkeyd.ErrorCodeOf(err); code != tc.code {
				t.Errorf("Send error = %v (%s), want %s", err, code, tc.code)
			}
		})
	}
}
