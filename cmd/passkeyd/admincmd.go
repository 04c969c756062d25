package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	passkeyd "github.com/passkeyd/passkeyd"
)

// newAdminCreateCmd returns `admin` with its `create` subcommand, which
// adds a web UI admin directly in the database (like migrate: no running
// server and no API token needed, so it can create the first admin).
func newAdminCreateCmd() *cobra.Command {
	var configFile, username, role string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an admin of the web UI (password from PASSKEYD_ADMIN_PASSWORD or a prompt)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if username == "" {
				return errors.New("--username is required")
			}
			pw, err := adminPassword(os.Getenv, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cfg, err := loadConfig(configFile, os.Getenv)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log.Level, cfg.Log.Format, cfg.logWriter())
			a, err := openApp(cmd.Context(), cfg, log) // Open migrates.
			if err != nil {
				return err
			}
			defer a.stop(cmd.Context())
			ctx := passkeyd.WithActor(cmd.Context(), passkeyd.Actor{Kind: "cli"})
			u, err := a.mgr.CreateAdmin(ctx, username, pw, passkeyd.Role(role))
			if err != nil {
				return fmt.Errorf("admin create: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created admin %s (%s, role %s)\n", u.Username, u.ID, u.Role)
			return nil
		},
	}
	create.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	create.Flags().StringVar(&username, "username", "", "username to sign in with (3 to 64 printable ASCII characters)")
	create.Flags().StringVar(&role, "role", string(passkeyd.RoleAdmin), "admin, operator or auditor")
	admin := &cobra.Command{Use: "admin", Short: "Manage admins of the web UI (local, against the database)"}
	admin.AddCommand(create)
	return admin
}

// adminPassword returns the new admin's password from PASSKEYD_ADMIN_PASSWORD
// or, on a terminal, from a prompt answered twice. It is never a flag:
// flags end up in shell history and process lists.
func adminPassword(getenv func(string) string, prompt io.Writer) (passkeyd.Secret, error) {
	if p := getenv("PASSKEYD_ADMIN_PASSWORD"); p != "" {
		return passkeyd.Secret(p), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("set PASSKEYD_ADMIN_PASSWORD (no terminal to ask for the password)")
	}
	read := func(label string) ([]byte, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		return b, err
	}
	first, err := read("Password (at least 12 characters): ")
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	again, err := read("Password again: ")
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(first) != string(again) {
		return "", errors.New("the passwords do not match")
	}
	return passkeyd.Secret(first), nil
}
