package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"sort"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/leads"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Reasons an event waits, shown on the status panel.
const (
	WaitLookup       = "waiting for Braze to tell who this is"
	WaitNoIdentifier = "no email, Braze id or phone to recognise the person"
)

// Processor turns stored events into activities of leads: the handler of the inbound queue.
type Processor struct {
	Store *store.Store
	Stats *Stats
	Log   *slog.Logger
	// LookupsQueued is called when id-only users need a Braze lookup (wakes the resolver).
	LookupsQueued func()
	// Scored is called when activities were queued for scoring (wakes the scoring workers).
	Scored func()
}

// Process turns a claimed batch of one workspace's stored events into activities in one
// transaction: every event ends as exactly one activity, or waits for its person, or is set
// aside. A crash before the commit leaves all of them queued for the next claim.
func (p *Processor) Process(ctx context.Context, b *queue.Batch) error {
	var res outcome
	err := p.Store.InTx(ctx, func(tx *store.Tx) error {
		owned, err := b.Take(ctx, tx)
		if err != nil || len(owned) == 0 {
			return err
		}
		evs, err := tx.InboundEvents(ctx, b.Workspace, owned)
		if err != nil {
			return err
		}
		res, err = processWorkspace(ctx, tx, b.Workspace, evs)
		return err
	})
	if err != nil {
		return err
	}
	p.Stats.Add(b.Workspace, model.MetricProcessed, "", int64(res.activities))
	if res.lookups && p.LookupsQueued != nil {
		p.LookupsQueued()
	}
	if res.activities > 0 && p.Scored != nil {
		p.Scored()
	}
	return nil
}

// outcome is what processing a batch did.
type outcome struct {
	activities int  // events that became activities
	lookups    bool // Braze lookups were queued
}

type decoded struct {
	row   model.InboundEvent
	ev    events.Event
	email string
	phone string
	lead  int64
}

// batchPlan is what a batch of events becomes, worked out before anything is locked.
type batchPlan struct {
	activities []model.ActivityRow
	attached   []model.ActivityRow // stored activities of browsers that now belong to a lead
	takenFrom  []int64             // leads some of whose stored activities went to another lead
	waiting    []model.Waiting
	traits     []traitUpdate              // Segment traits for known people
	identities []model.Identity           // identities new in this transaction
	lookups    map[string]map[string]bool // kind → identifiers to ask Braze about
}

// processWorkspace resolves the people of one workspace's events and stores the outcome.
// Locks follow the order in docs/work.md: new rows first (accounts, leads, identities: no
// existing row is locked), then the leads in id order, the workspace's waiting lock last.
func processWorkspace(ctx context.Context, tx *store.Tx, ws int64, rows []model.InboundEvent) (outcome, error) {
	web, rows, brokenWeb := decodeWeb(rows)
	seg, rows, brokenSeg := decodeSegment(rows)
	api, rows, brokenAPI := decodeAPI(rows)
	web = slices.Concat(web, seg, api)
	items, broken := decodeAll(rows)
	if err := tx.MarkEventsIgnored(ctx, ws, slices.Concat(broken, brokenWeb, brokenSeg, brokenAPI), "stored payload could not be decoded"); err != nil {
		return outcome{}, err
	}
	byEmail, webAccounts, err := prepareWeb(ctx, tx, ws, web)
	if err != nil {
		return outcome{}, err
	}
	accounts, err := leadsByEmail(ctx, tx, ws, items)
	if err != nil {
		return outcome{}, err
	}
	maps.Copy(accounts, webAccounts)
	plan, err := planBatch(ctx, tx, ws, items)
	if err != nil {
		return outcome{}, err
	}
	if err := plan.addWeb(ctx, tx, ws, web, byEmail); err != nil {
		return outcome{}, err
	}
	if err := storePlan(ctx, tx, ws, plan, accounts); err != nil {
		return outcome{}, err
	}
	if err := settleWaiting(ctx, tx, ws, plan.waiting, plan.identities); err != nil {
		return outcome{}, err
	}
	return outcome{activities: len(plan.activities) + len(plan.attached), lookups: len(plan.lookups[model.LookupExternalID])+
		len(plan.lookups[model.LookupBrazeID])+len(plan.lookups[model.LookupPhone]) > 0}, nil
}

