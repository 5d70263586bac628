package scoring

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/alerts"
	"github.com/peregrine-scoring/peregrine/domain/milestones"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"
)

// Service scores leads against their workspace's rules, in whichever worker needs it.
type Service struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// ChunkSize is how many leads one re-scoring or refresh transaction handles.
	ChunkSize int
	// RescoreParts is how many chunks a re-scoring run scores at once, each in its own
	// transaction (2: one per core of this machine kind).
	RescoreParts int

	// Alerts, when set, hears what new activity changed (alerts.Service), inside the scoring
	// transaction: an alert exists exactly when its scoring does.
	Alerts AlertHook
	// Milestones, when set, records milestone crossings and keeps attribution credits
	// current (milestones.Service), inside the scoring transaction.
	Milestones MilestoneHook

	mu    sync.Mutex
	cache map[int64]*RuleSet
	// activitiesRead counts the activities scoring read, new ones included.
	activitiesRead atomic.Int64
	ingestBehind   atomic.Bool // the last IngestCaughtUp found a processing backlog
}

// AlertHook is what scoring tells alerts.
type AlertHook interface {
	Detect(ctx context.Context, tx *store.Tx, workspaceID int64, scores map[string]int64, changes []alerts.Change, accounts []alerts.AccountChange) error
}

// MilestoneHook is what scoring tells milestones.
type MilestoneHook interface {
	Record(ctx context.Context, tx *store.Tx, workspaceID int64, passes []milestones.Pass) error
}

// ActivitiesRead is how many activities scoring has read so far: appending new activities
// to a lead's state reads those and the few older ones a rule can still look at.
func (s *Service) ActivitiesRead() int64 { return s.activitiesRead.Load() }

// NewService returns a service with defaults.
func NewService(st *store.Store, log *slog.Logger) *Service {
	return &Service{Store: st, Log: log, Now: time.Now, ChunkSize: 500, RescoreParts: 2}
}

// RuleSet returns the workspace's compiled rules, cached until they change.
func (s *Service) RuleSet(ctx context.Context, workspaceID int64) (*RuleSet, error) {
	return s.ruleSet(ctx, s.Store, workspaceID)
}

// ruleSource is where rules are read from: the pool, or the transaction scoring holds (so a
// scorer never waits for a second connection while holding one).
type ruleSource interface {
	RulesVersion(ctx context.Context, workspaceID int64) (int64, error)
	RuleSource(ctx context.Context, workspaceID int64) (store.RuleSource, error)
}

