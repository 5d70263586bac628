package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// postJSON sends JSON like the builder's script does.
func (b *browser) postJSON(path, body string) response {
	b.t.Helper()
	return b.send(http.MethodPost, path, "application/json", strings.NewReader(body))
}

// postFile uploads a file field as the import form does.
func (b *browser) postFile(path, field, name string, content []byte, extra url.Values) response {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile(field, name)
	fw.Write(content)
	for k, vs := range extra {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	w.Close()
	return b.send(http.MethodPost, path, w.FormDataContentType(), &buf)
}

const validRule = `{"name":"Docs reader","kind":"score","enabled":true,
	"when":{"combinator":"and","rules":[{"field":"event.name","operator":"contains","value":"docs"},
		{"combinator":"or","rules":[{"field":"profile.country","operator":"in","value":["CH","DE"]},{"field":"event.property","property":"plan","operator":"equals","value":"pro"}]}]},
	"score":{"score":"Product interest","points":7,"per":"event","cap":21}}`

func TestRuleBuilderEndpoints(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	ctx := context.Background()
	ws, _ := s.Store.WorkspaceBySlug(ctx, "acme")

	// A new workspace starts with the default rule set and the common property keys.
	r := admin.get("/rules")
	assertStatus(t, r, http.StatusOK)
	for _, want := range []string{"Pricing page viewed", "Email bounced", "Senior title", "Pricing this week"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("default rule %q missing", want)
		}
	}
	assertStatus(t, admin.get("/rules/new?kind=label"), http.StatusOK)

	// Validation answers with problems at paths the builder can place.
	bad := admin.postJSON("/rules/validate", `{"name":"","kind":"score","enabled":true,
		"when":{"combinator":"and","rules":[{"field":"event.name","operator":">=","value":"x"}]},"score":{"score":"S","points":0,"per":"event"}}`)
	assertStatus(t, bad, http.StatusUnprocessableEntity)
	var problems struct {
		OK       bool            `json:"ok"`
		Problems []rules.Problem `json:"problems"`
	}
	if err := json.Unmarshal([]byte(bad.body), &problems); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, p := range problems.Problems {
		paths[p.Path] = true
	}
	for _, want := range []string{"name", "when.rules[0].operator", "score.points"} {
		if !paths[want] {
			t.Fatalf("no problem at %s: %+v", want, problems.Problems)
		}
	}
	assertStatus(t, admin.postJSON("/rules/validate", `{"name": 12`), http.StatusUnprocessableEntity)
	ok := admin.postJSON("/rules/validate", validRule)
	assertStatus(t, ok, http.StatusOK)

	// Preview answers counts (no leads yet: zero, over zero leads).
	p := admin.postJSON("/rules/preview", validRule)
	assertStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `"Matching":0`) || !strings.Contains(p.body, `"Total":0`) {
		t.Fatalf("preview %s", p.body)
	}

	// An account label previews on accounts.
	acct := admin.postJSON("/rules/preview", `{"name":"Big account","kind":"label","enabled":true,
		"when":{"combinator":"and","rules":[{"field":"account.score","score":"Lead score","operator":">=","value":100}]},
		"label":{"name":"Big account","color":"#ef4444","on":"account"}}`)
	assertStatus(t, acct, http.StatusOK)
	if !strings.Contains(acct.body, `"Kind":"label"`) {
		t.Fatalf("account label preview %s", acct.body)
	}

	// Saving an invalid rule re-renders the builder with the problems, and stores nothing.
	before, _ := s.Store.ListRules(ctx, ws.ID)
	r = admin.post("/rules", url.Values{"definition": {`{"name":"x","kind":"score","enabled":true,"when":{"combinator":"and","rules":[]},"score":{"score":"S","points":1,"per":"lead"}}`}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "was not saved") || !strings.Contains(r.body, "Add at least one condition") {
		t.Fatalf("invalid save not explained: %.1500s", r.body)
	}
	if after, _ := s.Store.ListRules(ctx, ws.ID); len(after) != len(before) {
		t.Fatal("an invalid rule was stored")
	}
	// A valid one is stored, creates its score, and queues a re-score.
	r = admin.post("/rules", url.Values{"definition": {validRule}})
	assertStatus(t, r, http.StatusSeeOther)
	after, _ := s.Store.ListRules(ctx, ws.ID)
	if len(after) != len(before)+1 || after[len(after)-1].Name != "Docs reader" {
		t.Fatalf("rule not stored: %d rules", len(after))
	}
	created := after[len(after)-1]
	scores, _ := s.Store.ListScoreNames(ctx, ws.ID)
	if len(scores) != 2 {
		t.Fatalf("scores %+v", scores)
	}
	if job, _ := s.Store.LatestRescoreJob(ctx, ws.ID); job == nil || !strings.Contains(job.Reason, "Docs reader") {
		t.Fatalf("no re-score queued: %+v", job)
	}
	// Editing makes version 2; disabling, duplicating, moving and deleting work.
	r = admin.post("/rules/"+itoa(created.ID), url.Values{"definition": {strings.Replace(validRule, `"points":7`, `"points":8`, 1)}})
	assertStatus(t, r, http.StatusSeeOther)
	if got, _ := s.Store.RuleByID(ctx, ws.ID, created.ID); got.Version != 2 {
		t.Fatalf("version %d", got.Version)
	}
	assertStatus(t, admin.post("/rules/"+itoa(created.ID)+"/disable", url.Values{}), http.StatusSeeOther)
	if got, _ := s.Store.RuleByID(ctx, ws.ID, created.ID); got.Enabled {
		t.Fatal("still enabled")
	}
	assertStatus(t, admin.post("/rules/"+itoa(created.ID)+"/duplicate", url.Values{}), http.StatusSeeOther)
	assertStatus(t, admin.post("/rules/"+itoa(created.ID)+"/move", url.Values{"dir": {"up"}}), http.StatusSeeOther)
	list, _ := s.Store.ListRules(ctx, ws.ID)
	if list[len(list)-3].ID != created.ID || list[len(list)-1].Name != "Copy of Docs reader" {
		t.Fatalf("order after move: %s, %s, %s", list[len(list)-3].Name, list[len(list)-2].Name, list[len(list)-1].Name)
	}
	assertStatus(t, admin.post("/rules/"+itoa(created.ID)+"/delete", url.Values{}), http.StatusSeeOther)
	assertStatus(t, admin.get("/rules/"+itoa(created.ID)), http.StatusNotFound)

	// Export, then import the file replacing everything: the same rules come back.
	exp := admin.get("/rules/export")
	assertStatus(t, exp, http.StatusOK)
	if !strings.Contains(exp.header.Get("Content-Disposition"), "attachment") {
		t.Fatal("export is not a download")
	}
	doc, err := rules.ParseDocument([]byte(exp.body))
	if err != nil {
		t.Fatalf("export does not re-import: %v", err)
	}
	r = admin.postFile("/rules/import", "file", "rules.json", []byte(exp.body), url.Values{"mode": {"replace"}})
	assertStatus(t, r, http.StatusSeeOther)
	if again, _ := s.Store.ListRules(ctx, ws.ID); len(again) != len(doc.Rules) {
		t.Fatalf("import replaced %d rules with %d", len(doc.Rules), len(again))
	}
	// A broken file imports nothing and says why.
	n := len(doc.Rules)
	r = admin.postFile("/rules/import", "file", "rules.json", []byte(`{"format":1,"rules":[{"name":"x","kind":"score"}]}`), url.Values{"mode": {"replace"}})
	assertStatus(t, r, http.StatusSeeOther)
	if again, _ := s.Store.ListRules(ctx, ws.ID); len(again) != n {
		t.Fatal("a broken import changed the rules")
	}
	if page := admin.get("/rules"); !strings.Contains(page.body, "Nothing was imported") {
		t.Fatal("broken import not explained")
	}

	// Grade thresholds must go down from A to E.
	admin.post("/rules/grades", url.Values{"A": {"10"}, "B": {"20"}, "C": {"5"}, "D": {"3"}, "E": {"1"}})
	if page := admin.get("/rules"); !strings.Contains(page.body, "Each grade needs more fit points") {
		t.Fatal("bad thresholds accepted silently")
	}

	// Event properties: built-ins listed, bad keys refused, added keys offered and removable.
	assertStatus(t, admin.post("/settings/event-properties", url.Values{"key": {"plan name"}, "type": {"string"}}), http.StatusUnprocessableEntity)
	assertStatus(t, admin.post("/settings/event-properties", url.Values{"key": {"seats"}, "type": {"number"}}), http.StatusSeeOther)
	props := admin.get("/settings/event-properties")
	for _, want := range []string{"campaign_name", "subscription_status", "seats"} {
		if !strings.Contains(props.body, want) {
			t.Fatalf("property key %q not listed", want)
		}
	}
	if b := admin.get("/rules/new?kind=score").body; !strings.Contains(b, "seats") {
		t.Fatal("the builder does not offer the added key")
	}
	// Keys the workspace's events carry are offered with their kind of value, one click away.
	ws0, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	lead, _ := s.Store.CreateLead(ctx, model.Lead{WorkspaceID: ws0.ID, Email: "kim@acme.com"})
	pgtest.Exec(t, s.DB, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name, properties)
		VALUES ($1, 990001, $2, now(), 'braze', 'users.messages.sms.InboundReceive', 'x', '{"message_body": "demo?", "custom_properties": {"team_size": 12}}')`, ws0.ID, lead.ID)
	props = admin.get("/settings/event-properties")
	if !strings.Contains(props.body, `id="seen-keys"`) || !strings.Contains(props.body, "<code>message_body</code> <span class=\"muted small\">Text</span>") ||
		!strings.Contains(props.body, "<code>team_size</code> <span class=\"muted small\">Number</span>") {
		t.Fatalf("keys seen in the data are not offered:\n%.3000s", props.body[strings.Index(props.body, "Add a property key"):])
	}
	admin.post("/settings/event-properties/delete", url.Values{"key": {"campaign_name"}})
	if keys, _ := s.Store.ListEventPropertyKeys(ctx, ws.ID); len(keys) != 11 {
		t.Fatalf("%d keys after deleting a built-in", len(keys))
	}

	// A sales user sees lists but no rule pages.
	link := invite(t, admin, "sam@acme.com", "sales")
	sales := s.browser(t)
	sales.post(link.Path, url.Values{"name": {"Sam Sales"}, "password": {password}})
	assertStatus(t, sales.get("/leads"), http.StatusOK)
	assertStatus(t, sales.get("/accounts"), http.StatusOK)
	for _, path := range []string{"/rules", "/rules/new", "/settings/event-properties", "/rules/export"} {
		assertStatus(t, sales.get(path), http.StatusForbidden)
	}
	assertStatus(t, sales.postJSON("/rules/preview", validRule), http.StatusForbidden)
	assertStatus(t, sales.post("/rules", url.Values{"definition": {validRule}}), http.StatusForbidden)
}

func TestLeadCSVExportAndFilters(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	ctx := context.Background()
	ws, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	for _, l := range []model.Lead{
		{Email: "anna@acme.example", FirstName: "=HYPERLINK(\"http://evil\")", LastName: "Keller"},
		{Email: "bob@globex.example", FirstName: "Bob", Company: "Globex, Inc."},
	} {
		l.WorkspaceID = ws.ID
		if _, err := s.Store.CreateLead(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	r := admin.get("/leads.csv?q=acme")
	assertStatus(t, r, http.StatusOK)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("content type %s", r.header.Get("Content-Type"))
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || records[0][0] != "email" || records[1][0] != "anna@acme.example" {
		t.Fatalf("csv %q", records)
	}
	if !strings.HasPrefix(records[1][1], "'=") {
		t.Fatalf("formula not neutralised: %q", records[1][1])
	}
	// Filters that match nobody say so; unknown values are ignored rather than failing.
	r = admin.get("/leads?grade=A&temp=hot")
	assertStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "No lead matches all of these filters") || !strings.Contains(r.body, "grade A · hot") {
		t.Fatal("empty filter result not explained with its filters")
	}
	if r = admin.get("/leads?grade=B"); !strings.Contains(r.body, "No lead matches grade B") {
		t.Fatal("a single filter is not named")
	}
	// A score bound that is not a number is left out and said so beside the field; bounds
	// the wrong way round say why nothing matches.
	r = admin.get("/leads?grade=Z&temp=boiling&sort=nonsense&min=abc")
	assertStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "“abc” is not a number") || !strings.Contains(r.body, "anna@acme.example") {
		t.Fatal("min=abc is not explained, or it hid the leads")
	}
	if r = admin.get("/leads?min=50&max=-5"); !strings.Contains(r.body, "The highest score is below the lowest") {
		t.Fatal("max below min is not explained")
	}
	assertStatus(t, admin.get("/accounts/99999"), http.StatusNotFound)
	assertStatus(t, admin.get("/accounts/abc"), http.StatusNotFound)
}

// TestTemperatureBandsForm: the rules page shows each band's share and the leads in it; the
// form saves valid shares, refuses impossible ones with the reason, and sales cannot post it.
func TestTemperatureBandsForm(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	page := admin.get("/rules")
	for _, want := range []string{"Temperature bands", `name="hot" min="1" max="97" step="1" value="10"`, `value="20"`, `value="30"`, "40 %"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("rules page lacks %q", want)
		}
	}
	assertStatus(t, admin.post("/rules/temperature", url.Values{"hot": {"60"}, "warm": {"20"}, "neutral": {"10"}}), http.StatusSeeOther)
	if !strings.Contains(admin.get("/rules").body, "Hot may hold at most half") {
		t.Fatal("an impossible split is not explained")
	}
	assertStatus(t, admin.post("/rules/temperature", url.Values{"hot": {"5"}, "warm": {"15"}, "neutral": {"50"}}), http.StatusSeeOther)
	page = admin.get("/rules")
	if !strings.Contains(page.body, "cold 30 % of active leads") || !strings.Contains(page.body, `value="5"`) {
		t.Fatalf("saved bands not shown:\n%.3000s", page.body)
	}
	ws, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")
	if n := pgtest.Count(t, s.DB, `SELECT count(*) FROM workspaces WHERE id = $1 AND temperature_bands = '{"hot": 5, "warm": 15, "neutral": 50}'`, ws.ID); n != 1 {
		t.Fatal("the bands were not stored")
	}
}
