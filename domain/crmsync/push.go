package crmsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// lookupBudget bounds the SOQL text of one lookup, so its URL stays well under the 16 KB
// Salesforce accepts: a whole batch of 200 usual emails fits in one query.
const lookupBudget = 9000

// ownersPerQuery bounds the owner emails looked up per query (100 addresses stay well under
// the URL limit).
const ownersPerQuery = 100

// Pusher sends changed leads to Salesforce in batches of up to 200.
type Pusher struct {
	*Service
	// BaseURL is the workspace's address in Peregrine, for links to its leads (read once
	// per batch).
	BaseURL func(ctx context.Context, workspaceID int64) string
	// CallsMade, when set, is told how many API calls each push or pull made (metrics).
	CallsMade func(n int)
	// Milestones, when set, records status milestones crossed by pulled statuses, in the
	// pull's transaction (milestones.Service).
	Milestones StatusRecorder

	mu        sync.Mutex
	describes map[string]cachedDescribe
}

type cachedDescribe struct {
	d  salesforce.Describe
	at time.Time
}

// StatusRecorder is what the pull tells milestones.
type StatusRecorder interface {
	RecordStatuses(ctx context.Context, tx *store.Tx, workspaceID int64, changes []store.StatusChange) error
}

// transient errors are worth retrying as they are; the others wait for the data to change.
var transient = map[string]bool{"UNABLE_TO_LOCK_ROW": true, "SERVER_UNAVAILABLE": true, "UNKNOWN_EXCEPTION": true, "REQUEST_LIMIT_EXCEEDED": true}

// Push is the Salesforce outbox queue's handler: it pushes a claimed batch of one workspace's
// changed leads (up to 200). A workspace not connected, paused or out of its API share gives
// the batch back for later without counting an attempt; a call that fails as a whole backs
// every lead off (or waits for the pause it caused).
func (p *Pusher) Push(ctx context.Context, b *queue.Batch) error {
	ws, ids := b.Workspace, b.IDs()
	items, err := p.Store.OutboxItems(ctx, ws, ids)
	if err != nil || len(items) == 0 {
		return err
	}
	now := p.Now()
	if part, err := p.Store.PartOff(ctx, ws, store.PartSalesforce, store.PartSalesforcePush); err != nil || part != "" {
		if err != nil {
			return err
		}
		return b.Later(ctx, nil, ids, now.Add(24*time.Hour), store.SwitchedOffWhy(part)) // the outbox keeps every change
	}
	sess, conn, err := p.Session(ctx, ws)
	switch {
	case errors.Is(err, ErrNotConnected):
		return b.Later(ctx, nil, ids, now.Add(10*time.Minute), "Salesforce is not connected")
	case err != nil && isSalesforceError(err):
		_ = p.Record(ctx, ws, err)
		return b.Retry(ctx, nil, ids, err)
	case err != nil:
		return err
	case conn.PausedUntil != nil && conn.PausedUntil.After(now):
		return b.Later(ctx, nil, ids, *conn.PausedUntil, "Salesforce sync is paused: "+conn.ProblemCause)
	case overBudget(conn, now):
		until := now.Add(time.Hour)
		_ = p.Store.SetSalesforceProblem(ctx, ws, "budget",
			fmt.Sprintf("Peregrine has used its share of the org's daily API calls (%d%% of %d).", conn.APISharePercent, *conn.APIMax),
			"Syncing resumes as the rolling 24-hour window frees calls. Raise the share to sync sooner.", &until)
		return b.Later(ctx, nil, ids, until, "Peregrine's share of the Salesforce API calls is used up")
	}
	outcomes, runErr := p.push(ctx, ws, sess, items, now)
	retry := func(attempts int) time.Time { return now.Add(queue.Backoff(attempts)) }
	msg := ""
	if runErr != nil {
		// The whole call failed: every lead waits, with backoff, or until a pause ends.
		msg = salesforce.Explain(runErr).Cause
		_ = p.Record(ctx, ws, runErr)
		if c, err := p.Store.SalesforceConnection(ctx, ws); err == nil && c.PausedUntil != nil {
			until := *c.PausedUntil
			retry = func(int) time.Time { return until }
		}
		outcomes = outcomes[:0]
		for _, it := range items {
			outcomes = append(outcomes, model.SyncOutcome{LeadID: it.LeadID, Outcome: model.SyncRetrying, Message: msg, Retry: true, Attempts: it.Attempts, ChangedAt: it.ChangedAt})
		}
	} else if conn.ProblemCode != "" {
		_ = p.Record(ctx, ws, nil)
	}
	p.logRecordFailures(ws, outcomes)
	p.countCalls(sess)
	settings, err := p.Store.SyncSettings(ctx, ws)
	if err != nil {
		return err
	}
	return p.Store.InTx(ctx, func(tx *store.Tx) error {
		owned, err := b.Own(ctx, tx)
		if err != nil || len(owned) == 0 {
			return err
		}
		mine := slices.DeleteFunc(outcomes, func(o model.SyncOutcome) bool { return !slices.Contains(owned, o.LeadID) })
		_, err = tx.FinishPush(ctx, ws, "push", settings.Object, mine, sess.Calls(), msg, retry)
		return err
	})
}

