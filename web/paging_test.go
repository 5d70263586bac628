package web_test

import (
	"html"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

var (
	leadLink  = regexp.MustCompile(`<a class="strong" href="/leads/(\d+)"`)
	pageOf    = regexp.MustCompile(`Page ([\d,]+) of ([\d,]+)`)
	nextLink  = regexp.MustCompile(`<a class="btn" href="([^"]+)">Next →</a>`)
	totalText = regexp.MustCompile(`([\d,]+) leads`)
)

// TestLeadPagingOverMovingScores pages through 1,000 leads while their scores change after
// every page: each lead appears exactly once, every page says "of 20", the last page holds
// the rest, and a page past the end shows the last page rather than an empty table.
func TestLeadPagingOverMovingScores(t *testing.T) {
	s, ada, acme, _, _ := acmeAndGlobex(t)
	pgtest.Exec(t, s.DB, `INSERT INTO leads (workspace_id, email, main_score)
		SELECT $1, 'p' || i || '@paging.example', (i * 7919) % 1000 FROM generate_series(1, 1000) i`, acme.ID)
	seen := map[string]int{}
	path, pages, second := "/leads", 0, ""
	for path != "" {
		r := ada.get(path)
		assertStatus(t, r, http.StatusOK)
		pages++
		m := pageOf.FindStringSubmatch(r.body)
		if m == nil || m[2] != "20" || m[1] != strconv.Itoa(pages) {
			t.Fatalf("page %d says %q", pages, m)
		}
		if tm := totalText.FindStringSubmatch(r.body); tm == nil || tm[1] != "1,000" {
			t.Fatalf("page %d total %q", pages, tm)
		}
		rows := leadLink.FindAllStringSubmatch(r.body, -1)
		if len(rows) != 50 {
			t.Fatalf("page %d has %d rows", pages, len(rows))
		}
		for _, row := range rows {
			seen[row[1]]++
		}
		// Scores move between page views, as scoring does in the background.
		pgtest.Exec(t, s.DB, `UPDATE leads SET main_score = random() * 1000 WHERE workspace_id = $1`, acme.ID)
		path = ""
		if n := nextLink.FindStringSubmatch(r.body); n != nil {
			path = html.UnescapeString(n[1])
		}
		if pages == 1 {
			second = path
		}
	}
	if pages != 20 || len(seen) != 1000 {
		t.Fatalf("%d pages, %d distinct leads", pages, len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("lead %s shown %d times", id, n)
		}
	}
	// Past the end: the last page, full or partial, never empty.
	r := ada.get("/leads?page=60")
	if m := pageOf.FindStringSubmatch(r.body); m == nil || m[1] != "20" || len(leadLink.FindAllString(r.body, -1)) == 0 {
		t.Fatalf("page 60 shows %q with %d rows", m, len(leadLink.FindAllString(r.body, -1)))
	}
	// A token that is not the user's (or expired) is ignored: the list is read afresh.
	pgtest.Exec(t, s.DB, `UPDATE list_snapshots SET user_id = user_id + 1000`)
	before := pgtest.Count(t, s.DB, `SELECT count(*) FROM list_snapshots`)
	if r := ada.get(second); r.status != http.StatusOK || len(leadLink.FindAllString(r.body, -1)) != 50 ||
		pgtest.Count(t, s.DB, `SELECT count(*) FROM list_snapshots`) != before+1 {
		t.Fatalf("a foreign token: %d", r.status)
	}
}
