package store

import (
	"context"
	"fmt"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const brazeColumns = `workspace_id, rest_endpoint, api_key_encrypted, api_key_hint, updated_at, last_test_at, last_test_ok,
	last_test_message, lookup_error, lookups_paused_until, last_lookup_at, last_lookup_ok, last_lookup_message`

// BrazeConnection loads the workspace's Braze settings, or ErrNotFound.
func (s *Store) BrazeConnection(ctx context.Context, workspaceID int64) (model.BrazeConnection, error) {
	var c model.BrazeConnection
	err := s.db.GetContext(ctx, &c, `SELECT `+brazeColumns+` FROM braze_connections WHERE workspace_id = $1`, workspaceID)
	if err != nil {
		return c, fmt.Errorf("store: unable to load Braze connection: %w", notFound(err))
	}
	return c, nil
}

// SaveBrazeConnection stores endpoint and encrypted key; a new key clears a lookup pause.
func (s *Store) SaveBrazeConnection(ctx context.Context, c model.BrazeConnection) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO braze_connections (workspace_id, rest_endpoint, api_key_encrypted, api_key_hint)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id) DO UPDATE SET rest_endpoint = EXCLUDED.rest_endpoint,
			api_key_encrypted = EXCLUDED.api_key_encrypted, api_key_hint = EXCLUDED.api_key_hint,
			updated_at = now(), lookup_error = '', lookups_paused_until = NULL,
			last_lookup_at = NULL, last_lookup_ok = NULL, last_lookup_message = '',
			last_test_at = NULL, last_test_ok = NULL, last_test_message = ''`,
		c.WorkspaceID, c.RESTEndpoint, c.APIKeyEncrypted, c.APIKeyHint)
	if err != nil {
		return fmt.Errorf("store: unable to save Braze connection: %w", err)
	}
	return nil
}

// RecordBrazeTest keeps the result of the last "Test connection".
func (s *Store) RecordBrazeTest(ctx context.Context, workspaceID int64, ok bool, message string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE braze_connections SET last_test_at = now(), last_test_ok = $2, last_test_message = $3
		WHERE workspace_id = $1`, workspaceID, ok, message)
	if err != nil {
		return fmt.Errorf("store: unable to record Braze test: %w", err)
	}
	return expectOneRow(res)
}

// RecordBrazeLookup keeps the outcome of the latest lookup call, for the status panel.
func (s *Store) RecordBrazeLookup(ctx context.Context, workspaceID int64, ok bool, message string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE braze_connections SET last_lookup_at = now(), last_lookup_ok = $2, last_lookup_message = $3
		WHERE workspace_id = $1`, workspaceID, ok, message)
	if err != nil {
		return fmt.Errorf("store: unable to record a Braze lookup: %w", err)
	}
	return nil
}

// PauseBrazeLookups stops lookups until a time, with the reason shown on the status panel;
// an empty reason and zero time resume them.
func (s *Store) PauseBrazeLookups(ctx context.Context, workspaceID int64, reason string, until time.Time) error {
	var untilArg any
	if !until.IsZero() {
		untilArg = until
	}
	_, err := s.db.ExecContext(ctx, `UPDATE braze_connections SET lookup_error = $2, lookups_paused_until = $3
		WHERE workspace_id = $1`, workspaceID, reason, untilArg)
	if err != nil {
		return fmt.Errorf("store: unable to pause lookups: %w", err)
	}
	return nil
}
