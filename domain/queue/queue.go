// Package queue is Peregrine's one owner of durable background work. Work lives in
// PostgreSQL queue tables (store.WorkTable); this package claims it, one workspace at a time
// and the workspaces in turn, leases it, runs it on a pool of goroutines with a timeout,
// counts attempts, backs off with jitter after failures, and sets aside the one item of a
// failing batch that keeps failing (the batch is split and the halves retried until the bad
// item stands alone). Domain packages only say what one batch of work does (a Handler).
//
// Any number of processes can run the same queues side by side: a claim is one statement
// that skips rows other workers hold, and the lease (run_after in the future) keeps a claimed
// item away from others until its worker finishes it or the lease runs out.
package queue

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Handler does the work of one batch: items of one workspace, claimed together. Its
// transaction must start with b.Own (the items it may finish) and finish them there —
// delete, reschedule with b.Later, or whatever its table needs. A returned error fails the
// batch: the layer retries it split in halves, backs off, and quarantines the item that
// still fails alone after MaxAttempts.
type Handler func(ctx context.Context, b *Batch) error

// Queue is one kind of durable work and how it runs.
type Queue struct {
	Table       store.WorkTable
	Handle      Handler
	Workers     int           // goroutines in this process
	Batch       int           // items per claim
	Timeout     time.Duration // one run of Handle; a run that takes longer fails
	MaxAttempts int           // a single item failing this many claims is quarantined
	Idle        time.Duration // how long an idle worker waits before looking again (Wake cuts it short)
	// Ready, when set, is asked before each claim; false makes the worker wait (scoring yields
	// while ingest is far behind).
	Ready func(ctx context.Context) (bool, error)
	// Compute marks a queue whose batches keep a core busy (here and in the database) rather
	// than wait on a peer: at most Runner.ComputeSlots such batches run at once.
	Compute bool

	wake   chan struct{}
	setup  sync.Once // defaults, applied once: workers read the fields concurrently
	mu     sync.Mutex
	cursor int64 // the workspace served last: the next claim looks after it
}

// Defaults applied when a Queue leaves a field zero.
const (
	defaultTimeout     = time.Minute
	defaultMaxAttempts = 5
	defaultIdle        = time.Second
	// leaseFactor keeps a lease longer than the run it covers, so a slow run is not claimed
	// twice; splitting a failed batch reruns halves under the same claim, hence the margin.
	leaseFactor = 3
)

// Name is the queue's name, as in logs, metrics and work_quarantine.
func (q *Queue) Name() string { return q.Table.Queue }

