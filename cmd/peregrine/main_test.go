package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"github.com/peregrine-scoring/peregrine/web/webtest"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/pgembed"
)

// The test binary doubles as the peregrine command when asked, so the tests below drive the
// real main (flags, signals, embedded PostgreSQL) in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("PEREGRINE_TEST_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type instance struct {
	t       *testing.T
	dataDir string
	env     []string
}

func newInstance(t *testing.T) *instance {
	dir, err := os.MkdirTemp("", "peregrine-run-")
	if err != nil {
		t.Fatal(err)
	}
	// The postgres user must be able to enter the folder when the tests run as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, dataDir: filepath.Join(dir, "data")}
	t.Cleanup(func() {
		if c, err := pgembed.New(in.dataDir, true); err == nil && c.Running(context.Background()) {
			c.Stop(context.Background())
		}
		os.RemoveAll(dir)
	})
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "PEREGRINE_") && !strings.HasPrefix(kv, "PORT=") {
			in.env = append(in.env, kv)
		}
	}
	in.env = append(in.env, "PEREGRINE_TEST_RUN_MAIN=1", "PEREGRINE_DATA_DIR="+in.dataDir)
	return in
}

func (in *instance) command(extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append([]string{}, in.env...), extraEnv...)
	return cmd
}

// runCLI runs a command to completion and returns its exit code, stdout and stderr.
func (in *instance) runCLI(stdin string, extraEnv []string, args ...string) (int, string, string) {
	in.t.Helper()
	cmd := in.command(extraEnv, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		in.t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

type server struct {
	cmd     *exec.Cmd
	url     string
	private string // the metrics and profiles address, when asked for
	stdout  *webtest.Buffer
	stderr  *webtest.Buffer
	started time.Time
	ready   time.Duration
	exited  chan struct{} // closed when the process has ended, exitErr then set
	exitErr error
}

// wait waits for the server process to end and returns how it ended.
func (s *server) wait() error {
	<-s.exited
	return s.exitErr
}

// waitFor reports whether the output b (exec copies into it from its own goroutine, so what
// the child printed may arrive a moment after it answered) comes to contain s within a minute
// (a hang detector).
func waitFor(b *webtest.Buffer, s string) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(b.String(), s) {
			return true
		}
	}
	return false
}

// startServer starts "serve" on a free address (and, with metrics, a private listener on
// another) and waits until it is ready. A free address can be taken by another process
// before the server binds it: the server then exits at once, and is started again on others.
func (in *instance) startServer(metrics bool) *server {
	in.t.Helper()
	for attempt := 1; ; attempt++ {
		s := in.launch(metrics)
		if s.waitReady(90 * time.Second) {
			return s
		}
		if attempt < 3 && s.hasExited() && strings.Contains(s.stderr.String(), "address already in use") {
			continue
		}
		in.t.Fatalf("server not ready in 90s (its process ended: %v); stderr:\n%s", s.hasExited(), s.stderr)
	}
}

// launch starts "serve" on free addresses.
func (in *instance) launch(metrics bool) *server {
	in.t.Helper()
	addr := freeAddr(in.t)
	var env []string
	s := &server{url: "http://" + addr, stdout: &webtest.Buffer{}, stderr: &webtest.Buffer{}, exited: make(chan struct{})}
	if metrics {
		s.private = freeAddr(in.t)
		env = append(env, "PEREGRINE_METRICS_ADDR="+s.private)
	}
	s.cmd = in.command(env, "serve", "--addr", addr)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() { s.cmd.Process.Kill() })
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return s
}

// waitReady polls /readyz until it answers 200 (then sets ready), the process ends, or the
// time is up.
func (s *server) waitReady(limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && !s.hasExited(); time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(s.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.ready = time.Since(s.started)
				return true
			}
		}
	}
	return false
}

