package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestLeadsAfterWalksTheListInOrder: paging by position through every sort (ties on the sort
// value, leads without activity, a named score some leads lack) gives the list's order, each
// lead once.
func TestLeadsAfterWalksTheListInOrder(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "k", Name: "K"}, model.User{Email: "k@k.example", Name: "K", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `INSERT INTO leads (workspace_id, email, main_score, grade, heat, temperature, last_activity_at)
		SELECT $1, 'p' || g || '@k.example', (g % 7) * 2.5, (ARRAY['A','B','F','C'])[1 + g % 4], (g % 5) * 1.25,
			(ARRAY['hot','warm'])[1 + g % 2], CASE WHEN g % 3 = 0 THEN NULL ELSE now() - ((g % 4) || ' hours')::interval END
		FROM generate_series(1, 57) g`, ws.ID)
	var score int64
	if err := db.QueryRow(`INSERT INTO score_names (workspace_id, name) VALUES ($1, 'Other') RETURNING id`, ws.ID).Scan(&score); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `INSERT INTO lead_scores (workspace_id, score_id, lead_id, value)
		SELECT $1, $2, id, (id % 4) FROM leads WHERE workspace_id = $1 AND id % 2 = 0`, ws.ID, score)
	var main int64 // sorting by the main score's id reads it from the lead (migrations/0045)
	if err := db.QueryRow(`INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Lead score', true) RETURNING id`, ws.ID).Scan(&main); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.LeadFilter{{Sort: store.SortScore}, {Sort: store.SortGrade}, {Sort: store.SortTemperature},
		{Sort: store.SortActivity}, {ScoreID: score}, {ScoreID: main}, {Sort: store.SortScore, Temperatures: []string{"hot"}}} {
		f.Limit = 1000
		full, total, err := st.ListLeads(ctx, store.Everyone(ws.ID), f)
		if err != nil {
			t.Fatal(err)
		}
		var walked []int64
		var after *store.LeadCursor
		for pages := 0; ; pages++ {
			leads, cursors, n, _, err := st.LeadsAfter(ctx, store.Everyone(ws.ID), f, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			if n != total {
				t.Fatalf("%+v: total %d, want %d", f, n, total)
			}
			for _, l := range leads {
				walked = append(walked, l.ID)
			}
			if len(leads) < 7 || pages > 20 {
				break
			}
			after = &cursors[len(cursors)-1]
		}
		want := make([]int64, len(full))
		for i, l := range full {
			want[i] = l.ID
		}
		if fmt.Sprint(walked) != fmt.Sprint(want) {
			t.Fatalf("sort %+v: paged\n%v\nwant\n%v", f, walked, want)
		}
		if f.ScoreID == main {
			byScore, _, _ := st.ListLeads(ctx, store.Everyone(ws.ID), store.LeadFilter{Sort: store.SortScore, Limit: 1000})
			if fmt.Sprint(byScore) != fmt.Sprint(full) {
				t.Fatal("sorted by the main score's id, the list is not in main score order")
			}
		}
	}
}
