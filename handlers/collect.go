package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/tracker"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/static"
)

// TrackerEndpoint serves the website tracker: the script, the collect endpoint its hits go
// to, and tracked links. Nothing about a visitor is logged (the request log names the route
// only) and the client address is used for the rate limit and excluded ranges, never stored.
type TrackerEndpoint struct {
	Handlers  *Handlers
	Collector *ingest.Collector
	Website   *website.Service
	limiter   *ipLimiter
	script    []byte
	scriptGz  []byte
	// Version is the script's content hash, for the immutable /t/<version>.js URL.
	Version string
}

// NewTrackerEndpoint loads the embedded script and sizes the per-address rate limit.
func NewTrackerEndpoint(h *Handlers, c *ingest.Collector, w *website.Service, perSecond int) *TrackerEndpoint {
	script, err := static.FS.ReadFile("js/t.js")
	if err != nil {
		panic("handlers: the tracker script is not embedded: " + err.Error())
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(script)
	_ = zw.Close()
	sum := sha256.Sum256(script)
	return &TrackerEndpoint{Handlers: h, Collector: c, Website: w, script: script, scriptGz: gz.Bytes(),
		Version: hex.EncodeToString(sum[:6]), limiter: newIPLimiter(float64(perSecond), float64(perSecond*5))}
}

// ScriptSize returns the script's size, raw and gzipped.
func (t *TrackerEndpoint) ScriptSize() (int, int) { return len(t.script), len(t.scriptGz) }

// Script serves /t.js (cached for an hour: sites pick up a new version within it) and
// /t/<version>.js (immutable).
func (t *TrackerEndpoint) Script(c echo.Context) error {
	hd := c.Response().Header()
	if v := c.Param("version"); v != "" {
		if v != t.Version+".js" {
			return echo.NewHTTPError(http.StatusNotFound, "This version of the tracker no longer exists; use /t.js.")
		}
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=3600")
	}
	hd.Set("ETag", `"`+t.Version+`"`)
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	hd.Add("Vary", "Accept-Encoding")
	if c.Request().Header.Get("If-None-Match") == `"`+t.Version+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	body := t.script
	if strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
		hd.Set("Content-Encoding", "gzip")
		body = t.scriptGz
	}
	return c.Blob(http.StatusOK, "application/javascript; charset=utf-8", body)
}

func collectError(c echo.Context, status int, message string) error {
	return c.JSON(status, map[string]string{"error": message})
}

// Collect handles POST /t/collect: one hit, stored durably before 204.
func (t *TrackerEndpoint) Collect(c echo.Context) error {
	req := c.Request()
	if !t.limiter.allow(c.RealIP(), time.Now()) {
		c.Response().Header().Set("Retry-After", "1")
		return collectError(c, http.StatusTooManyRequests, "Too many hits from this address; retry in a second.")
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, tracker.MaxBody+1))
	if err != nil {
		return collectError(c, http.StatusBadRequest, "The body could not be read.")
	}
	if len(body) > tracker.MaxBody {
		return collectError(c, http.StatusRequestEntityTooLarge, "A hit is at most 16 KiB.")
	}
	hit, err := tracker.Decode(body)
	if err != nil {
		return collectError(c, http.StatusBadRequest, err.Error())
	}
	ctx := req.Context()
	site, err := t.Collector.Site(ctx, hit.Site)
	switch {
	case errors.Is(err, ingest.ErrUnknownSite):
		return collectError(c, http.StatusForbidden, "Unknown site key: copy the snippet again from Integrations › Website.")
	case err != nil:
		t.Handlers.Log.Error("collect: site lookup failed", "err", err)
		c.Response().Header().Set("Retry-After", "30")
		return collectError(c, http.StatusServiceUnavailable, "Peregrine cannot reach its database right now; retry later.")
	}
	if site.Paused {
		return collectError(c, http.StatusForbidden, "Website tracking is switched off for this workspace (Integrations › Overview): hits are not stored.")
	}
	origin := req.Header.Get("Origin")
	if !site.AllowsOrigin(origin) {
		return collectError(c, http.StatusForbidden, "This page's origin is not one of the site's allowed origins; add it under Integrations › Website.")
	}
	// The fallback transport (fetch) reads the status to keep a failed form hit for later.
	c.Response().Header().Set("Access-Control-Allow-Origin", origin)
	c.Response().Header().Add("Vary", "Origin")
	reason := site.Ignore(tracker.Request{Origin: origin, UserAgent: req.UserAgent(), IP: c.RealIP(),
		DNT: req.Header.Get("DNT") == "1", GPC: req.Header.Get("Sec-GPC") == "1",
		Prefetch: tracker.IsPrefetch(req.Header.Get("Sec-Purpose") + " " + req.Header.Get("Purpose"))}, hit)
	if reason != "" {
		t.Collector.Stats.Add(site.WorkspaceID, model.MetricWebIgnored, reason, 1)
		return c.NoContent(http.StatusNoContent)
	}
	if err := t.Collector.Accept(ctx, site, hit, body); err != nil {
		if ctx.Err() == nil {
			t.Handlers.Log.Error("collect: storing a hit failed", "err", err)
		}
		c.Response().Header().Set("Retry-After", "30")
		return collectError(c, http.StatusServiceUnavailable, "The hit could not be stored; retry later.")
	}
	return c.NoContent(http.StatusNoContent)
}

// CollectPreflight answers CORS preflights (the script sends text/plain, which needs none;
// other clients may).
func (t *TrackerEndpoint) CollectPreflight(c echo.Context) error {
	hd := c.Response().Header()
	if o := c.Request().Header.Get("Origin"); o != "" {
		hd.Set("Access-Control-Allow-Origin", o)
		hd.Set("Access-Control-Allow-Methods", "POST")
		hd.Set("Access-Control-Allow-Headers", "Content-Type")
		hd.Set("Access-Control-Max-Age", "86400")
		hd.Add("Vary", "Origin")
	}
	return c.NoContent(http.StatusNoContent)
}

// Head answers HEAD /t/collect (link checkers and prefetchers) without storing anything.
func (t *TrackerEndpoint) Head(c echo.Context) error { return c.NoContent(http.StatusNoContent) }

// FollowLink handles /l/<token>: a rep's tracked link. A signed-in member of the workspace
// opening it (the rep checking it) is sent on without identifying their browser as the lead.
func (t *TrackerEndpoint) FollowLink(c echo.Context) error {
	token := c.Param("token")
	id := IdentityOf(c)
	staff := id != nil && tracker.LinkWorkspace(token) == id.Workspace.ID
	dest, err := t.Website.Follow(c.Request().Context(), token, staff)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "This link is not valid. Ask the person who sent it for a new one.")
	case err != nil:
		return err
	}
	if dest.Click {
		if err := t.Website.Store.CountLinkClick(c.Request().Context(), dest.Link.WorkspaceID, dest.Link.ID); err != nil {
			t.Handlers.Log.Error("tracked link: counting a click failed", "err", err)
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusFound, dest.URL)
}

// ipLimiter is a token bucket per client address, held in memory: each server process limits
// on its own, which is enough to keep one address from flooding the queue.
type ipLimiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newIPLimiter(rate, burst float64) *ipLimiter {
	return &ipLimiter{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= 100_000 {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune forgets addresses whose bucket is full again (they lose nothing by it).
func (l *ipLimiter) prune(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
}
