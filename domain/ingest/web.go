package ingest

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/segment"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/tracker"
)

// WaitBrazeLink is the reason a web identification waits.
const WaitBrazeLink = "waiting for Braze to tell who opened this Braze link"

// webHit is a stored tracker hit being processed.
type webHit struct {
	row     model.InboundEvent
	hit     storedHit
	visitor model.Visitor
	email   string // an identifying email (form, identify call)
	form    tracker.FormResult
	// A Segment message (nil for the tracker's hits), and the visitor of its userId when it
	// also carries an anonymousId (the anonymous visitor is then visitor).
	seg        *segment.Message
	partnerKey string
	partner    model.Visitor
	api        *APIEvent // an open-API event (seg then holds it in the Spec's shape)
}

// sentAt is when the browser sent a tracker hit, by its clock (activities carry the same
// time); zero for Segment and API messages, whose order across sources no clock settles.
func (h *webHit) sentAt() time.Time {
	if h.seg != nil {
		return time.Time{}
	}
	return h.hit.OccurredAt()
}

// webPlan is what a batch's website hits become.
type webPlan struct {
	activities []model.ActivityRow // new activities (a browser's, lead 0, when anonymous)
	attached   []model.ActivityRow // stored activities that now belong to a lead
	takenFrom  []int64             // leads some of whose stored activities went to another
	traits     []traitUpdate       // Segment traits for known people
	waiting    []model.Waiting
	lookups    map[string][]string // Braze lookups to ask for (kind → ids)
	origins    []model.OriginSeen
	times      browserTimes // the tracker browsers' identifications, as the batch goes
}

// browserTimes holds, per browser, its standing identifications in time order.
type browserTimes map[int64][]model.BrowserLink

// loadBrowserTimes reads the identifications of the batch's tracker browsers that have a
// person.
func loadBrowserTimes(ctx context.Context, tx *store.Tx, ws int64, hits []*webHit) (browserTimes, error) {
	var ids []int64
	for _, h := range hits {
		if h.seg == nil && h.visitor.LeadID != nil {
			ids = append(ids, h.visitor.ID)
		}
	}
	slices.Sort(ids)
	links, err := tx.StandingLinks(ctx, ws, slices.Compact(ids))
	out := browserTimes{}
	for _, l := range links {
		out[l.VisitorID] = append(out[l.VisitorID], l)
	}
	return out, err
}

// lateOwner is whose a hit the browser sent at t is when it arrived after the browser's
// latest identification though sent before it: the person of the last identification at or
// before t, or of the first one for a hit sent before any (a browser's anonymous activity is
// its first person's). ok is false for a hit sent after the latest identification (its
// person is the browser's current one), without a browser clock, or when the latest
// identification's time is the server's (a link made before identification times were kept,
// or by the CLI): a browser clock running behind would place the browser's new hits before it.
func (b browserTimes) lateOwner(visitor int64, t time.Time) (lead int64, ok bool) {
	links := b[visitor]
	if len(links) == 0 || t.IsZero() || !links[len(links)-1].Clocked || !t.Before(links[len(links)-1].At) {
		return 0, false
	}
	i := sort.Search(len(links), func(i int) bool { return links[i].At.After(t) })
	return links[max(i-1, 0)].LeadID, true
}

// next is when the browser's first identification after `after` was sent (zero: none).
func (b browserTimes) next(visitor int64, after time.Time) time.Time {
	for _, l := range b[visitor] {
		if l.At.After(after) {
			return l.At
		}
	}
	return time.Time{}
}

// add notes a new identification of a browser, sent at `at` by its clock (zero: no clock,
// made now).
func (b browserTimes) add(visitor, lead int64, at time.Time) {
	l := model.BrowserLink{VisitorID: visitor, LeadID: lead, At: at, Clocked: !at.IsZero()}
	if !l.Clocked {
		l.At = time.Now()
	}
	links := append(b[visitor], l)
	slices.SortStableFunc(links, func(x, y model.BrowserLink) int { return x.At.Compare(y.At) })
	b[visitor] = links
}

