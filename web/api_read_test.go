package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestAPILeadsAccountsAndRules: every read and write route's happy path and errors, each
// answer checked against the OpenAPI document; a token of one workspace never reaches
// another's leads, accounts, activities or rules; rules created through the API appear in
// the builder's list and re-score.
func TestAPILeadsAccountsAndRules(t *testing.T) {
	s, ada, acme, globex, _ := acmeAndGlobex(t)
	ctx := context.Background()
	all := model.Scopes
	token, _, err := ingest.CreateAPIToken(ctx, s.Store, acme.ID, ingest.APITokenSpec{Label: "all", Scopes: all})
	if err != nil {
		t.Fatal(err)
	}
	reader, _, _ := ingest.CreateAPIToken(ctx, s.Store, acme.ID, ingest.APITokenSpec{Label: "reader", Scopes: []string{model.ScopeLeadsRead, model.ScopeRulesRead}})
	other, _, _ := ingest.CreateAPIToken(ctx, s.Store, globex.ID, ingest.APITokenSpec{Label: "globex", Scopes: all})

	r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, map[string]any{"events": []any{
		map[string]any{"id": "a1", "type": "identify", "email": "ines@initech.example", "traits": map[string]any{"first_name": "Ines"}},
		map[string]any{"id": "a2", "type": "track", "email": "ines@initech.example", "name": "Pricing viewed"},
		map[string]any{"id": "a3", "type": "track", "email": "omar@initech.example", "name": "Pricing viewed"},
		map[string]any{"id": "a4", "type": "page", "email": "pia@umbrella.example", "url": "https://www.example.com/pricing"},
	}})
	if r.status != http.StatusAccepted {
		t.Fatalf("events: %s", r.raw)
	}
	waitFor(t, "the leads", func() bool {
		return countRows(t, s, `SELECT count(*) FROM activities WHERE workspace_id = $1`, acme.ID) == 3 &&
			countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0
	})
	pgtest.Exec(t, s.DB, `INSERT INTO leads (workspace_id, email, first_name) VALUES ($1, 'secret@globex.example', 'Secret')`, globex.ID)
	var ines, theirs, theirAccount int64
	s.DB.QueryRow(`SELECT id FROM leads WHERE email = 'ines@initech.example'`).Scan(&ines)
	s.DB.QueryRow(`SELECT id FROM leads WHERE email = 'secret@globex.example'`).Scan(&theirs)
	pgtest.Exec(t, s.DB, `INSERT INTO accounts (workspace_id, domain, name) VALUES ($1, 'globex.example', 'Globex')`, globex.ID)
	s.DB.QueryRow(`SELECT id FROM accounts WHERE workspace_id = $1`, globex.ID).Scan(&theirAccount)

	// Leads: a page, the next by cursor, filters checked strictly.
	page := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads?limit=2", token, nil)
	if page.status != http.StatusOK || page.body["total"] != 3.0 || len(page.body["data"].([]any)) != 2 || page.body["next_cursor"] == nil {
		t.Fatalf("first page: %s", page.raw)
	}
	next := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads?limit=2&cursor="+page.body["next_cursor"].(string), token, nil)
	if next.status != http.StatusOK || len(next.body["data"].([]any)) != 1 || next.body["next_cursor"] != nil {
		t.Fatalf("second page: %s", next.raw)
	}
	if strings.Contains(page.raw+next.raw, "globex") {
		t.Fatal("another workspace's lead listed")
	}
	bad := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads?grade=Z&limit=0&cursor=%%%", token, nil)
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.raw, "/query/grade") || !strings.Contains(bad.raw, "/query/limit") {
		t.Fatalf("bad filters: %d %s", bad.status, bad.raw)
	}
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads?q=ines&sort=activity", token, nil); r.status != http.StatusOK || r.body["total"] != 1.0 {
		t.Fatalf("search: %s", r.raw)
	}

	// One lead, by id and by email, with its scores and why; another workspace's is not found.
	one := callAPI(t, s.URL, http.MethodGet, fmt.Sprintf("/api/v1/leads/%d", ines), reader, nil)
	if one.status != http.StatusOK || one.body["first_name"] != "Ines" || one.body["scores"] == nil || one.body["why"] == nil {
		t.Fatalf("lead: %s", one.raw)
	}
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads/by-email?email=INES@initech.example", reader, nil); r.status != http.StatusOK || r.body["id"] != float64(ines) {
		t.Fatalf("by email: %s", r.raw)
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/leads/%d", theirs), "/api/v1/leads/by-email?email=secret@globex.example",
		fmt.Sprintf("/api/v1/activities?lead=%d", theirs), fmt.Sprintf("/api/v1/accounts/%d", theirAccount), "/api/v1/leads/abc"} {
		if r := callAPI(t, s.URL, http.MethodGet, path, token, nil); r.status != http.StatusNotFound {
			t.Fatalf("%s from another workspace: %d", path, r.status)
		}
	}
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads/by-email?email=nope", token, nil); r.status != http.StatusBadRequest {
		t.Fatalf("bad email: %d", r.status)
	}

	// Changing a lead: scope, validation, another workspace's.
	patch := map[string]any{"title": "CFO", "owner_email": "Sam@acme.example", "status": "Working"}
	if r := callAPI(t, s.URL, http.MethodPatch, fmt.Sprintf("/api/v1/leads/%d", ines), reader, patch); r.status != http.StatusForbidden {
		t.Fatalf("patch without leads:write: %d", r.status)
	}
	if r := callAPI(t, s.URL, http.MethodPatch, fmt.Sprintf("/api/v1/leads/%d", ines), token, map[string]any{"score": 100, "owner_email": "nope"}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.raw, `"/score"`) || !strings.Contains(r.raw, `"/owner_email"`) {
		t.Fatalf("bad patch: %d %s", r.status, r.raw)
	}
	if r := callAPI(t, s.URL, http.MethodPatch, fmt.Sprintf("/api/v1/leads/%d", theirs), token, patch); r.status != http.StatusNotFound {
		t.Fatalf("patching another workspace's lead: %d", r.status)
	}
	if r := callAPI(t, s.URL, http.MethodPatch, fmt.Sprintf("/api/v1/leads/%d", ines), token, patch); r.status != http.StatusOK ||
		r.body["title"] != "CFO" || r.body["owner"].(map[string]any)["email"] != "sam@acme.example" {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	if n := countRows(t, s, `SELECT count(*) FROM leads WHERE id = $1 AND status = 'Working'`, ines); n != 1 {
		t.Fatal("the status was not changed")
	}
	if n := countRows(t, s, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND title = 'CFO'`, globex.ID); n != 0 {
		t.Fatal("another workspace changed")
	}

	// Activities and accounts.
	if r := callAPI(t, s.URL, http.MethodGet, fmt.Sprintf("/api/v1/activities?lead=%d&limit=1", ines), token, nil); r.status != http.StatusOK ||
		r.body["total"] != 1.0 || !strings.Contains(r.raw, "[API] Pricing viewed") {
		t.Fatalf("activities: %s", r.raw)
	}
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/activities", token, nil); r.status != http.StatusBadRequest {
		t.Fatalf("activities without lead: %d", r.status)
	}
	accounts := callAPI(t, s.URL, http.MethodGet, "/api/v1/accounts?sort=people", token, nil)
	if accounts.status != http.StatusOK || accounts.body["total"] != 2.0 || strings.Contains(accounts.raw, "globex.example") {
		t.Fatalf("accounts: %s", accounts.raw)
	}
	first := accounts.body["data"].([]any)[0].(map[string]any)
	if r := callAPI(t, s.URL, http.MethodGet, fmt.Sprintf("/api/v1/accounts/%.0f", first["id"]), token, nil); r.status != http.StatusOK || r.body["domain"] != "initech.example" {
		t.Fatalf("account: %s", r.raw)
	}
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/accounts", reader, nil); r.status != http.StatusForbidden {
		t.Fatalf("accounts without accounts:read: %d", r.status)
	}

	// Rules: listed as the export writes them; created, replaced with If-Match, previewed, deleted.
	list := callAPI(t, s.URL, http.MethodGet, "/api/v1/rules", reader, nil)
	rulesList := list.body["data"].([]any)
	if list.status != http.StatusOK || len(rulesList) < 5 {
		t.Fatalf("rules: %s", list.raw)
	}
	rule := rulesList[0].(map[string]any)["rule"].(map[string]any)
	rule["name"] = "Scored through the API"
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/rules", reader, rule); r.status != http.StatusForbidden {
		t.Fatalf("create without rules:write: %d", r.status)
	}
	broken := map[string]any{"name": "", "kind": "score"}
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/rules", token, broken); r.status != http.StatusUnprocessableEntity || len(r.body["errors"].([]any)) == 0 {
		t.Fatalf("invalid rule: %d %s", r.status, r.raw)
	}
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/rules", token, "not json"); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("not JSON: %d %s", r.status, r.raw)
	}
	jobsBefore := countRows(t, s, `SELECT count(*) FROM rescore_jobs WHERE workspace_id = $1`, acme.ID)
	created := callAPI(t, s.URL, http.MethodPost, "/api/v1/rules", token, rule)
	if created.status != http.StatusCreated || created.body["version"] != 1.0 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := int64(created.body["id"].(float64))
	if countRows(t, s, `SELECT count(*) FROM rescore_jobs WHERE workspace_id = $1`, acme.ID) <= jobsBefore {
		t.Fatal("a rule created through the API queued no re-score")
	}
	if !strings.Contains(ada.get("/rules").body, "Scored through the API") {
		t.Fatal("the API's rule is not in the builder's list")
	}
	rule["name"] = "Scored through the API, v2"
	if r := callAPIWith(t, s.URL, http.MethodPut, fmt.Sprintf("/api/v1/rules/%d", id), token, rule, map[string]string{"If-Match": `"7"`}); r.status != http.StatusConflict {
		t.Fatalf("stale If-Match: %d %s", r.status, r.raw)
	}
	got := callAPI(t, s.URL, http.MethodGet, fmt.Sprintf("/api/v1/rules/%d", id), reader, nil)
	if got.header.Get("ETag") != `"1"` {
		t.Fatalf("ETag %q", got.header.Get("ETag"))
	}
	if r := callAPIWith(t, s.URL, http.MethodPut, fmt.Sprintf("/api/v1/rules/%d", id), token, rule, map[string]string{"If-Match": `"1"`}); r.status != http.StatusOK || r.body["version"] != 2.0 {
		t.Fatalf("replace: %d %s", r.status, r.raw)
	}
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/rules/preview", reader, rule); r.status != http.StatusOK || r.body["Total"] != 3.0 {
		t.Fatalf("preview: %d %s", r.status, r.raw)
	}
	var theirRule int64
	s.DB.QueryRow(`SELECT id FROM rules WHERE workspace_id = $1 LIMIT 1`, globex.ID).Scan(&theirRule)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		if r := callAPI(t, s.URL, m, fmt.Sprintf("/api/v1/rules/%d", theirRule), token, rule); r.status != http.StatusNotFound {
			t.Fatalf("%s another workspace's rule: %d", m, r.status)
		}
	}
	if r := callAPI(t, s.URL, http.MethodDelete, fmt.Sprintf("/api/v1/rules/%d", id), token, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.status)
	}
	if r := callAPI(t, s.URL, http.MethodGet, fmt.Sprintf("/api/v1/rules/%d", id), token, nil); r.status != http.StatusNotFound {
		t.Fatalf("deleted rule: %d", r.status)
	}

	// Globex's token sees Globex only.
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/leads", other, nil); r.status != http.StatusOK || r.body["total"] != 1.0 || strings.Contains(r.raw, "initech") {
		t.Fatalf("globex's leads: %s", r.raw)
	}
	if r := callAPI(t, s.URL, http.MethodGet, fmt.Sprintf("/api/v1/leads/%d", ines), other, nil); r.status != http.StatusNotFound {
		t.Fatalf("globex reading acme's lead: %d", r.status)
	}
}
