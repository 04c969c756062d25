// Command passkeyd provisions and governs device-bound FIDO2 passkeys in
// Microsoft Entra ID. One binary: the server, the Entra/Graph emulator, a
// software passkey provider, the admin CLI and a self-contained demo.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "passkeyd",
		Short:         "Provision and govern device-bound FIDO2 passkeys in Microsoft Entra ID",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newMigrateCmd(),
		newRewrapCmd(),
		newBenchCmd(),
		newAdminCreateCmd(),
		newDemoCmd(),
		newEmulatorCmd(),
		newProviderCmd(),
		newVersionCmd(),
	)
	for _, c := range newAdminCmds() {
		root.AddCommand(c)
	}
	return root
}

func newServeCmd() *cobra.Command {
	var configFile string
	var dev, printDefault bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the passkeyd server",
		Long: `Run the passkeyd server. Configuration comes from --config (YAML; unknown keys
are errors) and PASSKEYD_* environment variables (see README.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printDefault {
				_, err := fmt.Fprint(cmd.OutOrStdout(), defaultConfigYAML)
				return err
			}
			cfg, err := loadConfig(configFile, os.Getenv)
			if err != nil {
				return err
			}
			cfg.Dev = cfg.Dev || dev
			log := newLogger(cfg.Log.Level, cfg.Log.Format, cfg.logWriter())
			a, err := openApp(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer a.stop(cmd.Context())
			if err := a.start(cmd.Context()); err != nil {
				return err
			}
			log.Info("passkeyd serving", "url", a.url, "version", version)
			if a.adminToken != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "First start: created an admin API token. It is shown once; store it now:\n  PASSKEYD_TOKEN=%s\n", a.adminToken.Reveal())
			}
			<-cmd.Context().Done()
			log.Info("shutting down")
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: generate a master key in the data dir if none exists")
	cmd.Flags().BoolVar(&printDefault, "print-default-config", false, "print the default configuration file, with comments, and exit")
	return cmd
}

func newMigrateCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configFile, os.Getenv)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log.Level, cfg.Log.Format, cfg.logWriter())
			a, err := openApp(cmd.Context(), cfg, log) // Open migrates.
			if err != nil {
				return err
			}
			a.stop(cmd.Context())
			fmt.Fprintln(cmd.OutOrStdout(), "schema is up to date:", cfg.sqlitePath())
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	return cmd
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print build information",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			bi, _ := debug.ReadBuildInfo()
			goVersion, revision, modified := "unknown", "", ""
			if bi != nil {
				goVersion = bi.GoVersion
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						revision = s.Value
					case "vcs.modified":
						if s.Value == "true" {
							modified = " (modified)"
						}
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "passkeyd %s, %s, %s/%s", version, goVersion, runtime.GOOS, runtime.GOARCH)
			if revision != "" {
				fmt.Fprintf(cmd.OutOrStdout(), ", commit %s%s", revision, modified)
			}
			fmt.Fprintln(cmd.OutOrStdout())
		},
	}
}

func newRewrapCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "rewrap",
		Short: "Re-seal stored secrets under the current master key (after a key rotation)",
		Long: `Master key rotation: make the new key the master key, list the old one in
previous_master_key_files (or PASSKEYD_PREVIOUS_MASTER_KEYS), run this command, then remove the old
key once it reports the old key ID no longer in use (and 24 hours have passed, for idempotency
records sealed with it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configFile, os.Getenv)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log.Level, cfg.Log.Format, cfg.logWriter())
			a, err := openApp(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer a.stop(cmd.Context())
			rep, err := a.mgr.RewrapSecrets(cmd.Context(), func(what string) {
				fmt.Fprintf(cmd.OutOrStdout(), "  ✓ %s\n", what)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d re-sealed, %d already under the current key; master keys in use: %v\n",
				rep.Rewrapped, rep.Unchanged, rep.KeyIDsInUse)
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	return cmd
}
