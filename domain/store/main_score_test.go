package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/migrations"
)

// TestMainScoreKeptOnce: the main score lives in leads.main_score and accounts.main_score
// only (migrations/0045). The migration folds existing rows into the columns; scoring's
// writes and roll-ups keep it there; the views show every score, the main one included;
// making another score main moves both scores' values, and nothing of another workspace.
func TestMainScoreKeptOnce(t *testing.T) {
	ctx := context.Background()
	st, db := pgtest.NewStoreAndDB(t)
	a, b := seedTenant(t, st, "a"), seedTenant(t, st, "b")
	type names struct{ main, eng int64 }
	setup := func(ws int64) names {
		t.Helper()
		// A new workspace has its main score, "Lead score".
		pgtest.Exec(t, db, `INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Engagement', false)`, ws)
		var n names
		if err := db.QueryRow(`SELECT (SELECT id FROM score_names WHERE workspace_id = $1 AND is_main), (SELECT id FROM score_names WHERE workspace_id = $1 AND name = 'Engagement')`, ws).Scan(&n.main, &n.eng); err != nil {
			t.Fatal(err)
		}
		return n
	}
	na, nb := setup(a.ws.ID), setup(b.ws.ID)
	// One account per workspace with the seeded lead and a second one.
	account := func(ws, lead int64) (int64, int64) {
		t.Helper()
		var acc, second int64
		if err := db.QueryRow(`INSERT INTO accounts (workspace_id, domain, name) VALUES ($1, 'acme.example', 'Acme') RETURNING id`, ws).Scan(&acc); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`INSERT INTO leads (workspace_id, email, account_id) VALUES ($1, 'second@acme.example', $2) RETURNING id`, ws, acc).Scan(&second); err != nil {
			t.Fatal(err)
		}
		pgtest.Exec(t, db, `UPDATE leads SET account_id = $3 WHERE workspace_id = $1 AND id = $2`, ws, lead, acc)
		return acc, second
	}
	accA, secondA := account(a.ws.ID, a.lead.ID)
	accB, _ := account(b.ws.ID, b.lead.ID)
	values := func(ws int64) string {
		t.Helper()
		leads := textRows(t, db, `SELECT l.email || ' main ' || l.main_score || ' rows ' ||
				COALESCE((SELECT string_agg(n.name || '=' || s.value, ',' ORDER BY n.name) FROM lead_scores s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id
					WHERE s.workspace_id = l.workspace_id AND s.lead_id = l.id), '-') ||
				' all ' || COALESCE((SELECT string_agg(n.name || '=' || v.value, ',' ORDER BY n.name) FROM lead_score_values v JOIN score_names n ON n.workspace_id = v.workspace_id AND n.id = v.score_id
					WHERE v.workspace_id = l.workspace_id AND v.lead_id = l.id), '-')
			FROM leads l WHERE l.workspace_id = $1 AND l.account_id IS NOT NULL ORDER BY l.email`, ws)
		accounts := textRows(t, db, `SELECT 'account main ' || a.main_score || ' rows ' ||
				COALESCE((SELECT string_agg(n.name || '=' || s.value, ',' ORDER BY n.name) FROM account_scores s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id
					WHERE s.workspace_id = a.workspace_id AND s.account_id = a.id), '-') ||
				' all ' || COALESCE((SELECT string_agg(n.name || '=' || v.value, ',' ORDER BY n.name) FROM account_score_values v JOIN score_names n ON n.workspace_id = v.workspace_id AND n.id = v.score_id
					WHERE v.workspace_id = a.workspace_id AND v.account_id = a.id), '-')
			FROM accounts a WHERE a.workspace_id = $1`, ws)
		return fmt.Sprint(leads, accounts)
	}
	check := func(step string, ws int64, want string) {
		t.Helper()
		if got := values(ws); got != want {
			t.Fatalf("%s:\n got  %s\n want %s", step, got, want)
		}
	}

	// The migration, on rows as scoring wrote them before: the main score both in the rows and
	// the columns (here out of step, to see which one wins: the rows).
	for _, w := range []struct {
		ws, lead, acc int64
		n             names
	}{{a.ws.ID, a.lead.ID, accA, na}, {b.ws.ID, b.lead.ID, accB, nb}} {
		pgtest.Exec(t, db, `INSERT INTO lead_scores (workspace_id, lead_id, score_id, value) VALUES ($1, $2, $3, 7), ($1, $2, $4, 3)`, w.ws, w.lead, w.n.main, w.n.eng)
		pgtest.Exec(t, db, `INSERT INTO account_scores (workspace_id, account_id, score_id, value) VALUES ($1, $2, $3, 9), ($1, $2, $4, 4)`, w.ws, w.acc, w.n.main, w.n.eng)
	}
	pgtest.Exec(t, db, `DROP VIEW lead_score_values`)
	pgtest.Exec(t, db, `DROP VIEW account_score_values`)
	migration, err := migrations.FS.ReadFile("0045_main_score_once.sql")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, string(migration))
	migrated := func(name string) string {
		return "[" + name + "-lead@example.com main 7 rows Engagement=3 all Engagement=3,Lead score=7 second@acme.example main 0 rows - all -] " +
			"[account main 9 rows Engagement=4 all Engagement=4,Lead score=9]"
	}
	check("migrated", a.ws.ID, migrated("a"))
	check("migrated, workspace b", b.ws.ID, migrated("b"))

	// Scoring's reads and writes, in workspace a.
	err = st.InTx(ctx, func(tx *store.Tx) error {
		leads, err := tx.ScoringLeads(ctx, a.ws.ID, []int64{a.lead.ID})
		if err != nil {
			return err
		}
		if got := fmt.Sprint(leads[0].Scores); got != fmt.Sprint(map[int64]float64{na.main: 7, na.eng: 3}) {
			return fmt.Errorf("a lead's scores as scoring reads them: %s", got)
		}
		w := model.ScoringWrite{MainScoreID: na.main,
			Leads:  []model.LeadScoring{{LeadID: secondA, MainScore: 5, Grade: "D", Temperature: "cold"}},
			Scores: []model.LeadScoring{{LeadID: secondA, Scores: map[int64]float64{na.main: 5, na.eng: 2}}}}
		if err := tx.SaveScoring(ctx, a.ws.ID, w); err != nil {
			return err
		}
		return tx.AddAccountScores(ctx, a.ws.ID, []store.AccountDelta{{AccountID: accA, ScoreID: na.eng, Delta: 2}, {AccountID: accA, ScoreID: na.main, Delta: 5}}, na.main)
	})
	if err != nil {
		t.Fatal(err)
	}
	check("scored", a.ws.ID, "[a-lead@example.com main 7 rows Engagement=3 all Engagement=3,Lead score=7 second@acme.example main 5 rows Engagement=2 all Engagement=2,Lead score=5] "+
		"[account main 14 rows Engagement=6 all Engagement=6,Lead score=14]")

	// A roll-up from the people: the account's main score from theirs (max, to see the rule applied).
	pgtest.Exec(t, db, `UPDATE score_names SET rollup = 'max' WHERE workspace_id = $1 AND is_main`, a.ws.ID)
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.RollupAccounts(ctx, a.ws.ID, []int64{accA}, na.main) }); err != nil {
		t.Fatal(err)
	}
	check("rolled up", a.ws.ID, "[a-lead@example.com main 7 rows Engagement=3 all Engagement=3,Lead score=7 second@acme.example main 5 rows Engagement=2 all Engagement=2,Lead score=5] "+
		"[account main 7 rows Engagement=5 all Engagement=5,Lead score=7]")
	pgtest.Exec(t, db, `UPDATE score_names SET rollup = 'sum' WHERE workspace_id = $1 AND is_main`, a.ws.ID)

	// Engagement becomes the main score: each score keeps its values.
	if err := st.UpdateScoreName(ctx, a.ws.ID, na.eng, "sum", true); err != nil {
		t.Fatal(err)
	}
	switched := "[a-lead@example.com main 3 rows Lead score=7 all Engagement=3,Lead score=7 second@acme.example main 2 rows Lead score=5 all Engagement=2,Lead score=5] " +
		"[account main 5 rows Lead score=7 all Engagement=5,Lead score=7]"
	check("Engagement made main", a.ws.ID, switched)
	// Saving the main score as main again moves nothing.
	if err := st.UpdateScoreName(ctx, a.ws.ID, na.eng, "sum", true); err != nil {
		t.Fatal(err)
	}
	check("Engagement made main again", a.ws.ID, switched)
	check("workspace b throughout", b.ws.ID, migrated("b"))
}

