package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/bench"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/store/postgres"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

// The scale phase of `passkeyd bench` (--scale): passkeyd with 100,000 or
// 1,000,000 passkeys stored. For each store and size, a fresh database is
// seeded in bulk (store/sqlite and store/postgres SeedPasskeys), a
// `passkeyd serve` process of its own is started on it — this binary,
// production defaults, job queue and periodic reconciliation included, no
// connector configured — and then, through its admin API, list and lookup
// latencies are timed, the whole inventory is walked page by page and
// every user is reconciled, while the server's RSS and peak RSS are read
// from /proc/<pid>/status. The benchmark's own memory is not in them.

// scaleQueryCalls and scaleQueryBudget bound the timing of one query: as
// many calls as fit in the budget, at most scaleQueryCalls and at least
// scaleQueryMinCalls.
const (
	scaleQueryCalls    = 50
	scaleQueryMinCalls = 5
	scaleQueryBudget   = 10 * time.Second
)

// scalePhase runs --scale for each store.
type scalePhase struct {
	sizes    []int
	stores   []string // "" is SQLite, else a PostgreSQL URL
	dir      string
	progress io.Writer
	// exe is the passkeyd binary to serve with; empty is this one.
	exe string
}

// newScalePhase checks --scale and the stores it will run on, before the
// other phases start.
func newScalePhase(o benchOptions, dir string, stores []string, progress io.Writer) (*scalePhase, error) {
	sizes, err := parseScale(o.scale)
	if err != nil {
		return nil, fmt.Errorf("--scale: %w", err)
	}
	for _, s := range stores {
		if s == "" || len(sizes) == 0 {
			continue
		}
		if _, err := scaleDatabaseURL(s, sizes[len(sizes)-1]); err != nil {
			return nil, fmt.Errorf("--scale on --postgres: %w", err)
		}
	}
	return &scalePhase{sizes: sizes, stores: stores, dir: dir, progress: progress}, nil
}

