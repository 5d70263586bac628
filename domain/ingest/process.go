package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/leads"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Reasons an event waits, shown on the status panel.
const (
	WaitLookup       = "waiting for Braze to tell who this is"
	WaitNoIdentifier = "no email, Braze id or phone to recognise the person"
)

// Processor turns stored events into activities of leads.
type Processor struct {
	Store     *store.Store
	Stats     *Stats
	BatchSize int
	Log       *slog.Logger
	// LookupsQueued is called when id-only users need a Braze lookup (wakes the resolver).
	LookupsQueued func()
	// Scored is called when activities were queued for scoring (wakes the scoring workers).
	Scored func()
}

// ProcessOnce claims one batch of pending events and processes it in one transaction: every
// claimed event ends as exactly one activity, or waits for its person, or is set aside. A
// crash before the commit leaves all of them pending for the next worker.
func (p *Processor) ProcessOnce(ctx context.Context) (int, error) {
	var claimed int
	var queued bool
	processed := map[int64]int64{}
	err := p.Store.InTx(ctx, func(tx *store.Tx) error {
		evs, err := tx.ClaimPendingEvents(ctx, p.BatchSize)
		if err != nil {
			return err
		}
		claimed = len(evs)
		byWorkspace := map[int64][]model.InboundEvent{}
		for _, e := range evs {
			byWorkspace[e.WorkspaceID] = append(byWorkspace[e.WorkspaceID], e)
		}
		for ws, batch := range byWorkspace {
			n, q, added, err := processWorkspace(ctx, tx, ws, batch)
			if err != nil {
				return err
			}
			// Scoring is a second stage with its own workers, from a queue written in this
			// transaction: storing activities keeps its pace, and a lead's burst of
			// activities is scored once.
			if err := tx.EnqueueScoring(ctx, ws, added); err != nil {
				return err
			}
			processed[ws] = int64(n)
			queued = queued || q
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for ws, n := range processed {
		p.Stats.Add(ws, model.MetricProcessed, "", n)
	}
	if queued && p.LookupsQueued != nil {
		p.LookupsQueued()
	}
	if claimed > 0 && p.Scored != nil {
		p.Scored()
	}
	return claimed, nil
}

type decoded struct {
	row   model.InboundEvent
	ev    events.Event
	email string
	phone string
	lead  int64
}

// processWorkspace resolves the people of one workspace's events and stores the outcome. It
// reports how many events became activities, whether lookups were queued, and the
// activities stored.
func processWorkspace(ctx context.Context, tx *store.Tx, ws int64, rows []model.InboundEvent) (int, bool, []model.ActivityRow, error) {
	var items []*decoded
	var broken []int64
	for _, r := range rows {
		ev, err := events.DecodeEvent(json.RawMessage(r.Payload))
		if err != nil {
			broken = append(broken, r.ID)
			continue
		}
		items = append(items, &decoded{row: r, ev: ev, email: ev.Email(), phone: ev.Phone()})
	}
	if err := tx.MarkEventsIgnored(ctx, ws, broken, "stored payload could not be decoded"); err != nil {
		return 0, false, nil, err
	}

	// 1. People named by email: their accounts and leads.
	domainSet, emailSet := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		if it.email != "" {
			emailSet[it.email] = true
			if d := leads.CompanyDomain(it.email); d != "" {
				domainSet[d] = true
			}
		}
	}
	accounts, err := tx.UpsertAccounts(ctx, ws, sortedKeys(domainSet))
	if err != nil {
		return 0, false, nil, err
	}
	seeds := make([]store.LeadSeed, 0, len(emailSet))
	for _, e := range sortedKeys(emailSet) {
		seeds = append(seeds, store.LeadSeed{Email: e, AccountID: accounts[leads.CompanyDomain(e)]})
	}
	byEmail, err := tx.UpsertLeadsByEmail(ctx, ws, seeds)
	if err != nil {
		return 0, false, nil, err
	}

	// 2. Everyone else through identities already known, or learnt from this batch's emails.
	var learnt []model.Identity
	for _, it := range items {
		if it.email != "" {
			it.lead = byEmail[it.email]
			learnt = append(learnt, identitiesOf(it)...)
		}
	}
	added, err := tx.AddIdentities(ctx, ws, learnt)
	if err != nil {
		return 0, false, nil, err
	}
	users, exts, phones := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, it := range items {
		if it.lead == 0 {
			users[it.ev.UserID], exts[it.ev.ExternalUserID], phones[it.phone] = true, true, true
		}
	}
	byUser, err := tx.LeadsByIdentity(ctx, ws, model.IdentityBrazeUser, sortedKeys(users))
	if err != nil {
		return 0, false, nil, err
	}
	byExt, err := tx.LeadsByIdentity(ctx, ws, model.IdentityExternalID, sortedKeys(exts))
	if err != nil {
		return 0, false, nil, err
	}
	byPhone, err := tx.LeadsByIdentity(ctx, ws, model.IdentityPhone, sortedKeys(phones))
	if err != nil {
		return 0, false, nil, err
	}

	// 3. Each event: an activity of its lead, or a wait for its person.
	var activities []model.ActivityRow
	var done []int64
	var waiting []model.Waiting
	var more []model.Identity
	lookups := map[string]map[string]bool{model.LookupExternalID: {}, model.LookupBrazeID: {}, model.LookupPhone: {}}
	for _, it := range items {
		if it.lead == 0 {
			it.lead = firstNonZero(byUser[it.ev.UserID], byExt[it.ev.ExternalUserID], byPhone[it.phone])
			if it.lead != 0 {
				more = append(more, identitiesOf(it)...)
			}
		}
		if it.lead == 0 {
			w := model.Waiting{EventID: it.row.ID, BrazeUserID: it.ev.UserID, ExternalUserID: it.ev.ExternalUserID, Phone: it.phone, Reason: WaitLookup}
			switch {
			case it.ev.ExternalUserID != "":
				lookups[model.LookupExternalID][it.ev.ExternalUserID] = true
			case it.ev.UserID != "":
				lookups[model.LookupBrazeID][it.ev.UserID] = true
			case it.phone != "":
				lookups[model.LookupPhone][it.phone] = true
			default:
				w.Reason = WaitNoIdentifier
			}
			waiting = append(waiting, w)
			continue
		}
		a, _ := it.ev.ToActivity()
		a.LeadID, a.InboundEventID = it.lead, it.row.ID
		activities = append(activities, a)
		done = append(done, it.row.ID)
	}
	added2, err := tx.AddIdentities(ctx, ws, more)
	if err != nil {
		return 0, false, nil, err
	}
	// A Braze user seen for the first time gets one profile lookup, so names, country and
	// attributes fill in: by external id when there is one (batched), else by Braze id.
	newUsers := map[int64]model.Identity{}
	for _, id := range append(added, added2...) {
		switch {
		case id.Kind == model.IdentityExternalID:
			newUsers[id.LeadID] = id
		case id.Kind == model.IdentityBrazeUser && newUsers[id.LeadID].Kind != model.IdentityExternalID:
			newUsers[id.LeadID] = id
		}
	}
	for _, id := range newUsers {
		kind := model.LookupExternalID
		if id.Kind == model.IdentityBrazeUser {
			kind = model.LookupBrazeID
		}
		lookups[kind][id.Value] = true
	}
	if err := tx.InsertActivities(ctx, ws, activities); err != nil {
		return 0, false, nil, err
	}
	if err := tx.MarkEventsDone(ctx, ws, done); err != nil {
		return 0, false, nil, err
	}
	if err := tx.MarkEventsWaiting(ctx, ws, waiting); err != nil {
		return 0, false, nil, err
	}
	// Events of earlier batches that waited for someone this batch identified go back to work.
	if _, err := tx.ReleaseWaiting(ctx, ws, append(added, added2...)); err != nil {
		return 0, false, nil, err
	}
	queued := false
	for kind, values := range lookups {
		if len(values) > 0 {
			queued = true
			if err := tx.EnqueueLookups(ctx, ws, kind, sortedKeys(values)); err != nil {
				return 0, false, nil, err
			}
		}
	}
	names := map[string]bool{}
	for _, a := range activities {
		names[a.Name] = true
	}
	if err := tx.NoteEventNames(ctx, ws, sortedKeys(names)); err != nil {
		return 0, false, nil, err
	}
	return len(activities), queued, activities, nil
}

// identitiesOf lists the identifiers an event carries, linked to its lead.
func identitiesOf(it *decoded) []model.Identity {
	var out []model.Identity
	if it.ev.UserID != "" {
		out = append(out, model.Identity{Kind: model.IdentityBrazeUser, Value: it.ev.UserID, LeadID: it.lead})
	}
	if it.ev.ExternalUserID != "" {
		out = append(out, model.Identity{Kind: model.IdentityExternalID, Value: it.ev.ExternalUserID, LeadID: it.lead})
	}
	if it.phone != "" {
		out = append(out, model.Identity{Kind: model.IdentityPhone, Value: it.phone, LeadID: it.lead})
	}
	return out
}

func firstNonZero(ids ...int64) int64 {
	for _, id := range ids {
		if id != 0 {
			return id
		}
	}
	return 0
}

// sortedKeys lists the set's non-empty keys in order (an event without the value adds "").
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
