package crmsync

import (
	"context"
	"time"
)

// CrashAfterWriting claims a batch and writes it to Salesforce, then stops as a crashed
// worker would: nothing is recorded and the lease keeps the batch until it runs out.
func (p *Pusher) CrashAfterWriting(ctx context.Context) (int, error) {
	ws, items, err := p.Store.ClaimOutbox(ctx, pushLease, 200)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	sess, _, err := p.Session(ctx, ws)
	if err != nil {
		return 0, err
	}
	out, err := p.push(ctx, ws, sess, items, time.Now())
	return len(out), err
}
