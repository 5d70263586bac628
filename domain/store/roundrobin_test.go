package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestRoundRobinUnderConcurrency: 300 leads created at once through two entry paths go to a
// pool's 3 members 100 each, in member order (the turn is taken in each creating transaction);
// a deactivated member is skipped; an empty pool says so.
func TestRoundRobinUnderConcurrency(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	ws, admin, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "rr", Name: "RR"}, model.User{Email: "ada@rr.example", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var members []int64
	for _, name := range []string{"sam", "kim", "lou"} {
		var id int64
		if err := db.QueryRow(`INSERT INTO users (workspace_id, email, name, role, password_hash) VALUES ($1, $2, $3, 'sales', 'x') RETURNING id`,
			ws.ID, name+"@rr.example", name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		members = append(members, id)
	}
	pool, err := st.SavePool(ctx, ws.ID, 0, "Inbound", members)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := store.PathManual
			if i%2 == 1 {
				path = store.PathAPI
			}
			_, _, err := st.AddLead(ctx, ws.ID, store.NewLead{Email: fmt.Sprintf("lead%d@acme.example", i), Status: "New", Source: path,
				PoolID: pool, ByUserID: admin.ID, ByName: "Ada", Path: path})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Query(`SELECT owner_user_id FROM leads WHERE workspace_id = $1 ORDER BY id`, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	count := map[int64]int{}
	i := 0
	for rows.Next() {
		var owner int64
		rows.Scan(&owner)
		if owner != members[i%3] {
			t.Fatalf("lead %d went to %d, want %d (strict order)", i, owner, members[i%3])
		}
		count[owner]++
		i++
	}
	rows.Close()
	for _, m := range members {
		if count[m] != 100 {
			t.Fatalf("member %d got %d leads, want 100: %v", m, count[m], count)
		}
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM lead_changes WHERE workspace_id = $1 AND kind = 'created' AND detail LIKE '%round robin of Inbound%'`, ws.ID); n != 300 {
		t.Fatalf("%d creations logged", n)
	}

	// Kim leaves: the next leads alternate between Sam and Lou.
	pgtest.Exec(t, db, `UPDATE users SET active = false WHERE workspace_id = $1 AND id = $2`, ws.ID, members[1])
	var got []int64
	for i := 0; i < 4; i++ {
		_, owner, err := st.AddLead(ctx, ws.ID, store.NewLead{Email: fmt.Sprintf("later%d@acme.example", i), PoolID: pool, Path: store.PathManual})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, owner)
	}
	for _, o := range got {
		if o == members[1] {
			t.Fatalf("a deactivated member got a lead: %v", got)
		}
	}
	if got[0] == got[1] || got[1] == got[2] {
		t.Fatalf("not alternating: %v", got)
	}
	if _, _, err := st.AddLead(ctx, ws.ID, store.NewLead{Email: "later0@acme.example", Path: store.PathManual}); err != store.ErrLeadExists {
		t.Fatalf("a second lead with an email: %v", err)
	}
	empty, _ := st.SavePool(ctx, ws.ID, 0, "Empty", nil)
	if _, _, err := st.AddLead(ctx, ws.ID, store.NewLead{Email: "nobody@acme.example", PoolID: empty, Path: store.PathManual}); err != store.ErrPoolEmpty {
		t.Fatalf("an empty pool: %v", err)
	}
}

// TestEntryRulesForABatchOfNewPeople: six people new in one batch of Braze events, with the
// Currents path's rule giving them to a pool, get the rule's status and source and the pool's
// members in turn, and each creation is logged with its owner; a lead that existed before the
// batch keeps its values, and a second batch continues the turn.
func TestEntryRulesForABatchOfNewPeople(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "er", Name: "ER"}, model.User{Email: "ada@er.example", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var members []int64
	for _, name := range []string{"sam", "kim"} {
		var id int64
		if err := db.QueryRow(`INSERT INTO users (workspace_id, email, name, role, password_hash) VALUES ($1, $2, $3, 'sales', 'x') RETURNING id`,
			ws.ID, name+"@er.example", name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		members = append(members, id)
	}
	pool, err := st.SavePool(ctx, ws.ID, 0, "Inbound", members)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveEntryRule(ctx, ws.ID, store.EntryRule{Path: store.PathCurrents, Status: "Working", Source: "Braze", OwnerMode: store.OwnerPool, PoolID: &pool}); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `INSERT INTO leads (workspace_id, email, status, lead_source) VALUES ($1, 'old@er.example', 'Qualified', 'Manual')`, ws.ID)
	enter := func(emails ...string) {
		t.Helper()
		err := st.InTx(ctx, func(tx *store.Tx) error {
			var seeds []store.LeadSeed
			paths := map[string]string{}
			for _, e := range emails {
				seeds, paths[e] = append(seeds, store.LeadSeed{Email: e}), store.PathCurrents
			}
			if _, err := tx.UpsertLeadsByEmail(ctx, ws.ID, seeds); err != nil {
				return err
			}
			return tx.ApplyEntryRules(ctx, ws.ID, paths)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	enter("p1@er.example", "p2@er.example", "p3@er.example", "old@er.example", "p4@er.example", "p5@er.example", "p6@er.example")
	enter("p7@er.example")
	rows, err := db.Query(`SELECT l.email, l.status, l.lead_source, l.owner_name, l.pool_id IS NOT DISTINCT FROM $2, coalesce(c.detail, '')
		FROM leads l LEFT JOIN lead_changes c ON c.workspace_id = l.workspace_id AND c.lead_id = l.id AND c.kind = 'created'
		WHERE l.workspace_id = $1 ORDER BY l.id`, ws.ID, pool)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var email, status, source, owner, detail string
		var inPool bool
		rows.Scan(&email, &status, &source, &owner, &inPool, &detail)
		got = append(got, fmt.Sprintf("%s %s %s %s %v %q", email, status, source, owner, inPool, detail))
	}
	rows.Close()
	want := []string{`old@er.example Qualified Manual  false ""`}
	for i := 1; i <= 7; i++ {
		owner := []string{"sam", "kim"}[(i-1)%2]
		want = append(want, fmt.Sprintf("p%d@er.example Working Braze %s true %q", i, owner, "Created (currents): status Working, source Braze, owner "+owner))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("leads after two batches:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM lead_changes WHERE workspace_id = $1 AND by_name = 'Braze Currents' AND by_user_id IS NULL`, ws.ID); n != 7 {
		t.Fatalf("%d creations logged as by Braze Currents, want 7", n)
	}
}
