package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// TestDataAccessRoutes: with "only their own leads" set, a sales user cannot reach a
// colleague's lead — nor the company only that colleague's leads belong to — through any
// list, page, form, export, account or API route (with a token acting for them), while their
// own lead stays reachable. With every lead allowed again, each of those routes reaches the
// colleague's lead, so every case below can fail.
func TestDataAccessRoutes(t *testing.T) {
	s := newServer(t, nil)
	ctx := context.Background()
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	users := map[string]model.User{}
	browsers := map[string]*browser{}
	for _, name := range []string{"sam", "kim"} {
		link := invite(t, ada, name+"@acme.example", "sales")
		b := s.browser(t)
		assertStatus(t, b.post(link.Path, url.Values{"name": {name}, "password": {password}}), http.StatusSeeOther)
		u, err := s.Store.UserByEmail(ctx, acme.ID, name+"@acme.example")
		if err != nil {
			t.Fatal(err)
		}
		users[name], browsers[name] = u, b
	}
	lead := func(email string, owner model.User) int64 {
		id, _, err := s.Store.AddLead(ctx, acme.ID, store.NewLead{Email: email, OwnerUserID: owner.ID, Path: store.PathManual, ByName: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	samLead := lead("sam-lead@shared.example", users["sam"])
	kimLead := lead("kim-lead@shared.example", users["kim"])
	lead("kim-only@kimco.example", users["kim"])
	var shared, kimco int64
	s.DB.QueryRow(`SELECT id FROM accounts WHERE workspace_id = $1 AND domain = 'shared.example'`, acme.ID).Scan(&shared)
	s.DB.QueryRow(`SELECT id FROM accounts WHERE workspace_id = $1 AND domain = 'kimco.example'`, acme.ID).Scan(&kimco)
	s.DB.Exec(`UPDATE leads SET temperature = 'hot', hot_since = now(), last_activity_at = now(), main_score = 50 WHERE workspace_id = $1`, acme.ID)
	s.DB.Exec(`INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name)
		SELECT workspace_id, 770000 + id, id, now(), 'braze', 't', 'Visited ' || email FROM leads WHERE workspace_id = $1`, acme.ID)

	samID := users["sam"].ID
	token, _, err := ingest.CreateAPIToken(ctx, s.Store, acme.ID, ingest.APITokenSpec{Label: "Sam's script", ActsFor: &samID,
		Scopes: []string{model.ScopeLeadsRead, model.ScopeLeadsWrite, model.ScopeAccountsRead}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ingest.CreateAPIToken(ctx, s.Store, acme.ID, ingest.APITokenSpec{Label: "x", ActsFor: &samID,
		Scopes: []string{model.ScopeRulesWrite}}); err == nil || !strings.Contains(err.Error(), "rules scopes") {
		t.Fatalf("a token acting for a sales user got the rules scopes: %v", err)
	}

	sam := browsers["sam"]
	kimMark := "kim-lead@shared.example"
	page := func(path string) func() (int, string) {
		return func() (int, string) { r := sam.get(path); return r.status, r.body }
	}
	form := func(path string, f url.Values) func() (int, string) {
		return func() (int, string) { r := sam.post(path, f); return r.status, r.body }
	}
	api := func(method, path string, body any) func() (int, string) {
		return func() (int, string) { r := callAPI(t, s.URL, method, path, token, body); return r.status, r.raw }
	}
	// reached: the answer shows the colleague's lead (lists) or acts on it (single routes).
	listed := func(mark string) func(int, string) bool {
		return func(status int, body string) bool { return status == http.StatusOK && strings.Contains(body, mark) }
	}
	opened := func(status int, _ string) bool { return status != http.StatusNotFound }
	cases := []struct {
		name    string
		call    func() (int, string)
		reached func(int, string) bool
	}{
		{"lead list", page("/leads"), listed(kimMark)},
		{"lead search", page("/leads?q=kim"), listed(kimMark)},
		{"lead list of the shared company", page("/leads?account=" + itoa(shared)), listed(kimMark)},
		{"lead CSV", page("/leads.csv"), listed(kimMark)},
		{"lead page", page("/leads/" + itoa(kimLead)), opened},
		{"status and owner form", form("/leads/"+itoa(kimLead)+"/assign", url.Values{"status": {"Working"}, "owner": {itoa(users["kim"].ID)}}), opened},
		{"tracked link form", form("/leads/"+itoa(kimLead)+"/links", url.Values{"target": {"https://acme.example/pricing"}}), opened},
		{"accounts list", page("/accounts"), listed("kimco.example")},
		{"accounts CSV", page("/accounts.csv"), listed("kimco.example")},
		{"Kim's company page", page("/accounts/" + itoa(kimco)), opened},
		{"shared company page", page("/accounts/" + itoa(shared)), listed(kimMark)},
		{"API lead list", api(http.MethodGet, "/api/v1/leads", nil), listed(kimMark)},
		{"API lead", api(http.MethodGet, "/api/v1/leads/"+itoa(kimLead), nil), opened},
		{"API lead by email", api(http.MethodGet, "/api/v1/leads/by-email?email="+url.QueryEscape(kimMark), nil), opened},
		{"API activities", api(http.MethodGet, "/api/v1/activities?lead="+itoa(kimLead), nil), opened},
		{"API lead change", api(http.MethodPatch, "/api/v1/leads/"+itoa(kimLead), map[string]any{"title": "CEO"}), opened},
		{"API accounts", api(http.MethodGet, "/api/v1/accounts", nil), listed("kimco.example")},
		{"API account", api(http.MethodGet, "/api/v1/accounts/"+itoa(kimco), nil), opened},
	}

	r := ada.post("/settings/leads/access", url.Values{"sales_access": {"some"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	assertStatus(t, ada.post("/settings/leads/access", url.Values{"sales_access": {"own"}}), http.StatusSeeOther)
	if !strings.Contains(ada.get("/settings/leads").body, `value="own" checked`) {
		t.Fatal("the setting is not shown as saved")
	}
	for _, c := range cases {
		if status, body := c.call(); c.reached(status, body) {
			t.Errorf("%s: Sam reached Kim's lead (%d):\n%.800s", c.name, status, body)
		}
	}
	// Sam's own lead stays within reach.
	if r := sam.get("/leads"); !strings.Contains(r.body, "sam-lead@shared.example") {
		t.Fatal("Sam's list lacks his lead")
	}
	assertStatus(t, sam.get("/leads/"+itoa(samLead)), http.StatusOK)
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads/"+itoa(samLead), token, nil); r.status != http.StatusOK {
		t.Fatalf("Sam's token cannot read his lead: %d", r.status)
	}
	// The home page names hot leads: Ada's names Kim's, Sam's does not.
	if r := sam.get("/"); !strings.Contains(r.body, "Leads you own and your pools") || strings.Contains(r.body, "kim-") || !strings.Contains(r.body, "sam-lead") {
		t.Fatalf("Sam's home page:\n%.4000s", r.body)
	}
	if r := ada.get("/"); !strings.Contains(r.body, "kim-lead") {
		t.Fatalf("Ada's home page lacks Kim's hot lead:\n%.4000s", r.body)
	}
	// Giving his lead away takes Sam back to his list, saying why.
	r = sam.post("/leads/"+itoa(samLead)+"/assign", url.Values{"owner": {itoa(users["kim"].ID)}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/leads" {
		t.Fatalf("after giving the lead away: %d %s", r.status, r.header.Get("Location"))
	}
	if !strings.Contains(sam.get("/leads").body, "belongs to someone else now") {
		t.Fatal("no word on where the lead went")
	}

	// Every lead allowed: each route reaches Kim's lead.
	assertStatus(t, ada.post("/settings/leads/access", url.Values{"sales_access": {"all"}}), http.StatusSeeOther)
	for _, c := range cases {
		if status, body := c.call(); !c.reached(status, body) {
			t.Errorf("%s with every lead allowed: not reached (%d):\n%.800s", c.name, status, body)
		}
	}

	// A token acting for a deactivated user stops working.
	assertStatus(t, ada.post("/settings/users/"+itoa(users["sam"].ID)+"/deactivate", nil), http.StatusSeeOther)
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads", token, nil); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "deactivated") {
		t.Fatalf("token of a deactivated user: %d %s", r.status, r.raw)
	}
}
