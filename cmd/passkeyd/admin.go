package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
	"github.com/passkeyd/passkeyd/client"
)

// adminFlags are shared by the admin CLI commands, which call the JSON
// API at PASSKEYD_ADDR with PASSKEYD_TOKEN.
type adminFlags struct {
	addr   string
	caFile string
	output string
}

func (f *adminFlags) client() (*client.Client, error) {
	addr := f.addr
	if addr == "" {
		addr = os.Getenv("PASSKEYD_ADDR")
	}
	if addr == "" {
		addr = "http://127.0.0.1:8080"
	}
	tok := os.Getenv("PASSKEYD_TOKEN")
	if tok == "" {
		return nil, errors.New("set PASSKEYD_TOKEN to an API token (printed at the server's first start, or `passkeyd token create`)")
	}
	opts := []client.Option{client.WithToken(passkeyd.Secret(tok))}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		opts = append(opts, client.WithHTTPClient(httpClientTrusting(pem)))
	}
	return client.New(strings.TrimRight(addr, "/"), opts...)
}

// show prints v as JSON (--output json) or as a table of rows.
func (f *adminFlags) show(w io.Writer, v any, header string, rows func(tw io.Writer)) error {
	if f.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != "" {
		fmt.Fprintln(tw, header)
	}
	rows(tw)
	return tw.Flush()
}

func newAdminCmds() []*cobra.Command {
	f := &adminFlags{}
	cmds := []*cobra.Command{
		connectorCmd(f), policyCmd(f), userCmd(f), deviceCmd(f), passkeyCmd(f), auditCmd(f), tokenCmd(f), reconcileCmd(f),
	}
	for _, c := range cmds {
		c.PersistentFlags().StringVar(&f.addr, "addr", "", "server URL (default $PASSKEYD_ADDR or http://127.0.0.1:8080)")
		c.PersistentFlags().StringVar(&f.caFile, "ca-file", "", "CA certificate of the server, if not publicly trusted")
		c.PersistentFlags().StringVarP(&f.output, "output", "o", "text", "text or json")
	}
	return cmds
}

// run adapts a function taking the API client to cobra.
func run(f *adminFlags, fn func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := f.client()
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}

func connectorCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "connector", Short: "Show, configure and test the Entra connector"}
	show := &cobra.Command{Use: "show", Short: "Show the connector settings", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			cn, err := c.Connector(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), cn, "", func(tw io.Writer) {
				fmt.Fprintf(tw, "enabled\t%v\nhttp_debug\t%v\ncloud\t%s\n", cn.Enabled, cn.HTTPDebug, cn.Cloud)
				if cn.Cloud == passkeyd.CloudCustom {
					fmt.Fprintf(tw, "authority_host\t%s\ngraph_url\t%s\n", cn.AuthorityHost, cn.GraphURL)
				}
				fmt.Fprintf(tw, "tenant_id\t%s\nclient_id\t%s\ncredential_type\t%s\nclient_secret\t%s\n",
					cn.TenantID, cn.ClientID, cn.CredentialType, secretState(cn))
				if cn.ClientSecretExpiresAt != nil {
					fmt.Fprintf(tw, "client_secret_expires\t%s\n", cn.ClientSecretExpiresAt.Format("2006-01-02"))
				}
				if r := cn.Certificate; r != nil {
					fmt.Fprintf(tw, "certificate\t%s\nthumbprint\t%s\ncertificate_expires\t%s\n", r.Subject, r.ThumbprintSHA1, r.NotAfter.Format("2006-01-02"))
				}
				if cn.HTTPDebugUntil != nil {
					fmt.Fprintf(tw, "http_debug_until\t%s\n", cn.HTTPDebugUntil.Format(time.RFC3339))
				}
				fmt.Fprintf(tw, "challenge_timeout_minutes\t%d\ndisplay_name_template\t%s\n", cn.ChallengeTimeoutMinutes, cn.DisplayNameTemplate)
			})
		})}
	var (
		enabled, debug                     bool
		cloud, authority, graphURL         string
		caFile, tenant, clientID, timeout  string
		secretFromStdin                    bool
		removeSecret, removeCert           bool
		secretExpires, credType, assertion string
		cf                                 certFlags
	)
	set := &cobra.Command{Use: "set", Short: "Change connector settings (unset flags keep their value)", Args: cobra.NoArgs,
		Long: "Change connector settings. The client secret is read from standard input with --client-secret-stdin, never from a flag (flags end up in shell history).\n" +
			"Changing --cloud, --authority-host, --graph-url, --graph-ca-file or --tenant-id needs the stored credential again in the same command\n" +
			"(--client-secret-stdin, --certificate/--key or --pkcs12), or its removal (--remove-client-secret, --remove-certificate):\n" +
			"a stored credential is never sent to a new destination.",
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			cur, err := c.Connector(cmd.Context())
			if err != nil {
				return err
			}
			u := passkeyd.ConnectorUpdate{
				Enabled: cur.Enabled, HTTPDebug: cur.HTTPDebug, Cloud: cur.Cloud, AuthorityHost: cur.AuthorityHost,
				GraphURL: cur.GraphURL, CACertPEM: cur.CACertPEM, TenantID: cur.TenantID, ClientID: cur.ClientID,
				ChallengeTimeoutMinutes: cur.ChallengeTimeoutMinutes, DisplayNameTemplate: cur.DisplayNameTemplate,
			}
			fl := cmd.Flags()
			if fl.Changed("enabled") {
				u.Enabled = enabled
			}
			if fl.Changed("http-debug") {
				u.HTTPDebug = debug
			}
			if fl.Changed("cloud") {
				u.Cloud = passkeyd.Cloud(cloud)
			}
			if fl.Changed("authority-host") {
				u.AuthorityHost = authority
			}
			if fl.Changed("graph-url") {
				u.GraphURL = graphURL
			}
			if fl.Changed("tenant-id") {
				u.TenantID = tenant
			}
			if fl.Changed("client-id") {
				u.ClientID = clientID
			}
			if fl.Changed("challenge-timeout") {
				if _, err := fmt.Sscan(timeout, &u.ChallengeTimeoutMinutes); err != nil {
					return fmt.Errorf("--challenge-timeout: %q is not a number of minutes", timeout)
				}
			}
			if caFile != "" {
				pem, err := os.ReadFile(caFile)
				if err != nil {
					return err
				}
				u.CACertPEM = string(pem)
			}
			if removeSecret && secretFromStdin {
				return errors.New("give either --client-secret-stdin or --remove-client-secret, not both")
			}
			if removeSecret {
				none := passkeyd.Secret("")
				u.ClientSecret = &none
			}
			if secretFromStdin {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
				if err != nil {
					return err
				}
				s := passkeyd.Secret(strings.TrimSpace(string(b)))
				u.ClientSecret = &s
			}
			if secretExpires != "" {
				t, err := time.Parse("2006-01-02", secretExpires)
				if err != nil {
					return fmt.Errorf("--client-secret-expires: %q is not a date like 2027-05-31", secretExpires)
				}
				u.ClientSecretExpiresAt = &t
			}
			if fl.Changed("credential-type") {
				u.CredentialType = passkeyd.CredentialType(credType)
			}
			if fl.Changed("assertion-format") {
				u.AssertionFormat = assertion
			} else {
				u.AssertionFormat = cur.AssertionFormat
			}
			up, err := cf.upload()
			if err != nil {
				return err
			}
			switch {
			case up != nil && removeCert:
				return errors.New("give either a certificate or --remove-certificate, not both")
			case up != nil:
				u.ClientCertificate = up
			case removeCert:
				u.ClientCertificate = &passkeyd.CertificateUpload{}
			}
			cn, err := c.UpdateConnector(cmd.Context(), u)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "connector saved (enabled=%v, client secret %s)\n", cn.Enabled, secretState(cn))
			return nil
		})}
	fl := set.Flags()
	fl.BoolVar(&enabled, "enabled", false, "enable the connector")
	fl.BoolVar(&debug, "http-debug", false, "log Graph HTTP traffic (secrets redacted)")
	fl.StringVar(&cloud, "cloud", "", "global, usgov, usgov-dod, china or custom")
	fl.StringVar(&authority, "authority-host", "", "authority URL (custom cloud)")
	fl.StringVar(&graphURL, "graph-url", "", "Graph URL (custom cloud)")
	fl.StringVar(&caFile, "graph-ca-file", "", "CA file to trust for a custom cloud (e.g. the emulator's)")
	fl.StringVar(&tenant, "tenant-id", "", "Directory (tenant) ID")
	fl.StringVar(&clientID, "client-id", "", "Application (client) ID")
	fl.StringVar(&timeout, "challenge-timeout", "", "FIDO2 creation options challenge timeout in minutes (5..43200)")
	fl.BoolVar(&secretFromStdin, "client-secret-stdin", false, "read the client secret from standard input")
	fl.BoolVar(&removeSecret, "remove-client-secret", false, "remove the stored client secret")
	fl.BoolVar(&removeCert, "remove-certificate", false, "remove the stored client certificate and key")
	fl.StringVar(&secretExpires, "client-secret-expires", "", "the client secret's expiry date (YYYY-MM-DD), for warnings")
	fl.StringVar(&credType, "credential-type", "", "secret or certificate")
	fl.StringVar(&assertion, "assertion-format", "", "certificate assertion: ps256 (default) or rs256")
	cf.register(fl)

	var testUser string
	test := &cobra.Command{Use: "test", Short: "Test Connection: diagnose the connector step by step", Args: cobra.NoArgs,
		Long: "Test Connection: configuration, credential expiry, token, permission, a Graph call and the tenant's FIDO2 policy.\nWith --user, also a dry run: would enrollment for that user succeed? Nothing is created.",
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			rep, err := c.TestConnection(cmd.Context(), passkeyd.TestOptions{User: testUser})
			if err != nil {
				return err
			}
			if err := f.show(cmd.OutOrStdout(), rep, "STEP\tSTATUS\tCODE\tDETAIL", func(tw io.Writer) {
				for _, s := range rep.Steps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Status, s.Code, s.Detail)
				}
			}); err != nil {
				return err
			}
			if !rep.OK {
				return errors.New("the connection test failed")
			}
			return nil
		})}
	test.Flags().StringVar(&testUser, "user", "", "dry-run enrollment for this user (UPN or object ID)")

	var vf certFlags
	validate := &cobra.Command{Use: "validate-cert", Short: "Validate Certificate: check a certificate upload (or the stored one)", Args: cobra.NoArgs,
		Long: "Checks a client certificate without saving it: --certificate and --key (PEM), or --pkcs12 with its password in PASSKEYD_PKCS12_PASSWORD.\nWith no file, checks the stored certificate.",
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			up, err := vf.upload()
			if err != nil {
				return err
			}
			if up == nil {
				up = &passkeyd.CertificateUpload{}
			}
			r, err := c.ValidateCertificate(cmd.Context(), *up)
			if err != nil {
				return err
			}
			if err := f.show(cmd.OutOrStdout(), r, "", func(tw io.Writer) { printCertReport(tw, r) }); err != nil {
				return err
			}
			if !r.Valid {
				return errors.New("the certificate cannot be used")
			}
			return nil
		})}
	vf.register(validate.Flags())
	cmd.AddCommand(show, set, test, validate)
	return cmd
}

