package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/provider"
)

// providerFlags are shared by the provider subcommands.
type providerFlags struct {
	keystore string
	caFile   string
	output   string
}

func newProviderCmd() *cobra.Command {
	var f providerFlags
	cmd := &cobra.Command{
		Use:   "provider",
		Short: "A software passkey provider (a virtual device) for testing and reference",
		Long: `A software FIDO2 passkey provider acting as a user's device: it registers with a
passkeyd server using an invitation code, enrolls a device-bound Entra passkey, and can
sign in at the emulator. Its keys and registration live in an encrypted keystore file
(--keystore); the passphrase comes from PASSKEYD_PROVIDER_PASSPHRASE or a prompt.`,
	}
	cmd.PersistentFlags().StringVar(&f.keystore, "keystore", "provider.keystore", "keystore file")
	cmd.PersistentFlags().StringVar(&f.caFile, "ca-file", "", "extra CA certificate to trust (the emulator's or the server's)")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "text", "text or json")

	var server, code, name, platform, model string
	register := &cobra.Command{
		Use:   "register",
		Short: "Register this device with a passkeyd server using an invitation code",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" || code == "" {
				return errors.New("--server and --code are required")
			}
			p, err := f.open(true)
			if err != nil {
				return err
			}
			id, err := p.Register(cmd.Context(), strings.TrimRight(server, "/"), passkeyd.Secret(code), passkeyd.DeviceInfo{Name: name, Platform: platform, Model: model})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), map[string]string{"device_id": id}, "registered as device %s\n", id)
		},
	}
	register.Flags().StringVar(&server, "server", "", "passkeyd server URL")
	register.Flags().StringVar(&code, "code", "", "one-time invitation code")
	register.Flags().StringVar(&name, "name", "software provider", "device name shown to admins")
	register.Flags().StringVar(&platform, "platform", "passkeyd", "device platform")
	register.Flags().StringVar(&model, "model", "software", "device model")

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the device's policy, passkeys and next step",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.open(false)
			if err != nil {
				return err
			}
			st, err := p.Status(cmd.Context())
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), st, "device %s: policy %s, %d passkeys, next step %s\n", st.Device.ID, st.Policy, len(st.Passkeys), st.NextStep)
		},
	}
	var attestation string
	enroll := &cobra.Command{
		Use:   "enroll",
		Short: "Create a device-bound passkey and register it in Entra through passkeyd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.open(false)
			if err != nil {
				return err
			}
			pk, err := p.Enroll(cmd.Context(), authenticator.WithAttestationFormat(authenticator.AttestationFormat(attestation)))
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), pk, "passkey %s active in Entra (method %s)\n", pk.ID, pk.GraphMethodID)
		},
	}
	enroll.Flags().StringVar(&attestation, "attestation", "packed", "attestation format: packed (self) or none")

	skip := &cobra.Command{
		Use:   "skip",
		Short: "Decline an optional passkey",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.open(false)
			if err != nil {
				return err
			}
			if err := p.Skip(cmd.Context()); err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), map[string]string{"next_step": passkeyd.NextDone}, "optional passkey skipped\n")
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the credentials in the keystore",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.open(false)
			if err != nil {
				return err
			}
			type credView struct {
				ID        string `json:"id"`
				RPID      string `json:"rp_id"`
				UserName  string `json:"user_name"`
				MethodID  string `json:"method_id,omitempty"`
				SignCount uint32 `json:"sign_count"`
			}
			creds := p.Authenticator().Credentials()
			if f.output == "json" {
				views := []credView{}
				for _, c := range creds {
					views = append(views, credView{c.EncodedID(), c.RPID, c.UserName, c.MethodID, c.SignCount})
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(views)
			}
			for _, c := range creds {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  rp=%s user=%s method=%s signs=%d\n", c.EncodedID(), c.RPID, c.UserName, c.MethodID, c.SignCount)
			}
			return nil
		},
	}
	var emuURL, tenant, user string
	signIn := &cobra.Command{
		Use:   "sign-in",
		Short: "Sign in at the emulator with this device's passkey",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if emuURL == "" || tenant == "" || user == "" {
				return errors.New("--emulator, --tenant and --user are required")
			}
			p, err := f.open(false)
			if err != nil {
				return err
			}
			res, err := p.SignIn(cmd.Context(), strings.TrimRight(emuURL, "/"), tenant, user)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), res, "signed in as %s (sign count %d)\n", res.UPN, res.SignCount)
		},
	}
	signIn.Flags().StringVar(&emuURL, "emulator", "", "emulator URL")
	signIn.Flags().StringVar(&tenant, "tenant", "", "tenant ID")
	signIn.Flags().StringVar(&user, "user", "", "user UPN or object ID")

	unregister := &cobra.Command{
		Use:   "unregister",
		Short: "Remove this device at the server (its passkeys are revoked) and forget it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.open(false)
			if err != nil {
				return err
			}
			id := p.DeviceID()
			if err := p.Unregister(cmd.Context()); err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), map[string]string{"device_id": id, "state": "removed"},
				"device %s removed; its passkeys are being revoked in Entra\n", id)
		},
	}
	cmd.AddCommand(register, status, enroll, skip, list, signIn, unregister)
	return cmd
}

// open opens the keystore (creating it when create is set and it does not
// exist) and returns a provider over it.
func (f *providerFlags) open(create bool) (*provider.Provider, error) {
	hc := http.DefaultClient
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		hc = httpClientTrusting(pem)
	}
	pass, err := passphrase()
	if err != nil {
		return nil, err
	}
	var auth *authenticator.Authenticator
	if _, statErr := os.Stat(f.keystore); create && errors.Is(statErr, os.ErrNotExist) {
		auth, err = authenticator.Create(f.keystore, pass)
	} else {
		auth, err = authenticator.Open(f.keystore, pass)
	}
	if err != nil {
		return nil, err
	}
	return provider.New(auth, hc), nil
}

// passphrase returns the keystore passphrase from the environment or, on a
// terminal, a prompt.
func passphrase() (passkeyd.Secret, error) {
	if p := os.Getenv("PASSKEYD_PROVIDER_PASSPHRASE"); p != "" {
		return passkeyd.Secret(p), nil
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", errors.New("set PASSKEYD_PROVIDER_PASSPHRASE (no terminal to ask for the keystore passphrase)")
	}
	fmt.Fprint(os.Stderr, "Keystore passphrase: ")
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if len(b) < 8 {
		return "", errors.New("the passphrase must be at least 8 characters")
	}
	return passkeyd.Secret(b), nil
}

// print writes v as JSON with --output json, else the text line.
func (f *providerFlags) print(w io.Writer, v any, format string, args ...any) error {
	if f.output == "json" {
		return json.NewEncoder(w).Encode(v)
	}
	_, err := fmt.Fprintf(w, format, args...)
	return err
}
