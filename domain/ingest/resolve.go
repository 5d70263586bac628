package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/leads"
	"github.com/peregrine-scoring/peregrine/domain/model"
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

// lookupLease is how long a claimed lookup is reserved for one resolver.
const lookupLease = 2 * time.Minute

// ResolveOnce leases due lookups and resolves them, one workspace after another.
func (r *Resolver) ResolveOnce(ctx context.Context) (int, error) {
	due, err := r.Store.ClaimDueLookups(ctx, 200, lookupLease)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	byWorkspace := map[int64][]model.BrazeLookup{}
	for _, l := range due {
		byWorkspace[l.WorkspaceID] = append(byWorkspace[l.WorkspaceID], l)
	}
	for ws, lookups := range byWorkspace {
		if err := r.resolveWorkspace(ctx, ws, lookups); err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

func (r *Resolver) resolveWorkspace(ctx context.Context, ws int64, lookups []model.BrazeLookup) error {
	conn, err := r.Store.BrazeConnection(ctx, ws)
	if err != nil {
		return err
	}
	key, err := r.Secrets.Open(conn.APIKeyEncrypted, BrazeKeyContext(ws))
	if err != nil {
		return r.Store.PauseBrazeLookups(ctx, ws, "The stored Braze API key cannot be decrypted (was PEREGRINE_SECRET_KEY changed?). Enter the key again.", r.Now().Add(365*24*time.Hour))
	}
	client := r.NewClient(conn.RESTEndpoint, string(key))

	// Every claimed lookup is asked, even when an email event identified the person
	// meanwhile: the answer still fills their profile. Each identifier is queued once.
	var outcomes []store.LookupOutcome
	var extIDs []string
	var singles []model.BrazeLookup
	for _, l := range lookups {
		switch {
		case l.Kind == model.LookupExternalID:
			extIDs = append(extIDs, l.Value)
		default:
			singles = append(singles, l)
		}
	}
	attempts := map[string]int{}
	for _, l := range lookups {
		attempts[l.Kind+"\x00"+l.Value] = l.Attempts
	}

	var requests []braze.ExportRequest
	var asked [][]model.BrazeLookup
	for start := 0; start < len(extIDs); start += braze.MaxExternalIDs {
		chunk := extIDs[start:min(start+braze.MaxExternalIDs, len(extIDs))]
		requests = append(requests, braze.ExportRequest{ExternalIDs: chunk, FieldsToExport: braze.ExportFields})
		var ls []model.BrazeLookup
		for _, id := range chunk {
			ls = append(ls, model.BrazeLookup{Kind: model.LookupExternalID, Value: id, Attempts: attempts[model.LookupExternalID+"\x00"+id]})
		}
		asked = append(asked, ls)
	}
	for _, l := range singles {
		req := braze.ExportRequest{FieldsToExport: braze.ExportFields}
		if l.Kind == model.LookupBrazeID {
			req.BrazeID = l.Value
		} else {
			req.Phone = l.Value
		}
		requests = append(requests, req)
		asked = append(asked, []model.BrazeLookup{l})
	}

	var found []braze.User
	for i, req := range requests {
		if wait := r.rateLimited(ws); !wait.IsZero() {
			outcomes = append(outcomes, retryAll(asked[i:], wait, "waiting for the Braze rate limit to reset")...)
			break
		}
		res, err := client.ExportIDs(ctx, req)
		if err != nil {
			var be *braze.Error
			if !errors.As(err, &be) {
				return err
			}
			r.Stats.Add(ws, model.MetricLookupError, "", 1)
			stop, outs := r.handleError(ctx, ws, be, asked[i:])
			outcomes = append(outcomes, outs...)
			if stop {
				break
			}
			continue
		}
		r.noteRateLimit(ws, res.RateLimit)
		outcomes = append(outcomes, r.outcomesOf(asked[i], res)...)
		found = append(found, res.Users...)
	}
	return r.apply(ctx, ws, found, outcomes)
}

// handleError decides what a failed call means. With stop=true no further request of this
// round is made and the outcomes cover every remaining request; otherwise they cover only the
// failed one, and the round goes on.
func (r *Resolver) handleError(ctx context.Context, ws int64, be *braze.Error, rest [][]model.BrazeLookup) (bool, []store.LookupOutcome) {
	now := r.Now()
	switch {
	case be.Status == 401 || be.Status == 403 || be.Status == 404:
		// The key or endpoint is wrong: pause this workspace's lookups; a new key resumes them.
		until := now.Add(15 * time.Minute)
		if err := r.Store.PauseBrazeLookups(ctx, ws, be.Message, until); err != nil {
			r.Log.Error("pausing lookups", "err", err)
		}
		r.Log.Warn("Braze refused lookups; pausing", "workspace", ws, "status", be.Status)
		return true, retryAll(rest, until, be.Error())
	case be.Status == 429:
		r.mu.Lock()
		if r.resetAt == nil {
			r.resetAt = map[int64]time.Time{}
		}
		r.resetAt[ws] = be.RetryAt
		r.mu.Unlock()
		return true, retryAll(rest, be.RetryAt, be.Error())
	}
	// 5xx, network: back off this request only, by its attempts.
	var outs []store.LookupOutcome
	for _, l := range rest[0] {
		outs = append(outs, store.LookupOutcome{Kind: l.Kind, Value: l.Value, State: model.LookupPending,
			NextAttempt: now.Add(errorBackoff(l.Attempts)), Error: be.Error()})
	}
	return false, outs
}

func retryAll(rest [][]model.BrazeLookup, at time.Time, reason string) []store.LookupOutcome {
	var outs []store.LookupOutcome
	for _, ls := range rest {
		for _, l := range ls {
			outs = append(outs, store.LookupOutcome{Kind: l.Kind, Value: l.Value, State: model.LookupPending, NextAttempt: at, Error: reason})
		}
	}
	return outs
}

// errorBackoff grows from 30 s to at most an hour.
func errorBackoff(attempts int) time.Duration {
	d := 30 * time.Second << min(attempts, 7)
	return min(d, time.Hour)
}

// unknownBackoff spaces out asking again about someone Braze has no email for yet: 10 minutes,
// then an hour, 6 hours, and daily after that.
func unknownBackoff(attempts int) time.Duration {
	steps := []time.Duration{10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}
	return steps[min(attempts, len(steps)-1)]
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
			outs = append(outs, store.LookupOutcome{Kind: l.Kind, Value: l.Value, State: model.LookupNotFound,
				NextAttempt: now.Add(unknownBackoff(l.Attempts)), Error: "Braze does not know this user (yet)"})
		case events.CleanEmail(u.Email) == "":
			outs = append(outs, store.LookupOutcome{Kind: l.Kind, Value: l.Value, State: model.LookupNoEmail,
				NextAttempt: now.Add(unknownBackoff(l.Attempts)), Error: "this Braze user has no email yet"})
		default:
			outs = append(outs, store.LookupOutcome{Kind: l.Kind, Value: l.Value, State: model.LookupFound})
		}
	}
	return outs
}