// certFlags read a client certificate upload from files.
type certFlags struct{ cert, key, p12 string }

func (cf *certFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&cf.cert, "certificate", "", "PEM certificate file (leaf first, chain may follow)")
	fl.StringVar(&cf.key, "key", "", "PEM private key file (unencrypted)")
	fl.StringVar(&cf.p12, "pkcs12", "", "PKCS #12 file (password in PASSKEYD_PKCS12_PASSWORD)")
}

// upload returns the files as an upload, or nil when none was named.
func (cf *certFlags) upload() (*passkeyd.CertificateUpload, error) {
	const limit = 64 << 10
	read := func(name, path string) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, limit+1))
		if err == nil && len(b) > limit {
			err = fmt.Errorf("--%s: %s is larger than 64 KiB", name, path)
		}
		return b, err
	}
	switch {
	case cf.p12 != "":
		if cf.cert != "" || cf.key != "" {
			return nil, errors.New("give either --pkcs12 or --certificate with --key, not both")
		}
		b, err := read("pkcs12", cf.p12)
		if err != nil {
			return nil, err
		}
		return &passkeyd.CertificateUpload{PKCS12: b, Password: passkeyd.Secret(os.Getenv("PASSKEYD_PKCS12_PASSWORD"))}, nil
	case cf.cert != "" || cf.key != "":
		up := &passkeyd.CertificateUpload{}
		if cf.cert != "" {
			b, err := read("certificate", cf.cert)
			if err != nil {
				return nil, err
			}
			up.CertificatePEM = string(b)
		}
		if cf.key != "" {
			b, err := read("key", cf.key)
			if err != nil {
				return nil, err
			}
			up.PrivateKeyPEM = passkeyd.Secret(b)
		}
		return up, nil
	}
	return nil, nil
}

