package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// UpsertVisitors makes sure the browsers of a batch exist and moves their last-seen time. Rows
// are written in key order, so two batches of one workspace lock shared browsers in the same
// order (docs/work.md: browsers before leads).
func (t *Tx) UpsertVisitors(ctx context.Context, workspaceID int64, seen []model.VisitorSeen) (map[string]model.Visitor, error) {
	byKey := map[string]model.VisitorSeen{}
	for _, v := range seen {
		if old, ok := byKey[v.Key]; !ok || v.At.After(old.At) {
			byKey[v.Key] = v
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	sites, ats := make([]int64, len(keys)), make([]time.Time, len(keys))
	for i, k := range keys {
		sites[i], ats[i] = byKey[k].SiteID, byKey[k].At
	}
	// Last seen moves at most hourly (it only decides retention, counted in days): most hits
	// of a returning browser write nothing to its row. Rows are still locked, in key order.
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO visitors (workspace_id, key, site_id, first_seen_at, last_seen_at)
		SELECT $1, x.k, x.s, x.t, x.t FROM unnest($2::text[], $3::bigint[], $4::timestamptz[]) WITH ORDINALITY AS x(k, s, t, n)
		ORDER BY x.n
		ON CONFLICT (workspace_id, key) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at
			WHERE visitors.last_seen_at < EXCLUDED.last_seen_at - interval '1 hour'`, workspaceID, pq.Array(keys), pq.Array(sites), pq.Array(ats))
	if err != nil {
		return nil, fmt.Errorf("store: unable to record visitors: %w", err)
	}
	var rows []model.Visitor
	if err := t.tx.SelectContext(ctx, &rows, `SELECT id, key, lead_id, internal FROM visitors WHERE workspace_id = $1 AND key = ANY($2)`,
		workspaceID, pq.Array(keys)); err != nil {
		return nil, fmt.Errorf("store: unable to read visitors: %w", err)
	}
	out := make(map[string]model.Visitor, len(rows))
	for _, r := range rows {
		out[r.Key] = r
	}
	return out, nil
}

// MarkVisitorInternal flags a browser as one of the workspace's own people: it never belongs
// to a lead, and what it did so far stays anonymous.
func (t *Tx) MarkVisitorInternal(ctx context.Context, workspaceID, visitorID int64) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE visitors SET internal = true WHERE workspace_id = $1 AND id = $2`, workspaceID, visitorID)
	if err != nil {
		return fmt.Errorf("store: unable to mark a visitor internal: %w", err)
	}
	return nil
}

// StaffEmails returns which of the emails belong to the workspace's users.
func (t *Tx) StaffEmails(ctx context.Context, workspaceID int64, emails []string) (map[string]bool, error) {
	if len(emails) == 0 {
		return map[string]bool{}, nil // most batches are page views: no query
	}
	var found []string
	if err := t.tx.SelectContext(ctx, &found, `SELECT email FROM users WHERE workspace_id = $1 AND email = ANY($2)`,
		workspaceID, pq.Array(emails)); err != nil {
		return nil, fmt.Errorf("store: unable to check staff emails: %w", err)
	}
	out := make(map[string]bool, len(found))
	for _, e := range found {
		out[e] = true
	}
	return out, nil
}

// LinkBlocked tells whether a person undid this browser–lead link before.
func (t *Tx) LinkBlocked(ctx context.Context, workspaceID, visitorID, leadID int64) (bool, error) {
	var n int
	err := t.tx.GetContext(ctx, &n, `SELECT count(*) FROM identity_blocks WHERE workspace_id = $1 AND visitor_id = $2 AND lead_id = $3`,
		workspaceID, visitorID, leadID)
	if err != nil {
		return false, fmt.Errorf("store: unable to check identity blocks: %w", err)
	}
	return n > 0, nil
}

// LinkVisitor ties a browser to a lead for the reason given. A browser that was anonymous
// brings its activities along. One that belonged to another person keeps that person's
// activities there (the newer person wins for new activity only), except, for an
// identification with the browser's time, the hits the browser sent from then until
// l.Until, the caller's reading of the browser's next identification (see model.Relink).
// The activities that moved are returned, to be scored.
func (t *Tx) LinkVisitor(ctx context.Context, workspaceID int64, l model.IdentityLink) (model.Relink, error) {
	r := model.Relink{Current: true}
	if l.ReplacedLeadID != nil && !l.IdentifiedAt.IsZero() {
		r.Since, r.Until, r.Current = l.IdentifiedAt, l.Until, l.Until.IsZero()
	}
	if r.Current {
		if _, err := t.tx.ExecContext(ctx, `UPDATE visitors SET lead_id = $3 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, l.VisitorID, l.LeadID); err != nil {
			return r, fmt.Errorf("store: unable to link a visitor: %w", err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO identity_links (workspace_id, visitor_id, lead_id, reason, detail, replaced_lead_id, identified_at, late)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, workspaceID, l.VisitorID, l.LeadID, l.Reason, clipText(l.Detail, 300), l.ReplacedLeadID,
		nullTime(l.IdentifiedAt), !r.Current); err != nil {
		return r, fmt.Errorf("store: unable to record an identity link: %w", err)
	}
	var err error
	switch {
	case l.ReplacedLeadID == nil:
		err = t.tx.SelectContext(ctx, &r.Moved, `UPDATE activities SET lead_id = $3
			WHERE workspace_id = $1 AND visitor_id = $2 AND lead_id IS NULL RETURNING id, occurred_at`, workspaceID, l.VisitorID, l.LeadID)
	case !r.Since.IsZero():
		err = t.tx.SelectContext(ctx, &r.Moved, `WITH sent AS (
				SELECT id, lead_id FROM activities WHERE workspace_id = $1 AND visitor_id = $2 AND lead_id <> $3
					AND occurred_at >= $4 AND ($5::timestamptz IS NULL OR occurred_at < $5) FOR UPDATE)
			UPDATE activities a SET lead_id = $3 FROM sent WHERE a.workspace_id = $1 AND a.id = sent.id
			RETURNING a.id, a.occurred_at, sent.lead_id AS from_lead`, workspaceID, l.VisitorID, l.LeadID, r.Since, nullTime(r.Until))
	}
	if err != nil {
		return r, fmt.Errorf("store: unable to attach a visitor's activities: %w", err)
	}
	return r, nil
}

// StandingLinks lists the browsers' identifications that were not undone, in time order.
func (t *Tx) StandingLinks(ctx context.Context, workspaceID int64, visitorIDs []int64) ([]model.BrowserLink, error) {
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	var out []model.BrowserLink
	if err := t.tx.SelectContext(ctx, &out, `SELECT visitor_id, lead_id, COALESCE(identified_at, created_at) AS at, identified_at IS NOT NULL AS clocked FROM identity_links
		WHERE workspace_id = $1 AND visitor_id = ANY($2) AND undone_at IS NULL ORDER BY visitor_id, at, id`,
		workspaceID, pq.Array(visitorIDs)); err != nil {
		return nil, fmt.Errorf("store: unable to read the browsers' identifications: %w", err)
	}
	return out, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ScoreAgainNow has the leads scored again from what they hold now (activities moved away
// from them): their refresh time becomes now and a refresh job is queued for it.
func (t *Tx) ScoreAgainNow(ctx context.Context, workspaceID int64, leadIDs []int64) error {
	if len(leadIDs) == 0 {
		return nil
	}
	if err := scoreAgain(ctx, t.tx, `l.workspace_id = $1 AND l.id = ANY($2)`, workspaceID, pq.Array(sortedNonZero(leadIDs...))); err != nil {
		return err
	}
	return enqueueJob(ctx, t.tx, workspaceID, JobRefresh, "", time.Now())
}

// UndoIdentityLink takes a browser back from the lead a link gave it to: its activities on
// that lead go back to the person it belonged to before, or become anonymous again; the pair
// is never linked again automatically. It returns the link and the lead the activities went
// back to (0: anonymous). ErrNotFound when the link does not exist or was undone already.
func (t *Tx) UndoIdentityLink(ctx context.Context, workspaceID, linkID int64, userID *int64) (model.IdentityLink, int64, error) {
	var l model.IdentityLink
	err := t.tx.GetContext(ctx, &l, `SELECT id, visitor_id, lead_id, reason, detail, replaced_lead_id, created_at, undone_at
		FROM identity_links WHERE workspace_id = $1 AND id = $2 AND undone_at IS NULL FOR UPDATE`, workspaceID, linkID)
	if err != nil {
		return l, 0, fmt.Errorf("store: unable to load the identity link: %w", notFound(err))
	}
	// Browser first, then leads (docs/work.md).
	if _, err := t.tx.ExecContext(ctx, `SELECT 1 FROM visitors WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, l.VisitorID); err != nil {
		return l, 0, fmt.Errorf("store: unable to lock the visitor: %w", err)
	}
	var back int64
	if l.ReplacedLeadID != nil {
		back = *l.ReplacedLeadID
	}
	if err := t.LockLeads(ctx, workspaceID, sortedNonZero(l.LeadID, back)); err != nil {
		return l, 0, err
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE activities SET lead_id = NULLIF($4, 0)
		WHERE workspace_id = $1 AND visitor_id = $2 AND lead_id = $3`, workspaceID, l.VisitorID, l.LeadID, back); err != nil {
		return l, 0, fmt.Errorf("store: unable to move activities back: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE visitors SET lead_id = NULLIF($4, 0)
		WHERE workspace_id = $1 AND id = $2 AND lead_id = $3`, workspaceID, l.VisitorID, l.LeadID, back); err != nil {
		return l, 0, fmt.Errorf("store: unable to unlink the visitor: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE identity_links SET undone_at = now(), undone_by = $3 WHERE workspace_id = $1 AND id = $2`,
		workspaceID, l.ID, userID); err != nil {
		return l, 0, fmt.Errorf("store: unable to mark the link undone: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO identity_blocks (workspace_id, visitor_id, lead_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, workspaceID, l.VisitorID, l.LeadID); err != nil {
		return l, 0, fmt.Errorf("store: unable to block the link: %w", err)
	}
	return l, back, t.RecountLeadActivity(ctx, workspaceID, sortedNonZero(l.LeadID, back))
}

// RecountLeadActivity sets the leads' activity summary — the exact one and the row's copy —
// from their activities (after some moved away). Leads first, then their summaries.
func (t *Tx) RecountLeadActivity(ctx context.Context, workspaceID int64, leadIDs []int64) error {
	_, err := t.tx.ExecContext(ctx, `WITH x AS (
			SELECT u.lead, count(a.id)::int AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
			FROM unnest($2::bigint[]) AS u(lead)
			LEFT JOIN activities a ON a.workspace_id = $1 AND a.lead_id = u.lead
			GROUP BY u.lead),
		shown AS (
			UPDATE leads l SET activity_count = x.n, first_activity_at = x.first, last_activity_at = x.last, updated_at = now()
			FROM x WHERE l.workspace_id = $1 AND l.id = x.lead RETURNING l.id)
		INSERT INTO lead_activity (workspace_id, lead_id, activity_count, first_activity_at, last_activity_at)
		SELECT $1, x.lead, x.n, x.first, x.last FROM x JOIN shown ON shown.id = x.lead ORDER BY x.lead
		ON CONFLICT (workspace_id, lead_id) DO UPDATE SET activity_count = excluded.activity_count,
			first_activity_at = excluded.first_activity_at, last_activity_at = excluded.last_activity_at`,
		workspaceID, pq.Array(leadIDs))
	if err != nil {
		return fmt.Errorf("store: unable to recount lead activity: %w", err)
	}
	return nil
}

func sortedNonZero(ids ...int64) []int64 {
	out := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	slices.Sort(out)
	return slices.Compact(out)
}

// IdentityLinksOfLead lists how the lead's browsers came to be theirs, and the links that took
// a browser from them, newest first.
func (s *Store) IdentityLinksOfLead(ctx context.Context, workspaceID, leadID int64) ([]model.IdentityLink, error) {
	var out []model.IdentityLink
	err := s.db.SelectContext(ctx, &out, `
		SELECT il.id, il.visitor_id, il.lead_id, il.reason, il.detail, il.replaced_lead_id, il.late, il.created_at, il.undone_at,
			COALESCE(CASE WHEN il.lead_id = $2 THEN r.email ELSE n.email END, '') AS replaced_email,
			(SELECT count(*) FROM activities a WHERE a.workspace_id = $1 AND a.visitor_id = il.visitor_id AND a.lead_id = $2) AS activities,
			v.key AS visitor_key
		FROM identity_links il
		JOIN visitors v ON v.workspace_id = il.workspace_id AND v.id = il.visitor_id
		LEFT JOIN leads r ON r.workspace_id = il.workspace_id AND r.id = il.replaced_lead_id
		LEFT JOIN leads n ON n.workspace_id = il.workspace_id AND n.id = il.lead_id
		WHERE il.workspace_id = $1 AND (il.lead_id = $2 OR il.replaced_lead_id = $2)
		ORDER BY il.created_at DESC, il.id DESC`, workspaceID, leadID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list identity links: %w", err)
	}
	return out, nil
}

// DeleteExpiredVisitors removes anonymous browsers not seen within their site's retention,
// with their activities and stored events: a server-wide periodic sweep. It returns how many
// browsers went.
func (s *Store) DeleteExpiredVisitors(ctx context.Context) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `
		WITH gone AS (
			DELETE FROM visitors v WHERE v.lead_id IS NULL AND v.last_seen_at < now() - make_interval(days =>
				COALESCE((SELECT s.retention_days FROM sites s WHERE s.workspace_id = v.workspace_id AND s.id = v.site_id), 90))
			RETURNING v.workspace_id, v.id),
		acts AS (
			DELETE FROM activities a USING gone WHERE a.workspace_id = gone.workspace_id AND a.visitor_id = gone.id AND a.lead_id IS NULL
			RETURNING a.workspace_id, a.id),
		events AS (
			DELETE FROM inbound_events e USING acts WHERE e.workspace_id = acts.workspace_id AND e.id = acts.id RETURNING 1)
		SELECT count(*) FROM gone`)
	if err != nil {
		return 0, fmt.Errorf("store: unable to delete expired visitors: %w", err)
	}
	return n, nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
