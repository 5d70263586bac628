package queue

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/store"
)

// JobFunc runs one job. It returns when to run the job again (the zero time: it is done; a
// periodic job then waits its interval). Its own work commits as it goes, so a job must be
// safe to run again after a crash (re-scoring records its progress; sweeps only queue).
type JobFunc func(ctx context.Context, job store.Job) (again time.Time, err error)

// Jobs runs the jobs queue: each kind of job has its function.
type Jobs struct {
	Store *store.Store
	kinds map[string]JobFunc
}

// Register says which function runs jobs of a kind.
func (j *Jobs) Register(kind string, fn JobFunc) {
	if j.kinds == nil {
		j.kinds = map[string]JobFunc{}
	}
	j.kinds[kind] = fn
}

// Handle is the jobs queue's Handler.
func (j *Jobs) Handle(ctx context.Context, b *Batch) error {
	jobs, err := j.Store.JobsByID(ctx, b.Workspace, b.IDs())
	if err != nil {
		return err
	}
	for _, job := range jobs {
		fn := j.kinds[job.Kind]
		if fn == nil {
			return fmt.Errorf("no function runs %q jobs", job.Kind)
		}
		again, err := fn(ctx, job)
		if err != nil {
			return fmt.Errorf("%s job: %w", job.Kind, err)
		}
		err = j.Store.InTx(ctx, func(tx *store.Tx) error {
			owned, err := b.Own(ctx, tx)
			if err != nil || !slices.Contains(owned, job.ID) {
				return err
			}
			var at *time.Time
			if !again.IsZero() {
				at = &again
			}
			return tx.FinishJob(ctx, b.Workspace, job.ID, at)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
