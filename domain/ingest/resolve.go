package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/leads"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Resolver asks Braze (/users/export/ids) who id-only users are, remembers the answers, and
// releases the events that waited for them.
type Resolver struct {
	Store   *store.Store
	Secrets *secrets.Box
	Stats   *Stats
	Log     *slog.Logger
	Now     func() time.Time
	// NewClient builds a Braze client; tests point it at a fake.
	NewClient func(endpoint, apiKey string) *braze.Client
	// Released is called when events became pending again (wakes the processor).
	Released func()

	mu      sync.Mutex
	resetAt map[int64]time.Time // per workspace: Braze said no requests left until then
}

// BrazeKeyContext binds a stored Braze key to its workspace.
func BrazeKeyContext(workspaceID int64) string {
	return fmt.Sprintf("workspace:%d:braze_api_key", workspaceID)
}

// Resolve is the Braze lookup queue's handler: it asks Braze about a claimed batch of one
// workspace's identifiers (50 external ids per call, one call per Braze id or phone), and
// stores the answers. Braze's own trouble (a 5xx, the network) backs the failed request's
// lookups off; a refused key pauses the workspace's lookups; a rate limit waits for its reset.
func (r *Resolver) Resolve(ctx context.Context, b *queue.Batch) error {
	ws := b.Workspace
	lookups, err := r.Store.LookupsByID(ctx, ws, b.IDs())
	if err != nil || len(lookups) == 0 {
		return err
	}
	if part, err := r.Store.PartOff(ctx, ws, store.PartBrazeREST); err != nil || part != "" {
		if err != nil {
			return err
		}
		return b.Later(ctx, nil, b.IDs(), r.Now().Add(24*time.Hour), store.SwitchedOffWhy(part))
	}
	conn, err := r.Store.BrazeConnection(ctx, ws)
	if errors.Is(err, store.ErrNotFound) {
		return b.Later(ctx, nil, b.IDs(), r.Now().Add(time.Hour), "no Braze API key yet")
	}
	if err != nil {
		return err
	}
	if conn.LookupsPausedUntil != nil && conn.LookupsPausedUntil.After(r.Now()) {
		return b.Later(ctx, nil, b.IDs(), *conn.LookupsPausedUntil, "Braze lookups are paused: "+conn.LookupError)
	}
	key, err := r.Secrets.Open(conn.APIKeyEncrypted, BrazeKeyContext(ws))
	if err != nil {
		until := r.Now().Add(365 * 24 * time.Hour)
		r.Log.Error("Braze lookups paused: the stored key cannot be decrypted", "workspace", ws)
		if err := r.Store.PauseBrazeLookups(ctx, ws, "The stored Braze API key cannot be decrypted (was PEREGRINE_SECRET_KEY changed?). Enter the key again.", until); err != nil {
			return err
		}
		return b.Later(ctx, nil, b.IDs(), until, "the stored Braze API key cannot be decrypted")
	}
	client := r.NewClient(conn.RESTEndpoint, string(key))
	requests, asked := lookupRequests(lookups)
	var found []braze.User
	var outcomes []store.LookupOutcome
	answered := false
	for i, req := range requests {
		if wait := r.rateLimited(ws); !wait.IsZero() {
			return r.finish(ctx, b, found, outcomes, func() error {
				return b.Later(ctx, nil, idsOf(asked[i:]...), wait, "waiting for the Braze rate limit to reset")
			})
		}
		res, err := client.ExportIDs(ctx, req)
		var be *braze.Error
		if errors.As(err, &be) {
			stop, err := r.handleError(ctx, b, be, asked[i:])
			if err != nil {
				return err
			}
			if stop {
				break
			}
			continue
		}
		if err != nil {
			return err
		}
		r.noteRateLimit(ws, res.RateLimit)
		if !answered {
			// The status panel shows the last real result of talking to Braze.
			answered = true
			if err := r.Store.RecordBrazeLookup(ctx, ws, true, ""); err != nil {
				return err
			}
		}
		outcomes = append(outcomes, r.outcomesOf(asked[i], res)...)
		found = append(found, res.Users...)
	}
	return r.finish(ctx, b, found, outcomes, nil)
}