// overBudget: the last usage Salesforce reported is Peregrine's share of the allowance or
// more. A figure older than an hour is not trusted — no call was made since, so it cannot
// have dropped — and the next push makes calls that bring a fresh one.
func overBudget(conn model.SalesforceConnection, now time.Time) bool {
	if conn.APIUsed == nil || conn.APIMax == nil || *conn.APIMax <= 0 || conn.APIUsageAt == nil || now.Sub(*conn.APIUsageAt) > time.Hour {
		return false
	}
	return *conn.APIUsed*100 >= *conn.APIMax*conn.APISharePercent
}

func (p *Pusher) countCalls(sess *salesforce.Session) {
	if p.CallsMade != nil && sess != nil {
		p.CallsMade(sess.Calls())
	}
}

// isSalesforceError tells Salesforce's answers and network trouble (retried later) from
// Peregrine's own failures.
func isSalesforceError(err error) bool {
	var api *salesforce.APIError
	var oauth *salesforce.OAuthError
	var network *salesforce.NetworkError
	return errors.As(err, &api) || errors.As(err, &oauth) || errors.As(err, &network)
}

// logRecordFailures logs each record Salesforce refused, once: a refused record is not sent
// again until its data changes.
func (p *Pusher) logRecordFailures(ws int64, outcomes []model.SyncOutcome) {
	for _, o := range outcomes {
		if o.Outcome == model.SyncFailed {
			p.log().Warn("Salesforce refused a record", "workspace", ws, "lead", o.LeadID, "cause", o.Message)
		}
	}
}

func (p *Pusher) describe(ctx context.Context, ws int64, sess *salesforce.Session, object string) (salesforce.Describe, error) {
	key := fmt.Sprint(ws, "/", object)
	p.mu.Lock()
	c, ok := p.describes[key]
	p.mu.Unlock()
	if ok && time.Since(c.at) < 10*time.Minute {
		return c.d, nil
	}
	d, err := sess.DescribeObject(ctx, object)
	if err != nil {
		return d, err
	}
	p.mu.Lock()
	if p.describes == nil {
		p.describes = map[string]cachedDescribe{}
	}
	p.describes[key] = cachedDescribe{d, time.Now()}
	p.mu.Unlock()
	return d, nil
}

// ForgetDescribe drops cached metadata (after "Check mapping" or a settings change).
func (p *Pusher) ForgetDescribe(ws int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.describes {
		if strings.HasPrefix(k, fmt.Sprint(ws, "/")) {
			delete(p.describes, k)
		}
	}
}

// fillRequired gives a new Lead or Contact the fields Salesforce requires, from what is known
// or else the placeholder.
func fillRequired(r map[string]any, l model.PushLead, st model.SyncSettings, fields map[string]salesforce.Field) {
	last := l.LastName
	if last == "" {
		last = strings.TrimSpace(l.FirstName)
	}
	if last == "" {
		last = st.Placeholder
	}
	if _, ok := r["LastName"]; !ok {
		r["LastName"] = last
	}
	if st.Object == "Lead" {
		company := l.Company
		if company == "" && l.AccountDomain != nil {
			company = *l.AccountDomain
		}
		if company == "" {
			company = st.Placeholder
		}
		if _, ok := r["Company"]; !ok {
			r["Company"] = company
		}
	}
}

