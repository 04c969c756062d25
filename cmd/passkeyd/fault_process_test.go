//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/entraemu"
)

// TestFaultProcess is issue 4's fault suite with real processes: what a
// killed or frozen passkeyd leaves behind must still end in exactly one
// revocation per passkey.
//
// River's rescuer only runs on the leader, once when it gains leadership
// and then every 30 s (maintenance.JobRescuerIntervalDefault), after a
// stagger of up to 1 s. Waiting for rescue_after and the next tick would
// be slow and timing-dependent, so the scenarios simulate the passage of
// time: they backdate the running job's attempted_at past rescue_after and
// delete the river_leader row, which makes a live node win (or re-win)
// the election on its next attempt (at once when it starts, ≤ 6 s
// otherwise) and run the rescuer straight away.
func TestFaultProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds passkeyd and runs it as child processes; skipped with -short")
	}
	bin := sync.OnceValues(func() (string, error) { return buildPasskeyd(t.TempDir()) })
	binary := func(t *testing.T) string {
		t.Helper()
		path, err := bin()
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, b := range faultBackends() {
		t.Run("kill -9 between Graph delete and commit/"+b.name, func(t *testing.T) {
			testKillAfterDelete(t, binary, b.url(t))
		})
	}
	t.Run("frozen node past its lease/postgres", func(t *testing.T) {
		testFrozenNode(t, binary, postgresURL(t))
	})
}

// testKillAfterDelete: Entra deleted the method but passkeyd is killed
// before it hears so; a new process rescues the job, gets 404 (young, so
// not believed at once) and ends the passkey revoked.
func testKillAfterDelete(t *testing.T, binary func(*testing.T) string, dbURL string) {
	ctx := context.Background()
	front := newProcFront(t)
	nodeEnv := newNodeEnv(t, dbURL)
	a := startNode(t, binary(t), nodeEnv, t.TempDir())
	e := front.env(t, a, openRawDB(t, nodeEnv, dbURL))
	e.setUp(t, a.url)
	removed, kept := e.devices[:2], e.devices[2]

	front.mu.Lock()
	front.holdAfter = true
	front.mu.Unlock()
	e.remove(t, removed...)
	front.awaitHeld(t, len(removed))
	a.kill(t)
	front.mu.Lock()
	front.holdAfter = false
	front.mu.Unlock()
	front.releaseHeld()

	// The crash window: gone from Entra, still revoking in passkeyd, the
	// jobs still running (nobody will finish them).
	for _, d := range removed {
		if n := len(e.emu.Methods(e.tenant, d.upn)); n != 0 {
			t.Fatalf("%s has %d methods: the held delete should have run in Entra", d.upn, n)
		}
	}
	running := `SELECT count(*) FROM river_job WHERE ` + passkeyJobKinds + ` AND state = 'running'`
	if n, err := e.db.count(ctx, running); err != nil || n != len(removed) {
		t.Fatalf("%d running revocation jobs after the kill (%v), want %d", n, err, len(removed))
	}
	if err := e.db.pastRescue(ctx); err != nil {
		t.Fatal(err)
	}

	b := startNode(t, binary(t), nodeEnv, t.TempDir())
	e.admin = b.admin(t)
	// Rescued and run again: the method is gone, but a young 404 proves
	// nothing, so each is only postponed.
	waitFor(t, 20*time.Second, "the rescued jobs to get a young 404", func() (bool, error) {
		evs := e.auditEvents(t)
		for _, d := range removed {
			if countActions(evs, d.passkeyID)["passkey.revoke_unconfirmed"] == 0 {
				return false, e.db.fastForward(ctx, false) // the rescue's backoff is over
			}
		}
		return true, nil
	})
	for _, d := range removed {
		p, err := e.admin.Passkey(ctx, d.passkeyID)
		if err != nil || p.State != passkeyd.PasskeyRevoking {
			t.Fatalf("after a young 404 passkey %s is %v (%v), want still revoking", d.passkeyID, p, err)
		}
	}
	e.drain(t, true, true)
	e.checkInvariants(t, 0)
	wantStates(t, e, passkeyd.PasskeyRevoked, removed...)
	wantStates(t, e, passkeyd.PasskeyActive, kept)
}

