package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
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
	perUser     int
	rounds      int
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
	f.IntVar(&o.perUser, "passkeys-per-user", 5, "passkeys a user holds before its provider moves on to a new user and device (0: one user per provider for the whole run, whose excludeCredentials list then grows with every enrollment)")
	f.IntVar(&o.enrollments, "enrollments", 1000, "enrollments per phase (direct, then through passkeyd)")
	f.IntVar(&o.rounds, "rounds", 3, "times the direct and mediated phases run, one after the other; the ratio reported is the median round's (the lower middle one of an even number)")
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
	if o.rounds < 1 || o.rounds > 99 {
		return fmt.Errorf("--rounds must be 1 to 99, not %d", o.rounds)
	}
	if o.perUser < 0 {
		return fmt.Errorf("--passkeys-per-user must not be negative, not %d", o.perUser)
	}
	if o.enrollments < 1 || o.wipe < 0 {
		return errors.New("--enrollments must be positive and --wipe not negative")
	}
	if o.pacedRate < 0 || o.paced < 0 {
		return errors.New("--paced-rate and --paced-enrollments must not be negative")
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
		PasskeysPerUser: o.perUser,
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

// ratio is a ÷ b, 0 when b is.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
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
	hc          *http.Client // trusts the emulator's CA, for device registration
	deviceHC    *http.Client // the devices' API calls
	tenant      string
	runID       string
	users       []string         // UPNs of the users enrolled through passkeyd
	devices     []*client.Client // their devices, as users
	mediated    *seats           // which of users each worker enrolls for
	directUsers []string         // UPNs of the direct phases' users
	direct      *seats           // which of directUsers each worker enrolls for
}

// seats hands each worker the user it enrolls for next. A user holds at
// most perUser passkeys (0: no limit); then the worker moves on to a user
// no worker had yet. Without a limit a user's excludeCredentials list, which
// Graph sends and passkeyd relays in every set of creation options, grows
// with every enrollment of the run: at 4,000 enrollments by 50 providers a
// user held 80 passkeys, far from what people hold, and JSON dominated.
type seats struct {
	perUser int
	cur     []seat       // by worker; worker w alone touches cur[w]
	next    atomic.Int64 // the first user no worker had
	users   func() int   // how many users are provisioned
}

type seat struct{ user, made int }

func newSeats(workers, perUser int, users func() int) *seats {
	s := &seats{perUser: perUser, cur: make([]seat, workers), users: users}
	for w := range s.cur {
		s.cur[w].user = w
	}
	s.next.Store(int64(workers))
	return s
}

// take returns the user worker w enrolls for next.
func (s *seats) take(w int) (int, error) {
	c := &s.cur[w]
	if s.perUser > 0 && c.made >= s.perUser {
		c.user, c.made = int(s.next.Add(1)-1), 0
	}
	if c.user >= s.users() {
		return 0, fmt.Errorf("bench: worker %d needs user %d, only %d are provisioned", w, c.user, s.users())
	}
	c.made++
	return c.user, nil
}