func (s *Service) ruleSet(ctx context.Context, from ruleSource, workspaceID int64) (*RuleSet, error) {
	version, err := from.RulesVersion(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return s.ruleSetAt(ctx, from, workspaceID, version)
}

// ruleSetAt returns the rule set at a version known to be the workspace's current one: from
// the cache, compiled only when the rules changed.
func (s *Service) ruleSetAt(ctx context.Context, from ruleSource, workspaceID, version int64) (*RuleSet, error) {
	s.mu.Lock()
	cached := s.cache[workspaceID]
	s.mu.Unlock()
	if cached != nil && cached.Version == version {
		return cached, nil
	}
	src, err := from.RuleSource(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	rs, problems := Build(src.Version, src.Rules, src.Scores, src.GradeScale)
	for _, p := range problems {
		s.Log.Warn("rule skipped", "workspace", workspaceID, "error", p)
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[int64]*RuleSet{}
	}
	s.cache[workspaceID] = rs
	s.mu.Unlock()
	return rs, nil
}

// ScoreLeads scores leads of a workspace from scratch inside tx and stores what changed: the
// step shared by re-scoring (rule change) and refresh (time passing).
func (s *Service) ScoreLeads(ctx context.Context, tx *store.Tx, workspaceID int64, leadIDs []int64) error {
	return s.score(ctx, tx, workspaceID, leadIDs, nil, true)
}

// ScoreNew scores the leads of activities not scored yet (the scoring workers' step, from the
// queue): a lead whose stored state is current has only the new activities scored.
func (s *Service) ScoreNew(ctx context.Context, tx *store.Tx, workspaceID int64, activities []model.ActivityRow) error {
	newOf := map[int64][]int64{}
	var leadIDs []int64
	for _, a := range activities {
		if newOf[a.LeadID] == nil {
			leadIDs = append(leadIDs, a.LeadID)
		}
		newOf[a.LeadID] = append(newOf[a.LeadID], a.InboundEventID)
	}
	sort.Slice(leadIDs, func(i, j int) bool { return leadIDs[i] < leadIDs[j] })
	return s.score(ctx, tx, workspaceID, leadIDs, newOf, true)
}

// score scores leads and stores what changed; rollup also rolls up their accounts (a full
// re-score rolls up every account once, at its end, instead).
func (s *Service) score(ctx context.Context, tx *store.Tx, workspaceID int64, leadIDs []int64, newOf map[int64][]int64, rollup bool) error {
	if len(leadIDs) == 0 {
		return nil
	}
	settings, err := tx.ScoringSettings(ctx, workspaceID)
	if err != nil {
		return err
	}
	rs, err := s.ruleSetAt(ctx, tx, workspaceID, settings.RulesVersion)
	if err != nil {
		return err
	}
	now := s.Now()
	heat := HeatScale{Hot: settings.Hot, Warm: settings.Warm, Neutral: settings.Neutral}
	if settings.HeatComputed == nil { // a new workspace: place its first leads against each other
		if heat.Hot, heat.Warm, heat.Neutral, err = tx.ComputeHeatScale(ctx, workspaceID); err != nil {
			return err
		}
	}
	leads, err := tx.LockScoringLeads(ctx, workspaceID, leadIDs)
	if err != nil {
		return err
	}
	states, outcomes, news, read, err := scoreInGroups(ctx, tx, workspaceID, rs, leads, newOf, settings.Unsettled, heat, now)
	s.activitiesRead.Add(int64(read))
	if err != nil {
		return err
	}
	w, deltas, accounts := passWrites(rs, states, outcomes)
	if err := tx.SaveScoring(ctx, workspaceID, w); err != nil {
		return err
	}
	if err := s.afterSave(ctx, tx, workspaceID, settings, rs, states, outcomes, news, newOf != nil, rollup, accounts, now); err != nil {
		return err
	}
	// Last, so that the rules' rows stay locked only until the commit (see CountRuleMatches).
	return tx.CountRuleMatches(ctx, workspaceID, deltas)
}

// passWrites gathers what a batch's outcomes change: the rows to write, the rules' match
// counts moved, and the accounts whose people changed.
func passWrites(rs *RuleSet, states []LeadState, outcomes []Outcome) (model.ScoringWrite, []store.RuleMatchDelta, map[int64]bool) {
	w := model.ScoringWrite{MainScoreID: rs.MainScoreID}
	lines := 0
	for _, o := range outcomes {
		lines += len(o.Ledger)
	}
	w.Ledger = make([]model.LedgerLine, 0, lines)
	matches := map[int64]*store.RuleMatchDelta{}
	match := func(id int64) *store.RuleMatchDelta {
		if matches[id] == nil {
			matches[id] = &store.RuleMatchDelta{RuleID: id}
		}
		return matches[id]
	}
	accounts := map[int64]bool{}
	for i, o := range outcomes {
		w.Ledger = append(w.Ledger, o.Ledger...)
		if o.LeadChanged || o.SummaryChanged {
			w.Leads = append(w.Leads, o.Scoring)
		}
		if o.ScoresChanged {
			w.Scores = append(w.Scores, model.LeadScoring{LeadID: o.Scoring.LeadID, Scores: changedScores(states[i].Lead.Scores, o.Scoring.Scores)})
		}
		if o.StateChanged {
			w.States = append(w.States, o.State)
		}
		for _, id := range o.Gained {
			match(id).Delta++
		}
		for _, id := range o.Lost {
			match(id).Delta--
		}
		for _, id := range o.Fired {
			match(id).Fired = true
		}
		if (o.ScoresChanged || o.LeadChanged || o.ProfileChanged) && states[i].Lead.AccountID != nil {
			accounts[*states[i].Lead.AccountID] = true
		}
	}
	deltas := make([]store.RuleMatchDelta, 0, len(matches))
	for _, m := range matches {
		if m.RuleID != 0 {
			deltas = append(deltas, *m)
		}
	}
	sort.Slice(deltas, func(i, j int) bool { return deltas[i].RuleID < deltas[j].RuleID })
	return w, deltas, accounts
}

// afterSave does what follows a batch's scores: Salesforce and Braze write-backs, milestones,
// the accounts' roll-up and, for new activities, alerts.
func (s *Service) afterSave(ctx context.Context, tx *store.Tx, workspaceID int64, settings store.ScoringSettings, rs *RuleSet,
	states []LeadState, outcomes []Outcome, news [][]rules.Event, incremental, rollup bool, accounts map[int64]bool, now time.Time) error {
	var changed []int64
	for _, o := range outcomes {
		if o.LeadChanged || o.ScoresChanged {
			changed = append(changed, o.Scoring.LeadID)
		}
	}
	if err := tx.EnqueueSalesforce(ctx, workspaceID, changed); err != nil {
		return err
	}
	if err := tx.EnqueueBrazeWriteback(ctx, workspaceID, changed); err != nil {
		return err
	}
	if s.Milestones != nil && settings.Milestones {
		if err := s.Milestones.Record(ctx, tx, workspaceID, milestonePasses(states, outcomes, news, incremental, now)); err != nil {
			return err
		}
	}
	// Only new activity alerts: a re-score after a rule edit tells nobody.
	alerting := incremental && s.Alerts != nil && settings.AlertRules
	var before map[int64]store.AccountSnapshot
	var err error
	if alerting && settings.AccountAlertRules && rollup && len(accounts) > 0 {
		if before, err = tx.AccountSnapshots(ctx, workspaceID, keys(accounts)); err != nil {
			return err
		}
	}
	if rollup && len(accounts) > 0 {
		if err := s.rollupChanges(ctx, tx, workspaceID, rs, states, outcomes, now); err != nil {
			return err
		}
	}
	if !alerting {
		return nil
	}
	var accountChanges []alerts.AccountChange
	if before != nil {
		after, err := tx.AccountSnapshots(ctx, workspaceID, keys(accounts))
		if err != nil {
			return err
		}
		for id, a := range after {
			b := before[id]
			accountChanges = append(accountChanges, alerts.AccountChange{AccountID: id, Name: a.Name, LabelsBefore: b.Labels, LabelsAfter: a.Labels,
				ScoresBefore: b.Scores, ScoresAfter: a.Scores, Engaged: a.Engaged})
		}
		sort.Slice(accountChanges, func(i, j int) bool { return accountChanges[i].AccountID < accountChanges[j].AccountID })
	}
	return s.Alerts.Detect(ctx, tx, workspaceID, rs.scoreIDs, alertChanges(states, outcomes, news), accountChanges)
}

// changedScores are the named scores that differ between stored and next: the new value, or
// 0 for a score the lead no longer has. Only those rows are written.
func changedScores(stored, next map[int64]float64) map[int64]float64 {
	out := map[int64]float64{}
	for id, v := range next {
		if v != 0 && stored[id] != v {
			out[id] = v
		}
	}
	for id := range stored {
		if next[id] == 0 {
			out[id] = 0
		}
	}
	return out
}

// milestonePasses are what milestones see of a scoring: per lead, the ledger lines written,
// the grade before and after, and the times of its new activities.
func milestonePasses(states []LeadState, outcomes []Outcome, news [][]rules.Event, incremental bool, now time.Time) []milestones.Pass {
	out := make([]milestones.Pass, 0, len(states))
	for i, st := range states {
		o := outcomes[i]
		p := milestones.Pass{LeadID: st.Lead.ID, AccountID: st.Lead.AccountID, Ledger: o.Ledger,
			GradeBefore: st.Lead.Grade, GradeAfter: o.Scoring.Grade, Latest: now}
		if incremental && len(news[i]) > 0 {
			oldest, latest := news[i][0].Time, news[i][0].Time
			for _, e := range news[i][1:] {
				oldest, latest = minTime(oldest, e.Time), maxTime(latest, e.Time)
			}
			p.NewSince, p.Latest = &oldest, latest
		}
		if len(p.Ledger) > 0 || p.GradeBefore != p.GradeAfter || p.NewSince != nil {
			out = append(out, p)
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// alertChanges are what alert rules see of a scoring: per lead, before and after, and the
// new activities.
func alertChanges(states []LeadState, outcomes []Outcome, news [][]rules.Event) []alerts.Change {
	out := make([]alerts.Change, 0, len(states))
	for i, st := range states {
		o, l := outcomes[i], st.Lead
		had := map[string]bool{}
		for _, name := range l.Labels {
			had[name] = true
		}
		var gained []string
		for _, name := range o.Scoring.Labels {
			if !had[name] {
				gained = append(gained, name)
			}
		}
		profile, account := Profile(l)
		name := strings.TrimSpace(l.FirstName + " " + l.LastName)
		if name == "" {
			name = l.Email
		}
		out = append(out, alerts.Change{LeadID: l.ID, Name: name, OwnerEmail: strings.ToLower(l.OwnerEmail), Gained: gained,
			ScoresBefore: l.Scores, ScoresAfter: o.Scoring.Scores, MainScore: o.Scoring.MainScore,
			TemperatureBefore: l.Temperature, TemperatureAfter: o.Scoring.Temperature, GradeBefore: l.Grade, GradeAfter: o.Scoring.Grade,
			New: news[i], Profile: profile, Account: account})
	}
	return out
}

// ScoreQueued is the scoring queue's handler: it takes a claimed batch of one workspace's
// queued activities off the queue and scores them (several of a lead at once) in one
// transaction, so a crash leaves them queued.
func (s *Service) ScoreQueued(ctx context.Context, b *queue.Batch) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		taken, err := b.Take(ctx, tx)
		if err != nil || len(taken) == 0 {
			return err
		}
		queued, err := tx.QueuedActivities(ctx, b.Workspace, taken)
		if err != nil {
			return err
		}
		acts := make([]model.ActivityRow, len(queued))
		for i, q := range queued {
			acts[i] = model.ActivityRow{LeadID: q.LeadID, InboundEventID: q.ActivityID}
		}
		return s.ScoreNew(ctx, tx, b.Workspace, acts)
	})
}

// IngestCaughtUp is the scoring queue's readiness: scoring yields while stored events wait to
// be processed in large numbers (a burst larger than the machine takes in): identifying
// people and storing activities come first, scores follow as soon as the backlog is down.
func (s *Service) IngestCaughtUp(ctx context.Context) (bool, error) {
	behind, err := s.Store.IngestBehind(ctx, ingestBacklogLimit)
	if err == nil {
		s.ingestBehind.Store(behind)
	}
	return !behind, err
}

// IngestOverloaded tells whether, when scoring last asked (before each claim, or each second
// while it yields), events waited for processing in large numbers: the work runner then runs
// processing and scoring one batch at a time while events arrive.
func (s *Service) IngestOverloaded() bool { return s.ingestBehind.Load() }

// ingestBacklogLimit is the number of events waiting for processing above which scoring
// waits: about two seconds of processing on a small machine.
const ingestBacklogLimit = 10000

// historyBudget is about how many activities scoring holds in memory at once: a batch's
// leads are loaded and scored in groups of about this much history (a lead with more is a
// group of its own). A variable so tests can make groups small.
var historyBudget = 20000

// scoreInGroups loads and scores leads a group at a time, dropping each group's activities
// once scored, so memory follows historyBudget rather than the batch's whole history. The
// states returned keep their lead and stored contributions, not their events.
func scoreInGroups(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, leads []model.ScoringLead, newOf map[int64][]int64, unsettled int64, heat HeatScale, now time.Time) ([]LeadState, []Outcome, [][]rules.Event, int, error) {
	fresh := make(map[int64]bool)
	for _, ids := range newOf {
		for _, id := range ids {
			fresh[id] = true
		}
	}
	states := make([]LeadState, 0, len(leads))
	outcomes := make([]Outcome, 0, len(leads))
	news := make([][]rules.Event, 0, len(leads))
	read := 0
	for _, group := range historyGroups(leads, historyBudget) {
		loaded, n, err := loadStates(ctx, tx, workspaceID, rs, group, unsettled, newOf, now)
		read += n
		if err != nil {
			return nil, nil, nil, read, err
		}
		for i := range loaded {
			loaded[i].New = fresh
		}
		outcomes = append(outcomes, scoreAll(rs, loaded, heat, now)...)
		for i := range loaded {
			news = append(news, newEvents(loaded[i]))
			loaded[i].Events, loaded[i].Added, loaded[i].Matching = nil, nil, nil
		}
		states = append(states, loaded...)
	}
	return states, outcomes, news, read, nil
}

// newEvents are the activities a state was given as new (kept after its history is dropped,
// for alerts).
func newEvents(st LeadState) []rules.Event {
	var out []rules.Event
	for _, e := range st.Added {
		out = append(out, e.Event)
	}
	for _, e := range st.Events {
		if st.New[e.Key] {
			out = append(out, e.Event)
		}
	}
	return out
}

// noAppending tells loadStates to read every lead's whole history (previews compare rule
// sets, so they score from scratch).
const noAppending = -1

// historyGroups cuts leads, in order, into runs whose activity counts add up to at most
// budget; a lead over budget alone makes a run.
func historyGroups(leads []model.ScoringLead, budget int) [][]model.ScoringLead {
	var groups [][]model.ScoringLead
	for start := 0; start < len(leads); {
		end, history := start+1, leads[start].ActivityCount
		for end < len(leads) && history+leads[end].ActivityCount <= budget {
			history += leads[end].ActivityCount
			end++
		}
		groups = append(groups, leads[start:end])
		start = end
	}
	return groups
}

// scoreAll scores leads on every core: the database waits while Go computes, so the pass is
// as fast as the machine allows.
func scoreAll(rs *RuleSet, states []LeadState, heat HeatScale, now time.Time) []Outcome {
	out := make([]Outcome, len(states))
	onEveryCore(len(states), func(i int) { out[i] = rs.Score(states[i], heat, now) })
	return out
}

// onEveryCore calls do for 0…n-1, spread over the machine's cores when n is worth it (50 or
// more a core); do must only touch the i-th item of what it shares.
func onEveryCore(n int, do func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/50))
	if workers == 1 {
		for i := 0; i < n; i++ {
			do(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				do(i)
			}
		}()
	}
	wg.Wait()
}