// decodeWeb splits a batch's website hits off; those that no longer decode are returned apart.
func decodeWeb(rows []model.InboundEvent) (web []*webHit, others []model.InboundEvent, broken []int64) {
	for _, r := range rows {
		if r.Source != model.SourceWeb {
			others = append(others, r)
			continue
		}
		var h storedHit
		if err := json.Unmarshal([]byte(r.Payload), &h); err != nil || h.Type == "" {
			broken = append(broken, r.ID)
			continue
		}
		web = append(web, &webHit{row: r, hit: h})
	}
	return web, others, broken
}

// prepareWeb records the batch's browsers (they are locked before any lead, docs/work.md)
// and creates the leads of identifying emails (inserts only), except the workspace's own
// people, whose browsers become internal. It returns the leads by email and their accounts.
func prepareWeb(ctx context.Context, tx *store.Tx, ws int64, hits []*webHit) (map[string]int64, map[int64]int64, error) {
	if len(hits) == 0 {
		return nil, nil, nil
	}
	seen := make([]model.VisitorSeen, 0, len(hits))
	emails := map[string]bool{}
	for _, h := range hits {
		if h.seg != nil {
			seen = append(seen, model.VisitorSeen{Key: h.hit.Visitor, At: h.seg.Time})
			if h.partnerKey != "" {
				seen = append(seen, model.VisitorSeen{Key: h.partnerKey, At: h.seg.Time})
			}
		} else {
			seen = append(seen, model.VisitorSeen{Key: h.hit.Visitor, SiteID: h.hit.SiteID, At: h.hit.OccurredAt()})
			if h.hit.Type == tracker.TypeForm && h.hit.Form != nil {
				h.form = tracker.AnalyzeForm(*h.hit.Form)
			}
			h.email = identifyingEmail(h)
		}
		if h.email != "" {
			emails[h.email] = true
		}
	}
	visitors, err := tx.UpsertVisitors(ctx, ws, seen)
	if err != nil {
		return nil, nil, err
	}
	staff, err := tx.StaffEmails(ctx, ws, sortedKeys(emails))
	if err != nil {
		return nil, nil, err
	}
	for _, h := range hits {
		if h.email != "" && staff[h.email] {
			delete(emails, h.email)
			h.email = ""
			v := visitors[h.hit.Visitor]
			if err := tx.MarkVisitorInternal(ctx, ws, v.ID); err != nil {
				return nil, nil, err
			}
			v.Internal = true
			visitors[h.hit.Visitor] = v
		}
	}
	paths := map[string]string{}
	for _, h := range hits {
		h.visitor = visitors[h.hit.Visitor]
		if h.partnerKey != "" {
			h.partner = visitors[h.partnerKey]
		}
		if h.email != "" {
			paths[h.email] = entryPath(h)
		}
	}
	byEmail, accounts, err := leadsForEmails(ctx, tx, ws, emails)
	if err != nil {
		return nil, nil, err
	}
	return byEmail, accounts, tx.ApplyEntryRules(ctx, ws, paths)
}

// identifyingEmail is the email a hit says the visitor is: a form that identifies, or an
// identify call.
func identifyingEmail(wh *webHit) string {
	h := wh.hit.Hit
	switch {
	case h.Type == tracker.TypeForm && h.Form != nil:
		if wh.form.Identifies {
			return wh.form.Email
		}
	case h.Type == tracker.TypeIdentify && h.Identify != nil:
		return events.CleanEmail(h.Identify.Email)
	}
	return ""
}

