// Package queue runs work loops on a pool of goroutines: each worker asks for a unit of work,
// sleeps while there is none (or until woken), and backs off after errors. It knows nothing
// of what the work is; the work itself claims rows from PostgreSQL with SKIP LOCKED, so any
// number of processes can run pools side by side.
package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Work does one unit and reports how many items it handled (0: nothing to do).
type Work func(ctx context.Context) (int, error)

// Pool is a set of workers running one Work.
type Pool struct {
	Name    string
	Workers int
	Idle    time.Duration // pause when there was nothing to do
	Work    Work
	Log     *slog.Logger

	wake chan struct{}
	wg   sync.WaitGroup
}

// Wake tells an idle worker that new work arrived; it never blocks.
func (p *Pool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Start runs the workers until ctx ends.
func (p *Pool) Start(ctx context.Context) {
	p.wake = make(chan struct{}, 1)
	for i := 0; i < p.Workers; i++ {
		p.wg.Add(1)
		go p.run(ctx)
	}
}

// Wait blocks until every worker has returned after ctx ended. A worker finishes the unit it
// is in; an interrupted unit's transaction rolls back and its rows are claimed again later.
func (p *Pool) Wait() { p.wg.Wait() }

func (p *Pool) run(ctx context.Context) {
	defer p.wg.Done()
	backoff := time.Second
	for ctx.Err() == nil {
		n, err := p.Work(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.Log.Error("worker failed; retrying", "pool", p.Name, "err", err, "in", backoff)
			if !sleep(ctx, backoff, nil) {
				return
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if n == 0 && !sleep(ctx, p.Idle, p.wake) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
