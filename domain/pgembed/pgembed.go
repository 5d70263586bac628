// Package pgembed runs a PostgreSQL cluster from the system's binaries inside a folder of ours:
// the default database of `make run`, and the throwaway cluster of the tests.
//
// The cluster is started with pg_ctl, so it outlives a crash of the process that started it;
// the next start finds it running and reuses it. It listens on a unix socket only, in a folder
// only its owner can enter, with trust authentication: reaching the socket is the credential.
package pgembed

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the PostgreSQL driver
)

// Superuser is the database role initdb creates for us.
const Superuser = "postgres"

// Cluster is one PostgreSQL data folder and how to run it.
type Cluster struct {
	BinDir    string // folder holding initdb, pg_ctl and postgres
	DataDir   string // the cluster's files
	SocketDir string // where the unix socket lives
	Port      int    // names the socket file; no TCP port is opened
	LogFile   string
	// Fsync must stay true for real data; tests turn it off for speed.
	Fsync bool
	// AppName tags this process's connections, so OtherClients can tell them from others'.
	AppName string
	// Preload names server libraries to load at start (shared_preload_libraries), such as
	// pg_stat_statements for a benchmark that reports each statement's time.
	Preload []string

	runAs *syscall.Credential // set when we are root and must run as the postgres user
}

// New describes a cluster kept under root: root/pgdata, root/run and root/postgresql.log.
func New(root string, fsync bool) (*Cluster, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		BinDir:    bin,
		DataDir:   filepath.Join(abs, "pgdata"),
		SocketDir: filepath.Join(abs, "run"),
		Port:      5432,
		LogFile:   filepath.Join(abs, "postgresql.log"),
		Fsync:     fsync,
		AppName:   fmt.Sprintf("peregrine-%d", os.Getpid()),
	}
	if len(filepath.Join(c.SocketDir, ".s.PGSQL.5432")) > 107 {
		return nil, fmt.Errorf("the data folder path %s is too long for a PostgreSQL unix socket (max 107 bytes); choose a shorter --data-dir", abs)
	}
	if os.Geteuid() == 0 {
		cred, err := postgresCredential()
		if err != nil {
			return nil, err
		}
		c.runAs = cred
	}
	return c, nil
}

// FindBinDir locates the PostgreSQL server binaries: PATH first, then pg_config, then the
// newest /usr/lib/postgresql/*/bin (Debian keeps them off PATH).
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if fileExists(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if fileExists(filepath.Join(dir, "pg_ctl")) && fileExists(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if fileExists(filepath.Join(dir, "pg_ctl")) && fileExists(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `apt-get install postgresql`, or set DATABASE_URL to use an existing database")
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, but there is no `postgres` system user to run PostgreSQL as (PostgreSQL refuses to run as root); install the postgresql package or run as another user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// URL is the connection string for database name on this cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres:///%s?host=%s&port=%d&user=%s&sslmode=disable&application_name=%s",
		database, c.SocketDir, c.Port, Superuser, c.AppName)
}

// Initialized reports whether the data folder holds a cluster.
func (c *Cluster) Initialized() bool {
	return fileExists(filepath.Join(c.DataDir, "PG_VERSION"))
}

// Running reports whether a server is running on this data folder and accepts connections.
func (c *Cluster) Running(ctx context.Context) bool {
	if !fileExists(filepath.Join(c.DataDir, "postmaster.pid")) {
		return false
	}
	return c.ping(ctx) == nil
}

func (c *Cluster) ping(ctx context.Context) error {
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Start initialises the cluster if needed and starts it unless it already runs. It reports
// whether this call started it, so only the starter stops it. A lock file makes concurrent
// starts (a server and a CLI command) take turns.
func (c *Cluster) Start(ctx context.Context) (started bool, err error) {
	if err := c.prepareFolders(); err != nil {
		return false, err
	}
	unlock, err := lockFile(filepath.Join(filepath.Dir(c.DataDir), "pg.lock"))
	if err != nil {
		return false, err
	}
	defer unlock()

	if !c.Initialized() {
		if err := c.initdb(ctx); err != nil {
			return false, err
		}
	}
	if c.Running(ctx) {
		return false, nil
	}
	if err := c.writeSettings(); err != nil {
		return false, err
	}
	cmd := c.command(ctx, "pg_ctl", "start", "-D", c.DataDir, "-l", c.LogFile, "-w", "-t", "60", "-s")
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("PostgreSQL did not start: %v: %s\n%s", err, strings.TrimSpace(string(out)), tail(c.LogFile, 15))
	}
	return true, nil
}

// Stop shuts the cluster down (fast mode: open transactions roll back, nothing committed is lost).
func (c *Cluster) Stop(ctx context.Context) error {
	cmd := c.command(ctx, "pg_ctl", "stop", "-D", c.DataDir, "-m", "fast", "-w", "-t", "60", "-s")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("PostgreSQL did not stop: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// OtherClients counts connections of other processes to the cluster, so a process does not
// stop a cluster another one still uses. This process's own connections are told apart by
// their application name: a closed pool's backends can linger for a moment after Close.
func (c *Cluster) OtherClients(ctx context.Context) (int, error) {
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `
		SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND application_name <> $1`, c.AppName).Scan(&n)
	return n, err
}

// CreateDatabase creates the database unless it exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("unable to list databases: %w", err)
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(name))
	return err
}

