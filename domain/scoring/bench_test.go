package scoring

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// Benchmarks of scoring against PostgreSQL (make bench runs them with fsync on). Sizes can be
// lowered for a quick look with PEREGRINE_BENCH_LEADS and PEREGRINE_BENCH_LIST_LEADS.

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchRules is a 50-rule set of the kinds marketers write: event names and types, property
// comparisons, counts over windows, profile conditions; three scores, labels and grades.
func benchRules() []rules.Rule {
	cond := func(field, op string, value any) rules.Node {
		return rules.Node{Condition: &rules.Condition{Field: field, Operator: op, Value: value}}
	}
	group := func(comb string, nodes ...rules.Node) rules.Group { return rules.Group{Combinator: comb, Rules: nodes} }
	var out []rules.Rule
	types := []string{"users.messages.email.Open", "users.messages.email.Click", "users.behaviors.CustomEvent", "users.messages.email.Delivery"}
	names := []string{"pricing", "demo", "webinar", "docs", "trial", "Opened email", "Clicked"}
	scores := []string{"Lead score", "Product interest", "Email engagement"}
	for i := 0; i < 40; i++ {
		var when rules.Group
		switch i % 5 {
		case 0:
			when = group("and", cond("event.type", "equals", types[i%len(types)]))
		case 1:
			when = group("and", cond("event.name", "contains", names[i%len(names)]))
		case 2:
			when = group("and", cond("event.name", "contains", names[i%len(names)]),
				rules.Node{Group: &rules.Group{Combinator: "or", Rules: []rules.Node{cond("profile.country", "in", []any{"CH", "DE"}), cond("profile.title", "contains", "vp")}}})
		case 3:
			c := &rules.Condition{Field: "event.property", Property: "campaign_name", Operator: "contains", Value: fmt.Sprintf("q%d", 1+i%4)}
			when = group("and", rules.Node{Condition: c})
		case 4:
			c := &rules.Condition{Field: "event.count", Operator: ">=", Value: 3, WindowDays: 14,
				Where: &rules.Group{Combinator: "and", Rules: []rules.Node{cond("event.type", "equals", types[i%len(types)])}}}
			when = group("and", rules.Node{Condition: c}, cond("event.type", "equals", types[i%len(types)]))
		}
		eff := &rules.ScoreEffect{Score: scores[i%3], Points: float64(1 + i%10), Per: rules.PerEvent, Cap: 50}
		if i%4 == 0 {
			eff.Per, eff.Cap = rules.PerLead, 0
		}
		if i%3 == 1 {
			eff.HalfLifeDays = 30
		}
		if i%7 == 2 {
			eff.ExpireDays = 60
		}
		out = append(out, rules.Rule{Name: fmt.Sprintf("Score rule %d", i), Kind: rules.KindScore, Enabled: true, When: when, Score: eff})
	}
	for i := 0; i < 6; i++ {
		when := group("and", cond("event.name", "contains", names[i%len(names)]), cond("event.time", "within_last_days", 7*(1+i%3)))
		out = append(out, rules.Rule{Name: fmt.Sprintf("Label %d", i), Kind: rules.KindLabel, Enabled: true, When: when,
			Label: &rules.LabelEffect{Name: fmt.Sprintf("Label %d", i), Color: "#6366f1"}})
	}
	grades := []rules.Group{
		group("and", cond("profile.title", "matches", `(?i)\b(vp|cto|head)\b`)),
		group("and", cond("account.employees", ">=", 200)),
		group("and", cond("profile.country", "in", []any{"CH", "DE", "FR"})),
		group("and", cond("account.industry", "equals", "Software")),
	}
	for i, g := range grades {
		out = append(out, rules.Rule{Name: fmt.Sprintf("Grade %d", i), Kind: rules.KindGrade, Enabled: true, When: g, Grade: &rules.GradeEffect{Points: 25}})
	}
	return out
}

