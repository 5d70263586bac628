package store_test

import (
	"context"
	"fmt"
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