// textRows reads a query's one text column.
func textRows(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestScoringLeadsReadTheirNamedScores: scoring reads each lead of a batch with its own named
// scores (the main one from its column), whatever order the ids come in and with no lead's
// rows given to another, nor any of another workspace.
func TestScoringLeadsReadTheirNamedScores(t *testing.T) {
	ctx := context.Background()
	st, db := pgtest.NewStoreAndDB(t)
	a, b := seedTenant(t, st, "a"), seedTenant(t, st, "b")
	scoreIDs := func(ws int64) (main, eng, fit int64) {
		t.Helper()
		pgtest.Exec(t, db, `INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Engagement', false), ($1, 'Fit', false)`, ws)
		if err := db.QueryRow(`SELECT (SELECT id FROM score_names WHERE workspace_id = $1 AND is_main),
			(SELECT id FROM score_names WHERE workspace_id = $1 AND name = 'Engagement'), (SELECT id FROM score_names WHERE workspace_id = $1 AND name = 'Fit')`,
			ws).Scan(&main, &eng, &fit); err != nil {
			t.Fatal(err)
		}
		return main, eng, fit
	}
	mainA, engA, fitA := scoreIDs(a.ws.ID)
	_, engB, _ := scoreIDs(b.ws.ID)
	lead := func(ws int64, email string, main float64) int64 {
		t.Helper()
		var id int64
		if err := db.QueryRow(`INSERT INTO leads (workspace_id, email, main_score) VALUES ($1, $2, $3) RETURNING id`, ws, email, main).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	both, none, one := lead(a.ws.ID, "both@x.example", 12), lead(a.ws.ID, "none@x.example", 0), lead(a.ws.ID, "one@x.example", 4)
	pgtest.Exec(t, db, `INSERT INTO lead_scores (workspace_id, lead_id, score_id, value) VALUES ($1, $2, $3, 5), ($1, $2, $4, 7), ($1, $5, $4, 2)`,
		a.ws.ID, both, engA, fitA, one)
	// Another workspace's lead with a score, under the same id as nothing of workspace a.
	other := lead(b.ws.ID, "other@x.example", 1)
	pgtest.Exec(t, db, `INSERT INTO lead_scores (workspace_id, lead_id, score_id, value) VALUES ($1, $2, $3, 9)`, b.ws.ID, other, engB)
	err := st.InTx(ctx, func(tx *store.Tx) error {
		leads, err := tx.ScoringLeads(ctx, a.ws.ID, []int64{one, other, both, none, one})
		if err != nil {
			return err
		}
		got := map[int64]string{}
		for _, l := range leads {
			got[l.ID] = fmt.Sprint(l.Scores)
		}
		want := map[int64]string{
			both: fmt.Sprint(map[int64]float64{mainA: 12, engA: 5, fitA: 7}),
			none: fmt.Sprint(map[int64]float64{}),
			one:  fmt.Sprint(map[int64]float64{mainA: 4, fitA: 2}),
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("scores as scoring reads them:\n got  %v\n want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
