package store

import (
	"context"
	"fmt"
	"time"
)

// RecordLoginFailure notes one failed sign-in for the throttle key (email and client address),
// and prunes entries too old to matter so the table stays small.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $2)`, key, at); err != nil {
		return fmt.Errorf("store: unable to record login failure: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE failed_at < $1`, at.Add(-24*time.Hour)); err != nil {
		return fmt.Errorf("store: unable to prune login failures: %w", err)
	}
	return nil
}

// LoginFailuresSince counts the key's failures after since and returns the oldest of them.
func (s *Store) LoginFailuresSince(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var row struct {
		Count  int        `db:"count"`
		Oldest *time.Time `db:"oldest"`
	}
	err := s.db.GetContext(ctx, &row, `
		SELECT count(*) AS count, min(failed_at) AS oldest FROM login_failures
		WHERE throttle_key = $1 AND failed_at > $2`, key, since)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: unable to count login failures: %w", err)
	}
	var oldest time.Time
	if row.Oldest != nil {
		oldest = *row.Oldest
	}
	return row.Count, oldest, nil
}

// ClearLoginFailures forgets the key's failures after a successful sign-in.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE throttle_key = $1`, key); err != nil {
		return fmt.Errorf("store: unable to clear login failures: %w", err)
	}
	return nil
}
