package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/peregrine-scoring/peregrine/cmd/internal/demo"
	"github.com/peregrine-scoring/peregrine/cmd/internal/loadgen"
	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/platform"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/web"
)

const usage = `Peregrine — lead and account scoring.

Usage:
  peregrine [serve] [flags]                      start the web server (default)
  peregrine migrate [flags]                      apply database migrations and exit
  peregrine workspace create --name NAME --admin-email EMAIL [--admin-name NAME] [flags]
                                                 create a workspace and its admin; prints the slug
                                                 (password from PEREGRINE_ADMIN_PASSWORD or stdin)
  peregrine token create --workspace SLUG --kind currents|segment|api --label LABEL [--scopes S,S] [--expires DAY]
                                                 create an API token; prints it (shown only once)
  peregrine site create --workspace SLUG --name NAME --origin URL [--origin URL] [--require-consent]
                                                 add a tracked website; prints its key and the
                                                 snippet to paste into its pages
  peregrine demo --workspace SLUG [--people 3000] [--companies 300] [--days 90]
                                                 send realistic simulated Braze traffic to the
                                                 running server, so a workspace comes alive
  peregrine loadgen --url URL --token TOKEN [--clients 8] [--duration 30s] [--rate 0]
                                                 post Currents batches and report throughput

Run 'peregrine COMMAND -h' for the flags of a command. Every flag has an environment variable.
`

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return e.serve(args)
	case "migrate":
		return e.migrate(args)
	case "workspace":
		if len(args) > 0 && args[0] == "create" {
			return e.workspaceCreate(args[1:])
		}
		fmt.Fprint(stderr, "peregrine workspace: the only subcommand is `create`\n\n"+usage)
		return exitUsage
	case "token":
		if len(args) > 0 && args[0] == "create" {
			return e.tokenCreate(args[1:])
		}
		fmt.Fprint(stderr, "peregrine token: the only subcommand is `create`\n\n"+usage)
		return exitUsage
	case "site":
		if len(args) > 0 && args[0] == "create" {
			return e.siteCreate(args[1:])
		}
		fmt.Fprint(stderr, "peregrine site: the only subcommand is `create`\n\n"+usage)
		return exitUsage
	case "loadgen":
		return e.loadgen(args)
	case "demo":
		return e.demo(args)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "peregrine: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// setup parses flags and configuration; a non-nil status means stop with it.
func (e env) setup(fs *flag.FlagSet, args []string) (*config.Config, *slog.Logger, *int) {
	fs.SetOutput(e.stderr)
	binder := config.Bind(fs, e.getenv)
	if err := fs.Parse(args); err != nil {
		status := exitUsage
		if errors.Is(err, flag.ErrHelp) {
			status = exitOK
		}
		return nil, nil, &status
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "peregrine: unexpected argument %q\n", fs.Arg(0))
		status := exitUsage
		return nil, nil, &status
	}
	cfg, err := binder.Config()
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine:", err)
		status := exitUsage
		return nil, nil, &status
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var handler slog.Handler = slog.NewTextHandler(e.stderr, opts)
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(e.stderr, opts)
	}
	return cfg, slog.New(handler), nil
}

func (e env) open(ctx context.Context, cfg *config.Config, log *slog.Logger, migrate bool) (*platform.Platform, int) {
	p, err := platform.Open(ctx, cfg, log, platform.Options{Migrate: migrate})
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine:", err)
		if config.IsConfigError(err) {
			return nil, exitUsage
		}
		return nil, exitFailure
	}
	return p, exitOK
}

