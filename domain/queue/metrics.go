package queue

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Metrics counts what the work layer does, per queue, for /metrics.
type Metrics struct {
	claimedItems     *prometheus.CounterVec
	doneItems        *prometheus.CounterVec
	failedAttempts   *prometheus.CounterVec
	quarantinedItems *prometheus.CounterVec
	splits           *prometheus.CounterVec
}

// NewMetrics makes the counters and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "peregrine", Subsystem: "queue", Name: name, Help: help}, []string{"queue"})
	}
	m := &Metrics{
		claimedItems:     vec("claimed_items_total", "Items claimed by workers of this process."),
		doneItems:        vec("done_items_total", "Items whose batch ran without error."),
		failedAttempts:   vec("failed_attempts_total", "Single items whose run failed (each then backs off or is quarantined)."),
		quarantinedItems: vec("quarantined_items_total", "Items set aside after failing MaxAttempts times."),
		splits:           vec("batch_splits_total", "Failed batches split in halves to find the item at fault."),
	}
	if reg != nil {
		reg.MustRegister(m.claimedItems, m.doneItems, m.failedAttempts, m.quarantinedItems, m.splits)
	}
	return m
}

func (m *Metrics) claimed(q *Queue, n int) { m.claimedItems.WithLabelValues(q.Name()).Add(float64(n)) }
func (m *Metrics) done(q *Queue, n int)    { m.doneItems.WithLabelValues(q.Name()).Add(float64(n)) }
func (m *Metrics) failed(q *Queue)         { m.failedAttempts.WithLabelValues(q.Name()).Inc() }
func (m *Metrics) quarantined(q *Queue)    { m.quarantinedItems.WithLabelValues(q.Name()).Inc() }
func (m *Metrics) split(q *Queue)          { m.splits.WithLabelValues(q.Name()).Inc() }

// Collector reports each queue table's state at scrape time, read from the database: items
// queued, items due, the age of the oldest and the items quarantined, across workspaces and
// processes.
type Collector struct {
	Store *store.Store
	Log   *slog.Logger

	depth, due, oldest, quarantined *prometheus.Desc
}

// NewCollector describes the queue gauges.
func NewCollector(st *store.Store, log *slog.Logger) *Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("peregrine_queue_"+name, help, []string{"queue"}, nil)
	}
	return &Collector{Store: st, Log: log,
		depth:       desc("depth", "Items in the queue table, due or waiting."),
		due:         desc("due", "Items that may be claimed now."),
		oldest:      desc("oldest_age_seconds", "Age of the oldest item in the queue (scoring: the scoring lag)."),
		quarantined: desc("quarantined", "Items set aside, waiting for Retry or Discard."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.due
	ch <- c.oldest
	ch <- c.quarantined
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, t := range store.WorkTables {
		f, err := c.Store.WorkFigures(ctx, t)
		if err != nil {
			c.Log.Warn("measuring a queue for /metrics failed", "queue", t.Queue, "err", err)
			continue
		}
		age := 0.0
		if f.Oldest != nil {
			age = max(0, time.Since(*f.Oldest).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(f.Depth), t.Queue)
		ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(f.Due), t.Queue)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, t.Queue)
		ch <- prometheus.MustNewConstMetric(c.quarantined, prometheus.GaugeValue, float64(f.Quarantined), t.Queue)
	}
}
