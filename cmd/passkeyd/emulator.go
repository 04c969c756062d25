package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/passkeyd/passkeyd/entraemu"
)

func newEmulatorCmd() *cobra.Command {
	var listen, seedFile, caFile, rpID, logLevel string
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the Entra ID + Microsoft Graph emulator alone",
		Long: `Runs the Entra ID token endpoint, OpenID discovery and the Graph fido2Methods API
over HTTPS with a CA generated for this run, with real WebAuthn verification.
Tenants, apps and users come from --seed (JSON, see docs/emulator.md); without it a
default tenant is created. The settings (tenant ID, client ID and secret, users, CA
file, URLs) are printed as one JSON object on one line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lv slog.Level
			if err := lv.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			opts := entraemu.Options{
				Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})),
				RPID:   rpID,
			}
			if seedFile != "" {
				f, err := os.Open(seedFile)
				if err != nil {
					return err
				}
				opts.Seed, err = entraemu.LoadSeed(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("seed %s: %w", seedFile, err)
				}
			}
			emu, err := entraemu.New(opts)
			if err != nil {
				return err
			}
			if err := emu.Start(listen); err != nil {
				return err
			}
			defer emu.Close()
			if caFile != "" {
				if err := emu.WriteCAFile(caFile); err != nil {
					return err
				}
			}
			b, err := json.Marshal(emu.Settings())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "address to serve HTTPS on")
	cmd.Flags().StringVar(&seedFile, "seed", "", "JSON seed file of tenants, apps and users")
	cmd.Flags().StringVar(&caFile, "ca-file", "emulator-ca.pem", "where to write the CA certificate clients must trust")
	cmd.Flags().StringVar(&rpID, "rp-id", "", "WebAuthn relying party ID (default login.microsoft.com)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