// rollupChanges moves account scores by what their people's scores just changed: a "sum"
// roll-up adds the differences (one statement for the batch, no re-aggregation); accounts with
// a "highest", "top 3" or "decayed sum" score are recomputed. Account labels follow.
func (s *Service) rollupChanges(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, states []LeadState, outcomes []Outcome, now time.Time) error {
	rollupOf := map[int64]string{}
	for _, sc := range rs.Scores {
		rollupOf[sc.ID] = sc.Rollup
	}
	deltas := map[[2]int64]float64{}
	recompute, touched := map[int64]bool{}, map[int64]bool{}
	profiled := map[int64]bool{} // accounts whose fit may move
	// Accounts whose temperature may move, each with the hottest temperature one of its
	// people has now (its floor: the account is at least that hot).
	warmer := map[int64]string{}
	for i, o := range outcomes {
		acc := states[i].Lead.AccountID
		if acc == nil || (!o.ScoresChanged && !o.LeadChanged && !o.ProfileChanged) {
			continue
		}
		// A person's temperature or a refreshed company profile moves the account's
		// temperature and fit even when no score moved.
		touched[*acc] = true
		if o.ProfileChanged {
			profiled[*acc] = true
		}
		if t := o.Scoring.Temperature; t != states[i].Lead.Temperature {
			if floor, ok := warmer[*acc]; !ok || rules.Hotter(t, floor) {
				warmer[*acc] = t
			}
		}
		old := states[i].Lead.Scores
		for sid := range union(old, o.Scoring.Scores) {
			d := o.Scoring.Scores[sid] - old[sid]
			if d == 0 {
				continue
			}
			touched[*acc] = true
			if rollupOf[sid] == model.RollupSum {
				deltas[[2]int64{*acc, sid}] += d
			} else {
				recompute[*acc] = true
			}
		}
	}
	// Every account this batch may write, taken at once in id order before any write.
	if err := tx.LockAccounts(ctx, workspaceID, keys(touched)); err != nil {
		return err
	}
	var rows []store.AccountDelta
	for k, d := range deltas {
		if !recompute[k[0]] {
			rows = append(rows, store.AccountDelta{AccountID: k[0], ScoreID: k[1], Delta: d})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].AccountID != rows[j].AccountID {
			return rows[i].AccountID < rows[j].AccountID
		}
		return rows[i].ScoreID < rows[j].ScoreID
	})
	if err := tx.AddAccountScores(ctx, workspaceID, rows, rs.MainScoreID); err != nil {
		return err
	}
	if len(recompute) > 0 {
		if err := tx.RollupAccounts(ctx, workspaceID, keys(recompute), rs.MainScoreID); err != nil {
			return err
		}
	}
	if len(touched) == 0 {
		return nil
	}
	warm, floors := withFloors(warmer)
	return s.labelAccounts(ctx, tx, workspaceID, rs, accountWork{labels: keys(touched), fit: keys(profiled), temperature: warm, floors: floors}, now)
}

