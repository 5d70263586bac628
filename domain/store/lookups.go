package store

import (
	"context"
	"fmt"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// ClaimDueLookups leases up to limit due Braze lookups of workspaces that have a Braze
// connection whose lookups are not paused. A lease pushes next_attempt_at forward, so a crashed
// resolver's lookups come back after it; no lock is held during the HTTP call.
func (s *Store) ClaimDueLookups(ctx context.Context, limit int, lease time.Duration) ([]model.BrazeLookup, error) {
	var out []model.BrazeLookup
	err := s.db.SelectContext(ctx, &out, `
		UPDATE braze_lookups l SET next_attempt_at = now() + $2 * interval '1 second'
		FROM (
			SELECT q.workspace_id, q.kind, q.value FROM braze_lookups q
			JOIN braze_connections c ON c.workspace_id = q.workspace_id
			WHERE q.state <> 'found' AND q.next_attempt_at <= now()
			  AND (c.lookups_paused_until IS NULL OR c.lookups_paused_until <= now())
			ORDER BY q.next_attempt_at LIMIT $1
			FOR UPDATE OF q SKIP LOCKED
		) due
		WHERE l.workspace_id = due.workspace_id AND l.kind = due.kind AND l.value = due.value
		RETURNING l.workspace_id, l.kind, l.value, l.state, l.attempts`, limit, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("store: unable to claim lookups: %w", err)
	}
	return out, nil
}

// LookupOutcome is the result of one lookup.
type LookupOutcome struct {
	Kind, Value string
	State       string    // found, no_email, not_found, or pending after an error
	NextAttempt time.Time // when to ask again (ignored for found)
	Error       string
}

// FinishLookups records outcomes and counts the attempt.
func (t *Tx) FinishLookups(ctx context.Context, workspaceID int64, outcomes []LookupOutcome) error {
	for _, o := range outcomes {
		next := o.NextAttempt
		if o.State == model.LookupFound || next.IsZero() {
			next = time.Now().Add(365 * 24 * time.Hour)
		}
		if _, err := t.tx.ExecContext(ctx, `UPDATE braze_lookups SET state = $4, next_attempt_at = $5, last_error = $6,
			attempts = attempts + 1, updated_at = now() WHERE workspace_id = $1 AND kind = $2 AND value = $3`,
			workspaceID, o.Kind, o.Value, o.State, next, o.Error); err != nil {
			return fmt.Errorf("store: unable to record lookup: %w", err)
		}
	}
	return nil
}

// UpdateLeadProfile fills a lead's profile from Braze: non-empty values win, custom
// attributes merge into what is there.
func (t *Tx) UpdateLeadProfile(ctx context.Context, workspaceID, leadID int64, p model.LeadProfile) error {
	attrs := string(p.CustomAttributes)
	if attrs == "" || attrs == "null" {
		attrs = "{}"
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE leads SET
			first_name = COALESCE(NULLIF($3, ''), first_name),
			last_name  = COALESCE(NULLIF($4, ''), last_name),
			phone      = COALESCE(NULLIF($5, ''), phone),
			country    = COALESCE(NULLIF($6, ''), country),
			time_zone  = COALESCE(NULLIF($7, ''), time_zone),
			company    = CASE WHEN company = '' THEN $8 ELSE company END,
			custom_attributes = custom_attributes || $9::jsonb,
			updated_at = now(),
			refresh_at = now() -- the profile feeds fit grades and rules: score again
		WHERE workspace_id = $1 AND id = $2`,
		workspaceID, leadID, p.FirstName, p.LastName, p.Phone, p.Country, p.TimeZone, p.Company, attrs)
	if err != nil {
		return fmt.Errorf("store: unable to update lead profile: %w", err)
	}
	// Names and country may be mapped to Salesforce.
	return t.EnqueueSalesforce(ctx, workspaceID, []int64{leadID})
}
