package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// BenchmarkLeadList measures the lead list's query on PEREGRINE_BENCH_LIST_LEADS leads
// (1,000,000) with scoring columns filled: a page of 50 with the capped count, for the
// filters and orders the list offers. It prints p50 and p95 per case.
func BenchmarkLeadList(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PEREGRINE_BENCH_LIST_LEADS")); err == nil && v > 0 {
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
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "list", Name: "List"},
		model.User{Email: "list@example.com", Name: "List", PasswordHash: "x"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO accounts (workspace_id, domain, name) SELECT $1, 'co' || g || '.example', 'Company ' || g FROM generate_series(1, 10000) g`,
		fmt.Sprintf(`INSERT INTO leads (workspace_id, email, first_name, last_name, company, account_id, main_score, grade, temperature,
			heat, labels, last_activity_at, activity_count, owner_name, owner_email)
		SELECT $1, 'person' || g || '@co' || (1 + g %% 10000) || '.example', 'First' || g, 'Last' || g, 'Company ' || (1 + g %% 10000),
			(SELECT min(id) FROM accounts WHERE workspace_id = $1) + g %% 10000,
			round((100 * power(random(), 3))::numeric, 2), (ARRAY['A','B','C','D','E','F','F','F'])[1 + g %% 8],
			(ARRAY['hot','warm','neutral','neutral','cold','cold','frozen','frozen','frozen','frozen'])[1 + g %% 10],
			300 + 60 * random(),
			CASE WHEN g %% 50 = 0 THEN ARRAY['Pricing this week'] WHEN g %% 13 = 0 THEN ARRAY['Engaged'] ELSE '{}'::text[] END,
			now() - ((g %% 120) || ' days')::interval, 1 + g %% 40, (ARRAY['Sam','Alex','Kim','Robin'])[1 + g %% 4],
			(ARRAY['sam','alex','kim','robin'])[1 + g %% 4] || '@list.example'
		FROM generate_series(1, %d) g`, n),
		`ANALYZE`,
	} {
		args := []any{ws.ID}
		if q == `ANALYZE` {
			args = nil
		}
		if _, err := db.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Printf("seeded %d leads in %s\n", n, time.Since(start).Round(time.Millisecond))
	min := 50.0
	// Kim, a sales user kept to her own leads, owns a quarter of them (the worst case for the
	// data-access condition: her leads are not a small set).
	kim := store.Viewer{WorkspaceID: ws.ID, OwnOnly: true, UserID: 1 << 40, Email: "kim@list.example"}
	cases := []struct {
		name string
		f    store.LeadFilter
		v    *store.Viewer
	}{
		{"default order (main score), no filter", store.LeadFilter{}, nil},
		{"grade A, by score", store.LeadFilter{Grades: []string{"A"}}, nil},
		{"hot or warm, by score", store.LeadFilter{Temperatures: []string{"hot", "warm"}}, nil},
		{"label 'Pricing this week' (2%), by score", store.LeadFilter{Labels: []string{"Pricing this week"}}, nil},
		{"score ≥ 50, by score", store.LeadFilter{MinScore: &min}, nil},
		{"active in 7 days, by score", store.LeadFilter{ActiveDays: 7}, nil},
		{"grade B, by temperature", store.LeadFilter{Grades: []string{"B"}, Sort: store.SortTemperature}, nil},
		{"by grade", store.LeadFilter{Sort: store.SortGrade}, nil},
		{"by last activity, owner Kim", store.LeadFilter{Sort: store.SortActivity, Owner: "kim"}, nil},
		{"account filter, by score", store.LeadFilter{AccountID: 1234}, nil},
		{"search 'person4242', by score", store.LeadFilter{Search: "person4242"}, nil},
		{"grade A, page 20", store.LeadFilter{Grades: []string{"A"}, Offset: 950}, nil},
		{"own leads only (25%), by score", store.LeadFilter{}, &kim},
		{"own leads only, hot or warm, by score", store.LeadFilter{Temperatures: []string{"hot", "warm"}}, &kim},
		{"own leads only, search 'person4242'", store.LeadFilter{Search: "person4242"}, &kim},
	}
	b.ResetTimer()
	for _, c := range cases {
		var times []time.Duration
		for i := 0; i < 40; i++ {
			f := c.f
			f.Limit = 50
			t0 := time.Now()
			v := store.Everyone(ws.ID)
			if c.v != nil {
				v = *c.v
			}
			rows, _, _, err := st.ListLeadsCapped(ctx, v, f)
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 && len(rows) == 0 {
				b.Fatalf("%s: no rows", c.name)
			}
			times = append(times, time.Since(t0))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		fmt.Printf("lead list, %-42s p50 %6.1f ms  p95 %6.1f ms\n", c.name, ms(times[len(times)/2]), ms(times[len(times)*95/100]))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