// parseScale reads "100000,1000000" (also "100k,1M"); "" or "0" is none.
func parseScale(s string) ([]int, error) {
	if s = strings.TrimSpace(s); s == "" || s == "0" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "k") || strings.HasSuffix(f, "K"):
			f, mult = f[:len(f)-1], 1000
		case strings.HasSuffix(f, "M"):
			f, mult = f[:len(f)-1], 1_000_000
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n*mult > 10_000_000 {
			return nil, fmt.Errorf("%q is not a number of passkeys from 1 to 10M", f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// run measures every store at every size into rep.Scale.
func (p *scalePhase) run(ctx context.Context, rep *bench.Report) error {
	if len(p.sizes) == 0 {
		return nil
	}
	for _, dbURL := range p.stores {
		for _, n := range p.sizes {
			bar := &syncBar{b: newProgressBar(p.progress)}
			sr, err := p.runOne(ctx, dbURL, n, bar)
			bar.finish()
			if err != nil {
				return fmt.Errorf("scale %d on %s: %w", n, storeName(dbURL), err)
			}
			rep.Scale = append(rep.Scale, *sr)
		}
	}
	rep.Notes = append(rep.Notes,
		"scale: a fresh database per store and size, seeded in bulk (no audit events); passkeyd measured as its own `passkeyd serve` process, "+
			"no connector configured; latencies are the admin API's, client side, over loopback")
	return nil
}

// seedResult is what both stores' SeedPasskeys report (their SeedResult
// types have the same fields).
type seedResult sqlite.SeedResult

func (p *scalePhase) runOne(ctx context.Context, dbURL string, n int, bar *syncBar) (*bench.ScaleReport, error) {
	name := storeName(dbURL)
	sr := &bench.ScaleReport{Store: name, Passkeys: n}
	dataDir := filepath.Join(p.dir, fmt.Sprintf("scale-%s-%d", name, n))
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	if dbURL != "" {
		var drop func()
		var err error
		if dbURL, drop, err = createScaleDatabase(ctx, dbURL, n); err != nil {
			return nil, err
		}
		defer drop()
	}

	label := fmt.Sprintf("%s %s: ", name, scaleLabel(n))
	seeded, err := seedScale(ctx, dataDir, dbURL, n, sr, func(done int) { bar.draw(done, n, label+"seeding") })
	if err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	sr.Users, sr.Devices = seeded.Users, seeded.Devices

	bar.draw(0, 1, label+"starting passkeyd serve")
	srv, err := startScaleServer(ctx, p.exe, dataDir, dbURL)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	sr.StartSeconds = srv.started.Seconds()

	queries, err := scaleQueries(ctx, srv, seeded)
	if err != nil {
		return nil, err
	}
	for i, q := range queries {
		bar.draw(i, len(queries), label+q.name)
		qr, err := timeQuery(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		sr.Queries = append(sr.Queries, qr)
	}
	if sr.Memory, err = srv.memory(); err != nil {
		return nil, err
	}

	if sr.Walk, err = walkInventory(ctx, srv.admin, func(done int) { bar.draw(done, n, label+"walking the inventory") }); err != nil {
		return nil, fmt.Errorf("walking the inventory: %w", err)
	}
	if sr.Walk.Passkeys != n {
		return nil, fmt.Errorf("the inventory lists %d passkeys, %d were seeded", sr.Walk.Passkeys, n)
	}
	afterWalk, err := srv.memory()
	if err != nil {
		return nil, err
	}
	sr.MemoryAfterWalk = &afterWalk

	// A reconciliation of every user begins by listing them all. With no
	// connector configured it then stops, before any Graph call; with
	// one it would call Graph once per user.
	bar.draw(0, 1, label+"reconciling every user")
	t0 := time.Now()
	drift, err := srv.admin.Reconcile(ctx, "")
	sr.Reconcile = &bench.ReconcileProbe{Seconds: time.Since(t0).Seconds()}
	switch {
	case err == nil:
		sr.Reconcile.Outcome = fmt.Sprintf("drift report of %d users", drift.Users)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		sr.Reconcile.Outcome = "stopped: " + err.Error()
	}
	afterReconcile, err := srv.memory()
	if err != nil {
		return nil, err
	}
	sr.MemoryAfterReconcile = &afterReconcile

	if sr.DBSizeBytes, err = databaseSize(ctx, filepath.Join(dataDir, "passkeyd.db"), dbURL); err != nil {
		return nil, err
	}
	if err := srv.stop(); err != nil {
		sr.Notes = append(sr.Notes, "passkeyd serve did not stop cleanly: "+err.Error())
	}
	return sr, nil
}

// scaleLabel is n for the progress bar (100k, 1M).
func scaleLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// seedScale migrates a fresh database and seeds n passkeys into it,
// recording the time and method in sr.
func seedScale(ctx context.Context, dataDir, dbURL string, n int, sr *bench.ScaleReport, progress func(int)) (*seedResult, error) {
	if dbURL != "" {
		db, err := postgres.Open(ctx, dbURL, postgres.Options{})
		if err != nil {
			return nil, err
		}
		defer db.Close()
		t0 := time.Now()
		res, err := postgres.SeedPasskeys(ctx, db, n, 0, progress)
		if err != nil {
			return nil, err
		}
		sr.SeedSeconds = time.Since(t0).Seconds()
		sr.SeedMethod = "postgres.SeedPasskeys: COPY in one transaction, indexes and foreign keys rebuilt after, then VACUUM ANALYZE"
		r := seedResult(*res)
		return &r, nil
	}
	db, err := sqlite.Open(ctx, filepath.Join(dataDir, "passkeyd.db"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	res, err := sqlite.SeedPasskeys(ctx, db, n, 0, progress)
	// Closing checkpoints the WAL into the database file: part of the cost.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	sr.SeedSeconds = time.Since(t0).Seconds()
	sr.SeedMethod = "sqlite.SeedPasskeys: multi-row INSERTs, 20,000 passkeys per transaction, secondary indexes rebuilt after"
	r := seedResult(*res)
	return &r, nil
}

// scaleDatabaseURL is the URL of the database for size n next to the one
// dbURL names: its name plus "_scale_<n>".
func scaleDatabaseURL(dbURL string, n int) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("needs a postgres:// URL (the scale databases are named after its database)")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return "", errors.New("the postgres:// URL must name a database")
	}
	name += "_scale_" + strconv.Itoa(n)
	if len(name) > 63 {
		return "", fmt.Errorf("database name %q is longer than PostgreSQL's 63 bytes", name)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// createScaleDatabase (re)creates the database for size n on the server
// of dbURL, connecting to dbURL's own database to do so, and returns its
// URL and a function that drops it.
func createScaleDatabase(ctx context.Context, dbURL string, n int) (string, func(), error) {
	scaleURL, err := scaleDatabaseURL(dbURL, n)
	if err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(scaleURL)
	ident := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	run := func(ctx context.Context, sqls ...string) error {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		for _, s := range sqls {
			if _, err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	// A database left by an interrupted run is dropped first.
	if err := run(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`, `CREATE DATABASE `+ident); err != nil {
		return "", nil, fmt.Errorf("create the scale database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = run(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`)
	}
	return scaleURL, drop, nil
}

// scaleServer is a `passkeyd serve` child process.
type scaleServer struct {
	cmd     *exec.Cmd
	url     string
	admin   *client.Client
	started time.Duration // from start to ready
	done    chan struct{} // closed when the process has exited
	log     *logTail

	stopOnce sync.Once
	stopErr  error
}

// startScaleServer runs exe's (default: this binary's) serve command on
// the seeded database with production defaults and waits until it is
// ready. Its environment is ours without PASSKEYD_* variables, plus its
// settings: a listen port of its own, the data dir, the database, a new
// master key and admin token, JSON logs.
func startScaleServer(ctx context.Context, exe, dataDir, dbURL string) (*scaleServer, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding this binary to run passkeyd serve: %w", err)
		}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	token := newDemoToken()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PASSKEYD_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"PASSKEYD_LISTEN=127.0.0.1:0",
		"PASSKEYD_DATA_DIR="+dataDir,
		"PASSKEYD_MASTER_KEY="+hex.EncodeToString(key),
		"PASSKEYD_BOOTSTRAP_TOKEN="+token.Reveal(),
		"PASSKEYD_LOG_FORMAT=json",
		"PASSKEYD_LOG_LEVEL=info",
	)
	if dbURL != "" {
		env = append(env, "PASSKEYD_DATABASE_URL="+dbURL)
	}
	s := &scaleServer{done: make(chan struct{}), log: &logTail{max: 40}}
	s.cmd = exec.Command(exe, "serve")
	s.cmd.Env = env
	s.cmd.Stdout = io.Discard
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start passkeyd serve: %w", err)
	}
	urls := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.log.add(line)
			var rec struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "passkeyd serving" && rec.URL != "" {
				select {
				case urls <- rec.URL:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		s.cmd.Wait()
	}()
	fail := func(err error) (*scaleServer, error) {
		s.stop()
		return nil, fmt.Errorf("%w; its log ends:\n%s", err, s.log.String())
	}
	const startTimeout = 2 * time.Minute
	select {
	case s.url = <-urls:
	case <-s.done:
		return fail(fmt.Errorf("passkeyd serve exited before serving (%v)", s.cmd.ProcessState))
	case <-time.After(startTimeout):
		return fail(fmt.Errorf("passkeyd serve did not serve within %v", startTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if s.admin, err = client.New(s.url, client.WithToken(token)); err != nil {
		return fail(err)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if s.admin.Ready(ctx) == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fail(fmt.Errorf("passkeyd serve was not ready within %v", startTimeout))
		}
		select {
		case <-s.done:
			return fail(errors.New("passkeyd serve exited"))
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.started = time.Since(t0)
	return s, nil
}

// memory reads the server's VmRSS and VmHWM.
func (s *scaleServer) memory() (bench.Memory, error) {
	return bench.ReadProcessMemory(s.cmd.Process.Pid)
}

// stop ends the server as an operator would (SIGTERM), killing it if it
// has not exited within 20 s. Safe to call more than once.
func (s *scaleServer) stop() error {
	s.stopOnce.Do(func() {
		if s.cmd.Process == nil {
			return
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = err
		}
		select {
		case <-s.done:
			if st := s.cmd.ProcessState; st != nil && !st.Success() {
				s.stopErr = fmt.Errorf("passkeyd serve ended with %v", st)
			}
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			s.stopErr = errors.New("passkeyd serve did not stop within 20 s of SIGTERM: killed")
		}
	})
	return s.stopErr
}

// logTail keeps the last lines of a log, for error messages.
type logTail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (l *logTail) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == l.max {
		l.lines = l.lines[1:]
	}
	l.lines = append(l.lines, line)
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// scaleQuery is one admin API request to time; do returns how many items
// the answer held.
type scaleQuery struct {
	name, request string
	do            func(context.Context) (int, error)
}

// scaleQueries are the requests an admin (or the UI, or automation) makes
// of a large inventory, on the seeded samples.
func scaleQueries(ctx context.Context, srv *scaleServer, s *seedResult) ([]scaleQuery, error) {
	c := srv.admin
	u, err := c.User(ctx, s.UserID)
	if err != nil {
		return nil, fmt.Errorf("the sample user: %w", err)
	}
	search, _, _ := strings.Cut(u.User.UPN, "@")
	page := passkeyd.Page{Limit: passkeyd.DefaultPageSize}
	list := func(name, query string, f passkeyd.PasskeyFilter) scaleQuery {
		return scaleQuery{name: name, request: "GET /api/v1/passkeys?" + query, do: func(ctx context.Context) (int, error) {
			ps, _, err := c.Passkeys(ctx, f)
			return len(ps), err
		}}
	}
	hc := &http.Client{Timeout: time.Minute}
	return []scaleQuery{
		list("passkeys, first page", "limit=100", passkeyd.PasskeyFilter{Page: page}),
		list("passkeys, page half-way (cursor)", "cursor=…&limit=100", passkeyd.PasskeyFilter{Page: passkeyd.Page{Cursor: s.MidPasskeyID, Limit: page.Limit}}),
		list("passkeys of a user", "user_id=…", passkeyd.PasskeyFilter{UserID: s.UserID}),
		list("passkeys of a device", "device_id=…", passkeyd.PasskeyFilter{DeviceID: s.DeviceID}),
		list("passkeys by AAGUID, 60 % share", "aaguid=…&limit=100", passkeyd.PasskeyFilter{AAGUID: s.CommonAAGUID, Page: page}),
		list("passkeys by AAGUID, 0.1 % share", "aaguid=…&limit=100", passkeyd.PasskeyFilter{AAGUID: s.RareAAGUID, Page: page}),
		// A model no passkey has (revocation by AAGUID of an absent model):
		// without an index on the AAGUID, the whole table is read.
		list("passkeys by AAGUID, none", "aaguid=…&limit=100", passkeyd.PasskeyFilter{AAGUID: absentAAGUID, Page: page}),
		list("passkeys in state active", "state=active&limit=100", passkeyd.PasskeyFilter{State: passkeyd.PasskeyActive, Page: page}),
		list("passkeys in state revoking (none)", "state=revoking&limit=100", passkeyd.PasskeyFilter{State: passkeyd.PasskeyRevoking, Page: page}),
		{name: "passkey by ID", request: "GET /api/v1/passkeys/{id}", do: func(ctx context.Context) (int, error) {
			_, err := c.Passkey(ctx, s.PasskeyID)
			return 1, err
		}},
		{name: "user with devices and passkeys", request: "GET /api/v1/users/{id}", do: func(ctx context.Context) (int, error) {
			d, err := c.User(ctx, s.UserID)
			if err != nil {
				return 0, err
			}
			return len(d.Devices) + len(d.Passkeys), nil
		}},
		{name: "devices of a user", request: "GET /api/v1/devices?user_id=…", do: func(ctx context.Context) (int, error) {
			ds, _, err := c.Devices(ctx, passkeyd.DeviceFilter{UserID: s.UserID})
			return len(ds), err
		}},
		{name: "users, search by UPN", request: "GET /api/v1/users?query=" + search, do: func(ctx context.Context) (int, error) {
			us, _, err := c.Users(ctx, passkeyd.UserFilter{Query: search})
			return len(us), err
		}},
		{name: "metrics scrape", request: "GET /metrics", do: func(ctx context.Context) (int, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.url+"/metrics", nil)
			if err != nil {
				return 0, err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			n, _ := io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
			}
			return int(n), nil
		}},
	}, nil
}

// absentAAGUID is an AAGUID no seeded passkey has.
const absentAAGUID = "00000000-0000-4000-8000-0000000000aa"

// timeQuery makes one untimed call (connections, caches), then times up
// to scaleQueryCalls calls within scaleQueryBudget (at least
// scaleQueryMinCalls).
func timeQuery(ctx context.Context, q scaleQuery) (bench.QueryReport, error) {
	qr := bench.QueryReport{Name: q.name, Request: q.request}
	if _, err := q.do(ctx); err != nil {
		return qr, err
	}
	var rec bench.Recorder
	start := time.Now()
	for i := 0; i < scaleQueryCalls && (i < scaleQueryMinCalls || time.Since(start) < scaleQueryBudget); i++ {
		t0 := time.Now()
		n, err := q.do(ctx)
		if err != nil {
			return qr, err
		}
		rec.Add(time.Since(t0))
		qr.Items = n
	}
	qr.Latency = rec.Summary()
	return qr, nil
}

// walkInventory lists every passkey, a page of MaxPageSize at a time.
func walkInventory(ctx context.Context, c *client.Client, progress func(int)) (*bench.WalkReport, error) {
	w := &bench.WalkReport{PageSize: passkeyd.MaxPageSize}
	var rec bench.Recorder
	f := passkeyd.PasskeyFilter{Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	start := time.Now()
	for {
		t0 := time.Now()
		ps, next, err := c.Passkeys(ctx, f)
		if err != nil {
			return nil, err
		}
		rec.Add(time.Since(t0))
		w.Pages++
		w.Passkeys += len(ps)
		progress(w.Passkeys)
		if next == "" || len(ps) == 0 {
			break
		}
		f.Cursor = next
	}
	w.Seconds = time.Since(start).Seconds()
	w.PerPage = rec.Summary()
	return w, nil
}
