package bench

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/graph"
)

// BenchmarkDirectEnrollment is the baseline's cost per enrollment:
// creationOptions, MakeCredential and create over HTTPS against the
// emulator, without passkeyd. Each user holds at most 5 passkeys, as in
// `passkeyd bench` (its default --passkeys-per-user), so that the lists
// Graph sends (excludeCredentials) stay the size people have.
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
	upns := make([]string, 0, b.N/5+1)
	for i := range b.N/5 + 1 {
		u, err := emu.AddUser(s.TenantID, entraemu.User{UPN: fmt.Sprintf("direct-%05d@%s", i, s.Domain), DisplayName: "Direct"})
		if err != nil {
			b.Fatal(err)
		}
		upns = append(upns, u.UPN)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := d.Enroll(ctx, authenticator.New(), upns[i/5]); err != nil {
			b.Fatal(err)
		}
	}
}
