// Package webtest starts the real Peregrine web server for tests, on a fresh database from
// pgtest, with the configuration a test asks for.
package webtest

import (
	"context"
	"database/sql"
	"flag"
	"github.com/labstack/echo/v4"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/platform"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/web"
)

// Server is a running Peregrine, its database and its ingest pipeline.
type Server struct {
	*httptest.Server
	Store    *store.Store
	DB       *sql.DB // the same database, for tests' own queries
	Pipeline *ingest.Pipeline
	Workers  *queue.Runner
	Metrics  *web.Metrics
	Secrets  *secrets.Box
	Echo     *echo.Echo // the routes, for tests that check them all
}

// Options adjust the server a test starts.
type Options struct {
	Env map[string]string
	// Log receives the server's log at debug level (default: nowhere, or stderr with
	// WEBTEST_LOG set).
	Log io.Writer
	// Workers is the number of processing and scoring goroutines (default 1; benchmarks
	// use the server's default of 2).
	Workers int
}

// Start serves Peregrine on a loopback port until the test ends. env holds configuration
// variables as the process environment would.
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	return StartWith(t, Options{Env: env})
}

// StartWith serves Peregrine with options until the test ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	env := opts.Env
	b := config.Bind(flag.NewFlagSet("test", flag.ContinueOnError), func(k string) string { return env[k] })
	cfg, err := b.Config()
	if err != nil {
		t.Fatal(err)
	}
	st, db := pgtest.NewStoreAndDB(t)
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &platform.Platform{Store: st, Secrets: box, SessionHashKey: key}
	srv := httptest.NewUnstartedServer(nil)
	if env["PEREGRINE_PUBLIC_URL"] == "" {
		// Links the server makes (invitations) must point at this test server.
		cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	}
	// By default the log's last warnings and errors are kept and shown only when the test
	// fails: a wait that gives up then says what the workers did (work retried, set aside)
	// instead of nothing.
	tail := &logTail{}
	var logOut io.Writer = tail
	level := slog.LevelWarn
	if os.Getenv("WEBTEST_LOG") != "" {
		logOut, level = os.Stderr, slog.LevelInfo
	}
	t.Cleanup(func() { // registered before the server stops, so it runs after: the log is complete
		if kept := tail.String(); t.Failed() && kept != "" {
			t.Logf("the server's last warnings and errors:\n%s", kept)
		}
	})
	if opts.Log != nil {
		logOut, level = opts.Log, slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	mailer, mailServer := notify.MailerFor(cfg)
	pipeline := ingest.New(st, box, log, ingest.Options{PublicURL: cfg.PublicURL, Outbound: outbound.Policy{AllowPrivate: cfg.AllowPrivateHosts},
		Mailer: mailer, MailServer: mailServer})
	metrics := web.NewMetrics(st, log)
	workers := web.NewWorkers(st, pipeline, log, web.WorkerOptions{Workers: max(opts.Workers, 1), Metrics: metrics})
	workers.Start(context.Background())
	e := web.New(cfg, p, pipeline, metrics, log)
	srv.Config.Handler = e
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		workers.Stop()
	})
	return &Server{Server: srv, Store: st, DB: db, Pipeline: pipeline, Workers: workers, Metrics: metrics, Secrets: box, Echo: e}
}

// logTail keeps the last logTailSize bytes written to it, for many goroutines at once.
type logTail struct {
	mu  sync.Mutex
	buf []byte
}

const logTailSize = 64 << 10

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - logTailSize; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...)
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