// addReasons fills each lead's top reasons: its three biggest rules by points.
func (p *Pusher) addReasons(ctx context.Context, ws int64, leads []model.PushLead) error {
	ids := make([]int64, len(leads))
	for i, l := range leads {
		ids[i] = l.ID
	}
	states, err := p.Store.ScoringStates(ctx, ws, ids)
	if err != nil {
		return err
	}
	names, err := p.Store.RuleNames(ctx, ws)
	if err != nil {
		return err
	}
	for i := range leads {
		st, err := scoring.DecodeState(leads[i].ID, states[leads[i].ID])
		if err != nil {
			continue
		}
		byRule := map[int64]float64{}
		for _, c := range st.Contributions {
			byRule[c.RuleID] += c.Points
		}
		type r struct {
			name string
			pts  float64
		}
		var rs []r
		for id, pts := range byRule {
			rs = append(rs, r{names[id], pts})
		}
		sort.Slice(rs, func(a, b int) bool {
			if rs[a].pts != rs[b].pts {
				return rs[a].pts > rs[b].pts
			}
			return rs[a].name < rs[b].name
		})
		var parts []string
		for _, x := range rs[:min(3, len(rs))] {
			parts = append(parts, fmt.Sprintf("%s %+g", x.name, x.pts))
		}
		leads[i].Reasons = strings.Join(parts, " · ")
	}
	return nil
}

// Job kinds of the Salesforce sync (see web/workers.go).
const (
	JobReconcile = "salesforce-reconcile"
	JobPull      = "salesforce-pull"
)

// SweepReconcile queues a reconciliation for every connected workspace whose periodic one is
// due (every 2 hours by default).
func (p *Pusher) SweepReconcile(ctx context.Context, _ store.Job) (time.Time, error) {
	ids, err := p.Store.WorkspacesToReconcile(ctx)
	if err != nil {
		return time.Time{}, err
	}
	for _, ws := range ids {
		if err := p.Store.EnqueueJob(ctx, nil, ws, JobReconcile, "", time.Now()); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, nil
}

// Reconcile queues every lead of the workspace: whatever a missed change or a Salesforce-side
// edit left behind is pushed again; unchanged values cost nothing, as their hash matches.
func (p *Pusher) Reconcile(ctx context.Context, job store.Job) (time.Time, error) {
	_, err := p.Store.EnqueueAllForSalesforce(ctx, job.WorkspaceID, true)
	return time.Time{}, err
}

// readMaps are the mapped profile fields Salesforce may write into Peregrine.
func readMaps(maps []model.FieldMap, fields map[string]salesforce.Field) []model.FieldMap {
	var out []model.FieldMap
	for _, m := range maps {
		if m.Direction == model.ToSalesforce || !profileKey[m.PeregrineField] {
			continue
		}
		if _, ok := fields[strings.ToLower(m.SalesforceField)]; ok {
			out = append(out, m)
		}
	}
	return out
}

var profileKey = map[string]bool{"first_name": true, "last_name": true, "company": true, "title": true, "country": true}

func profileValue(l model.PushLead, key string) string {
	switch key {
	case "first_name":
		return l.FirstName
	case "last_name":
		return l.LastName
	case "company":
		return l.Company
	case "title":
		return l.Title
	case "country":
		return l.Country
	}
	return ""
}

func setProfile(l *model.PushLead, changes map[string]string) {
	for k, v := range changes {
		switch k {
		case "first_name":
			l.FirstName = v
		case "last_name":
			l.LastName = v
		case "company":
			l.Company = v
		case "title":
			l.Title = v
		case "country":
			l.Country = v
		}
	}
}

// applyReads decides, per mapped profile field, which side's value holds: "from Salesforce"
// takes Salesforce's value when it has one; "both" takes the most recent change (Salesforce's
// LastModifiedDate against the lead's last profile change). It returns the lead fields to
// change, the Salesforce fields to leave alone, and what to say in the sync log.
func applyReads(l model.PushLead, rec map[string]any, reads []model.FieldMap, fields map[string]salesforce.Field) (map[string]string, map[string]bool, []string) {
	changes, keep := map[string]string{}, map[string]bool{}
	var said []string
	modified := parseTime(rec["LastModifiedDate"])
	for _, m := range reads {
		name := fields[strings.ToLower(m.SalesforceField)].Name
		sfValue, _ := rec[name].(string)
		sfValue = strings.TrimSpace(sfValue)
		ours := profileValue(l, m.PeregrineField)
		if sfValue == "" || sfValue == ours {
			continue
		}
		switch {
		case m.Direction == model.FromSalesforce:
			changes[m.PeregrineField] = sfValue
		case ours == "" || modified.After(l.UpdatedAt):
			changes[m.PeregrineField] = sfValue
			keep[name] = true
			if ours != "" {
				said = append(said, fmt.Sprintf("%s: Salesforce's value %q won (changed after Peregrine's %q).", name, sfValue, ours))
			}
		default:
			said = append(said, fmt.Sprintf("%s: Peregrine's value %q won (changed after Salesforce's %q).", name, ours, sfValue))
		}
	}
	return changes, keep, said
}
