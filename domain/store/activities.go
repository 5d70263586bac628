package store

import (
	"context"
	"fmt"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const activityColumns = `workspace_id, id, lead_id, occurred_at, source, event_type, name, campaign_id, campaign_name,
	canvas_id, canvas_name, url, properties`

// ActivityFilter narrows a lead's timeline.
type ActivityFilter struct {
	Source    string
	EventType string
	Limit     int
	Offset    int
}

// ListActivities pages through a lead's timeline, newest event time first.
func (s *Store) ListActivities(ctx context.Context, workspaceID, leadID int64, f ActivityFilter) ([]model.Activity, int, error) {
	where := `WHERE workspace_id = $1 AND lead_id = $2 AND ($3 = '' OR source = $3) AND ($4 = '' OR event_type = $4)`
	args := []any{workspaceID, leadID, f.Source, f.EventType}
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM activities `+where, args...); err != nil {
		return nil, 0, fmt.Errorf("store: unable to count activities: %w", err)
	}
	var out []model.Activity
	err := s.db.SelectContext(ctx, &out, `SELECT `+activityColumns+` FROM activities `+where+`
		ORDER BY occurred_at DESC, id DESC LIMIT $5 OFFSET $6`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: unable to list activities: %w", err)
	}
	return out, total, nil
}

// ActivityTypes lists the sources and event types on a lead's timeline, for its filters.
func (s *Store) ActivityTypes(ctx context.Context, workspaceID, leadID int64) ([]MetricCount, error) {
	var out []MetricCount
	err := s.db.SelectContext(ctx, &out, `SELECT source AS metric, event_type, count(*) AS count FROM activities
		WHERE workspace_id = $1 AND lead_id = $2 GROUP BY source, event_type ORDER BY source, event_type`, workspaceID, leadID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list activity types: %w", err)
	}
	return out, nil
}