func printCertReport(tw io.Writer, r *passkeyd.CertificateReport) {
	state := "VALID"
	if !r.Valid {
		state = "NOT USABLE"
	}
	fmt.Fprintf(tw, "certificate\t%s\n", state)
	if r.Subject != "" {
		fmt.Fprintf(tw, "subject\t%s\nissuer\t%s\nserial\t%s\n", r.Subject, r.Issuer, r.SerialNumber)
		fmt.Fprintf(tw, "valid\t%s to %s\n", r.NotBefore.Format(time.RFC3339), r.NotAfter.Format(time.RFC3339))
		key := fmt.Sprintf("%s %d", r.KeyType, r.KeySize)
		if r.Curve != "" {
			key += " " + r.Curve
		}
		fmt.Fprintf(tw, "key\t%s (matches certificate: %v)\n", key, r.KeyMatches)
		fmt.Fprintf(tw, "thumbprint (SHA-1)\t%s\nthumbprint (SHA-256)\t%s\nself-signed\t%v\n", r.ThumbprintSHA1, r.ThumbprintSHA256, r.SelfSigned)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(tw, "warning\t%s\n", w)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(tw, "error\t%s\n", e)
	}
}

func secretState(c *passkeyd.Connector) string {
	if !c.HasClientSecret {
		return "not set"
	}
	return "set (" + c.ClientSecretHint + ")"
}

func policyCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Show and change enrollment policies"}
	list := &cobra.Command{Use: "list", Short: "List policies", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ps, err := c.Policies(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), ps, "ID\tNAME\tENTRA PASSKEY\tMAX PER USER", func(tw io.Writer) {
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", p.ID, p.Name, p.EntraPasskey, p.MaxPasskeysPerUser)
				}
			})
		})}
	var mode string
	var maxPer int
	set := &cobra.Command{Use: "set ID", Short: "Set a policy's Entra Passkey mode (off, optional, required)", Args: cobra.ExactArgs(1),
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			p, err := c.Policy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("entra-passkey") {
				p.EntraPasskey = passkeyd.PolicyMode(mode)
			}
			if cmd.Flags().Changed("max-per-user") {
				p.MaxPasskeysPerUser = maxPer
			}
			p, warnings, err := c.UpdatePolicy(cmd.Context(), *p)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "policy %s: entra_passkey=%s\n", p.ID, p.EntraPasskey)
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			return nil
		})}
	set.Flags().StringVar(&mode, "entra-passkey", "", "off, optional or required")
	set.Flags().IntVar(&maxPer, "max-per-user", 0, "most passkeys per user (0: no limit)")
	var cname, cmode string
	var cmax int
	create := &cobra.Command{Use: "create", Short: "Create a named policy that users can be assigned to", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			p, warnings, err := c.CreatePolicy(cmd.Context(), passkeyd.Policy{Name: cname, EntraPasskey: passkeyd.PolicyMode(cmode), MaxPasskeysPerUser: cmax})
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			return f.show(cmd.OutOrStdout(), p, "", func(tw io.Writer) {
				fmt.Fprintf(tw, "created policy %s (%s): entra_passkey=%s\n", p.ID, p.Name, p.EntraPasskey)
			})
		})}
	create.Flags().StringVar(&cname, "name", "", "policy name")
	create.Flags().StringVar(&cmode, "entra-passkey", "off", "off, optional or required")
	create.Flags().IntVar(&cmax, "max-per-user", 0, "most passkeys per user (0: no limit)")
	cmd.AddCommand(list, set, create)
	return cmd
}

func userCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users and invitations"}
	var query, cursor string
	list := &cobra.Command{Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			us, next, err := c.Users(cmd.Context(), passkeyd.UserFilter{Query: query, Page: passkeyd.Page{Cursor: cursor}})
			if err != nil {
				return err
			}
			moreHint(cmd, next)
			return f.show(cmd.OutOrStdout(), us, "ID\tUPN\tOBJECT ID\tPOLICY", func(tw io.Writer) {
				for _, u := range us {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.UPN, u.EntraObjectID, orDefault(u.PolicyID))
				}
			})
		})}
	list.Flags().StringVar(&query, "query", "", "filter by UPN or name")
	list.Flags().StringVar(&cursor, "cursor", "", "continue after this ID")
	var upn, oid, name string
	create := &cobra.Command{Use: "create", Short: "Add a user", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			u, err := c.CreateUser(cmd.Context(), passkeyd.User{UPN: upn, EntraObjectID: oid, DisplayName: name})
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), u, "", func(tw io.Writer) { fmt.Fprintf(tw, "created user %s (%s)\n", u.ID, u.UPN) })
		})}
	create.Flags().StringVar(&upn, "upn", "", "user principal name, e.g. alice@contoso.com")
	create.Flags().StringVar(&oid, "object-id", "", "Entra object ID (optional)")
	create.Flags().StringVar(&name, "name", "", "display name")
	show := &cobra.Command{Use: "show ID", Short: "Show a user with devices, passkeys and effective policy", Args: cobra.ExactArgs(1),
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), d, "", func(tw io.Writer) {
				fmt.Fprintf(tw, "user\t%s (%s)\npolicy\t%s: entra_passkey=%s\n", d.User.UPN, d.User.ID, d.EffectivePolicy.Name, d.EffectivePolicy.EntraPasskey)
				for _, dv := range d.Devices {
					fmt.Fprintf(tw, "device\t%s\t%s\t%s\n", dv.ID, dv.Name, dv.State)
				}
				for _, p := range d.Passkeys {
					fmt.Fprintf(tw, "passkey\t%s\t%s\tdevice %s\n", p.ID, p.State, p.DeviceID)
				}
			})
		})}
	var ttl time.Duration
	invite := &cobra.Command{Use: "invite ID", Short: "Create a one-time invitation code (shown once)", Args: cobra.ExactArgs(1),
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			inv, code, err := c.CreateInvitation(cmd.Context(), args[0], ttl)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"invitation": inv, "code": code.Reveal()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "invitation code: %s (expires %s; shown once)\n", code.Reveal(), inv.ExpiresAt.Format(time.RFC3339))
			return nil
		})}
	invite.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the code is valid")
	var setName string
	setPolicy := &cobra.Command{Use: "set-policy USER_ID POLICY_ID", Short: "Assign a user to a policy (\"default\" for the default one)", Args: cobra.ExactArgs(2),
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			name := d.User.DisplayName
			if cmd.Flags().Changed("name") {
				name = setName
			}
			u, err := c.UpdateUser(cmd.Context(), args[0], passkeyd.UserUpdate{DisplayName: name, PolicyID: args[1]})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s now follows policy %s\n", u.UPN, orDefault(u.PolicyID))
			return nil
		})}
	setPolicy.Flags().StringVar(&setName, "name", "", "also change the display name")
	offboard := &cobra.Command{Use: "offboard ID", Short: "Offboard a user: cancel invitations, remove devices, revoke passkeys", Args: cobra.ExactArgs(1),
		Long: "Offboard a user: cancel the user's unused invitations, remove every device of the user (their tokens stop working,\n" +
			"their passkeys are deleted from Entra in the background) and revoke any other live passkey of the user.\n" +
			"Every step is audited. Running it again finishes an interrupted run. `passkey revoke --user` only revokes passkeys.",
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			res, err := c.OffboardUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), res, "", func(tw io.Writer) {
				fmt.Fprintf(tw, "user %s offboarded: %d invitation(s) cancelled, %d device(s) removed, %d passkey revocation(s) queued\n",
					res.UserID, res.InvitationsCancelled, res.DevicesRemoved, res.PasskeysRevoking)
				for _, w := range res.Warnings {
					fmt.Fprintf(tw, "warning: %s\n", w)
				}
			})
		})}
	cmd.AddCommand(list, create, show, invite, setPolicy, offboard)
	return cmd
}

// moreHint tells on stderr how to fetch the next page of a list.
func moreHint(cmd *cobra.Command, next string) {
	if next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "more results: repeat with --cursor %s\n", next)
	}
}

func orDefault(id string) string {
	if id == "" {
		return passkeyd.DefaultPolicyID
	}
	return id
}

func deviceCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "device", Short: "List and remove devices"}
	var userID, state, cursor string
	list := &cobra.Command{Use: "list", Short: "List devices", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ds, next, err := c.Devices(cmd.Context(), passkeyd.DeviceFilter{UserID: userID, State: passkeyd.DeviceState(state), Page: passkeyd.Page{Cursor: cursor}})
			if err != nil {
				return err
			}
			moreHint(cmd, next)
			return f.show(cmd.OutOrStdout(), ds, "ID\tUSER\tNAME\tPLATFORM\tSTATE", func(tw io.Writer) {
				for _, d := range ds {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.UserID, d.Name, d.Platform, d.State)
				}
			})
		})}
	list.Flags().StringVar(&userID, "user", "", "only this user's devices")
	list.Flags().StringVar(&state, "state", "", "active or removed")
	list.Flags().StringVar(&cursor, "cursor", "", "continue after this ID")
	remove := &cobra.Command{Use: "remove ID", Short: "Remove a device and revoke its passkeys in Entra", Args: cobra.ExactArgs(1),
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, pks, err := c.RemoveDevice(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "device %s removed; %d passkeys queued for revocation\n", d.ID, len(pks))
			return nil
		})}
	cmd.AddCommand(list, remove)
	return cmd
}

func passkeyCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "passkey", Short: "List passkeys managed by passkeyd"}
	var pf passkeyd.PasskeyFilter
	var state string
	list := &cobra.Command{Use: "list", Short: "List passkeys", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			pf.State = passkeyd.PasskeyState(state)
			ps, next, err := c.Passkeys(cmd.Context(), pf)
			if err != nil {
				return err
			}
			moreHint(cmd, next)
			return f.show(cmd.OutOrStdout(), ps, "ID\tUSER\tDEVICE\tSTATE\tAAGUID\tLAST ERROR", func(tw io.Writer) {
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.UserID, p.DeviceID, p.State, p.AAGUID, p.LastError)
				}
			})
		})}
	list.Flags().StringVar(&pf.UserID, "user", "", "only this user's passkeys")
	list.Flags().StringVar(&pf.DeviceID, "device", "", "only this device's passkeys")
	list.Flags().StringVar(&state, "state", "", "only passkeys in this state")
	list.Flags().StringVar(&pf.AAGUID, "aaguid", "", "only passkeys of this authenticator model")
	list.Flags().StringVar(&pf.Cursor, "cursor", "", "continue after this ID")

	var bf passkeyd.PasskeyFilter
	var wait bool
	revoke := &cobra.Command{Use: "revoke [ID]", Short: "Revoke one passkey, or all of a user, device or authenticator model",
		Long: "Revoke one passkey by ID (also retries a failed revocation), or in bulk with --user, --device or\n--aaguid (a vulnerable authenticator model). The revocations run in the background; --wait shows their progress.\n" +
			"--user revokes passkeys only: the user's devices and invitations stay valid. To offboard a user, use `user offboard`.",
		Args: cobra.MaximumNArgs(1),
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			if len(args) == 1 {
				if bf != (passkeyd.PasskeyFilter{}) {
					return errors.New("give a passkey ID or --user/--device/--aaguid, not both")
				}
				pk, err := c.RevokePasskey(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "passkey %s queued for revocation\n", pk.ID)
				if wait {
					return waitRevoked(cmd, c, passkeyd.PasskeyFilter{UserID: pk.UserID, DeviceID: pk.DeviceID})
				}
				return nil
			}
			res, err := c.RevokePasskeys(cmd.Context(), bf)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d passkeys matched; %d queued for revocation\n", res.Matched, res.Queued)
			if wait {
				return waitRevoked(cmd, c, bf)
			}
			return nil
		})}
	revoke.Flags().StringVar(&bf.UserID, "user", "", "every passkey of this user (devices stay: see user offboard)")
	revoke.Flags().StringVar(&bf.DeviceID, "device", "", "every passkey of this device")
	revoke.Flags().StringVar(&bf.AAGUID, "aaguid", "", "every passkey of this authenticator model")
	revoke.Flags().BoolVar(&wait, "wait", false, "wait for the revocations, showing progress")
	cmd.AddCommand(list, revoke)
	return cmd
}

