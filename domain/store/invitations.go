package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// ErrInvitationUsed means the invitation was accepted or revoked already.
var ErrInvitationUsed = errors.New("store: invitation already used or revoked")

// ErrInvitationExpired means the invitation is past its expiry time.
var ErrInvitationExpired = errors.New("store: invitation expired")

const invitationColumns = `workspace_id, id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at`

// CreateInvitation stores a new invitation; only the hash of its token is kept.
func (s *Store) CreateInvitation(ctx context.Context, inv model.Invitation) (model.Invitation, error) {
	err := s.db.GetContext(ctx, &inv, `
		INSERT INTO invitations (workspace_id, email, role, token_hash, invited_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+invitationColumns,
		inv.WorkspaceID, inv.Email, inv.Role, inv.TokenHash, inv.InvitedBy, inv.ExpiresAt)
	if err != nil {
		return inv, fmt.Errorf("store: unable to create invitation: %w", err)
	}
	return inv, nil
}

// InvitationByTokenHash finds an invitation of the workspace by the hash of its token.
func (s *Store) InvitationByTokenHash(ctx context.Context, workspaceID int64, tokenHash []byte) (model.Invitation, error) {
	var inv model.Invitation
	err := s.db.GetContext(ctx, &inv, `
		SELECT `+invitationColumns+` FROM invitations WHERE workspace_id = $1 AND token_hash = $2`,
		workspaceID, tokenHash)
	if err != nil {
		return inv, fmt.Errorf("store: unable to load invitation: %w", notFound(err))
	}
	return inv, nil
}

// ListPendingInvitations lists invitations that can still be accepted.
func (s *Store) ListPendingInvitations(ctx context.Context, workspaceID int64) ([]model.Invitation, error) {
	var invs []model.Invitation
	err := s.db.SelectContext(ctx, &invs, `
		SELECT `+invitationColumns+` FROM invitations
		WHERE workspace_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
		ORDER BY created_at DESC`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list invitations: %w", err)
	}
	return invs, nil
}

// RevokeInvitation makes a pending invitation unusable.
func (s *Store) RevokeInvitation(ctx context.Context, workspaceID, invitationID int64) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE invitations SET revoked_at = now()
		WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
		workspaceID, invitationID)
	if err != nil {
		return fmt.Errorf("store: unable to revoke invitation: %w", err)
	}
	return expectOneRow(res)
}

// AcceptInvitation creates the invited user and marks the invitation used, atomically: two
// people racing on one link cannot both join.
func (s *Store) AcceptInvitation(ctx context.Context, workspaceID int64, tokenHash []byte, u model.User, now time.Time) (model.User, error) {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var inv model.Invitation
		err := tx.GetContext(ctx, &inv, `
			SELECT `+invitationColumns+` FROM invitations
			WHERE workspace_id = $1 AND token_hash = $2 FOR UPDATE`, workspaceID, tokenHash)
		if err != nil {
			return fmt.Errorf("store: unable to load invitation: %w", notFound(err))
		}
		if inv.AcceptedAt != nil || inv.RevokedAt != nil {
			return ErrInvitationUsed
		}
		if !now.Before(inv.ExpiresAt) {
			return ErrInvitationExpired
		}
		u.WorkspaceID = workspaceID
		u.Email = inv.Email
		u.Role = inv.Role
		created, err := insertUser(ctx, tx, u)
		if err != nil {
			return err
		}
		u = created
		_, err = tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = $3 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, inv.ID, now)
		if err != nil {
			return fmt.Errorf("store: unable to mark invitation accepted: %w", err)
		}
		return nil
	})
	return u, err
}