// seedActivity fills a workspace with leads (perLead activities each over 90 days) across
// 2,000 accounts, in SQL.
func seedActivity(b *testing.B, e *env, leads, perLead int) {
	b.Helper()
	db := e.db
	steps := []string{
		`INSERT INTO accounts (workspace_id, domain, name, industry, employees)
		 SELECT $1, 'co' || g || '.example', 'Company ' || g, (ARRAY['Software','Retail','Finance','Health'])[1 + g % 4], (g * 37) % 5000
		 FROM generate_series(1, 2000) g`,
		fmt.Sprintf(`INSERT INTO leads (workspace_id, email, first_name, last_name, title, country, account_id)
		 SELECT $1, 'p' || g || '@co' || (1 + g %% 2000) || '.example', 'First' || g, 'Last' || g,
			(ARRAY['VP Marketing','Engineer','Head of Sales','Analyst','CTO'])[1 + g %% 5], (ARRAY['CH','DE','US','FR'])[1 + g %% 4],
			(SELECT id FROM accounts a WHERE a.workspace_id = $1 AND a.domain = 'co' || (1 + g %% 2000) || '.example')
		 FROM generate_series(1, %d) g`, leads),
		fmt.Sprintf(`INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name, campaign_name)
		 SELECT $1, l.id * 1000 + k, l.id, now() - (((l.id * 7919 + k * 104729) %% 129600) || ' minutes')::interval, 'braze',
			(ARRAY['users.messages.email.Open','users.messages.email.Click','users.behaviors.CustomEvent','users.messages.email.Delivery'])[1 + (l.id + k) %% 4],
			(ARRAY['[Email campaign engagement] Opened email Q1 launch','[Email campaign engagement] Clicked in email Q2 webinar on https://x',
				'[Custom Event tracked] pricing_page_viewed','[Nurturing] Received email Q3 docs','[Custom Event tracked] demo_requested',
				'[Custom Event tracked] trial_started'])[1 + (l.id * 3 + k) %% 6],
			'Q' || (1 + k %% 4) || ' campaign'
		 FROM leads l, generate_series(1, %d) k WHERE l.workspace_id = $1`, perLead),
		`UPDATE leads l SET activity_count = s.n, first_activity_at = s.first, last_activity_at = s.last
		 FROM (SELECT lead_id, count(*) AS n, min(occurred_at) AS first, max(occurred_at) AS last FROM activities WHERE workspace_id = $1 GROUP BY lead_id) s
		 WHERE l.workspace_id = $1 AND l.id = s.lead_id`,
		`INSERT INTO lead_activity (workspace_id, lead_id, activity_count, first_activity_at, last_activity_at)
		 SELECT $1, id, activity_count, first_activity_at, last_activity_at FROM leads WHERE workspace_id = $1 AND activity_count > 0`,
	}
	for _, q := range steps {
		if _, err := db.Exec(q, e.ws); err != nil {
			b.Fatalf("%s: %v", q[:min(60, len(q))], err)
		}
	}
	if _, err := db.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

func newBenchEnv(b *testing.B) *env {
	e := openEnv(b)
	e.svc.Now = time.Now
	return e
}

func rescoreToEnd(b *testing.B, e *env) time.Duration {
	b.Helper()
	start := time.Now()
	if _, err := e.runner.Drain(e.ctx, e.jobs); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// cpuMeter measures the CPU both sides spend from its start: the wall clock of a phase swings
// with the machine's neighbours more than its CPU does.
type cpuMeter struct {
	b         *testing.B
	db        *sql.DB
	goCPU, pg time.Duration
}

func startCPU(b *testing.B, db *sql.DB) cpuMeter {
	return cpuMeter{b: b, db: db, goCPU: pgtest.ProcessCPU(b), pg: pgtest.ServerCPU(b, db)}
}

// spent is the CPU this process and the database spent since the start.
func (m cpuMeter) spent() (goCPU, pg time.Duration) {
	return pgtest.ProcessCPU(m.b) - m.goCPU, pgtest.ServerCPU(m.b, m.db) - m.pg
}

// String is the CPU spent since the start.
func (m cpuMeter) String() string {
	goCPU, pg := m.spent()
	return fmt.Sprintf("Go CPU %.1f s, PostgreSQL CPU %.1f s", goCPU.Seconds(), pg.Seconds())
}

// BenchmarkScoring: a full re-score of PEREGRINE_BENCH_LEADS leads (100,000) with 20
// activities each (2,000,000) and 50 rules, first from nothing and then after one rule edit;
// then incremental scoring of new activities in ingest-sized batches.
func BenchmarkScoring(b *testing.B) {
	config.TuneRuntime(os.Getenv) // the collector as a server runs it
	leads := envInt("PEREGRINE_BENCH_LEADS", 100_000)
	e := newBenchEnv(b)
	// PEREGRINE_BENCH_PARTS tries another number of chunks a re-scoring run scores at once.
	e.svc.RescoreParts = envInt("PEREGRINE_BENCH_PARTS", e.svc.RescoreParts)
	// PEREGRINE_BENCH_CHUNK tries another number of leads per re-scoring chunk.
	e.svc.ChunkSize = envInt("PEREGRINE_BENCH_CHUNK", e.svc.ChunkSize)
	fmt.Printf("re-scoring %d chunks of %d leads at once\n", e.svc.RescoreParts, e.svc.ChunkSize)
	seedStart := time.Now()
	seedActivity(b, e, leads, 20)
	fmt.Printf("seeded %d leads, %d activities in %s\n", leads, leads*20, time.Since(seedStart).Round(time.Millisecond))
	// PEREGRINE_BENCH_SQL runs statements after seeding: a schema change (an index dropped,
	// a table's fillfactor) measured before it becomes a migration.
	if q := os.Getenv("PEREGRINE_BENCH_SQL"); q != "" {
		if _, err := e.db.Exec(q); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("ran PEREGRINE_BENCH_SQL: %s\n", q)
	}

	defs, err := Defs(benchRules())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.st.ImportRules(e.ctx, e.ws, 0, defs, true); err != nil {
			b.Fatal(err)
		}
		statements := statementTimes(b, e.db)
		stop, cpu := profileCPU(b, "first"), startCPU(b, e.db)
		first := rescoreToEnd(b, e)
		stop()
		firstCPU := cpu.String()
		statements("first scoring")
		// Autovacuum analyzes tables this size once they were written; do it now so the next
		// phases run with the plans a live server would use.
		if _, err := e.db.Exec(`ANALYZE`); err != nil {
			b.Fatal(err)
		}
		lines := e.countB(b, `SELECT count(*) FROM score_ledger WHERE workspace_id = $1`)
		stateBytes := e.countB(b, `SELECT avg(octet_length(contributions))::int FROM lead_scoring_state WHERE workspace_id = $1`)
		passBytes := e.countB(b, `SELECT avg(pg_column_size(p.*))::int FROM score_passes p WHERE workspace_id = $1`)
		fmt.Printf("full re-score, first scoring (%d ledger lines written in passes of %d bytes, states of %d bytes on average): %s = %.0f leads/s, %.0f activities/s; %s\n",
			lines, passBytes, stateBytes, first.Round(time.Millisecond), float64(leads)/first.Seconds(), float64(leads*20)/first.Seconds(), firstCPU)

		stored, _ := e.st.ListRules(e.ctx, e.ws)
		var r rules.Rule
		if err := json.Unmarshal(stored[1].Definition, &r); err != nil {
			b.Fatal(err)
		}
		r.Score.Points++
		def, _ := Def(r)
		if _, err := e.st.SaveRule(e.ctx, e.ws, 0, stored[1].ID, def); err != nil {
			b.Fatal(err)
		}
		pointsRead := e.svc.ActivitiesRead()
		statements = statementTimes(b, e.db)
		stop, cpu = profileCPU(b, "points"), startCPU(b, e.db)
		edit := rescoreToEnd(b, e)
		stop()
		editCPU := cpu.String()
		statements("points edit")
		lines2 := e.countB(b, `SELECT count(*) FROM score_ledger WHERE workspace_id = $1`) - lines
		fmt.Printf("full re-score after editing one rule's points (%d ledger lines written, %d activities read): %s = %.0f leads/s, %.0f activities/s; %s\n",
			lines2, e.svc.ActivitiesRead()-pointsRead, edit.Round(time.Millisecond), float64(leads)/edit.Seconds(), float64(leads*20)/edit.Seconds(), editCPU)
		b.ReportMetric(first.Seconds(), "s-first-rescore")
		b.ReportMetric(edit.Seconds(), "s-edit-rescore")

		// The points edit above re-prices what each lead holds; an edit of the conditions reads
		// the activities the rule can match (the same ones here: "demo" → "demo_req").
		r.When.Rules[0].Condition.Value = "demo_req"
		def, _ = Def(r)
		if _, err := e.st.SaveRule(e.ctx, e.ws, 0, stored[1].ID, def); err != nil {
			b.Fatal(err)
		}
		read := e.svc.ActivitiesRead()
		statements = statementTimes(b, e.db)
		stop, cpu = profileCPU(b, "conditions"), startCPU(b, e.db)
		conds := rescoreToEnd(b, e)
		stop()
		statements("conditions edit")
		fmt.Printf("full re-score after editing one rule's conditions (%d activities read): %s = %.0f leads/s; %s\n",
			e.svc.ActivitiesRead()-read, conds.Round(time.Millisecond), float64(leads)/conds.Seconds(), cpu)
		b.ReportMetric(conds.Seconds(), "s-conditions-edit-rescore")

		// A rule that only 1 % of leads can match: adding it, then editing it, re-scores those.
		if _, err := e.db.Exec(`INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name)
			SELECT $1, id * 1000 + 999, id, now() - interval '1 day', 'braze', 'users.behaviors.CustomEvent', '[Custom Event tracked] partner_summit'
			FROM leads WHERE workspace_id = $1 AND id % 100 = 0`, e.ws); err != nil {
			b.Fatal(err)
		}
		rare := rules.Rule{Name: "Partner summit", Kind: rules.KindScore, Enabled: true,
			When:  rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: "event.name", Operator: "contains", Value: "partner_summit"}}}},
			Score: &rules.ScoreEffect{Score: "Lead score", Points: 20, Per: rules.PerLead}}
		rareDef, _ := Def(rare)
		saved, err := e.st.SaveRule(e.ctx, e.ws, 0, 0, rareDef)
		if err != nil {
			b.Fatal(err)
		}
		added := rescoreToEnd(b, e)
		rare.Score.Points = 25
		rareDef, _ = Def(rare)
		if _, err := e.st.SaveRule(e.ctx, e.ws, 0, saved.ID, rareDef); err != nil {
			b.Fatal(err)
		}
		edited := rescoreToEnd(b, e)
		job, _ := e.st.LatestRescoreJob(e.ctx, e.ws)
		fmt.Printf("re-score after adding a rule that 1%% of leads can match: %s; after editing it: %s (%d leads re-scored)\n",
			added.Round(time.Millisecond), edited.Round(time.Millisecond), job.Total)

		// A preview of one more point, as the rule builder asks while a marketer types.
		r.Score.Points++
		var times []time.Duration
		var p Preview
		for k := 0; k < 10; k++ {
			t0 := time.Now()
			if p, err = e.svc.Preview(e.ctx, e.ws, stored[1].ID, r); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
		}
		slices.Sort(times)
		fmt.Printf("preview of an edit on %d leads (%d examined, a sample: %v): p50 %s, p95 %s\n", p.Total, p.Examined,
			p.Examined < p.Total, times[5].Round(time.Millisecond), times[9].Round(time.Millisecond))
	}
	b.StopTimer()

	// Incremental: batches of 1,000 new activities over random leads, as the ingest worker
	// scores them (insert + score in one transaction).
	rng := rand.New(rand.NewSource(1))
	ids := e.leadIDs(b)
	// Two shapes of traffic: every activity of a batch on a different lead (the worst case),
	// and bursts of 10 activities per lead (an email sent, opened, clicked, a visit…).
	var next atomic.Int64
	next.Store(1 << 40)
	// batch stores and scores perBatch new activities, perLead each, of leads drawn from pool.
	batch := func(rng *rand.Rand, pool []int64, perBatch, perLead int) {
		var acts []model.ActivityRow
		for j := 0; j < perBatch/perLead; j++ {
			lead := pool[rng.Intn(len(pool))]
			for r := 0; r < perLead; r++ {
				// Events arrive in time order, as Braze sends them.
				acts = append(acts, model.ActivityRow{LeadID: lead, InboundEventID: next.Add(1), OccurredAt: time.Now(),
					Source: "braze", EventType: "users.messages.email.Click", Name: "[Email campaign engagement] Clicked in email Q2 webinar on https://x", CampaignName: "Q2 webinar"})
			}
		}
		err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			if err := tx.InsertActivities(e.ctx, e.ws, acts); err != nil {
				return err
			}
			return e.svc.ScoreNew(e.ctx, tx, e.ws, acts)
		})
		if err != nil {
			b.Error(err)
		}
	}
	const batches, perBatch = 20, 1000
	for _, perLead := range []int{1, 10} {
		phase := ""
		if perLead != 1 {
			phase = strconv.Itoa(perLead)
		}
		stop := profileCPU(b, phase)
		statements := statementTimes(b, e.db)
		meter, start := startCPU(b, e.db), time.Now()
		for k := 0; k < batches; k++ {
			batch(rng, ids, perBatch, perLead)
		}
		inc := time.Since(start)
		cpu, pgCPU := meter.spent()
		stop()
		statements(fmt.Sprintf("%d per lead", perLead))
		// The CPU per activity of each side varies less than the wall clock on a shared
		// machine, and their sum bounds what two cores can do at all.
		n := float64(batches * perBatch)
		goPer, pgPer := float64(cpu.Microseconds())/n, float64(pgCPU.Microseconds())/n
		fmt.Printf("incremental scoring, %d activities in batches of %d, %d per lead (leads have ~20 activities): %s = %.0f activities/s, "+
			"Go CPU %.0f µs an activity, PostgreSQL CPU %.0f µs (two cores' ceiling %.0f/s)\n",
			batches*perBatch, perBatch, perLead, inc.Round(time.Millisecond), n/inc.Seconds(), goPer, pgPer, 2e6/(goPer+pgPer))
		b.ReportMetric(n/inc.Seconds(), fmt.Sprintf("incremental-activities/s-%d-per-lead", perLead))
	}
	// The scoring queue runs two workers, whose claims never share a lead: two streams of
	// batches over halves of the leads, at once.
	start := time.Now()
	stopWaits, waited := make(chan struct{}), make(chan string)
	go func() { waited <- store.SampleLockWaits(e.db, 10*time.Millisecond, stopWaits) }()
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng, half := rand.New(rand.NewSource(int64(2+w))), ids[w*len(ids)/2:(w+1)*len(ids)/2]
			for k := 0; k < batches/2; k++ {
				batch(rng, half, perBatch, 1)
			}
		}()
	}
	wg.Wait()
	inc := time.Since(start)
	fmt.Printf("incremental scoring, 1 per lead, two workers at once (as the scoring queue runs): %d activities in %s = %.0f activities/s; %s\n",
		batches*perBatch, inc.Round(time.Millisecond), float64(batches*perBatch)/inc.Seconds(), waitedFor(stopWaits, waited))
	b.ReportMetric(float64(batches*perBatch)/inc.Seconds(), "incremental-activities/s-1-per-lead-2-workers")
}