func union(a, b map[int64]float64) map[int64]bool {
	out := make(map[int64]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// rollup recomputes account scores and account labels.
// Nil accountIDs rolls up every account.
func (s *Service) rollup(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, accountIDs []int64, now time.Time) error {
	if accountIDs != nil && len(accountIDs) == 0 {
		return nil
	}
	if err := tx.RollupAccounts(ctx, workspaceID, accountIDs, rs.MainScoreID); err != nil {
		return err
	}
	return s.labelAccounts(ctx, tx, workspaceID, rs, accountWork{labels: accountIDs, fit: accountIDs, temperature: accountIDs}, now)
}

// accountWork says which accounts need what after scoring (nil: every account): labels
// after their scores moved, fit after a profile changed, temperature after a person's did
// (floors, when known: the temperature each of those accounts has at least).
type accountWork struct {
	labels, fit, temperature []int64
	floors                   []string
}

// withFloors lists the accounts of a floor map in id order, with their floors alongside.
func withFloors(m map[int64]string) (ids []int64, floors []string) {
	ids = keys(m)
	floors = make([]string, len(ids))
	for i, id := range ids {
		floors[i] = m[id]
	}
	return ids, floors
}

// labelAccounts re-evaluates account label rules, the accounts' fit and their temperature.
// Incremental scoring touches only what moved: most batches change scores and nothing else.
func (s *Service) labelAccounts(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, w accountWork, now time.Time) error {
	if len(rs.AccountLabels) == 0 && w.labels == nil {
		if err := tx.ClearAccountLabels(ctx, workspaceID); err != nil {
			return err
		}
	}
	read := w.fit
	if len(rs.AccountLabels) > 0 {
		read = w.labels
	}
	if read != nil && len(read) == 0 { // nothing to read (fit accounts are among the labelled ones)
		return tx.SetAccountTemperatures(ctx, workspaceID, w.temperature, w.floors)
	}
	accounts, err := tx.AccountsForLabels(ctx, workspaceID, read)
	if err != nil {
		return err
	}
	labels, fits := map[int64][]string{}, map[int64]store.AccountFit{}
	fitOf := map[int64]bool{}
	for _, id := range w.fit {
		fitOf[id] = true
	}
	for _, a := range accounts {
		if len(rs.AccountLabels) > 0 {
			if l := AccountLabels(rs, a, now); fmt.Sprint(l) != fmt.Sprint([]string(a.Labels)) {
				labels[a.ID] = l
			}
		}
		if w.fit != nil && !fitOf[a.ID] {
			continue
		}
		if points, grade := AccountFit(rs, a, now); points != a.FitPoints || grade != a.Grade {
			fits[a.ID] = store.AccountFit{Points: points, Grade: grade}
		}
	}
	if err := tx.SetAccountLabels(ctx, workspaceID, labels); err != nil {
		return err
	}
	if err := tx.SetAccountFits(ctx, workspaceID, fits); err != nil {
		return err
	}
	return tx.SetAccountTemperatures(ctx, workspaceID, w.temperature, w.floors)
}

// ruleAccount is the rule engine's view of an account with its rolled-up scores.
func ruleAccount(rs *RuleSet, a store.ScoringAccount) *rules.Account {
	acc := &rules.Account{Domain: a.Domain, Name: a.Name, Industry: a.Industry, Scores: map[string]float64{}}
	if a.Employees != nil {
		v := float64(*a.Employees)
		acc.Employees = &v
	}
	for id, v := range a.Scores {
		acc.Scores[rs.ScoreName(id)] = v
	}
	return acc
}

// AccountLabels evaluates account label rules against an account and its rolled-up scores.
func AccountLabels(rs *RuleSet, a store.ScoringAccount, now time.Time) []string {
	acc := ruleAccount(rs, a)
	var out []string
	for _, l := range rs.AccountLabels {
		if l.When.Match(&rules.Subject{Now: now, Account: acc}) {
			out = append(out, l.Name)
		}
	}
	return dedupe(out)
}

// AccountFit is the company's own fit: the grade rules applied to the account alone, as to a
// person of whom nothing is known but the company.
func AccountFit(rs *RuleSet, a store.ScoringAccount, now time.Time) (float64, string) {
	points, grade, _ := rules.Fit(rs.Grades, rules.Profile{}, ruleAccount(rs, a), rs.Scale, now)
	return points, grade
}

// classify decides how each lead is scored (see LeadState): by appending its new activities
// to its state, by revising the state after a rule change, or from scratch (full). A lead's
// activities still in the scoring queue that this pass did not take (pending: a later pass
// appends them) do not keep it from appending; every read leaves them out, so the state
// covers what it says it covers.
func classify(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, leads []model.ScoringLead, unsettled int64, newOf map[int64][]int64, now time.Time) (states []LeadState, full, added, pending []int64, err error) {
	states = make([]LeadState, len(leads))
	stored := make([]storedState, len(leads))
	var short []int64
	// Decoding is most of this step's CPU, and the database waits for it.
	onEveryCore(len(leads), func(i int) {
		var err error
		if stored[i], err = rs.decodeState(leads[i].State, addedRoom*len(newOf[leads[i].ID])); err != nil {
			stored[i] = storedState{} // unreadable: score from scratch
		}
	})
	for i, l := range leads {
		states[i].Lead = l
		states[i].Current, states[i].Rules, states[i].Counted, states[i].Memory = stored[i].Contributions, stored[i].Rules, stored[i].Events, stored[i].Memory
		if unsettled != noAppending && stored[i].Events+len(newOf[l.ID]) < l.ActivityCount {
			short = append(short, l.ID)
		}
	}
	queued := map[int64][]int64{}
	if len(short) > 0 {
		if queued, err = tx.QueuedForScoring(ctx, workspaceID, short); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	for i, l := range leads {
		pending = append(pending, queued[l.ID]...)
		switch {
		case unsettled == noAppending:
			full = append(full, l.ID)
		case rs.canAppend(l, stored[i], len(newOf[l.ID])+len(queued[l.ID]), unsettled):
			states[i].Append = true
			added = append(added, newOf[l.ID]...)
		case len(newOf[l.ID])+len(queued[l.ID]) == 0 && rs.canRevise(l, stored[i]):
			states[i].Append, states[i].Revise = true, true
			states[i].Settled = l.RefreshAt == nil || l.RefreshAt.After(now)
		default:
			full = append(full, l.ID)
		}
	}
	return states, full, added, pending, nil
}

// loadStates reads what scoring needs of the leads: their states, and their activities —
// every one, or, unless unsettled is noAppending (else: the oldest rules version whose
// re-scoring has not finished, 0 for none), for a lead whose new activities (newOf: lead →
// activity ids; none when only time passed) can be appended to its state, only those and
// the older ones its rules can still look at. It returns the number of activities read.
func loadStates(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, leads []model.ScoringLead, unsettled int64, newOf map[int64][]int64, now time.Time) ([]LeadState, int, error) {
	states, full, added, pending, err := classify(ctx, tx, workspaceID, rs, leads, unsettled, newOf, now)
	if err != nil {
		return nil, 0, err
	}
	at := make(map[int64]int, len(leads))
	for i, l := range leads {
		at[l.ID] = i
	}
	keys, withProps := rs.PropertyKeys(), rs.NeedsProperties()
	read := 0
	lower := rules.Lowercase{} // the chunk's names and types repeat from lead to lead
	collect := func(into func(*LeadState) *[]rules.Stamped) func(a *store.ScoringActivity) error {
		return func(a *store.ScoringActivity) error {
			read++
			if i, ok := at[a.LeadID]; ok {
				e := rules.Stamped{Key: a.ID, Event: EventOf(*a, keys)}
				e.PrepareWith(lower)
				list := into(&states[i])
				*list = append(*list, e)
			}
			return nil
		}
	}
	if err := readMatching(ctx, tx, workspaceID, rs, states, withProps, collect(func(st *LeadState) *[]rules.Stamped { return &st.Matching })); err != nil {
		return nil, read, err
	}
	if len(added) > 0 {
		if err := tx.EachActivityForScoringByID(ctx, workspaceID, added, withProps,
			collect(func(st *LeadState) *[]rules.Stamped { return &st.Added })); err != nil {
			return nil, read, err
		}
	}
	late, err := readOlder(ctx, tx, workspaceID, rs, states, at, newOf, slices.Concat(added, pending), withProps, collect, now)
	if err != nil {
		return nil, read, err
	}
	full = append(full, late...)
	if len(full) > 0 {
		for i := range states {
			if st := &states[i]; !st.Append && st.Events == nil {
				st.Events = make([]rules.Stamped, 0, st.Lead.ActivityCount) // read at once, not grown
			}
		}
		slices.Sort(full)
		err := tx.EachActivityForScoring(ctx, workspaceID, full, pending, withProps,
			collect(func(st *LeadState) *[]rules.Stamped { return &st.Events }))
		return states, read, err
	}
	return states, read, nil
}

// readOlder reads, for the leads scored by appending, the older activities their rules can
// still look at (see RuleSet.historyRead), leaving out those in except (new, or still
// queued); at finds a lead's state by its id. It returns the leads that cannot append after
// all (an activity arrived late, or the read and the memory disagree): they are scored over
// their whole history.
func readOlder(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, states []LeadState, at map[int64]int, newOf map[int64][]int64, except []int64,
	withProps bool, collect func(func(*LeadState) *[]rules.Stamped) func(*store.ScoringActivity) error, now time.Time) ([]int64, error) {
	var full []int64
	every := store.RecentScoringActivities{Except: except}
	// Leads whose memory has its marks read through the filters of the rules the marks do not
	// cover (byMarks[true]), the others through every rule's.
	type filteredRead struct {
		leads          store.RecentScoringActivities
		counts, labels store.RecentPart
	}
	byMarks := map[bool]*filteredRead{}
	for marked, f := range map[bool]readFilters{false: rs.history.all, true: rs.history.marked} {
		byMarks[marked] = &filteredRead{leads: store.RecentScoringActivities{Except: except},
			counts: store.RecentPart{Filter: f.counts}, labels: store.RecentPart{Filter: f.labels}}
	}
	timesSince := map[int64]time.Time{}
	for i := range states {
		st := &states[i]
		if !st.Append {
			continue
		}
		if len(st.Added) != len(newOf[st.Lead.ID]) || len(st.Added) > 0 && !st.Memory.AfterLast(st.Added[0]) {
			// An activity arrived late (or moved): score the lead over its whole history.
			st.Append, st.Added = false, nil
			full = append(full, st.Lead.ID)
			continue
		}
		if st.Settled {
			continue
		}
		var oldest time.Time
		if len(st.Added) > 0 {
			oldest = st.Added[0].Time
		}
		r := rs.historyRead(oldest, now, st.Memory)
		st.Read = r
		switch {
		case r.since.IsZero():
		case r.timesOnly:
			fr := byMarks[r.marked]
			timesSince[st.Lead.ID] = r.since
			fr.leads.LeadIDs, fr.leads.Since = append(fr.leads.LeadIDs, st.Lead.ID), append(fr.leads.Since, r.since)
			fr.counts.Since, fr.labels.Since = append(fr.counts.Since, r.countSince), append(fr.labels.Since, r.labelSince)
		default:
			every.LeadIDs, every.Since = append(every.LeadIDs, st.Lead.ID), append(every.Since, r.since)
		}
	}
	reads := []store.RecentScoringActivities{every}
	for _, marked := range []bool{false, true} {
		fr := byMarks[marked]
		for _, part := range []store.RecentPart{fr.counts, fr.labels} {
			if len(part.Filter) > 0 { // an empty filter: that part needs times only
				fr.leads.Parts = append(fr.leads.Parts, part)
			}
		}
		if len(fr.leads.Parts) > 0 {
			reads = append(reads, fr.leads)
		}
	}
	for _, w := range reads {
		if len(w.LeadIDs) == 0 {
			continue
		}
		if err := tx.EachRecentActivityForScoring(ctx, workspaceID, w, withProps,
			collect(func(st *LeadState) *[]rules.Stamped { return &st.Events })); err != nil {
			return nil, err
		}
	}
	for id, since := range timesSince {
		st := &states[at[id]]
		var marks []uint64
		if st.Read.marked {
			marks = st.Memory.Marks
		}
		events, ok := withTimes(st.Events, st.Memory.Recent, marks, since)
		if !ok {
			st.Append, st.Added, st.Events = false, nil, nil
			full = append(full, id)
			continue
		}
		st.Events = events
	}
	return full, nil
}

// readMatching reads, for the leads being revised, the activities the rules changed since
// their states can match: one query per set of changed rules (usually one for the batch).
func readMatching(ctx context.Context, tx *store.Tx, workspaceID int64, rs *RuleSet, states []LeadState, withProps bool, collect func(*store.ScoringActivity) error) error {
	type group struct {
		filter rules.ActivityFilter
		leads  []int64
	}
	groups := map[string]*group{}
	var order []string
	for i := range states {
		st := &states[i]
		if !st.Revise {
			continue
		}
		filter := rs.revisedFilter(st.Rules, st.Current)
		if len(filter) == 0 {
			continue // no rule changed (one was removed, or time passed): nothing to read
		}
		key := fmt.Sprint(filter)
		if groups[key] == nil {
			groups[key] = &group{filter: filter}
			order = append(order, key)
		}
		groups[key].leads = append(groups[key].leads, st.Lead.ID)
	}
	for _, key := range order {
		g := groups[key]
		if err := tx.EachMatchingActivityForScoring(ctx, workspaceID, g.leads, g.filter, withProps, collect); err != nil {
			return err
		}
	}
	return nil
}

// EventOf turns a stored activity into the engine's event, with the property keys the rules
// read (top level, or inside custom_properties / purchase_properties): decoding whole property
// documents for thousands of activities cost more memory than scoring them. The activity's
// campaign, canvas and URL columns are offered as properties too, so a rule on campaign_name
// works whichever way Braze sent it.
func EventOf(a store.ScoringActivity, keys []string) rules.Event {
	e := rules.Event{Name: a.Name, Type: a.EventType, Source: a.Source, Time: time.UnixMicro(a.OccurredAt).UTC()}
	if len(keys) == 0 {
		return e
	}
	set := func(holder, key string, v any) {
		if e.Properties == nil {
			e.Properties = map[string]any{}
		}
		if holder == "" {
			e.Properties[key] = v
			return
		}
		m, _ := e.Properties[holder].(map[string]any)
		if m == nil {
			m = map[string]any{}
			e.Properties[holder] = m
		}
		m[key] = v
	}
	if len(a.Properties) > 2 {
		for _, k := range keys {
			path := escapePath(k)
			for _, holder := range []string{"", "custom_properties", "purchase_properties"} {
				p := path
				if holder != "" {
					p = holder + "." + path
				}
				if r := gjson.GetBytes(a.Properties, p); r.Exists() {
					set(holder, k, r.Value())
				}
			}
		}
	}
	columns := [...]struct{ key, value string }{{"campaign_name", a.CampaignName}, {"campaign_id", a.CampaignID},
		{"canvas_name", a.CanvasName}, {"canvas_id", a.CanvasID}, {"url", a.URL}}
	for _, c := range columns {
		if c.value == "" {
			continue
		}
		if _, ok := e.Properties[c.key]; !ok {
			set("", c.key, c.value)
		}
	}
	return e
}

// pathEscaper escapes gjson's path syntax in a property key (built once: building a
// Replacer per key and activity was most of a re-score's garbage).
var pathEscaper = strings.NewReplacer(`\`, `\\`, ".", `\.`, "*", `\*`, "?", `\?`, "|", `\|`, "#", `\#`, "@", `\@`)

func escapePath(k string) string { return pathEscaper.Replace(k) }

// Job kinds of scoring (see web/workers.go).
const (
	JobRescore = store.JobRescore
	JobRefresh = store.JobRefresh
	JobReheat  = "reheat"
)

// Rescore is the re-scoring job. Each run takes the next RescoreParts chunks of leads in id
// order and scores them at once, each chunk in its own transaction (so both cores of the
// database work), then records the progress. Re-scoring is idempotent — a lead scored again
// with nothing new changes nothing — so a crash between the chunks and the progress only
// scores them again; that is also why the chunks commit without waiting for their WAL to
// reach the disk (the progress's ordinary commit flushes it, and a crash that lost a chunk
// lost the progress after it). After the last chunk, account roll-ups and labels (which may change with
// the rules even where no lead's score did) and temperatures are placed anew, each in its
// own transaction.
func (s *Service) Rescore(ctx context.Context, job store.Job) (time.Time, error) {
	id, err := strconv.ParseInt(job.Key, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("re-scoring job key %q: %w", job.Key, err)
	}
	ws := job.WorkspaceID
	parts := max(s.RescoreParts, 1)
	var ids []int64
	live := false
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		rj, err := tx.LockRescoreJob(ctx, ws, id)
		if err != nil || rj == nil || (rj.State != "queued" && rj.State != "running") {
			return err // superseded or done: nothing left to do
		}
		live = true
		ids, err = s.rescoreChunk(ctx, tx, rj, s.ChunkSize*parts)
		return err
	})
	if err != nil || !live {
		return time.Time{}, err
	}
	if len(ids) == 0 {
		return time.Time{}, s.finishRescore(ctx, ws, id)
	}
	g, gctx := errgroup.WithContext(ctx)
	for start := 0; start < len(ids); start += s.ChunkSize {
		chunk := ids[start:min(start+s.ChunkSize, len(ids))]
		g.Go(func() error {
			return s.Store.InTx(gctx, func(tx *store.Tx) error {
				if err := tx.CommitWithoutWaiting(gctx); err != nil {
					return err
				}
				return s.score(gctx, tx, ws, chunk, nil, false)
			})
		})
	}
	if err := g.Wait(); err != nil {
		return time.Time{}, err
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		rj, err := tx.LockRescoreJob(ctx, ws, id)
		if err != nil || rj == nil || (rj.State != "queued" && rj.State != "running") {
			return err
		}
		return tx.AdvanceRescoreJob(ctx, ws, id, ids[len(ids)-1], len(ids), false)
	})
	return time.Now(), err
}

// rescoreChunk is the next leads of a re-scoring job: every lead in id order, or for an edit
// of one score rule only those with an activity that its old or new version could match (the
// others cannot change: they keep their state, and their stored rule version catches up the
// next time they are scored).
func (s *Service) rescoreChunk(ctx context.Context, tx *store.Tx, rj *model.RescoreJob, size int) ([]int64, error) {
	if rj.LeadFilter == nil {
		return tx.LeadIDsAfter(ctx, rj.WorkspaceID, rj.AfterLeadID, size)
	}
	if rj.AfterLeadID == 0 && rj.Done == 0 {
		targeted, err := tx.CountTargetedRescore(ctx, rj.WorkspaceID, rj.ID, rj.LeadFilter)
		if err != nil || !targeted {
			if err == nil {
				return tx.LeadIDsAfter(ctx, rj.WorkspaceID, rj.AfterLeadID, size)
			}
			return nil, err
		}
	}
	return tx.LeadIDsMatchingAfter(ctx, rj.WorkspaceID, rj.LeadFilter, rj.AfterLeadID, size)
}

// finishRescore rolls up every account, places temperatures anew and marks the job done.
func (s *Service) finishRescore(ctx context.Context, ws, id int64) error {
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		rs, err := s.ruleSet(ctx, tx, ws)
		if err != nil {
			return err
		}
		return s.rollup(ctx, tx, ws, rs, nil, s.Now())
	})
	if err != nil {
		return err
	}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return s.reheat(ctx, tx, ws) }); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		rj, err := tx.LockRescoreJob(ctx, ws, id)
		if err != nil || rj == nil || (rj.State != "queued" && rj.State != "running") {
			return err
		}
		return tx.AdvanceRescoreJob(ctx, ws, id, rj.AfterLeadID, 0, true)
	})
}

