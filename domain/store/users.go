package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// ErrLastAdmin protects a workspace from losing its last active admin.
var ErrLastAdmin = errors.New("store: a workspace needs at least one active admin")

const userColumns = `workspace_id, id, email, name, role, password_hash, active, created_at, last_login_at, time_zone, digest, quiet_from, quiet_to, last_digest_at`

func insertUser(ctx context.Context, tx *sqlx.Tx, u model.User) (model.User, error) {
	err := tx.GetContext(ctx, &u, `
		INSERT INTO users (workspace_id, email, name, role, password_hash)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+userColumns, u.WorkspaceID, u.Email, u.Name, u.Role, u.PasswordHash)
	if isUniqueViolation(err) {
		return u, ErrDuplicate
	}
	if err != nil {
		return u, fmt.Errorf("store: unable to create user: %w", err)
	}
	return u, nil
}

// UserByID loads a user of the workspace.
func (s *Store) UserByID(ctx context.Context, workspaceID, userID int64) (model.User, error) {
	var u model.User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 AND id = $2`, workspaceID, userID)
	if err != nil {
		return u, fmt.Errorf("store: unable to load user: %w", notFound(err))
	}
	return u, nil
}

// UserByEmail loads a user of the workspace by email.
func (s *Store) UserByEmail(ctx context.Context, workspaceID int64, email string) (model.User, error) {
	var u model.User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 AND email = $2`, workspaceID, email)
	if err != nil {
		return u, fmt.Errorf("store: unable to load user: %w", notFound(err))
	}
	return u, nil
}

// ListUsers lists the workspace's users, admins first, then by name.
func (s *Store) ListUsers(ctx context.Context, workspaceID int64) ([]model.User, error) {
	var users []model.User
	err := s.db.SelectContext(ctx, &users, `
		SELECT `+userColumns+` FROM users WHERE workspace_id = $1
		ORDER BY active DESC, CASE role WHEN 'admin' THEN 0 WHEN 'marketer' THEN 1 ELSE 2 END, lower(name), id`,
		workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list users: %w", err)
	}
	return users, nil
}

// LoginCandidates returns the active users with this email across all workspaces. It is the one
// lookup that is not scoped to a workspace, because a person signing in has not named one yet;
// the caller must verify the password before using any row.
func (s *Store) LoginCandidates(ctx context.Context, email string) ([]model.User, error) {
	var users []model.User
	err := s.db.SelectContext(ctx, &users, `
		SELECT `+userColumns+` FROM users WHERE email = $1 AND active
		ORDER BY last_login_at DESC NULLS LAST, created_at`, email)
	if err != nil {
		return nil, fmt.Errorf("store: unable to look up login: %w", err)
	}
	return users, nil
}

// RecordLogin notes a successful sign-in.
func (s *Store) RecordLogin(ctx context.Context, workspaceID, userID int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET last_login_at = now() WHERE workspace_id = $1 AND id = $2`, workspaceID, userID)
	if err != nil {
		return fmt.Errorf("store: unable to record login: %w", err)
	}
	return expectOneRow(res)
}

// SetUserRole changes a user's role, refusing to demote the last active admin.
func (s *Store) SetUserRole(ctx context.Context, workspaceID, userID int64, role model.Role) error {
	return s.changeUser(ctx, workspaceID, userID, func(u *model.User) { u.Role = role })
}

// SetUserActive activates or deactivates a user, refusing to deactivate the last active admin.
func (s *Store) SetUserActive(ctx context.Context, workspaceID, userID int64, active bool) error {
	return s.changeUser(ctx, workspaceID, userID, func(u *model.User) { u.Active = active })
}

// changeUser applies a change of role or activity and then checks, under a lock on the
// workspace's admins, that an active admin remains. A change of role or a deactivation ends
// the user's sessions in the same transaction: a cookie from before must not carry on.
func (s *Store) changeUser(ctx context.Context, workspaceID, userID int64, change func(*model.User)) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var adminIDs []int64
		if err := tx.SelectContext(ctx, &adminIDs, `
			SELECT id FROM users WHERE workspace_id = $1 AND role = 'admin' AND active FOR UPDATE`, workspaceID); err != nil {
			return fmt.Errorf("store: unable to lock admins: %w", err)
		}
		var before model.User
		if err := tx.GetContext(ctx, &before, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
			workspaceID, userID); err != nil {
			return fmt.Errorf("store: unable to load user: %w", notFound(err))
		}
		after := before
		change(&after)
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $3, active = $4 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, userID, after.Role, after.Active); err != nil {
			return fmt.Errorf("store: unable to update user: %w", err)
		}
		if after.Role != before.Role || (before.Active && !after.Active) {
			if err := endUserSessions(ctx, tx, workspaceID, userID); err != nil {
				return err
			}
		}
		var remaining int
		if err := tx.GetContext(ctx, &remaining, `
			SELECT count(*) FROM users WHERE workspace_id = $1 AND role = 'admin' AND active`, workspaceID); err != nil {
			return fmt.Errorf("store: unable to count admins: %w", err)
		}
		if remaining == 0 {
			return ErrLastAdmin
		}
		return nil
	})
}

func expectOneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: unable to read affected rows: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetUserTimeZone stores the time zone a person reads times in (empty: their browser's).
func (s *Store) SetUserTimeZone(ctx context.Context, workspaceID, userID int64, zone string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET time_zone = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, userID, zone)
	if err != nil {
		return fmt.Errorf("store: unable to save the time zone: %w", err)
	}
	return expectOneRow(res)
}