// addWeb plans the batch's website hits into the plan.
func (plan *batchPlan) addWeb(ctx context.Context, tx *store.Tx, ws int64, web []*webHit, byEmail map[string]int64) error {
	if len(web) == 0 {
		return nil
	}
	wp, err := planWeb(ctx, tx, ws, web, byEmail)
	if err != nil {
		return err
	}
	plan.activities = append(plan.activities, wp.activities...)
	plan.attached = append(plan.attached, wp.attached...)
	plan.takenFrom = append(plan.takenFrom, wp.takenFrom...)
	plan.traits = append(plan.traits, wp.traits...)
	plan.waiting = append(plan.waiting, wp.waiting...)
	for kind, values := range wp.lookups {
		for _, v := range values {
			plan.lookups[kind][v] = true
		}
	}
	return tx.NoteOriginHits(ctx, ws, wp.origins)
}

// decodeAll decodes stored payloads; those that no longer decode are returned apart.
func decodeAll(rows []model.InboundEvent) ([]*decoded, []int64) {
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
	return items, broken
}

// leadsByEmail makes sure the people named by email have their account and lead, and sets
// each such item's lead. It returns each lead's account (by lead id), attached once the leads
// are updated.
func leadsByEmail(ctx context.Context, tx *store.Tx, ws int64, items []*decoded) (map[int64]int64, error) {
	emails := map[string]bool{}
	for _, it := range items {
		if it.email != "" {
			emails[it.email] = true
		}
	}
	byEmail, leadAccounts, err := leadsForEmails(ctx, tx, ws, emails)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.email != "" {
			it.lead = byEmail[it.email]
		}
	}
	paths := make(map[string]string, len(emails))
	for e := range emails {
		paths[e] = store.PathCurrents
	}
	return leadAccounts, tx.ApplyEntryRules(ctx, ws, paths)
}

// leadsForEmails finds or creates the lead of each email, and the account of its company
// domain (inserts only: no existing row is locked). It returns the leads by email and each
// lead's account by lead id.
func leadsForEmails(ctx context.Context, tx *store.Tx, ws int64, emails map[string]bool) (map[string]int64, map[int64]int64, error) {
	domains := map[string]bool{}
	for e := range emails {
		if d := leads.CompanyDomain(e); d != "" {
			domains[d] = true
		}
	}
	accounts, err := tx.UpsertAccounts(ctx, ws, sortedKeys(domains))
	if err != nil {
		return nil, nil, err
	}
	seeds := make([]store.LeadSeed, 0, len(emails))
	for _, e := range sortedKeys(emails) {
		seeds = append(seeds, store.LeadSeed{Email: e, AccountID: accounts[leads.CompanyDomain(e)]})
	}
	byEmail, err := tx.UpsertLeadsByEmail(ctx, ws, seeds)
	if err != nil {
		return nil, nil, err
	}
	leadAccounts := make(map[int64]int64, len(seeds))
	for _, s := range seeds {
		if s.AccountID != 0 {
			leadAccounts[byEmail[s.Email]] = s.AccountID
		}
	}
	return byEmail, leadAccounts, nil
}

// planBatch finds everyone else through identities already known or learnt from this
// batch's emails, and decides each event's fate: an activity of its lead, or a wait for its
// person (with a Braze lookup to ask who they are).
func planBatch(ctx context.Context, tx *store.Tx, ws int64, items []*decoded) (batchPlan, error) {
	plan := batchPlan{lookups: map[string]map[string]bool{model.LookupExternalID: {}, model.LookupBrazeID: {}, model.LookupPhone: {}}}
	var learnt []model.Identity
	users, exts, phones := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, it := range items {
		if it.lead != 0 {
			learnt = append(learnt, identitiesOf(it)...)
		} else {
			users[it.ev.UserID], exts[it.ev.ExternalUserID], phones[it.phone] = true, true, true
		}
	}
	added, err := tx.AddIdentities(ctx, ws, learnt)
	if err != nil {
		return plan, err
	}
	known := map[string]map[string]int64{}
	for kind, set := range map[string]map[string]bool{model.IdentityBrazeUser: users, model.IdentityExternalID: exts, model.IdentityPhone: phones} {
		if known[kind], err = tx.LeadsByIdentity(ctx, ws, kind, sortedKeys(set)); err != nil {
			return plan, err
		}
	}
	var more []model.Identity
	for _, it := range items {
		if it.lead == 0 {
			it.lead = firstNonZero(known[model.IdentityBrazeUser][it.ev.UserID], known[model.IdentityExternalID][it.ev.ExternalUserID], known[model.IdentityPhone][it.phone])
			if it.lead != 0 {
				more = append(more, identitiesOf(it)...)
			}
		}
		if it.lead == 0 {
			plan.waiting = append(plan.waiting, waitFor(it, plan.lookups))
			continue
		}
		a, _ := it.ev.ToActivity()
		a.LeadID, a.InboundEventID = it.lead, it.row.ID
		plan.activities = append(plan.activities, a)
	}
	added2, err := tx.AddIdentities(ctx, ws, more)
	if err != nil {
		return plan, err
	}
	plan.identities = append(added, added2...)
	profileLookups(plan.identities, plan.lookups)
	return plan, nil
}

