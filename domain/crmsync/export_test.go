package crmsync

import (
	"context"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/store"
)

// CrashAfterWriting claims a batch of the workspace and writes it to Salesforce, then stops as
// a crashed worker would: nothing is recorded and the lease keeps the batch until it runs out.
func (p *Pusher) CrashAfterWriting(ctx context.Context, ws int64) (int, error) {
	claimed, err := p.Store.ClaimWork(ctx, store.OutboxWork, ws, 200, 2*time.Minute, 4242)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	ids := make([]int64, len(claimed))
	for i, c := range claimed {
		ids[i] = c.ID
	}
	items, err := p.Store.OutboxItems(ctx, ws, ids)
	if err != nil {
		return 0, err
	}
	sess, _, err := p.Session(ctx, ws)
	if err != nil {
		return 0, err
	}
	out, err := p.push(ctx, ws, sess, items, time.Now())
	return len(out), err
}
