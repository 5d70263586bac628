package scoring

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/peregrine-scoring/peregrine/domain/milestones"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	db  *sql.DB
	ws  int64
	svc *Service
	now time.Time
	// The queues web/workers.go runs for scoring.
	runner     *queue.Runner
	scoring    *queue.Queue
	jobs       *queue.Queue
	milestones *milestones.Service
	// batches counts ingested batches; odd ones go through the scoring queue.
	batches int
}

func newEnv(t *testing.T) *env {
	e := openEnv(t, NewWorkspaceSeed())
	e.t = t
	e.svc.ChunkSize = 7 // several chunks per re-score
	return e
}

// openEnv gives a test or benchmark its own database with one workspace, and a scoring
// service whose clock is e.now.
func openEnv(tb testing.TB, seed ...model.WorkspaceSeed) *env {
	ctx := context.Background()
	st, db := pgtest.NewStoreAndDB(tb)
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "acme", Name: "Acme"},
		model.User{Email: "ada@acme.com", Name: "Ada", PasswordHash: "x"}, seed...)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{ctx: ctx, st: st, db: db, ws: ws.ID, now: time.Now().UTC().Truncate(time.Second)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.svc = NewService(st, log)
	e.svc.Now = func() time.Time { return e.now }
	e.runner = queue.NewRunner(st, log, nil)
	e.scoring = e.runner.Add(&queue.Queue{Table: store.ScoringWork, Handle: e.svc.ScoreQueued, Batch: 300})
	jobs := &queue.Jobs{Store: st}
	jobs.Register(JobRescore, e.svc.Rescore)
	jobs.Register(JobRefresh, e.svc.Refresh)
	jobs.Register(JobReheat, e.svc.Reheat)
	e.milestones = milestones.NewService(st, log)
	e.milestones.Now = func() time.Time { return e.now }
	e.milestones.BackfillLeads = 9 // several steps per back-fill
	e.svc.Milestones = e.milestones
	jobs.Register(store.JobMilestoneBackfill, e.milestones.Backfill)
	jobs.Register(store.JobAttributionRebuild, e.milestones.Rebuild)
	e.jobs = e.runner.Add(&queue.Queue{Table: store.JobWork, Handle: jobs.Handle, Timeout: 10 * time.Minute})
	return e
}

var eventKinds = []struct{ typ, name string }{
	{"users.messages.email.Open", "[Email campaign engagement] Opened email Spring launch"},
	{"users.messages.email.Click", "[Email campaign engagement] Clicked in email Spring launch on https://acme.example/pricing"},
	{"users.behaviors.CustomEvent", "[Custom Event tracked] pricing_page_viewed"},
	{"users.behaviors.CustomEvent", "[Custom Event tracked] demo_requested"},
	{"users.behaviors.CustomEvent", "[Custom Event tracked] webinar_registered"},
	{"users.messages.email.Bounce", "[Email campaign engagement] Email bounced"},
}

// ingest adds activities for leads and scores them the way the ingest worker does.
func (e *env) ingest(acts []model.ActivityRow) {
	e.t.Helper()
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		if err := tx.InsertActivities(e.ctx, e.ws, acts); err != nil {
			return err
		}
		e.batches++
		if e.batches%2 == 0 {
			return e.svc.ScoreNew(e.ctx, tx, e.ws, acts)
		}
		// Every other batch goes the way the pipeline goes: queued, then scored by a worker.
		return tx.EnqueueScoring(e.ctx, e.ws, acts)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.runner.Drain(e.ctx, e.scoring); err != nil {
		e.t.Fatal(err)
	}
	if n, _ := e.st.ScoringBacklog(e.ctx, e.ws); n != 0 {
		e.t.Fatalf("%d activities left unscored", n)
	}
}

func (e *env) leads(n int) []int64 {
	e.t.Helper()
	var seeds []store.LeadSeed
	domains := []string{"acme.example", "globex.example", "initech.example"}
	for i := 0; i < n; i++ {
		seeds = append(seeds, store.LeadSeed{Email: fmt.Sprintf("p%02d@%s", i, domains[i%3])})
	}
	var ids []int64
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		accounts, err := tx.UpsertAccounts(e.ctx, e.ws, domains)
		if err != nil {
			return err
		}
		for i := range seeds {
			seeds[i].AccountID = accounts[domains[i%3]]
		}
		byEmail, err := tx.UpsertLeadsByEmail(e.ctx, e.ws, seeds)
		for _, s := range seeds {
			ids = append(ids, byEmail[s.Email])
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

type snapshot struct {
	Scores map[string]float64
	Leads  map[int64]string
	Rules  map[int64]int
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	s := snapshot{Scores: map[string]float64{}, Leads: map[int64]string{}, Rules: map[int64]int{}}
	rows, err := e.db.Query(`SELECT lead_id, score_id, value FROM lead_score_values WHERE workspace_id = $1`, e.ws)
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var lead, score int64
		var v float64
		rows.Scan(&lead, &score, &v)
		s.Scores[fmt.Sprint(lead, "/", score)] = v
	}
	rows.Close()
	rows, _ = e.db.Query(`SELECT id, main_score, grade, labels::text, temperature, heat FROM leads WHERE workspace_id = $1`, e.ws)
	for rows.Next() {
		var id int64
		var main, heat float64
		var grade, labels, temp string
		rows.Scan(&id, &main, &grade, &labels, &temp, &heat)
		s.Leads[id] = fmt.Sprintf("%.2f %s %s %s %.6f", main, grade, labels, temp, heat)
	}
	rows.Close()
	rows, _ = e.db.Query(`SELECT id, leads_matched FROM rules WHERE workspace_id = $1`, e.ws)
	for rows.Next() {
		var id int64
		var n int
		rows.Scan(&id, &n)
		s.Rules[id] = n
	}
	rows.Close()
	return s
}

// states lists every lead's stored scoring state.
func (e *env) states() string {
	var s []string
	rows, _ := e.db.Query(`SELECT lead_id, encode(contributions, 'hex') FROM lead_scoring_state WHERE workspace_id = $1 ORDER BY lead_id`, e.ws)
	for rows.Next() {
		var id int64
		var c string
		rows.Scan(&id, &c)
		s = append(s, fmt.Sprint(id, ":", c))
	}
	rows.Close()
	return strings.Join(s, " ")
}

// sameStates compares two listings of states (see states), their marks where both know them.
func sameStates(a, b string) bool {
	as, bs := strings.Fields(a), strings.Fields(b)
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		ida, ha, _ := strings.Cut(as[i], ":")
		idb, hb, _ := strings.Cut(bs[i], ":")
		x, errA := hex.DecodeString(ha)
		y, errB := hex.DecodeString(hb)
		if ida != idb || errA != nil || errB != nil || !sameState(x, y) {
			return false
		}
	}
	return true
}

// forgetMarks rewrites every state without its marks, as states stored before them read.
func (e *env) forgetMarks() {
	e.t.Helper()
	rows, err := e.db.Query(`SELECT lead_id, contributions FROM lead_scoring_state WHERE workspace_id = $1`, e.ws)
	if err != nil {
		e.t.Fatal(err)
	}
	unmarked := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var b []byte
		rows.Scan(&id, &b)
		st, err := DecodeState(id, b)
		if err != nil || st.Memory.MarkSet == 0 {
			e.t.Fatalf("lead %d: a state without marks (%v)", id, err)
		}
		st.Memory.Marks, st.Memory.MarkSet, st.Memory.MarkedFrom = nil, 0, time.Time{}
		var scoring []rules.ScoringRule
		for id, v := range st.Rules {
			scoring = append(scoring, rules.ScoringRule{ID: id, Version: v})
		}
		unmarked[id] = EncodeState(scoring, st.Events, st.Contributions, st.Memory)
	}
	rows.Close()
	for id, b := range unmarked {
		e.exec(`UPDATE lead_scoring_state SET contributions = $3 WHERE workspace_id = $1 AND lead_id = $2`, e.ws, id, b)
	}
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	return pgtest.Count(e.t, e.db, q, args...)
}

