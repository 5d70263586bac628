package store

import (
	"context"
	"fmt"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// SalesforceConnection loads the workspace's Salesforce connection, or ErrNotFound.
func (s *Store) SalesforceConnection(ctx context.Context, workspaceID int64) (model.SalesforceConnection, error) {
	var c model.SalesforceConnection
	err := s.db.GetContext(ctx, &c, `SELECT * FROM salesforce_connections WHERE workspace_id = $1`, workspaceID)
	if err != nil {
		return c, fmt.Errorf("store: unable to load Salesforce connection: %w", notFound(err))
	}
	return c, nil
}

// SaveSalesforceApp stores the connected app's settings. A nil secret keeps the stored one.
// Changing the login host or consumer key drops the tokens: they belong to the old app.
func (s *Store) SaveSalesforceApp(ctx context.Context, workspaceID int64, host, version, key string, secretEnc []byte) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO salesforce_connections (workspace_id, login_host, api_version, consumer_key, consumer_secret_enc)
		VALUES ($1, $2, $3, $4, COALESCE($5, ''::bytea))
		ON CONFLICT (workspace_id) DO UPDATE SET
			consumer_secret_enc = COALESCE($5, salesforce_connections.consumer_secret_enc),
			auth_method = CASE WHEN salesforce_connections.login_host = $2 AND salesforce_connections.consumer_key = $4
				THEN salesforce_connections.auth_method END,
			access_token_enc = CASE WHEN salesforce_connections.login_host = $2 AND salesforce_connections.consumer_key = $4
				THEN salesforce_connections.access_token_enc END,
			refresh_token_enc = CASE WHEN salesforce_connections.login_host = $2 AND salesforce_connections.consumer_key = $4
				THEN salesforce_connections.refresh_token_enc END,
			login_host = $2, api_version = $3, consumer_key = $4, updated_at = now()`,
		workspaceID, host, version, key, secretEnc)
	if err != nil {
		return fmt.Errorf("store: unable to save Salesforce settings: %w", err)
	}
	return nil
}

// SaveSalesforceTokens records a successful sign-in and clears any problem.
func (s *Store) SaveSalesforceTokens(ctx context.Context, workspaceID int64, t model.SalesforceTokens) error {
	res, err := s.db.ExecContext(ctx, `UPDATE salesforce_connections SET auth_method = $2, access_token_enc = $3,
			refresh_token_enc = $4, password_username = $5, password_enc = $6, instance_url = $7, identity_url = $8,
			username = $9, display_name = $10, org_id = $11, connected_at = now(),
			problem_code = '', problem_cause = '', problem_fix = '', problem_at = NULL, paused_until = NULL, updated_at = now()
		WHERE workspace_id = $1`, workspaceID, t.Method, t.AccessTokenEnc, t.RefreshTokenEnc, t.PasswordUsername, t.PasswordEnc,
		t.InstanceURL, t.IdentityURL, t.Username, t.DisplayName, t.OrgID)
	if err != nil {
		return fmt.Errorf("store: unable to save Salesforce tokens: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: unable to save Salesforce tokens: %w", ErrNotFound)
	}
	return nil
}

// UpdateSalesforceAccess keeps a renewed access token and the instance URL that came with
// it, and a rotated refresh token when one came (nil keeps the stored one).
func (s *Store) UpdateSalesforceAccess(ctx context.Context, workspaceID int64, accessEnc, refreshEnc []byte, instanceURL string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE salesforce_connections SET access_token_enc = $2, instance_url = $3,
			refresh_token_enc = COALESCE($4, refresh_token_enc), updated_at = now()
		WHERE workspace_id = $1`, workspaceID, accessEnc, instanceURL, refreshEnc)
	if err != nil {
		return fmt.Errorf("store: unable to update Salesforce token: %w", err)
	}
	return nil
}

