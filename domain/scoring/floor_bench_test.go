package scoring

import (
	"database/sql"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
)

// BenchmarkLeadPassFloor measures what PostgreSQL alone needs for the incremental scoring of
// one new activity per lead, with no Go scoring at all: the fewest statements a lead-pass
// must run (store the activity, lock and read the lead, read and write its state, move its
// place in the lead list and its main score, one ledger line, commit), in batches of 1,000
// leads over a scored workspace (PEREGRINE_BENCH_LEADS leads, 20,000 by default). It sets
// the ceiling of the incremental rows of BenchmarkScoring on this machine. The "narrow"
// layout replaces the update of leads (thirteen indexes) by one update of a table holding
// only the list's columns and four indexes. The "merged" layout keeps those columns in the
// state's row (five indexes), so that a pass writes one row where it writes two; the "hot"
// layout does the same and also updates a copy of leads that keeps only the indexes of
// columns a pass does not change, so that its update is HOT: the most a change of storage
// layout could gain, and what keeping the lead's columns where they are would cost.
// (Until migration 0045 a pass also wrote the main score as a lead_scores row, a step this
// floor had too.)
func BenchmarkLeadPassFloor(b *testing.B) {
	leads := envInt("PEREGRINE_BENCH_LEADS", 20_000)
	e := newBenchEnv(b)
	seedActivity(b, e, leads, 20)
	defs, err := Defs(benchRules())
	if err != nil {
		b.Fatal(err)
	}
	if err := e.st.ImportRules(e.ctx, e.ws, 0, defs, true); err != nil {
		b.Fatal(err)
	}
	rescoreToEnd(b, e)
	for _, q := range []string{
		`CREATE TABLE bench_lead_rank AS SELECT workspace_id, id AS lead_id, main_score, heat, last_activity_at, temperature FROM leads`,
		`ALTER TABLE bench_lead_rank ADD PRIMARY KEY (workspace_id, lead_id)`,
		`CREATE INDEX ON bench_lead_rank (workspace_id, main_score DESC, lead_id DESC)`,
		`CREATE INDEX ON bench_lead_rank (workspace_id, heat DESC, lead_id DESC)`,
		`CREATE INDEX ON bench_lead_rank (workspace_id, last_activity_at DESC, lead_id DESC)`,
		`CREATE INDEX ON bench_lead_rank (workspace_id, temperature, main_score DESC, lead_id DESC)`,
		`CREATE TABLE bench_lead_merged WITH (fillfactor = 70) AS SELECT r.*, s.contributions, s.refresh_at, s.rules_version, s.profile_hash
			FROM bench_lead_rank r JOIN lead_scoring_state s ON s.workspace_id = r.workspace_id AND s.lead_id = r.lead_id`,
		`ALTER TABLE bench_lead_merged ADD PRIMARY KEY (workspace_id, lead_id)`,
		`CREATE INDEX ON bench_lead_merged (workspace_id, main_score DESC, lead_id DESC)`,
		`CREATE INDEX ON bench_lead_merged (workspace_id, heat DESC, lead_id DESC)`,
		`CREATE INDEX ON bench_lead_merged (workspace_id, last_activity_at DESC, lead_id DESC)`,
		`CREATE INDEX ON bench_lead_merged (workspace_id, temperature, main_score DESC, lead_id DESC)`,
		`CREATE INDEX ON bench_lead_merged (refresh_at) WHERE refresh_at IS NOT NULL`,
		`CREATE TABLE bench_leads_hot WITH (fillfactor = 70) AS SELECT * FROM leads`,
		`ALTER TABLE bench_leads_hot ADD PRIMARY KEY (workspace_id, id)`,
		`ALTER TABLE bench_leads_hot ADD UNIQUE (workspace_id, email)`,
		`CREATE INDEX ON bench_leads_hot USING gin (labels)`,
		`CREATE INDEX ON bench_leads_hot (workspace_id, account_id, temperature)`,
		`CREATE INDEX ON bench_leads_hot (workspace_id, hot_since DESC) WHERE hot_since IS NOT NULL`,
		`CREATE INDEX ON bench_leads_hot (workspace_id, lower(owner_email)) WHERE owner_email <> ''`,
		`CREATE INDEX ON bench_leads_hot (workspace_id, pool_id) WHERE owner_email = '' AND pool_id IS NOT NULL`,
		`ANALYZE`,
	} {
		if _, err := e.db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	var mainScore int64
	if err := e.db.QueryRow(`SELECT id FROM score_names WHERE workspace_id = $1 AND is_main`, e.ws).Scan(&mainScore); err != nil {
		b.Fatal(err)
	}
	ids := e.leadIDs(b)
	f := &floor{ws: e.ws, mainScore: mainScore, next: 1 << 41}
	b.ResetTimer()
	for _, layout := range []string{"current", "narrow", "merged", "hot"} {
		steps := f.steps(layout)
		meter := startCPU(b, e.db)
		took, all := f.run(b, e.db, steps, [][]int64{ids})
		fmt.Printf("lead-pass floor, %s layout, one stream: %.0f lead-passes/s (%.1f ms a batch of 1,000), %s\n",
			layout, 20_000/all.Seconds(), float64(all.Microseconds())/20/1000, perPass(meter))
		for i, t := range took {
			name := "commit"
			if i < len(steps) {
				name = steps[i].name
			}
			fmt.Printf("  %-34s %6.1f ms a batch\n", name, float64(t.Microseconds())/20/1000)
		}
		meter = startCPU(b, e.db)
		_, all = f.run(b, e.db, steps, [][]int64{ids[:len(ids)/2], ids[len(ids)/2:]})
		fmt.Printf("lead-pass floor, %s layout, two streams at once: %.0f lead-passes/s, %s\n", layout, 20_000/all.Seconds(), perPass(meter))
		b.ReportMetric(20_000/all.Seconds(), "lead-passes/s-2-streams-"+layout)
	}
}

// perPass is the CPU of a floor run's 20,000 lead-passes, each side's per pass: their sum
// bounds what the machine's cores can do at all (two cores give 200 µs a pass at 10,000/s).
func perPass(m cpuMeter) string {
	goCPU, pg := m.spent()
	return fmt.Sprintf("CPU a pass: Go %.0f µs, PostgreSQL %.0f µs", float64(goCPU.Microseconds())/20_000, float64(pg.Microseconds())/20_000)
}

// floor runs the statements of BenchmarkLeadPassFloor.
type floor struct {
	ws, mainScore int64
	mu            sync.Mutex
	next          int64
}

type floorStep struct {
	name string
	run  func(tx *sql.Tx, batch []int64) error
}

func (f *floor) eventIDs(n int) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int64, n)
	for i := range out {
		f.next++
		out[i] = f.next
	}
	return out
}

