package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// AddCounters adds increments to the hourly status counters, one statement for all.
func (s *Store) AddCounters(ctx context.Context, cs []model.Counter) error {
	if len(cs) == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO ingest_counters (workspace_id, hour, metric, event_type, count) VALUES `)
	args := make([]any, 0, len(cs)*5)
	for i, c := range cs {
		if i > 0 {
			sb.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&sb, "($%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, c.WorkspaceID, c.Hour, c.Metric, c.EventType, c.Count)
	}
	sb.WriteString(` ON CONFLICT (workspace_id, hour, metric, event_type) DO UPDATE SET count = ingest_counters.count + EXCLUDED.count`)
	if _, err := s.db.ExecContext(ctx, sb.String(), args...); err != nil {
		return fmt.Errorf("store: unable to add counters: %w", err)
	}
	return nil
}

// RecordBatch remembers the newest batch a workspace received.
func (s *Store) RecordBatch(ctx context.Context, workspaceID int64, at time.Time, events int) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ingest_status (workspace_id, last_batch_at, last_batch_events) VALUES ($1, $2, $3)
		ON CONFLICT (workspace_id) DO UPDATE SET last_batch_at = EXCLUDED.last_batch_at, last_batch_events = EXCLUDED.last_batch_events
		WHERE ingest_status.last_batch_at IS NULL OR ingest_status.last_batch_at <= EXCLUDED.last_batch_at`, workspaceID, at, events)
	if err != nil {
		return fmt.Errorf("store: unable to record batch: %w", err)
	}
	return nil
}

// MetricCount is a counter summed over a period.
type MetricCount struct {
	Metric    string `db:"metric"`
	EventType string `db:"event_type"`
	Count     int64  `db:"count"`
}

// IngestStatus is what the Braze status panel shows.
type IngestStatus struct {
	LastBatchAt     *time.Time
	LastBatchEvents int
	Counts          []MetricCount // last 24 hours
	Pending         int
	OldestPending   *time.Time
	Waiting         int
	WaitingReasons  map[string]int
	LookupsPending  int
	LookupsNoEmail  int
}

// IngestStatus gathers the status panel's figures for the workspace.
func (s *Store) IngestStatus(ctx context.Context, workspaceID int64, since time.Time) (IngestStatus, error) {
	var st IngestStatus
	var last struct {
		At     *time.Time `db:"last_batch_at"`
		Events int        `db:"last_batch_events"`
	}
	err := s.db.GetContext(ctx, &last, `SELECT last_batch_at, last_batch_events FROM ingest_status WHERE workspace_id = $1`, workspaceID)
	switch {
	case err == nil:
		// Only a found row counts: sqlx allocates pointer fields even when no row matches.
		st.LastBatchAt, st.LastBatchEvents = last.At, last.Events
	case notFound(err) != ErrNotFound:
		return st, fmt.Errorf("store: unable to load ingest status: %w", err)
	}
	if err := s.db.SelectContext(ctx, &st.Counts, `SELECT metric, event_type, sum(count)::bigint AS count FROM ingest_counters
		WHERE workspace_id = $1 AND hour >= date_trunc('hour', $2::timestamptz) GROUP BY metric, event_type ORDER BY metric, event_type`,
		workspaceID, since); err != nil {
		return st, fmt.Errorf("store: unable to sum counters: %w", err)
	}
	var pending struct {
		N      int        `db:"n"`
		Oldest *time.Time `db:"oldest"`
	}
	if err := s.db.GetContext(ctx, &pending, `SELECT count(*) AS n, min(received_at) AS oldest FROM inbound_queue
		WHERE workspace_id = $1`, workspaceID); err != nil {
		return st, fmt.Errorf("store: unable to count pending events: %w", err)
	}
	st.Pending, st.OldestPending = pending.N, pending.Oldest
	var reasons []struct {
		Reason string `db:"wait_reason"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &reasons, `SELECT reason AS wait_reason, count(*) AS n FROM inbound_waiting
		WHERE workspace_id = $1 GROUP BY reason`, workspaceID); err != nil {
		return st, fmt.Errorf("store: unable to count waiting events: %w", err)
	}
	st.WaitingReasons = map[string]int{}
	for _, r := range reasons {
		st.Waiting += r.N
		st.WaitingReasons[r.Reason] = r.N
	}
	var lookups struct {
		Pending int `db:"pending"`
		NoEmail int `db:"no_email"`
	}
	if err := s.db.GetContext(ctx, &lookups, `SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
		count(*) FILTER (WHERE state IN ('no_email', 'not_found')) AS no_email FROM braze_lookups WHERE workspace_id = $1`, workspaceID); err != nil {
		return st, fmt.Errorf("store: unable to count lookups: %w", err)
	}
	st.LookupsPending, st.LookupsNoEmail = lookups.Pending, lookups.NoEmail
	return st, nil
}
