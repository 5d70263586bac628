// Package config reads Peregrine's settings from flags and environment variables (a flag wins
// over its variable) and validates them before anything starts.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the validated configuration shared by the server and every CLI command.
type Config struct {
	Addr        string // listen address of the web server
	PublicURL   string // how people reach the server; decides Secure cookies and link hosts
	DatabaseURL string // empty: run the embedded PostgreSQL in DataDir
	DataDir     string // embedded database, generated keys
	SessionKey  string // raw PEREGRINE_SESSION_KEY; empty: generated into DataDir
	SecretKey   string // raw PEREGRINE_SECRET_KEY; empty: generated into DataDir
	OpenSignup  bool   // anyone may create a workspace, not only the first person
	// AllowPrivateHosts lets integrations call any host (loopback, private networks, plain
	// http): for self-hosted fakes and proxies. Off, only vendors' public hosts are called.
	AllowPrivateHosts bool
	TrustedProxies    []*net.IPNet  // proxies whose X-Forwarded-For is believed
	LogLevel          slog.Level    //
	LogFormat         string        // text or json
	ShutdownTimeout   time.Duration // how long in-flight requests get on SIGTERM
	CurrentsMaxBody   int64         // largest Currents request body, compressed or not; larger → 413
	Workers           int           // goroutines turning stored events into activities (and as many scoring)
	// ComputeBatches bounds the processing and scoring batches run at once while events arrive
	// (0: one fewer than the cores, at least one, and two on two cores; raise it when PostgreSQL runs on another
	// machine, so its cores are not counted here).
	ComputeBatches int
	CollectRate    int           // website tracker hits per second per client address; more get 429
	APIRate        int           // open-API requests per second per token, with bursts of twice that; more get 429
	DBMaxConns     int           // database pool size; 0: a connection per worker plus those for requests
	WorkTimeout    time.Duration // longest a batch of background work may run; claims are leased for 3× this
	MetricsAddr    string        // separate listen address serving /metrics without a token; empty: none
	MetricsToken   string        // bearer token for /metrics on the main address; empty: not served there
	// SMTP is where email goes (PEREGRINE_SMTP_URL); nil: this server sends no email.
	SMTP *SMTP
	// MailFrom is the sender address of every email (PEREGRINE_MAIL_FROM); the workspace's
	// name is the sender name.
	MailFrom string
}

// SMTP is an SMTP server and how to talk to it. String never shows the password.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is TLSStartTLS (smtp://, upgrade required), TLSImplicit (smtps://) or TLSNone
	// (smtp://…?tls=none: mail and password in the clear; test servers only).
	TLS string
}

// SMTP transport security.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

func (s *SMTP) String() string {
	security := map[string]string{TLSStartTLS: "STARTTLS", TLSImplicit: "TLS", TLSNone: "no encryption"}[s.TLS]
	return fmt.Sprintf("%s:%d, %s", s.Host, s.Port, security)
}

