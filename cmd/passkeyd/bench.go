package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/bench"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/graph"
	"github.com/passkeyd/passkeyd/provider"
)

// benchOptions are the flags of `passkeyd bench`.
type benchOptions struct {
	providers   int
	enrollments int
	wipe        int
	quota       string
	quotaScale  float64
	postgres    string
	jsonFile    string
	dataDir     string
	wipeTimeout time.Duration
	jobs        int
	cpuProfile  string
	pacedRate   float64
	paced       int
	scale       string
	scaleOnly   bool
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure passkeyd against the built-in emulator (throughput, latency, quota pacing)",
		Long: `Runs in one process: the Entra/Graph emulator, a passkeyd server (SQLite, and with
--postgres also PostgreSQL) and --providers software passkey providers. It measures
--enrollments enrollments made directly against the emulator (the baseline: a script
with one Graph client) and the same through passkeyd, then seeds --wipe passkeys and
revokes them all by AAGUID against an emulator enforcing a write quota of --quota
(Graph's identity limit, 3000/150s) with its limit and window multiplied by
--quota-scale (same rate, smaller bucket).
A progress bar goes to stderr, a table to stdout and the figures to --json.
See docs/benchmarks.md for the method and the targets.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.providers, "providers", 50, "concurrent software providers (one user and device each)")
	f.IntVar(&o.enrollments, "enrollments", 500, "enrollments per phase (direct, then through passkeyd)")
	f.IntVar(&o.wipe, "wipe", 2000, "passkeys to seed and then revoke by AAGUID (0 skips the wipe)")
	f.StringVar(&o.quota, "quota", "3000/150s", "the write quota per app+tenant, LIMIT/WINDOW (Graph: 3000/150s)")
	f.Float64Var(&o.quotaScale, "quota-scale", 0.02, "multiply the quota's limit and window by this: same rate, smaller burst (0.02: 60 writes per 3 s)")
	f.StringVar(&o.postgres, "postgres", "", "also run on this PostgreSQL database (postgres://…; must be empty)")
	f.StringVar(&o.jsonFile, "json", "bench.json", "write the figures to this JSON file (empty: don't)")
	f.StringVar(&o.dataDir, "data-dir", "", "directory for the SQLite database (default: a new temporary directory)")
	f.IntVar(&o.jobs, "job-concurrency", 16, "passkeyd's revocation workers (jobs.concurrency, the server's default)")
	f.Float64Var(&o.pacedRate, "paced-rate", 100, "offered load of the paced phases, enrollments/s over all providers (0 skips them)")
	f.IntVar(&o.paced, "paced-enrollments", 1000, "enrollments per paced phase (direct, then through passkeyd)")
	f.StringVar(&o.scale, "scale", "100000,1000000", "passkeys stored per store for the scale phase, comma-separated (0 skips it; see bench_scale.go)")
	f.BoolVar(&o.scaleOnly, "scale-only", false, "run only the scale phase")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the enrollment phases (direct and mediated) to this file")
	f.DurationVar(&o.wipeTimeout, "wipe-timeout", 0, "give up the wipe after this long (default: 3× the quota's time for it, plus a minute)")
	return cmd
}

func runBench(ctx context.Context, out, progress io.Writer, o benchOptions) error {
	if o.providers < 1 || o.providers > 1000 {
		return fmt.Errorf("--providers must be 1 to 1000, not %d", o.providers)
	}
	if o.enrollments < 1 || o.wipe < 0 {
		return errors.New("--enrollments must be positive and --wipe not negative")
	}
	if o.pacedRate < 0 || o.paced < 0 {
		return errors.New("--paced-rate and --paced-enrollments must not be negative")
	}
	mediated := o.enrollments
	if o.pacedRate > 0 {
		mediated += o.paced
	}
	if o.wipe > 0 && o.wipe < mediated {
		return fmt.Errorf("--wipe (%d) must be at least the enrollments made through passkeyd (%d, --enrollments plus --paced-enrollments): the wipe revokes them too", o.wipe, mediated)
	}
	q, err := entraemu.ParseWriteQuota(o.quota)
	if err != nil {
		return fmt.Errorf("--quota: %w", err)
	}
	if o.jobs < 1 || o.jobs > 256 {
		return fmt.Errorf("--job-concurrency must be 1 to 256, not %d", o.jobs)
	}
	if o.quotaScale <= 0 || o.quotaScale > 1 {
		return fmt.Errorf("--quota-scale must be in (0, 1], not %g", o.quotaScale)
	}
	// Scale the bucket, not the rate: Limit and Window shrink together, so
	// the refill rate stays Graph's (20 writes/s for 3000/150s) and only
	// the burst a full bucket allows gets smaller. A wipe then has to be
	// paced for nearly all of its length, not absorbed by the bucket.
	q.Limit = max(1, int(float64(q.Limit)*o.quotaScale+0.5))
	q.Window = time.Duration(float64(q.Window) * o.quotaScale)
	dir := o.dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "passkeyd-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	rep := &bench.Report{Machine: bench.ThisMachine(), Config: bench.RunConfig{
		Providers: o.providers, Enrollments: o.enrollments, Wipe: o.wipe, Quota: o.quota, QuotaScale: o.quotaScale,
		EnforcedLimit: q.Limit, EnforcedWindowSeconds: q.Window.Seconds(), JobConcurrency: o.jobs,
	}}
	stores := []string{""}
	if o.postgres != "" {
		stores = append(stores, o.postgres)
	}
	scale, err := newScalePhase(o, dir, stores, progress)
	if err != nil {
		return err
	}
	if o.scaleOnly {
		stores = nil
	}
	for _, dbURL := range stores {
		r := &benchRun{o: o, quota: q, dir: dir, dbURL: dbURL, bar: &syncBar{b: newProgressBar(progress)}}
		sr, err := r.run(ctx)
		r.bar.finish()
		if err != nil {
			return fmt.Errorf("bench on %s: %w", storeName(dbURL), err)
		}
		rep.Stores = append(rep.Stores, *sr)
	}
	if err := scale.run(ctx, rep); err != nil {
		return err
	}
	rep.Notes = append(rep.Notes,
		"one process: RSS and CPU include the emulator and the providers, not passkeyd alone",
		"passkeyd CPU and allocations per enrollment = (mediated phase − direct phase) ÷ enrollments")
	if err := rep.WriteTable(out); err != nil {
		return err
	}
	if o.jsonFile != "" {
		if err := rep.WriteJSON(o.jsonFile); err != nil {
			return err
		}
		fmt.Fprintln(out, "\nfigures written to", o.jsonFile)
	}
	return nil
}

func storeName(dbURL string) string {
	if dbURL == "" {
		return "sqlite"
	}
	return "postgres"
}

// syncBar serialises the progress bar for concurrent workers and limits
// how often it redraws: 10 times a second on a terminal, every 2 s in a
// log, where each draw is a line.
type syncBar struct {
	mu   sync.Mutex
	b    *progressBar
	last time.Time
}

func (s *syncBar) draw(done, total int, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	every := 2 * time.Second
	if s.b.tty {
		every = 100 * time.Millisecond
	}
	if now := time.Now(); done >= total || now.Sub(s.last) >= every {
		s.last = now
		s.b.draw(done, total, detail)
	}
}

func (s *syncBar) finish() {
	s.mu.Lock()
	s.b.finish()
	s.mu.Unlock()
}

// benchRun is one store's run: emulator, server, providers.
type benchRun struct {
	o     benchOptions
	quota entraemu.WriteQuota
	dir   string
	dbURL string
	bar   *syncBar

	emu         *entraemu.Emulator
	app         *app
	admin       *client.Client
	tenant      string
	users       []string // UPNs, one per provider
	devices     []*client.Client
	directUsers []string // UPNs of the direct phases' users, one per provider
}

func (r *benchRun) run(ctx context.Context) (*bench.StoreReport, error) {
	log := slog.New(slog.DiscardHandler)
	name := storeName(r.dbURL)
	sr := &bench.StoreReport{Store: name}
	if err := r.setUp(ctx, log); err != nil {
		return nil, err
	}
	defer r.emu.Close()
	defer r.app.stop(ctx)

	// Direct baseline: one Graph client for every provider.
	s := r.emu.Settings()
	gc, err := graph.New(passkeyd.GraphConfig{AuthorityHost: s.AuthorityHost, GraphURL: s.GraphURL, TenantID: s.TenantID,
		ClientID: s.ClientID, ClientSecret: passkeyd.Secret(s.ClientSecret), RootCAsPEM: r.emu.CACertPEM()})
	if err != nil {
		return nil, err
	}
	de := bench.DirectEnroller{Graph: gc, TimeoutMinutes: 5}
	direct, dcost, err := r.phase(ctx, name+" direct", func(ctx context.Context, w int) error {
		_, err := de.Enroll(ctx, authenticator.New(), r.directUsers[w])
		return err
	})
	if err != nil {
		return nil, err
	}
	sr.Direct = direct

	mediated, mcost, err := r.phase(ctx, name+" via passkeyd", r.enrollMediated)
	if err != nil {
		return nil, err
	}
	sr.Mediated = mediated
	if direct.PerSecond > 0 {
		sr.ThroughputRatio = mediated.PerSecond / direct.PerSecond
	}
	sr.AddedP50MS = mediated.Latency.P50MS - direct.Latency.P50MS
	sr.AddedP99MS = mediated.Latency.P99MS - direct.Latency.P99MS
	enrolled := mediated.Latency.Count
	if r.o.pacedRate > 0 && r.o.paced > 0 {
		if sr.Paced, err = r.pacedPhases(ctx, name, func(ctx context.Context, w int) error {
			_, err := de.Enroll(ctx, authenticator.New(), r.directUsers[w])
			return err
		}); err != nil {
			return nil, err
		}
		enrolled += sr.Paced.Mediated.Count
	}
	if n := float64(r.o.enrollments); n > 0 {
		sr.PasskeydCPUPerEnrollmentMS = float64((mcost.CPU - dcost.CPU).Microseconds()) / 1000 / n
		sr.PasskeydAllocBytesPerEnroll = (float64(mcost.AllocBytes) - float64(dcost.AllocBytes)) / n
		sr.PasskeydAllocObjsPerEnroll = (float64(mcost.AllocObjs) - float64(dcost.AllocObjs)) / n
	}

	if r.o.wipe > 0 {
		if sr.Wipe, err = r.wipe(ctx, r.o.wipe-enrolled); err != nil {
			return nil, err
		}
	}
	sr.PasskeysStored, err = r.countPasskeys(ctx, "")
	if err != nil {
		return nil, err
	}
	if sr.ListLatency, err = r.listLatency(ctx); err != nil {
		return nil, err
	}
	if sr.Memory, err = bench.ReadMemory(); err != nil {
		return nil, err
	}
	if sr.DBSizeBytes, err = r.dbSize(ctx); err != nil {
		return nil, err
	}
	return sr, nil
}

// setUp starts the emulator (one user per provider) and passkeyd,
// configures the connector and registers a device per provider.
func (r *benchRun) setUp(ctx context.Context, log *slog.Logger) error {
	emu, err := entraemu.New(entraemu.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return err
	}
	r.emu = emu
	s := emu.Settings()
	r.tenant = s.TenantID
	run := time.Now().UTC().Format("150405")
	for i := range r.o.providers {
		u, err := emu.AddUser(s.TenantID, entraemu.User{UPN: fmt.Sprintf("bench%s-%04d@%s", run, i, s.Domain), DisplayName: fmt.Sprintf("Bench %d", i)})
		if err != nil {
			emu.Close()
			return err
		}
		r.users = append(r.users, u.UPN)
		// The direct phases enroll other users: the lists Graph returns
		// (excludeCredentials) then grow alike in both paths.
		du, err := emu.AddUser(s.TenantID, entraemu.User{UPN: fmt.Sprintf("benchd%s-%04d@%s", run, i, s.Domain), DisplayName: fmt.Sprintf("Bench direct %d", i)})
		if err != nil {
			emu.Close()
			return err
		}
		r.directUsers = append(r.directUsers, du.UPN)
	}

	cfg := defaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Dev = filepath.Join(r.dir, storeName(r.dbURL)), "127.0.0.1:0", true
	cfg.Database.URL = r.dbURL
	cfg.Jobs.Concurrency = r.o.jobs
	cfg.bootstrapToken = string(newDemoToken())
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		emu.Close()
		return err
	}
	if err := a.start(ctx); err != nil {
		a.stop(ctx)
		emu.Close()
		return err
	}
	r.app = a
	if r.admin, err = client.New(a.url, client.WithToken(passkeyd.Secret(cfg.bootstrapToken))); err != nil {
		return err
	}
	sec := passkeyd.Secret(s.ClientSecret)
	if _, err := r.admin.UpdateConnector(ctx, passkeyd.ConnectorUpdate{
		Enabled: true, Cloud: passkeyd.CloudCustom, AuthorityHost: s.AuthorityHost, GraphURL: s.GraphURL,
		CACertPEM: string(emu.CACertPEM()), TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: &sec,
		ChallengeTimeoutMinutes: 5,
	}); err != nil {
		return fmt.Errorf("configure the connector: %w", err)
	}
	pol, err := r.admin.Policy(ctx, passkeyd.DefaultPolicyID)
	if err != nil {
		return err
	}
	pol.EntraPasskey = passkeyd.PolicyRequired
	if _, _, err := r.admin.UpdatePolicy(ctx, *pol); err != nil {
		return fmt.Errorf("set the default policy's Entra passkey to required: %w", err)
	}
	hc := httpClientTrusting(emu.CACertPEM())
	for i, upn := range r.users {
		r.bar.draw(i, len(r.users), "registering devices")
		u, err := r.admin.CreateUser(ctx, passkeyd.User{UPN: upn})
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		_, code, err := r.admin.CreateInvitation(ctx, u.ID, time.Hour)
		if err != nil {
			return fmt.Errorf("invite: %w", err)
		}
		auth := authenticator.New()
		if _, err := provider.New(auth, hc).Register(ctx, a.url, code, passkeyd.DeviceInfo{Name: fmt.Sprintf("bench %d", i)}); err != nil {
			return fmt.Errorf("register a device: %w", err)
		}
		tok, _ := auth.Data("device_token")
		dc, err := client.New(a.url, client.WithToken(passkeyd.Secret(tok)))
		if err != nil {
			return err
		}
		r.devices = append(r.devices, dc)
	}
	return nil
}

// enrollMediated is one enrollment through passkeyd's device API, as
// provider.Enroll does it minus the keystore write. Every enrollment uses
// a new in-memory authenticator (a new key, as a second security key on
// the same device would be): an authenticator holding a passkey of the
// user refuses to make another (excludeCredentials). The direct baseline
// does the same, so both pay the same client-side cost.
func (r *benchRun) enrollMediated(ctx context.Context, w int) error {
	eo, err := r.devices[w].EnrollmentOptions(ctx)
	if err != nil {
		return fmt.Errorf("enrollment options: %w", err)
	}
	att, err := authenticator.New().MakeCredential(eo.PublicKey)
	if err != nil {
		return fmt.Errorf("make credential: %w", err)
	}
	if _, err := r.devices[w].CompleteEnrollment(ctx, eo.EnrollmentID, att.Credential()); err != nil {
		return fmt.Errorf("complete enrollment: %w", err)
	}
	return nil
}

// phase runs --enrollments operations on --providers workers and reports
// them with the process cost and the emulator's call counts.
func (r *benchRun) phase(ctx context.Context, label string, op func(context.Context, int) error) (bench.EnrollReport, bench.Cost, error) {
	if r.o.cpuProfile != "" {
		stop, err := startCPUProfile(r.o.cpuProfile, label)
		if err != nil {
			return bench.EnrollReport{}, bench.Cost{}, err
		}
		defer stop()
	}
	before := r.emu.Stats()
	u0, err := bench.ReadUsage(time.Now())
	if err != nil {
		return bench.EnrollReport{}, bench.Cost{}, err
	}
	res, err := bench.Load{Workers: r.o.providers, Total: r.o.enrollments,
		Progress: func(n int) { r.bar.draw(n, r.o.enrollments, label) }}.Run(ctx, op)
	if err != nil {
		return bench.EnrollReport{}, bench.Cost{}, err
	}
	u1, err := bench.ReadUsage(time.Now())
	if err != nil {
		return bench.EnrollReport{}, bench.Cost{}, err
	}
	after := r.emu.Stats()
	cost := u1.Since(u0)
	rep := bench.EnrollReport{
		Enrollments: res.Latency.Count, Errors: res.Errors, WallSeconds: res.Wall.Seconds(),
		PerSecond: res.Throughput(), Latency: res.Latency, ProcessCPUMS: float64(cost.CPU.Microseconds()) / 1000,
		TokenRequests: after.TokenRequests - before.TokenRequests,
	}
	if res.FirstErr != nil {
		rep.FirstError = res.FirstErr.Error()
	}
	calls := (after.GraphCalls[entraemu.OpCreationOptions] - before.GraphCalls[entraemu.OpCreationOptions]) +
		(after.GraphCalls[entraemu.OpCreate] - before.GraphCalls[entraemu.OpCreate])
	if n := r.o.enrollments; n > 0 {
		rep.GraphCallsPerEnrollment = float64(calls) / float64(n)
	}
	return rep, cost, nil
}

// pacedPhases offers --paced-enrollments enrollments at --paced-rate per
// second, open-loop, directly and then through passkeyd: at a load both
// carry, the latency difference is what passkeyd adds, not queueing.
func (r *benchRun) pacedPhases(ctx context.Context, name string, direct func(context.Context, int) error) (*bench.PacedReport, error) {
	pr := &bench.PacedReport{RatePerSecond: r.o.pacedRate}
	for _, ph := range []struct {
		label string
		op    func(context.Context, int) error
		into  *bench.Latency
	}{
		{name + " paced direct", direct, &pr.Direct},
		{name + " paced via passkeyd", r.enrollMediated, &pr.Mediated},
	} {
		res, err := bench.Load{Workers: r.o.providers, Total: r.o.paced, Rate: r.o.pacedRate,
			Progress: func(n int) { r.bar.draw(n, r.o.paced, ph.label) }}.Run(ctx, ph.op)
		if err != nil {
			return nil, err
		}
		*ph.into = res.Latency
		pr.Errors += res.Errors
	}
	pr.AddedP50MS = pr.Mediated.P50MS - pr.Direct.P50MS
	pr.AddedP99MS = pr.Mediated.P99MS - pr.Direct.P99MS
	return pr, nil
}

// wipe seeds extra passkeys through passkeyd's own enrollment (quota
// off), then turns the write quota on and revokes every passkey of the
// provider's AAGUID, waiting until none is left revoking.
func (r *benchRun) wipe(ctx context.Context, extra int) (*bench.WipeReport, error) {
	wr := &bench.WipeReport{SeedMethod: "passkeyd device API enrollments by the providers, quota off"}
	t0 := time.Now()
	if extra > 0 {
		res, err := bench.Load{Workers: r.o.providers, Total: extra,
			Progress: func(n int) { r.bar.draw(n, extra, "seeding passkeys for the wipe") }}.Run(ctx, r.enrollMediated)
		if err != nil {
			return nil, err
		}
		if res.Errors > 0 {
			return nil, fmt.Errorf("seeding: %d enrollments failed, first: %w", res.Errors, res.FirstErr)
		}
	}
	wr.SeedSeconds = time.Since(t0).Seconds()
	active, err := r.countPasskeys(ctx, passkeyd.PasskeyActive)
	if err != nil {
		return nil, err
	}
	wr.Passkeys = active

	if err := r.emu.SetWriteQuota(r.quota); err != nil {
		return nil, err
	}
	defer r.emu.SetWriteQuota(entraemu.WriteQuota{}) //nolint:errcheck // zero quota is always valid
	rate := float64(r.quota.Limit) / r.quota.Window.Seconds()
	wr.QuotaPerSecond = rate
	timeout := r.o.wipeTimeout
	if timeout <= 0 {
		timeout = time.Minute + 3*time.Duration(float64(time.Second)*max(0, float64(active-r.quota.Limit))/rate)
	}
	before, qBefore := r.emu.Stats(), r.emu.QuotaStats()
	start := time.Now()
	res, err := r.admin.RevokePasskeys(ctx, passkeyd.PasskeyFilter{AAGUID: authenticator.DefaultAAGUID})
	if err != nil {
		return nil, fmt.Errorf("revoke by AAGUID: %w", err)
	}
	wr.Queued = res.Queued
	inEntra := func() int {
		n := 0
		for _, u := range r.users {
			n += len(r.emu.Methods(r.tenant, u))
		}
		return n
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		left := inEntra()
		r.bar.draw(active-left, active, fmt.Sprintf("wipe, %d×429", r.emu.QuotaStats().Throttled-qBefore.Throttled))
		if left == 0 {
			revoking, _, err := r.admin.Passkeys(ctx, passkeyd.PasskeyFilter{State: passkeyd.PasskeyRevoking, Page: passkeyd.Page{Limit: 1}})
			if err != nil {
				return nil, err
			}
			if len(revoking) == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			wr.TimedOut = true
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	elapsed := time.Since(start)
	after, qAfter := r.emu.Stats(), r.emu.QuotaStats()
	wr.WallSeconds = elapsed.Seconds()
	wr.DeleteCalls = after.GraphCalls[entraemu.OpDelete] - before.GraphCalls[entraemu.OpDelete]
	wr.Throttled = qAfter.Throttled - qBefore.Throttled
	wr.TokenRequests = after.TokenRequests - before.TokenRequests
	if wr.Revoked, err = r.countPasskeys(ctx, passkeyd.PasskeyRevoked); err != nil {
		return nil, err
	}
	wr.LeftInEntra = inEntra()
	wr.Lost = max(0, active-wr.Revoked) + wr.LeftInEntra
	if wr.DeleteCalls > 0 {
		wr.ThrottledFraction = float64(wr.Throttled) / float64(wr.DeleteCalls)
	}
	if active > 0 {
		wr.GraphCallsPerRevocation = float64(wr.DeleteCalls) / float64(active)
	}
	wr.AchievedPerSecond = float64(wr.Revoked) / elapsed.Seconds()
	wr.QuotaBound = active > r.quota.Limit
	allowed := float64(r.quota.Limit) + rate*elapsed.Seconds()
	wr.FractionOfQuota = min(1, float64(qAfter.Allowed-qBefore.Allowed)/allowed)
	return wr, nil
}

// countPasskeys pages through the inventory (state "" counts all).
func (r *benchRun) countPasskeys(ctx context.Context, state passkeyd.PasskeyState) (int, error) {
	n := 0
	f := passkeyd.PasskeyFilter{State: state, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	for {
		pks, next, err := r.admin.Passkeys(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("list passkeys: %w", err)
		}
		n += len(pks)
		if next == "" || len(pks) == 0 {
			return n, nil
		}
		f.Cursor = next
	}
}

// listLatency times the admin API's first page of passkeys (100).
func (r *benchRun) listLatency(ctx context.Context) (bench.Latency, error) {
	var rec bench.Recorder
	for range 50 {
		t0 := time.Now()
		if _, _, err := r.admin.Passkeys(ctx, passkeyd.PasskeyFilter{Page: passkeyd.Page{Limit: 100}}); err != nil {
			return bench.Latency{}, err
		}
		rec.Add(time.Since(t0))
	}
	return rec.Summary(), nil
}

// dbSize is the SQLite files' size (database, WAL, shared memory) or
// PostgreSQL's pg_database_size.
func (r *benchRun) dbSize(ctx context.Context) (int64, error) {
	if r.dbURL != "" {
		conn, err := pgx.Connect(ctx, r.dbURL)
		if err != nil {
			return 0, fmt.Errorf("database size: %w", err)
		}
		defer conn.Close(ctx)
		var n int64
		if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
			return 0, fmt.Errorf("database size: %w", err)
		}
		return n, nil
	}
	var n int64
	p := r.app.cfg.sqlitePath()
	for _, f := range []string{p, p + "-wal", p + "-shm"} {
		st, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

// startCPUProfile profiles one phase into PATH.LABEL (label made
// file-name safe), and writes the allocation profile at its end into
// PATH.LABEL.allocs, so the direct and mediated phases can be compared
// with `go tool pprof -diff_base`.
func startCPUProfile(path, label string) (stop func(), err error) {
	name := path + "." + strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' {
			return '-'
		}
		return r
	}, label)
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		// The allocations so far, beside it: cumulative, so
		// -diff_base of two phases' files is the later phase's.
		if a, err := os.Create(name + ".allocs"); err == nil {
			pprof.Lookup("allocs").WriteTo(a, 0) //nolint:errcheck // best effort
			a.Close()
		}
	}, nil
}
