package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestBrazeCurrentsFlow: connect Braze, generate a Currents token in the UI, post a batch
// with an HTTP client, and find the leads, their timeline and the counts in the UI.
func TestBrazeCurrentsFlow(t *testing.T) {
	fake := brazetest.New(t, "braze-rest-key-0001")
	fake.AddUser(brazetest.User{BrazeID: currentstest.AppOnly.UserID, Email: "mia.wong@initech.example.com", FirstName: "Mia", LastName: "Wong",
		Country: "SG", CustomAttributes: map[string]any{"company": "Initech", "job_title": "CTO"}})
	srv := webtest.Start(t, map[string]string{"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"}) // the Braze fake is on loopback
	page := newPage(t, srv.URL)

	createWorkspace(t, page)

	// Connect the REST API (the fake listens on loopback, so plain http is allowed).
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Integrations"}).Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/integrations")))
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Braze", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/integrations/braze")))
	must(t, expect.Locator(page.Locator("#status-panel")).ToContainText("No batch received yet"))
	must(t, page.Locator("#f-api_key").Fill("braze-rest-key-0001"))
	_, err := page.Locator("#f-instance").SelectOption(playwright.SelectOptionValues{Values: &[]string{"other"}})
	must(t, err)
	must(t, page.Locator("#f-other_url").Fill(fake.URL))
	must(t, button(page, "Save and test").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("Connected"))
	must(t, expect.Locator(page.Locator(".test-ok")).ToBeVisible())

	// Generate a Currents token; it is shown once.
	must(t, page.Locator("#f-label").Fill("Braze production"))
	must(t, button(page, "Generate API token").Click())
	token, err := page.Locator("#new-token").InputValue()
	must(t, err)
	if !strings.HasPrefix(token, "pgc_") {
		t.Fatalf("token %q", token)
	}
	endpoint, err := page.Locator("#currents-endpoint").TextContent()
	must(t, err)
	must(t, expect.Locator(page.Locator("#tokens")).ToContainText("Braze production"))
	screenshot(t, page, "braze-token.png")

	// Braze posts the mixed batch, and one event whose campaign name is markup.
	body := currentstest.Read("mixed-batch.json")
	post := func(body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Braze-Currents-Version", "1")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	if status := post(body); status != 200 {
		t.Fatalf("posting the batch: %d", status)
	}
	xss := `{"events":[{"id":"xss-1","event_type":"users.messages.email.Open","time":1773850000,"user":{"user_id":"` + currentstest.Nora.UserID + `"},
		"properties":{"email_address":"` + currentstest.Nora.Email + `","campaign_name":"<script>alert('x')</script><b>bold</b>"}}]}`
	if status := post([]byte(xss)); status != 200 {
		t.Fatalf("posting the markup event: %d", status)
	}

	// The status panel refreshes by itself.
	panel := page.Locator("#status-panel")
	must(t, expect.Locator(panel).ToContainText("users.messages.email.Delivery", playwright.LocatorAssertionsToContainTextOptions{Timeout: playwright.Float(30_000)}))
	must(t, expect.Locator(panel).ToContainText("Last batch", playwright.LocatorAssertionsToContainTextOptions{Timeout: playwright.Float(30_000)}))
	must(t, expect.Locator(panel.Locator(".figure").Filter(playwright.LocatorFilterOptions{HasText: "duplicates ignored"})).ToContainText("3"))
	must(t, expect.Locator(panel.Locator(".figure").Filter(playwright.LocatorFilterOptions{HasText: "received (24 h)"})).ToContainText("101"))
	screenshot(t, page, "braze-status.png")

	// Leads: search, open, read the timeline.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Leads", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(page.Locator("#leads")).ToContainText(currentstest.Nora.Email))
	screenshot(t, page, "leads.png")
	must(t, page.Locator("input[name=q]").Fill("nora.lindqvist"))
	must(t, button(page, "Apply").Click())
	must(t, expect.Locator(page.Locator("#leads tbody tr")).ToHaveCount(1))
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: currentstest.Nora.Email}).First().Click())
	must(t, expect.Locator(page.Locator(".timeline").First()).ToBeVisible())
	must(t, expect.Locator(page.Locator(".timeline-card")).ToContainText("Clicked in email Autumn Product Webinar Invite"))
	must(t, expect.Locator(page.Locator(".timeline-card")).ToContainText("<script>alert('x')</script><b>bold</b>"))
	if n, _ := page.Locator(".timeline-card b").Count(); n != 0 {
		t.Fatal("campaign name rendered as HTML")
	}
	must(t, expect.Locator(page.Locator(".facts").First()).ToContainText("fjordsoft.example.com"))
	screenshot(t, page, "lead.png")

	// The app-only user became known through the Braze lookup by braze_id.
	_, err = page.Goto("/leads?q=mia.wong")
	must(t, err)
	must(t, expect.Locator(page.Locator("#leads")).ToContainText("Mia Wong", playwright.LocatorAssertionsToContainTextOptions{Timeout: playwright.Float(20_000)}))
}
