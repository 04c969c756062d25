package bench

import (
	"context"
	"log/slog"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/graph"
)

// BenchmarkDirectEnrollment is the baseline's cost per enrollment:
// creationOptions, MakeCredential and create over HTTPS against the
// emulator, without passkeyd. The user's method list (and so
// excludeCredentials) grows with b.N: compare runs at a fixed count,
// e.g. -benchtime=500x.
func BenchmarkDirectEnrollment(b *testing.B) {
	emu, err := entraemu.New(entraemu.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { emu.Close() })
	s := emu.Settings()
	gc, err := graph.New(passkeyd.GraphConfig{AuthorityHost: s.AuthorityHost, GraphURL: s.GraphURL, TenantID: s.TenantID,
		ClientID: s.ClientID, ClientSecret: passkeyd.Secret(s.ClientSecret), RootCAsPEM: emu.CACertPEM()})
	if err != nil {
		b.Fatal(err)
	}
	d := DirectEnroller{Graph: gc, TimeoutMinutes: 5}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Enroll(ctx, authenticator.New(), s.Users[0].UPN); err != nil {
			b.Fatal(err)
		}
	}
}