// rescoreAll runs re-scoring jobs to the end and returns how many chunks it took.
func (e *env) rescoreAll() int {
	e.t.Helper()
	chunks := 0
	for {
		n, err := e.runner.Once(e.ctx, e.jobs)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return chunks
		}
		chunks++
		if chunks > 1000 {
			e.t.Fatal("re-scoring does not end")
		}
	}
}

// TestIncrementalScoringEqualsRescore sends activities in random order and batches through
// the worker's scoring step, then re-scores every lead from scratch: nothing may change.
func TestIncrementalScoringEqualsRescore(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(40)
	rng := rand.New(rand.NewSource(7))
	var acts []model.ActivityRow
	for i := 0; i < 400; i++ {
		k := eventKinds[rng.Intn(len(eventKinds)-1)] // bounces are rare: one below
		acts = append(acts, model.ActivityRow{LeadID: ids[rng.Intn(len(ids))], InboundEventID: int64(i + 1),
			OccurredAt: e.now.Add(-time.Duration(rng.Intn(60*24)) * time.Hour), Source: "braze", EventType: k.typ, Name: k.name})
	}
	acts = append(acts, model.ActivityRow{LeadID: ids[0], InboundEventID: 999, OccurredAt: e.now.Add(-time.Hour), Source: "braze",
		EventType: eventKinds[5].typ, Name: eventKinds[5].name})
	rng.Shuffle(len(acts), func(i, j int) { acts[i], acts[j] = acts[j], acts[i] })
	for start := 0; start < len(acts); start += 37 {
		e.ingest(acts[start:min(start+37, len(acts))])
	}
	// Temperatures are relative to the workspace's heat percentiles, which the worker
	// refreshes periodically (a full re-score ends with a refresh too).
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.reheat(e.ctx, tx, e.ws) }); err != nil {
		t.Fatal(err)
	}
	incremental := e.snapshot()
	ledger := e.count(`SELECT count(*) FROM score_ledger WHERE workspace_id = $1`, e.ws)
	if len(incremental.Scores) < 30 || ledger == 0 {
		t.Fatalf("scoring barely happened: %d scores, %d ledger lines", len(incremental.Scores), ledger)
	}
	// The bounced lead lost 50 points: its score is below the others'.
	var bounced float64
	e.db.QueryRow(`SELECT main_score FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0]).Scan(&bounced)
	if bounced >= 0 {
		t.Errorf("bounced lead scores %v", bounced)
	}

	// Incremental roll-ups (differences added per batch) equal sums made from scratch.
	if n := e.count(`SELECT count(*) FROM accounts a WHERE a.workspace_id = $1 AND a.main_score <> (
			SELECT round(COALESCE(sum(l.main_score), 0)::numeric, 2)::float8 FROM leads l WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id)`, e.ws); n != 0 {
		t.Fatalf("%d accounts' sums drifted from their people's scores", n)
	}
	if n := e.count(`SELECT count(*) FROM accounts WHERE workspace_id = $1 AND main_score <> 0`, e.ws); n != 3 {
		t.Fatalf("%d accounts have a score", n)
	}

	// A change that does not touch rule outcomes (a roll-up) queues a full re-score; it loads
	// the leads' histories a couple of leads at a time (about 10 activities each), and must
	// set right every lead's score (spoiled here, as if an old version had written them).
	pgtest.Exec(t, e.db, `UPDATE leads l SET main_score = main_score + 1000 WHERE workspace_id = $1`, e.ws)
	defer func(b int) { historyBudget = b }(historyBudget)
	historyBudget = 25
	names, _ := e.st.ListScoreNames(e.ctx, e.ws)
	if err := e.st.UpdateScoreName(e.ctx, e.ws, names[0].ID, model.RollupMax, true); err != nil {
		t.Fatal(err)
	}
	if chunks := e.rescoreAll(); chunks < 40/7 {
		t.Fatalf("re-score ran in %d chunks", chunks)
	}
	full := e.snapshot()
	if fmt.Sprint(full) != fmt.Sprint(incremental) {
		t.Fatalf("re-score differs from incremental scoring\nincremental %v\nfull        %v", incremental, full)
	}
	if n := e.count(`SELECT count(*) FROM score_ledger WHERE workspace_id = $1`, e.ws); n != ledger {
		t.Fatalf("a re-score with nothing to change wrote %d ledger lines", n-ledger)
	}
	job, _ := e.st.LatestRescoreJob(e.ctx, e.ws)
	if job.State != "done" || job.Done != 40 || job.Total != 40 {
		t.Fatalf("job %+v", job)
	}
	// Accounts hold the max of their people's scores now.
	var accMax, peopleMax float64
	e.db.QueryRow(`SELECT main_score FROM accounts WHERE workspace_id = $1 AND domain = 'acme.example'`, e.ws).Scan(&accMax)
	e.db.QueryRow(`SELECT max(l.main_score) FROM leads l JOIN accounts a ON a.workspace_id = l.workspace_id AND a.id = l.account_id
		WHERE l.workspace_id = $1 AND a.domain = 'acme.example'`, e.ws).Scan(&peopleMax)
	if accMax != peopleMax || accMax == 0 {
		t.Fatalf("account max %v, people max %v", accMax, peopleMax)
	}
}

// TestRuleEditRescoresWithLedger edits a rule: a re-score moves scores, and the ledger names
// the old version's points taken back and the new version's points given.
func TestRuleEditRescoresWithLedger(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(3)
	e.ingest([]model.ActivityRow{
		{LeadID: ids[0], InboundEventID: 1, OccurredAt: e.now.Add(-2 * time.Hour), Source: "braze", EventType: eventKinds[2].typ, Name: eventKinds[2].name},
		{LeadID: ids[1], InboundEventID: 2, OccurredAt: e.now.Add(-3 * time.Hour), Source: "braze", EventType: eventKinds[0].typ, Name: eventKinds[0].name},
	})
	main := func(id int64) float64 {
		var v float64
		e.db.QueryRow(`SELECT main_score FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, id).Scan(&v)
		return v
	}
	if main(ids[0]) != 15 {
		t.Fatalf("pricing visit scored %v, want 15", main(ids[0]))
	}
	var labels string
	e.db.QueryRow(`SELECT labels::text FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0]).Scan(&labels)
	if labels != `{"Pricing this week"}` {
		t.Fatalf("labels %s", labels)
	}
	stored, _ := e.st.ListRules(e.ctx, e.ws)
	var pricing model.StoredRule
	for _, r := range stored {
		if r.Name == "Pricing page viewed" {
			pricing = r
		}
	}
	var r rules.Rule
	json.Unmarshal(pricing.Definition, &r)
	r.Score.Points, r.Score.Cap = 40, 0
	def, err := Def(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SaveRule(e.ctx, e.ws, 0, pricing.ID, def); err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	if main(ids[0]) != 40 || main(ids[1]) != 1 {
		t.Fatalf("after edit: %v and %v", main(ids[0]), main(ids[1]))
	}
	var lines []model.LedgerLine
	rows, _ := e.db.Query(`SELECT rule_version, delta, before, after FROM score_ledger
		WHERE workspace_id = $1 AND lead_id = $2 AND rule_id = $3 ORDER BY id, line`, e.ws, ids[0], pricing.ID)
	for rows.Next() {
		var l model.LedgerLine
		rows.Scan(&l.RuleVersion, &l.Delta, &l.Before, &l.After)
		lines = append(lines, l)
	}
	rows.Close()
	got := fmt.Sprint(lines)
	if len(lines) != 3 || lines[0].Delta != 15 || lines[1].Delta != -15 || lines[1].RuleVersion != 1 ||
		lines[2].Delta != 40 || lines[2].RuleVersion != 2 || lines[2].After != 40 {
		t.Fatalf("ledger %s", got)
	}
	var matched int
	e.db.QueryRow(`SELECT leads_matched FROM rules WHERE workspace_id = $1 AND id = $2`, e.ws, pricing.ID).Scan(&matched)
	if matched != 1 {
		t.Fatalf("pricing rule matches %d leads", matched)
	}

	// Disabling the rule takes the points back.
	if err := e.st.SetRuleEnabled(e.ctx, e.ws, pricing.ID, false); err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	if main(ids[0]) != 0 {
		t.Fatalf("disabled rule still counts: %v", main(ids[0]))
	}
}

// TestLabelsAndPointsAgeWithoutNewActivity moves the clock: the refresh worker drops a label
// whose window closed and points that expired, with no new event.
func TestLabelsAndPointsAgeWithoutNewActivity(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(1)
	e.ingest([]model.ActivityRow{{LeadID: ids[0], InboundEventID: 1, OccurredAt: e.now.Add(-time.Hour), Source: "braze",
		EventType: eventKinds[2].typ, Name: eventKinds[2].name}})
	read := func() (float64, string, string) {
		var v float64
		var labels, temp string
		e.db.QueryRow(`SELECT main_score, labels::text, temperature FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0]).Scan(&v, &labels, &temp)
		return v, labels, temp
	}
	if v, labels, _ := read(); v != 15 || labels != `{"Pricing this week"}` {
		t.Fatalf("start: %v %s", v, labels)
	}
	refresh := func() int {
		n, err := e.svc.refresh(e.ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if refresh() != 0 {
		t.Fatal("refreshed a lead that was not due")
	}
	e.now = e.now.Add(8 * 24 * time.Hour)
	if refresh() != 1 {
		t.Fatal("the label's window closed, but the lead was not due")
	}
	if v, labels, _ := read(); v != 15 || labels != `{}` {
		t.Fatalf("after 8 days: %v %s", v, labels)
	}
	e.now = e.now.Add(25 * 24 * time.Hour) // the pricing points expire after 30 days
	for refresh() > 0 {
	}
	if v, _, _ := read(); v != 0 {
		t.Fatalf("after 33 days: %v", v)
	}
	e.now = e.now.Add(60 * 24 * time.Hour)
	for refresh() > 0 {
	}
	if _, _, temp := read(); temp != rules.Frozen {
		t.Fatalf("after 93 days the lead is %s", temp)
	}
}

// TestGrowingWorkspaceIsPlacedAnew: percentiles taken over a handful of leads are not kept for
// ten minutes while the workspace fills up.
func TestGrowingWorkspaceIsPlacedAnew(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(30)
	if err := e.st.RecordBatch(e.ctx, e.ws, time.Now(), 1); err != nil {
		t.Fatal(err)
	}
	e.ingest([]model.ActivityRow{{LeadID: ids[0], InboundEventID: 1, OccurredAt: e.now.Add(-time.Hour), Source: "braze", EventType: eventKinds[0].typ, Name: eventKinds[0].name}})
	due := func() bool {
		ws, err := e.st.WorkspacesToReheat(e.ctx, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return len(ws) == 1 && ws[0] == e.ws
	}
	if due() {
		t.Fatal("reheat due right after computing")
	}
	var acts []model.ActivityRow
	for i, id := range ids[1:] {
		acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: int64(100 + i), OccurredAt: e.now.Add(-time.Hour), Source: "braze", EventType: eventKinds[0].typ, Name: eventKinds[0].name})
	}
	e.ingest(acts)
	e.exec(`UPDATE heat_scales SET computed_at = now() - interval '1 minute' WHERE workspace_id = $1`, e.ws)
	if !due() {
		t.Fatal("a workspace that grew from 1 to 30 active leads waits ten minutes for its temperatures")
	}
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	pgtest.Exec(e.t, e.db, q, args...)
}