// waitFor parks an event whose person is unknown, and asks Braze about its best identifier.
func waitFor(it *decoded, lookups map[string]map[string]bool) model.Waiting {
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
	return w
}

// profileLookups gives a Braze user seen for the first time one profile lookup, so names,
// country and attributes fill in: by external id when there is one (batched), else by Braze
// id.
func profileLookups(added []model.Identity, lookups map[string]map[string]bool) {
	newUsers := map[int64]model.Identity{}
	for _, id := range added {
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
}

// storePlan writes the activities, queues lookups and scoring, then — as late as possible,
// since concurrent batches of the workspace wait for each other's lead locks from here to the
// commit — moves the leads' activity summary (giving leads without an account their email's),
// and notes the activity names for suggestions. (The events left the queue when the
// transaction took them.)
func storePlan(ctx context.Context, tx *store.Tx, ws int64, plan batchPlan, accounts map[int64]int64) error {
	if err := tx.InsertActivityRows(ctx, ws, plan.activities); err != nil {
		return err
	}
	leadActivities := append(slices.Clip(plan.activities), plan.attached...)
	for _, kind := range []string{model.LookupExternalID, model.LookupBrazeID, model.LookupPhone} {
		if err := tx.EnqueueLookups(ctx, ws, kind, sortedKeys(plan.lookups[kind])); err != nil {
			return err
		}
	}
	// Scoring is a second stage with its own workers, from a queue written in this
	// transaction: storing activities keeps its pace, and a lead's burst is scored once.
	if err := tx.EnqueueScoring(ctx, ws, leadActivities); err != nil {
		return err
	}
	if len(plan.traits) > 0 || len(plan.takenFrom) > 0 {
		// Traits, and activities moving away, change people with no activity in this batch
		// too: take every lead the transaction changes, in id order, before changing any.
		ids := make([]int64, 0, len(leadActivities)+len(plan.traits)+len(plan.takenFrom))
		for _, a := range leadActivities {
			ids = append(ids, a.LeadID)
		}
		for _, u := range plan.traits {
			ids = append(ids, u.lead)
		}
		ids = append(ids, plan.takenFrom...)
		if err := tx.LockLeads(ctx, ws, ids); err != nil {
			return err
		}
	}
	if err := tx.AddLeadActivity(ctx, ws, leadActivities, accounts); err != nil {
		return err
	}
	if len(plan.takenFrom) > 0 {
		// Their summaries and scores follow from what they still hold.
		if err := tx.RecountLeadActivity(ctx, ws, plan.takenFrom); err != nil {
			return err
		}
		if err := tx.ScoreAgainNow(ctx, ws, plan.takenFrom); err != nil {
			return err
		}
	}
	if err := applyTraits(ctx, tx, ws, plan.traits); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, a := range plan.activities {
		names[a.Name] = true
	}
	return tx.NoteEventNames(ctx, ws, sortedKeys(names))
}

// settleWaiting parks events whose person is unknown and releases those that waited for an
// identity this transaction added. Both run under the workspace's waiting lock, taken last:
// a transaction adding an identity and one parking an event for it cannot miss each other
// (whichever goes second sees the other's commit), and events parked for an identifier
// another transaction made known meanwhile go straight back to the queue.
func settleWaiting(ctx context.Context, tx *store.Tx, ws int64, waiting []model.Waiting, added []model.Identity) error {
	if len(waiting) == 0 && len(added) == 0 {
		return nil
	}
	if err := tx.LockWaiting(ctx, ws); err != nil {
		return err
	}
	if err := tx.MarkEventsWaiting(ctx, ws, waiting); err != nil {
		return err
	}
	if _, err := tx.ReleaseWaiting(ctx, ws, added); err != nil {
		return err
	}
	ids := make([]int64, len(waiting))
	for i, w := range waiting {
		ids[i] = w.EventID
	}
	_, err := tx.ReleaseKnownWaiting(ctx, ws, ids)
	return err
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
