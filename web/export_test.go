package web_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestExportsCarryNoFormulas: lead and account exports page through more rows than one
// batch, stay within the workspace, are never cached, and no cell a spreadsheet opens starts
// with a formula character — whatever field the hostile text arrived in — while plain
// negative numbers stay numbers.
func TestExportsCarryNoFormulas(t *testing.T) {
	s, ada, acme, globex, _ := acmeAndGlobex(t)
	starts := []string{"=", "+", "-", "@", "\t", "\r"}
	// 1,203 leads in acme (more than one export batch), each text field hostile, and two in globex.
	pgtest.Exec(t, s.DB, `INSERT INTO accounts (workspace_id, domain, name, industry, labels, main_score)
		SELECT $1, 'acct' || i || '.example', s || 'HYPERLINK("http://evil.example")', s || 'cmd|'' /C calc''!A0',
			ARRAY[s || 'label'], -50
		FROM generate_series(0, 5) i, LATERAL (SELECT ($2::text[])[i + 1] AS s) x`, acme.ID, pq.Array(starts))
	pgtest.Exec(t, s.DB, `INSERT INTO leads (workspace_id, email, first_name, last_name, company, title, owner_name, labels, main_score,
			account_id)
		SELECT $1, 'p' || i || '@acct' || (i % 6) || '.example', s || 'SUM(1+1)', s || '1+2', s || 'Corp', s || 'cmd', s || 'Owner',
			ARRAY[s || 'hot'], -50, (SELECT id FROM accounts WHERE workspace_id = $1 AND domain = 'acct' || (i % 6) || '.example')
		FROM generate_series(0, 1202) i, LATERAL (SELECT ($2::text[])[i % 6 + 1] AS s) x`, acme.ID, pq.Array(starts))
	pgtest.Exec(t, s.DB, `INSERT INTO leads (workspace_id, email) VALUES ($1, 'secret1@globex.example'), ($1, 'secret2@globex.example')`, globex.ID)

	for _, export := range []struct {
		path string
		rows int
	}{{"/leads.csv", 1203}, {"/accounts.csv", 6}} {
		r := ada.get(export.path)
		assertStatus(t, r, http.StatusOK)
		if r.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s headers: %v", export.path, r.header)
		}
		if strings.Contains(r.body, "globex") {
			t.Fatalf("%s holds another workspace's data", export.path)
		}
		records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != export.rows+1 {
			t.Fatalf("%s: %d records, want %d and a header", export.path, len(records)-1, export.rows)
		}
		negatives := 0
		for _, rec := range records[1:] {
			for i, cell := range rec {
				if cell == "-50" {
					negatives++
					continue
				}
				if cell != "" && strings.ContainsAny(cell[:1], "=+-@\t\r") {
					t.Fatalf("%s column %s starts with a formula character: %q", export.path, records[0][i], cell)
				}
			}
		}
		if negatives != export.rows {
			t.Fatalf("%s: %d plain -50 scores, want %d", export.path, negatives, export.rows)
		}
	}
	// The filtered export is the filtered list.
	records, err := csv.NewReader(strings.NewReader(ada.get("/leads.csv?q=p7%40").body)).ReadAll()
	if err != nil || len(records) != 2 || records[1][0] != "p7@acct1.example" {
		t.Fatalf("filtered export: %q %v", records, err)
	}
}