// TestPreviewComparesLikeWithLike: leads last scored weeks ago have decayed since; a new rule
// that only adds points makes nobody "lose points" in the preview, and an edit that gives
// fewer points says why leads lose them and shows examples of it.
func TestPreviewComparesLikeWithLike(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(6)
	e.ingest(e.staircase(ids, 0))
	e.now = e.now.Add(45 * 24 * time.Hour) // email points have halved since; nothing re-scored yet
	add := rules.Rule{Name: "Webinar", Kind: rules.KindScore, Enabled: true,
		When:  rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: "event.name", Operator: "contains", Value: "webinar"}}}},
		Score: &rules.ScoreEffect{Score: "Lead score", Points: 10, Per: rules.PerLead}}
	p, err := e.svc.Preview(e.ctx, e.ws, 0, add)
	if err != nil {
		t.Fatal(err)
	}
	if p.Lose != 0 || p.Gain != 0 || p.Note != "" {
		t.Fatalf("a rule nobody matches: gain %d, lose %d, note %q", p.Gain, p.Lose, p.Note)
	}
	// Edit the email-open rule to give next to nothing.
	stored, _ := e.st.ListRules(e.ctx, e.ws)
	for _, r := range stored {
		var def rules.Rule
		if json.Unmarshal(r.Definition, &def) != nil || def.Kind != rules.KindScore || !strings.Contains(string(r.Definition), "email.Open") {
			continue
		}
		def.Score.Points, def.Score.Cap = 0.01, 0
		if def.Score.Per == rules.PerEvent {
			def.Score.Cap = 0
		}
		p, err = e.svc.Preview(e.ctx, e.ws, r.ID, def)
		if err != nil {
			t.Fatal(err)
		}
		if p.Lose == 0 || p.Note == "" || len(p.Examples) == 0 || p.Examples[0].Before == p.Examples[0].After {
			t.Fatalf("an edit giving fewer points: %+v", p)
		}
		return
	}
	t.Fatal("no email-open rule in the default set")
}

// TestTemperatureBandsHoldTheirShares: after a batch lands and the workspace is placed, each
// band holds its configured share of the active leads — with the defaults and after the
// shares change — and rising activity does not take over the hot band.
func TestTemperatureBandsHoldTheirShares(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(200)
	var acts []model.ActivityRow
	for i, id := range ids {
		// Lead i: i%10 + 1 activities, the latest i hours ago: every lead's heat differs.
		for j := 0; j <= i%10; j++ {
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: int64(1000*i + j), OccurredAt: e.now.Add(-time.Duration(i+24*j) * time.Hour),
				Source: "braze", EventType: eventKinds[0].typ, Name: eventKinds[0].name})
		}
	}
	e.ingest(acts)
	bands := func() map[string]int {
		if _, err := e.runner.Drain(e.ctx, e.jobs); err != nil {
			t.Fatal(err)
		}
		counts, err := e.st.TemperatureCounts(e.ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		return counts
	}
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.reheat(e.ctx, tx, e.ws) }); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{rules.Hot: 20, rules.Warm: 40, rules.Neutral: 60, rules.Cold: 80}
	if got := bands(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("default bands over 200 active leads: %v, want %v", got, want)
	}
	if err := e.st.SetTemperatureBands(e.ctx, e.ws, rules.Bands{Hot: 5, Warm: 15, Neutral: 50}, JobReheat); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{rules.Hot: 10, rules.Warm: 30, rules.Neutral: 100, rules.Cold: 60}
	if got := bands(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bands 5/15/50/30: %v, want %v", got, want)
	}
}