// need is how many users a phase of n more enrollments may reach: a worker
// takes a new user only after making perUser passkeys for its last one,
// so the workers take at most n/perUser new users, plus one each for the
// users they leave part-used at the end.
func (s *seats) need(n int) int {
	if s.perUser == 0 {
		return len(s.cur)
	}
	return int(s.next.Load()) + n/s.perUser + len(s.cur)
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
	enrollDirect := func(ctx context.Context, w int) error {
		i, err := r.direct.take(w)
		if err != nil {
			return err
		}
		_, err = de.Enroll(ctx, authenticator.New(), r.directUsers[i])
		return err
	}
	type round struct {
		direct, mediated bench.EnrollReport
		dcost, mcost     bench.Cost
	}
	var rounds []round
	for i := range r.o.rounds {
		label := ""
		if r.o.rounds > 1 {
			label = fmt.Sprintf(" %d/%d", i+1, r.o.rounds)
		}
		if err := r.provision(ctx, r.o.enrollments, false); err != nil {
			return nil, err
		}
		direct, dcost, err := r.phase(ctx, name+" direct"+label, enrollDirect)
		if err != nil {
			return nil, err
		}
		if err := r.provision(ctx, r.o.enrollments, true); err != nil {
			return nil, err
		}
		mediated, mcost, err := r.phase(ctx, name+" via passkeyd"+label, r.enrollMediated)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, round{direct, mediated, dcost, mcost})
		sr.Rounds = append(sr.Rounds, bench.Round{DirectPerSecond: direct.PerSecond, MediatedPerSecond: mediated.PerSecond,
			Ratio: ratio(mediated.PerSecond, direct.PerSecond)})
	}
	byRatio := slices.Clone(rounds)
	slices.SortFunc(byRatio, func(a, b round) int {
		return cmp.Compare(ratio(a.mediated.PerSecond, a.direct.PerSecond), ratio(b.mediated.PerSecond, b.direct.PerSecond))
	})
	median := byRatio[(len(byRatio)-1)/2] // of an even number, the lower middle
	sr.Direct, sr.Mediated = median.direct, median.mediated
	sr.ThroughputRatio = ratio(median.mediated.PerSecond, median.direct.PerSecond)
	sr.AddedP50MS = sr.Mediated.Latency.P50MS - sr.Direct.Latency.P50MS
	sr.AddedP99MS = sr.Mediated.Latency.P99MS - sr.Direct.Latency.P99MS
	sr.Direct.Errors, sr.Mediated.Errors = 0, 0
	var cpu time.Duration
	var allocBytes, allocObjs float64
	for _, rd := range rounds {
		sr.Direct.Errors += rd.direct.Errors
		sr.Mediated.Errors += rd.mediated.Errors
		cpu += rd.mcost.CPU - rd.dcost.CPU
		allocBytes += float64(rd.mcost.AllocBytes) - float64(rd.dcost.AllocBytes)
		allocObjs += float64(rd.mcost.AllocObjs) - float64(rd.dcost.AllocObjs)
	}
	// CPU and allocations over every round: more samples, less noise.
	if n := float64(r.o.enrollments * r.o.rounds); n > 0 {
		sr.PasskeydCPUPerEnrollmentMS = float64(cpu.Microseconds()) / 1000 / n
		sr.PasskeydAllocBytesPerEnroll = allocBytes / n
		sr.PasskeydAllocObjsPerEnroll = allocObjs / n
	}
	if r.o.pacedRate > 0 && r.o.paced > 0 {
		if err := r.provision(ctx, r.o.paced, false); err != nil {
			return nil, err
		}
		if err := r.provision(ctx, r.o.paced, true); err != nil {
			return nil, err
		}
		if sr.Paced, err = r.pacedPhases(ctx, name, enrollDirect); err != nil {
			return nil, err
		}
	}

	if r.o.wipe > 0 {
		if sr.Wipe, err = r.wipe(ctx, r.o.wipe); err != nil {
			return nil, err
		}
	}
	sr.PasskeysStored, err = r.countPasskeys(ctx, passkeyd.PasskeyFilter{})
	if err != nil {
		return nil, err
	}
	if sr.ListLatency, err = r.listLatency(ctx); err != nil {
		return nil, err
	}
	if sr.Memory, err = bench.ReadMemory(); err != nil {
		return nil, err
	}
	if sr.DBSizeBytes, err = databaseSize(ctx, r.app.cfg.sqlitePath(), r.dbURL); err != nil {
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
	r.runID = time.Now().UTC().Format("150405")
	// The direct phases enroll other users than passkeyd does, by the same
	// rotation: the lists Graph returns (excludeCredentials) are alike in
	// both paths.
	r.mediated = newSeats(r.o.providers, r.o.perUser, func() int { return len(r.devices) })
	r.direct = newSeats(r.o.providers, r.o.perUser, func() int { return len(r.directUsers) })

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
	r.hc = httpClientTrusting(emu.CACertPEM())
	// Each device keeps its connection between its requests, as a real
	// one does. (With http.DefaultTransport, which keeps 2 idle
	// connections per host, most of 50 providers' requests opened a new
	// connection: churn no deployment has, at passkeyd's expense.)
	r.deviceHC = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 2 * r.o.providers, IdleConnTimeout: time.Minute}}
	return nil
}

