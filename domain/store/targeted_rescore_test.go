package store_test

import (
	"context"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestTargetedRescoreSamplesBeforeCounting: on a workspace larger than the sample, an edit
// whose filter most leads pass drops the filter and counts every lead; one that few pass stays
// targeted with the exact number of leads that pass, as does one that 40 % pass (the sample
// leaves it to the count).
func TestTargetedRescoreSamplesBeforeCounting(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	ws := seedTenant(t, st, "a").ws.ID
	other := seedTenant(t, st, "b").ws.ID
	// 2,000 leads (plus the tenant's own): all opened an email, every 100th came to the
	// summit, two in five (by id) read the docs. Another workspace's leads all came to the summit.
	for _, w := range []int64{ws, other} {
		pgtest.Exec(t, db, `INSERT INTO leads (workspace_id, email) SELECT $1, 'p' || g || '@x.example' FROM generate_series(1, 2000) g`, w)
	}
	pgtest.Exec(t, db, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name)
		SELECT workspace_id, id * 10 + 1, id, now(), 'braze', 'users.messages.email.Open', 'Opened email' FROM leads WHERE workspace_id = $1
		UNION ALL SELECT workspace_id, id * 10 + 2, id, now(), 'braze', 'users.behaviors.CustomEvent', 'partner_summit' FROM leads WHERE workspace_id = $1 AND id % 100 = 0
		UNION ALL SELECT workspace_id, id * 10 + 3, id, now(), 'braze', 'users.behaviors.CustomEvent', 'docs_read' FROM leads WHERE workspace_id = $1 AND id % 5 < 2`, ws)
	pgtest.Exec(t, db, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name)
		SELECT workspace_id, id * 10 + 2, id, now(), 'braze', 'users.behaviors.CustomEvent', 'partner_summit' FROM leads WHERE workspace_id = $1`, other)
	// A workspace smaller than the sample, whose one lead passes every filter, is counted exactly.
	small := seedTenant(t, st, "c")
	pgtest.Exec(t, db, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name)
		SELECT $1, $2::bigint * 10 + k, $2, now(), 'braze', (ARRAY['users.messages.email.Open', 'users.behaviors.CustomEvent', 'users.behaviors.CustomEvent'])[k],
			(ARRAY['Opened email', 'partner_summit', 'docs_read'])[k] FROM generate_series(1, 3) k`, small.ws.ID, small.lead.ID)
	leads := pgtest.Count(t, db, `SELECT count(*) FROM leads WHERE workspace_id = $1`, ws)
	cases := []struct {
		filter   string
		most     bool // what the sample says
		targeted bool
		total    string
	}{
		{`[{"column":"event_type","op":"equals","values":["users.messages.email.open"]}]`, true, false, `SELECT count(*) FROM leads WHERE workspace_id = $1`},
		{`[{"column":"name","op":"contains","values":["summit"]}]`, false, true, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND id % 100 = 0`},
		{`[{"column":"name","op":"equals","values":["docs_read"]}]`, false, true, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND id % 5 < 2`},
	}
	for _, c := range cases {
		var most, smallMost bool
		err := st.InTx(ctx, func(tx *store.Tx) (err error) {
			if most, err = tx.MostLeadsPass(ctx, ws, []byte(c.filter)); err != nil {
				return err
			}
			smallMost, err = tx.MostLeadsPass(ctx, small.ws.ID, []byte(c.filter))
			return err
		})
		if err != nil || most != c.most || smallMost {
			t.Fatalf("%s: the sample says most pass: %v, want %v; on a small workspace %v (%v)", c.filter, most, c.most, smallMost, err)
		}
		var id int64
		if err := db.QueryRow(`INSERT INTO rescore_jobs (workspace_id, reason, rules_version, lead_filter) VALUES ($1, 'edit', 1, $2) RETURNING id`,
			ws, c.filter).Scan(&id); err != nil {
			t.Fatal(err)
		}
		var targeted bool
		err = st.InTx(ctx, func(tx *store.Tx) (err error) {
			targeted, err = tx.CountTargetedRescore(ctx, ws, id, []byte(c.filter))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := pgtest.Count(t, db, c.total, ws)
		total := pgtest.Count(t, db, `SELECT total FROM rescore_jobs WHERE workspace_id = $1 AND id = $2`, ws, id)
		kept := pgtest.Count(t, db, `SELECT count(*) FROM rescore_jobs WHERE workspace_id = $1 AND id = $2 AND lead_filter IS NOT NULL`, ws, id)
		if targeted != c.targeted || total != want || (kept == 1) != c.targeted {
			t.Fatalf("%s: targeted %v (filter kept: %d), total %d; want targeted %v, total %d of %d leads", c.filter, targeted, kept, total, c.targeted, want, leads)
		}
	}
}
