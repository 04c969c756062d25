package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/provider"
)

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole passkey lifecycle against the built-in Entra emulator",
		Long: `Starts the Entra/Graph emulator (HTTPS, its own CA) and a passkeyd server on a
fresh SQLite data dir, configures the connector against the emulator, and runs the
story: invite → device registration → passkey enrollment → sign-in with the passkey
→ device removal → passkey gone from Entra → audit chain verified.
Then it keeps serving and prints the URL and admin token; --exit stops after the story
(exit status 0 only if every step held).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().BoolVar(&o.exit, "exit", false, "exit after the story instead of serving")
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "", "data directory (default: a new temporary directory)")
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:0", "address of the passkeyd server")
	cmd.Flags().BoolVar(&o.verbose, "verbose", false, "show the server's logs")
	cmd.Flags().StringVar(&o.credential, "credential", "secret", "how the connector authenticates to Entra: secret or certificate")
	return cmd
}

type demoOptions struct {
	// httpDebug turns on the connector's HTTP debug log; logOutput
	// captures every log line at debug level (tests).
	httpDebug bool
	logOutput io.Writer
	// onSecret, if set, is told every secret the demo handles, so that a
	// test can look for them where they must not be.
	onSecret   func(string)
	credential string
	exit       bool
	dataDir    string
	listen     string
	verbose    bool
}

// demoSummary is the last line of `demo --exit`, for scripts.
type demoSummary struct {
	Enrolled      int  `json:"enrolled"`
	SignedIn      int  `json:"signed_in"`
	Revoked       int  `json:"revoked"`
	AuditVerified bool `json:"audit_verified"`
}

// demo is the state of one run.
type demo struct {
	httpDebug bool
	onSecret  func(string)
	out       io.Writer
	emu       *entraemu.Emulator
	app       *app
	admin     *client.Client
	hc        *http.Client
	tenant    string
	sum       demoSummary
	failed    bool
}

func runDemo(ctx context.Context, out io.Writer, o demoOptions) error {
	if o.credential == "" {
		o.credential = string(passkeyd.CredentialSecret)
	}
	if o.credential != string(passkeyd.CredentialSecret) && o.credential != string(passkeyd.CredentialCertificate) {
		return fmt.Errorf("--credential must be secret or certificate, not %q", o.credential)
	}
	dir := o.dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "passkeyd-demo-"); err != nil {
			return err
		}
	}
	logLevel := slog.LevelError + 4 // silent unless --verbose
	if o.verbose {
		logLevel = slog.LevelInfo
	}
	logOut := o.logOutput
	if logOut == nil {
		logOut = os.Stderr
	} else {
		logLevel = slog.LevelDebug // a test captures everything
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: logLevel}))

	d := &demo{out: out, httpDebug: o.httpDebug, onSecret: o.onSecret}
	d.step("Starting the Entra/Graph emulator")
	emu, err := entraemu.New(entraemu.Options{Logger: log.With("component", "emulator")})
	if err != nil {
		return err
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer emu.Close()
	d.emu = emu
	caFile := filepath.Join(dir, "emulator-ca.pem")
	if err := emu.WriteCAFile(caFile); err != nil {
		return err
	}
	d.hc = httpClientTrusting(emu.CACertPEM())
	settings := emu.Settings()
	d.tenant = settings.TenantID
	d.ok("emulator at %s, tenant %s, CA %s", emu.URL(), settings.TenantID, caFile)

	d.step("Starting passkeyd on SQLite")
	cfg := defaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Dev = dir, o.listen, true
	cfg.logOutput = o.logOutput
	cfg.Jobs.PollMilliseconds = 200 // the story waits for its revocation
	cfg.bootstrapToken = string(newDemoToken())
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.stop(ctx)
	if err := a.start(ctx); err != nil {
		return err
	}
	d.app = a
	d.admin, err = client.New(a.url, client.WithToken(passkeyd.Secret(cfg.bootstrapToken)))
	d.secret(cfg.bootstrapToken)
	if err != nil {
		return err
	}
	adminPassword := newDemoToken()
	d.secret(adminPassword.Reveal())
	if _, err := a.mgr.CreateAdmin(passkeyd.WithActor(ctx, passkeyd.SystemActor), "admin", adminPassword, passkeyd.RoleAdmin); err != nil {
		return err
	}
	d.ok("server at %s, database %s", a.url, cfg.sqlitePath())

	storyErr := d.story(ctx, settings, passkeyd.CredentialType(o.credential))
	if storyErr != nil {
		d.failed = true
		fmt.Fprintf(out, "  ✗ %v\n", storyErr)
	}
	summary, _ := json.Marshal(d.sum)
	if o.exit {
		fmt.Fprintln(out, string(summary))
		if d.failed {
			return errors.New("the demo story failed")
		}
		return nil
	}
	fmt.Fprintf(out, "\npasskeyd is serving at %s (data in %s)\n", a.url, dir)
	fmt.Fprintf(out, "Admin web UI:     %s/ui/  (user admin, password %s)\n", a.url, adminPassword.Reveal())
	fmt.Fprintf(out, "Admin API token:  export PASSKEYD_ADDR=%s PASSKEYD_TOKEN=%s\n", a.url, cfg.bootstrapToken)
	fmt.Fprintf(out, "Try:  go run ./cmd/passkeyd audit list\n")
	fmt.Fprintf(out, "Emulator settings: %s\n", mustJSON(settings))
	fmt.Fprintln(out, string(summary))
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// story runs the lifecycle; every step checks what it claims.
func (d *demo) story(ctx context.Context, s entraemu.Settings, cred passkeyd.CredentialType) error {
	if len(s.Users) == 0 {
		return errors.New("the emulator has no users")
	}
	alice := s.Users[0]

	d.step("Configuring the Entra connector against the emulator (" + string(cred) + " credential)")
	u := passkeyd.ConnectorUpdate{
		Enabled:                 true,
		HTTPDebug:               d.httpDebug,
		Cloud:                   passkeyd.CloudCustom,
		AuthorityHost:           s.AuthorityHost,
		GraphURL:                s.GraphURL,
		CACertPEM:               string(d.emu.CACertPEM()),
		TenantID:                s.TenantID,
		ClientID:                s.ClientID,
		CredentialType:          cred,
		ChallengeTimeoutMinutes: 5,
	}
	// The app registration also gets Policy.Read.AuthenticationMethod so
	// that Test Connection can check the tenant's FIDO2 policy.
	if err := d.emu.SetAppRoles(s.TenantID, s.ClientID, []string{"UserAuthMethod-Passkey.ReadWrite.All", entraemu.RolePolicyReadAuthMethod}); err != nil {
		return err
	}
	if cred == passkeyd.CredentialCertificate {
		// As an admin would: make a certificate, upload its public part
		// to the app registration, give passkeyd the certificate and key.
		certPEM, keyPEM, err := selfSignedCertificate("passkeyd demo connector", time.Now())
		if err != nil {
			return err
		}
		if err := d.emu.AddAppCertificate(s.TenantID, s.ClientID, certPEM); err != nil {
			return err
		}
		up := passkeyd.CertificateUpload{CertificatePEM: string(certPEM), PrivateKeyPEM: passkeyd.Secret(keyPEM)}
		d.secret(pemBody(keyPEM))
		rep, err := d.admin.ValidateCertificate(ctx, up)
		if err != nil {
			return err
		}
		if !rep.Valid {
			return fmt.Errorf("Validate Certificate: %v", rep.Errors)
		}
		fmt.Fprintf(d.out, "    %-24s %-7s %s, thumbprint %s, valid until %s\n", "certificate", "ok", rep.Subject, rep.ThumbprintSHA1, rep.NotAfter.Format("2006-01-02"))
		u.ClientCertificate = &up
	} else {
		secretValue := passkeyd.Secret(s.ClientSecret)
		d.secret(s.ClientSecret)
		expires := time.Now().AddDate(1, 0, 0)
		u.ClientSecret, u.ClientSecretExpiresAt = &secretValue, &expires
	}
	if _, err := d.admin.UpdateConnector(ctx, u); err != nil {
		return err
	}
	rep, err := d.admin.TestConnection(ctx, passkeyd.TestOptions{User: alice.UPN})
	if err != nil {
		return err
	}
	for _, st := range rep.Steps {
		fmt.Fprintf(d.out, "    %-24s %-7s %s\n", st.Name, st.Status, st.Detail)
	}
	if !rep.OK {
		return errors.New("Test Connection failed")
	}
	d.ok("connector enabled; Test Connection passed, including a dry run for %s", alice.UPN)

	d.step("Setting the default policy's Entra Passkey to REQUIRED")
	pol, err := d.admin.Policy(ctx, passkeyd.DefaultPolicyID)
	if err != nil {
		return err
	}
	pol.EntraPasskey = passkeyd.PolicyRequired
	if _, _, err := d.admin.UpdatePolicy(ctx, *pol); err != nil {
		return err
	}
	d.ok("policy %q: entra_passkey=required", pol.Name)

	d.step("Inviting " + alice.UPN)
	user, err := d.admin.CreateUser(ctx, passkeyd.User{UPN: alice.UPN, EntraObjectID: alice.ID, DisplayName: "Alice"})
	if err != nil {
		return err
	}
	_, code, err := d.admin.CreateInvitation(ctx, user.ID, time.Hour)
	if err != nil {
		return err
	}
	d.secret(code.Reveal())
	d.ok("one-time invitation code %s (shown once, stored hashed)", code.Reveal())

	d.step("Registering Alice's device (software passkey provider)")
	passphrase := newDemoToken()
	d.secret(passphrase.Reveal())
	auth, err := authenticator.Create(filepath.Join(d.app.cfg.DataDir, "alice-phone.keystore"), passphrase,
		authenticator.WithScryptParams(authenticator.ScryptParams{LogN: 12, R: 8, P: 1}))
	if err != nil {
		return err
	}
	prov := provider.New(auth, d.hc)
	deviceID, err := prov.Register(ctx, d.app.url, code, passkeyd.DeviceInfo{Name: "Alice's phone", Platform: "android", Model: "Pixel 9"})
	if err != nil {
		return err
	}
	if tok, ok := auth.Data("device_token"); ok {
		d.secret(tok)
	}
	st, err := prov.Status(ctx)
	if err != nil {
		return err
	}
	if st.NextStep != passkeyd.NextEnrollPasskey {
		return fmt.Errorf("device status next_step = %q, want %q", st.NextStep, passkeyd.NextEnrollPasskey)
	}
	d.ok("device %s registered; policy says %s", deviceID, st.NextStep)

	d.step("Enrolling a device-bound passkey in Entra")
	pk, err := prov.Enroll(ctx)
	if err != nil {
		return err
	}
	methods := d.emu.Methods(s.TenantID, alice.UPN)
	if len(methods) != 1 || methods[0].ID != pk.GraphMethodID {
		return fmt.Errorf("the emulator holds %d methods for %s, want the new passkey %s", len(methods), alice.UPN, pk.GraphMethodID)
	}
	d.sum.Enrolled++
	d.ok("passkey %s active: Entra method %s, AAGUID %s, %s", pk.ID, short(pk.GraphMethodID), pk.AAGUID, pk.PasskeyType)

	d.step("Signing in at the emulator with the new passkey")
	res, err := prov.SignIn(ctx, s.URL, s.TenantID, alice.UPN)
	if err != nil {
		return err
	}
	d.sum.SignedIn++
	d.ok("signed in as %s (sign count %d)", res.UPN, res.SignCount)

	d.step("Removing the device (revokes its passkeys in Entra)")
	if _, _, err := d.admin.RemoveDevice(ctx, deviceID); err != nil {
		return err
	}
	if err := d.waitRevoked(ctx, pk.ID); err != nil {
		return err
	}
	if n := len(d.emu.Methods(s.TenantID, alice.UPN)); n != 0 {
		return fmt.Errorf("the emulator still holds %d methods for %s", n, alice.UPN)
	}
	if _, err := prov.SignIn(ctx, s.URL, s.TenantID, alice.UPN); err == nil {
		return errors.New("sign-in still works after revocation")
	}
	d.sum.Revoked++
	d.ok("passkey revoked; gone from Entra; sign-in now refused")

	d.step("Verifying the audit hash chain")
	ar, err := d.admin.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if !ar.OK {
		return fmt.Errorf("audit chain broken at record %d: %s", ar.FirstBadSeq, ar.Problem)
	}
	d.sum.AuditVerified = true
	d.ok("%d audit events, chain intact (last hash %s)", ar.Events, short(ar.LastHash))
	return nil
}

// waitRevoked polls until the revocation job has finished.
func (d *demo) waitRevoked(ctx context.Context, passkeyID string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		pk, err := d.admin.Passkey(ctx, passkeyID)
		if err != nil {
			return err
		}
		switch pk.State {
		case passkeyd.PasskeyRevoked:
			return nil
		case passkeyd.PasskeyRevokeFailed:
			return fmt.Errorf("revocation failed: %s", pk.LastError)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("passkey still %s after 60 s", pk.State)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *demo) secret(s string) {
	if d.onSecret != nil && s != "" {
		d.onSecret(s)
	}
}

func (d *demo) step(s string) { fmt.Fprintf(d.out, "→ %s\n", s) }

func (d *demo) ok(format string, args ...any) {
	fmt.Fprintf(d.out, "  ✓ "+format+"\n", args...)
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// newDemoToken returns a random secret for the demo's admin token and
// keystore passphrase.
func newDemoToken() passkeyd.Secret {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return passkeyd.Secret("pkd_api_" + hex.EncodeToString(b))
}

// httpClientTrusting returns a client that trusts the system roots and pem.
func httpClientTrusting(pem []byte) *http.Client {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
}

// selfSignedCertificate makes an RSA 2048 client certificate valid for a
// year, as `openssl req -x509 -newkey rsa:2048` would (docs/admin-guide.md).
func selfSignedCertificate(cn string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}

// pemBody is the base64 body of a PEM block on one line: what a leaked key
// would look like in a log.
func pemBody(p []byte) string {
	b, _ := pem.Decode(p)
	if b == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b.Bytes)[:64]
}