// TestGradeRulesCountTheirLeads: grade rules count the leads they give points to (they read
// "0 leads" while thousands carried their points), and the lead remembers which ones.
func TestGradeRulesCountTheirLeads(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(9)
	for i, id := range ids {
		title := "Analyst"
		if i%3 == 0 {
			title = "VP Sales"
		}
		e.exec(`UPDATE leads SET title = $3 WHERE workspace_id = $1 AND id = $2`, e.ws, id, title)
	}
	var acts []model.ActivityRow
	for i, id := range ids {
		acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: int64(i + 1), OccurredAt: e.now.Add(-time.Hour),
			Source: "braze", EventType: eventKinds[0].typ, Name: eventKinds[0].name})
	}
	e.ingest(acts)
	matched := func(name string) int {
		var n int
		e.db.QueryRow(`SELECT leads_matched FROM rules WHERE workspace_id = $1 AND name = $2`, e.ws, name).Scan(&n)
		return n
	}
	if n := matched("Senior title"); n != 3 {
		t.Fatalf("Senior title counts %d leads, want 3", n)
	}
	if n := matched("Company email"); n != 9 {
		t.Fatalf("Company email counts %d leads, want 9", n)
	}
	if n := e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND cardinality(fit_rules) = 2`, e.ws); n != 3 {
		t.Fatalf("%d leads remember two grade rules, want 3", n)
	}
	// A title change takes the point away, and the count follows.
	e.exec(`UPDATE leads SET title = 'Intern' WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0])
	e.exec(`UPDATE lead_scoring_state SET refresh_at = $3 WHERE workspace_id = $1 AND lead_id = $2`, e.ws, ids[0], e.now.Add(-time.Minute))
	if _, err := e.svc.refresh(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	if n := matched("Senior title"); n != 2 {
		t.Fatalf("after a demotion Senior title counts %d, want 2", n)
	}
}

