package milestones_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/milestones"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkReports measures the attribution report and the dashboard on PEREGRINE_BENCH_LEADS
// leads (100,000) with 20 activities each (2,000,000: email opens and clicks of 12 campaigns,
// push, web pages with UTM parameters, custom events) and a crossing for every fifth lead
// (20,000), credited by the rebuild job from the activities. It prints the time to credit
// every crossing and p50/p95 of a 90-day report per dimension and of the dashboard.
func BenchmarkReports(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("PEREGRINE_BENCH_LEADS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db, _ := sql.Open("postgres", url)
	defer db.Close()
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "bench", Name: "Bench"},
		model.User{Email: "bench@example.com", Name: "Bench", PasswordHash: "x"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seed(b, db, ws.ID, n)
	b.Logf("seeded %d leads, %d activities in %s", n, 20*n, time.Since(start).Round(time.Second))
	var main int64
	db.QueryRow(`INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Lead score', true)
		ON CONFLICT (workspace_id, name) DO UPDATE SET is_main = true RETURNING id`, ws.ID).Scan(&main)
	mql, err := st.CreateMilestone(ctx, ws.ID, attribution.Milestone{Name: "MQL", Kind: attribution.KindScore, ScoreID: main, Threshold: 60})
	if err != nil {
		b.Fatal(err)
	}
	// A crossing for every fifth lead, in the last 180 days, after its activities began.
	exec(b, db, `INSERT INTO milestone_crossings (workspace_id, milestone_id, lead_id, account_id, crossed_at)
		SELECT $1, $2, l.id, l.account_id, now() - ((l.id % 180) || ' days')::interval
		FROM leads l WHERE l.workspace_id = $1 AND l.id % 5 = 0`, ws.ID, mql)
	svc := milestones.NewService(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	start = time.Now()
	if _, err := svc.Rebuild(ctx, store.Job{WorkspaceID: ws.ID, Kind: store.JobAttributionRebuild}); err != nil {
		b.Fatal(err)
	}
	crossings := pgtest.Count(b, db, `SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1`, ws.ID)
	credits := pgtest.Count(b, db, `SELECT count(*) FROM attribution_credits WHERE workspace_id = $1`, ws.ID)
	took := time.Since(start)
	fmt.Printf("credited %d crossings (%d credit rows) from the activities in %s: %.0f crossings/s\n", crossings, credits,
		took.Round(time.Millisecond), float64(crossings)/took.Seconds())
	exec(b, db, `ANALYZE`)

	to := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	for _, d := range attribution.Dimensions {
		q := store.ReportQuery{WorkspaceID: ws.ID, MilestoneID: mql, Dimension: d, From: to.AddDate(0, 0, -90), To: to}
		var r store.Report
		p50, p95 := measure(b, 20, func() error {
			var err error
			r, err = st.AttributionReport(ctx, q)
			return err
		})
		fmt.Printf("report by %-8s 90 days: p50 %6.1f ms  p95 %6.1f ms  (%d crossings, %d rows)\n", d, p50, p95, r.Crossings, len(r.Rows))
	}
	p50, p95 := measure(b, 20, func() error {
		_, err := st.Dashboard(ctx, store.DashboardScope{WorkspaceID: ws.ID}, main, time.Now())
		return err
	})
	fmt.Printf("dashboard (%d leads):      p50 %6.1f ms  p95 %6.1f ms\n", n, p50, p95)
	p50, p95 = measure(b, 20, func() error {
		_, err := st.PipelineHealth(ctx, ws.ID, time.Now().AddDate(0, 0, -14))
		return err
	})
	fmt.Printf("pipeline health:           p50 %6.1f ms  p95 %6.1f ms\n", p50, p95)
}

// seed writes accounts, leads, activities and a week of ledger lines with SQL.
func seed(b *testing.B, db *sql.DB, ws int64, n int) {
	exec(b, db, `INSERT INTO accounts (workspace_id, domain, name) SELECT $1, 'co' || g || '.example', 'Company ' || g
		FROM generate_series(1, $2::int / 10) g`, ws, n)
	exec(b, db, `INSERT INTO leads (workspace_id, email, account_id, main_score, grade, temperature, last_activity_at, hot_since, created_at)
		SELECT $1, 'p' || g || '@co' || (1 + g % ($2::int / 10)) || '.example',
			(SELECT min(id) FROM accounts WHERE workspace_id = $1) + g % ($2::int / 10),
			round((100 * power(random(), 3))::numeric, 2), (ARRAY['A','B','C','D','E','F'])[1 + g % 6],
			(ARRAY['hot','warm','neutral','cold'])[1 + g % 4], now() - ((g % 30) || ' days')::interval,
			CASE WHEN g % 4 = 0 THEN now() - ((g % 20) || ' days')::interval END, now() - interval '400 days'
		FROM generate_series(1, $2::int) g`, ws, n)
	exec(b, db, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name, campaign_name, canvas_name, properties)
		SELECT $1, l.id * 20 + k, l.id, now() - (((l.id + k * 7) % 240) || ' days')::interval - (k || ' hours')::interval,
			CASE WHEN k % 4 = 3 THEN 'web' ELSE 'braze' END,
			(ARRAY['users.messages.email.Open','users.messages.email.Click','users.messages.pushnotification.Open','web.page_view','users.behaviors.CustomEvent'])[1 + k % 5],
			'activity ' || k,
			CASE WHEN k % 5 IN (0, 1) THEN 'Campaign ' || (1 + (l.id + k) % 12) ELSE '' END,
			CASE WHEN k % 5 = 2 THEN 'Canvas ' || (1 + l.id % 4) ELSE '' END,
			CASE WHEN k % 5 = 3 THEN jsonb_build_object('path', '/page-' || (l.id + k) % 40, 'utm_source', (ARRAY['google','linkedin','braze',''])[1 + k % 4],
				'utm_medium', (ARRAY['cpc','social','email',''])[1 + k % 4]) ELSE '{}'::jsonb END
		FROM leads l, generate_series(0, 19) k WHERE l.workspace_id = $1`, ws)
	exec(b, db, `INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Lead score', true) ON CONFLICT DO NOTHING`, ws)
	exec(b, db, `INSERT INTO score_passes (workspace_id, lead_id, score_ids, labels, rule_ids, rule_versions, activity_ids, earned_us,
			deltas, befores, afters, covers_from, covers_to, covered_activity_ids, covered_earned_us, covered_deltas, created_at,
			main_score_id, main_delta, main_change)
		SELECT $1, l.id, ARRAY[m.id], '{""}', '{1}', '{1}', '{NULL}', '{NULL}',
			'{5}', ARRAY[l.main_score - 5], ARRAY[l.main_score], '{1}', '{0}', '{}', '{}', '{}', now() - ((l.id % 14) || ' days')::interval,
			m.id, 5, 5
		FROM (SELECT id FROM score_names WHERE workspace_id = $1 AND is_main) m, leads l WHERE l.workspace_id = $1`, ws)
	exec(b, db, `INSERT INTO ingest_counters (workspace_id, hour, metric, event_type, count)
		SELECT $1, date_trunc('hour', now()) - (h || ' hours')::interval, 'received', t, 1000
		FROM generate_series(0, 24 * 14) h, unnest(ARRAY['users.messages.email.Open', 'web']) t`, ws)
}

func exec(b *testing.B, db *sql.DB, q string, args ...any) {
	b.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		b.Fatal(err)
	}
}

// measure runs fn n times after a warm-up and returns p50 and p95 in milliseconds.
func measure(b *testing.B, n int, fn func() error) (float64, float64) {
	if err := fn(); err != nil {
		b.Fatal(err)
	}
	times := make([]float64, n)
	for i := range times {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		times[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	slices.Sort(times)
	return times[n/2], times[n*95/100]
}
