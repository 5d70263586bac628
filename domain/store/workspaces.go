package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const workspaceColumns = `id, slug, name, public_url, created_at, updated_at, sales_access`

// CountWorkspaces tells whether the server has tenants yet (open sign-up depends on it).
func (s *Store) CountWorkspaces(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM workspaces`); err != nil {
		return 0, fmt.Errorf("store: unable to count workspaces: %w", err)
	}
	return n, nil
}

// CreateWorkspaceWithAdmin creates a workspace and its first admin in one transaction, so a
// failure leaves neither behind. The slug gets a numeric suffix when the wanted one is taken.
// A seed gives the workspace its starting rules and event property keys.
func (s *Store) CreateWorkspaceWithAdmin(ctx context.Context, ws model.Workspace, admin model.User, seed ...model.WorkspaceSeed) (model.Workspace, model.User, error) {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Serialise slug picking between concurrent sign-ups.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(72616717)`); err != nil {
			return err
		}
		slug, err := freeSlug(ctx, tx, ws.Slug)
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &ws, `
			INSERT INTO workspaces (slug, name, public_url) VALUES ($1, $2, $3)
			RETURNING `+workspaceColumns, slug, ws.Name, ws.PublicURL); err != nil {
			return fmt.Errorf("store: unable to create workspace: %w", err)
		}
		admin.WorkspaceID = ws.ID
		admin.Role = model.RoleAdmin
		created, err := insertUser(ctx, tx, admin)
		if err != nil {
			return err
		}
		admin = created
		if err := seedLeadSettings(ctx, tx, ws.ID); err != nil {
			return err
		}
		for _, sd := range seed {
			if err := seedScoring(ctx, tx, ws.ID, admin.ID, sd.Rules, sd.PropertyKeys); err != nil {
				return err
			}
		}
		return nil
	})
	return ws, admin, err
}

func freeSlug(ctx context.Context, tx *sqlx.Tx, want string) (string, error) {
	for i := 1; ; i++ {
		candidate := want
		if i > 1 {
			candidate = fmt.Sprintf("%s-%d", want, i)
		}
		var taken bool
		if err := tx.GetContext(ctx, &taken, `SELECT EXISTS (SELECT 1 FROM workspaces WHERE slug = $1)`, candidate); err != nil {
			return "", fmt.Errorf("store: unable to check slug: %w", err)
		}
		if !taken {
			return candidate, nil
		}
	}
}

// WorkspaceByID loads one workspace.
func (s *Store) WorkspaceByID(ctx context.Context, workspaceID int64) (model.Workspace, error) {
	var ws model.Workspace
	err := s.db.GetContext(ctx, &ws, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, workspaceID)
	if err != nil {
		return ws, fmt.Errorf("store: unable to load workspace %d: %w", workspaceID, notFound(err))
	}
	return ws, nil
}

// WorkspaceBySlug loads one workspace by its URL name.
func (s *Store) WorkspaceBySlug(ctx context.Context, slug string) (model.Workspace, error) {
	var ws model.Workspace
	err := s.db.GetContext(ctx, &ws, `SELECT `+workspaceColumns+` FROM workspaces WHERE slug = $1`, slug)
	if err != nil {
		return ws, fmt.Errorf("store: unable to load workspace %q: %w", slug, notFound(err))
	}
	return ws, nil
}

// UpdateWorkspace changes the workspace's name and public URL.
func (s *Store) UpdateWorkspace(ctx context.Context, workspaceID int64, name, publicURL string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE workspaces SET name = $2, public_url = $3, updated_at = now() WHERE id = $1`,
		workspaceID, name, publicURL)
	if err != nil {
		return fmt.Errorf("store: unable to update workspace: %w", err)
	}
	return expectOneRow(res)
}
