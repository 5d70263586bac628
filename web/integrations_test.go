package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

var newTokenField = regexp.MustCompile(`id="new-token" type="text" readonly value="([^"]+)"`)

func TestBrazeIntegrationPage(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"}) // the Braze fake is on loopback
	fake := brazetest.New(t, "abcd-1234-secret-key-9f3a")
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")

	r := admin.get("/integrations/braze")
	assertStatus(t, r, http.StatusOK)
	for _, want := range []string{"REST API key", "US-01", "EU-02", "ID-01", "/api/braze/currents/events", "No batch received yet"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// Bad input comes back with a message beside the field and the input kept.
	r = admin.post("/integrations/braze", url.Values{"api_key": {""}, "instance": {"US-01"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Paste the REST API key") {
		t.Fatal("missing key not explained")
	}
	// (Hosts the outbound policy refuses: TestOutboundHostsAreRefusedWithoutConnecting.)
	r = admin.post("/integrations/braze", url.Values{"api_key": {"k"}, "instance": {"other"}, "other_url": {"rest.example.com/path?x=1"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Enter the REST endpoint") || !strings.Contains(r.body, `value="rest.example.com/path?x=1"`) {
		t.Fatal("a malformed endpoint not refused with the input kept")
	}
	assertStatus(t, admin.post("/integrations/braze", url.Values{"api_key": {"k"}, "instance": {"US-99"}}), http.StatusUnprocessableEntity)

	// A wrong key is saved but the test says what is wrong.
	assertStatus(t, admin.post("/integrations/braze", url.Values{"api_key": {"wrong-key"}, "instance": {"other"}, "other_url": {fake.URL}}), http.StatusSeeOther)
	if r := admin.get("/integrations/braze"); !strings.Contains(r.body, "key is invalid or belongs to another Braze instance") ||
		!strings.Contains(r.body, `id="braze-pill">REST API failing`) || strings.Contains(r.body, "REST API working") {
		t.Fatal("401 not explained, or the pill does not say it failed")
	}
	// The right key connects; it is shown masked and stored encrypted.
	assertStatus(t, admin.post("/integrations/braze", url.Values{"api_key": {"abcd-1234-secret-key-9f3a"}, "instance": {"other"}, "other_url": {fake.URL}}), http.StatusSeeOther)
	r = admin.get("/integrations/braze")
	if !strings.Contains(r.body, "REST API working") || !strings.Contains(r.body, "••••••9f3a") || strings.Contains(r.body, "abcd-1234-secret") {
		t.Fatalf("connected page wrong or leaks the key")
	}
	ws, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")
	conn, _ := s.Store.BrazeConnection(context.Background(), ws.ID)
	if strings.Contains(string(conn.APIKeyEncrypted), "secret-key") {
		t.Fatal("key stored in clear")
	}
	// Saving again with an empty key keeps the stored one.
	assertStatus(t, admin.post("/integrations/braze", url.Values{"api_key": {""}, "instance": {"other"}, "other_url": {fake.URL}}), http.StatusSeeOther)
	if r := admin.get("/integrations/braze"); !strings.Contains(r.body, "••••••9f3a") {
		t.Fatal("empty key field dropped the stored key")
	}
	// A lookup failing after a good test turns the pill red with Braze's words and the time.
	if err := s.Store.RecordBrazeLookup(context.Background(), ws.ID, false, "Braze answered 503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if r := admin.get("/integrations/braze"); !strings.Contains(r.body, `id="braze-pill">REST API failing`) ||
		!strings.Contains(r.body, "Braze answered 503 Service Unavailable") || !strings.Contains(r.body, "just now") {
		t.Fatal("a failing lookup is not shown")
	}
	fake.LackPermission(true)
	assertStatus(t, admin.post("/integrations/braze/test", nil), http.StatusSeeOther)
	if r := admin.get("/integrations/braze"); !strings.Contains(r.body, "lacks the users.export.ids permission") {
		t.Fatal("403 not explained")
	}

	// Tokens: a label is required; the token is shown once; revoked tokens stop working.
	assertStatus(t, admin.post("/integrations/braze/tokens", url.Values{"label": {" "}}), http.StatusUnprocessableEntity)
	assertStatus(t, admin.post("/integrations/braze/tokens", url.Values{"label": {"Braze prod"}}), http.StatusSeeOther)
	m := newTokenField.FindStringSubmatch(admin.get("/integrations/braze").body)
	if m == nil {
		t.Fatal("token not shown")
	}
	token := m[1]
	if r := admin.get("/integrations/braze"); strings.Contains(r.body, token) {
		t.Fatal("token shown twice")
	}
	if r := postCurrents(t, s.URL, token, []byte(`{"events":[]}`), nil); r.status != 200 {
		t.Fatalf("new token: %d", r.status)
	}
	tokens, _ := s.Store.ListAPITokens(context.Background(), ws.ID, "currents")
	assertStatus(t, admin.post("/integrations/braze/tokens/"+itoa(tokens[0].ID)+"/revoke", nil), http.StatusSeeOther)
	if r := postCurrents(t, s.URL, token, []byte(`{"events":[]}`), nil); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
	assertStatus(t, admin.post("/integrations/braze/tokens/999999/revoke", nil), http.StatusNotFound)

	// The status panel alone, for its refresh; the rejected request above is counted.
	r = admin.get("/integrations/braze/status")
	assertStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "Currents status") || strings.Contains(r.body, "<html") {
		t.Fatal("status fragment wrong")
	}
}

func TestIntegrationsAreForMarketersAndAdmins(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	for role, want := range map[string]int{"marketer": http.StatusOK, "sales": http.StatusForbidden} {
		link := invite(t, admin, role+"@acme.com", role)
		b := s.browser(t)
		assertStatus(t, b.post(link.Path, url.Values{"name": {role}, "password": {password}}), http.StatusSeeOther)
		assertStatus(t, b.get("/integrations/braze"), want)
		assertStatus(t, b.get("/integrations/braze/status"), want)
		if want == http.StatusForbidden {
			assertStatus(t, b.post("/integrations/braze/tokens", url.Values{"label": {"x"}}), http.StatusForbidden)
			if strings.Contains(b.get("/leads").body, "/integrations/braze") {
				t.Fatal("sales sees the integrations link")
			}
		}
	}
}

func TestLeadPages(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	assertStatus(t, admin.get("/leads/999999"), http.StatusNotFound)
	assertStatus(t, admin.get("/leads/abc"), http.StatusNotFound)
	ws, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")
	for i := 0; i < 60; i++ {
		if _, err := s.Store.CreateLead(context.Background(), model.Lead{WorkspaceID: ws.ID, Email: fmt.Sprintf("p%02d@globex.example.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
	r := admin.get("/leads")
	if !strings.Contains(r.body, "Page 1 of 2") || !strings.Contains(r.body, `href="/leads?page=2&amp;snap=`) || strings.Contains(r.body, "← Previous") {
		t.Fatal("first page lacks its pager")
	}
	r = admin.get("/leads?page=2&q=globex")
	if !strings.Contains(r.body, "Page 2 of 2") || !strings.Contains(r.body, `href="/leads?page=1&amp;q=globex&amp;snap=`) || strings.Contains(r.body, "Next →") {
		t.Fatal("second page's pager is wrong or loses the search")
	}
	r = admin.get("/leads?q=" + url.QueryEscape("<nobody>"))
	assertStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "No lead matches “&lt;nobody&gt;”") {
		t.Fatal("empty search not explained or not escaped")
	}
}
