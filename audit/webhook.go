package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Webhook headers. The signature is "sha256=" and the hex HMAC-SHA256,
// keyed with the shared secret, of the timestamp header's value, ".", and
// the body.
const (
	WebhookSignatureHeader = "X-Passkeyd-Signature"
	WebhookTimestampHeader = "X-Passkeyd-Timestamp"
)

// Webhook defaults.
const (
	DefaultWebhookAttempts  = 5
	DefaultWebhookBaseDelay = time.Second
	DefaultWebhookMaxDelay  = 30 * time.Second
	DefaultWebhookTimeout   = 30 * time.Second
	// MinWebhookSecretSize keeps the HMAC key out of guessing range.
	MinWebhookSecretSize = 16
	// maxWebhookSignatureHeader bounds what a receiver parses.
	maxWebhookSignatureHeader = 128
)

// WebhookBatch is the JSON body a webhook receives.
type WebhookBatch struct {
	Events []passkeyd.AuditEvent `json:"events"`
}

// WebhookSink POSTs batches of audit events as JSON to a URL, signed with
// a shared secret. 2xx is delivered; 408, 429, 5xx and connection errors
// are retried with exponential backoff up to MaxAttempts in all; any
// other status (4xx, or a redirect, which is not followed so that signed
// audit data never goes elsewhere) is a permanent error.
type WebhookSink struct {
	// URL receives the POST: https, or http to a loopback host.
	URL string
	// Secret keys the HMAC; at least MinWebhookSecretSize bytes.
	Secret passkeyd.Secret
	// Client sends the request; nil means a client with
	// DefaultWebhookTimeout that does not follow redirects. A client
	// given here should not follow redirects either.
	Client *http.Client
	// MaxAttempts is the number of tries per Send; 0 means
	// DefaultWebhookAttempts.
	MaxAttempts int
	// BaseDelay is the wait before the second try, doubled each time up
	// to MaxDelay; Retry-After, when given, is honoured up to MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// Now stamps the signature; nil means time.Now.
	Now func() time.Time
	// Sleep waits between tries and returns ctx's error if it ends
	// first; nil waits on a timer. Tests inject one that does not wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger records retries; nil discards.
	Logger *slog.Logger
}

// Validate reports every problem of the sink's configuration at once.
func (s *WebhookSink) Validate() error {
	var fe passkeyd.FieldErrors
	if u, err := url.Parse(s.URL); err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		fe.Add("url", "must be an https URL (http only to a loopback host)")
	} else if u.User != nil {
		fe.Add("url", "must not carry credentials")
	}
	if len(s.Secret.Reveal()) < MinWebhookSecretSize {
		fe.Add("secret", fmt.Sprintf("must be at least %d bytes", MinWebhookSecretSize))
	}
	if s.MaxAttempts < 0 {
		fe.Add("max_attempts", "must not be negative")
	}
	return fe.Err("invalid webhook sink")
}

// Send POSTs evs as one WebhookBatch, retrying as the type describes.
func (s *WebhookSink) Send(ctx context.Context, evs []passkeyd.AuditEvent) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(WebhookBatch{Events: evs}); err != nil {
		return fmt.Errorf("audit: webhook: encode batch: %w", err)
	}
	attempts := s.MaxAttempts
	if attempts == 0 {
		attempts = DefaultWebhookAttempts
	}
	var err error
	for attempt := 1; ; attempt++ {
		var retryAfter time.Duration
		retryAfter, err = s.post(ctx, body.Bytes())
		if err == nil {
			return nil
		}
		if !retryable(err) || attempt >= attempts {
			break
		}
		d := s.delay(attempt, retryAfter)
		s.logger().WarnContext(ctx, "audit webhook delivery failed, retrying",
			"host", redactURL(s.URL), "attempt", attempt, "delay", d, "err", err)
		if serr := s.sleep(ctx, d); serr != nil {
			return fmt.Errorf("audit: webhook %s: %w (after %v)", redactURL(s.URL), serr, err)
		}
	}
	return fmt.Errorf("audit: webhook %s: %w", redactURL(s.URL), err)
}

