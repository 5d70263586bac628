package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/store"
)

var headerCell = regexp.MustCompile(`(?s)<th[^>]*>\s*(?:<a[^>]*>)?\s*([^<]+?)\s*(?:<span|</a>|</th>)`)

// listHeaders reads a list table's column headers.
func listHeaders(t *testing.T, body, table string) []string {
	t.Helper()
	i := strings.Index(body, `id="`+table+`"`)
	if i < 0 {
		t.Fatalf("no table %s", table)
	}
	head := body[i : strings.Index(body[i:], "</thead>")+i]
	var out []string
	for _, m := range headerCell.FindAllStringSubmatch(head, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCardLayout: an admin adds, moves (keyboard buttons), removes fields of the lead card;
// the draft changes nothing until published, then the lead list shows the new columns in
// order; a custom attribute on the person card shows in the lead's header; the companies
// card shapes the accounts list; bad input is explained; sales users cannot edit layouts.
func TestCardLayout(t *testing.T) {
	s := newServer(t, nil)
	ctx := context.Background()
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	lead, _, err := s.Store.AddLead(ctx, acme.ID, store.NewLead{Email: "nora@initech.example", FirstName: "Nora", Status: "Working", Path: store.PathManual, ByName: "t"})
	if err != nil {
		t.Fatal(err)
	}
	s.DB.Exec(`UPDATE leads SET custom_attributes = '{"plan": "enterprise"}', owner_name = 'Sam Seller' WHERE id = $1`, lead)

	page := ada.get("/settings/cards")
	assertStatus(t, page, http.StatusOK)
	if strings.Count(page.body, "Never published") != 3 || !strings.Contains(page.body, "plan (custom attribute)") || !strings.Contains(page.body, "Preview (draft) with Nora") {
		t.Fatalf("settings page:\n%.4000s", page.body)
	}
	before := listHeaders(t, ada.get("/leads").body, "leads")
	if !slices.Equal(before, []string{"Lead", "Score", "Fit", "Temperature", "Labels", "Company", "Last activity"}) {
		t.Fatalf("default columns: %v", before)
	}
	fields := url.Values{"field": {"score", "grade", "temperature", "labels", "company", "last_activity"}}
	with := func(extra url.Values) url.Values {
		f := url.Values{}
		for k, v := range fields {
			f[k] = v
		}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	draft := func() []string {
		l, _ := s.Store.CardLayouts(ctx, acme.ID)
		return l["leads"].Draft
	}
	assertStatus(t, ada.post("/settings/cards/leads", with(url.Values{"add": {"owner"}, "do": {"add"}})), http.StatusSeeOther)
	fields["field"] = draft()
	r := ada.post("/settings/cards/leads", with(url.Values{"move": {"up:6"}}))
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "focus=up%3Aowner") {
		t.Fatalf("move: %d %s", r.status, r.header.Get("Location"))
	}
	fields["field"] = draft()
	assertStatus(t, ada.post("/settings/cards/leads", with(url.Values{"remove": {"3"}})), http.StatusSeeOther) // labels
	if got := draft(); !slices.Equal(got, []string{"score", "grade", "temperature", "company", "owner", "last_activity"}) {
		t.Fatalf("draft: %v", got)
	}
	if focused := ada.get("/settings/cards?focus=up%3Aowner"); !strings.Contains(focused.body, `aria-label="Move Owner up" autofocus`) {
		t.Fatal("the moved field's button does not keep the focus")
	}
	if got := listHeaders(t, ada.get("/leads").body, "leads"); !slices.Equal(got, before) {
		t.Fatalf("a draft changed the list: %v", got)
	}
	for _, bad := range []url.Values{{"field": {"score", "score"}}, {"field": {"nonsense"}}, {"field": {"score"}, "move": {"sideways:0"}}} {
		if r := ada.post("/settings/cards/leads", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `role="alert"`) {
			t.Fatalf("%v: %d", bad, r.status)
		}
	}
	assertStatus(t, ada.post("/settings/cards/leads/publish", nil), http.StatusSeeOther)
	list := ada.get("/leads").body
	if got := listHeaders(t, list, "leads"); !slices.Equal(got, []string{"Lead", "Score", "Fit", "Temperature", "Company", "Owner", "Last activity"}) {
		t.Fatalf("published columns: %v", got)
	}
	if !strings.Contains(list, `data-label="Owner">Sam Seller`) {
		t.Fatal("the owner column is empty")
	}
	if settings := ada.get("/settings/cards").body; !strings.Contains(settings, "by Ada Admin") {
		t.Fatal("the page does not say who published")
	}

	// The person card: a custom attribute in the lead's header.
	assertStatus(t, ada.post("/settings/cards/people", url.Values{"field": {"title", "status", "custom:plan"}}), http.StatusSeeOther)
	cardOf := func(body string) string {
		i := strings.Index(body, `id="lead-card"`)
		if i < 0 {
			t.Fatal("the lead page has no card")
		}
		return body[i : i+strings.Index(body[i:], "</dl>")]
	}
	if strings.Contains(cardOf(ada.get("/leads/"+itoa(lead)).body), "enterprise") {
		t.Fatal("the person draft shows before publishing")
	}
	assertStatus(t, ada.post("/settings/cards/people/publish", nil), http.StatusSeeOther)
	if card := cardOf(ada.get("/leads/" + itoa(lead)).body); !strings.Contains(card, "enterprise") || !strings.Contains(card, "Working") {
		t.Fatalf("lead header card:\n%s", card)
	}

	// The companies card and discarding a draft.
	assertStatus(t, ada.post("/settings/cards/companies", url.Values{"field": {"people", "domain"}}), http.StatusSeeOther)
	assertStatus(t, ada.post("/settings/cards/companies/publish", nil), http.StatusSeeOther)
	if got := listHeaders(t, ada.get("/accounts").body, "accounts"); !slices.Equal(got, []string{"Account", "People", "Domain"}) {
		t.Fatalf("accounts columns: %v", got)
	}
	assertStatus(t, ada.post("/settings/cards/companies", url.Values{"field": {"grade"}}), http.StatusSeeOther)
	assertStatus(t, ada.post("/settings/cards/companies/discard", nil), http.StatusSeeOther)
	if l, _ := s.Store.CardLayouts(ctx, acme.ID); !slices.Equal(l["companies"].Draft, []string{"people", "domain"}) {
		t.Fatalf("discarded draft: %v", l["companies"].Draft)
	}
	assertStatus(t, ada.post("/settings/cards/nonsense", url.Values{"field": {"score"}}), http.StatusNotFound)

	link := invite(t, ada, "sam@acme.example", "sales")
	sam := s.browser(t)
	assertStatus(t, sam.post(link.Path, url.Values{"name": {"Sam"}, "password": {password}}), http.StatusSeeOther)
	assertStatus(t, sam.get("/settings/cards"), http.StatusForbidden)
	assertStatus(t, sam.post("/settings/cards/leads/publish", nil), http.StatusForbidden)
	if got := listHeaders(t, sam.get("/leads").body, "leads"); !slices.Contains(got, "Owner") {
		t.Fatalf("the published card is not everyone's: %v", got)
	}
}