// Refresh is the refresh job of a workspace: it re-scores leads whose stored values aged
// (points expired or decayed, a label's window closed, the temperature's boundaries passed),
// a chunk per transaction, and runs again at once while more are due.
func (s *Service) Refresh(ctx context.Context, job store.Job) (time.Time, error) {
	n, err := s.refresh(ctx, job.WorkspaceID)
	if err == nil && n == s.ChunkSize {
		return time.Now(), nil
	}
	return time.Time{}, err
}

// refresh re-scores a chunk of the workspace's due leads and says how many.
func (s *Service) refresh(ctx context.Context, ws int64) (int, error) {
	n := 0
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		ids, err := tx.ClaimDueLeads(ctx, ws, s.Now(), s.ChunkSize)
		if err != nil {
			return err
		}
		n = len(ids)
		return s.ScoreLeads(ctx, tx, ws, ids)
	})
	return n, err
}

// Reheat is the reheat job of a workspace: heat percentiles and temperatures placed anew.
func (s *Service) Reheat(ctx context.Context, job store.Job) (time.Time, error) {
	return time.Time{}, s.Store.InTx(ctx, func(tx *store.Tx) error { return s.reheat(ctx, tx, job.WorkspaceID) })
}

// SweepRefresh queues a refresh job for every workspace with leads whose values aged.
func (s *Service) SweepRefresh(ctx context.Context, _ store.Job) (time.Time, error) {
	ids, err := s.Store.WorkspacesToRefresh(ctx, s.Now())
	if err != nil {
		return time.Time{}, err
	}
	return time.Time{}, s.enqueue(ctx, ids, JobRefresh)
}

