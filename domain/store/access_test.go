package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// accessFixture is a workspace with two sales users, Sam (in the pool "Inbound") and Kim, and
// leads: Sam's, Kim's (one at the company they share, one at Kim's own company), the pool's
// unassigned one, one whose Salesforce owner is Sam's address in capitals, and nobody's.
type accessFixture struct {
	ws                                  model.Workspace
	ada, sam, kim                       model.User
	samLead, kimLead, kimOnly, poolLead int64
	sfLead, nobody                      int64
	shared, kimCompany                  int64 // accounts
	emails                              map[int64]string
}

func newAccessFixture(t *testing.T, st *store.Store, db *sql.DB) accessFixture {
	t.Helper()
	ctx := context.Background()
	var f accessFixture
	var err error
	f.ws, f.ada, err = st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "da", Name: "DA"}, model.User{Email: "ada@da.example", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*model.User{&f.sam, &f.kim} {
		name := map[*model.User]string{&f.sam: "sam", &f.kim: "kim"}[u]
		*u = model.User{WorkspaceID: f.ws.ID, Email: name + "@da.example", Name: name, Role: model.RoleSales, Active: true}
		if err := db.QueryRow(`INSERT INTO users (workspace_id, email, name, role, password_hash) VALUES ($1, $2, $3, 'sales', 'x') RETURNING id`,
			f.ws.ID, u.Email, name).Scan(&u.ID); err != nil {
			t.Fatal(err)
		}
	}
	pool, err := st.SavePool(ctx, f.ws.ID, 0, "Inbound", []int64{f.sam.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.emails = map[int64]string{}
	add := func(email string, owner, pool int64) int64 {
		id, _, err := st.AddLead(ctx, f.ws.ID, store.NewLead{Email: email, OwnerUserID: owner, PoolID: pool, Path: store.PathManual, ByUserID: f.ada.ID, ByName: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		f.emails[id] = email
		return id
	}
	f.samLead = add("sam-lead@shared.example", f.sam.ID, 0)
	f.kimLead = add("kim-lead@shared.example", f.kim.ID, 0)
	f.kimOnly = add("kim-only@kimco.example", f.kim.ID, 0)
	f.poolLead = add("pool-lead@prospect.example", 0, pool) // the pool gives it to Sam…
	owner := int64(0)
	if err := st.ChangeLeadOwnerStatus(ctx, f.ws.ID, f.poolLead, nil, &owner, f.ada.ID, "Ada"); err != nil { // …and Ada takes it away
		t.Fatal(err)
	}
	f.sfLead = add("sf-lead@prospect.example", 0, 0)
	pgtest.Exec(t, db, `UPDATE leads SET owner_name = 'Sam', owner_email = 'SAM@DA.example' WHERE workspace_id = $1 AND id = $2`, f.ws.ID, f.sfLead)
	f.nobody = add("nobody@prospect.example", 0, 0)
	pgtest.Exec(t, db, `UPDATE leads SET temperature = 'hot', heat = id, last_activity_at = now() WHERE workspace_id = $1`, f.ws.ID)
	for i, id := range []int64{f.samLead, f.kimLead, f.kimOnly, f.poolLead, f.sfLead, f.nobody} {
		pgtest.Exec(t, db, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name)
			VALUES ($1, $2, $3, now(), 'braze', 't', $4)`, f.ws.ID, 990000+i, id, f.emails[id])
	}
	accounts := map[string]int64{}
	rows, err := db.Query(`SELECT domain, id FROM accounts WHERE workspace_id = $1`, f.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		var id int64
		rows.Scan(&d, &id)
		accounts[d] = id
	}
	rows.Close()
	f.shared, f.kimCompany = accounts["shared.example"], accounts["kimco.example"]
	if f.shared == 0 || f.kimCompany == 0 {
		t.Fatalf("accounts: %v", accounts)
	}
	return f
}

func (f accessFixture) names(ids ...int64) []string {
	var out []string
	for _, id := range ids {
		out = append(out, f.emails[id])
	}
	sort.Strings(out)
	return out
}

func leadEmails(leads []model.Lead) []string {
	var out []string
	for _, l := range leads {
		out = append(out, l.Email)
	}
	sort.Strings(out)
	return out
}

// TestDataAccess: a sales user kept to their own leads reads, through every store method
// that reads leads for a person, exactly their leads (assigned in Peregrine or owned in
// Salesforce by their address) and their pool's unassigned lead — never a colleague's — while
// admins, and everyone when the workspace allows it, read every lead.
func TestDataAccess(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	f := newAccessFixture(t, st, db)
	if err := st.SetSalesAccess(ctx, f.ws.ID, store.SalesSeeOwn); err != nil {
		t.Fatal(err)
	}
	sam := store.ViewerOf(f.sam, store.SalesSeeOwn)
	mine := f.names(f.samLead, f.poolLead, f.sfLead)
	all := f.names(f.samLead, f.kimLead, f.kimOnly, f.poolLead, f.sfLead, f.nobody)

	leads, total, err := st.ListLeads(ctx, sam, store.LeadFilter{Limit: 50})
	if err != nil || total != 3 || !slices.Equal(leadEmails(leads), mine) {
		t.Fatalf("Sam's list: %v (%d), want %v: %v", leadEmails(leads), total, mine, err)
	}
	if leads, _, _, _, err := st.LeadsAfter(ctx, sam, store.LeadFilter{}, nil, 50); err != nil || !slices.Equal(leadEmails(leads), mine) {
		t.Fatalf("Sam's API list: %v: %v", leadEmails(leads), err)
	}
	if leads, _, err := st.ListLeads(ctx, store.Everyone(f.ws.ID), store.LeadFilter{Limit: 50}); err != nil || !slices.Equal(leadEmails(leads), all) {
		t.Fatalf("everyone's list: %v: %v", leadEmails(leads), err)
	}
	if leads, _, err := st.ListLeads(ctx, store.ViewerOf(f.ada, store.SalesSeeOwn), store.LeadFilter{Limit: 50}); err != nil || len(leads) != 6 {
		t.Fatalf("an admin is never restricted: %d leads: %v", len(leads), err)
	}
	if leads, _, err := st.ListLeads(ctx, store.ViewerOf(f.sam, store.SalesSeeAll), store.LeadFilter{Limit: 50}); err != nil || len(leads) != 6 {
		t.Fatalf("with every lead allowed Sam sees %d: %v", len(leads), err)
	}

	for _, id := range []int64{f.kimLead, f.kimOnly, f.nobody} {
		if _, err := st.LeadFor(ctx, sam, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Sam loaded %s: %v", f.emails[id], err)
		}
		if ok, err := st.CanSeeLead(ctx, sam, id); ok || err != nil {
			t.Fatalf("Sam may see %s: %v", f.emails[id], err)
		}
		if _, err := st.LeadByEmail(ctx, sam, f.emails[id]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Sam found %s by email: %v", f.emails[id], err)
		}
		title := "CEO"
		if err := st.PatchLead(ctx, sam, id, store.LeadPatch{Title: &title}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Sam changed %s: %v", f.emails[id], err)
		}
	}
	for _, id := range []int64{f.samLead, f.poolLead, f.sfLead} {
		if l, err := st.LeadFor(ctx, sam, id); err != nil || l.ID != id {
			t.Fatalf("Sam cannot load his %s: %v", f.emails[id], err)
		}
	}

	// Sam's companies: the shared one (his person only) and his prospects' (not nobody's).
	accounts, total, err := st.ListAccounts(ctx, sam, store.AccountFilter{Limit: 50})
	people := map[string]int{}
	for _, a := range accounts {
		people[a.Domain] = a.People
	}
	if err != nil || total != 2 || len(people) != 2 || people["shared.example"] != 1 || people["prospect.example"] != 2 {
		t.Fatalf("Sam's accounts: %v (%d): %v", people, total, err)
	}
	if everyone, _, _ := st.ListAccounts(ctx, store.Everyone(f.ws.ID), store.AccountFilter{Limit: 50}); len(everyone) < 3 {
		t.Fatalf("everyone sees %d accounts", len(everyone))
	}
	if _, err := st.AccountByID(ctx, sam, f.kimCompany); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Sam opened Kim's company: %v", err)
	}
	if a, err := st.AccountByID(ctx, sam, f.shared); err != nil || a.People != 1 {
		t.Fatalf("the shared company for Sam: %+v: %v", a, err)
	}
	acts, err := st.AccountActivities(ctx, sam, f.shared, 50, 0)
	if err != nil || len(acts) != 1 || acts[0].LeadID != f.samLead {
		t.Fatalf("the shared company's timeline for Sam: %+v: %v", acts, err)
	}

	_, _, hot, _, err := st.DigestMoves(ctx, sam, time.Now().Add(-time.Hour))
	var hotNames []string
	for _, h := range hot {
		hotNames = append(hotNames, f.emails[h.LeadID])
	}
	sort.Strings(hotNames)
	if err != nil || !slices.Equal(hotNames, mine) {
		t.Fatalf("Sam's digest names %v, want %v: %v", hotNames, mine, err)
	}

	// Alerts: Kim's lead tells Kim and Ada, not Sam; the pool's unassigned lead tells Sam.
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for lead, want := range map[int64][]int64{f.kimLead: {f.ada.ID, f.kim.ID}, f.poolLead: {f.ada.ID, f.sam.ID}, f.sfLead: {f.ada.ID, f.sam.ID}} {
			users, err := tx.MaySee(ctx, f.ws.ID, []model.User{f.ada, f.sam, f.kim}, lead, 0)
			if err != nil {
				return err
			}
			var got []int64
			for _, u := range users {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("told about %s: %v, want %v", f.emails[lead], got, want)
			}
		}
		users, err := tx.MaySee(ctx, f.ws.ID, []model.User{f.sam, f.kim}, 0, f.kimCompany)
		if err == nil && (len(users) != 1 || users[0].ID != f.kim.ID) {
			t.Errorf("told about Kim's company: %+v", users)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// A list's later pages leave out a lead given to someone else since the first page.
	page, err := st.LeadListPage(ctx, sam, f.sam.ID, store.LeadFilter{Sort: store.SortActivity}, "", 0, 1)
	if err != nil || page.Token == "" || page.Total != 3 {
		t.Fatalf("first page: %+v: %v", page, err)
	}
	kim := f.kim.ID
	for _, id := range []int64{f.samLead, f.poolLead, f.sfLead} {
		if err := st.ChangeLeadOwnerStatus(ctx, f.ws.ID, id, nil, &kim, f.ada.ID, "Ada"); err != nil {
			t.Fatal(err)
		}
	}
	for offset := 1; offset < 3; offset++ {
		page, err := st.LeadListPage(ctx, sam, f.sam.ID, store.LeadFilter{Sort: store.SortActivity}, page.Token, offset, 1)
		if err != nil || len(page.Leads) != 0 {
			t.Fatalf("page %d after the leads went to Kim: %v: %v", offset+1, leadEmails(page.Leads), err)
		}
	}
	if v, err := st.UserViewer(ctx, f.ws.ID, f.sam.ID); err != nil || !v.OwnOnly || v.Email != "sam@da.example" {
		t.Fatalf("Sam's viewer from the database: %+v: %v", v, err)
	}
}

// accessIsolationCases: the data-access methods called for workspace A never reach B.
func accessIsolationCases(t *testing.T, st *store.Store, db *sql.DB, wsA int64, b tenant) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		"CanSeeLead": func() error {
			ok, err := st.CanSeeLead(ctx, store.Everyone(wsA), b.lead.ID)
			if ok {
				return errors.New("may see B's lead")
			}
			return err
		},
		"LeadFor": func() error {
			_, err := st.LeadFor(ctx, store.Everyone(wsA), b.lead.ID)
			return notFound(err)
		},
		"SalesAccess": func() error {
			_, err := st.SalesAccess(ctx, wsA)
			return err
		},
		"SetSalesAccess": func() error {
			if err := st.SetSalesAccess(ctx, wsA, store.SalesSeeOwn); err != nil {
				return err
			}
			defer st.SetSalesAccess(ctx, wsA, store.SalesSeeAll)
			if n := pgtest.Count(t, db, `SELECT count(*) FROM workspaces WHERE id = $1 AND sales_access = 'own'`, b.ws.ID); n != 0 {
				return errors.New("changed B's data access")
			}
			return nil
		},
		"UserViewer": func() error {
			_, err := st.UserViewer(ctx, wsA, b.admin.ID)
			return notFound(err)
		},
	}
}

// accessTxCases: alert recipients are checked within workspace A only.
func accessTxCases(ctx context.Context, wsA int64, b tenant) map[string]func(tx *store.Tx) error {
	return map[string]func(tx *store.Tx) error{
		"MaySee": func(tx *store.Tx) error {
			users, err := tx.MaySee(ctx, wsA, []model.User{b.admin}, b.lead.ID, 0)
			if len(users) != 0 {
				return errors.New("B's admin may see an alert of A")
			}
			return err
		},
		// Not tenant data: it only relaxes this transaction's commit.
		"CommitWithoutWaiting": func(tx *store.Tx) error { return tx.CommitWithoutWaiting(ctx) },
	}
}
