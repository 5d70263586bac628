// Package webtest starts the real Peregrine web server for tests, on a fresh database from
// pgtest, with the configuration a test asks for.
package webtest

import (
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/platform"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/web"
)

// Server is a running Peregrine and its database.
type Server struct {
	*httptest.Server
	Store *store.Store
}

// Start serves Peregrine on a loopback port until the test ends. env holds configuration
// variables as the process environment would.
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	b := config.Bind(flag.NewFlagSet("test", flag.ContinueOnError), func(k string) string { return env[k] })
	cfg, err := b.Config()
	if err != nil {
		t.Fatal(err)
	}
	st := pgtest.NewStore(t)
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &platform.Platform{Store: st, Secrets: box, SessionHashKey: key, SessionBlockKey: key}
	srv := httptest.NewUnstartedServer(nil)
	if env["PEREGRINE_PUBLIC_URL"] == "" {
		// Links the server makes (invitations) must point at this test server.
		cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	}
	srv.Config.Handler = web.New(cfg, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Start()
	t.Cleanup(srv.Close)
	return &Server{Server: srv, Store: st}
}