// planWeb decides each hit's fate in arrival order: identifications tie browsers to leads
// (bringing their anonymous activities), and every other hit becomes an activity of its
// browser's current person, or of the browser alone while nobody is known.
func planWeb(ctx context.Context, tx *store.Tx, ws int64, hits []*webHit, byEmail map[string]int64) (webPlan, error) {
	times, err := loadBrowserTimes(ctx, tx, ws, hits)
	if err != nil {
		return webPlan{}, err
	}
	plan := webPlan{lookups: map[string][]string{}, times: times}
	current := map[int64]int64{} // browser → its person as the batch goes
	for _, h := range hits {
		for _, v := range []model.Visitor{h.visitor, h.partner} {
			if _, ok := current[v.ID]; !ok && v.LeadID != nil {
				current[v.ID] = *v.LeadID
			}
		}
	}
	origins := map[[2]string]*model.OriginSeen{}
	for _, h := range hits {
		lead, reason, wait, err := whoIs(ctx, tx, ws, h, byEmail, current, origins)
		if err != nil {
			return plan, err
		}
		if wait != nil {
			plan.waiting = append(plan.waiting, wait.Waiting)
			plan.lookups[wait.lookupKind()] = append(plan.lookups[wait.lookupKind()], wait.lookupValue())
			continue
		}
		linked := false
		if lead != 0 && !h.visitor.Internal && current[h.visitor.ID] != lead {
			if linked, err = linkBrowser(ctx, tx, ws, h.visitor.ID, lead, reason, h.sentAt(), current, &plan); err != nil {
				return plan, err
			}
		}
		a, ok, err := hitActivity(ctx, tx, ws, h, lead, reason, current, &plan)
		if err != nil {
			return plan, err
		}
		if !ok {
			continue
		}
		a.VisitorID, a.InboundEventID = h.visitor.ID, h.row.ID
		if !h.visitor.Internal {
			a.LeadID = current[h.visitor.ID]
			if late, ok := plan.times.lateOwner(h.visitor.ID, h.sentAt()); ok {
				a.LeadID = late
			}
			if linked { // the identifying hit is its person's, even when a newer identification stands
				a.LeadID = lead
			}
		}
		plan.activities = append(plan.activities, a)
	}
	for _, o := range origins {
		plan.origins = append(plan.origins, *o)
	}
	return plan, nil
}

func noteOrigin(origins map[[2]string]*model.OriginSeen, h *webHit) {
	k := [2]string{h.hit.Site, h.hit.Origin()}
	o := origins[k]
	if o == nil {
		o = &model.OriginSeen{SiteID: h.hit.SiteID, Origin: k[1]}
		origins[k] = o
	}
	o.Hits++
	if at := h.hit.Received; at.After(o.LastHitAt) {
		o.LastHitAt = at
	}
}

// webWait is a web identification waiting for a Braze lookup.
type webWait struct{ model.Waiting }

func (w webWait) lookupKind() string {
	if w.BrazeUserID != "" {
		return model.LookupBrazeID
	}
	return model.LookupExternalID
}

func (w webWait) lookupValue() string {
	if w.BrazeUserID != "" {
		return w.BrazeUserID
	}
	return w.ExternalUserID
}

// identifyHit finds the person a hit identifies (0: none), with the reason and its detail; or
// parks it until Braze tells who a Braze id is.
func identifyHit(ctx context.Context, tx *store.Tx, ws int64, h *webHit, byEmail map[string]int64) (int64, [2]string, *webWait, error) {
	path := tracker.PagePath(h.hit.URL)
	if h.email != "" {
		if h.hit.Type == tracker.TypeForm {
			kind := h.form.Type
			if kind == "" {
				kind = "a"
			} else {
				kind = "the " + kind
			}
			return byEmail[h.email], [2]string{model.LinkForm, kind + " form on " + path}, nil, nil
		}
		return byEmail[h.email], [2]string{model.LinkAPI, "peregrine('identify') on " + path}, nil, nil
	}
	id := h.hit.Identify
	if h.hit.Type != tracker.TypeIdentify || id == nil {
		return 0, [2]string{}, nil, nil
	}
	if id.Link != "" {
		lead, err := tx.LinkedLead(ctx, ws, id.Link)
		return lead, [2]string{model.LinkTrackedLink, "tracked link to " + path}, nil, err
	}
	kind, value := model.IdentityBrazeUser, strings.TrimSpace(id.BrazeID)
	if value == "" {
		kind, value = model.IdentityExternalID, strings.TrimSpace(id.BrUserID)
	}
	if value == "" || len(value) > 200 {
		return 0, [2]string{}, nil, nil
	}
	known, err := tx.LeadsByIdentity(ctx, ws, kind, []string{value})
	if err != nil {
		return 0, [2]string{}, nil, err
	}
	if lead := known[value]; lead != 0 {
		return lead, [2]string{model.LinkBrazeLink, "Braze link to " + path}, nil, nil
	}
	w := webWait{model.Waiting{EventID: h.row.ID, Reason: WaitBrazeLink}}
	if kind == model.IdentityBrazeUser {
		w.BrazeUserID = value
	} else {
		w.ExternalUserID = value
	}
	return 0, [2]string{}, &w, nil
}

