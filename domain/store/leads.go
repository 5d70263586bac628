package store

import (
	"context"
	"fmt"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const leadColumns = `workspace_id, id, email, first_name, last_name, company, created_at, last_activity_at`

// CreateLead inserts a lead, or returns ErrDuplicate when the email is already a lead.
func (s *Store) CreateLead(ctx context.Context, l model.Lead) (model.Lead, error) {
	err := s.db.GetContext(ctx, &l, `
		INSERT INTO leads (workspace_id, email, first_name, last_name, company, last_activity_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+leadColumns, l.WorkspaceID, l.Email, l.FirstName, l.LastName, l.Company, l.LastActivityAt)
	if isUniqueViolation(err) {
		return l, ErrDuplicate
	}
	if err != nil {
		return l, fmt.Errorf("store: unable to create lead: %w", err)
	}
	return l, nil
}

// ListLeads pages through the workspace's leads, most recently active first. Ties break on id
// so pages never skip or repeat a lead.
func (s *Store) ListLeads(ctx context.Context, workspaceID int64, limit, offset int) ([]model.Lead, int, error) {
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM leads WHERE workspace_id = $1`, workspaceID); err != nil {
		return nil, 0, fmt.Errorf("store: unable to count leads: %w", err)
	}
	var leads []model.Lead
	err := s.db.SelectContext(ctx, &leads, `
		SELECT `+leadColumns+` FROM leads WHERE workspace_id = $1
		ORDER BY last_activity_at DESC NULLS LAST, id DESC LIMIT $2 OFFSET $3`, workspaceID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: unable to list leads: %w", err)
	}
	return leads, total, nil
}
