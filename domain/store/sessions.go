package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// NewSession records a signed-in session and returns its id.
func (s *Store) NewSession(ctx context.Context, ss model.Session) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO user_sessions (workspace_id, user_id, token_hash, data, expires_at, user_agent, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		ss.WorkspaceID, ss.UserID, ss.TokenHash, ss.Data, ss.ExpiresAt, ss.UserAgent, ss.IP)
	if err != nil {
		return 0, fmt.Errorf("store: unable to create session: %w", err)
	}
	return id, nil
}

const sessionColumns = `workspace_id, id, user_id, token_hash, data, created_at, last_seen_at, expires_at, user_agent, ip`

// SessionByToken finds a live session by its token's hash (ErrNotFound when there is none or
// it has expired).
func (s *Store) SessionByToken(ctx context.Context, workspaceID int64, tokenHash []byte) (model.Session, error) {
	var ss model.Session
	err := s.db.GetContext(ctx, &ss, `SELECT `+sessionColumns+` FROM user_sessions
		WHERE workspace_id = $1 AND token_hash = $2 AND expires_at > now()`, workspaceID, tokenHash)
	if err != nil {
		return ss, fmt.Errorf("store: unable to load session: %w", notFound(err))
	}
	return ss, nil
}

// SaveSessionData replaces a session's sealed values.
func (s *Store) SaveSessionData(ctx context.Context, workspaceID, id int64, data []byte) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE user_sessions SET data = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, id, data); err != nil {
		return fmt.Errorf("store: unable to save session: %w", err)
	}
	return nil
}

// TouchSession notes a session's use: when and from where, and slides its expiry.
func (s *Store) TouchSession(ctx context.Context, workspaceID, id int64, expiresAt time.Time, userAgent, ip string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE user_sessions SET last_seen_at = now(), expires_at = $3, user_agent = $4, ip = $5
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, expiresAt, userAgent, ip); err != nil {
		return fmt.Errorf("store: unable to touch session: %w", err)
	}
	return nil
}

// EndSession deletes one session of a user (its browser is signed out at its next request)
// and reports whether there was one.
func (s *Store) EndSession(ctx context.Context, workspaceID, userID, id int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE workspace_id = $1 AND user_id = $2 AND id = $3`, workspaceID, userID, id)
	if err != nil {
		return false, fmt.Errorf("store: unable to end session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// EndSessionByToken deletes the session a token's hash names, if there is one.
func (s *Store) EndSessionByToken(ctx context.Context, workspaceID int64, tokenHash []byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE workspace_id = $1 AND token_hash = $2`, workspaceID, tokenHash); err != nil {
		return fmt.Errorf("store: unable to end session: %w", err)
	}
	return nil
}

// EndUserSessions deletes every session of a user and returns how many there were.
func (s *Store) EndUserSessions(ctx context.Context, workspaceID, userID int64) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		n, err = countEnded(ctx, tx, workspaceID, userID)
		return err
	})
	return n, err
}

func countEnded(ctx context.Context, tx *sqlx.Tx, workspaceID, userID int64) (int, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE workspace_id = $1 AND user_id = $2`, workspaceID, userID)
	if err != nil {
		return 0, fmt.Errorf("store: unable to end sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// endUserSessions deletes a user's sessions inside a transaction that changes the user.
func endUserSessions(ctx context.Context, tx *sqlx.Tx, workspaceID, userID int64) error {
	_, err := countEnded(ctx, tx, workspaceID, userID)
	return err
}

// UserSessions lists a user's live sessions, the most recently used first.
func (s *Store) UserSessions(ctx context.Context, workspaceID, userID int64) ([]model.Session, error) {
	var out []model.Session
	err := s.db.SelectContext(ctx, &out, `SELECT `+sessionColumns+` FROM user_sessions
		WHERE workspace_id = $1 AND user_id = $2 AND expires_at > now() ORDER BY last_seen_at DESC, id DESC`, workspaceID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list sessions: %w", err)
	}
	return out, nil
}

// SetUserPassword changes a user's password and ends all their sessions, in one transaction:
// whoever holds an old cookie is signed out.
func (s *Store) SetUserPassword(ctx context.Context, workspaceID, userID int64, passwordHash string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, userID, passwordHash)
		if err != nil {
			return fmt.Errorf("store: unable to change password: %w", err)
		}
		if err := expectOneRow(res); err != nil {
			return err
		}
		return endUserSessions(ctx, tx, workspaceID, userID)
	})
}

// DeleteExpiredSessions removes sessions past their expiry (all workspaces: a periodic sweep)
// and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("store: unable to delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