// whoIs finds the person a hit or Segment message identifies (see identifyHit and
// segmentIdentity).
func whoIs(ctx context.Context, tx *store.Tx, ws int64, h *webHit, byEmail map[string]int64, current map[int64]int64,
	origins map[[2]string]*model.OriginSeen) (int64, [2]string, *webWait, error) {
	if h.api != nil {
		return apiIdentity(ctx, tx, ws, h, byEmail, current)
	}
	if h.seg != nil {
		lead, reason := segmentIdentity(h, byEmail, current)
		return lead, reason, nil, nil
	}
	noteOrigin(origins, h)
	return identifyHit(ctx, tx, ws, h, byEmail)
}

// hitActivity is the activity a hit becomes, if any. A Segment identify also ties its
// userId's visitor to the person, and its traits (or a group's) are noted for the person.
func hitActivity(ctx context.Context, tx *store.Tx, ws int64, h *webHit, lead int64, reason [2]string, current map[int64]int64,
	plan *webPlan) (model.ActivityRow, bool, error) {
	if h.seg == nil {
		a, ok := tracker.Activity(h.hit.Hit)
		if h.hit.Type == tracker.TypeIdentify && h.hit.Identify.Link != "" && lead != 0 {
			a, ok = tracker.LinkClickActivity(h.hit.Hit), true
		}
		return a, ok, nil
	}
	if h.email != "" && lead != 0 && h.partner.ID != 0 && !h.partner.Internal && current[h.partner.ID] != lead {
		if _, err := linkBrowser(ctx, tx, ws, h.partner.ID, lead, reason, time.Time{}, current, plan); err != nil {
			return model.ActivityRow{}, false, err
		}
	}
	if person := current[h.visitor.ID]; person != 0 && !h.visitor.Internal && (h.seg.Type == segment.Identify || h.seg.Type == segment.Group) {
		plan.traits = append(plan.traits, traitUpdate{lead: person, msg: h.seg})
	}
	if h.api != nil {
		a, ok := segment.ActivityAs(*h.seg, SourceAPI, "API")
		return a, ok, nil
	}
	a, ok := segmentActivity(h)
	return a, ok, nil
}

// linkBrowser ties a browser to a lead unless a person undid that link before, and says
// whether it did. since is when the identifying hit was sent by the browser's clock (zero:
// no such clock).
func linkBrowser(ctx context.Context, tx *store.Tx, ws int64, visitorID int64, lead int64, reason [2]string, since time.Time,
	current map[int64]int64, plan *webPlan) (bool, error) {
	blocked, err := tx.LinkBlocked(ctx, ws, visitorID, lead)
	if err != nil || blocked {
		return false, err
	}
	prev := current[visitorID]
	link := model.IdentityLink{VisitorID: visitorID, LeadID: lead, Reason: reason[0], Detail: reason[1], IdentifiedAt: since}
	if prev != 0 {
		link.ReplacedLeadID = &prev
		link.Until = plan.times.next(visitorID, since)
	}
	r, err := tx.LinkVisitor(ctx, ws, link)
	if err != nil {
		return false, err
	}
	for _, m := range r.Moved {
		plan.attached = append(plan.attached, model.ActivityRow{LeadID: lead, InboundEventID: m.ID, OccurredAt: m.OccurredAt})
		if m.From != 0 {
			plan.takenFrom = append(plan.takenFrom, m.From)
		}
	}
	// This batch's earlier hits of the browser: anonymous ones are the lead's too, and so are
	// those given to someone else that the browser sent after this identification.
	for i := range plan.activities {
		a := &plan.activities[i]
		if a.VisitorID == visitorID && ((prev == 0 && a.LeadID == 0) || (a.LeadID != 0 && r.Takes(a.OccurredAt))) {
			a.LeadID = lead
		}
	}
	if r.Current {
		current[visitorID] = lead
	}
	plan.times.add(visitorID, lead, since)
	return true, nil
}

// entryPath is the entry path of a lead a hit creates (its status, source and owner follow
// the path's rule, Settings › Lead settings).
func entryPath(h *webHit) string {
	switch {
	case h.api != nil:
		return store.PathAPI
	case h.seg != nil:
		return store.PathSegment
	}
	return store.PathTrackerForm
}