// lookupRequests groups lookups into Braze requests: external ids by 50, others one each.
func lookupRequests(lookups []model.BrazeLookup) ([]braze.ExportRequest, [][]model.BrazeLookup) {
	var requests []braze.ExportRequest
	var asked [][]model.BrazeLookup
	var external, singles []model.BrazeLookup
	for _, l := range lookups {
		if l.Kind == model.LookupExternalID {
			external = append(external, l)
		} else {
			singles = append(singles, l)
		}
	}
	for start := 0; start < len(external); start += braze.MaxExternalIDs {
		chunk := external[start:min(start+braze.MaxExternalIDs, len(external))]
		req := braze.ExportRequest{FieldsToExport: braze.ExportFields}
		for _, l := range chunk {
			req.ExternalIDs = append(req.ExternalIDs, l.Value)
		}
		requests, asked = append(requests, req), append(asked, chunk)
	}
	for _, l := range singles {
		req := braze.ExportRequest{FieldsToExport: braze.ExportFields}
		if l.Kind == model.LookupBrazeID {
			req.BrazeID = l.Value
		} else {
			req.Phone = l.Value
		}
		requests, asked = append(requests, req), append(asked, []model.BrazeLookup{l})
	}
	return requests, asked
}

func idsOf(groups ...[]model.BrazeLookup) []int64 {
	var ids []int64
	for _, g := range groups {
		for _, l := range g {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

// finish stores what Braze answered, then runs after (giving back what was not asked).
func (r *Resolver) finish(ctx context.Context, b *queue.Batch, found []braze.User, outcomes []store.LookupOutcome, after func() error) error {
	if err := r.apply(ctx, b, found, outcomes); err != nil {
		return err
	}
	if after != nil {
		return after()
	}
	return nil
}

// handleError decides what a failed call means, logs it once with its cause, and gives the
// lookups concerned back. stop says no further request of this batch is made (the rest was
// given back too).
func (r *Resolver) handleError(ctx context.Context, b *queue.Batch, be *braze.Error, rest [][]model.BrazeLookup) (bool, error) {
	ws, now := b.Workspace, r.Now()
	r.Stats.Add(ws, model.MetricLookupError, "", 1)
	if err := r.Store.RecordBrazeLookup(ctx, ws, false, be.Message); err != nil {
		return true, err
	}
	r.Log.Warn("Braze lookup failed", "workspace", ws, "status", be.Status, "cause", be.Message, "detail", be.Detail, "identifiers", len(rest[0]))
	switch {
	case be.Refused || be.Status == 401 || be.Status == 403 || be.Status == 404:
		// The key or endpoint is wrong, or the endpoint is not one this server may call:
		// pause this workspace's lookups; saving the connection again resumes them.
		until := now.Add(15 * time.Minute)
		if be.Refused {
			until = now.Add(time.Hour) // only the endpoint or the operator's setting can change it
		}
		if err := r.Store.PauseBrazeLookups(ctx, ws, be.Message, until); err != nil {
			return true, err
		}
		return true, b.Later(ctx, nil, idsOf(rest...), until, be.Error())
	case be.Status == 429:
		r.mu.Lock()
		if r.resetAt == nil {
			r.resetAt = map[int64]time.Time{}
		}
		r.resetAt[ws] = be.RetryAt
		r.mu.Unlock()
		return true, b.Later(ctx, nil, idsOf(rest...), be.RetryAt, be.Error())
	}
	// 5xx, network: this request's lookups back off; the batch's other requests still run.
	return false, b.Retry(ctx, nil, idsOf(rest[0]), be)
}

// reaskAfter spaces out asking again about someone Braze has no email for yet: 10 minutes,
// then an hour, 6 hours, and daily after that. It is a schedule, not a failure backoff.
func reaskAfter(asked int) time.Duration {
	steps := []time.Duration{10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}
	return steps[min(asked, len(steps)-1)]
}

func (r *Resolver) rateLimited(ws int64) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.resetAt[ws]; ok && r.Now().Before(at) {
		return at
	}
	return time.Time{}
}

func (r *Resolver) noteRateLimit(ws int64, rl braze.RateLimit) {
	if !rl.Known || rl.Remaining > 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.resetAt == nil {
		r.resetAt = map[int64]time.Time{}
	}
	r.resetAt[ws] = rl.Reset
}

// outcomesOf maps Braze's answer back to each identifier asked about.
func (r *Resolver) outcomesOf(asked []model.BrazeLookup, res braze.ExportResponse) []store.LookupOutcome {
	now := r.Now()
	users := map[string]braze.User{}
	for _, u := range res.Users {
		users[model.LookupExternalID+"\x00"+u.ExternalID] = u
		users[model.LookupBrazeID+"\x00"+u.BrazeID] = u
	}
	var outs []store.LookupOutcome
	for _, l := range asked {
		u, ok := users[l.Kind+"\x00"+l.Value]
		if !ok && l.Kind == model.LookupPhone && len(res.Users) > 0 {
			u, ok = res.Users[0], true
		}
		switch {
		case !ok:
			outs = append(outs, store.LookupOutcome{ID: l.ID, State: model.LookupNotFound,
				NextAttempt: now.Add(reaskAfter(l.Asked)), Error: "Braze does not know this user (yet)"})
		case events.CleanEmail(u.Email) == "":
			outs = append(outs, store.LookupOutcome{ID: l.ID, State: model.LookupNoEmail,
				NextAttempt: now.Add(reaskAfter(l.Asked)), Error: "this Braze user has no email yet"})
		default:
			outs = append(outs, store.LookupOutcome{ID: l.ID, State: model.LookupFound})
		}
	}
	return outs
}

// known is a Braze user matched to a lead.
type known struct {
	lead       int64
	profile    model.LeadProfile
	identities []model.Identity
}

// apply stores what Braze told, in one transaction that owns the lookups: leads with their
// profile and identities, the answers, and releases the events that waited for these people.
// Locks follow docs/work.md: new leads first, then the leads in id order, the waiting lock last.
func (r *Resolver) apply(ctx context.Context, b *queue.Batch, users []braze.User, outcomes []store.LookupOutcome) error {
	if len(users) == 0 && len(outcomes) == 0 {
		return nil
	}
	ws := b.Workspace
	released := 0
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		owned, err := b.Own(ctx, tx)
		if err != nil || len(owned) == 0 {
			return err
		}
		people, err := r.leadsOf(ctx, tx, ws, users)
		if err != nil {
			return err
		}
		var ids []int64
		var identities []model.Identity
		for _, p := range people {
			ids, identities = append(ids, p.lead), append(identities, p.identities...)
		}
		if err := tx.LockLeads(ctx, ws, ids); err != nil {
			return err
		}
		for _, p := range people {
			if err := tx.UpdateLeadProfile(ctx, ws, p.lead, p.profile); err != nil {
				return err
			}
		}
		if _, err := tx.AddIdentities(ctx, ws, identities); err != nil {
			return err
		}
		if len(identities) > 0 {
			if err := tx.LockWaiting(ctx, ws); err != nil {
				return err
			}
			if released, err = tx.ReleaseWaiting(ctx, ws, identities); err != nil {
				return err
			}
		}
		return tx.FinishLookups(ctx, ws, ownedOutcomes(outcomes, owned))
	})
	if err == nil && released > 0 && r.Released != nil {
		r.Released()
	}
	return err
}

