package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/alerts"
	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/crmsync"
	"github.com/peregrine-scoring/peregrine/domain/milestones"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Options tune the pipeline.
type Options struct {
	// Outbound says which hosts Braze and Salesforce calls may reach.
	Outbound outbound.Policy
	// PublicURL is the server-wide address, for links to leads sent to Salesforce when a
	// workspace has not set its own.
	PublicURL string
	// Mailer sends email (nil: this server sends none); MailServer describes it for pages.
	Mailer     notify.Mailer
	MailServer string
}

// Pipeline holds the services an event goes through: the acceptor that stores batches, the
// processor that turns them into activities, the resolver that asks Braze who people are,
// scoring, and the Salesforce pusher. Their work runs on the queues that web/workers.go
// starts; Wake, set there, tells a queue that work has arrived.
type Pipeline struct {
	Acceptor  *Acceptor
	Collector *Collector
	Processor *Processor
	Resolver  *Resolver
	Stats     *Stats
	Scoring   *scoring.Service
	// Salesforce pushes scored leads to Salesforce.
	Salesforce *crmsync.Pusher
	// Notify sends emails, Slack messages and webhooks.
	Notify *notify.Service
	// Alerts tells people about leads, from scoring.
	Alerts *alerts.Service
	// Milestones records milestone crossings and attribution credits, from scoring.
	Milestones *milestones.Service
	// Writeback writes scores back into Braze.
	Writeback *Writeback
	// NewBrazeClient makes a Braze client for an endpoint and key, calling out under the
	// pipeline's outbound policy.
	NewBrazeClient func(endpoint, apiKey string) *braze.Client
	// Wake wakes the named queue's idle workers (nil: nobody to wake).
	Wake func(queue string)

	store *store.Store
}

// New assembles a pipeline.
func New(st *store.Store, box *secrets.Box, log *slog.Logger, opts Options) *Pipeline {
	brazeHTTP := opts.Outbound.Client(outbound.Braze, 10*time.Second)
	p := &Pipeline{Stats: NewStats(st, log), Scoring: scoring.NewService(st, log), store: st,
		NewBrazeClient: func(endpoint, apiKey string) *braze.Client {
			c := braze.NewClient(endpoint, apiKey)
			c.HTTP = brazeHTTP
			return c
		}}
	p.Processor = &Processor{Store: st, Stats: p.Stats, Log: log,
		LookupsQueued: p.waker(store.LookupWork.Queue), Scored: p.waker(store.ScoringWork.Queue)}
	p.Resolver = &Resolver{Store: st, Secrets: box, Stats: p.Stats, Log: log, Now: time.Now, NewClient: p.NewBrazeClient,
		Released: p.waker(store.InboundWork.Queue)}
	p.Notify = &notify.Service{Store: st, Box: box, Log: log, Mailer: opts.Mailer, Server: opts.MailServer,
		Slack: opts.Outbound.NoRedirects(outbound.Slack, 15*time.Second), Webhooks: opts.Outbound.NoRedirects(outbound.Public, 15*time.Second),
		Wake: p.waker(store.DeliveryWork.Queue)}
	p.Writeback = &Writeback{Store: st, Secrets: box, NewClient: p.NewBrazeClient, Log: log}
	p.Alerts = &alerts.Service{Store: st, Notify: p.Notify, Log: log, Now: time.Now}
	p.Scoring.Alerts = p.Alerts
	p.Milestones = milestones.NewService(st, log)
	p.Scoring.Milestones = p.Milestones
	p.Acceptor = &Acceptor{Store: st, Stats: p.Stats, Stored: p.waker(store.InboundWork.Queue)}
	p.Collector = NewCollector(st, p.Stats, p.waker(store.InboundWork.Queue))
	sf := crmsync.NewService(st, box, opts.Outbound)
	sf.Log = log
	p.Salesforce = &crmsync.Pusher{Service: sf, BaseURL: func(ctx context.Context, ws int64) string {
		if w, err := st.WorkspaceByID(ctx, ws); err == nil && w.PublicURL != "" {
			return w.PublicURL
		}
		return opts.PublicURL
	}, Milestones: p.Milestones}
	return p
}

func (p *Pipeline) waker(queue string) func() {
	return func() {
		if p.Wake != nil {
			p.Wake(queue)
		}
	}
}

// RulesChanged wakes the jobs queue: a re-scoring job is waiting.
func (p *Pipeline) RulesChanged() { p.JobQueued() }

// WritebackChanged wakes the Braze write-back (it was switched on: every lead is queued).
func (p *Pipeline) WritebackChanged() { p.waker(store.WritebackWork.Queue)() }

// WakeQueue wakes a queue's idle workers (work in it was made due).
func (p *Pipeline) WakeQueue(queue string) { p.waker(queue)() }

// JobQueued wakes the jobs queue.
func (p *Pipeline) JobQueued() { p.waker(store.JobWork.Queue)() }

// BrazeKeyChanged resumes the workspace's lookups that waited for a key.
func (p *Pipeline) BrazeKeyChanged(ctx context.Context, workspaceID int64) error {
	if err := p.store.RunLookupsNow(ctx, workspaceID); err != nil {
		return err
	}
	p.waker(store.LookupWork.Queue)()
	return nil
}
