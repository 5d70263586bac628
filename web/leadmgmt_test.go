package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// TestLeadManagement: an admin sets statuses, sources and a pool, and lets both entry paths
// give new leads to the pool; 300 leads created at once — half by the form, half through the
// API — go to the 3 members 100 each, in member order; the form explains bad input and a
// duplicate; the lead page changes status and owner and lists each change.
func TestLeadManagement(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_API_RATE": "100000"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	ctx := context.Background()
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	page := ada.get("/settings/leads")
	assertStatus(t, page, http.StatusOK)
	for _, want := range []string{"New", "Qualified", "default", "Website", "Distribution pools"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("settings lack %q", want)
		}
	}
	var members []string
	for _, name := range []string{"sam", "kim", "lou"} {
		var id int64
		s.DB.QueryRow(`INSERT INTO users (workspace_id, email, name, role, password_hash) VALUES ($1, $2, $3, 'sales', 'x') RETURNING id`,
			acme.ID, name+"@acme.example", name).Scan(&id)
		members = append(members, itoa(id))
	}
	assertStatus(t, ada.post("/settings/leads/statuses", url.Values{"name": {"Nurturing"}}), http.StatusSeeOther)
	assertStatus(t, ada.post("/settings/leads/statuses", url.Values{"name": {"Nurturing"}}), http.StatusUnprocessableEntity)
	assertStatus(t, ada.post("/settings/leads/sources", url.Values{"name": {"Trade show"}}), http.StatusSeeOther)
	assertStatus(t, ada.post("/settings/leads/pools", url.Values{"name": {"Inbound"}, "member": members}), http.StatusSeeOther)
	var pool string
	s.DB.QueryRow(`SELECT id FROM distribution_pools WHERE workspace_id = $1`, acme.ID).Scan(&pool)
	for _, path := range []string{"manual", "api"} {
		assertStatus(t, ada.post("/settings/leads/rules/"+path, url.Values{"status": {"New"}, "source": {"Trade show"}, "mode": {"pool"}, "pool": {pool}}), http.StatusSeeOther)
	}
	assertStatus(t, ada.post("/settings/leads/rules/manual", url.Values{"mode": {"pool"}, "pool": {"999999"}}), http.StatusUnprocessableEntity)

	// The form: bad input, then a lead, then the same email again.
	form := ada.get("/leads/new")
	if !strings.Contains(form.body, "the next member of the pool “Inbound”") {
		t.Fatalf("the form does not say who will own the lead:\n%.3000s", form.body)
	}
	r := ada.post("/leads", url.Values{"email": {"not an email"}, "status": {"Imaginary"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Enter the person&#39;s email") && !strings.Contains(r.body, "Enter the person's email") || !strings.Contains(r.body, "Choose one of the statuses") {
		t.Fatalf("bad form not explained:\n%.3000s", r.body)
	}

	token, _, err := ingest.CreateAPIToken(ctx, s.Store, acme.ID, ingest.APITokenSpec{Label: "CRM", Scopes: []string{model.ScopeLeadsWrite}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	failures := make(chan string, 300)
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := fmt.Sprintf("lead%03d@prospect.example", i)
			if i%2 == 0 {
				b := ada.copyOf(s)
				if r := b.post("/leads", url.Values{"email": {email}, "first_name": {"Form"}}); r.status != http.StatusSeeOther {
					failures <- fmt.Sprintf("form %d: %d", i, r.status)
				}
				return
			}
			if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/leads", token, map[string]any{"email": email, "first_name": "API"}); r.status != http.StatusCreated {
				failures <- fmt.Sprintf("api %d: %d %s", i, r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Fatal(f)
	}
	rows, _ := s.DB.Query(`SELECT owner_user_id, first_name FROM leads WHERE workspace_id = $1 ORDER BY id`, acme.ID)
	count, paths := map[string]int{}, map[string]int{}
	i := 0
	for rows.Next() {
		var owner int64
		var first string
		rows.Scan(&owner, &first)
		if itoa(owner) != members[i%3] {
			t.Fatalf("lead %d went to %d, want %s", i, owner, members[i%3])
		}
		count[itoa(owner)]++
		paths[first]++
		i++
	}
	rows.Close()
	if i != 300 || count[members[0]] != 100 || count[members[1]] != 100 || count[members[2]] != 100 || paths["Form"] != 150 || paths["API"] != 150 {
		t.Fatalf("%d leads, by owner %v, by path %v", i, count, paths)
	}
	if n := countRows(t, s, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND status = 'New' AND lead_source = 'Trade show'`, acme.ID); n != 300 {
		t.Fatalf("%d leads with the rule's status and source", n)
	}
	if r := ada.post("/leads", url.Values{"email": {"lead000@prospect.example"}}); r.status != http.StatusConflict {
		t.Fatalf("duplicate by form: %d", r.status)
	}
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/leads", token, map[string]any{"email": "lead001@prospect.example"}); r.status != http.StatusConflict {
		t.Fatalf("duplicate by API: %d", r.status)
	}
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/leads", token, map[string]any{"email": "x@prospect.example", "owner_email": "sam@acme.example", "color": "red"}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.raw, "/owner_email") || !strings.Contains(r.raw, "/color") {
		t.Fatalf("owner chosen against the rule: %d %s", r.status, r.raw)
	}

	// The lead page: status and owner, logged.
	var lead int64
	var ownerBefore string
	s.DB.QueryRow(`SELECT id, owner_name FROM leads WHERE email = 'lead000@prospect.example'`).Scan(&lead, &ownerBefore)
	leadPage := ada.get("/leads/" + itoa(lead))
	if !strings.Contains(leadPage.body, "Status and owner") || !strings.Contains(leadPage.body, "round robin of Inbound") {
		t.Fatalf("lead page:\n%.4000s", leadPage.body)
	}
	assertStatus(t, ada.post("/leads/"+itoa(lead)+"/assign", url.Values{"status": {"Imaginary"}, "owner": {members[1]}}), http.StatusUnprocessableEntity)
	next := members[(indexOf(members, ownerBefore, s)+1)%3]
	assertStatus(t, ada.post("/leads/"+itoa(lead)+"/assign", url.Values{"status": {"Qualified"}, "owner": {next}}), http.StatusSeeOther)
	var nextName string
	s.DB.QueryRow(`SELECT name FROM users WHERE id = $1`, next).Scan(&nextName)
	leadPage = ada.get("/leads/" + itoa(lead))
	log := leadPage.body[strings.Index(leadPage.body, `id="assign"`):]
	if !strings.Contains(log, "Status: New → Qualified") || !strings.Contains(log, "Owner: "+ownerBefore+" → "+nextName) {
		t.Fatalf("changes not logged:\n%.3000s", log)
	}
	if n := countRows(t, s, `SELECT count(*) FROM leads WHERE id = $1 AND status = 'Qualified' AND owner_email = $2`, lead, nextName+"@acme.example"); n != 1 {
		t.Fatal("the change was not stored")
	}

	// Leads that arrive by themselves follow their path's rule: Currents' new people go to
	// Lou, Segment's to the pool; a person known before keeps what they have.
	assertStatus(t, ada.post("/settings/leads/rules/currents", url.Values{"status": {"Working"}, "source": {"Braze"}, "mode": {"user"}, "owner": {members[2]}}), http.StatusSeeOther)
	assertStatus(t, ada.post("/settings/leads/rules/segment", url.Values{"status": {"New"}, "source": {"Segment"}, "mode": {"pool"}, "pool": {pool}}), http.StatusSeeOther)
	currents, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, currents, personOpens(t, "vera", "Spring", 0, 1, time.Now().Add(-time.Hour)), nil)
	postCurrents(t, s.URL, currents, personOpens(t, "lead002", "Spring", 5, 1, time.Now().Add(-time.Hour)), nil) // not lead002@prospect: a new person too
	waitFor(t, "vera's lead", func() bool {
		return countRows(t, s, `SELECT count(*) FROM leads WHERE email = 'vera@fjordsoft.example.com' AND status = 'Working' AND lead_source = 'Braze'
			AND owner_user_id = $1`, members[2]) == 1
	})
	segToken, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindSegment, "Segment", nil)
	r = postSegmentReply(t, s.URL, segToken, `{"type":"identify","userId":"u-77","messageId":"seg-1","traits":{"email":"wen@prospect.example"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("segment: %d", r.status)
	}
	waitFor(t, "wen's lead", func() bool {
		return countRows(t, s, `SELECT count(*) FROM leads WHERE email = 'wen@prospect.example' AND lead_source = 'Segment' AND owner_user_id IS NOT NULL`) == 1
	})
	if page := ada.get("/leads/" + itoa(int64(countRows(t, s, `SELECT id FROM leads WHERE email = 'vera@fjordsoft.example.com'`)))); !strings.Contains(page.body, "Created (currents)") {
		t.Fatal("the lead's history does not say how Currents created it")
	}
	if n := countRows(t, s, `SELECT count(*) FROM leads WHERE email = 'lead000@prospect.example' AND status = 'Qualified'`); n != 1 {
		t.Fatal("a known lead's status was reset")
	}
}

func postSegmentReply(t *testing.T, base, token, body string) response {
	t.Helper()
	r := postSegment(t, base, http.MethodPost, token, []byte(body), "")
	return response{status: r.status, body: r.body}
}

// indexOf is the position of the member whose user has the name.
func indexOf(members []string, name string, s testServer) int {
	for i, m := range members {
		var n string
		s.DB.QueryRow(`SELECT name FROM users WHERE id = $1`, m).Scan(&n)
		if n == name {
			return i
		}
	}
	return -1
}
