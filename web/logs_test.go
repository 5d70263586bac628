package web_test

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/salesforce/salesforcetest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestLogsKeepSecretsOut drives the flows whose URLs or requests carry secrets — an
// invitation, the Salesforce OAuth round trip (a forged state too), Currents with its bearer
// token — and finds none of those secrets in the server's log, read at debug level.
func TestLogsKeepSecretsOut(t *testing.T) {
	logs := &webtest.Buffer{}
	s := testServer{webtest.StartWith(t, webtest.Options{Env: map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", "PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"}, Log: logs})}
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.example")
	var secrets []string

	// An invitation: looked at, a wrong token tried, accepted.
	link := invite(t, admin, "mo@acme.example", "marketer")
	secrets = append(secrets, path.Base(link.Path))
	joiner := s.browser(t)
	assertStatus(t, joiner.get(link.Path), http.StatusOK)
	wrong := path.Dir(link.Path) + "/" + strings.Repeat("x", len(path.Base(link.Path)))
	assertStatus(t, joiner.get(wrong), http.StatusNotFound)
	assertStatus(t, joiner.post(link.Path, url.Values{"name": {"Mo"}, "password": {"mo's long password 9"}}), http.StatusSeeOther)
	secrets = append(secrets, "mo's long password 9", password)

	// Salesforce: the app's secret, the OAuth state and code, a forged state, the tokens.
	fake := salesforcetest.New(t)
	fake.Lock(func(f *salesforcetest.Server) { f.RedirectURIs = []string{s.URL + "/salesforce/oauth2/callback"} })
	app := url.Values{"host": {"mydomain"}, "my_domain": {fake.URL}, "api_version": {"v62.0"}, "consumer_key": {fake.ClientID}, "consumer_secret": {fake.ClientSecret}}
	assertStatus(t, admin.post("/integrations/salesforce", app), http.StatusSeeOther)
	roundTrip := func() (*url.URL, url.Values) {
		authorize, _ := url.Parse(admin.get("/integrations/salesforce/connect").header.Get("Location"))
		return authorize, salesforcetest.Approve(t, authorize.String(), true)
	}
	firstAuthorize, first := roundTrip()
	forged := "forged-state-" + strings.Repeat("f", 20)
	admin.get("/salesforce/oauth2/callback?code=" + url.QueryEscape(first.Get("code")) + "&state=" + forged)
	authorize, back := roundTrip()
	assertStatus(t, admin.get("/salesforce/oauth2/callback?"+back.Encode()), http.StatusSeeOther)
	secrets = append(secrets, first.Get("code"), first.Get("state"), firstAuthorize.Query().Get("code_challenge"))
	if !strings.Contains(admin.get("/integrations/salesforce").body, "Connected as") {
		t.Fatal("Salesforce did not connect: the flow under test did not run")
	}
	secrets = append(secrets, fake.ClientSecret, back.Get("code"), back.Get("state"), forged, authorize.Query().Get("code_challenge"))
	secrets = append(secrets, fake.IssuedTokens()...)

	// Currents with a good and a wrong token.
	ws, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")
	token, _, err := ingest.CreateToken(context.Background(), s.Store, ws.ID, model.TokenKindCurrents, "Braze", nil)
	if err != nil {
		t.Fatal(err)
	}
	postCurrents(t, s.URL, token, currentstest.Read("users.messages.email.Open.json"), nil)
	postCurrents(t, s.URL, token+"x", currentstest.Read("users.messages.email.Open.json"), nil)
	secrets = append(secrets, token)

	out := logs.String()
	for _, want := range []string{"route=/join/:slug/:token", "route=/salesforce/oauth2/callback", "route=/api/braze/currents/events"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the log lacks %q: the capture is not working\n%s", want, out)
		}
	}
	for _, secret := range secrets {
		if len(secret) < 8 {
			t.Fatalf("secret %q too short to look for", secret)
		}
		if strings.Contains(out, secret) {
			t.Errorf("the log holds a secret (%.6s…): %s", secret, lineWith(out, secret))
		}
	}
}

func lineWith(text, s string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
