package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// LookupsByID reads claimed lookups.
func (s *Store) LookupsByID(ctx context.Context, workspaceID int64, ids []int64) ([]model.BrazeLookup, error) {
	var out []model.BrazeLookup
	err := s.db.SelectContext(ctx, &out, `SELECT workspace_id, id, kind, value, state, attempts, asked FROM braze_lookups
		WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id`, workspaceID, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read lookups: %w", err)
	}
	return out, nil
}

// RunLookupsNow makes a workspace's unanswered lookups due at once (a new key was saved).
func (s *Store) RunLookupsNow(ctx context.Context, workspaceID int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE braze_lookups SET run_after = now()
		WHERE workspace_id = $1 AND state <> 'found' AND claim IS NULL AND run_after > now()`, workspaceID); err != nil {
		return fmt.Errorf("store: unable to resume lookups: %w", err)
	}
	return nil
}

// LookupOutcome is the answer Braze gave about one identifier.
type LookupOutcome struct {
	ID          int64
	State       string    // found, no_email or not_found
	NextAttempt time.Time // when to ask again (ignored for found: in a year)
	Error       string
}

// FinishLookups records answers, in the transaction that owns the lookups: the question
// counts as asked, failures are forgotten, and the lookup waits until it is asked again.
func (t *Tx) FinishLookups(ctx context.Context, workspaceID int64, outcomes []LookupOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	ids, states, nexts, errs := make([]int64, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))
	for i, o := range outcomes {
		next := o.NextAttempt
		if o.State == model.LookupFound || next.IsZero() {
			next = time.Now().Add(365 * 24 * time.Hour)
		}
		ids[i], states[i], nexts[i], errs[i] = o.ID, o.State, next.Format(time.RFC3339Nano), o.Error
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE braze_lookups l SET state = x.s, run_after = x.n, last_error = x.e,
			asked = l.asked + 1, attempts = 0, claim = NULL, updated_at = now()
		FROM unnest($2::bigint[], $3::text[], $4::timestamptz[], $5::text[]) AS x(id, s, n, e)
		WHERE l.workspace_id = $1 AND l.id = x.id`,
		workspaceID, pq.Array(ids), pq.Array(states), pq.Array(nexts), pq.Array(errs)); err != nil {
		return fmt.Errorf("store: unable to record lookups: %w", err)
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
			title      = COALESCE(NULLIF($10, ''), title),
			industry   = COALESCE(NULLIF($11, ''), industry),
			company_size = COALESCE($12, company_size),
			custom_attributes = custom_attributes || $9::jsonb,
			updated_at = now()
		WHERE workspace_id = $1 AND id = $2`,
		workspaceID, leadID, p.FirstName, p.LastName, p.Phone, p.Country, p.TimeZone, p.Company, attrs, p.Title, p.Industry, p.CompanySize)
	if err != nil {
		return fmt.Errorf("store: unable to update lead profile: %w", err)
	}
	// The profile feeds fit grades and rules: score again.
	if err := scoreAgain(ctx, t.tx, `l.workspace_id = $1 AND l.id = $2`, workspaceID, leadID); err != nil {
		return err
	}
	// Names and country may be mapped to Salesforce.
	return t.EnqueueSalesforce(ctx, workspaceID, []int64{leadID})
}