// leadsOf finds or creates the lead of each Braze user with an email, in lead id order.
func (r *Resolver) leadsOf(ctx context.Context, tx *store.Tx, ws int64, users []braze.User) ([]known, error) {
	byLead := map[int64]*known{}
	for _, u := range users {
		email := events.CleanEmail(u.Email)
		if email == "" {
			continue
		}
		leadID, err := leadOf(ctx, tx, ws, u, email)
		if err != nil {
			return nil, err
		}
		k := byLead[leadID]
		if k == nil {
			k = &known{lead: leadID}
			byLead[leadID] = k
		}
		k.profile = profileOf(u, email)
		if u.BrazeID != "" {
			k.identities = append(k.identities, model.Identity{Kind: model.IdentityBrazeUser, Value: u.BrazeID, LeadID: leadID})
		}
		if u.ExternalID != "" {
			k.identities = append(k.identities, model.Identity{Kind: model.IdentityExternalID, Value: u.ExternalID, LeadID: leadID})
		}
		if p := strings.TrimSpace(u.Phone); p != "" {
			k.identities = append(k.identities, model.Identity{Kind: model.IdentityPhone, Value: p, LeadID: leadID})
		}
	}
	out := make([]known, 0, len(byLead))
	for _, id := range slices.Sorted(maps.Keys(byLead)) {
		out = append(out, *byLead[id])
	}
	return out, nil
}

