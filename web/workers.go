package web

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/crmsync"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/handlers"
)

// WorkerOptions size the background work of one process.
type WorkerOptions struct {
	Workers int // goroutines processing stored events, and as many scoring them
	// Timeout is the longest a batch of events or activities may run (0: a minute); Braze
	// lookups and Salesforce pushes get twice that, jobs five times. Claims are leased for
	// three times their timeout: after a crash, work comes back when its lease ends.
	Timeout time.Duration
	// PoolSize caps the database pool (0: one connection per worker plus RequestConns).
	// Batches run at once are bounded by it less RequestConns, so workers never wait on each
	// other's connections.
	PoolSize int
	Metrics  *Metrics // nil: counted, not exported
	// ComputeBatches bounds the processing and scoring batches run at once while events arrive
	// (0: one fewer than the cores, at least one, and two on two cores).
	ComputeBatches int
}

// RequestConns is the share of the database pool kept for HTTP requests.
const RequestConns = 24

// Sweeps are the server's periodic jobs (workspace 0 of the jobs table, seeded by migration
// 0005): each finds workspaces with due work and queues a job for each.
const (
	SweepRefresh   = "sweep-refresh"
	SweepReheat    = "sweep-reheat"
	SweepReconcile = "sweep-salesforce-reconcile"
	SweepPull      = "sweep-salesforce-pull"
	SweepSessions  = "sweep-sessions"       // hourly, migration 0006
	SweepSnapshots = "sweep-list-snapshots" // every 15 minutes, migration 0008
	SweepVisitors  = "sweep-visitors"       // hourly, migration 0016
	SweepDigests   = "sweep-digests"        // every 15 minutes, migration 0022
	SweepReports   = "sweep-reports"        // every 15 minutes, migration 0026
)

