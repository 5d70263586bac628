package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// CardLayout is a workspace's layout of one card: the draft being edited and what pages show.
type CardLayout struct {
	Object      string         `db:"object"`
	Draft       pq.StringArray `db:"draft"`
	DraftBy     string         `db:"draft_by"`
	DraftAt     time.Time      `db:"draft_at"`
	Published   pq.StringArray `db:"published"` // nil: never published (pages show the default)
	PublishedBy string         `db:"published_by"`
	PublishedAt *time.Time     `db:"published_at"`
}

// CardLayouts reads the workspace's layouts by object (an object never edited is absent).
func (s *Store) CardLayouts(ctx context.Context, workspaceID int64) (map[string]CardLayout, error) {
	var rows []CardLayout
	if err := s.db.SelectContext(ctx, &rows, `SELECT object, draft, draft_by, draft_at, published, published_by, published_at
		FROM card_layouts WHERE workspace_id = $1`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to read the card layouts: %w", err)
	}
	out := make(map[string]CardLayout, len(rows))
	for _, r := range rows {
		out[r.Object] = r
	}
	return out, nil
}

// PublishedCard is the published layout of an object; ok is false when none was published.
func (s *Store) PublishedCard(ctx context.Context, workspaceID int64, object string) ([]string, bool, error) {
	var fields pq.StringArray
	err := s.db.GetContext(ctx, &fields, `SELECT published FROM card_layouts WHERE workspace_id = $1 AND object = $2 AND published IS NOT NULL`,
		workspaceID, object)
	if notFound(err) == ErrNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: unable to read the card layout: %w", err)
	}
	return fields, true, nil
}

// SaveCardDraft stores an object's draft; nobody sees it until it is published.
func (s *Store) SaveCardDraft(ctx context.Context, workspaceID int64, object string, fields []string, by string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO card_layouts (workspace_id, object, draft, draft_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, object) DO UPDATE SET draft = EXCLUDED.draft, draft_by = EXCLUDED.draft_by, draft_at = now()`,
		workspaceID, object, pq.Array(append([]string{}, fields...)), by)
	if err != nil {
		return fmt.Errorf("store: unable to save the draft: %w", err)
	}
	return nil
}

// PublishCard makes an object's draft the layout every page shows, noting who published it.
func (s *Store) PublishCard(ctx context.Context, workspaceID int64, object, by string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE card_layouts SET published = draft, published_by = $3, published_at = now()
		WHERE workspace_id = $1 AND object = $2`, workspaceID, object, by)
	if err != nil {
		return fmt.Errorf("store: unable to publish the layout: %w", err)
	}
	return expectOneRow(res)
}

// DiscardCardDraft puts the draft back to what is published (or removes it when nothing is).
func (s *Store) DiscardCardDraft(ctx context.Context, workspaceID int64, object string) error {
	_, err := s.db.ExecContext(ctx, `WITH gone AS (DELETE FROM card_layouts WHERE workspace_id = $1 AND object = $2 AND published IS NULL)
		UPDATE card_layouts SET draft = published, draft_at = now() WHERE workspace_id = $1 AND object = $2 AND published IS NOT NULL`,
		workspaceID, object)
	if err != nil {
		return fmt.Errorf("store: unable to discard the draft: %w", err)
	}
	return nil
}

// CustomAttributeKeys lists custom attribute names seen on the workspace's leads (a sample of
// up to 5,000 leads with any, so the settings page answers at once on a million leads).
func (s *Store) CustomAttributeKeys(ctx context.Context, workspaceID int64) ([]string, error) {
	var keys []string
	err := s.db.SelectContext(ctx, &keys, `SELECT DISTINCT k FROM (
			SELECT jsonb_object_keys(custom_attributes) AS k FROM (
				SELECT custom_attributes FROM leads WHERE workspace_id = $1 AND custom_attributes <> '{}' LIMIT 5000) sample) ks
		ORDER BY k LIMIT 100`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read custom attribute names: %w", err)
	}
	return keys, nil
}

// ScoresOfLeads reads the named scores of some leads of the workspace, by lead and name.
func (s *Store) ScoresOfLeads(ctx context.Context, workspaceID int64, leadIDs []int64) (map[int64]map[string]float64, error) {
	var rows []struct {
		LeadID int64   `db:"lead_id"`
		Name   string  `db:"name"`
		Value  float64 `db:"value"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT s.lead_id, n.name, s.value FROM lead_score_values s
		JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id
		WHERE s.workspace_id = $1 AND s.lead_id = ANY($2)`, workspaceID, pq.Array(leadIDs)); err != nil {
		return nil, fmt.Errorf("store: unable to read the leads' scores: %w", err)
	}
	out := map[int64]map[string]float64{}
	for _, r := range rows {
		if out[r.LeadID] == nil {
			out[r.LeadID] = map[string]float64{}
		}
		out[r.LeadID][r.Name] = r.Value
	}
	return out, nil
}
