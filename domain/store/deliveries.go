package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const deliveryColumns = `workspace_id, id, channel, kind, recipient, subject, message, state, attempts, error, created_by, created_at, finished_at, channel_id, alert_id`

// QueueDelivery logs a delivery and queues it for the delivery workers, in one transaction.
func (t *Tx) QueueDelivery(ctx context.Context, d model.Delivery) (int64, error) {
	var id int64
	err := t.tx.GetContext(ctx, &id, `WITH d AS (
			INSERT INTO deliveries (workspace_id, channel, kind, recipient, subject, message, created_by, channel_id, alert_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING workspace_id, id)
		INSERT INTO delivery_queue (workspace_id, delivery_id, run_after) SELECT workspace_id, id, COALESCE($10, now()) FROM d RETURNING delivery_id`,
		d.WorkspaceID, d.Channel, d.Kind, d.Recipient, clipText(d.Subject, 300), d.Message, d.CreatedBy, d.ChannelID, d.AlertID, d.RunAfter)
	if err != nil {
		return 0, fmt.Errorf("store: unable to queue a delivery: %w", err)
	}
	return id, nil
}

// DeliveriesByID reads deliveries of the workspace (the worker's batch), in id order.
func (t *Tx) DeliveriesByID(ctx context.Context, workspaceID int64, ids []int64) ([]model.Delivery, error) {
	var out []model.Delivery
	err := t.tx.SelectContext(ctx, &out, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id`, workspaceID, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read deliveries: %w", err)
	}
	return out, nil
}

// FinishDelivery records how a delivery ended (sent, or failed for good with the reason) and
// takes it off the queue.
func (t *Tx) FinishDelivery(ctx context.Context, workspaceID, id int64, state, reason string, attempts int) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE deliveries SET state = $3, error = $4, attempts = $5, finished_at = now()
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, state, clipText(reason, 1000), attempts); err != nil {
		return fmt.Errorf("store: unable to record a delivery: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM delivery_queue WHERE workspace_id = $1 AND delivery_id = $2`, workspaceID, id); err != nil {
		return fmt.Errorf("store: unable to take a delivery off the queue: %w", err)
	}
	return nil
}

// MarkDeliveryFailed marks a delivery failed while its queue item is set aside (the item
// stays for Retry on the set-aside list).
func (t *Tx) MarkDeliveryFailed(ctx context.Context, workspaceID, id int64) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', finished_at = now() WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id); err != nil {
		return fmt.Errorf("store: unable to record a delivery: %w", err)
	}
	return nil
}

// NoteDeliveryAttempt records a failed attempt that will be retried.
func (t *Tx) NoteDeliveryAttempt(ctx context.Context, workspaceID, id int64, reason string, attempts int) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE deliveries SET error = $3, attempts = $4 WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id, clipText(reason, 1000), attempts); err != nil {
		return fmt.Errorf("store: unable to record a delivery attempt: %w", err)
	}
	return nil
}

// ListDeliveries is the workspace's delivery log, newest first.
func (s *Store) ListDeliveries(ctx context.Context, workspaceID int64, limit int) ([]model.Delivery, error) {
	var out []model.Delivery
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2`, workspaceID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list deliveries: %w", err)
	}
	return out, nil
}

// Delivery reads one delivery of the workspace.
func (s *Store) Delivery(ctx context.Context, workspaceID, id int64) (model.Delivery, error) {
	var d model.Delivery
	err := s.db.GetContext(ctx, &d, `SELECT `+deliveryColumns+` FROM deliveries WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err != nil {
		return d, fmt.Errorf("store: unable to read the delivery: %w", notFound(err))
	}
	return d, nil
}

// CreatePasswordReset stores a password reset link (its token's hash) for a user.
func (t *Tx) CreatePasswordReset(ctx context.Context, r model.PasswordReset) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO password_resets (workspace_id, user_id, token_hash, expires_at)
		VALUES ($1, $2, $3, $4)`, r.WorkspaceID, r.UserID, r.TokenHash, r.ExpiresAt); err != nil {
		return fmt.Errorf("store: unable to store a password reset: %w", err)
	}
	return nil
}

// PasswordResetsSince counts the reset links a user was sent since a time (to limit them).
func (s *Store) PasswordResetsSince(ctx context.Context, workspaceID, userID int64, since time.Time) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM password_resets WHERE workspace_id = $1 AND user_id = $2 AND created_at >= $3`,
		workspaceID, userID, since)
	if err != nil {
		return 0, fmt.Errorf("store: unable to count password resets: %w", err)
	}
	return n, nil
}

// PasswordResetByTokenHash finds a reset link of the workspace by its token's hash.
func (s *Store) PasswordResetByTokenHash(ctx context.Context, workspaceID int64, hash []byte) (model.PasswordReset, error) {
	var r model.PasswordReset
	err := s.db.GetContext(ctx, &r, `SELECT workspace_id, id, user_id, token_hash, created_at, expires_at, used_at
		FROM password_resets WHERE workspace_id = $1 AND token_hash = $2`, workspaceID, hash)
	if err != nil {
		return r, fmt.Errorf("store: unable to read the password reset: %w", notFound(err))
	}
	return r, nil
}

// UsePasswordReset sets the user's new password through a reset link, once: the link (and
// every other unused link of the user) stops working and the user's sessions end, so whoever
// knew the old password is signed out. ErrNotFound when the link was used or expired since.
func (s *Store) UsePasswordReset(ctx context.Context, workspaceID, resetID int64, passwordHash string, now time.Time) (model.User, error) {
	var u model.User
	err := s.InTx(ctx, func(tx *Tx) error {
		var userID int64
		err := tx.tx.GetContext(ctx, &userID, `UPDATE password_resets SET used_at = $3
			WHERE workspace_id = $1 AND id = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id`, workspaceID, resetID, now)
		if err != nil {
			return fmt.Errorf("store: unable to use the password reset: %w", notFound(err))
		}
		if _, err := tx.tx.ExecContext(ctx, `UPDATE password_resets SET used_at = $3
			WHERE workspace_id = $1 AND user_id = $2 AND used_at IS NULL`, workspaceID, userID, now); err != nil {
			return fmt.Errorf("store: unable to retire password resets: %w", err)
		}
		if err := tx.tx.GetContext(ctx, &u, `UPDATE users SET password_hash = $3 WHERE workspace_id = $1 AND id = $2 AND active
			RETURNING `+userColumns, workspaceID, userID, passwordHash); err != nil {
			return fmt.Errorf("store: unable to set the password: %w", notFound(err))
		}
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE workspace_id = $1 AND user_id = $2`, workspaceID, userID); err != nil {
			return fmt.Errorf("store: unable to end the user's sessions: %w", err)
		}
		return nil
	})
	return u, err
}