func (e env) serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, log, status := e.setup(fs, args)
	if status != nil {
		return *status
	}
	// A soft memory limit keeps a busy server small, and a lazier collector below it saves
	// scoring CPU; GOMEMLIMIT and GOGC override them.
	config.TuneRuntime(e.getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Listen before opening the database, so a busy port fails fast and clearly.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "peregrine: cannot listen on %s: %v (set PORT or --addr to use another)\n", cfg.Addr, err)
		return exitFailure
	}
	p, code := e.open(ctx, cfg, log, true)
	if p == nil {
		ln.Close()
		return code
	}
	defer p.Close(context.Background())

	pipeline := ingest.New(p.Store, p.Secrets, log, pipelineOptions(cfg))
	metrics := web.NewMetrics(p.Store, log)
	workers := web.NewWorkers(p.Store, pipeline, log, web.WorkerOptions{Workers: cfg.Workers, PoolSize: cfg.DBMaxConns, Timeout: cfg.WorkTimeout, Metrics: metrics,
		ComputeBatches: cfg.ComputeBatches})
	workers.Start(context.Background())
	defer workers.Stop()
	server := web.New(cfg, p, pipeline, metrics, log)
	server.Listener = ln
	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, metrics.Handler(), log)
		if err != nil {
			fmt.Fprintf(e.stderr, "peregrine: cannot listen on --metrics-addr %s: %v\n", cfg.MetricsAddr, err)
			return exitFailure
		}
		defer stopMetrics()
	}
	// Say so before serving: the listener is bound, so the first requests wait for the server,
	// and whoever sees /readyz answer has seen the address to open.
	// Other commands on this machine (peregrine demo) find the running server here.
	urlFile := filepath.Join(cfg.DataDir, serverURLFile)
	if err := os.WriteFile(urlFile, []byte(cfg.PublicURL+"\n"), 0o644); err == nil {
		defer os.Remove(urlFile)
	}
	log.Info("Peregrine is ready", "url", cfg.PublicURL, "database", p.Describe())
	fmt.Fprintf(e.stdout, "\n  Peregrine is running: open %s\n  (Ctrl-C to stop)\n\n", cfg.PublicURL)
	errs := make(chan error, 1)
	go func() { errs <- server.Start(cfg.Addr) }()

	select {
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "err", err)
			return exitFailure
		}
	case <-ctx.Done():
		log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		log.Error("graceful shutdown incomplete", "err", err)
	}
	return exitOK
}

// serveMetrics serves Prometheus metrics, and Go's profiles under /debug/pprof/, alone on a
// separate address (meant for a private network or loopback, never the public one), and
// returns the function that stops it.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving /metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

func (e env) migrate(args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg, log, status := e.setup(fs, args)
	if status != nil {
		return *status
	}
	p, code := e.open(context.Background(), cfg, log, true)
	if p == nil {
		return code
	}
	p.Close(context.Background())
	fmt.Fprintln(e.stdout, "migrations are up to date")
	return exitOK
}

func (e env) workspaceCreate(args []string) int {
	fs := flag.NewFlagSet("workspace create", flag.ContinueOnError)
	name := fs.String("name", "", "workspace name (required)")
	email := fs.String("admin-email", "", "email of the first admin (required)")
	adminName := fs.String("admin-name", "", "name of the first admin (default: the part of the email before @)")
	cfg, log, status := e.setup(fs, args)
	if status != nil {
		return *status
	}
	if *name == "" || *email == "" {
		fmt.Fprintln(e.stderr, "peregrine workspace create: --name and --admin-email are required")
		return exitUsage
	}
	if *adminName == "" {
		*adminName, _, _ = strings.Cut(*email, "@")
	}
	password, err := e.readPassword()
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine workspace create:", err)
		return exitUsage
	}
	ctx := context.Background()
	p, code := e.open(ctx, cfg, log, true)
	if p == nil {
		return code
	}
	defer p.Close(ctx)
	ws, _, err := workspaces.New(p.Store, true).CreateWorkspace(ctx, workspaces.SignUpInput{
		WorkspaceName: *name, Name: *adminName, Email: *email, Password: password,
	})
	var fe workspaces.FieldErrors
	if errors.As(err, &fe) {
		for field, msg := range fe {
			fmt.Fprintf(e.stderr, "peregrine workspace create: %s: %s\n", field, msg)
		}
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine workspace create:", err)
		return exitFailure
	}
	fmt.Fprintln(e.stdout, ws.Slug)
	return exitOK
}

// readPassword takes PEREGRINE_ADMIN_PASSWORD, or the first line of standard input (prompting
// without echo on a terminal).
func (e env) readPassword() (string, error) {
	if pw := e.getenv("PEREGRINE_ADMIN_PASSWORD"); pw != "" {
		return pw, nil
	}
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Admin password (at least 12 characters): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", errors.New("no password: set PEREGRINE_ADMIN_PASSWORD or pipe it on standard input")
	}
	return line, nil
}

