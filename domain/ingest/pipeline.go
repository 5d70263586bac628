package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/crmsync"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Options tune the pipeline.
type Options struct {
	Workers   int // processor goroutines
	BatchSize int // events per processing transaction
	// NewBrazeClient builds Braze clients (tests point it at a fake).
	NewBrazeClient func(endpoint, apiKey string) *braze.Client
	// PublicURL is the server-wide address, for links to leads sent to Salesforce when a
	// workspace has not set its own.
	PublicURL string
}

// Pipeline wires acceptor, processor, resolver and stats together and runs their workers.
type Pipeline struct {
	Acceptor  *Acceptor
	Processor *Processor
	Resolver  *Resolver
	Stats     *Stats
	Scoring   *scoring.Service
	// Salesforce pushes scored leads to Salesforce.
	Salesforce *crmsync.Pusher

	processors *queue.Pool
	resolvers  *queue.Pool
	scorers    *queue.Pool
	rescorers  *queue.Pool
	refreshers *queue.Pool
	reheaters  *queue.Pool
	pushers    *queue.Pool
	reconciler *queue.Pool
	pullers    *queue.Pool
	cancel     context.CancelFunc
	done       sync.WaitGroup
}

// New assembles a pipeline; Start runs it.
func New(st *store.Store, box *secrets.Box, log *slog.Logger, opts Options) *Pipeline {
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.NewBrazeClient == nil {
		opts.NewBrazeClient = braze.NewClient
	}
	p := &Pipeline{Stats: NewStats(st, log), Scoring: scoring.NewService(st, log)}
	p.Processor = &Processor{Store: st, Stats: p.Stats, BatchSize: opts.BatchSize, Log: log}
	p.Resolver = &Resolver{Store: st, Secrets: box, Stats: p.Stats, Log: log, Now: time.Now, NewClient: opts.NewBrazeClient}
	p.Acceptor = &Acceptor{Store: st, Stats: p.Stats}
	p.processors = &queue.Pool{Name: "process", Workers: opts.Workers, Idle: time.Second, Work: p.Processor.ProcessOnce, Log: log}
	p.resolvers = &queue.Pool{Name: "braze-lookup", Workers: 1, Idle: 5 * time.Second, Work: p.Resolver.ResolveOnce, Log: log}
	// Re-scoring after rule changes, refreshing leads whose stored values aged, and the
	// periodic temperature re-classification.
	p.scorers = &queue.Pool{Name: "score", Workers: opts.Workers, Idle: time.Second, Work: p.Scoring.ScoreQueuedOnce, Log: log}
	p.Processor.Scored = p.scorers.Wake
	p.rescorers = &queue.Pool{Name: "rescore", Workers: 1, Idle: 2 * time.Second, Work: p.Scoring.RescoreOnce, Log: log}
	p.refreshers = &queue.Pool{Name: "refresh", Workers: 1, Idle: 30 * time.Second, Work: p.Scoring.RefreshOnce, Log: log}
	p.reheaters = &queue.Pool{Name: "reheat", Workers: 1, Idle: 30 * time.Second, Work: p.Scoring.ReheatOnce, Log: log}
	// Salesforce: pushes within a second or two of a change, and a periodic reconciliation.
	p.Salesforce = &crmsync.Pusher{Service: crmsync.NewService(st, box), BaseURL: func(ctx context.Context, ws int64) string {
		if w, err := st.WorkspaceByID(ctx, ws); err == nil && w.PublicURL != "" {
			return w.PublicURL
		}
		return opts.PublicURL
	}}
	p.pushers = &queue.Pool{Name: "salesforce-push", Workers: 1, Idle: time.Second, Work: p.Salesforce.PushOnce, Log: log}
	p.reconciler = &queue.Pool{Name: "salesforce-reconcile", Workers: 1, Idle: time.Minute, Work: p.Salesforce.ReconcileOnce, Log: log}
	p.pullers = &queue.Pool{Name: "salesforce-pull", Workers: 1, Idle: 20 * time.Second, Work: p.Salesforce.PullOnce, Log: log}
	p.Acceptor.Stored = p.processors.Wake
	p.Processor.LookupsQueued = p.resolvers.Wake
	p.Resolver.Released = p.processors.Wake
	return p
}

// Start runs the workers and the stats flusher in the background.
func (p *Pipeline) Start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	p.processors.Start(ctx)
	p.resolvers.Start(ctx)
	p.scorers.Start(ctx)
	p.rescorers.Start(ctx)
	p.refreshers.Start(ctx)
	p.reheaters.Start(ctx)
	p.pushers.Start(ctx)
	p.reconciler.Start(ctx)
	p.pullers.Start(ctx)
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		p.Stats.Run(ctx, 2*time.Second)
	}()
}

// Stop ends the workers, waits for them, and writes the last counters.
func (p *Pipeline) Stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.processors.Wait()
	p.resolvers.Wait()
	p.scorers.Wait()
	p.rescorers.Wait()
	p.refreshers.Wait()
	p.reheaters.Wait()
	p.pushers.Wait()
	p.reconciler.Wait()
	p.pullers.Wait()
	p.done.Wait()
}

// RulesChanged wakes the re-scoring worker.
func (p *Pipeline) RulesChanged() { p.rescorers.Wake() }

// BrazeKeyChanged wakes the resolver: lookups that waited for a key may run now.
func (p *Pipeline) BrazeKeyChanged() { p.resolvers.Wake() }
