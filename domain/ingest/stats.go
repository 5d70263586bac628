package ingest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Stats gathers status-panel counters in memory and writes them every few seconds, so hot
// paths do not contend on counter rows. A crash loses at most one interval of counts, never
// events.
type Stats struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time

	mu      sync.Mutex
	counts  map[counterKey]int64
	batches map[int64]batchMark
	// received is when events were last received (unix nanoseconds), for ReceivingNow.
	received atomic.Int64
}

type counterKey struct {
	workspaceID int64
	hour        time.Time
	metric      string
	eventType   string
}

type batchMark struct {
	at     time.Time
	events int
}

// NewStats returns an empty aggregator.
func NewStats(st *store.Store, log *slog.Logger) *Stats {
	return &Stats{Store: st, Log: log, Now: time.Now, counts: map[counterKey]int64{}, batches: map[int64]batchMark{}}
}

// Add counts n occurrences of a metric.
func (s *Stats) Add(workspaceID int64, metric, eventType string, n int64) {
	if n == 0 || workspaceID == 0 {
		return
	}
	now := s.Now()
	if metric == model.MetricReceived {
		s.received.Store(now.UnixNano())
	}
	k := counterKey{workspaceID, now.UTC().Truncate(time.Hour), metric, eventType}
	s.mu.Lock()
	s.counts[k] += n
	s.mu.Unlock()
}

// ReceivingNow tells whether events arrived in the last second: senders are waiting on this
// process's answers (the workers then leave them a core: queue.Runner.Crowded).
func (s *Stats) ReceivingNow() bool {
	return s.Now().UnixNano()-s.received.Load() < int64(time.Second)
}

// Batch notes that a workspace received a batch now.
func (s *Stats) Batch(workspaceID int64, events int) {
	s.mu.Lock()
	s.batches[workspaceID] = batchMark{at: s.Now(), events: events}
	s.mu.Unlock()
}

// Flush writes what was gathered. Counts that fail to write are kept for the next flush.
func (s *Stats) Flush(ctx context.Context) error {
	s.mu.Lock()
	counts, batches := s.counts, s.batches
	s.counts, s.batches = map[counterKey]int64{}, map[int64]batchMark{}
	s.mu.Unlock()
	rows := make([]model.Counter, 0, len(counts))
	for k, n := range counts {
		rows = append(rows, model.Counter{WorkspaceID: k.workspaceID, Hour: k.hour, Metric: k.metric, EventType: k.eventType, Count: n})
	}
	if err := s.Store.AddCounters(ctx, rows); err != nil {
		s.mu.Lock()
		for k, n := range counts {
			s.counts[k] += n
		}
		s.mu.Unlock()
		return err
	}
	for ws, b := range batches {
		if err := s.Store.RecordBatch(ctx, ws, b.at, b.events); err != nil {
			return err
		}
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more.
func (s *Stats) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.Flush(flushCtx); err != nil {
				s.Log.Warn("final stats flush failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.Flush(ctx); err != nil {
				s.Log.Warn("stats flush failed; will retry", "err", err)
			}
		}
	}
}
