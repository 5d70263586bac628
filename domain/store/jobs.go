package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Job kinds the store itself queues.
const (
	JobRescore = "rescore" // re-score every lead of a workspace after its rules changed
	JobRefresh = "refresh" // score again the leads whose refresh time passed
)

// Job is a row of jobs: low-volume work of a workspace, or (workspace 0) a periodic sweep.
type Job struct {
	WorkspaceID int64  `db:"workspace_id"`
	ID          int64  `db:"id"`
	Kind        string `db:"kind"`
	Key         string `db:"key"`
	Periodic    bool   `db:"periodic"`
	Attempts    int    `db:"attempts"`
}

// EnqueueJob asks for a job to run at `at`; a job of that kind and key already waiting stays
// as it is (the request is already there). tx may be nil.
func (s *Store) EnqueueJob(ctx context.Context, tx *Tx, workspaceID int64, kind, key string, at time.Time) error {
	return enqueueJob(ctx, s.execer(tx), workspaceID, kind, key, at)
}

func enqueueJob(ctx context.Context, ex sqlx.ExecerContext, workspaceID int64, kind, key string, at time.Time) error {
	if _, err := ex.ExecContext(ctx, `INSERT INTO jobs (workspace_id, kind, key, run_after) VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, kind, key) DO NOTHING`, workspaceID, kind, key, at); err != nil {
		return fmt.Errorf("store: unable to queue %s job: %w", kind, err)
	}
	return nil
}

// JobsByID reads claimed jobs.
func (s *Store) JobsByID(ctx context.Context, workspaceID int64, ids []int64) ([]Job, error) {
	var out []Job
	if err := s.db.SelectContext(ctx, &out, `SELECT workspace_id, id, kind, key, repeat_every IS NOT NULL AS periodic, attempts
		FROM jobs WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id`, workspaceID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to read jobs: %w", err)
	}
	return out, nil
}

// FinishJob records a job's successful run, in the transaction that owns it: a periodic job
// waits its interval, a job with more to do runs again at `again`, any other is removed.
func (t *Tx) FinishJob(ctx context.Context, workspaceID, id int64, again *time.Time) error {
	var err error
	if again != nil {
		_, err = t.tx.ExecContext(ctx, `UPDATE jobs SET run_after = $3, attempts = 0, claim = NULL, last_error = ''
			WHERE workspace_id = $1 AND id = $2`, workspaceID, id, *again)
	} else {
		_, err = t.tx.ExecContext(ctx, `WITH periodic AS (
				UPDATE jobs SET run_after = now() + repeat_every, attempts = 0, claim = NULL, last_error = ''
				WHERE workspace_id = $1 AND id = $2 AND repeat_every IS NOT NULL RETURNING id)
			DELETE FROM jobs WHERE workspace_id = $1 AND id = $2 AND repeat_every IS NULL`, workspaceID, id)
	}
	if err != nil {
		return fmt.Errorf("store: unable to finish job: %w", err)
	}
	return nil
}

// RunJobsNow makes a workspace's jobs of a kind due at once (a key was saved, "pull now").
func (s *Store) RunJobsNow(ctx context.Context, workspaceID int64, kind string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE jobs SET run_after = now() WHERE workspace_id = $1 AND kind = $2 AND claim IS NULL`,
		workspaceID, kind); err != nil {
		return fmt.Errorf("store: unable to run %s jobs now: %w", kind, err)
	}
	return nil
}
