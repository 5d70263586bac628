package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestAccountsListAndPage: accounts sort by their columns (the sorted one marked), read by
// company name when known, and an account's timeline says who did each thing.
func TestAccountsListAndPage(t *testing.T) {
	s, ada, acme, _, _ := acmeAndGlobex(t)
	pgtest.Exec(t, s.DB, `INSERT INTO accounts (workspace_id, domain, name, main_score) VALUES
		($1, 'big.example', 'Big Corp', 10), ($1, 'small.example', 'small.example', 90)`, acme.ID)
	pgtest.Exec(t, s.DB, `INSERT INTO leads (workspace_id, email, first_name, last_name, account_id)
		SELECT $1, 'p' || i || '@big.example', 'Person', 'No' || i, (SELECT id FROM accounts WHERE workspace_id = $1 AND domain = 'big.example')
		FROM generate_series(1, 3) i`, acme.ID)
	pgtest.Exec(t, s.DB, `INSERT INTO leads (workspace_id, email, account_id)
		VALUES ($1, 'solo@small.example', (SELECT id FROM accounts WHERE workspace_id = $1 AND domain = 'small.example'))`, acme.ID)
	first := func(body string) string {
		i := strings.Index(body, `<a class="strong" href="/accounts/`)
		if i < 0 {
			return ""
		}
		rest := body[i:]
		return rest[strings.Index(rest, ">")+1 : strings.Index(rest, "</a>")]
	}
	r := ada.get("/accounts")
	assertStatus(t, r, http.StatusOK)
	if got := first(r.body); got != "small.example" {
		t.Fatalf("by score, first is %q", got)
	}
	r = ada.get("/accounts?sort=people")
	if got := first(r.body); got != "Big Corp" || !strings.Contains(r.body, `aria-sort="descending"><a href="/accounts?sort=people"`) {
		t.Fatalf("by people, first is %q, or the sorted column is not marked", got)
	}
	// Fit and temperature show as columns and filter the list.
	pgtest.Exec(t, s.DB, `UPDATE accounts SET grade = 'C', temperature = 'hot' WHERE workspace_id = $1 AND domain = 'big.example'`, acme.ID)
	r = ada.get("/accounts?grade=C&grade=B")
	if got := first(r.body); got != "Big Corp" || strings.Contains(r.body, "small.example") || !strings.Contains(r.body, `<span class="temp temp-hot" title="Its hottest person`) {
		t.Fatalf("grade filter: first %q", got)
	}
	if r = ada.get("/accounts?temp=frozen"); strings.Contains(r.body, "Big Corp") || first(r.body) != "small.example" {
		t.Fatal("temperature filter")
	}
	if r = ada.get("/accounts?min=50"); first(r.body) != "small.example" || strings.Contains(r.body, "Big Corp") {
		t.Fatal("score filter")
	}
	pgtest.Exec(t, s.DB, `UPDATE leads SET last_activity_at = now() WHERE workspace_id = $1 AND email LIKE '%@big.example'`, acme.ID)
	if r = ada.get("/accounts?engaged=2"); first(r.body) != "Big Corp" || strings.Contains(r.body, "small.example") {
		t.Fatal("engaged filter")
	}
	// The account page: the company name as title, and who did what on the timeline.
	var accountID, leadID int64
	s.DB.QueryRow(`SELECT a.id, l.id FROM accounts a JOIN leads l ON l.account_id = a.id AND l.workspace_id = a.workspace_id
		WHERE a.workspace_id = $1 AND a.domain = 'big.example' ORDER BY l.id LIMIT 1`, acme.ID).Scan(&accountID, &leadID)
	pgtest.Exec(t, s.DB, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name)
		VALUES ($1, 770001, $2, now(), 'braze', 'users.messages.email.Open', '[Email campaign engagement] Opened email Spring')`, acme.ID, leadID)
	page := ada.get(fmt.Sprintf("/accounts/%d", accountID)).body
	if !strings.Contains(page, "<h1>Big Corp</h1>") || !strings.Contains(page, fmt.Sprintf(`<div class="tl-person"><a href="/leads/%d">Person No1</a>`, leadID)) {
		t.Fatal("the account page lacks its name or the timeline's person")
	}
}