// Wake tells an idle worker that work arrived; it never blocks.
func (q *Queue) Wake() {
	if q.wake == nil {
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue) lease() time.Duration { return leaseFactor * q.Timeout }

// defaults fills in what the queue left unset, once.
func (q *Queue) defaults() { q.setup.Do(q.fillDefaults) }

func (q *Queue) fillDefaults() {
	q.Workers = max(q.Workers, 1)
	q.Batch = max(q.Batch, 1)
	if q.Timeout <= 0 {
		q.Timeout = defaultTimeout
	}
	if q.MaxAttempts <= 0 {
		q.MaxAttempts = defaultMaxAttempts
	}
	if q.Idle <= 0 {
		q.Idle = defaultIdle
	}
	if q.wake == nil {
		q.wake = make(chan struct{}, 1)
	}
}

// Item is a claimed item: its key in the queue table and its attempts, this claim included.
type Item struct {
	ID       int64
	Attempts int
}

// Batch is what one claim got: items of one workspace, in key order.
type Batch struct {
	Workspace int64
	Items     []Item

	queue *Queue
	store *store.Store
	token int64
}

// IDs lists the batch's item keys in order.
func (b *Batch) IDs() []int64 {
	ids := make([]int64, len(b.Items))
	for i, it := range b.Items {
		ids[i] = it.ID
	}
	return ids
}

// Attempts is an item's attempts, this claim included (0 for an item not in the batch).
func (b *Batch) Attempts(id int64) int {
	for _, it := range b.Items {
		if it.ID == id {
			return it.Attempts
		}
	}
	return 0
}

// Own locks the batch's items that this claim still holds, in key order, inside tx, and
// returns their keys: the handler works on those alone.
func (b *Batch) Own(ctx context.Context, tx *store.Tx) ([]int64, error) {
	return tx.OwnWork(ctx, b.queue.Table, b.Workspace, b.IDs(), b.token)
}

// Take removes the batch's items that this claim still holds from the queue, inside tx, and
// returns their keys: for queues whose items are done once removed (events, activities to
// score), the handler takes them at the start of its transaction instead of locking them with
// Own and deleting them at its end.
func (b *Batch) Take(ctx context.Context, tx *store.Tx) ([]int64, error) {
	return tx.TakeWork(ctx, b.queue.Table, b.Workspace, b.IDs(), b.token)
}

// Later gives items back to run at `at` without counting the attempt: the work waits for
// something outside it (a rate limit, a paused connection, a key not yet entered). tx may
// be nil.
func (b *Batch) Later(ctx context.Context, tx *store.Tx, ids []int64, at time.Time, why string) error {
	return b.store.DeferWork(ctx, tx, b.queue.Table, b.Workspace, ids, b.token, at, why, false)
}

// Retry gives items back after a failure on the other side (a 5xx, a network error), backing
// off by their attempts with jitter. Such items are not quarantined: the fault is not theirs.
// tx may be nil.
func (b *Batch) Retry(ctx context.Context, tx *store.Tx, ids []int64, cause error) error {
	worst := 0
	for _, id := range ids {
		worst = max(worst, b.Attempts(id))
	}
	return b.store.DeferWork(ctx, tx, b.queue.Table, b.Workspace, ids, b.token, time.Now().Add(Backoff(worst)), cause.Error(), true)
}

// RetryAt gives items back after a failure on the other side to run again at a set time
// (a schedule of the item's own, such as webhooks'), counting the attempt. tx may be nil.
func (b *Batch) RetryAt(ctx context.Context, tx *store.Tx, ids []int64, at time.Time, cause error) error {
	return b.store.DeferWork(ctx, tx, b.queue.Table, b.Workspace, ids, b.token, at, cause.Error(), true)
}

// SetAside quarantines items at once inside tx, with the reason: the handler knows they cannot
// succeed as they are (the other side called them malformed). Retry on the set-aside list
// puts them back.
func (b *Batch) SetAside(ctx context.Context, tx *store.Tx, ids []int64, reason string) error {
	return tx.SetAsideWork(ctx, b.queue.Table, b.Workspace, ids, b.token, reason)
}

// Backoff is how long an item waits after its n-th failed attempt: 2 s, 4 s, 8 s … up to an
// hour, with jitter (between half and all of it) so retries of many items spread out.
func Backoff(attempts int) time.Duration {
	d := min(time.Second<<min(max(attempts, 1), 12), time.Hour)
	return d/2 + rand.N(d/2+1)
}

// newToken makes a claim token; random, so tokens of different processes never collide.
func newToken() int64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) &^ (1 << 63))
}

// errPanic marks a handler that panicked; the panic is contained to its batch.
var errPanic = errors.New("the work panicked")

// call runs the handler under the queue's timeout and turns a panic into an error.
func (q *Queue) call(ctx context.Context, b *Batch) (err error) {
	ctx, cancel := context.WithTimeout(ctx, q.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v\n%s", errPanic, p, debug.Stack())
		}
	}()
	return q.Handle(ctx, b)
}

// run handles a claimed batch and settles failures: a transient error gives the batch back
// as it is; any other splits the batch and reruns the halves, so the item at fault ends
// alone, backing off and, after MaxAttempts, quarantined, while the rest is done.
func (r *Runner) run(ctx context.Context, q *Queue, b *Batch) {
	err := q.call(ctx, b)
	if err == nil {
		r.metrics.done(q, len(b.Items))
		return
	}
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case ctx.Err() != nil: // shutting down: give the work back untouched
		r.giveBack(settle, q, b, time.Now(), "interrupted by shutdown")
	case store.IsTransient(err):
		r.log.Warn("work failed for a reason outside it; retrying", "queue", q.Name(), "workspace", b.Workspace, "items", len(b.Items), "err", err)
		r.giveBack(settle, q, b, time.Now().Add(Backoff(1)), err.Error())
	case len(b.Items) > 1:
		r.log.Warn("work failed; splitting the batch to find the item at fault", "queue", q.Name(), "workspace", b.Workspace,
			"items", len(b.Items), "err", err)
		r.metrics.split(q)
		half := len(b.Items) / 2
		for _, part := range [][]Item{b.Items[:half], b.Items[half:]} {
			r.run(ctx, q, &Batch{Workspace: b.Workspace, Items: part, queue: q, store: b.store, token: b.token})
		}
	default:
		r.fail(settle, q, b, err)
	}
}

