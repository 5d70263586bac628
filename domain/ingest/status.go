package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// TypeCount is how many events of a type arrived.
type TypeCount struct {
	EventType string
	Count     int64
	Used      bool // becomes an activity
}

// StatusReport is the Braze status panel: what arrived in the last 24 hours and what waits.
type StatusReport struct {
	LastBatchAt      *time.Time
	LastBatchEvents  int
	Received         int64
	PerType          []TypeCount // most frequent first
	Duplicates       int64
	RejectedEvents   int64
	RejectedAuth     int64
	RejectedRequests int64
	LookupErrors     int64
	Processed        int64
	Pending          int
	Lag              time.Duration // age of the oldest unprocessed event
	Waiting          int
	WaitingReasons   map[string]int
	LookupsPending   int
	LookupsUnknown   int
	UnusedTypes      []string
	Warnings         []string
}

// Status gathers the report for a workspace.
func Status(ctx context.Context, st *store.Store, workspaceID int64, now time.Time) (StatusReport, error) {
	raw, err := st.IngestStatus(ctx, workspaceID, now.Add(-24*time.Hour))
	if err != nil {
		return StatusReport{}, err
	}
	r := StatusReport{LastBatchAt: raw.LastBatchAt, LastBatchEvents: raw.LastBatchEvents, Pending: raw.Pending,
		Waiting: raw.Waiting, WaitingReasons: raw.WaitingReasons, LookupsPending: raw.LookupsPending, LookupsUnknown: raw.LookupsNoEmail}
	if raw.OldestPending != nil {
		r.Lag = now.Sub(*raw.OldestPending)
	}
	for _, c := range raw.Counts {
		switch c.Metric {
		case model.MetricReceived:
			r.Received += c.Count
			used := events.Supported(c.EventType)
			r.PerType = append(r.PerType, TypeCount{EventType: c.EventType, Count: c.Count, Used: used})
			if !used {
				r.UnusedTypes = append(r.UnusedTypes, c.EventType)
			}
		case model.MetricDuplicate:
			r.Duplicates += c.Count
		case model.MetricRejectedEvent:
			r.RejectedEvents += c.Count
		case model.MetricRejectedAuth:
			r.RejectedAuth += c.Count
		case model.MetricRejectedRequest:
			r.RejectedRequests += c.Count
		case model.MetricLookupError:
			r.LookupErrors += c.Count
		case model.MetricProcessed:
			r.Processed += c.Count
		}
	}
	sort.SliceStable(r.PerType, func(i, j int) bool { return r.PerType[i].Count > r.PerType[j].Count })

	conn, err := st.BrazeConnection(ctx, workspaceID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if r.LookupsPending > 0 || r.WaitingReasons[WaitLookup] > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("No Braze API key: %d events wait until Peregrine can ask Braze who their people are. Add the REST API key above.", r.WaitingReasons[WaitLookup]))
		}
	case err != nil:
		return r, err
	case conn.LookupError != "" && conn.LookupsPausedUntil != nil && conn.LookupsPausedUntil.After(now):
		r.Warnings = append(r.Warnings, "Braze lookups are paused: "+conn.LookupError)
	}
	if r.Lag > 5*time.Minute {
		r.Warnings = append(r.Warnings, fmt.Sprintf("Processing is %s behind; events are safe and will be processed.", r.Lag.Round(time.Second)))
	}
	return r, nil
}
