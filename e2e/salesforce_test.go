package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/salesforce/salesforcetest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestSalesforceConnect connects a workspace through the OAuth redirect to the fake
// Salesforce, sees a revoked token explained, reconnects and disconnects.
func TestSalesforceConnect(t *testing.T) {
	fake := salesforcetest.New(t)
	srv := webtest.Start(t, map[string]string{"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"}) // the Salesforce fake is on loopback
	fake.Lock(func(s *salesforcetest.Server) { s.RedirectURIs = []string{srv.URL + "/salesforce/oauth2/callback"} })
	page := newPage(t, srv.URL)
	createWorkspace(t, page)

	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Integrations"}).Click())
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Salesforce", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Not connected"))
	must(t, expect.Locator(page.Locator("#sf-callback")).ToHaveValue(srv.URL+"/salesforce/oauth2/callback"))

	// The fake listens on loopback, which this server allows (PEREGRINE_ALLOW_PRIVATE_HOSTS).
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
	must(t, expect.Locator(page.Locator(".sf-usage")).ToContainText("of 15,000"))
	screenshot(t, page, "salesforce-connected.png")

	// Someone revokes the app in Salesforce: the test says why and what to do.
	fake.RevokeAll()
	must(t, button(page, "Test connection").Click())
	must(t, expect.Locator(page.Locator("#sf-problem")).ToContainText("no longer accepts"))
	must(t, expect.Locator(page.Locator("#sf-problem")).ToContainText("Connect with Salesforce again"))
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Needs attention"))
	screenshot(t, page, "salesforce-revoked.png")

	// Reconnect.
	must(t, page.Locator("#sf-connect").Click())
	must(t, button(page, "Allow").Click())
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Connected"))

	// Map: Lead by email; the score and labels to custom fields the admin created.
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_Score__c", Label: "Peregrine score", Type: "double", Custom: true})
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_Labels__c", Label: "Peregrine labels", Type: "string", Length: 255, Custom: true})
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_Grade__c", Label: "Locked grade", Type: "string", Length: 1, Custom: true, ReadOnly: true})
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Sync", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(page.Locator(".checklist")).ToContainText("Peregrine_URL__c"))
	if n, _ := page.Locator("select[name='map_field:grade'] option[value='Peregrine_Grade__c']").Count(); n != 0 {
		t.Fatal("a read-only field is offered for the grade")
	}
	_, err = page.Locator("select[name='map_field:score:Lead score']").SelectOption(playwright.SelectOptionValues{Values: &[]string{"Peregrine_Score__c"}})
	must(t, err)
	_, err = page.Locator("select[name='map_field:labels']").SelectOption(playwright.SelectOptionValues{Values: &[]string{"Peregrine_Labels__c"}})
	must(t, err)
	_, err = page.Locator("select[name='map_field:title']").SelectOption(playwright.SelectOptionValues{Values: &[]string{"Title"}})
	must(t, err)
	must(t, button(page, "Save sync settings").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("3 fields mapped on Lead"))
	screenshot(t, page, "salesforce-mapping.png")

	// A lead visits pricing: it is scored, and arrives in Salesforce with its score.
	ws, err := srv.Store.WorkspaceBySlug(context.Background(), "acme-robotics")
	must(t, err)
	sendEvents(t, srv, ws.ID, []map[string]any{event("nora@umbrella.example", "users.behaviors.CustomEvent", 1, map[string]any{"name": "pricing_page_viewed"})})
	var rec salesforcetest.Record
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && rec.ID == "" {
		for _, r := range fake.Records("Lead") {
			if r.Fields["Email"] == "nora@umbrella.example" && r.Fields["Peregrine_Score__c"] != nil {
				rec = r
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if rec.ID == "" {
		t.Fatal("the scored lead did not reach Salesforce")
	}
	if calls, _ := webtest.Metric(srv.Gather(t), "peregrine_salesforce_api_calls_total"); calls < 1 {
		t.Fatalf("the push made %v Salesforce API calls by /metrics", calls)
	}
	if rec.Fields["Peregrine_Score__c"] != 15.0 || rec.Fields["Peregrine_Labels__c"] != "Pricing this week" || rec.Fields["Company"] != "umbrella.example" || rec.Fields["LastName"] != "[not provided]" {
		t.Fatalf("Salesforce record %+v", rec.Fields)
	}
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Sync log"}).Click())
	must(t, expect.Locator(page.Locator("#sync-runs tbody tr").First()).ToContainText("push"))
	must(t, page.Locator("#sync-runs a", playwright.PageLocatorOptions{HasText: "details"}).First().Click())
	must(t, expect.Locator(page.Locator("#run-records")).ToContainText("nora@umbrella.example"))
	must(t, expect.Locator(page.Locator("#run-records")).ToContainText("created"))
	screenshot(t, page, "salesforce-log.png")

	// Disconnect: the token is revoked in Salesforce.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Connection"}).Click())
	page.OnDialog(func(d playwright.Dialog) { d.Accept() })
	must(t, button(page, "Disconnect").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("revoked"))
	must(t, expect.Locator(page.Locator("#sf-status")).ToHaveText("Not connected"))
	if fake.TokenCalls["authorization_code"] != 2 {
		t.Fatalf("token calls %v", fake.TokenCalls)
	}
}