// testFrozenNode: the node running a revocation freezes (SIGSTOP) with its
// DELETE not yet in Entra; the other node rescues the job and revokes;
// the frozen node wakes, its late DELETE gets 404, and nothing is
// recorded twice.
func testFrozenNode(t *testing.T, binary func(*testing.T) string, dbURL string) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("finding the node that sent a request needs /proc: " + err.Error())
	}
	ctx := context.Background()
	front := newProcFront(t)
	nodeEnv := newNodeEnv(t, dbURL)
	nodes := []*node{startNode(t, binary(t), nodeEnv, t.TempDir()), startNode(t, binary(t), nodeEnv, t.TempDir())}
	e := front.env(t, nodes[0], openRawDB(t, nodeEnv, dbURL))
	e.setUp(t, nodes[0].url)
	// Old enough that a 404 is believed: the late DELETE then tries to
	// record a second revocation, which the store must refuse.
	if err := e.db.exec(ctx, "", `UPDATE passkeys SET created_at = now() - interval '11 minutes'`); err != nil {
		t.Fatal(err)
	}
	victim := e.devices[0]

	front.mu.Lock()
	front.holdBefore = true
	front.mu.Unlock()
	e.remove(t, victim)
	path := front.awaitHeld(t, 1)[0]
	front.mu.Lock()
	front.holdBefore = false // the rescuer's DELETE must go through
	front.mu.Unlock()
	late := front.call(path, 0)
	frozen, live := nodes[0], nodes[1]
	switch pid, err := socketOwner(late.remote, nodes[0].pid(), nodes[1].pid()); {
	case err != nil:
		t.Fatalf("which node sent the held DELETE: %v", err)
	case pid == nodes[1].pid():
		frozen, live = nodes[1], nodes[0]
	}
	frozen.signal(t, syscall.SIGSTOP)
	e.admin = live.admin(t)
	// River agrees: the job is attempted by the frozen node's client.
	if id, by := frozen.riverClientID(), attemptedBy(t, e.db); id == "" || !strings.Contains(by, id) {
		t.Fatalf("the held DELETE came from pid %d (River client %q) but the job is attempted by %s", frozen.pid(), id, by)
	}

	if err := e.db.pastRescue(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the live node to rescue the job and revoke", func() (bool, error) {
		p, err := e.admin.Passkey(ctx, victim.passkeyID)
		if err != nil || p.State == passkeyd.PasskeyRevoked {
			return err == nil, err
		}
		return false, e.db.fastForward(ctx, false)
	})
	if n := len(e.emu.Methods(e.tenant, victim.upn)); n != 0 {
		t.Fatalf("%s still has %d methods after the rescue", victim.upn, n)
	}

	// The frozen node's DELETE reaches Entra only now, then it wakes.
	front.releaseHeld()
	waitFor(t, 10*time.Second, "the late DELETE to be answered", func() (bool, error) {
		return front.call(path, 0).answered, nil
	})
	if c := front.call(path, 1); c.status != http.StatusNoContent {
		t.Errorf("the rescuer's DELETE got %d, want 204", c.status)
	}
	if c := front.call(path, 0); c.status != http.StatusNotFound {
		t.Errorf("the late DELETE got %d, want 404", c.status)
	}
	frozen.signal(t, syscall.SIGCONT)
	waitFor(t, 15*time.Second, "the woken node to finish its attempt", func() (bool, error) {
		if frozen.logContains("revocation attempt failed", "passkey_id="+victim.passkeyID) {
			return true, nil
		}
		return countActions(e.auditEvents(t), victim.passkeyID)["passkey.revoked"] > 1, nil
	})
	e.drain(t, true, false)
	e.checkInvariants(t, 0)
	wantStates(t, e, passkeyd.PasskeyRevoked, victim)
	wantStates(t, e, passkeyd.PasskeyActive, e.devices[1:]...)
	if n := e.front.deletes.Load(); n != 2 {
		t.Errorf("%d DELETEs reached Entra, want 2 (the frozen node's and the rescuer's)", n)
	}
}

// wantStates checks the passkeys of devs are in state.
func wantStates(t *testing.T, e *faultEnv, state passkeyd.PasskeyState, devs ...faultDevice) {
	t.Helper()
	for _, d := range devs {
		p, err := e.admin.Passkey(context.Background(), d.passkeyID)
		if err != nil || p.State != state {
			t.Errorf("passkey %s ended %v (%v), want %s", d.passkeyID, p, err, state)
		}
	}
}

// buildPasskeyd builds the command into dir.
func buildPasskeyd(dir string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building passkeyd needs the go command: %w", err)
	}
	out := filepath.Join(dir, "passkeyd")
	cmd := exec.Command(gobin, "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, b)
	}
	return out, nil
}