func (s *server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
		err := s.exitErr
		if err != nil {
			t.Fatalf("server exited with %v; stderr:\n%s", err, s.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not stop within 60s of SIGTERM; stderr:\n%s", s.stderr)
	}
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (in *instance) postgresRunning() bool {
	_, err := os.Stat(filepath.Join(in.dataDir, "pgdata", "postmaster.pid"))
	return err == nil
}

func TestEmbeddedPostgresLifecycle(t *testing.T) {
	in := newInstance(t)

	// Cold start: initdb, start PostgreSQL, migrate, serve.
	s := in.startServer(false)
	t.Logf("cold start to ready: %v", s.ready.Round(time.Millisecond))
	if !waitFor(s.stdout, "open "+s.url) {
		t.Fatalf("start-up does not print the URL to open:\n%s", s.stdout)
	}
	res, err := noRedirect().Get(s.url + "/")
	if err != nil || res.Header.Get("Location") != "/signup" {
		t.Fatalf("fresh server / -> %v %v, want /signup", res.Header.Get("Location"), err)
	}
	for _, key := range []string{"session.key", "secret.key"} {
		info, err := os.Stat(filepath.Join(in.dataDir, key))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v, want 0600", key, err, info.Mode().Perm())
		}
	}

	// fsync stays on for real data.
	c, err := pgembed.New(in.dataDir, true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", c.URL("peregrine"))
	if err != nil {
		t.Fatal(err)
	}
	var fsync string
	if err := db.QueryRow(`SHOW fsync`).Scan(&fsync); err != nil || fsync != "on" {
		t.Fatalf("fsync = %q, %v", fsync, err)
	}
	var migrations int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&migrations); err != nil || migrations == 0 {
		t.Fatalf("schema_migrations: %d %v", migrations, err)
	}
	db.Close()

	// The CLI reuses the running cluster and leaves it running for the server.
	code, out, errOut := in.runCLI("", []string{"PEREGRINE_ADMIN_PASSWORD=a very long password"},
		"workspace", "create", "--name", "Acme Corp", "--admin-email", "ops@acme.com")
	if code != 0 || strings.TrimSpace(out) != "acme-corp" {
		t.Fatalf("workspace create: %d %q %s", code, out, errOut)
	}
	if res, err := http.Get(s.url + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Fatal("server lost its database after the CLI ran")
	}

	s.stop(t)
	if in.postgresRunning() {
		t.Fatalf("PostgreSQL still running after the server stopped; server log:\n%s\n%s", s.stderr, tailFile(filepath.Join(in.dataDir, "postgresql.log")))
	}
	if !waitFor(s.stderr, "stopped embedded PostgreSQL") {
		t.Fatalf("shutdown log:\n%s", s.stderr)
	}

	// With the server down, the CLI starts the cluster itself and stops it again.
	code, out, errOut = in.runCLI("another long password\n", nil, "workspace", "create", "--name", "Beta", "--admin-email", "b@beta.io")
	if code != 0 || strings.TrimSpace(out) != "beta" {
		t.Fatalf("workspace create while stopped: %d %q %s", code, out, errOut)
	}
	if in.postgresRunning() {
		t.Fatalf("the CLI left PostgreSQL running; CLI log:\n%s", errOut)
	}

	// Data survives the restart: sign-up is closed and the CLI's admin can sign in. This time
	// with a private listener for metrics and profiles, which the main address never serves.
	s = in.startServer(true)
	private := s.private
	t.Logf("warm start to ready: %v", s.ready.Round(time.Millisecond))
	for path, want := range map[string]int{"http://" + private + "/metrics": 200, "http://" + private + "/debug/pprof/heap": 200,
		"http://" + private + "/debug/pprof/": 200, s.url + "/metrics": 404, s.url + "/debug/pprof/heap": 404} {
		res, err := http.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.HasSuffix(path, "/metrics") && want == 200 && !strings.Contains(string(body), "peregrine_queue_depth{queue=\"inbound\"}") {
			t.Fatalf("private /metrics lacks the queue figures:\n%.2000s", body)
		}
	}
	res, err = noRedirect().Get(s.url + "/")
	if err != nil || res.Header.Get("Location") != "/login" {
		t.Fatalf("restarted server / -> %q, want /login", res.Header.Get("Location"))
	}
	form := url.Values{"email": {"b@beta.io"}, "password": {"another long password"}}
	req, _ := http.NewRequest(http.MethodPost, s.url+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err = noRedirect().Do(req)
	if err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("login after restart: %v %v %s", res.StatusCode, err, body)
	}
	s.stop(t)
}

func TestInvalidConfigurationExitsWithStatus2(t *testing.T) {
	in := newInstance(t)
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"serve", "--log-level", "loud"}, "PEREGRINE_LOG_LEVEL"},
		{[]string{"PORT=eighty"}, []string{"serve"}, "PORT"},
		{[]string{"PEREGRINE_SECRET_KEY=too-short"}, []string{"migrate"}, "PEREGRINE_SECRET_KEY"},
		{nil, []string{"serve", "--no-such-flag"}, "no-such-flag"},
		{nil, []string{"frobnicate"}, "unknown command"},
		{nil, []string{"workspace", "create", "--name", "X"}, "--admin-email"},
	} {
		code, _, errOut := in.runCLI("", tc.env, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 mentioning %s", tc.env, tc.args, code, errOut, tc.want)
		}
	}
	if in.postgresRunning() {
		t.Fatal("an invalid configuration started PostgreSQL")
	}
}