// fail settles a single item that failed: back off, or quarantine after MaxAttempts. Each
// failure is logged once, with its cause.
func (r *Runner) fail(ctx context.Context, q *Queue, b *Batch, cause error) {
	it := b.Items[0]
	r.metrics.failed(q)
	if it.Attempts >= q.MaxAttempts {
		r.log.Error("work set aside after failing again and again", "queue", q.Name(), "workspace", b.Workspace, "item", it.ID,
			"attempts", it.Attempts, "err", cause)
		if err := r.store.QuarantineWork(ctx, q.Table, b.Workspace, []int64{it.ID}, b.token, cause.Error()); err != nil {
			r.log.Error("quarantining failed; the item will be tried again", "queue", q.Name(), "err", err)
			return
		}
		r.metrics.quarantined(q)
		return
	}
	wait := Backoff(it.Attempts)
	r.log.Warn("work failed; retrying", "queue", q.Name(), "workspace", b.Workspace, "item", it.ID, "attempts", it.Attempts,
		"in", wait.Round(time.Millisecond), "err", cause)
	if err := r.store.DeferWork(ctx, nil, q.Table, b.Workspace, []int64{it.ID}, b.token, time.Now().Add(wait), cause.Error(), true); err != nil {
		r.log.Error("rescheduling failed; the lease will bring the item back", "queue", q.Name(), "err", err)
	}
}

// giveBack returns a batch without counting its attempt.
func (r *Runner) giveBack(ctx context.Context, q *Queue, b *Batch, at time.Time, why string) {
	if err := r.store.DeferWork(ctx, nil, q.Table, b.Workspace, b.IDs(), b.token, at, why, false); err != nil {
		r.log.Warn("giving work back failed; the lease will bring it back", "queue", q.Name(), "err", err)
	}
}

// nextWorkspace picks the workspace to serve, round-robin across those with due work.
func (r *Runner) nextWorkspace(ctx context.Context, q *Queue) (int64, bool, error) {
	q.mu.Lock()
	after := q.cursor
	q.mu.Unlock()
	ws, ok, err := r.store.NextWorkspace(ctx, q.Table, after)
	if ok {
		q.mu.Lock()
		q.cursor = ws
		q.mu.Unlock()
	}
	return ws, ok, err
}

// Once claims one batch of the next workspace with due work and runs it; it returns how many
// items it claimed (0: nothing due). Workers call it in a loop; tests call it to step.
func (r *Runner) Once(ctx context.Context, q *Queue) (int, error) {
	q.defaults()
	if q.Ready != nil {
		if ok, err := q.Ready(ctx); err != nil || !ok {
			return 0, err
		}
	}
	for tries := 0; tries < 3; tries++ {
		ws, ok, err := r.nextWorkspace(ctx, q)
		if err != nil || !ok {
			return 0, err
		}
		token := newToken()
		claimCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		items, err := r.store.ClaimWork(claimCtx, q.Table, ws, q.Batch, q.lease(), token)
		cancel()
		if err != nil {
			return 0, err
		}
		if len(items) == 0 {
			continue // another worker took them first
		}
		b := &Batch{Workspace: ws, queue: q, store: r.store, token: token, Items: make([]Item, len(items))}
		for i, it := range items {
			b.Items[i] = Item{ID: it.ID, Attempts: it.Attempts}
		}
		r.metrics.claimed(q, len(items))
		r.run(ctx, q, b)
		return len(items), nil
	}
	return 0, nil
}

// Drain runs q until nothing is due; for tests and commands.
func (r *Runner) Drain(ctx context.Context, q *Queue) (int, error) {
	total := 0
	for {
		n, err := r.Once(ctx, q)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}