// newNodeEnv is the environment every node of one deployment shares.
func newNodeEnv(t *testing.T, dbURL string) []string {
	t.Helper()
	key := bytes.Repeat([]byte{0x5a}, 32)
	env := []string{
		"PASSKEYD_LISTEN=127.0.0.1:0",
		"PASSKEYD_MASTER_KEY=" + hex.EncodeToString(key),
		"PASSKEYD_BOOTSTRAP_TOKEN=" + newDemoToken().Reveal(),
		"PASSKEYD_JOBS_POLL_MILLISECONDS=100",
		"PASSKEYD_RECONCILE_MINUTES=0",
		"PASSKEYD_LOG_LEVEL=info",
		// SQLite: every process of the deployment uses this directory.
		"PASSKEYD_DATA_DIR=" + t.TempDir(),
	}
	if dbURL != "" {
		env = append(env, "PASSKEYD_DATABASE_URL="+dbURL)
	}
	return env
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// openRawDB opens the deployment's database from the test's side.
func openRawDB(t *testing.T, env []string, dbURL string) rawDB {
	t.Helper()
	if dbURL != "" {
		pool, err := pgxpool.New(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return rawDB{pg: pool}
	}
	path := filepath.Join(envValue(env, "PASSKEYD_DATA_DIR"), "passkeyd.db")
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return rawDB{lite: db}
}

// pastRescue simulates rescue_after passing for every running job and
// makes the leader seat free, so a live node runs the rescuer at once.
func (d rawDB) pastRescue(ctx context.Context) error {
	if err := d.exec(ctx,
		`UPDATE river_job SET attempted_at = datetime('now', 'subsec', '-1 hours') WHERE state = 'running'`,
		`UPDATE river_job SET attempted_at = now() - interval '1 hour' WHERE state = 'running'`); err != nil {
		return fmt.Errorf("backdate running jobs: %w", err)
	}
	if err := d.exec(ctx, `DELETE FROM river_leader`, `DELETE FROM river_leader`); err != nil {
		return fmt.Errorf("free the leader seat: %w", err)
	}
	return nil
}

// attemptedBy is the running passkey jobs' attempted_by (PostgreSQL).
func attemptedBy(t *testing.T, d rawDB) string {
	t.Helper()
	var s string
	q := `SELECT coalesce(string_agg(attempted_by::text, ' '), '') FROM river_job WHERE ` + passkeyJobKinds + ` AND state = 'running'`
	if err := d.pg.QueryRow(context.Background(), q).Scan(&s); err != nil {
		return err.Error()
	}
	return s
}

// node is one `passkeyd serve` child process.
type node struct {
	cmd  *exec.Cmd
	url  string
	env  []string
	log  *lockedBuffer
	done chan struct{} // closed once the process has exited
}

// startNode runs `passkeyd serve` and waits until it is ready.
func startNode(t *testing.T, bin string, env []string, home string) *node {
	t.Helper()
	n := &node{env: env, log: &lockedBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(bin, "serve")
	n.cmd.Env = append([]string{"HOME=" + home}, env...)
	n.cmd.Stdout = n.log
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go n.readLog(stderr, urls)
	t.Cleanup(func() {
		n.cmd.Process.Kill() // also ends a stopped process
		<-n.done
		if t.Failed() {
			t.Logf("log of passkeyd pid %d, without HTTP requests:\n%s", n.cmd.Process.Pid, n.log.tail(8<<10))
		}
	})
	select {
	case n.url = <-urls:
	case <-n.done:
		t.Fatalf("passkeyd exited before serving (%v):\n%s", n.cmd.ProcessState, n.log.tail(8<<10))
	case <-time.After(20 * time.Second):
		t.Fatalf("passkeyd did not serve within 20s:\n%s", n.log.tail(8<<10))
	}
	waitFor(t, 20*time.Second, "passkeyd to be ready", func() (bool, error) {
		select {
		case <-n.done:
			return false, errors.New("passkeyd exited")
		default:
		}
		resp, err := http.Get(n.url + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return n
}

var servingURL = regexp.MustCompile(`msg="passkeyd serving".* url=(\S+)`)

// readLog copies the process's log and reports the URL it serves on; it
// reaps the process once the log ends.
func (n *node) readLog(r io.Reader, urls chan<- string) {
	defer close(n.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		n.log.Write([]byte(line + "\n"))
		if m := servingURL.FindStringSubmatch(line); m != nil {
			select {
			case urls <- m[1]:
			default:
			}
		}
	}
	io.Copy(io.Discard, r)
	n.cmd.Wait()
}

func (n *node) pid() int { return n.cmd.Process.Pid }

var riverClientStarted = regexp.MustCompile(`msg="River client started".* client_id=(\S+)`)

// riverClientID is the node's River client ID, as it logged it.
func (n *node) riverClientID() string {
	if m := riverClientStarted.FindStringSubmatch(n.log.String()); m != nil {
		return m[1]
	}
	return ""
}

// admin is an admin API client of this node.
func (n *node) admin(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(n.url, client.WithToken(passkeyd.Secret(envValue(n.env, "PASSKEYD_BOOTSTRAP_TOKEN"))))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kill ends the process with SIGKILL: no shutdown, no deferred work.
func (n *node) kill(t *testing.T) {
	t.Helper()
	n.signal(t, syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Fatal("passkeyd survived SIGKILL")
	}
}

func (n *node) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to pid %d: %v", sig, n.pid(), err)
	}
}

// logContains reports whether one line of the log holds every part.
func (n *node) logContains(parts ...string) bool {
	for line := range strings.Lines(n.log.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// lockedBuffer is a log written by one goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail is the end of the log, up to n bytes, without the HTTP access
// lines (the test's polling would drown everything else).
func (l *lockedBuffer) tail(n int) string {
	var b strings.Builder
	for line := range strings.Lines(l.String()) {
		if !strings.Contains(line, `msg="http request"`) {
			b.WriteString(line)
		}
	}
	s := b.String()
	return s[max(0, len(s)-n):]
}

// procFront is a faultFront that also records, for every DELETE, the
// client's address (to tell which node sent it) and its answer.
type procFront struct {
	*faultFront
	clock   *emuClock
	callsMu sync.Mutex
	calls   map[string][]*deleteCall // by path, in arrival order
}

// deleteCall is one DELETE as the front saw it.
type deleteCall struct {
	remote   string
	status   int
	answered bool
}

// newProcFront starts the emulator behind a recording front.
func newProcFront(t *testing.T) *procFront {
	t.Helper()
	clock := &emuClock{}
	emu, err := entraemu.New(entraemu.Options{Logger: slog.New(slog.DiscardHandler), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	f := &faultFront{emu: emu, held: make(chan string, 64), release: make(chan struct{})}
	p := &procFront{faultFront: f, clock: clock, calls: map[string][]*deleteCall{}}
	f.srv = httptest.NewUnstartedServer(p)
	f.srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	f.srv.StartTLS()
	t.Cleanup(func() {
		f.releaseHeld()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return p
}

// env is the fault harness's view of a deployment whose nodes are
// processes (no in-process store).
func (p *procFront) env(t *testing.T, n *node, db rawDB) *faultEnv {
	t.Helper()
	return &faultEnv{emu: p.emu, clock: p.clock, front: p.faultFront, admin: n.admin(t), db: db, tenant: p.emu.Settings().TenantID}
}

func (p *procFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodDelete {
		p.faultFront.ServeHTTP(w, r)
		return
	}
	c := &deleteCall{remote: r.RemoteAddr}
	p.callsMu.Lock()
	p.calls[r.URL.Path] = append(p.calls[r.URL.Path], c)
	p.callsMu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	p.faultFront.ServeHTTP(sw, r)
	p.callsMu.Lock()
	c.status, c.answered = sw.status, sw.status != 0
	p.callsMu.Unlock()
}

// call is a copy of the i-th DELETE of path.
func (p *procFront) call(path string, i int) deleteCall {
	p.callsMu.Lock()
	defer p.callsMu.Unlock()
	if cs := p.calls[path]; i < len(cs) {
		return *cs[i]
	}
	return deleteCall{}
}

// awaitHeld waits until n DELETEs are held and returns their paths.
func (p *procFront) awaitHeld(t *testing.T, n int) []string {
	t.Helper()
	timeout := time.After(15 * time.Second)
	var paths []string
	for len(paths) < n {
		select {
		case path := <-p.held:
			paths = append(paths, path)
		case <-timeout:
			t.Fatalf("%d of %d DELETEs held after 15s", len(paths), n)
		}
	}
	return paths
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// socketOwner returns which of pids owns the TCP socket whose local
// address is addr (a client's address as a server saw it), from /proc.
func socketOwner(addr string, pids ...int) (int, error) {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return 0, err
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue // no IPv6
		}
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			if p, err := strconv.ParseUint(f[1][i+1:], 16, 16); err == nil && p == port && f[9] != "0" {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket on local port %d", port)
	}
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && inodes[link] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("none of %v owns local port %d", pids, port)
}