func (e env) tokenCreate(args []string) int {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	slug := fs.String("workspace", "", "workspace slug (required)")
	kind := fs.String("kind", model.TokenKindCurrents, "token kind: currents (Braze), segment or api (the open API)")
	label := fs.String("label", "", "label shown in the token list (required)")
	scopes := fs.String("scopes", "", "api tokens: comma-separated scopes ("+strings.Join(model.Scopes, ", ")+")")
	expires := fs.String("expires", "", "api tokens: the last day it works, as 2027-03-31 (UTC; empty: no expiry)")
	actsFor := fs.String("acts-for", "", "api tokens: the email of a user whose data access the token has (empty: every lead)")
	cfg, log, status := e.setup(fs, args)
	if status != nil {
		return *status
	}
	if *slug == "" || *label == "" {
		fmt.Fprintln(e.stderr, "peregrine token create: --workspace and --label are required")
		return exitUsage
	}
	ctx := context.Background()
	p, ws, code := e.openWorkspace(ctx, cfg, log, "token create", *slug)
	if p == nil {
		return code
	}
	defer p.Close(ctx)
	var token string
	var err error
	if *kind == model.TokenKindAPI {
		var until *time.Time
		if *expires != "" {
			day, perr := time.Parse(time.DateOnly, *expires)
			if perr != nil {
				fmt.Fprintln(e.stderr, "peregrine token create: --expires must be a day like 2027-03-31")
				return exitUsage
			}
			end := day.AddDate(0, 0, 1)
			until = &end
		}
		var list []string
		for _, sc := range strings.Split(*scopes, ",") {
			if sc = strings.TrimSpace(sc); sc != "" {
				list = append(list, sc)
			}
		}
		spec := ingest.APITokenSpec{Label: *label, Scopes: list, Expires: until}
		if *actsFor != "" {
			u, uerr := p.Store.UserByEmail(ctx, ws.ID, strings.ToLower(strings.TrimSpace(*actsFor)))
			if uerr != nil {
				fmt.Fprintln(e.stderr, "peregrine token create: --acts-for names no user of the workspace")
				return exitUsage
			}
			spec.ActsFor = &u.ID
		}
		token, _, err = ingest.CreateAPIToken(ctx, p.Store, ws.ID, spec)
	} else {
		token, _, err = ingest.CreateToken(ctx, p.Store, ws.ID, *kind, *label, nil)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine token create:", err)
		return exitUsage
	}
	fmt.Fprintln(e.stdout, token)
	return exitOK
}

// origins collects repeated --origin flags.
type origins []string

func (o *origins) String() string     { return strings.Join(*o, ",") }
func (o *origins) Set(v string) error { *o = append(*o, v); return nil }

func (e env) siteCreate(args []string) int {
	fs := flag.NewFlagSet("site create", flag.ContinueOnError)
	slug := fs.String("workspace", "", "workspace slug (required)")
	name := fs.String("name", "", "the site's name, e.g. \"Acme website\" (required)")
	var allowed origins
	fs.Var(&allowed, "origin", "an origin pages are served from, e.g. https://www.acme.com (repeat for each; at least one)")
	consent := fs.Bool("require-consent", false, "send nothing until the page calls peregrine('consent', true)")
	cfg, log, status := e.setup(fs, args)
	if status != nil {
		return *status
	}
	if *slug == "" || *name == "" || len(allowed) == 0 {
		fmt.Fprintln(e.stderr, "peregrine site create: --workspace, --name and at least one --origin are required")
		return exitUsage
	}
	ctx := context.Background()
	p, ws, code := e.openWorkspace(ctx, cfg, log, "site create", *slug)
	if p == nil {
		return code
	}
	defer p.Close(ctx)
	site, err := website.New(p.Store, nil).CreateSite(ctx, ws.ID, website.SiteInput{Name: *name, Origins: allowed,
		RequireConsent: *consent, HonourDNT: true})
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine site create:", err)
		return exitUsage
	}
	publicURL := cfg.PublicURL
	if ws.PublicURL != "" {
		publicURL = ws.PublicURL
	}
	fmt.Fprintf(e.stdout, "site key: %s\nsnippet:  %s\n", site.Key, website.Snippet(publicURL, site))
	return exitOK
}

func (e env) loadgen(args []string) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	url := fs.String("url", "http://localhost:8080/api/braze/currents/events", "Currents endpoint")
	token := fs.String("token", "", "Currents bearer token (required)")
	clients := fs.Int("clients", 8, "concurrent clients")
	duration := fs.Duration("duration", 30*time.Second, "how long to post")
	batch := fs.Int("batch", 100, "events per request")
	rate := fs.Int("rate", 0, "events per second across clients; 0 = as fast as possible")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *token == "" || *clients < 1 || *batch < 1 {
		fmt.Fprintln(e.stderr, "peregrine loadgen: --token is required; --clients and --batch must be positive")
		return exitUsage
	}
	r := loadgen.Run(context.Background(), loadgen.Options{URL: *url, Token: *token, Clients: *clients, Duration: *duration, Batch: *batch, Rate: *rate})
	fmt.Fprintln(e.stdout, r)
	if r.Events == 0 {
		return exitFailure
	}
	return exitOK
}

