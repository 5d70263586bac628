package store

import (
	"context"
	"fmt"
	"time"
)

// SegmentSource is a workspace's Segment intake: its shared secret, sealed (nil: messages
// are not signed).
type SegmentSource struct {
	WorkspaceID int64     `db:"workspace_id"`
	SecretEnc   []byte    `db:"secret_enc"`
	SecretHint  string    `db:"secret_hint"`
	CreatedAt   time.Time `db:"created_at"`
}

// SegmentSource reads the workspace's Segment source; ErrNotFound when it has none.
func (s *Store) SegmentSource(ctx context.Context, workspaceID int64) (SegmentSource, error) {
	var src SegmentSource
	if err := s.db.GetContext(ctx, &src, `SELECT workspace_id, secret_enc, secret_hint, created_at FROM segment_sources WHERE workspace_id = $1`,
		workspaceID); err != nil {
		return src, fmt.Errorf("store: unable to read the Segment source: %w", notFound(err))
	}
	return src, nil
}

// SaveSegmentSource creates the workspace's Segment source or sets its shared secret (nil
// secret: none).
func (s *Store) SaveSegmentSource(ctx context.Context, workspaceID int64, secretEnc []byte, hint string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO segment_sources (workspace_id, secret_enc, secret_hint) VALUES ($1, $2, $3)
		ON CONFLICT (workspace_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, secret_hint = EXCLUDED.secret_hint, updated_at = now()`,
		workspaceID, secretEnc, hint); err != nil {
		return fmt.Errorf("store: unable to save the Segment source: %w", err)
	}
	return nil
}

// ApplyAccountTraits fills the account of a lead from a Segment group call: name, industry
// and head count where given (the account is keyed by the lead's email domain); its people
// are scored again, as account rules read these.
func (t *Tx) ApplyAccountTraits(ctx context.Context, workspaceID, leadID int64, name, industry string, employees *int) error {
	var id int64
	err := t.tx.GetContext(ctx, &id, `UPDATE accounts a SET name = COALESCE(NULLIF($3, ''), a.name),
			industry = COALESCE(NULLIF($4, ''), a.industry), employees = COALESCE($5, a.employees), updated_at = now()
		FROM leads l WHERE l.workspace_id = $1 AND l.id = $2 AND a.workspace_id = $1 AND a.id = l.account_id RETURNING a.id`,
		workspaceID, leadID, name, industry, employees)
	if notFound(err) == ErrNotFound {
		return nil // a person without a company domain
	}
	if err != nil {
		return fmt.Errorf("store: unable to apply group traits: %w", err)
	}
	return scoreAgain(ctx, t.tx, `l.workspace_id = $1 AND l.account_id = $2`, workspaceID, id)
}