// statementTimes, when the test cluster runs with PGTEST_STATEMENTS=on, clears
// pg_stat_statements and returns a func that prints the statements that took PostgreSQL
// the most time since, each with its calls and rows; otherwise it returns a func that does
// nothing.
func statementTimes(b *testing.B, db *sql.DB) func(phase string) {
	if os.Getenv("PGTEST_STATEMENTS") != "on" {
		return func(string) {}
	}
	for _, q := range []string{`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`, `SELECT pg_stat_statements_reset()`} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	tables := tableWrites(b, db)
	return func(phase string) {
		defer tables(phase)
		rows, err := db.Query(`SELECT calls, rows, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
			FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 16`)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		fmt.Printf("statements of the phase %q, by PostgreSQL's time:\n", phase)
		for rows.Next() {
			var calls, n int64
			var ms float64
			var q string
			if err := rows.Scan(&calls, &n, &ms, &q); err != nil {
				b.Fatal(err)
			}
			fmt.Printf("  %7.0f ms %5d calls %7d rows  %s\n", ms, calls, n, q)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// profileCPU profiles a phase when PEREGRINE_BENCH_PROFILE names a file prefix: its CPU to
// PREFIX.PHASE.cpu, and the heap's allocations before and after it to PREFIX.PHASE.heap0
// and PREFIX.PHASE.heap1 (read them with go tool pprof -sample_index=alloc_space
// -diff_base …heap0 …heap1). The phases: "" (one activity per lead, PREFIX.cpu), "10"
// (ten per lead), "first" (the first scoring), "points" and "conditions" (the edits' re-scores).
// The returned func stops it.
func profileCPU(b *testing.B, phase string) func() {
	prefix := os.Getenv("PEREGRINE_BENCH_PROFILE")
	if prefix == "" {
		return func() {}
	}
	if phase != "" {
		prefix += "." + phase
	}
	create := func(suffix string) *os.File {
		f, err := os.Create(prefix + suffix)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	heap := func(suffix string) {
		f := create(suffix)
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	heap(".heap0")
	f := create(".cpu")
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		heap(".heap1")
	}
}

func (e *env) countB(b *testing.B, q string) int {
	return pgtest.Count(b, e.db, q, e.ws)
}

// tableWrites reads each table's row writes and returns a func that prints those since, with
// the index entries they cost: every insert and every update that is not HOT adds an entry to
// each of the table's indexes.
func tableWrites(b *testing.B, db *sql.DB) func(phase string) {
	const q = `SELECT s.relname, s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd, s.n_tup_del,
		(SELECT count(*) FROM pg_index i WHERE i.indrelid = s.relid)
		FROM pg_stat_user_tables s`
	type writes struct{ ins, upd, hot, del, indexes int64 }
	read := func() map[string]writes {
		// An idle backend reports its statistics within a second (PGSTAT_MIN_INTERVAL).
		time.Sleep(1100 * time.Millisecond)
		rows, err := db.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		out := map[string]writes{}
		for rows.Next() {
			var name string
			var w writes
			if err := rows.Scan(&name, &w.ins, &w.upd, &w.hot, &w.del, &w.indexes); err != nil {
				b.Fatal(err)
			}
			out[name] = w
		}
		return out
	}
	before := read()
	return func(phase string) {
		after := read()
		names := make([]string, 0, len(after))
		for name := range after {
			names = append(names, name)
		}
		slices.Sort(names)
		fmt.Printf("rows written in the phase %q (inserted, updated, of them HOT, deleted; index entries added):\n", phase)
		for _, name := range names {
			a, o := after[name], before[name]
			ins, upd, hot, del := a.ins-o.ins, a.upd-o.upd, a.hot-o.hot, a.del-o.del
			if ins+upd+del == 0 {
				continue
			}
			fmt.Printf("  %-28s %8d %8d %8d %8d  %9d (%d indexes)\n", name, ins, upd, hot, del, (ins+upd-hot)*a.indexes, a.indexes)
		}
	}
}

// waitedFor stops a lock-wait sampler and says what it saw.
func waitedFor(stop chan struct{}, waited <-chan string) string {
	close(stop)
	return "sessions waiting for another's lock: " + <-waited
}
