package store

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const tokenColumns = `workspace_id, id, kind, label, token_hash, hint, created_by, created_at, last_used_at, revoked_at, scopes, expires_at, acts_for_user_id`

// CreateAPIToken stores a token's hash.
func (s *Store) CreateAPIToken(ctx context.Context, t model.APIToken) (model.APIToken, error) {
	err := s.db.GetContext(ctx, &t, `
		INSERT INTO api_tokens (workspace_id, kind, label, token_hash, hint, created_by, scopes, expires_at, acts_for_user_id)
		VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, '{}'::text[]), $8, $9) RETURNING `+tokenColumns,
		t.WorkspaceID, t.Kind, t.Label, t.TokenHash, t.Hint, t.CreatedBy, pq.Array([]string(t.Scopes)), t.ExpiresAt, t.ActsFor)
	if err != nil {
		return t, fmt.Errorf("store: unable to create token: %w", err)
	}
	return t, nil
}

// APITokenByHash finds a token of the workspace by its hash, revoked or not.
func (s *Store) APITokenByHash(ctx context.Context, workspaceID int64, hash []byte) (model.APIToken, error) {
	var t model.APIToken
	err := s.db.GetContext(ctx, &t, `SELECT `+tokenColumns+` FROM api_tokens WHERE workspace_id = $1 AND token_hash = $2`, workspaceID, hash)
	if err != nil {
		return t, fmt.Errorf("store: unable to load token: %w", notFound(err))
	}
	return t, nil
}

// ListAPITokens lists the workspace's tokens of a kind, active first, newest first.
func (s *Store) ListAPITokens(ctx context.Context, workspaceID int64, kind string) ([]model.APIToken, error) {
	var ts []model.APIToken
	err := s.db.SelectContext(ctx, &ts, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE workspace_id = $1 AND kind = $2 ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC`, workspaceID, kind)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list tokens: %w", err)
	}
	return ts, nil
}

// RevokeAPIToken makes a token unusable.
func (s *Store) RevokeAPIToken(ctx context.Context, workspaceID, tokenID int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = now()
		WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL`, workspaceID, tokenID)
	if err != nil {
		return fmt.Errorf("store: unable to revoke token: %w", err)
	}
	return expectOneRow(res)
}

// TouchAPIToken records use, at most once a minute per token to keep hot paths write-light.
func (s *Store) TouchAPIToken(ctx context.Context, workspaceID, tokenID int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = now()
		WHERE workspace_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
		workspaceID, tokenID)
	if err != nil {
		return fmt.Errorf("store: unable to record token use: %w", err)
	}
	return nil
}