// deliveryError is a failed try; temporary ones are retried.
type deliveryError struct {
	temporary bool
	err       *passkeyd.Error
}

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var de *deliveryError
	return errors.As(err, &de) && de.temporary
}

// post makes one try and returns the Retry-After the receiver asked for.
func (s *WebhookSink) post(ctx context.Context, body []byte) (time.Duration, error) {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, passkeyd.Errorf(passkeyd.EInvalid, "webhook request: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "passkeyd-audit-webhook")
	req.Header.Set(WebhookTimestampHeader, ts)
	req.Header.Set(WebhookSignatureHeader, SignWebhook(s.Secret, ts, body))
	resp, err := s.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		// url.Error repeats the URL, which may hold a token: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, &deliveryError{temporary: true, err: passkeyd.WrapError(passkeyd.EUnavailable, err, "webhook receiver unreachable")}
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; the content is the
	// receiver's and is not repeated in errors.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), &deliveryError{temporary: true,
			err: passkeyd.Errorf(passkeyd.EUpstream, "webhook receiver answered %d", code)}
	default:
		return 0, &deliveryError{err: passkeyd.Errorf(passkeyd.EUpstream, "webhook receiver refused the batch with %d", code)}
	}
}

// delay is the wait after try attempt (1-based).
func (s *WebhookSink) delay(attempt int, retryAfter time.Duration) time.Duration {
	base, ceiling := s.BaseDelay, s.MaxDelay
	if base <= 0 {
		base = DefaultWebhookBaseDelay
	}
	if ceiling <= 0 {
		ceiling = DefaultWebhookMaxDelay
	}
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(max(d, retryAfter), ceiling)
}

// retryAfter parses a Retry-After in seconds; dates and junk give 0.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 3600 {
		return 0
	}
	return time.Duration(n) * time.Second
}

func (s *WebhookSink) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{
		Timeout:       DefaultWebhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (s *WebhookSink) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *WebhookSink) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *WebhookSink) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// SignWebhook returns the signature header value for body sent at
// timestamp (Unix seconds, as sent in WebhookTimestampHeader).
func SignWebhook(secret passkeyd.Secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhookSignature checks, for a receiver, that header (the
// X-Passkeyd-Signature value) is the signature of body at timestamp (the
// X-Passkeyd-Timestamp value) and that timestamp is within maxSkew of
// now, which bounds replay. It returns an EUnauthorized error saying what
// is wrong, never the expected signature.
func VerifyWebhookSignature(secret passkeyd.Secret, timestamp string, body []byte, header string, now time.Time, maxSkew time.Duration) error {
	if secret.Reveal() == "" {
		return passkeyd.Errorf(passkeyd.EUnavailable, "webhook secret is not configured")
	}
	if len(header) > maxWebhookSignatureHeader || len(timestamp) > 20 {
		return passkeyd.Errorf(passkeyd.EUnauthorized, "webhook signature or timestamp header too long")
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return passkeyd.Errorf(passkeyd.EUnauthorized, "webhook timestamp must be Unix seconds")
	}
	if skew := now.Sub(time.Unix(sec, 0)).Abs(); skew > maxSkew {
		return passkeyd.Errorf(passkeyd.EUnauthorized, "webhook timestamp is %v away from now, more than %v", skew.Truncate(time.Second), maxSkew)
	}
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return passkeyd.Errorf(passkeyd.EUnauthorized, `webhook signature must start with "sha256="`)
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil || len(gotMAC) != sha256.Size {
		return passkeyd.Errorf(passkeyd.EUnauthorized, "webhook signature must be %d hex characters", sha256.Size*2)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(SignWebhook(secret, timestamp, body), "sha256="))
	if !hmac.Equal(gotMAC, want) {
		return passkeyd.Errorf(passkeyd.EUnauthorized, "webhook signature does not match the body")
	}
	return nil
}

// redactURL keeps only scheme and host: paths and queries of webhook URLs
// often carry tokens.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