// waitRevoked polls the passkeys of f and draws a progress bar until none
// is revoking; it fails if any revocation failed permanently.
func waitRevoked(cmd *cobra.Command, c *client.Client, f passkeyd.PasskeyFilter) error {
	bar := newProgressBar(cmd.ErrOrStderr())
	for {
		counts := map[passkeyd.PasskeyState]int{}
		page := f
		page.Limit = passkeyd.MaxPageSize
		for {
			pks, next, err := c.Passkeys(cmd.Context(), page)
			if err != nil {
				return err
			}
			for _, p := range pks {
				counts[p.State]++
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
		done := counts[passkeyd.PasskeyRevoked] + counts[passkeyd.PasskeyRevokeFailed]
		pending := counts[passkeyd.PasskeyRevoking]
		bar.draw(done, done+pending, fmt.Sprintf("%d revoked, %d failed, %d pending", counts[passkeyd.PasskeyRevoked], counts[passkeyd.PasskeyRevokeFailed], pending))
		if pending == 0 {
			bar.finish()
			if n := counts[passkeyd.PasskeyRevokeFailed]; n > 0 {
				return fmt.Errorf("%d revocations failed permanently: see `passkeyd passkey list --state revoke_failed`", n)
			}
			return nil
		}
		select {
		case <-cmd.Context().Done():
			bar.finish()
			return cmd.Context().Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func reconcileCmd(f *adminFlags) *cobra.Command {
	var userID string
	cmd := &cobra.Command{Use: "reconcile", Short: "Compare the inventory with Entra and report drift", Args: cobra.NoArgs,
		Long: "Compares passkeyd's passkeys with the methods in Entra: passkeys deleted outside passkeyd become missing,\nlost registrations are adopted, and methods registered outside passkeyd are listed as unmanaged (never touched).",
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			rep, err := c.Reconcile(cmd.Context(), userID)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), rep, "CLASS\tUSER\tPASSKEY\tMETHOD\tDETAIL", func(tw io.Writer) {
				row := func(class string, it passkeyd.DriftItem, detail string) {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", class, it.UPN, it.PasskeyID, short(it.MethodID), detail)
				}
				for _, it := range rep.Missing {
					row("missing", it, "deleted in Entra outside passkeyd")
				}
				for _, it := range rep.Adopted {
					row("adopted", it, "lost registration found in Entra")
				}
				for _, it := range rep.Unmanaged {
					row("unmanaged", it, fmt.Sprintf("%q %s (not passkeyd's; left alone)", it.DisplayName, it.AAGUID))
				}
				for _, e := range rep.Errors {
					fmt.Fprintf(tw, "error\t%s\t\t\t%s\n", e.UPN, e.Error)
				}
				fmt.Fprintf(tw, "\n%d users checked: %d missing, %d adopted, %d unmanaged, %d errors\n",
					rep.Users, len(rep.Missing), len(rep.Adopted), len(rep.Unmanaged), len(rep.Errors))
			})
		})}
	cmd.Flags().StringVar(&userID, "user", "", "only this user (passkeyd user ID)")
	return cmd
}

func auditCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the tamper-evident audit log"}
	var af passkeyd.AuditFilter
	list := &cobra.Command{Use: "list", Short: "List audit events", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			evs, err := c.AuditEvents(cmd.Context(), af)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), evs, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tOUTCOME\tREASON", func(tw io.Writer) {
				for _, e := range evs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s:%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339), e.Actor, e.Action, e.TargetType, e.TargetID, e.Outcome, e.Reason)
				}
			})
		})}
	list.Flags().Int64Var(&af.AfterSeq, "after", 0, "events after this sequence number")
	list.Flags().StringVar(&af.Action, "action", "", "only this action, e.g. passkey.revoked")
	list.Flags().IntVar(&af.Limit, "limit", 100, "most events to list")
	verify := &cobra.Command{Use: "verify", Short: "Verify the hash chain; names the first bad record", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			r, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if err := f.show(cmd.OutOrStdout(), r, "", func(tw io.Writer) {
				if r.OK {
					fmt.Fprintf(tw, "audit chain intact: %d events, last hash %s\n", r.Events, r.LastHash)
				} else {
					fmt.Fprintf(tw, "audit chain BROKEN at record %d: %s\n", r.FirstBadSeq, r.Problem)
				}
			}); err != nil {
				return err
			}
			if !r.OK {
				return errors.New("audit verification failed")
			}
			return nil
		})}
	var checkpointFile, pubKeyFile string
	verify.Flags().StringVar(&checkpointFile, "checkpoint", "", "signed checkpoints file (audit.checkpoint_file): also detects a rewritten or truncated chain")
	verify.Flags().StringVar(&pubKeyFile, "key", "", "checkpoint public key (PEM; from `passkeyd audit public-key`)")
	verify.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if (checkpointFile == "") != (pubKeyFile == "") {
			return errors.New("--checkpoint and --key go together")
		}
		return nil
	}
	verifyRun := verify.RunE
	verify.RunE = func(cmd *cobra.Command, args []string) error {
		if checkpointFile == "" {
			return verifyRun(cmd, args)
		}
		c, err := f.client()
		if err != nil {
			return err
		}
		cps, err := audit.ReadCheckpoints(checkpointFile)
		if err != nil {
			return err
		}
		pemData, err := os.ReadFile(pubKeyFile)
		if err != nil {
			return err
		}
		pub, err := audit.ParseCheckpointPublicKey(pemData)
		if err != nil {
			return err
		}
		r, err := audit.VerifyWithCheckpoints(cmd.Context(), audit.PagesOf(c), cps, pub)
		if err != nil {
			return err
		}
		if err := f.show(cmd.OutOrStdout(), r, "", func(tw io.Writer) {
			if r.OK {
				fmt.Fprintf(tw, "audit chain intact and matching %d signed checkpoints: %d events, last hash %s\n", len(cps), r.Events, r.LastHash)
			} else {
				fmt.Fprintf(tw, "audit chain BROKEN at record %d: %s\n", r.FirstBadSeq, r.Problem)
			}
		}); err != nil {
			return err
		}
		if !r.OK {
			return errors.New("audit verification failed")
		}
		return nil
	}
	var after int64
	export := &cobra.Command{Use: "export", Short: "Write the audit log as JSON lines (for a SIEM or an archive)", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			last, err := audit.Export(cmd.Context(), cmd.OutOrStdout(), after, audit.PagesOf(c))
			if err != nil {
				return fmt.Errorf("export stopped after record %d: %w", last, err)
			}
			return nil
		})}
	export.Flags().Int64Var(&after, "after", 0, "only events after this sequence number")
	var keyFile string
	pubkey := &cobra.Command{Use: "public-key", Short: "Print the public key of the checkpoint signing key (for auditors)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pemData, err := os.ReadFile(keyFile)
			if err != nil {
				return err
			}
			pub, err := audit.ParseCheckpointPublicKey(pemData)
			if err != nil {
				return err
			}
			out, err := audit.MarshalCheckpointPublicKey(pub)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		}}
	pubkey.Flags().StringVar(&keyFile, "key-file", "data/checkpoint.key", "the server's checkpoint key (audit.checkpoint_key_file)")
	cmd.AddCommand(list, verify, export, pubkey)
	return cmd
}

func tokenCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	list := &cobra.Command{Use: "list", Short: "List API tokens", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ts, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), ts, "ID\tNAME\tROLE\tLAST 8\tEXPIRES", func(tw io.Writer) {
				for _, t := range ts {
					exp := "never"
					if t.ExpiresAt != nil {
						exp = t.ExpiresAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Last8, exp)
				}
			})
		})}
	var name, role string
	var ttl time.Duration
	create := &cobra.Command{Use: "create", Short: "Create an API token (shown once)", Args: cobra.NoArgs,
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			t, tok, err := c.CreateToken(cmd.Context(), name, passkeyd.Role(role), ttl)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"token": t, "secret": tok.Reveal()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s (%s): %s\nIt is shown once; store it now.\n", t.ID, t.Role, tok.Reveal())
			return nil
		})}
	create.Flags().StringVar(&name, "name", "", "what the token is for")
	create.Flags().StringVar(&role, "role", "operator", "admin, operator or auditor")
	create.Flags().DurationVar(&ttl, "ttl", 0, "expiry (0: never)")
	del := &cobra.Command{Use: "delete ID", Short: "Revoke an API token", Args: cobra.ExactArgs(1),
		RunE: run(f, func(cmd *cobra.Command, c *client.Client, args []string) error {
			return c.DeleteToken(cmd.Context(), args[0])
		})}
	cmd.AddCommand(list, create, del)
	return cmd
}