func ownedOutcomes(outcomes []store.LookupOutcome, owned []int64) []store.LookupOutcome {
	return slices.DeleteFunc(slices.Clone(outcomes), func(o store.LookupOutcome) bool { return !slices.Contains(owned, o.ID) })
}

// leadOf finds the lead a Braze user already belongs to (by Braze id, then external id), so a
// changed email in Braze updates that lead instead of creating a second one; otherwise the
// lead of the email, created if needed. It only inserts: no existing row is locked.
func leadOf(ctx context.Context, tx *store.Tx, ws int64, u braze.User, email string) (int64, error) {
	for _, id := range []struct{ kind, value string }{{model.IdentityBrazeUser, u.BrazeID}, {model.IdentityExternalID, u.ExternalID}} {
		if id.value == "" {
			continue
		}
		m, err := tx.LeadsByIdentity(ctx, ws, id.kind, []string{id.value})
		if err != nil {
			return 0, err
		}
		if leadID, ok := m[id.value]; ok {
			return leadID, nil
		}
	}
	var accountID int64
	if d := leads.CompanyDomain(email); d != "" {
		accounts, err := tx.UpsertAccounts(ctx, ws, []string{d})
		if err != nil {
			return 0, err
		}
		accountID = accounts[d]
	}
	ids, err := tx.UpsertLeadsByEmail(ctx, ws, []store.LeadSeed{{Email: email, AccountID: accountID}})
	return ids[email], err
}

func profileOf(u braze.User, email string) model.LeadProfile {
	p := model.LeadProfile{Email: email, FirstName: strings.TrimSpace(u.FirstName), LastName: strings.TrimSpace(u.LastName),
		Phone: strings.TrimSpace(u.Phone), Country: strings.TrimSpace(u.Country), TimeZone: strings.TrimSpace(u.TimeZone),
		CustomAttributes: u.CustomAttributes}
	var attrs map[string]any
	if len(u.CustomAttributes) > 0 && json.Unmarshal(u.CustomAttributes, &attrs) == nil {
		p.Company = textAttribute(attrs, "company", "company_name", "Company")
		p.Title = textAttribute(attrs, "job_title", "title", "jobTitle", "Title")
		p.Industry = textAttribute(attrs, "industry", "Industry")
		p.CompanySize = sizeAttribute(attrs, "company_size", "employees", "number_of_employees", "companySize")
	}
	return p
}

// textAttribute is the first non-empty text among the custom attributes named (teams name
// them differently: job_title, title, …).
func textAttribute(attrs map[string]any, names ...string) string {
	for _, k := range names {
		if s, ok := attrs[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// sizeAttribute reads a head count given as a number or as digits.
func sizeAttribute(attrs map[string]any, names ...string) *int {
	for _, k := range names {
		var n float64
		switch v := attrs[k].(type) {
		case float64:
			n = v
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(v, ",", "")), 64)
			if err != nil {
				continue
			}
			n = f
		default:
			continue
		}
		if n >= 1 && n <= 10_000_000 {
			size := int(n)
			return &size
		}
	}
	return nil
}
