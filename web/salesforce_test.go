package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/salesforce/salesforcetest"
)

func TestSalesforceSettingsAndSignIn(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"}) // the Salesforce fake is on loopback
	fake := salesforcetest.New(t)
	fake.Lock(func(f *salesforcetest.Server) { f.RedirectURIs = []string{s.URL + "/salesforce/oauth2/callback"} })
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")

	r := admin.get("/integrations/salesforce")
	assertStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, s.URL+"/salesforce/oauth2/callback") || !strings.Contains(r.body, "refresh_token offline_access") {
		t.Fatal("the page does not show the callback URL and scopes to copy")
	}
	// Bad input: each problem beside its field, nothing stored.
	r = admin.post("/integrations/salesforce", url.Values{"host": {"mydomain"}, "my_domain": {"acme.my.salesforce.com/login?x=1"},
		"api_version": {"62"}, "consumer_key": {""}, "consumer_secret": {""}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{"Enter the login address", "API version like v62.0", "Paste the consumer key", "Paste the consumer secret"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("missing %q", want)
		}
	}
	// Connecting before saving the app says what to do.
	r = admin.get("/integrations/salesforce/connect")
	if r.status != http.StatusSeeOther {
		t.Fatalf("connect without app: %d", r.status)
	}
	good := url.Values{"host": {"mydomain"}, "my_domain": {fake.URL}, "api_version": {"v62.0"}, "consumer_key": {fake.ClientID}, "consumer_secret": {fake.ClientSecret}}
	assertStatus(t, admin.post("/integrations/salesforce", good), http.StatusSeeOther)
	if strings.Contains(admin.get("/integrations/salesforce").body, fake.ClientSecret) {
		t.Fatal("the consumer secret is shown back")
	}

	// The OAuth start redirects to the login host with state and PKCE.
	r = admin.get("/integrations/salesforce/connect")
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc.String(), fake.URL+"/services/oauth2/authorize") ||
		loc.Query().Get("code_challenge") == "" || loc.Query().Get("state") == "" || loc.Query().Get("redirect_uri") != s.URL+"/salesforce/oauth2/callback" {
		t.Fatalf("authorize redirect %d %s", r.status, loc)
	}
	back := salesforcetest.Approve(t, loc.String(), true)
	// A callback with another state is refused and connects nothing.
	admin.get("/salesforce/oauth2/callback?code=" + url.QueryEscape(back.Get("code")) + "&state=forged")
	if strings.Contains(admin.get("/integrations/salesforce").body, "Connected as") {
		t.Fatal("a forged state connected")
	}
	// The real round trip connects.
	r = admin.get("/integrations/salesforce/connect")
	loc, _ = url.Parse(r.header.Get("Location"))
	back = salesforcetest.Approve(t, loc.String(), true)
	r = admin.get("/salesforce/oauth2/callback?" + back.Encode())
	assertStatus(t, r, http.StatusSeeOther)
	if page := admin.get("/integrations/salesforce").body; !strings.Contains(page, "Connected as integration@acme.example") {
		t.Fatalf("not connected:\n%.1500s", page)
	}
	// Declining in Salesforce is explained.
	r = admin.get("/integrations/salesforce/connect")
	loc, _ = url.Parse(r.header.Get("Location"))
	admin.get("/salesforce/oauth2/callback?" + salesforcetest.Approve(t, loc.String(), false).Encode())
	if page := admin.get("/integrations/salesforce").body; !strings.Contains(page, "You declined access") {
		t.Fatal("a denial is not explained")
	}

	// Legacy sign-in after a password reset: the message names the security token.
	fake.ChangePassword("Brand-new-pw-9")
	u := fake.Users[0]
	r = admin.post("/integrations/salesforce/password", url.Values{"username": {u.Username}, "password": {"Brand-new-pw-9"}, "security_token": {"OLDTOKEN"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "security token") {
		t.Fatal("authentication failure not explained")
	}

	// Signing in to an org without API access is not "connected": the reason is shown, not a
	// green message beside a red alert.
	fake.Lock(func(f *salesforcetest.Server) { f.APIDisabled = true })
	r = admin.post("/integrations/salesforce/password", url.Values{"username": {u.Username}, "password": {"Brand-new-pw-9"},
		"security_token": {fake.Users[0].SecurityToken}})
	assertStatus(t, r, http.StatusSeeOther)
	page := admin.get("/integrations/salesforce").body
	if strings.Contains(page, "Connected to Salesforce as") || !strings.Contains(page, "API_DISABLED_FOR_ORG") ||
		!strings.Contains(page, "Needs attention") {
		t.Fatalf("API-less org shown as connected:\n%.2500s", page)
	}
	fake.Lock(func(f *salesforcetest.Server) { f.APIDisabled = false })

	// Mapping is checked against the org: unknown object, read-only and incompatible fields.
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Locked__c", Type: "double", Custom: true, ReadOnly: true})
	r = admin.post("/integrations/salesforce/sync", url.Values{"object": {"custom"}, "custom_object": {"Nope__c"}, "match_field": {"Email"},
		"placeholder": {"x"}, "reconcile_hours": {"2"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Salesforce has no object Nope__c") {
		t.Fatalf("unknown object accepted:\n%.800s", r.body)
	}
	r = admin.post("/integrations/salesforce/sync", url.Values{"object": {"Lead"}, "match_field": {"Email"}, "placeholder": {"x"}, "reconcile_hours": {"2"},
		"map_key": {"score:Lead score", "grade", "first_name"}, "map_field:score:Lead score": {"Locked__c"}, "map_dir:score:Lead score": {"to_salesforce"},
		"map_field:grade": {"NumberOfEmployees"}, "map_field:first_name": {"FirstName"}, "map_dir:first_name": {"both"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{"Locked__c is read-only", "NumberOfEmployees is a int field"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("missing %q", want)
		}
	}

	// A marketer cannot touch the Salesforce connection.
	link := invite(t, admin, "mo@acme.com", "marketer")
	marketer := s.browser(t)
	marketer.post(link.Path, url.Values{"name": {"Mo Marketer"}, "password": {password}})
	assertStatus(t, marketer.get("/integrations/braze"), http.StatusOK)
	for _, path := range []string{"/integrations/salesforce", "/integrations/salesforce/sync", "/integrations/salesforce/log", "/integrations/salesforce/connect"} {
		assertStatus(t, marketer.get(path), http.StatusForbidden)
	}
	assertStatus(t, marketer.post("/integrations/salesforce/disconnect", url.Values{}), http.StatusForbidden)
}
