package queue_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env runs the work layer on the jobs table: a job's key says what its handler does.
type env struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	db     *sql.DB
	runner *queue.Runner

	mu   sync.Mutex
	done []string // keys of jobs finished, in order
	runs map[string]int
}

func newEnv(t *testing.T) *env {
	st, db := pgtest.NewStoreAndDB(t)
	e := &env{t: t, ctx: context.Background(), st: st, db: db, runs: map[string]int{}}
	e.runner = queue.NewRunner(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	// The server's sweeps (workspace 0) are not this test's work.
	pgtest.Exec(t, db, `DELETE FROM jobs`)
	return e
}

// add queues jobs of a workspace with the given keys.
func (e *env) add(ws int64, keys ...string) {
	e.t.Helper()
	for _, k := range keys {
		if err := e.st.EnqueueJob(e.ctx, nil, ws, "test", k, time.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
}

// handler finishes every job of the batch in one transaction, like the real handlers: it
// fails the whole batch when any job's key starts with "bad", and does what other prefixes say.
func (e *env) handler(ctx context.Context, b *queue.Batch) error {
	jobs, err := e.st.JobsByID(ctx, b.Workspace, b.IDs())
	if err != nil {
		return err
	}
	e.mu.Lock()
	for _, j := range jobs {
		e.runs[j.Key]++
	}
	e.mu.Unlock()
	for _, j := range jobs {
		switch {
		case strings.HasPrefix(j.Key, "bad"):
			return fmt.Errorf("job %s is broken", j.Key)
		case strings.HasPrefix(j.Key, "panic"):
			panic("job " + j.Key + " panicked")
		case strings.HasPrefix(j.Key, "deadlock"):
			return &pq.Error{Code: "40P01", Message: "deadlock detected"}
		}
	}
	var finished []string
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		owned, err := b.Own(ctx, tx)
		if err != nil {
			return err
		}
		finished = finished[:0]
		for _, j := range jobs {
			if !slices.Contains(owned, j.ID) {
				continue
			}
			if err := tx.FinishJob(ctx, b.Workspace, j.ID, nil); err != nil {
				return err
			}
			finished = append(finished, j.Key)
		}
		return nil
	})
	if err == nil { // counted once committed: an interrupted commit does it again later
		e.mu.Lock()
		e.done = append(e.done, finished...)
		e.mu.Unlock()
	}
	return err
}

func (e *env) queue(batch int) *queue.Queue {
	return e.runner.Add(&queue.Queue{Table: store.JobWork, Handle: e.handler, Batch: batch, MaxAttempts: 3, Idle: 10 * time.Millisecond})
}

func (e *env) count(q string, args ...any) int { return pgtest.Count(e.t, e.db, q, args...) }

// due makes every backed-off item due now: time passes.
func (e *env) due() { pgtest.Exec(e.t, e.db, `UPDATE jobs SET run_after = now() WHERE claim IS NULL`) }

// TestOneBadItemIsSetAside: a batch holding one item that always fails is split until the
// item stands alone; the others are done at once; the bad one backs off, and after
// MaxAttempts it is quarantined with its reason. Retry puts it back.
func TestOneBadItemIsSetAside(t *testing.T) {
	e := newEnv(t)
	q := e.queue(16)
	keys := []string{"a", "b", "c", "d", "e", "bad-1", "f", "g", "h", "i", "j", "k"}
	e.add(1, keys...)
	if _, err := e.runner.Drain(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if len(e.done) != len(keys)-1 || slices.Contains(e.done, "bad-1") {
		t.Fatalf("done %v after the first claim", e.done)
	}
	var attempts int
	var runAfter time.Time
	var lastError string
	e.db.QueryRow(`SELECT attempts, run_after, last_error FROM jobs WHERE key = 'bad-1'`).Scan(&attempts, &runAfter, &lastError)
	if attempts != 1 || !runAfter.After(time.Now()) || !strings.Contains(lastError, "broken") {
		t.Fatalf("bad item: attempts %d, run_after %v, error %q", attempts, runAfter, lastError)
	}
	for i := 0; i < 2; i++ {
		e.due()
		if _, err := e.runner.Drain(e.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if e.count(`SELECT count(*) FROM jobs`) != 0 {
		t.Fatal("the bad item is still queued after MaxAttempts")
	}
	var reason string
	e.db.QueryRow(`SELECT reason FROM work_quarantine WHERE workspace_id = 1 AND queue = 'jobs'`).Scan(&reason)
	if !strings.Contains(reason, "bad-1 is broken") {
		t.Fatalf("quarantine reason %q", reason)
	}
	items, _ := e.st.ListQuarantined(e.ctx, 1, "", 10)
	if len(items) != 1 {
		t.Fatalf("%d quarantined items listed", len(items))
	}
	// Retry after a fix: the item is back, attempts reset, and runs.
	pgtest.Exec(t, e.db, `UPDATE work_quarantine SET item = jsonb_set(item, '{key}', '"fixed-1"')`)
	if n, err := e.st.RetryQuarantined(e.ctx, store.JobWork, 1, []int64{items[0].ItemID}); err != nil || n != 1 {
		t.Fatalf("retry: %d %v", n, err)
	}
	if _, err := e.runner.Drain(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.done, "fixed-1") || e.count(`SELECT count(*) FROM work_quarantine`) != 0 {
		t.Fatalf("the retried item did not run: %v", e.done)
	}
}

// TestWorkspacesAreServedInTurn: a large backlog of one workspace does not delay another's
// work: claims go round the workspaces with due work.
func TestWorkspacesAreServedInTurn(t *testing.T) {
	e := newEnv(t)
	q := e.queue(10)
	var big []string
	for i := 0; i < 200; i++ {
		big = append(big, fmt.Sprintf("a%03d", i))
	}
	e.add(1, big...)
	e.add(2, "b1", "b2", "b3")
	for i := 0; i < 2; i++ {
		if _, err := e.runner.Once(e.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	bDone := 0
	for _, k := range e.done {
		if strings.HasPrefix(k, "b") {
			bDone++
		}
	}
	if bDone != 3 {
		t.Fatalf("after two claims workspace 2 has %d of its 3 jobs done (done: %d)", bDone, len(e.done))
	}
}

// TestExpiredLeaseIsNeverFinishedTwice: when a lease runs out and another worker claims the
// item, the first worker's transaction no longer owns it.
func TestExpiredLeaseIsNeverFinishedTwice(t *testing.T) {
	e := newEnv(t)
	e.add(1, "x")
	var id int64
	e.db.QueryRow(`SELECT id FROM jobs WHERE key = 'x'`).Scan(&id)
	first, err := e.st.ClaimWork(e.ctx, store.JobWork, 1, 10, time.Minute, 111)
	if err != nil || len(first) != 1 {
		t.Fatal(first, err)
	}
	if again, _ := e.st.ClaimWork(e.ctx, store.JobWork, 1, 10, time.Minute, 222); len(again) != 0 {
		t.Fatal("a leased item was claimed again")
	}
	pgtest.Exec(t, e.db, `UPDATE jobs SET run_after = now()`) // the lease ran out
	second, _ := e.st.ClaimWork(e.ctx, store.JobWork, 1, 10, time.Minute, 222)
	if len(second) != 1 || second[0].Attempts != 2 {
		t.Fatalf("second claim %+v", second)
	}
	err = e.st.InTx(e.ctx, func(tx *store.Tx) error {
		owned, err := tx.OwnWork(e.ctx, store.JobWork, 1, []int64{id}, 111)
		if len(owned) != 0 {
			return errors.New("the first claim still owns the item")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTransientFailuresAndPanics: a deadlock gives the batch back without counting the
// attempt; a panic is contained to its batch and counted like any failure.
func TestTransientFailuresAndPanics(t *testing.T) {
	e := newEnv(t)
	q := e.queue(10)
	e.add(1, "deadlock-1", "ok-1")
	if _, err := e.runner.Once(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM jobs WHERE attempts = 0 AND claim IS NULL AND last_error LIKE '%deadlock%'`); n != 2 {
		t.Fatalf("%d jobs given back uncounted after a deadlock, want 2", n)
	}
	pgtest.Exec(t, e.db, `DELETE FROM jobs`)
	e.add(2, "panic-1", "ok-2")
	if _, err := e.runner.Drain(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.done, "ok-2") {
		t.Fatal("the panic took its neighbour down")
	}
	var lastError string
	e.db.QueryRow(`SELECT last_error FROM jobs WHERE key = 'panic-1' AND attempts = 1`).Scan(&lastError)
	if !strings.Contains(lastError, "panicked") {
		t.Fatalf("panic not recorded: %q", lastError)
	}
}

// TestStopGivesWorkBack: stopping a runner in the middle of work leaves nothing leased and
// every item done exactly once after a restart.
func TestStopGivesWorkBack(t *testing.T) {
	e := newEnv(t)
	slow := func(ctx context.Context, b *queue.Batch) error {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		return e.handler(ctx, b)
	}
	var keys []string
	for i := 0; i < 40; i++ {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	e.add(1, keys...)
	e.add(2, keys...)
	for round := 0; round < 3; round++ {
		r := queue.NewRunner(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		r.Add(&queue.Queue{Table: store.JobWork, Handle: slow, Workers: 3, Batch: 4, Idle: 5 * time.Millisecond})
		r.Start(e.ctx)
		time.Sleep(120 * time.Millisecond)
		r.Stop()
		if n := e.count(`SELECT count(*) FROM jobs WHERE claim IS NOT NULL`); n != 0 {
			t.Fatalf("%d jobs still claimed after Stop", n)
		}
	}
	if _, err := e.runner.Drain(e.ctx, e.queue(100)); err != nil {
		t.Fatal(err)
	}
	if len(e.done) != 80 || e.count(`SELECT count(*) FROM jobs`) != 0 {
		t.Fatalf("%d jobs done, want each of the 80 once", len(e.done))
	}
}

// TestGroupedClaimTakesAPersonsQueueTogether: the scoring queue is claimed oldest first, and
// with its first items come the other due items of the same leads (never another
// workspace's, never ones not due or held by another claim), each lead's oldest first, at most twenty
// times the batch.
func TestGroupedClaimTakesAPersonsQueueTogether(t *testing.T) {
	e := newEnv(t)
	queue := func(ws, lead int64, ids ...int64) {
		for _, id := range ids {
			pgtest.Exec(t, e.db, `INSERT INTO scoring_queue (workspace_id, activity_id, lead_id) VALUES ($1, $2, $3)`, ws, id, lead)
		}
	}
	queue(1, 1, 1, 5, 9)
	queue(1, 2, 2, 6)
	queue(1, 3, 3, 7)
	queue(1, 4, 4, 8)
	queue(2, 1, 10, 11) // the same lead id in another workspace
	pgtest.Exec(t, e.db, `UPDATE scoring_queue SET run_after = now() + interval '1 hour' WHERE workspace_id = 1 AND activity_id = 8`)
	claim := func(limit int, token int64) string {
		items, err := e.st.ClaimWork(e.ctx, store.ScoringWork, 1, limit, time.Minute, token)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, fmt.Sprint(it.ID))
		}
		return strings.Join(ids, " ")
	}
	if got := claim(2, 1); got != "1 2 5 6 9" {
		t.Fatalf("first claim of 2: %s, want the two oldest and the rest of their leads' (1 2 5 6 9)", got)
	}
	if got := claim(1, 2); got != "3 7" {
		t.Fatalf("second claim of 1: %s, want 3 7", got)
	}
	if got := claim(5, 3); got != "4" {
		t.Fatalf("third claim: %s, want 4 alone (8 is not due)", got)
	}
	var many []int64
	for id := int64(100); id < 130; id++ {
		many = append(many, id)
	}
	queue(1, 5, many...)
	want := strings.Fields(fmt.Sprint(many[:20]))
	if got := claim(1, 4); got != strings.Trim(strings.Join(want, " "), "[]") {
		t.Fatalf("a claim of 1 from a lead with 30 queued took %q, want its 20 oldest", got)
	}
	if n := pgtest.Count(t, e.db, `SELECT count(*) FROM scoring_queue WHERE workspace_id = 2 AND claim IS NOT NULL`); n != 0 {
		t.Fatalf("%d items of workspace 2 were claimed", n)
	}
}

// TestComputeSlotsBoundBusyBatches: however many workers compute queues have, no more of
// their batches run at once than the runner's compute slots while it is crowded, and one
// while it is also overloaded; the work all gets done. Uncrowded, they all run.
func TestComputeSlotsBoundBusyBatches(t *testing.T) {
	if most := runComputeQueues(t, true, true); most != 1 {
		t.Fatalf("overloaded, %d compute batches ran at once, want 1", most)
	}
	if most := runComputeQueues(t, true, false); most != 2 {
		t.Fatalf("%d compute batches ran at once with 2 compute slots, want 2", most)
	}
	if most := runComputeQueues(t, false, true); most <= 2 {
		t.Fatalf("uncrowded, at most %d compute batches ran at once, want more than the 2 slots", most)
	}
}

// runComputeQueues runs two compute queues of three workers each, two compute slots, until
// their 24 jobs are done, and returns how many batches ran at once at most. Each batch waits
// (in vain if bounded) for one more than the bound to run alongside it.
func runComputeQueues(t *testing.T, crowded, overloaded bool) int32 {
	e := newEnv(t)
	var active, most atomic.Int32
	alongside, wait := int32(3), 10*time.Second // uncrowded: more than the 2 slots
	switch {
	case crowded && overloaded:
		alongside, wait = 2, 100*time.Millisecond
	case crowded:
		alongside, wait = 2, 10*time.Second
	}
	busy := func(ctx context.Context, b *queue.Batch) error {
		n := active.Add(1)
		defer active.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		for deadline := time.Now().Add(wait); active.Load() < alongside && most.Load() < alongside && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		return e.handler(ctx, b)
	}
	var keys []string
	for i := 0; i < 6; i++ {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	for ws := int64(1); ws <= 4; ws++ {
		e.add(ws, keys...)
	}
	r := queue.NewRunner(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	r.ComputeSlots = 2
	r.Crowded = func() bool { return crowded }
	r.Overloaded = func() bool { return overloaded }
	r.Add(&queue.Queue{Table: store.JobWork, Handle: busy, Workers: 3, Batch: 1, Idle: 5 * time.Millisecond, Compute: true})
	r.Add(&queue.Queue{Table: store.JobWork, Handle: busy, Workers: 3, Batch: 1, Idle: 5 * time.Millisecond, Compute: true})
	r.Start(e.ctx)
	for deadline := time.Now().Add(60 * time.Second); e.count(`SELECT count(*) FROM jobs`) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop()
	if n := e.count(`SELECT count(*) FROM jobs`); n != 0 {
		t.Fatalf("%d jobs left", n)
	}
	return most.Load()
}