// SweepReheat queues a reheat job for workspaces with new activity, at most every minute
// each, so the bands follow data as it lands (sooner for a workspace filling up).
func (s *Service) SweepReheat(ctx context.Context, _ store.Job) (time.Time, error) {
	ids, err := s.Store.WorkspacesToReheat(ctx, time.Minute)
	if err != nil {
		return time.Time{}, err
	}
	return time.Time{}, s.enqueue(ctx, ids, JobReheat)
}

func (s *Service) enqueue(ctx context.Context, workspaces []int64, kind string) error {
	for _, ws := range workspaces {
		if err := s.Store.EnqueueJob(ctx, nil, ws, kind, "", time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// reheat recomputes the workspace's band floors and re-classifies every lead's temperature
// against them, then the accounts'.
func (s *Service) reheat(ctx context.Context, tx *store.Tx, workspaceID int64) error {
	hot, warm, neutral, err := tx.ComputeHeatScale(ctx, workspaceID)
	if err != nil {
		return err
	}
	dist := HeatScale{Hot: hot, Warm: warm, Neutral: neutral}
	now := s.Now()
	var after int64
	for {
		rows, err := tx.LeadTemperatures(ctx, workspaceID, after, 5000)
		if err != nil {
			return err
		}
		if len(rows) == 0 { // every lead placed: accounts take their hottest person's
			return tx.SetAccountTemperatures(ctx, workspaceID, nil, nil)
		}
		var ids []int64
		var temps []string
		for _, r := range rows {
			t := TemperatureOf(r.Heat, r.LastActivityAt, dist, now)
			if t != r.Temperature {
				ids, temps = append(ids, r.ID), append(temps, t)
			}
		}
		if err := tx.SetTemperatures(ctx, workspaceID, ids, temps); err != nil {
			return err
		}
		after = rows[len(rows)-1].ID
	}
}

// TemperatureOf classifies a lead from its stored heat and last activity.
func TemperatureOf(heat float64, last *time.Time, dist HeatScale, now time.Time) string {
	e := rules.Engagement{}
	if last != nil {
		e.Last = *last
	}
	if heat > 0 {
		e.Heat = math.Exp2(heat - units(now))
	}
	return rules.Temperature(e, dist.At(now), now)
}

// keys is never nil: RollupAccounts reads nil as "every account".
func keys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