// TestAccountsGetFitAndTemperature: an account's fit is the grade rules applied to the
// company alone, and its temperature is its hottest person's.
func TestAccountsGetFitAndTemperature(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(6) // p00@acme, p01@globex, p02@initech, p03@acme, …
	e.exec(`UPDATE accounts SET employees = 5000 WHERE workspace_id = $1 AND domain = 'acme.example'`, e.ws)
	e.ingest(e.staircase(ids, 0))
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.reheat(e.ctx, tx, e.ws) }); err != nil {
		t.Fatal(err)
	}
	account := func(domain string) (grade, temp string) {
		e.db.QueryRow(`SELECT grade, temperature FROM accounts WHERE workspace_id = $1 AND domain = $2`, e.ws, domain).Scan(&grade, &temp)
		return
	}
	if g, _ := account("acme.example"); g != "C" { // 200+ employees (30) and a company domain (20)
		t.Fatalf("acme's fit is %s, want C", g)
	}
	if g, _ := account("globex.example"); g != "D" { // a company domain only
		t.Fatalf("globex's fit is %s, want D", g)
	}
	var hottest string
	e.db.QueryRow(`SELECT temperature FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[5]).Scan(&hottest)
	if _, temp := account("initech.example"); temp != hottest || hottest == "" {
		t.Fatalf("initech is %s, its hottest person %s", temp, hottest)
	}
	// A CRM says globex is big now: its people are scored again, and the account's fit follows
	// though no score moved.
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		return tx.SetAccountProfile(e.ctx, e.ws, "globex.example", "Globex", "Energy", 12000)
	}); err != nil {
		t.Fatal(err)
	}
	e.exec(`UPDATE lead_scoring_state SET refresh_at = $2 WHERE workspace_id = $1 AND refresh_at > $2`, e.ws, e.now.Add(-time.Minute))
	if _, err := e.svc.refresh(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	if g, _ := account("globex.example"); g != "C" {
		t.Fatalf("globex's fit after it grew is %s, want C", g)
	}
}

// TestTopThreeRollup: an account's "top 3" score is the sum of its three highest people, so
// a crowd of barely engaged people does not outrank a few keen ones.
// TestDecayedSumRollup: a "decayed sum" counts each person's score halved every 30 days since
// their last activity.
func TestDecayedSumRollup(t *testing.T) {
	e := newEnv(t)
	e.exec(`UPDATE score_names SET rollup = 'decayed_sum' WHERE workspace_id = $1`, e.ws)
	ids := e.leads(12) // four people at each of three companies
	e.ingest(e.staircase(ids, 2))
	// Two people of the first company were active just now, two 30 and 60 days ago.
	e.exec(`UPDATE leads SET last_activity_at = now() WHERE workspace_id = $1 AND id = ANY($2)`, e.ws, pq.Array([]int64{ids[6], ids[9]}))
	e.exec(`UPDATE leads SET last_activity_at = now() - interval '30 days' WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0])
	e.exec(`UPDATE leads SET last_activity_at = now() - interval '60 days' WHERE workspace_id = $1 AND id = $2`, e.ws, ids[3])
	var account int64
	var scores []float64
	e.db.QueryRow(`SELECT account_id FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0]).Scan(&account)
	rows, _ := e.db.Query(`SELECT main_score FROM leads WHERE workspace_id = $1 AND account_id = $2 AND id <> ALL($3) ORDER BY id`,
		e.ws, account, pq.Array([]int64{ids[0], ids[3]}))
	for rows.Next() {
		var v float64
		rows.Scan(&v)
		scores = append(scores, v)
	}
	rows.Close()
	var first, fourth float64
	e.db.QueryRow(`SELECT main_score FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0]).Scan(&first)
	e.db.QueryRow(`SELECT main_score FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[3]).Scan(&fourth)
	if len(scores) != 2 || first == 0 {
		t.Fatalf("the company's people: %v and %v", scores, first)
	}
	var main int64
	e.db.QueryRow(`SELECT id FROM score_names WHERE workspace_id = $1 AND is_main`, e.ws).Scan(&main)
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.RollupAccounts(e.ctx, e.ws, []int64{account}, main) })
	if err != nil {
		t.Fatal(err)
	}
	want := math.Round((scores[0]+scores[1]+first/2+fourth/4)*100) / 100
	var got float64
	e.db.QueryRow(`SELECT main_score FROM accounts WHERE workspace_id = $1 AND id = $2`, e.ws, account).Scan(&got)
	if math.Abs(got-want) > 0.011 {
		t.Fatalf("decayed sum %v, want %v (%v, %v, %v halved, %v quartered)", got, want, scores[0], scores[1], first, fourth)
	}
}

func TestTopThreeRollup(t *testing.T) {
	e := newEnv(t)
	e.exec(`UPDATE score_names SET rollup = 'top3' WHERE workspace_id = $1`, e.ws)
	ids := e.leads(12) // four people at each of three companies
	e.ingest(e.staircase(ids, 2))
	if n := e.count(`SELECT count(*) FROM accounts a WHERE a.workspace_id = $1 AND a.main_score <> (
			SELECT round(COALESCE(sum(v), 0)::numeric, 2)::float8 FROM (SELECT l.main_score AS v FROM leads l
				WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id ORDER BY l.main_score DESC LIMIT 3) top)`, e.ws); n != 0 {
		t.Fatalf("%d accounts' scores are not their top three people's", n)
	}
}

// staircase gives lead i of ids i+1 activities of one kind, an hour apart up to now: every
// lead's engagement differs, the last the most.
func (e *env) staircase(ids []int64, kind int) []model.ActivityRow {
	var acts []model.ActivityRow
	for i, id := range ids {
		for j := 0; j <= i; j++ {
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: int64(100*i + j), OccurredAt: e.now.Add(-time.Duration(j+1) * time.Hour),
				Source: "braze", EventType: eventKinds[kind].typ, Name: eventKinds[kind].name})
		}
	}
	return acts
}

// TestPreviewStopsAtItsBudget: past its time budget a preview stops after the chunk under way
// and says how many leads it examined of how many.
func TestPreviewStopsAtItsBudget(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(600)
	e.ingest(e.staircase(ids[:20], 0))
	defer func(b time.Duration) { previewBudget = b }(previewBudget)
	previewBudget = 0
	rule := rules.Rule{Name: "Webinar", Kind: rules.KindScore, Enabled: true,
		When:  rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: "event.name", Operator: "contains", Value: "webinar"}}}},
		Score: &rules.ScoreEffect{Score: "Lead score", Points: 10, Per: rules.PerLead}}
	p, err := e.svc.Preview(e.ctx, e.ws, 0, rule)
	if err != nil {
		t.Fatal(err)
	}
	if p.Examined != 500 || p.Total != 600 {
		t.Fatalf("examined %d of %d, want the first chunk of 500 of 600", p.Examined, p.Total)
	}
	previewBudget = time.Minute
	if p, _ = e.svc.Preview(e.ctx, e.ws, 0, rule); p.Examined != 600 {
		t.Fatalf("with time to spare it examined %d of 600", p.Examined)
	}
}

// TestEditRescoresOnlyLeadsTheRuleCanMatch: editing a score rule that matches 1 % of leads
// re-scores and writes only those leads (their state, scores and ledger); the others keep
// their rows untouched. Their stored rule version catches up when they are next scored, and
// scoring everyone from scratch then changes nothing.
func TestEditRescoresOnlyLeadsTheRuleCanMatch(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(200)
	var acts []model.ActivityRow
	next := int64(1)
	for i, id := range ids {
		kinds := []int{0, 1}
		if i%100 == 7 { // two leads of 200 registered for the webinar
			kinds = append(kinds, 4)
		}
		for _, k := range kinds {
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: next, OccurredAt: e.now.Add(-time.Duration(next) * time.Minute),
				Source: "braze", EventType: eventKinds[k].typ, Name: eventKinds[k].name})
			next++
		}
	}
	e.ingest(acts)
	e.rescoreAll()
	states := func() map[int64]string {
		out := map[int64]string{}
		rows, _ := e.db.Query(`SELECT lead_id, xmin::text FROM lead_scoring_state WHERE workspace_id = $1`, e.ws)
		for rows.Next() {
			var id int64
			var x string
			rows.Scan(&id, &x)
			out[id] = x
		}
		rows.Close()
		return out
	}
	before, lastPass := states(), e.count(`SELECT COALESCE(max(id), 0) FROM score_passes WHERE workspace_id = $1`, e.ws)
	stored, _ := e.st.ListRules(e.ctx, e.ws)
	var webinar model.StoredRule
	for _, r := range stored {
		if strings.Contains(string(r.Definition), "webinar_registered") {
			webinar = r
		}
	}
	var r rules.Rule
	json.Unmarshal(webinar.Definition, &r)
	r.Score.Points = 12
	def, err := Def(r)
	if err != nil || def.ActivityFilter == nil {
		t.Fatalf("no activity filter derived for the webinar rule: %v", err)
	}
	if _, err := e.st.SaveRule(e.ctx, e.ws, 0, webinar.ID, def); err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	after := states()
	var rewritten []int64
	for id, x := range after {
		if before[id] != x {
			rewritten = append(rewritten, id)
		}
	}
	slices.Sort(rewritten)
	if fmt.Sprint(rewritten) != fmt.Sprint([]int64{ids[7], ids[107]}) {
		t.Fatalf("states rewritten for %v, want only the webinar leads %v", rewritten, []int64{ids[7], ids[107]})
	}
	if n := e.count(`SELECT count(DISTINCT lead_id) FROM score_ledger WHERE workspace_id = $1 AND id > $2`, e.ws, lastPass); n != 2 {
		t.Fatalf("ledger lines written for %d leads, want 2", n)
	}
	job, _ := e.st.LatestRescoreJob(e.ctx, e.ws)
	if job.State != "done" || job.Total != 2 || job.Done != 2 {
		t.Fatalf("the re-scoring job: %+v", job)
	}
	var got float64
	e.db.QueryRow(`SELECT value FROM lead_score_values s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id AND n.is_main
		WHERE s.workspace_id = $1 AND s.lead_id = $2`, e.ws, ids[7]).Scan(&got)
	// Skipped leads scored incrementally afterwards (their state still names the old
	// version): one registers for the webinar now, one clicks an email.
	e.ingest([]model.ActivityRow{
		{LeadID: ids[0], InboundEventID: next, OccurredAt: e.now.Add(-time.Minute), Source: "braze", EventType: eventKinds[4].typ, Name: eventKinds[4].name},
		{LeadID: ids[1], InboundEventID: next + 1, OccurredAt: e.now.Add(-time.Minute), Source: "braze", EventType: eventKinds[1].typ, Name: eventKinds[1].name},
	})
	targeted := e.snapshot()

	// Scoring every lead from scratch (stored states no longer trusted) changes no score.
	e.exec(`UPDATE lead_scoring_state SET profile_hash = profile_hash + 1 WHERE workspace_id = $1`, e.ws)
	err = e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.ScoreLeads(e.ctx, tx, e.ws, ids) })
	if err != nil {
		t.Fatal(err)
	}
	// (Temperatures are placed against the whole workspace when a re-score ends, so they are
	// not compared with one scoring pass's.)
	if full := e.snapshot(); fmt.Sprint(full.Scores, full.Rules) != fmt.Sprint(targeted.Scores, targeted.Rules) {
		t.Fatalf("scoring from scratch differs from the targeted re-score\ntargeted %v %v\nfull     %v %v", targeted.Scores, targeted.Rules, full.Scores, full.Rules)
	}
	if got == 0 {
		t.Fatal("the webinar lead has no score")
	}

	// An edit of a rule every lead can match pages through all leads instead.
	for _, r := range stored {
		if !strings.Contains(string(r.Definition), "users.messages.email.Open") {
			continue
		}
		var open rules.Rule
		json.Unmarshal(r.Definition, &open)
		open.Score.Points++
		def, _ := Def(open)
		if _, err := e.st.SaveRule(e.ctx, e.ws, 0, r.ID, def); err != nil {
			t.Fatal(err)
		}
		e.rescoreAll()
		job, _ := e.st.LatestRescoreJob(e.ctx, e.ws)
		if job.Total != 200 || job.Done != 200 || e.count(`SELECT count(*) FROM rescore_jobs WHERE workspace_id = $1 AND id = $2 AND lead_filter IS NULL`, e.ws, job.ID) != 1 {
			t.Fatalf("an edit matching every lead: %+v", job)
		}
		return
	}
	t.Fatal("no email-open rule")
}

// TestActivitySummaryReachesTheRowWithScoring: storing activities moves the lead's exact
// activity summary (lead_activity) and leaves the lead's row — wide, with every index of the
// lead list — alone; the scoring of those activities copies the summary onto the row. Fails
// when processing rewrites the row again, or when scoring forgets the copy.
func TestActivitySummaryReachesTheRowWithScoring(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(3)
	var acts []model.ActivityRow
	for i, id := range ids {
		for k := 0; k <= i; k++ {
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: int64(10*i + k + 1), OccurredAt: e.now.Add(-time.Duration(k+1) * time.Hour),
				Source: "braze", EventType: eventKinds[0].typ, Name: eventKinds[0].name})
		}
	}
	rowVersions := func() string {
		var v string
		e.db.QueryRow(`SELECT string_agg(xmin::text, ',' ORDER BY id) FROM leads WHERE workspace_id = $1`, e.ws).Scan(&v)
		return v
	}
	before := rowVersions()
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		if err := tx.InsertActivities(e.ctx, e.ws, acts); err != nil {
			return err
		}
		return tx.EnqueueScoring(e.ctx, e.ws, acts)
	})
	if err != nil {
		t.Fatal(err)
	}
	summaries := func(table, key string) string {
		var v string
		e.db.QueryRow(`SELECT string_agg(format('%s %s %s', activity_count, first_activity_at, last_activity_at), '; ' ORDER BY `+key+`)
			FROM `+table+` WHERE workspace_id = $1`, e.ws).Scan(&v)
		return v
	}
	exact := summaries("lead_activity", "lead_id")
	if rowVersions() != before || summaries("leads", "id") == exact || !strings.HasPrefix(exact, "1 ") {
		t.Fatalf("storing activities rewrote lead rows (%v) or left no exact summary: rows show %s, exact %s", rowVersions() != before, summaries("leads", "id"), exact)
	}
	if _, err := e.runner.Drain(e.ctx, e.scoring); err != nil {
		t.Fatal(err)
	}
	if shown := summaries("leads", "id"); shown != exact {
		t.Fatalf("after scoring the rows show %s, the exact summaries are %s", shown, exact)
	}
}

// TestAPassOverPartOfAQueueAppends: when processing runs ahead of scoring, a pass takes only
// some of a lead's queued activities; it still appends them to the lead's state (reading
// only them: email opens, which no rule tests beyond their time), leaves the rest for later
// passes, and once those ran the result is what scoring every activity from scratch gives.
// Fails when a lead with activities still queued is scored from its whole history.
func TestAPassOverPartOfAQueueAppends(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(10)
	next := int64(1)
	batch := func(at time.Time, kind int) []model.ActivityRow {
		var acts []model.ActivityRow
		for i, id := range ids {
			k := eventKinds[kind]
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: next, OccurredAt: at.Add(time.Duration(i) * time.Second), Source: "braze", EventType: k.typ, Name: k.name})
			next++
		}
		return acts
	}
	for day := 20; day > 0; day -= 4 { // opens and clicks: only their times matter to the rules' counts
		e.ingest(batch(e.now.Add(-time.Duration(day*24)*time.Hour), day%2))
	}
	var queued [][]model.ActivityRow
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		for h := 3; h > 0; h-- {
			acts := batch(e.now.Add(-time.Duration(h)*time.Hour), 0) // email opens
			queued = append(queued, acts)
			if err := tx.InsertActivities(e.ctx, e.ws, acts); err != nil {
				return err
			}
			if err := tx.EnqueueScoring(e.ctx, e.ws, acts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read := e.svc.ActivitiesRead()
	err = e.st.InTx(e.ctx, func(tx *store.Tx) error { // a pass that took the oldest third, as a claim does
		var taken []int64
		for _, a := range queued[0] {
			taken = append(taken, a.InboundEventID)
		}
		e.exec(`UPDATE scoring_queue SET claim = 77 WHERE workspace_id = $1 AND activity_id = ANY($2)`, e.ws, pq.Array(taken))
		if got, err := tx.TakeWork(e.ctx, store.ScoringWork, e.ws, taken, 77); err != nil || len(got) != len(taken) {
			return fmt.Errorf("took %d of %d: %v", len(got), len(taken), err)
		}
		return e.svc.ScoreNew(e.ctx, tx, e.ws, queued[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.svc.ActivitiesRead() - read; n != int64(len(ids)) {
		t.Fatalf("a pass over one of three queued activities per lead read %d activities, want only its %d", n, len(ids))
	}
	if n, _ := e.st.ScoringBacklog(e.ctx, e.ws); n != 2*len(ids) {
		t.Fatalf("%d activities left queued, want %d", n, 2*len(ids))
	}
	if _, err := e.runner.Drain(e.ctx, e.scoring); err != nil {
		t.Fatal(err)
	}
	appended, appendedStates := e.snapshot(), e.states()
	e.exec(`UPDATE lead_scoring_state SET profile_hash = profile_hash + 1 WHERE workspace_id = $1`, e.ws)
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.ScoreLeads(e.ctx, tx, e.ws, ids) }); err != nil {
		t.Fatal(err)
	}
	if full := e.snapshot(); fmt.Sprint(full) != fmt.Sprint(appended) || e.states() != appendedStates {
		t.Fatalf("passes over parts of the queue differ from scoring from scratch\nappended %v\nscratch  %v", appended, full)
	}
}

// TestAppendingReadsOnlyWhatRulesNeed: new activities newer than a lead's state are scored
// reading only them and the older activities a rule can still look at (the default rules
// count visits over 7 days and hold labels for 7 and 30 days), also when only time passes;
// the result is what scoring every activity from scratch gives.
func TestAppendingReadsOnlyWhatRulesNeed(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(30)
	next := int64(1)
	batch := func(at func(i int) time.Time, kind func(i int) int) []model.ActivityRow {
		var acts []model.ActivityRow
		for i, id := range ids {
			k := eventKinds[kind(i)]
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: next, OccurredAt: at(i), Source: "braze", EventType: k.typ, Name: k.name})
			next++
		}
		return acts
	}
	// History, in time order: 20 activities per lead, 200 to 100 days ago.
	for day := 200; day > 100; day -= 5 {
		e.ingest(batch(func(i int) time.Time {
			return e.now.Add(-time.Duration(day*24)*time.Hour + time.Duration(i)*time.Minute)
		},
			func(i int) int { return (i + day) % 5 }))
	}
	// Nothing older than the new batch is read, whatever the rules look at: the counts and
	// the recent labels ("Pricing this week", "Demo requested", "Engaged") take what they need
	// of the older activities from the memory's times and marks.
	fresh := func(at time.Duration, kind func(i int) int) {
		t.Helper()
		read := e.svc.ActivitiesRead()
		e.ingest(batch(func(int) time.Time { return e.now.Add(-at) }, kind))
		if n := e.svc.ActivitiesRead() - read; n != int64(len(ids)) {
			t.Fatalf("scoring one new activity per lead read %d activities, want only the %d new ones", n, len(ids))
		}
	}
	fresh(2*time.Hour, func(i int) int { return i % 5 })
	fresh(time.Hour, func(i int) int { return 2 }) // pricing page
	states := e.states
	scratch := func() {
		e.exec(`UPDATE lead_scoring_state SET profile_hash = profile_hash + 1 WHERE workspace_id = $1`, e.ws)
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.ScoreLeads(e.ctx, tx, e.ws, ids) }); err != nil {
			t.Fatal(err)
		}
	}
	sameAsScratch := func(what string) {
		t.Helper()
		got, gotStates := e.snapshot(), states()
		scratch()
		if full := e.snapshot(); fmt.Sprint(full) != fmt.Sprint(got) || !sameStates(states(), gotStates) {
			t.Fatalf("%s differs from scoring from scratch\n%s %v\nscratch  %v", what, what, got, full)
		}
	}
	appended := e.snapshot()
	if len(appended.Scores) < len(ids)/2 || !strings.Contains(fmt.Sprint(appended.Leads), "Pricing this week") {
		t.Fatalf("scoring barely happened: %v", appended)
	}
	sameAsScratch("appending")

	// Ten days on, the refresh re-scores the leads as time passed, from their memories alone.
	e.now = e.now.Add(10 * 24 * time.Hour)
	read := e.svc.ActivitiesRead()
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.ScoreLeads(e.ctx, tx, e.ws, ids) }); err != nil {
		t.Fatal(err)
	}
	if n := e.svc.ActivitiesRead() - read; n != 0 {
		t.Fatalf("the refresh read %d activities, want none", n)
	}
	if refreshed := e.snapshot(); refreshed.Leads[ids[0]] == appended.Leads[ids[0]] {
		t.Fatalf("ten days changed nothing: %v", refreshed.Leads[ids[0]])
	}
	sameAsScratch("the refresh")

	// A state stored before marks (format 6) reads, once, the activities within the rules'
	// reach that they test beyond their time (custom events for the labels, website visits for
	// the count), and learns their marks: the next batch reads only itself.
	e.forgetMarks()
	testable := e.count(`SELECT count(*) FROM activities WHERE workspace_id = $1 AND occurred_at >= $2
		AND (event_type = 'users.behaviors.CustomEvent' OR source IN ('web', 'sales_email'))`, e.ws, e.now.Add(-30*24*time.Hour))
	read = e.svc.ActivitiesRead()
	e.ingest(batch(func(int) time.Time { return e.now.Add(-time.Hour) }, func(i int) int { return i % 5 }))
	if n := e.svc.ActivitiesRead() - read; n != int64(len(ids)+testable) || testable == 0 {
		t.Fatalf("without marks, read %d activities, want the %d new ones and the %d of the last 30 days a rule tests beyond their time", n, len(ids), testable)
	}
	fresh(time.Minute, func(i int) int { return (i + 1) % 5 })
	sameAsScratch("learning the marks")
}

// TestFirstScoringWritesALinePerRule: scoring many activities of a lead at once writes one
// ledger line per rule version, covering its activities, and "why this score" still lists
// every activity's points exactly as the lead's state holds them.
func TestFirstScoringWritesALinePerRule(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(1)
	var acts []model.ActivityRow
	for i := 0; i < 6; i++ {
		k := eventKinds[[]int{0, 2}[i%2]] // three email opens, three pricing page views
		acts = append(acts, model.ActivityRow{LeadID: ids[0], InboundEventID: int64(i + 1), OccurredAt: e.now.Add(-time.Duration(10-i) * time.Hour),
			Source: "braze", EventType: k.typ, Name: k.name})
	}
	e.ingest(acts)
	lines, err := e.st.LeadLedger(e.ctx, e.ws, ids[0], 100)
	if err != nil {
		t.Fatal(err)
	}
	perRule := map[int64]int{}
	covered := 0
	for _, l := range lines {
		if l.Kind == "score" {
			perRule[l.RuleID]++
			covered += l.Activities
		}
	}
	for rule, n := range perRule {
		if n != 1 {
			t.Fatalf("rule %d wrote %d lines", rule, n)
		}
	}
	var blob []byte
	e.db.QueryRow(`SELECT contributions FROM lead_scoring_state WHERE workspace_id = $1 AND lead_id = $2`, e.ws, ids[0]).Scan(&blob)
	state, err := DecodeState(ids[0], blob)
	if err != nil {
		t.Fatal(err)
	}
	if covered != len(state.Contributions) || len(perRule) >= len(state.Contributions) {
		t.Fatalf("%d lines for %d rules cover %d activities' points; the state holds %d", len(lines), len(perRule), covered, len(state.Contributions))
	}
	details, err := e.st.LeadContributions(e.ctx, e.ws, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	key := func(rule, activity int64, points float64, at time.Time) string {
		return fmt.Sprint(rule, "/", activity, "/", points, "/", at.UTC().Format(time.RFC3339Nano))
	}
	var want, got []string
	for _, c := range state.Contributions {
		want = append(want, key(c.RuleID, c.ActivityID, c.Points, c.EarnedAt))
	}
	for _, d := range details {
		got = append(got, key(d.RuleID, d.ActivityID, d.Points, d.EarnedAt))
	}
	slices.Sort(want)
	slices.Sort(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("why this score lists\n%v\nthe state holds\n%v", got, want)
	}
}

// TestEditReadsOnlyWhatTheRuleCanMatch: after an edit of a rule that looks at one activity
// at a time (the email-open rule), re-scoring reads each lead's activities that rule can
// match — not the history — or none when only the price of what it matched changed (points
// within its cap, half-life), and gives what scoring every activity from scratch gives.
func TestEditReadsOnlyWhatTheRuleCanMatch(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(30)
	next := int64(1)
	for day := 200; day > 100; day -= 5 { // 20 old activities per lead, every kind but bounces in turn
		var acts []model.ActivityRow
		for i, id := range ids {
			k := eventKinds[(i+day/5)%5]
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: next, Source: "braze", EventType: k.typ, Name: k.name,
				OccurredAt: e.now.Add(-time.Duration(day*24)*time.Hour + time.Duration(i)*time.Minute)})
			next++
		}
		e.ingest(acts)
	}
	var recent []model.ActivityRow
	for i, id := range ids { // and one this week
		k := eventKinds[i%5]
		recent = append(recent, model.ActivityRow{LeadID: id, InboundEventID: next, Source: "braze", EventType: k.typ, Name: k.name, OccurredAt: e.now.Add(-2 * time.Hour)})
		next++
	}
	e.ingest(recent)
	e.rescoreAll()

	stored, _ := e.st.ListRules(e.ctx, e.ws)
	var open model.StoredRule
	for _, r := range stored {
		if strings.Contains(string(r.Definition), "users.messages.email.Open") && !strings.Contains(string(r.Definition), "event.count") {
			open = r
		}
	}
	var r rules.Rule
	if err := json.Unmarshal(open.Definition, &r); err != nil || r.Score == nil {
		t.Fatalf("no email-open score rule: %v", err)
	}
	opens := e.count(`SELECT count(*) FROM activities WHERE workspace_id = $1 AND event_type = 'users.messages.email.Open'`, e.ws)
	all := e.count(`SELECT count(*) FROM activities WHERE workspace_id = $1`, e.ws)
	if r.Score.Per != rules.PerEvent || r.Score.Cap != 10 || r.Score.Points != 1 {
		t.Fatalf("the email-open rule changed: %+v", r.Score)
	}
	// Each lead has four or five opens (1 point each, capped at 10).
	steps := []struct {
		days   int
		change func(*rules.ScoreEffect)
		read   int
		why    string
	}{
		// Right after scoring: the leads' refresh times are ahead. Two points an open still fit
		// under the cap: the stored contributions are re-priced, no activity is read.
		{0, func(s *rules.ScoreEffect) { s.Points = 2 }, 0, "points within the cap"},
		// Eight days on, the week of the recent activity has passed: the labels decide over
		// their 30 days from the memory's times and marks. Five points an open would pass the
		// cap: only the opens are read.
		{8, func(s *rules.ScoreEffect) { s.Points = 5 }, opens, "points past the cap"},
		// Once per lead instead of per open: which opens give points changes, they are read.
		{0, func(s *rules.ScoreEffect) { s.Per, s.Cap = rules.PerLead, 0 }, opens, "per lead"},
		// Back to per open, then only the half-life: re-priced again.
		{0, func(s *rules.ScoreEffect) { s.Per = rules.PerEvent }, opens, "per event"},
		{0, func(s *rules.ScoreEffect) { s.HalfLifeDays = 10 }, 0, "half-life"},
	}
	for _, step := range steps {
		e.now = e.now.Add(time.Duration(step.days) * 24 * time.Hour)
		step.change(r.Score)
		def, _ := Def(r)
		if _, err := e.st.SaveRule(e.ctx, e.ws, 0, open.ID, def); err != nil {
			t.Fatal(err)
		}
		read := e.svc.ActivitiesRead()
		e.rescoreAll()
		if n := e.svc.ActivitiesRead() - read; n != int64(step.read) {
			t.Fatalf("%s: the re-score read %d activities, want %d (%d opens, %d activities in all)", step.why, n, step.read, opens, all)
		}
		job, _ := e.st.LatestRescoreJob(e.ctx, e.ws)
		if job.State != "done" || job.Done != len(ids) {
			t.Fatalf("%s: the re-scoring job: %+v", step.why, job)
		}
		edited, editedStates := e.snapshot(), e.states()
		e.exec(`UPDATE lead_scoring_state SET profile_hash = profile_hash + 1 WHERE workspace_id = $1`, e.ws)
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return e.svc.ScoreLeads(e.ctx, tx, e.ws, ids) }); err != nil {
			t.Fatal(err)
		}
		if full := e.snapshot(); fmt.Sprint(full.Scores, full.Rules, full.Leads) != fmt.Sprint(edited.Scores, edited.Rules, edited.Leads) || e.states() != editedStates {
			t.Fatalf("%s: the edit's re-score differs from scoring from scratch\nedited  %v\nscratch %v", step.why, edited, full)
		}
	}
	if n := e.count(`SELECT count(*) FROM score_ledger WHERE workspace_id = $1 AND lead_id = $2 AND rule_id = $3 AND rule_version = $4`,
		e.ws, ids[0], open.ID, open.Version+1); n == 0 {
		t.Fatal("no ledger line of the edited rule for the lead who opens emails")
	}
}

// TestOnlyChangedScoresAreWritten: scoring writes the named scores that changed — a new value,
// or 0 to remove one — and leaves the others' rows alone.
func TestOnlyChangedScoresAreWritten(t *testing.T) {
	if got := changedScores(map[int64]float64{1: 5, 2: 3, 3: 1}, map[int64]float64{1: 5, 2: 4, 4: 2, 5: 0}); fmt.Sprint(got) != "map[2:4 3:0 4:2]" {
		t.Fatalf("changed scores %v", got)
	}
	e := newEnv(t)
	ids := e.leads(1)
	var scoreIDs []int64
	rows, _ := e.db.Query(`SELECT id FROM score_names WHERE workspace_id = $1 ORDER BY id`, e.ws)
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		scoreIDs = append(scoreIDs, id)
	}
	rows.Close()
	if len(scoreIDs) == 0 {
		t.Fatal("no named scores")
	}
	save := func(scores map[int64]float64) string {
		err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			return tx.SaveScoring(e.ctx, e.ws, model.ScoringWrite{Scores: []model.LeadScoring{{LeadID: ids[0], Scores: scores}}})
		})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		rows, _ := e.db.Query(`SELECT score_id, value, xmin::text FROM lead_scores WHERE workspace_id = $1 AND lead_id = $2 ORDER BY score_id`, e.ws, ids[0])
		for rows.Next() {
			var id int64
			var v float64
			var x string
			rows.Scan(&id, &v, &x)
			out = append(out, fmt.Sprintf("%d=%v@%s", id, v, x))
		}
		rows.Close()
		return strings.Join(out, " ")
	}
	main := scoreIDs[0]
	other := main + 1000 // any id: lead_scores has no foreign key to the names
	first := save(map[int64]float64{main: 5, other: 3})
	second := save(map[int64]float64{other: 0})
	if !strings.HasPrefix(first, fmt.Sprintf("%d=5@", main)) || !strings.Contains(first, fmt.Sprintf("%d=3@", other)) {
		t.Fatalf("first write: %s", first)
	}
	if second != strings.Fields(first)[0] {
		t.Fatalf("removing one score: %s (was %s): the other row must stay as it was", second, first)
	}
}

// TestRescoreLeavesUnmovedLeadRowsAlone: an edit that changes a second named score (not the
// one lists sort by) and brings the leads' refresh times forward writes their scores and
// states, not their lead rows (the refresh time lives with the state: migration 0036).
func TestRescoreLeavesUnmovedLeadRowsAlone(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(12)
	var acts []model.ActivityRow
	for i, id := range ids {
		for k := 0; k < 3; k++ {
			acts = append(acts, model.ActivityRow{LeadID: id, InboundEventID: int64(10*i + k + 1), Source: "braze", EventType: eventKinds[0].typ,
				Name: eventKinds[0].name, OccurredAt: e.now.Add(-time.Duration(2+10*k+i) * 24 * time.Hour)})
		}
	}
	e.ingest(acts)
	opens := rules.Rule{Name: "Email engagement", Kind: rules.KindScore, Enabled: true,
		When:  rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: "event.type", Operator: "equals", Value: eventKinds[0].typ}}}},
		Score: &rules.ScoreEffect{Score: "Engagement", Points: 2, Per: rules.PerEvent, HalfLifeDays: 30}}
	def, _ := Def(opens)
	saved, err := e.st.SaveRule(e.ctx, e.ws, 0, 0, def)
	if err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	rows := func(q string) map[int64]string {
		out := map[int64]string{}
		r, err := e.db.Query(q, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for r.Next() {
			var id int64
			var v string
			r.Scan(&id, &v)
			out[id] = v
		}
		return out
	}
	leadRows := `SELECT id, xmin::text FROM leads WHERE workspace_id = $1`
	refreshes := `SELECT lead_id, COALESCE(refresh_at::text, '') FROM lead_scoring_state WHERE workspace_id = $1`
	engagement := `SELECT s.lead_id, s.value::text FROM lead_scores s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id
		WHERE s.workspace_id = $1 AND n.name = 'Engagement'`
	beforeRows, beforeRefresh, beforeScores := rows(leadRows), rows(refreshes), rows(engagement)
	if len(beforeScores) != len(ids) {
		t.Fatalf("%d leads have the Engagement score, want %d", len(beforeScores), len(ids))
	}

	opens.Score.Points = 8 // four times the points: decay moves a score by half a point sooner
	def, _ = Def(opens)
	if _, err := e.st.SaveRule(e.ctx, e.ws, 0, saved.ID, def); err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	afterRows, afterRefresh, afterScores := rows(leadRows), rows(refreshes), rows(engagement)
	moved := 0
	for _, id := range ids {
		if afterScores[id] == beforeScores[id] {
			t.Fatalf("lead %d: Engagement stayed %s", id, afterScores[id])
		}
		if afterRefresh[id] != beforeRefresh[id] {
			moved++
		}
		if afterRows[id] != beforeRows[id] {
			t.Fatalf("lead %d: its row was rewritten (xmin %s → %s) though nothing on it changed", id, beforeRows[id], afterRows[id])
		}
	}
	if moved == 0 {
		t.Fatalf("no refresh time moved: %v → %v", beforeRefresh, afterRefresh)
	}
}

// TestProfileChangeScoresANeverScoredLead: a lead without activity (never scored, no state)
// whose profile changes is scored again by the refresh worker: it gets a placeholder state due
// now, and scoring it gives its grade from the new title.
func TestProfileChangeScoresANeverScoredLead(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(2)
	if n := e.count(`SELECT count(*) FROM lead_scoring_state WHERE workspace_id = $1`, e.ws); n != 0 {
		t.Fatalf("%d states before any scoring", n)
	}
	grade := func() (g string) {
		e.db.QueryRow(`SELECT grade FROM leads WHERE workspace_id = $1 AND id = $2`, e.ws, ids[0]).Scan(&g)
		return
	}
	before := grade()
	size := 5000
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		return tx.UpdateLeadProfile(e.ctx, e.ws, ids[0], model.LeadProfile{Title: "VP Marketing", CompanySize: &size})
	}); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM lead_scoring_state WHERE workspace_id = $1 AND lead_id = $2 AND rules_version = -1
		AND refresh_at IS NOT NULL`, e.ws, ids[0]); n != 1 {
		t.Fatalf("the changed lead has %d placeholder states due, want 1", n)
	}
	e.exec(`UPDATE lead_scoring_state SET refresh_at = $2 WHERE workspace_id = $1`, e.ws, e.now.Add(-time.Minute)) // due by the test's clock
	n, err := e.svc.refresh(e.ctx, e.ws)
	if err != nil || n != 1 {
		t.Fatalf("refresh scored %d leads (%v), want 1", n, err)
	}
	if after := grade(); after == before {
		t.Fatalf("the grade stayed %s after the title changed to VP", after)
	}
	if n := e.count(`SELECT count(*) FROM lead_scoring_state WHERE workspace_id = $1 AND rules_version = -1`, e.ws); n != 0 {
		t.Fatal("the placeholder state was not replaced by the scoring")
	}
}

// TestScoringYieldsToAProcessingBacklog: scoring waits while more than ingestBacklogLimit
// events wait for processing, and tells the work runner so (IngestOverloaded), until the
// backlog is down.
func TestScoringYieldsToAProcessingBacklog(t *testing.T) {
	e := newEnv(t)
	check := func(caughtUp bool) {
		t.Helper()
		ok, err := e.svc.IngestCaughtUp(e.ctx)
		if err != nil || ok != caughtUp || e.svc.IngestOverloaded() == caughtUp {
			t.Fatalf("caught up %v, overloaded %v (%v), want caught up %v", ok, e.svc.IngestOverloaded(), err, caughtUp)
		}
	}
	check(true)
	e.exec(`INSERT INTO inbound_queue (workspace_id, event_row_id) SELECT $1, g FROM generate_series(1, $2) g`, e.ws, ingestBacklogLimit)
	check(true)
	e.exec(`INSERT INTO inbound_queue (workspace_id, event_row_id) VALUES ($1, $2)`, e.ws, ingestBacklogLimit+1)
	check(false)
	e.exec(`DELETE FROM inbound_queue WHERE workspace_id = $1 AND event_row_id <= 5000`, e.ws)
	check(true)
}