func TestWorkspaceCreateRejectsBadInput(t *testing.T) {
	in := newInstance(t)
	code, _, errOut := in.runCLI("short\n", nil, "workspace", "create", "--name", "Acme", "--admin-email", "ops@acme.com")
	if code != 2 || !strings.Contains(errOut, "12 characters") {
		t.Fatalf("short password: %d %s", code, errOut)
	}
	code, out, _ := in.runCLI("", nil, "migrate")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %s", code, out)
	}
	code, out, _ = in.runCLI("", []string{"PEREGRINE_ADMIN_PASSWORD=a very long password"}, "workspace", "create", "--name", "Acme", "--admin-email", "ops@acme.com")
	if code != 0 || strings.TrimSpace(out) != "acme" {
		t.Fatalf("create: %d %s", code, out)
	}
	code, _, errOut = in.runCLI("", []string{"PEREGRINE_ADMIN_PASSWORD=a very long password"}, "workspace", "create", "--name", "Acme", "--admin-email", "ops@acme.com")
	if code != 2 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate admin email: %d %s", code, errOut)
	}
}

// TestDatabaseStoppedWhilePosting stops the embedded PostgreSQL under a running server:
// Currents batches get 503 with Retry-After (never 400, never a 200 for unstored data); once
// PostgreSQL is back, batches are accepted again and every acknowledged event is there.
func TestDatabaseStoppedWhilePosting(t *testing.T) {
	in := newInstance(t)
	s := in.startServer(false)
	code, _, errOut := in.runCLI("", []string{"PEREGRINE_ADMIN_PASSWORD=a very long password"},
		"workspace", "create", "--name", "Acme", "--admin-email", "ops@acme.com")
	if code != 0 {
		t.Fatal(errOut)
	}
	code, token, errOut := in.runCLI("", nil, "token", "create", "--workspace", "acme", "--kind", "currents", "--label", "Braze")
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, "pgc_") {
		t.Fatalf("token create: %d %q %s", code, token, errOut)
	}
	if code, _, errOut := in.runCLI("", nil, "token", "create", "--workspace", "nope", "--label", "x"); code != 2 || !strings.Contains(errOut, "no workspace") {
		t.Fatalf("unknown workspace: %d %s", code, errOut)
	}
	post := func(id string) (int, string) {
		body := `{"events":[{"id":"` + id + `","event_type":"users.messages.email.Open","time":1773000000,"user":{"user_id":"u1"},"properties":{"email_address":"anna@acme.example.com","campaign_name":"C"}}]}`
		req, _ := http.NewRequest(http.MethodPost, s.url+"/api/braze/currents/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.StatusCode, res.Header.Get("Retry-After")
	}
	if status, _ := post("before"); status != 200 {
		t.Fatalf("before: %d", status)
	}
	cluster, err := pgembed.New(in.dataDir, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		status, retry := post(fmt.Sprintf("during-%d", i))
		if status != http.StatusServiceUnavailable || retry == "" {
			t.Fatalf("database down: status %d, Retry-After %q; want 503 with Retry-After", status, retry)
		}
	}
	if res, err := http.Get(s.url + "/readyz"); err != nil || res.StatusCode != 503 {
		t.Fatal("readyz does not report the database down")
	}
	if _, err := cluster.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var status int
	for i := 0; i < 50; i++ {
		if status, _ = post("after"); status == 200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("after restart: %d", status)
	}
	db, err := sql.Open("postgres", cluster.URL("peregrine"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []string
	rows, _ := db.Query(`SELECT event_id FROM inbound_events ORDER BY event_id`)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if strings.Join(ids, ",") != "after,before" {
		t.Fatalf("stored events %v, want exactly the acknowledged ones (after, before)", ids)
	}
	s.stop(t)
}

// TestDemoFillsAWorkspace sends simulated traffic through the real endpoint of a running server.
func TestDemoFillsAWorkspace(t *testing.T) {
	in := newInstance(t)
	s := in.startServer(false)
	if code, _, errOut := in.runCLI("", []string{"PEREGRINE_ADMIN_PASSWORD=a very long password"},
		"workspace", "create", "--name", "Demo Co", "--admin-email", "ops@demo.example.com"); code != 0 {
		t.Fatal(errOut)
	}
	// No --url: the demo finds the server running on this data folder.
	code, out, errOut := in.runCLI("", nil, "demo", "--workspace", "demo-co", "--people", "60", "--companies", "12", "--days", "20")
	if code != 0 || !strings.Contains(out, "sent ") || !strings.Contains(out, "filled") {
		t.Fatalf("demo: %d %s %s", code, out, errOut)
	}
	cluster, _ := pgembed.New(in.dataDir, true)
	db, err := sql.Open("postgres", cluster.URL("peregrine"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var leads, activities, accounts, activeTokens int
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		db.QueryRow(`SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM activities), (SELECT count(*) FROM accounts),
			(SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL)`).Scan(&leads, &activities, &accounts, &activeTokens)
		if leads >= 30 && activities > leads && db.QueryRow(`SELECT 1 FROM inbound_queue LIMIT 1`).Scan(new(int)) != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if leads < 30 || activities <= leads || accounts < 3 || accounts > 12 {
		t.Fatalf("after the demo: %d leads, %d activities, %d accounts", leads, activities, accounts)
	}
	if activeTokens != 0 {
		t.Fatalf("the demo left %d active tokens", activeTokens)
	}
	// Realistic people: grades spread over at least four letters, and every temperature band
	// of active leads holds some, once the server has scored the profiles.
	var grades, temps int
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		db.QueryRow(`SELECT count(DISTINCT grade), count(DISTINCT temperature) FILTER (WHERE temperature IN ('hot', 'warm', 'neutral', 'cold'))
			FROM leads`).Scan(&grades, &temps)
		if grades >= 4 && temps == 4 {
			break
		}
	}
	if grades < 4 || temps != 4 {
		rows, _ := db.Query(`SELECT grade, temperature, count(*) FROM leads GROUP BY 1, 2 ORDER BY 1, 2`)
		var seen []string
		for rows != nil && rows.Next() {
			var g, tp string
			var n int
			rows.Scan(&g, &tp, &n)
			seen = append(seen, fmt.Sprintf("%s/%s:%d", g, tp, n))
		}
		t.Fatalf("after the demo: %d grades and %d temperature bands in use: %v", grades, temps, seen)
	}
	if code, _, errOut := in.runCLI("", nil, "demo", "--workspace", "nope"); code != 2 || !strings.Contains(errOut, "no workspace") {
		t.Fatalf("unknown workspace: %d %s", code, errOut)
	}
	s.stop(t)
}

func TestSiteCreate(t *testing.T) {
	in := newInstance(t)
	if code, _, errOut := in.runCLI("", []string{"PEREGRINE_ADMIN_PASSWORD=a very long password"}, "workspace", "create", "--name", "Acme", "--admin-email", "ops@acme.com"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := in.runCLI("", []string{"PEREGRINE_PUBLIC_URL=https://peregrine.acme.com"}, "site", "create", "--workspace", "acme",
		"--name", "Acme website", "--origin", "https://www.acme.com", "--origin", "https://app.acme.com/")
	if code != 0 || !strings.Contains(out, "site key: ps_") ||
		!regexp.MustCompile(`<script src="https://peregrine\.acme\.com/t\.js" data-site="ps_[a-z0-9]+_[A-Za-z0-9_-]+" defer></script>`).MatchString(out) {
		t.Fatalf("site create: %d %s %s", code, out, errOut)
	}
	code, _, errOut = in.runCLI("", nil, "site", "create", "--workspace", "acme", "--name", "Bad", "--origin", "www.acme.com")
	if code != 2 || !strings.Contains(errOut, "not an origin") {
		t.Fatalf("bad origin: %d %s", code, errOut)
	}
	if code, _, errOut = in.runCLI("", nil, "site", "create", "--workspace", "acme", "--name", "No origin"); code != 2 || !strings.Contains(errOut, "--origin") {
		t.Fatalf("no origin: %d %s", code, errOut)
	}
}