func (e env) demo(args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	slug := fs.String("workspace", "", "workspace slug (required)")
	people := fs.Int("people", 3000, "people to simulate")
	companies := fs.Int("companies", 300, "companies they work at")
	days := fs.Int("days", 90, "days of history, ending now")
	url := fs.String("url", "", "Currents endpoint (default: the public URL's /api/braze/currents/events)")
	cfg, log, status := e.setup(fs, args)
	if status != nil {
		return *status
	}
	if *slug == "" || *people < 1 || *companies < 1 || *days < 1 {
		fmt.Fprintln(e.stderr, "peregrine demo: --workspace is required; --people, --companies and --days must be positive")
		return exitUsage
	}
	ctx := context.Background()
	p, ws, code := e.openWorkspace(ctx, cfg, log, "demo", *slug)
	if p == nil {
		return code
	}
	defer p.Close(ctx)
	token, tok, err := ingest.CreateToken(ctx, p.Store, ws.ID, model.TokenKindCurrents, "Demo traffic", nil)
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine demo:", err)
		return exitFailure
	}
	// The demo token is revoked when done: it exists only for this run.
	defer p.Store.RevokeAPIToken(context.Background(), ws.ID, tok.ID)
	endpoint := *url
	if endpoint == "" {
		endpoint = serverURL(cfg, ws) + "/api/braze/currents/events"
	}
	fmt.Fprintf(e.stderr, "Sending %d days of simulated traffic for %d people at %d companies to %s …\n", *days, *people, *companies, endpoint)
	res, err := demo.Run(ctx, demo.Options{URL: endpoint, Token: token, People: *people, Companies: *companies, Days: *days, Seed: time.Now().UnixNano(), Now: time.Now()})
	if err != nil {
		fmt.Fprintf(e.stderr, "peregrine demo: %v\n(is the server running — make run — and is --url its Currents endpoint, …/api/braze/currents/events?)\n", err)
		return exitFailure
	}
	fmt.Fprintf(e.stderr, "Sent %d events for %d people in %d batches; waiting for the server to process them …\n", res.Events, res.People, res.Batches)
	sent := time.Now()
	if err := demo.Settle(ctx, p.Store, ws.ID, 5*time.Minute); err != nil {
		fmt.Fprintln(e.stderr, "peregrine demo:", err)
		return exitFailure
	}
	fmt.Fprintf(e.stderr, "Every event processed and scored %.1f s after the last was sent.\n", time.Since(sent).Seconds())
	filled, err := demo.ApplyProfiles(ctx, p.Store, ws.ID, res.Profiles)
	if err == nil {
		// Score the filled profiles (fit grades) and place the temperatures now, not in a minute.
		err = errors.Join(p.Store.EnqueueJob(ctx, nil, ws.ID, scoring.JobRefresh, "", time.Now()),
			p.Store.EnqueueJob(ctx, nil, ws.ID, scoring.JobReheat, "", time.Now()))
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "peregrine demo:", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "sent %d events for %d people in %d batches, and filled %d profiles (names, titles, companies) as Braze would; open the Leads page\n",
		res.Events, res.People, res.Batches, filled)
	return exitOK
}

// serverURLFile, in the data folder, holds the address of the server running on it.
const serverURLFile = "server-url"

// serverURL is where the running server is: the workspace's own public URL, else the one the
// server on this data folder wrote, else this configuration's.
func serverURL(cfg *config.Config, ws model.Workspace) string {
	if ws.PublicURL != "" {
		return ws.PublicURL
	}
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, serverURLFile)); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return cfg.PublicURL
}

// openWorkspace opens the platform and finds a workspace by slug; on failure it has said why
// and returns a nil platform and the exit status.
func (e env) openWorkspace(ctx context.Context, cfg *config.Config, log *slog.Logger, command, slug string) (*platform.Platform, model.Workspace, int) {
	p, code := e.open(ctx, cfg, log, true)
	if p == nil {
		return nil, model.Workspace{}, code
	}
	ws, err := p.Store.WorkspaceBySlug(ctx, slug)
	if err == nil {
		return p, ws, exitOK
	}
	p.Close(ctx)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(e.stderr, "peregrine %s: no workspace %q (slugs are printed by `peregrine workspace create` and shown on Settings › Workspace)\n", command, slug)
		return nil, model.Workspace{}, exitUsage
	}
	fmt.Fprintf(e.stderr, "peregrine %s: %v\n", command, err)
	return nil, model.Workspace{}, exitFailure
}

// pipelineOptions are the background services' settings from the configuration.
func pipelineOptions(cfg *config.Config) ingest.Options {
	mailer, server := notify.MailerFor(cfg)
	return ingest.Options{PublicURL: cfg.PublicURL, Outbound: outbound.Policy{AllowPrivate: cfg.AllowPrivateHosts},
		Mailer: mailer, MailServer: server}
}
