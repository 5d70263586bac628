// Package web assembles the HTTP server: the Echo instance, middleware, error pages, static
// files and every route (routes.go).
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/platform"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/handlers"
)

// A session ends after two weeks without use, and 30 days after sign-in in any case.
const (
	sessionIdle     = 14 * 24 * time.Hour
	sessionLifetime = 30 * 24 * time.Hour
)

// New builds the Echo instance serving Peregrine. The pipeline's workers are started and
// stopped by the caller; the web layer only hands batches to its acceptor.
func New(cfg *config.Config, p *platform.Platform, pipeline *ingest.Pipeline, metrics *Metrics, log *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.ReadTimeout = 60 * time.Second
	e.Server.WriteTimeout = 60 * time.Second
	e.Server.IdleTimeout = 120 * time.Second
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)

	sessionStore := &handlers.SessionStore{Store: p.Store, Box: p.Secrets, HashKey: p.SessionHashKey, Log: log,
		Idle: sessionIdle, Lifetime: sessionLifetime,
		Cookie: sessions.Options{Path: "/", HttpOnly: true, Secure: cfg.Secure(), SameSite: http.SameSiteLaxMode}}
	h := &handlers.Handlers{
		Workspaces: workspaces.New(p.Store, cfg.OpenSignup),
		Store:      p.Store,
		Sessions:   sessionStore,
		PublicURL:  cfg.PublicURL,
		Log:        log,
		Secrets:    p.Secrets,
		Pipeline:   pipeline,
		Salesforce: pipeline.Salesforce.Service,
		Outbound:   outbound.Policy{AllowPrivate: cfg.AllowPrivateHosts},
		Notify:     pipeline.Notify,
	}
	h.Website = website.New(p.Store, pipeline.Scoring)
	currents := handlers.NewCurrentsEndpoint(h, pipeline, cfg.CurrentsMaxBody, 16)
	tracker := handlers.NewTrackerEndpoint(h, pipeline.Collector, h.Website, cfg.CollectRate)
	h.Tracker = tracker
	e.HTTPErrorHandler = errorHandler(log, h.LoadIdentity)
	routes(e, h, endpoints{currents: currents, tracker: tracker, api: handlers.NewAPI(h, pipeline, cfg.APIRate)}, metrics, cfg, log)
	return e
}

// ipExtractor decides whom we believe about the client address: nobody but the connection
// itself, unless reverse proxies are configured, whose X-Forwarded-For is then used.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogLatency: true, LogRemoteIP: true, LogRequestID: true, LogError: true,
		HandleError: true,
		// The website tracker's routes are called by every visitor of customers' sites:
		// nothing about a visitor (address, page) is written, and the handlers log their own
		// failures.
		Skipper: func(c echo.Context) bool { return trackerRoutes[c.Path()] },
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []slog.Attr{
				slog.String("request_id", v.RequestID), slog.String("method", v.Method), slog.String("route", loggedRoute(c)),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency), slog.String("ip", v.RemoteIP),
			}
			level := slog.LevelInfo
			if v.Error != nil {
				attrs = append(attrs, slog.String("err", v.Error.Error()))
				var he *echo.HTTPError
				if !errors.As(v.Error, &he) || he.Code >= 500 {
					level = slog.LevelError
				}
			}
			log.LogAttrs(context.Background(), level, "request", attrs...)
			return nil
		},
	})
}

// trackerRoutes are the routes visitors' browsers call (see routes.go).
var trackerRoutes = map[string]bool{"/t.js": true, "/t/:version": true, "/t/collect": true, "/l/:token": true}

// loggedRoute names a request in the log by its route template ("/join/:slug/:token"), never
// its path or query, which carry invitation tokens, OAuth codes and states. A request that
// matched no route is logged without its path.
func loggedRoute(c echo.Context) string {
	switch route := c.Path(); route {
	case "", "/*":
		return "(no route)"
	default:
		return route
	}
}

// securityHeaders keeps pages from being framed, sniffed or running foreign scripts.
func securityHeaders(secure bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Path() == "/t/collect" {
				return next(c) // a beacon's answer has no body to protect: keep it small
			}
			hd := c.Response().Header()
			hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
			hd.Set("X-Content-Type-Options", "nosniff")
			hd.Set("X-Frame-Options", "DENY")
			hd.Set("Referrer-Policy", "same-origin")
			if secure {
				hd.Set("Strict-Transport-Security", "max-age=31536000")
			}
			return next(c)
		}
	}
}