// apply stores what Braze told: leads with their profile and identities, the lookups'
// outcomes, and releases the events that waited for these people.
func (r *Resolver) apply(ctx context.Context, ws int64, users []braze.User, outcomes []store.LookupOutcome) error {
	released := 0
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, u := range users {
			email := events.CleanEmail(u.Email)
			if email == "" {
				continue
			}
			leadID, err := leadOf(ctx, tx, ws, u, email)
			if err != nil {
				return err
			}
			if err := tx.UpdateLeadProfile(ctx, ws, leadID, profileOf(u, email)); err != nil {
				return err
			}
			var identities []model.Identity
			if u.BrazeID != "" {
				identities = append(identities, model.Identity{Kind: model.IdentityBrazeUser, Value: u.BrazeID, LeadID: leadID})
			}
			if u.ExternalID != "" {
				identities = append(identities, model.Identity{Kind: model.IdentityExternalID, Value: u.ExternalID, LeadID: leadID})
			}
			if p := strings.TrimSpace(u.Phone); p != "" {
				identities = append(identities, model.Identity{Kind: model.IdentityPhone, Value: p, LeadID: leadID})
			}
			if _, err := tx.AddIdentities(ctx, ws, identities); err != nil {
				return err
			}
			n, err := tx.ReleaseWaiting(ctx, ws, identities)
			if err != nil {
				return err
			}
			released += n
		}
		return tx.FinishLookups(ctx, ws, outcomes)
	})
	if err == nil && released > 0 && r.Released != nil {
		r.Released()
	}
	return err
}

// leadOf finds the lead a Braze user already belongs to (by Braze id, then external id), so a
// changed email in Braze updates that lead instead of creating a second one; otherwise the
// lead of the email, created if needed.
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
		for _, k := range []string{"company", "company_name", "Company"} {
			if s, ok := attrs[k].(string); ok && strings.TrimSpace(s) != "" {
				p.Company = strings.TrimSpace(s)
				break
			}
		}
	}
	return p
}
