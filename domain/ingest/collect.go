package ingest

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/tracker"
)

// Collector stores the website tracker's hits. A hit is acknowledged only once stored, and
// storing hits one transaction each would cost one disk flush per page view; so requests
// that arrive while a write is under way queue, and the next write takes them all (group
// commit). The writing is done by the requests themselves: the first to find fewer than
// maxFlushers writers at work becomes one and drains the queue, so nothing runs in the
// background and nothing is left behind when traffic stops.
type Collector struct {
	Store *store.Store
	Stats *Stats
	// Stored is called after hits were committed (wakes the processing workers).
	Stored func()
	Now    func() time.Time

	mu       sync.Mutex
	queue    []*pendingHit
	flushing int

	sitesMu sync.Mutex
	sites   map[string]cachedSite
}

type pendingHit struct {
	workspace int64
	event     model.NewInboundEvent
	done      chan error
}

type cachedSite struct {
	site    tracker.Site
	err     error
	fetched time.Time
}

// Writers at once, and the most hits one write takes.
const (
	maxFlushers = 2
	maxHitBatch = 1000
	// siteCacheFor is how long a site's settings are reused; a change shows within it on
	// every server.
	siteCacheFor = 10 * time.Second
)

// ErrUnknownSite means the site key names no site.
var ErrUnknownSite = errors.New("unknown site key")

// NewCollector makes a collector.
func NewCollector(st *store.Store, stats *Stats, stored func()) *Collector {
	return &Collector{Store: st, Stats: stats, Stored: stored, Now: time.Now, sites: map[string]cachedSite{}}
}

// Site returns the settings of the site behind a key, cached for a few seconds.
func (c *Collector) Site(ctx context.Context, key string) (tracker.Site, error) {
	now := c.Now()
	c.sitesMu.Lock()
	cached, ok := c.sites[key]
	c.sitesMu.Unlock()
	if ok && now.Sub(cached.fetched) < siteCacheFor {
		return cached.site, cached.err
	}
	ws := tracker.SiteWorkspace(key)
	if ws == 0 {
		return tracker.Site{}, ErrUnknownSite
	}
	s, err := c.Store.SiteByKey(ctx, ws, key)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrUnknownSite
	}
	var site tracker.Site
	if err == nil {
		site, err = TrackerSite(s)
	}
	if err != nil && !errors.Is(err, ErrUnknownSite) {
		return site, err // the database's trouble is not cached
	}
	c.sitesMu.Lock()
	if len(c.sites) > 10000 {
		clear(c.sites)
	}
	c.sites[key] = cachedSite{site: site, err: err, fetched: now}
	c.sitesMu.Unlock()
	return site, err
}

// Forget drops a site from the cache after its settings changed here.
func (c *Collector) Forget(key string) {
	c.sitesMu.Lock()
	delete(c.sites, key)
	c.sitesMu.Unlock()
}

// TrackerSite turns a stored site into what the endpoint checks.
func TrackerSite(s model.Site) (tracker.Site, error) {
	ips, err := tracker.ParseExcludedIPs(s.ExcludedIPs)
	return tracker.Site{WorkspaceID: s.WorkspaceID, ID: s.ID, Key: s.Key, Origins: s.Origins,
		RequireConsent: s.RequireConsent, HonourDNT: s.HonourDNT, ExcludedIPs: ips, Paused: s.Paused}, err
}

// storedHit is the stored form of a hit: the hit and the site it was checked against.
type storedHit struct {
	tracker.Hit
	SiteID int64 `json:"sid"`
}

// storedPayload is the hit's body as the browser sent it (a JSON object, checked by
// tracker.Decode) with the site and the arrival time appended: the last of duplicate keys
// wins when it is read back, so a body cannot set them itself.
func storedPayload(body []byte, siteID int64, received time.Time) []byte {
	body = bytes.TrimRight(body, " \t\r\n")
	out := make([]byte, 0, len(body)+64)
	out = append(out, body[:len(body)-1]...) // a valid hit is an object with keys
	out = append(out, `,"sid":`...)
	out = strconv.AppendInt(out, siteID, 10)
	out = append(out, `,"rt":"`...)
	out = received.AppendFormat(out, time.RFC3339Nano)
	return append(out, `"}`...)
}

// Accept stores a checked hit durably and returns once it is committed. body is the hit as
// received (h is its decoded form).
func (c *Collector) Accept(ctx context.Context, site tracker.Site, h tracker.Hit, body []byte) error {
	h.Received = c.Now().UTC()
	payload := storedPayload(body, site.ID, h.Received)
	p := &pendingHit{workspace: site.WorkspaceID, done: make(chan error, 1),
		event: model.NewInboundEvent{EventID: h.ID, EventType: "web." + h.Type, OccurredAt: h.OccurredAt(), Payload: payload, State: model.InboundPending}}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	lead := c.flushing < maxFlushers
	if lead {
		c.flushing++
	}
	c.mu.Unlock()
	if lead {
		c.flush(p)
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush writes queued hits until the queue is empty, or until its own hit is stored and
// another writer is at work (which then drains the rest).
func (c *Collector) flush(own *pendingHit) {
	for {
		ownDone := len(own.done) > 0 // answered, by this writer or another, not yet read
		c.mu.Lock()
		if len(c.queue) == 0 || (ownDone && c.flushing > 1) {
			c.flushing--
			c.mu.Unlock()
			return
		}
		n := min(len(c.queue), maxHitBatch)
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		c.write(batch)
	}
}

// write stores a batch in one transaction and answers every request in it.
func (c *Collector) write(batch []*pendingHit) {
	groups := map[int64][]model.NewInboundEvent{}
	for _, p := range batch {
		groups[p.workspace] = append(groups[p.workspace], p.event)
	}
	// Not the request's context: one visitor leaving must not fail the others' hits.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	stored, err := c.Store.InsertInboundGroups(ctx, model.SourceWeb, groups)
	cancel()
	for _, p := range batch {
		p.done <- err
	}
	if err != nil {
		return
	}
	total := 0
	for ws, evs := range groups {
		c.Stats.Add(ws, model.MetricReceived, "web", int64(len(evs)))
		c.Stats.Add(ws, model.MetricDuplicate, "", int64(len(evs)-stored[ws]))
		total += stored[ws]
	}
	if total > 0 && c.Stored != nil {
		c.Stored()
	}
}