func (f *floor) exec(q string) func(tx *sql.Tx, batch []int64) error {
	return func(tx *sql.Tx, batch []int64) error {
		_, err := tx.Exec(q, f.ws, pq.Array(batch))
		return err
	}
}

// read runs a query of the workspace and the batch and reads every row it returns.
func (f *floor) read(q string) func(tx *sql.Tx, batch []int64) error {
	return func(tx *sql.Tx, batch []int64) error {
		rows, err := tx.Query(q, f.ws, pq.Array(batch))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
}

func (f *floor) steps(layout string) []floorStep {
	steps := []floorStep{
		{"store the activities", func(tx *sql.Tx, batch []int64) error {
			_, err := tx.Exec(`INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name, campaign_name)
				SELECT $1, e, l, now(), 'braze', 'users.messages.email.Click', '[Email campaign engagement] Clicked in email Q2 webinar', 'Q2 webinar'
				FROM unnest($2::bigint[], $3::bigint[]) AS u(l, e)`, f.ws, pq.Array(batch), pq.Array(f.eventIDs(len(batch))))
			return err
		}},
		{"lock the leads", f.exec(`SELECT 1 FROM leads WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`)},
		// Probed by key per lead, as scoring reads them (see store's scoringLeads).
		{"read leads and states", f.read(`SELECT r.* FROM unnest($2::bigint[]) AS u(id) CROSS JOIN LATERAL (
				SELECT l.id, l.email, l.title, l.country, l.main_score, l.heat, l.labels, s.contributions
				FROM leads l JOIN lead_scoring_state s ON s.workspace_id = l.workspace_id AND s.lead_id = l.id
				WHERE l.workspace_id = $1 AND l.id = u.id LIMIT 1) r`)},
		{"write the states", f.exec(`UPDATE lead_scoring_state s SET contributions = s.contributions || '\x00'::bytea, refresh_at = now()
			FROM unnest($2::bigint[]) u(id) WHERE s.workspace_id = $1 AND s.lead_id = u.id AND s.lead_id = ANY($2)`)},
		{"one ledger line each", func(tx *sql.Tx, batch []int64) error {
			_, err := tx.Exec(`INSERT INTO score_passes (workspace_id, lead_id, score_ids, labels, rule_ids, rule_versions, activity_ids,
					earned_us, deltas, befores, afters, covers_from, covers_to, covered_activity_ids, covered_earned_us, covered_deltas)
				SELECT $1, u.id, ARRAY[$3::bigint], '{""}', '{1}', '{1}', '{NULL}', '{NULL}', '{5}', '{0}', '{5}', '{1}', '{0}', '{}', '{}', '{}'
				FROM unnest($2::bigint[]) u(id)`, f.ws, pq.Array(batch), f.mainScore)
			return err
		}},
	}
	if layout == "merged" || layout == "hot" {
		leads := map[bool]string{false: "leads", true: "bench_leads_hot"}[layout == "hot"]
		steps[2] = floorStep{"read leads and states", f.read(`SELECT r.* FROM unnest($2::bigint[]) AS u(id) CROSS JOIN LATERAL (
				SELECT l.id, l.email, l.title, l.country, m.main_score, m.heat, l.labels, m.contributions
				FROM ` + leads + ` l JOIN bench_lead_merged m ON m.workspace_id = l.workspace_id AND m.lead_id = l.id
				WHERE l.workspace_id = $1 AND l.id = u.id LIMIT 1) r`)}
		steps = slices.Delete(steps, 3, 4)
		if layout == "hot" {
			steps[1] = floorStep{"lock the leads", f.exec(`SELECT 1 FROM bench_leads_hot WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`)}
			steps = append(steps, floorStep{"update the leads (HOT)", f.exec(`UPDATE bench_leads_hot l
				SET main_score = main_score + 1, heat = heat + 0.5, last_activity_at = now(), activity_count = activity_count + 1
				FROM unnest($2::bigint[]) u(id) WHERE l.workspace_id = $1 AND l.id = u.id AND l.id = ANY($2)`)})
		}
		return append(steps, floorStep{"update list columns and states", f.exec(`UPDATE bench_lead_merged m
			SET main_score = main_score + 1, heat = heat + 0.5, last_activity_at = now(),
				contributions = m.contributions || '\x00'::bytea, refresh_at = now()
			FROM unnest($2::bigint[]) u(id) WHERE m.workspace_id = $1 AND m.lead_id = u.id AND m.lead_id = ANY($2)`)})
	}
	if layout == "narrow" {
		return append(steps, floorStep{"update the narrow list table", f.exec(`UPDATE bench_lead_rank r
			SET main_score = main_score + 1, heat = heat + 0.5, last_activity_at = now()
			FROM unnest($2::bigint[]) u(id) WHERE r.workspace_id = $1 AND r.lead_id = u.id AND r.lead_id = ANY($2)`)})
	}
	return append(steps,
		floorStep{"update the leads' list columns", f.exec(`UPDATE leads l
			SET main_score = main_score + 1, heat = heat + 0.5, last_activity_at = now(), activity_count = activity_count + 1
			FROM unnest($2::bigint[]) u(id) WHERE l.workspace_id = $1 AND l.id = u.id AND l.id = ANY($2)`)})
}

// run runs 20 batches of 1,000 leads drawn from the pools, a stream per pool at once, each
// batch in a transaction of its own, and returns each step's time (summed over the streams)
// and the wall time.
func (f *floor) run(b *testing.B, db *sql.DB, steps []floorStep, pools [][]int64) ([]time.Duration, time.Duration) {
	took := make([]time.Duration, len(steps)+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for p, pool := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(p + 1)))
			for k := 0; k < 20/len(pools); k++ {
				batch := rng.Perm(len(pool))[:1000]
				leads := make([]int64, len(batch))
				for i, j := range batch {
					leads[i] = pool[j]
				}
				slices.Sort(leads)
				mine, err := f.batch(db, steps, leads)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				for i := range took {
					took[i] += mine[i]
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return took, time.Since(start)
}

func (f *floor) batch(db *sql.DB, steps []floorStep, leads []int64) ([]time.Duration, error) {
	took := make([]time.Duration, len(steps)+1)
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for i, s := range steps {
		t0 := time.Now()
		if err := s.run(tx, leads); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		took[i] = time.Since(t0)
	}
	t0 := time.Now()
	err = tx.Commit()
	took[len(steps)] = time.Since(t0)
	return took, err
}

func (e *env) leadIDs(b *testing.B) []int64 {
	rows, err := e.db.Query(`SELECT id FROM leads WHERE workspace_id = $1 ORDER BY id`, e.ws)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return ids
}
