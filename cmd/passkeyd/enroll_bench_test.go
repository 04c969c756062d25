package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkMediatedEnrollment is one enrollment through passkeyd's device
// API (options, MakeCredential, complete), with the emulator, the server
// on SQLite and the provider in this process, as `passkeyd bench` runs
// them, one provider at a time and each user holding at most 5 passkeys.
// Compare with bench.BenchmarkDirectEnrollment; profile with
// -cpuprofile or -memprofile.
func BenchmarkMediatedEnrollment(b *testing.B) {
	ctx := context.Background()
	r := &benchRun{o: benchOptions{providers: 1, perUser: 5, jobs: 4}, dir: b.TempDir(), bar: &syncBar{b: newProgressBar(io.Discard)}}
	if err := r.setUp(ctx, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		r.app.stop(ctx)
		r.emu.Close()
	})
	if err := r.provision(ctx, b.N, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := r.enrollMediated(ctx, 0); err != nil {
			b.Fatal(err)
		}
	}
}