// ParseSMTPURL reads smtp://user:pass@host:587?tls=starttls (the default for smtp://),
// smtps://user:pass@host:465, or smtp://host:25?tls=none, which only allowPlain accepts.
func ParseSMTPURL(raw string, allowPlain bool) (*SMTP, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Path != "" && u.Path != "/" {
		return nil, errors.New("PEREGRINE_SMTP_URL must look like smtp://user:password@mail.example.com:587 or smtps://user:password@mail.example.com:465 (percent-encode special characters of the password)")
	}
	s := &SMTP{Host: u.Hostname(), TLS: TLSStartTLS, Port: 587}
	if u.Scheme == "smtps" {
		s.TLS, s.Port = TLSImplicit, 465
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return nil, fmt.Errorf("PEREGRINE_SMTP_URL has an invalid port %q", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	for key, values := range u.Query() {
		if key != "tls" {
			return nil, fmt.Errorf("PEREGRINE_SMTP_URL: unknown option %q (the only one is tls=starttls|none)", key)
		}
		switch v := strings.ToLower(values[0]); {
		case u.Scheme == "smtps":
			return nil, errors.New("PEREGRINE_SMTP_URL: smtps:// always uses TLS; drop the tls option")
		case v == TLSStartTLS:
		case v == TLSNone:
			s.TLS = TLSNone
		default:
			return nil, fmt.Errorf("PEREGRINE_SMTP_URL: tls=%s is not starttls or none", values[0])
		}
	}
	if s.TLS == TLSNone && !allowPlain {
		return nil, errors.New("PEREGRINE_SMTP_URL: tls=none sends mail and the password unencrypted; it is only for test servers, with PEREGRINE_ALLOW_PRIVATE_HOSTS=true")
	}
	return s, nil
}

// Secure reports whether cookies must be marked Secure.
func (c *Config) Secure() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// raw holds the unparsed strings so every bad value can be reported with its source.
type raw struct {
	addr, publicURL, databaseURL, dataDir, openSignup, trustedProxies, logLevel, logFormat, shutdown     string
	allowPrivateHosts                                                                                    string
	currentsMaxBody, workers, computeBatches, dbMaxConns, metricsAddr, workTimeout, collectRate, apiRate string
}

// Binder registers the configuration flags on a flag set and validates the result.
type Binder struct {
	r      raw
	getenv func(string) string
}

// Bind adds the shared flags to fs, with defaults taken from the environment.
func Bind(fs *flag.FlagSet, getenv func(string) string) *Binder {
	b := &Binder{getenv: getenv}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	addrDefault := ":8080"
	if p := getenv("PORT"); p != "" {
		addrDefault = ":" + p
	}
	fs.StringVar(&b.r.addr, "addr", env("PEREGRINE_ADDR", addrDefault), "listen address (env PEREGRINE_ADDR, or PORT for :PORT)")
	fs.StringVar(&b.r.publicURL, "public-url", getenv("PEREGRINE_PUBLIC_URL"), "URL people use to reach Peregrine (env PEREGRINE_PUBLIC_URL; default http://localhost:PORT)")
	fs.StringVar(&b.r.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL); empty starts the embedded PostgreSQL")
	fs.StringVar(&b.r.dataDir, "data-dir", env("PEREGRINE_DATA_DIR", ".peregrine"), "folder for the embedded database and generated keys (env PEREGRINE_DATA_DIR)")
	fs.StringVar(&b.r.openSignup, "open-signup", env("PEREGRINE_OPEN_SIGNUP", "false"), "let anyone create a workspace (env PEREGRINE_OPEN_SIGNUP)")
	fs.StringVar(&b.r.allowPrivateHosts, "allow-private-hosts", env("PEREGRINE_ALLOW_PRIVATE_HOSTS", "false"), "let integrations call any host, including this machine, private networks and plain http — for test servers and proxies (env PEREGRINE_ALLOW_PRIVATE_HOSTS)")
	fs.StringVar(&b.r.trustedProxies, "trusted-proxies", getenv("PEREGRINE_TRUSTED_PROXIES"), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted (env PEREGRINE_TRUSTED_PROXIES)")
	fs.StringVar(&b.r.logLevel, "log-level", env("PEREGRINE_LOG_LEVEL", "info"), "debug, info, warn or error (env PEREGRINE_LOG_LEVEL)")
	fs.StringVar(&b.r.logFormat, "log-format", env("PEREGRINE_LOG_FORMAT", "text"), "text or json (env PEREGRINE_LOG_FORMAT)")
	fs.StringVar(&b.r.shutdown, "shutdown-timeout", env("PEREGRINE_SHUTDOWN_TIMEOUT", "20s"), "time given to in-flight requests on shutdown (env PEREGRINE_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&b.r.currentsMaxBody, "currents-max-body", env("PEREGRINE_CURRENTS_MAX_BODY", "32MiB"), "largest Braze Currents request body; larger ones get 413 so Braze splits the batch (env PEREGRINE_CURRENTS_MAX_BODY)")
	fs.StringVar(&b.r.apiRate, "api-rate", env("PEREGRINE_API_RATE", "20"), "open-API requests per second one token may send, with bursts of twice that (env PEREGRINE_API_RATE)")
	fs.StringVar(&b.r.collectRate, "collect-rate", env("PEREGRINE_COLLECT_RATE", "20"), "website tracker hits per second one client address may send, with bursts of five times that (env PEREGRINE_COLLECT_RATE)")
	fs.StringVar(&b.r.workers, "workers", env("PEREGRINE_WORKERS", "2"), "goroutines processing stored events, and as many scoring (env PEREGRINE_WORKERS)")
	fs.StringVar(&b.r.computeBatches, "compute-batches", env("PEREGRINE_COMPUTE_BATCHES", "0"), "processing and scoring batches run at once while events arrive; 0: one fewer than the cores, two on two cores (env PEREGRINE_COMPUTE_BATCHES)")
	fs.StringVar(&b.r.dbMaxConns, "db-max-conns", env("PEREGRINE_DB_MAX_CONNS", "0"), "database connections this process may open; 0: one per worker plus 24 for requests (env PEREGRINE_DB_MAX_CONNS)")
	fs.StringVar(&b.r.workTimeout, "work-timeout", env("PEREGRINE_WORK_TIMEOUT", "1m"), "longest a batch of background work may run before it is retried; after a crash, claimed work comes back after 3× this (env PEREGRINE_WORK_TIMEOUT)")
	fs.StringVar(&b.r.metricsAddr, "metrics-addr", getenv("PEREGRINE_METRICS_ADDR"), "separate listen address for Prometheus /metrics, e.g. 127.0.0.1:9090 (env PEREGRINE_METRICS_ADDR)")
	return b
}

// Config validates the parsed values and reports every problem at once.
func (b *Binder) Config() (*Config, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	c := &Config{
		Addr:        strings.TrimSpace(b.r.addr),
		DatabaseURL: strings.TrimSpace(b.r.databaseURL),
		DataDir:     strings.TrimSpace(b.r.dataDir),
		SessionKey:  b.getenv("PEREGRINE_SESSION_KEY"),
		SecretKey:   b.getenv("PEREGRINE_SECRET_KEY"),
		LogFormat:   strings.ToLower(strings.TrimSpace(b.r.logFormat)),
		MetricsAddr: strings.TrimSpace(b.r.metricsAddr),
	}

	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		bad("--addr/PORT %q is not a listen address like :8080 or 127.0.0.1:8080", c.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("--addr/PORT %q has an invalid port (0-65535)", c.Addr)
	}

	c.PublicURL = strings.TrimRight(strings.TrimSpace(b.r.publicURL), "/")
	if c.PublicURL == "" && err == nil {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	} else if c.PublicURL != "" {
		u, perr := url.Parse(c.PublicURL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("PEREGRINE_PUBLIC_URL %q must be an absolute http:// or https:// URL", c.PublicURL)
		}
	}

	if c.DatabaseURL != "" {
		u, perr := url.Parse(c.DatabaseURL)
		if perr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("DATABASE_URL must look like postgres://user:password@host:5432/dbname")
		}
	}
	if c.DataDir == "" {
		bad("--data-dir/PEREGRINE_DATA_DIR must not be empty")
	}

	c.OpenSignup = parseSwitch(b.r.openSignup, "PEREGRINE_OPEN_SIGNUP", bad)
	c.AllowPrivateHosts = parseSwitch(b.r.allowPrivateHosts, "PEREGRINE_ALLOW_PRIVATE_HOSTS", bad)

	for _, part := range strings.Split(b.r.trustedProxies, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			if ip := net.ParseIP(part); ip != nil && ip.To4() != nil {
				part += "/32"
			} else {
				part += "/128"
			}
		}
		_, n, perr := net.ParseCIDR(part)
		if perr != nil {
			bad("PEREGRINE_TRUSTED_PROXIES entry %q is not an IP address or CIDR", part)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}

	if err := c.LogLevel.UnmarshalText([]byte(strings.TrimSpace(b.r.logLevel))); err != nil {
		bad("PEREGRINE_LOG_LEVEL %q must be debug, info, warn or error", b.r.logLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("PEREGRINE_LOG_FORMAT %q must be text or json", b.r.logFormat)
	}
	c.ShutdownTimeout, err = time.ParseDuration(strings.TrimSpace(b.r.shutdown))
	if err != nil || c.ShutdownTimeout <= 0 {
		bad("PEREGRINE_SHUTDOWN_TIMEOUT %q must be a positive duration like 20s", b.r.shutdown)
	}

	if c.CurrentsMaxBody, err = ParseSize(b.r.currentsMaxBody); err != nil || c.CurrentsMaxBody < 1024 {
		bad("PEREGRINE_CURRENTS_MAX_BODY %q must be a size of at least 1KiB, like 32MiB", b.r.currentsMaxBody)
	}
	if c.Workers, err = strconv.Atoi(strings.TrimSpace(b.r.workers)); err != nil || c.Workers < 1 || c.Workers > 64 {
		bad("PEREGRINE_WORKERS %q must be a number from 1 to 64", b.r.workers)
	}
	if c.ComputeBatches, err = strconv.Atoi(strings.TrimSpace(b.r.computeBatches)); err != nil || c.ComputeBatches < 0 || c.ComputeBatches > 256 {
		bad("PEREGRINE_COMPUTE_BATCHES %q must be 0 (one fewer than the cores) or a number up to 256", b.r.computeBatches)
	}
	if c.CollectRate, err = strconv.Atoi(strings.TrimSpace(b.r.collectRate)); err != nil || c.CollectRate < 1 || c.CollectRate > 1_000_000 {
		bad("PEREGRINE_COLLECT_RATE %q must be a number of hits per second from 1 to 1000000", b.r.collectRate)
	}
	if c.APIRate, err = strconv.Atoi(strings.TrimSpace(b.r.apiRate)); err != nil || c.APIRate < 1 || c.APIRate > 100_000 {
		bad("PEREGRINE_API_RATE %q must be a number of requests per second from 1 to 100000", b.r.apiRate)
	}
	if c.DBMaxConns, err = strconv.Atoi(strings.TrimSpace(b.r.dbMaxConns)); err != nil || c.DBMaxConns < 0 || (c.DBMaxConns > 0 && c.DBMaxConns < 26) {
		bad("PEREGRINE_DB_MAX_CONNS %q must be 0 (sized from the workers) or at least 26", b.r.dbMaxConns)
	}
	if c.WorkTimeout, err = time.ParseDuration(strings.TrimSpace(b.r.workTimeout)); err != nil || c.WorkTimeout < time.Second || c.WorkTimeout > time.Hour {
		bad("PEREGRINE_WORK_TIMEOUT %q must be a duration from 1s to 1h, like 1m", b.r.workTimeout)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("--metrics-addr %q is not a listen address like 127.0.0.1:9090", c.MetricsAddr)
		}
	}
	if c.MetricsToken = strings.TrimSpace(b.getenv("PEREGRINE_METRICS_TOKEN")); c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		bad("PEREGRINE_METRICS_TOKEN must be at least 16 characters (openssl rand -hex 16)")
	}

	if raw := strings.TrimSpace(b.getenv("PEREGRINE_SMTP_URL")); raw != "" {
		if c.SMTP, err = ParseSMTPURL(raw, c.AllowPrivateHosts); err != nil {
			bad("%s", err)
		}
		c.MailFrom = strings.TrimSpace(b.getenv("PEREGRINE_MAIL_FROM"))
		if a, err := mail.ParseAddress(c.MailFrom); err != nil || a.Name != "" || !strings.Contains(a.Address, ".") {
			bad("PEREGRINE_MAIL_FROM %q must be the plain address email is sent from, like peregrine@example.com (the workspace's name becomes the sender name)", c.MailFrom)
		}
	} else if b.getenv("PEREGRINE_MAIL_FROM") != "" {
		bad("PEREGRINE_MAIL_FROM is set but PEREGRINE_SMTP_URL is not: set both to send email")
	}

	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return c, nil
}

// Error lists every invalid setting.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// IsConfigError reports whether err came from validation (exit status 2).
func IsConfigError(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}

// ParseSize reads sizes such as 1048576, 512KiB, 32MiB, 1GiB (KB/MB/GB are read as powers of
// 1024 too).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		factor int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	upper := strings.ToUpper(s)
	factor := int64(1)
	for _, u := range units {
		if strings.HasSuffix(upper, u.suffix) {
			upper, factor = strings.TrimSpace(strings.TrimSuffix(upper, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(upper, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/factor {
		return 0, errors.New("not a size")
	}
	return n * factor, nil
}

// parseSwitch reads an on/off setting.
func parseSwitch(v, name string, bad func(string, ...any)) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off", "":
		return false
	}
	bad("%s %q must be true or false", name, v)
	return false
}
