package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/salesforce/salesforcetest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestSalesforceConnect connects a workspace through the OAuth redirect to the fake
// Salesforce, sees a revoked token explained, reconnects and disconnects.
func TestSalesforceConnect(t *testing.T) {
	fake := salesforcetest.New(t)
	srv := webtest.Start(t, nil)
	fake.Lock(func(s *salesforcetest.Server) { s.RedirectURIs = []string{srv.URL + "/salesforce/oauth2/callback"} })
	page := newPage(t, srv.URL)
	createWorkspace(t, page)

	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Integrations"}).Click())
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Salesforce"}).Click())
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Not connected"))
	must(t, expect.Locator(page.Locator("#sf-callback")).ToHaveValue(srv.URL+"/salesforce/oauth2/callback"))

	// The fake listens on loopback: a My Domain over plain http is allowed for this machine.
	_, err := page.Locator("#f-host").SelectOption(playwright.SelectOptionValues{Values: &[]string{"mydomain"}})
	must(t, err)
	must(t, page.Locator("#f-my_domain").Fill(fake.URL))
	must(t, page.Locator("#f-consumer_key").Fill(fake.ClientID))
	must(t, page.Locator("#f-consumer_secret").Fill(fake.ClientSecret))
	must(t, button(page, "Save").First().Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("connect with Salesforce"))

	// Off to Salesforce's approval page and back.
	must(t, page.Locator("#sf-connect").Click())
	must(t, expect.Page(page).ToHaveTitle("Allow Access?"))
	must(t, button(page, "Allow").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("Connected to Salesforce as integration@acme.example"))
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Connected"))
	must(t, expect.Locator(page.Locator("#sf-connection")).ToContainText("org 00D5g00000FAKEOAA"))
	must(t, expect.Locator(page.Locator(".sf-usage")).ToContainText("of 15000"))
	screenshot(t, page, "salesforce-connected.png")

	// Someone revokes the app in Salesforce: the test says why and what to do.
	fake.RevokeAll()
	must(t, button(page, "Test connection").Click())
	must(t, expect.Locator(page.Locator("#sf-problem")).ToContainText("no longer accepts"))
	must(t, expect.Locator(page.Locator("#sf-problem")).ToContainText("Connect with Salesforce again"))
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Needs attention"))
	screenshot(t, page, "salesforce-revoked.png")

	// Reconnect, then disconnect: the token is revoked in Salesforce.
	must(t, page.Locator("#sf-connect").Click())
	must(t, button(page, "Allow").Click())
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Connected"))
	page.OnDialog(func(d playwright.Dialog) { d.Accept() })
	must(t, button(page, "Disconnect").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("revoked"))
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Not connected"))
	if fake.TokenCalls["authorization_code"] != 2 {
		t.Fatalf("token calls %v", fake.TokenCalls)
	}
}