func (c *Cluster) initdb(ctx context.Context) error {
	cmd := c.command(ctx, "initdb", "-D", c.DataDir, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(c.DataDir) // a half-made cluster would block the next try
		return fmt.Errorf("initdb failed: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	conf := filepath.Join(c.DataDir, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString("\n# Peregrine writes its settings here at every start.\ninclude_if_exists = 'peregrine.conf'\n")
	return err
}

// writeSettings records where the socket lives at each start, so a moved project folder works.
func (c *Cluster) writeSettings() error {
	fsync := "on"
	extra := ""
	if !c.Fsync {
		fsync = "off"
		extra = "synchronous_commit = off\nfull_page_writes = off\n"
	}
	if len(c.Preload) > 0 {
		extra += fmt.Sprintf("shared_preload_libraries = '%s'\n", strings.ReplaceAll(strings.Join(c.Preload, ","), "'", "''"))
	}
	settings := fmt.Sprintf(`listen_addresses = ''
unix_socket_directories = '%s'
unix_socket_permissions = 0700
port = %d
fsync = %s
%smax_connections = 200
# Ingest writes a lot: fewer checkpoints mean fewer full-page images in the WAL, and
# compressing those that remain halves their size. Durability is unchanged (fsync and
# synchronous_commit stay as above).
shared_buffers = 256MB
max_wal_size = 8GB
min_wal_size = 512MB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
wal_compression = lz4
wal_buffers = 16MB
# Queue and event tables grow by hundreds of thousands of rows a minute: keep their statistics
# (and the queues' dead rows) current, or plans go stale within a burst.
autovacuum_naptime = 10s
# Concurrent commits (several Currents batches at once) share one WAL flush.
commit_delay = 200
commit_siblings = 3
`, strings.ReplaceAll(c.SocketDir, "'", "''"), c.Port, fsync, extra)
	path := filepath.Join(c.DataDir, "peregrine.conf")
	if err := os.WriteFile(path, []byte(settings), 0o600); err != nil {
		return err
	}
	return c.chown(path)
}

func (c *Cluster) prepareFolders() error {
	root := filepath.Dir(c.DataDir)
	for _, dir := range []string{root, c.SocketDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(c.SocketDir, 0o700); err != nil {
		return err
	}
	if c.runAs == nil {
		return nil
	}
	if err := checkTraversable(root); err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(c.LogFile); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(c.LogFile, nil, 0o600); err != nil {
			return err
		}
	}
	for _, p := range []string{c.DataDir, c.SocketDir, c.LogFile} {
		if err := c.chown(p); err != nil {
			return err
		}
	}
	return nil
}

// checkTraversable makes sure the postgres user can reach dir: every folder above it must be
// searchable by others, which is not so for a checkout under /root.
func checkTraversable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("PostgreSQL runs as the postgres user, which cannot enter %s (mode %v); choose a --data-dir outside it (e.g. /var/lib/peregrine) or set DATABASE_URL", d, info.Mode().Perm())
		}
		if d == "/" || d == filepath.Dir(d) {
			return nil
		}
	}
}

func (c *Cluster) chown(path string) error {
	if c.runAs == nil {
		return nil
	}
	return os.Chown(path, int(c.runAs.Uid), int(c.runAs.Gid))
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if c.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.runAs}
		cmd.Dir = "/"
	}
	// Keep the server out of our process group so a Ctrl-C in the terminal reaches only us;
	// we then stop it ourselves after the web server has drained.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return cmd
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
