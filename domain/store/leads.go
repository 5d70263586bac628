package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const leadColumns = `l.workspace_id, l.id, l.email, l.first_name, l.last_name, l.company, l.created_at, l.last_activity_at,
	l.phone, l.country, l.time_zone, l.custom_attributes, l.account_id, l.first_activity_at, l.activity_count, l.updated_at,
	a.domain AS account_domain`

const leadFrom = ` FROM leads l LEFT JOIN accounts a ON a.workspace_id = l.workspace_id AND a.id = l.account_id `

// CreateLead inserts a lead, or returns ErrDuplicate when the email is already a lead.
func (s *Store) CreateLead(ctx context.Context, l model.Lead) (model.Lead, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `
		INSERT INTO leads (workspace_id, email, first_name, last_name, company, last_activity_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		l.WorkspaceID, l.Email, l.FirstName, l.LastName, l.Company, l.LastActivityAt)
	if isUniqueViolation(err) {
		return l, ErrDuplicate
	}
	if err != nil {
		return l, fmt.Errorf("store: unable to create lead: %w", err)
	}
	return s.LeadByID(ctx, l.WorkspaceID, id)
}

// LeadByID loads one lead of the workspace.
func (s *Store) LeadByID(ctx context.Context, workspaceID, leadID int64) (model.Lead, error) {
	var l model.Lead
	err := s.db.GetContext(ctx, &l, `SELECT `+leadColumns+leadFrom+`WHERE l.workspace_id = $1 AND l.id = $2`, workspaceID, leadID)
	if err != nil {
		return l, fmt.Errorf("store: unable to load lead: %w", notFound(err))
	}
	return l, nil
}

// LeadFilter narrows the lead list.
type LeadFilter struct {
	// Search matches email, name or company, case-insensitively.
	Search string
	Limit  int
	Offset int
}

// ListLeads pages through the workspace's leads, most recently active first. Ties break on id
// so pages never skip or repeat a lead.
func (s *Store) ListLeads(ctx context.Context, workspaceID int64, f LeadFilter) ([]model.Lead, int, error) {
	where := `WHERE l.workspace_id = $1`
	args := []any{workspaceID}
	if q := strings.TrimSpace(f.Search); q != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q))+"%")
		where += ` AND (l.email LIKE $2 OR lower(l.first_name || ' ' || l.last_name) LIKE $2 OR lower(l.company) LIKE $2)`
	}
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM leads l `+where, args...); err != nil {
		return nil, 0, fmt.Errorf("store: unable to count leads: %w", err)
	}
	var leads []model.Lead
	args = append(args, f.Limit, f.Offset)
	err := s.db.SelectContext(ctx, &leads, `SELECT `+leadColumns+leadFrom+where+
		fmt.Sprintf(` ORDER BY l.last_activity_at DESC NULLS LAST, l.id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: unable to list leads: %w", err)
	}
	return leads, total, nil
}

// LeadIdentities lists the identifiers known for a lead.
func (s *Store) LeadIdentities(ctx context.Context, workspaceID, leadID int64) ([]model.Identity, error) {
	var ids []model.Identity
	err := s.db.SelectContext(ctx, &ids, `
		SELECT kind, value, lead_id FROM lead_identities WHERE workspace_id = $1 AND lead_id = $2 ORDER BY kind, value`,
		workspaceID, leadID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list identities: %w", err)
	}
	return ids, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