// provision makes sure the next phase of n enrollments through passkeyd
// (mediated) or directly against Graph finds a user for each of them.
// Users are made before the phase, so that their cost is not timed.
func (r *benchRun) provision(ctx context.Context, n int, mediated bool) error {
	if !mediated {
		s := r.emu.Settings()
		for i := len(r.directUsers); i < r.direct.need(n); i++ {
			u, err := r.emu.AddUser(s.TenantID, entraemu.User{UPN: fmt.Sprintf("benchd%s-%05d@%s", r.runID, i, s.Domain), DisplayName: fmt.Sprintf("Bench direct %d", i)})
			if err != nil {
				return err
			}
			r.directUsers = append(r.directUsers, u.UPN)
		}
		return nil
	}
	first, want := len(r.devices), r.mediated.need(n)
	if want <= first {
		return nil
	}
	devices := make([]*client.Client, want-first)
	upns := make([]string, want-first)
	var next atomic.Int64
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(devices); i = int(next.Add(1) - 1) {
				r.bar.draw(int(done.Add(1)), len(devices), "adding users and devices")
				var err error
				if upns[i], devices[i], err = r.addDevice(ctx, first+i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	r.users = append(r.users, upns...)
	r.devices = append(r.devices, devices...)
	return nil
}

// addDevice adds user i to Entra and passkeyd, and registers a device for
// it with an invitation, as an admin and the user would.
func (r *benchRun) addDevice(ctx context.Context, i int) (string, *client.Client, error) {
	s := r.emu.Settings()
	eu, err := r.emu.AddUser(s.TenantID, entraemu.User{UPN: fmt.Sprintf("bench%s-%05d@%s", r.runID, i, s.Domain), DisplayName: fmt.Sprintf("Bench %d", i)})
	if err != nil {
		return "", nil, err
	}
	u, err := r.admin.CreateUser(ctx, passkeyd.User{UPN: eu.UPN})
	if err != nil {
		return "", nil, fmt.Errorf("create user: %w", err)
	}
	_, code, err := r.admin.CreateInvitation(ctx, u.ID, time.Hour)
	if err != nil {
		return "", nil, fmt.Errorf("invite: %w", err)
	}
	auth := authenticator.New()
	if _, err := provider.New(auth, r.hc).Register(ctx, r.app.url, code, passkeyd.DeviceInfo{Name: fmt.Sprintf("bench %d", i)}); err != nil {
		return "", nil, fmt.Errorf("register a device: %w", err)
	}
	tok, _ := auth.Data("device_token")
	dc, err := client.New(r.app.url, client.WithToken(passkeyd.Secret(tok)), client.WithHTTPClient(r.deviceHC))
	if err != nil {
		return "", nil, err
	}
	return eu.UPN, dc, nil
}

// enrollMediated is one enrollment through passkeyd's device API, as
// provider.Enroll does it minus the keystore write. Every enrollment uses
// a new in-memory authenticator (a new key, as a second security key on
// the same device would be): an authenticator holding a passkey of the
// user refuses to make another (excludeCredentials). The direct baseline
// does the same, so both pay the same client-side cost.
func (r *benchRun) enrollMediated(ctx context.Context, w int) error {
	return r.enrollMediatedAs(authenticator.DefaultAAGUID)(ctx, w)
}

// wipeAAGUID is the model of the wipe's passkeys: the wipe revokes them
// by AAGUID, and only them, whatever the enrollment phases made.
const wipeAAGUID = "5e1f0c6a-9b2d-4c3e-8f7a-0d1b2c3e4f5a"

// enrollMediatedAs is enrollMediated with an authenticator of the given
// AAGUID.
func (r *benchRun) enrollMediatedAs(aaguid string) func(context.Context, int) error {
	model := uuid.MustParse(aaguid)
	return func(ctx context.Context, w int) error {
		i, err := r.mediated.take(w)
		if err != nil {
			return err
		}
		eo, err := r.devices[i].EnrollmentOptions(ctx)
		if err != nil {
			return fmt.Errorf("enrollment options: %w", err)
		}
		att, err := authenticator.New(authenticator.WithAAGUID(model)).MakeCredential(eo.PublicKey)
		if err != nil {
			return fmt.Errorf("make credential: %w", err)
		}
		if _, err := r.devices[i].CompleteEnrollment(ctx, eo.EnrollmentID, att.Credential()); err != nil {
			return fmt.Errorf("complete enrollment: %w", err)
		}
		return nil
	}
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

// wipe seeds n passkeys of wipeAAGUID through passkeyd's own enrollment
// (quota off), then turns the write quota on and revokes every passkey of
// that AAGUID, waiting until none is left revoking.
func (r *benchRun) wipe(ctx context.Context, extra int) (*bench.WipeReport, error) {
	wr := &bench.WipeReport{SeedMethod: "passkeyd device API enrollments by the providers, quota off"}
	t0 := time.Now()
	if extra > 0 {
		if err := r.provision(ctx, extra, true); err != nil {
			return nil, err
		}
		res, err := bench.Load{Workers: r.o.providers, Total: extra,
			Progress: func(n int) { r.bar.draw(n, extra, "seeding passkeys for the wipe") }}.Run(ctx, r.enrollMediatedAs(wipeAAGUID))
		if err != nil {
			return nil, err
		}
		if res.Errors > 0 {
			return nil, fmt.Errorf("seeding: %d enrollments failed, first: %w", res.Errors, res.FirstErr)
		}
	}
	wr.SeedSeconds = time.Since(t0).Seconds()
	active, err := r.countPasskeys(ctx, passkeyd.PasskeyFilter{State: passkeyd.PasskeyActive, AAGUID: wipeAAGUID})
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
	res, err := r.admin.RevokePasskeys(ctx, passkeyd.PasskeyFilter{AAGUID: wipeAAGUID})
	if err != nil {
		return nil, fmt.Errorf("revoke by AAGUID: %w", err)
	}
	wr.Queued = res.Queued
	inEntra := func() int {
		n := 0
		for _, u := range r.users {
			for _, m := range r.emu.Methods(r.tenant, u) {
				if strings.EqualFold(m.AAGUID, wipeAAGUID) {
					n++
				}
			}
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
	if wr.Revoked, err = r.countPasskeys(ctx, passkeyd.PasskeyFilter{State: passkeyd.PasskeyRevoked, AAGUID: wipeAAGUID}); err != nil {
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

// countPasskeys pages through the inventory of passkeys matching f.
func (r *benchRun) countPasskeys(ctx context.Context, f passkeyd.PasskeyFilter) (int, error) {
	n := 0
	f.Page = passkeyd.Page{Limit: passkeyd.MaxPageSize}
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

// databaseSize is the SQLite files' size (database, WAL, shared memory)
// at sqlitePath, or PostgreSQL's pg_database_size when dbURL is set.
func databaseSize(ctx context.Context, sqlitePath, dbURL string) (int64, error) {
	if dbURL != "" {
		conn, err := pgx.Connect(ctx, dbURL)
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
	for _, f := range []string{sqlitePath, sqlitePath + "-wal", sqlitePath + "-shm"} {
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