// NewWorkers assembles everything Peregrine runs in the background — this function is the
// one place to read for it. Every kind of work is a queue of the work layer (domain/queue):
// claimed per workspace in turn, leased, timed out, retried with backoff, its bad items
// quarantined. Start runs them; Stop ends them.
//
//	inbound         stored events → activities of leads (or waiting for their person)
//	scoring         new activities → scores, labels, grades, ledger, Salesforce outbox
//	braze-lookup    Braze /users/export/ids for people known only by id or phone
//	salesforce-push changed leads → Salesforce, 200 per call
//	braze-writeback changed leads → Braze custom attributes (/users/track), 75 per call
//	deliveries      emails, Slack messages and webhooks: alerts, invitations,
//	                password-reset links, tests (one per claim)
//	jobs            re-scoring after rule changes, milestone back-fills and attribution
//	                rebuilds, scheduled report emails, refreshing aged scores, temperatures,
//	                Salesforce reconciliation and pulls, password-reset links, the sweeps
//	                that queue them, and
//	                the hourly removal of expired sessions and of anonymous website
//	                visitors past their site's retention
//	(loop)          status-panel counters, flushed every 2 seconds
func NewWorkers(st *store.Store, p *ingest.Pipeline, log *slog.Logger, opts WorkerOptions) *queue.Runner {
	workers := max(opts.Workers, 1)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	var reg prometheus.Registerer
	if opts.Metrics != nil {
		reg = opts.Metrics.Registry
		reg.MustRegister(queue.NewCollector(st, log))
		p.Salesforce.CallsMade = opts.Metrics.SalesforceCalls
	}
	p.Notify.Composer = &handlers.AlertComposer{Store: st, Scoring: p.Scoring, Secrets: p.Notify.Box, BaseURL: p.Salesforce.BaseURL}
	r := queue.NewRunner(st, log, queue.NewMetrics(reg))
	r.Add(&queue.Queue{Table: store.InboundWork, Handle: p.Processor.Process, Workers: workers, Batch: 1000, Timeout: timeout, Compute: true})
	r.Add(&queue.Queue{Table: store.ScoringWork, Handle: p.Scoring.ScoreQueued, Workers: workers, Batch: 300, Timeout: timeout,
		Ready: p.Scoring.IngestCaughtUp, Compute: true})
	r.Add(&queue.Queue{Table: store.LookupWork, Handle: p.Resolver.Resolve, Workers: 1, Batch: 200, Timeout: 2 * timeout, Idle: 5 * time.Second})
	r.Add(&queue.Queue{Table: store.OutboxWork, Handle: p.Salesforce.Push, Workers: 1, Batch: 200, Timeout: 2 * timeout})
	r.Add(&queue.Queue{Table: store.WritebackWork, Handle: p.Writeback.Push, Workers: 1, Batch: braze.MaxTrackAttributes, Timeout: 2 * timeout})
	// One delivery per claim: a message sent is never sent again because another failed.
	r.Add(&queue.Queue{Table: store.DeliveryWork, Handle: p.Notify.Deliver, Workers: 8, Batch: 1, Timeout: time.Minute, Idle: 2 * time.Second})

	jobs := &queue.Jobs{Store: st}
	jobs.Register(scoring.JobRescore, p.Scoring.Rescore)
	jobs.Register(scoring.JobRefresh, p.Scoring.Refresh)
	jobs.Register(scoring.JobReheat, p.Scoring.Reheat)
	jobs.Register(store.JobMilestoneBackfill, p.Milestones.Backfill)
	jobs.Register(store.JobAttributionRebuild, p.Milestones.Rebuild)
	jobs.Register(crmsync.JobReconcile, p.Salesforce.Reconcile)
	jobs.Register(crmsync.JobPull, p.Salesforce.Pull)
	jobs.Register(handlers.JobPasswordReset, mailPasswordResets(st, p))
	jobs.Register(handlers.JobDigest, mailDigest(st, p))
	jobs.Register(SweepDigests, sweepDigests(st))
	jobs.Register(store.JobReportEmail, mailReport(st, p))
	jobs.Register(SweepReports, sweepReports(st))
	jobs.Register(SweepRefresh, p.Scoring.SweepRefresh)
	jobs.Register(SweepReheat, p.Scoring.SweepReheat)
	jobs.Register(SweepReconcile, p.Salesforce.SweepReconcile)
	jobs.Register(SweepPull, p.Salesforce.SweepPull)
	jobs.Register(SweepSessions, func(ctx context.Context, _ store.Job) (time.Time, error) {
		_, err := st.DeleteExpiredSessions(ctx)
		return time.Time{}, err
	})
	jobs.Register(SweepSnapshots, func(ctx context.Context, _ store.Job) (time.Time, error) {
		_, err := st.DeleteOldListSnapshots(ctx)
		return time.Time{}, err
	})
	jobs.Register(SweepVisitors, func(ctx context.Context, _ store.Job) (time.Time, error) {
		_, err := st.DeleteExpiredVisitors(ctx)
		return time.Time{}, err
	})
	r.Add(&queue.Queue{Table: store.JobWork, Handle: jobs.Handle, Workers: 2, Batch: 1, Timeout: 5 * timeout, Idle: 2 * time.Second})

	r.Loop(func(ctx context.Context) { p.Stats.Run(ctx, 2*time.Second) })
	p.Wake = r.Wake

	// The pool: a connection per worker and RequestConns for requests, unless the operator
	// set a size; then the batches run at once shrink to fit.
	pool := opts.PoolSize
	if pool <= 0 {
		pool = r.Workers() + RequestConns
	}
	st.SetPoolSize(pool)
	r.Slots = max(1, min(r.Workers(), pool-RequestConns))
	// While events arrive, processing and scoring leave a core to the requests waiting for
	// their acknowledgement (on two cores, they take both: scoring keeps within seconds and
	// the p99 acknowledgement stays far below 100 ms); during a burst larger than the machine
	// keeps up with, they run one batch at a time (see queue.Runner.Overloaded).
	r.ComputeSlots = opts.ComputeBatches
	if r.ComputeSlots <= 0 {
		cores := runtime.NumCPU()
		r.ComputeSlots = min(cores, max(2, cores-1))
	}
	r.Crowded = p.Stats.ReceivingNow
	r.Overloaded = p.Scoring.IngestOverloaded
	return r
}