// ClearSalesforceProblem marks the connection healthy. When it had a problem or a pause,
// changes waiting for it are due at once: a pause that ends early (a successful test, a
// larger share) or a problem that went away must not leave them waiting out their backoff.
func (s *Store) ClearSalesforceProblem(ctx context.Context, workspaceID int64) error {
	_, err := s.db.ExecContext(ctx, `WITH cleared AS (
			UPDATE salesforce_connections SET problem_code = '', problem_cause = '', problem_fix = '', problem_at = NULL,
				paused_until = NULL, updated_at = now()
			WHERE workspace_id = $1 AND (problem_code <> '' OR paused_until IS NOT NULL) RETURNING workspace_id)
		UPDATE salesforce_outbox SET run_after = now()
		WHERE workspace_id = $1 AND claim IS NULL AND run_after > now() AND EXISTS (SELECT 1 FROM cleared)`, workspaceID)
	if err != nil {
		return fmt.Errorf("store: unable to clear the Salesforce problem: %w", err)
	}
	return nil
}

// SetSalesforceProblem records a failure in plain words (empty code: healthy again).
func (s *Store) SetSalesforceProblem(ctx context.Context, workspaceID int64, code, cause, fix string, pausedUntil *time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE salesforce_connections SET problem_code = $2, problem_cause = $3, problem_fix = $4,
			problem_at = CASE WHEN $2 = '' THEN NULL ELSE now() END, paused_until = $5, updated_at = now()
		WHERE workspace_id = $1`, workspaceID, code, cause, fix, pausedUntil)
	if err != nil {
		return fmt.Errorf("store: unable to record Salesforce problem: %w", err)
	}
	return nil
}

// SetSalesforceUsage keeps the last Sforce-Limit-Info.
func (s *Store) SetSalesforceUsage(ctx context.Context, workspaceID int64, used, max int) error {
	_, err := s.db.ExecContext(ctx, `UPDATE salesforce_connections SET api_used = $2, api_max = $3, api_usage_at = now()
		WHERE workspace_id = $1`, workspaceID, used, max)
	if err != nil {
		return fmt.Errorf("store: unable to record Salesforce usage: %w", err)
	}
	return nil
}

// SetSalesforceShare sets the share of the daily API allowance Peregrine may use.
func (s *Store) SetSalesforceShare(ctx context.Context, workspaceID int64, percent int) error {
	res, err := s.db.ExecContext(ctx, `UPDATE salesforce_connections SET api_share_percent = $2, updated_at = now() WHERE workspace_id = $1`, workspaceID, percent)
	if err != nil {
		return fmt.Errorf("store: unable to save the API share: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: unable to save the API share: %w", ErrNotFound)
	}
	return nil
}

// DisconnectSalesforce forgets the tokens and identity; the app settings stay.
func (s *Store) DisconnectSalesforce(ctx context.Context, workspaceID int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE salesforce_connections SET auth_method = NULL, access_token_enc = NULL,
			refresh_token_enc = NULL, password_username = '', password_enc = NULL, instance_url = '', identity_url = '',
			username = '', display_name = '', org_id = '', connected_at = NULL, problem_code = '', problem_cause = '',
			problem_fix = '', problem_at = NULL, paused_until = NULL, api_used = NULL, api_max = NULL, updated_at = now()
		WHERE workspace_id = $1`, workspaceID)
	if err != nil {
		return fmt.Errorf("store: unable to disconnect Salesforce: %w", err)
	}
	return nil
}

// SalesforceUsage is a connected workspace's API use as Salesforce last reported it.
type SalesforceUsage struct {
	WorkspaceID  int64 `db:"workspace_id"`
	Used         *int  `db:"api_used"`
	Max          *int  `db:"api_max"`
	SharePercent int   `db:"api_share_percent"`
}

// SalesforceUsage lists every connected workspace's API use, for metrics.
func (s *Store) SalesforceUsage(ctx context.Context) ([]SalesforceUsage, error) {
	var out []SalesforceUsage
	if err := s.db.SelectContext(ctx, &out, `SELECT workspace_id, api_used, api_max, api_share_percent FROM salesforce_connections
		WHERE auth_method IS NOT NULL ORDER BY workspace_id`); err != nil {
		return nil, fmt.Errorf("store: unable to read Salesforce usage: %w", err)
	}
	return out, nil
}
