package audit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Syslog facilities passkeyd uses (RFC 5424 §6.2.1).
const (
	FacilityAuth     = 4
	FacilityAuthPriv = 10
	FacilityLocal0   = 16
)

// Syslog severities passkeyd uses: a success is a notice, a failure (a
// refused enrollment, a failed Graph call) a warning.
const (
	SeverityWarning = 4
	SeverityNotice  = 5
)

// SyslogSDID is the SD-ID of passkeyd's structured data element. 32473 is
// the private enterprise number reserved for documentation (RFC 5612);
// deployments that need a registered number can filter on the name.
const SyslogSDID = "passkeyd@32473"

// Maximum lengths of the RFC 5424 header fields (§6).
const (
	maxHostname = 255
	maxAppName  = 48
	maxMsgID    = 32
)

// utf8BOM starts a MSG that is UTF-8 (RFC 5424 §6.4).
const utf8BOM = "\xef\xbb\xbf"

// SyslogFormat formats audit events as RFC 5424 messages.
type SyslogFormat struct {
	// Facility is 0–23; 0 (kernel) means FacilityAuthPriv, since an
	// application never logs as the kernel.
	Facility int
	// Hostname is the HOSTNAME field; "" writes the nil value "-".
	Hostname string
	// AppName is the APP-NAME field; "" means "passkeyd".
	AppName string
}

// FormatRFC5424 formats ev as one RFC 5424 message with facility authpriv;
// see SyslogFormat.Format.
func FormatRFC5424(ev passkeyd.AuditEvent, hostname, appName string) []byte {
	return SyslogFormat{Facility: FacilityAuthPriv, Hostname: hostname, AppName: appName}.Format(ev)
}

// Format returns ev as one RFC 5424 message, without framing:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [passkeyd@32473 seq="" actor="" target="" outcome="" hash=""] BOM{json}
//
// PRI is facility*8 plus notice (success) or warning (failure); TIMESTAMP
// is UTC with microseconds; MSGID is the action. Header fields keep only
// printable US-ASCII (others become "_") and are cut to their RFC length.
// Parameter values are passed through Sanitize (so no control or bidi
// character reaches a SIEM's display) and escaped per §6.3.3. MSG is the
// event as JSON — the exact stored fields, hashes included, so a receiver
// can verify the chain.
func (f SyslogFormat) Format(ev passkeyd.AuditEvent) []byte {
	facility := f.Facility
	if facility <= 0 || facility > 23 {
		facility = FacilityAuthPriv
	}
	severity := SeverityNotice
	if ev.Outcome != passkeyd.OutcomeSuccess {
		severity = SeverityWarning
	}
	appName := f.AppName
	if appName == "" {
		appName = "passkeyd"
	}
	var b bytes.Buffer
	b.WriteByte('<')
	b.WriteString(strconv.Itoa(facility*8 + severity))
	b.WriteString(">1 ")
	if ev.Time.IsZero() {
		b.WriteByte('-')
	} else {
		b.WriteString(ev.Time.UTC().Format(TimeFormat))
	}
	b.WriteByte(' ')
	b.WriteString(headerField(f.Hostname, maxHostname))
	b.WriteByte(' ')
	b.WriteString(headerField(appName, maxAppName))
	b.WriteString(" - ")
	b.WriteString(headerField(ev.Action, maxMsgID))
	b.WriteString(" [")
	b.WriteString(SyslogSDID)
	params := []struct{ name, value string }{
		{"seq", strconv.FormatInt(ev.Seq, 10)},
		{"actor", ev.Actor},
		{"target", target(ev)},
		{"outcome", ev.Outcome},
		{"hash", ev.Hash},
	}
	for _, p := range params {
		b.WriteByte(' ')
		b.WriteString(p.name)
		b.WriteString(`="`)
		b.WriteString(escapeParam(Sanitize(p.value)))
		b.WriteByte('"')
	}
	b.WriteString("] ")
	b.WriteString(utf8BOM)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// An AuditEvent always encodes (Details is checked JSON or empty); if
	// a corrupt Details ever fails, the header still carries seq and hash.
	if err := enc.Encode(&ev); err != nil {
		b.WriteString(`{"seq":` + strconv.FormatInt(ev.Seq, 10) + `,"error":"details are not valid JSON"}`)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

// target names the event's target as "type:id", like Actor.
func target(ev passkeyd.AuditEvent) string {
	switch {
	case ev.TargetType == "":
		return ev.TargetID
	case ev.TargetID == "":
		return ev.TargetType
	}
	return ev.TargetType + ":" + ev.TargetID
}

// headerField returns s with every byte outside PRINTUSASCII (33–126)
// replaced by "_", cut to max bytes, or "-" (the nil value) when empty.
func headerField(s string, max int) string {
	if s == "" {
		return "-"
	}
	if len(s) > max {
		s = s[:max]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	return string(b)
}

// escapeParam escapes the three characters RFC 5424 §6.3.3 requires in a
// PARAM-VALUE: '"', '\' and ']' get a backslash.
func escapeParam(s string) string {
	if !strings.ContainsAny(s, `"\]`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', ']':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
