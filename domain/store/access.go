package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// Sales access settings of a workspace: what its sales users may see.
const (
	SalesSeeAll = "all" // every lead of the workspace (the default)
	SalesSeeOwn = "own" // the leads they own and their pools' unassigned leads
)

// Viewer is the person a read of leads is for. The zero restriction reads every lead of the
// workspace (admins, marketers, background work); OwnOnly keeps a sales user to the leads
// whose owner is them (by email, so Salesforce-pulled owners count) and the unassigned
// leads of the distribution pools they belong to. Every store method that reads leads,
// accounts or activities for a person takes one, so no page can forget the restriction.
type Viewer struct {
	WorkspaceID int64
	OwnOnly     bool
	UserID      int64
	Email       string
}

// Everyone is the viewer that reads every lead of a workspace.
func Everyone(workspaceID int64) Viewer { return Viewer{WorkspaceID: workspaceID} }

// ViewerOf is the viewer a user of a workspace with the given sales access is.
func ViewerOf(u model.User, salesAccess string) Viewer {
	v := Everyone(u.WorkspaceID)
	if u.Role == model.RoleSales && salesAccess == SalesSeeOwn {
		v.OwnOnly, v.UserID, v.Email = true, u.ID, strings.ToLower(u.Email)
	}
	return v
}

// leadCond is the condition a lead aliased l must meet for the viewer ("" when every lead
// may be read); arg binds a value and returns its placeholder. l.workspace_id is assumed
// bound to the viewer's workspace by the caller's query.
func (v Viewer) leadCond(arg func(any) string) string {
	if !v.OwnOnly {
		return ""
	}
	return ownLeads(arg(v.Email), arg(v.UserID))
}

// ownLeads is the condition that a lead aliased l is the user's (by lower-case email) or an
// unassigned lead of one of the user's pools, given the two values' SQL expressions.
func ownLeads(email, userID string) string {
	return fmt.Sprintf(`(lower(l.owner_email) = %s OR (l.owner_email = '' AND l.pool_id IN
		(SELECT pm.pool_id FROM pool_members pm WHERE pm.workspace_id = l.workspace_id AND pm.user_id = %s)))`, email, userID)
}

// and is leadCond prefixed with AND, or "".
func (v Viewer) and(arg func(any) string) string {
	if c := v.leadCond(arg); c != "" {
		return " AND " + c
	}
	return ""
}

// binder returns an arg function appending to args, numbering after those already there.
func binder(args *[]any) func(any) string {
	return func(x any) string {
		*args = append(*args, x)
		return fmt.Sprintf("$%d", len(*args))
	}
}

// SalesAccess is the workspace's data-access setting for sales users.
func (s *Store) SalesAccess(ctx context.Context, workspaceID int64) (string, error) {
	var a string
	if err := s.db.GetContext(ctx, &a, `SELECT sales_access FROM workspaces WHERE id = $1`, workspaceID); err != nil {
		return "", fmt.Errorf("store: unable to read the data access setting: %w", notFound(err))
	}
	return a, nil
}

// SetSalesAccess changes what the workspace's sales users may see.
func (s *Store) SetSalesAccess(ctx context.Context, workspaceID int64, access string) error {
	if access != SalesSeeAll && access != SalesSeeOwn {
		return fmt.Errorf("store: unknown data access %q", access)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE workspaces SET sales_access = $2, updated_at = now() WHERE id = $1`, workspaceID, access)
	if err != nil {
		return fmt.Errorf("store: unable to change the data access setting: %w", err)
	}
	return expectOneRow(res)
}

// UserViewer is the viewer a user of the workspace is now, read from the database (for work
// done on a person's behalf outside a request: an API token acting for them, their alerts
// and digests). A deactivated or unknown user is ErrNotFound.
func (s *Store) UserViewer(ctx context.Context, workspaceID, userID int64) (Viewer, error) {
	var row struct {
		model.User
		Access string `db:"sales_access"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT u.workspace_id, u.id, u.email, u.role, w.sales_access
		FROM users u JOIN workspaces w ON w.id = u.workspace_id WHERE u.workspace_id = $1 AND u.id = $2 AND u.active`, workspaceID, userID)
	if err != nil {
		return Viewer{}, fmt.Errorf("store: unable to read the user's access: %w", notFound(err))
	}
	return ViewerOf(row.User, row.Access), nil
}

// CanSeeLead reports whether the viewer may read the lead (false for another workspace's or
// a missing lead).
func (s *Store) CanSeeLead(ctx context.Context, v Viewer, leadID int64) (bool, error) {
	args := []any{v.WorkspaceID, leadID}
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM leads l WHERE l.workspace_id = $1 AND l.id = $2`+v.and(binder(&args))+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("store: unable to check access to the lead: %w", err)
	}
	return ok, nil
}

// LeadFor loads one lead the viewer may read; ErrNotFound otherwise (a restricted user learns
// no more about another's lead than about a missing one).
func (s *Store) LeadFor(ctx context.Context, v Viewer, leadID int64) (model.Lead, error) {
	args := []any{v.WorkspaceID, leadID}
	var l model.Lead
	err := s.db.GetContext(ctx, &l, `SELECT `+leadColumns+leadFrom+`WHERE l.workspace_id = $1 AND l.id = $2`+v.and(binder(&args)), args...)
	if err != nil {
		return l, fmt.Errorf("store: unable to load lead: %w", notFound(err))
	}
	return l, nil
}
