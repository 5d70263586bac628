package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify/slacktest"
	"github.com/peregrine-scoring/peregrine/domain/notify/smtptest"
	"github.com/peregrine-scoring/peregrine/domain/notify/webhooktest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestPricingAlert: a marketer adds a Slack channel and a webhook, creates the alert "pricing
// visit by a good fit (grade B or better) → Slack and the owner's email", Braze reports the
// lead's pricing visit, and the rep's Slack and inbox get it; both show in the log; the
// webhook that answered 410 shows red.
func TestPricingAlert(t *testing.T) {
	smtp, slack, hook := smtptest.Start(t), slacktest.Start(t), webhooktest.Start(t)
	hook.Answer(http.StatusGone)
	srv := webtest.Start(t, map[string]string{"PEREGRINE_SMTP_URL": smtp.URL(), "PEREGRINE_MAIL_FROM": "peregrine@acme-robotics.com",
		"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"})
	page := newPage(t, srv.URL)
	createWorkspace(t, page)
	ctx := context.Background()
	ws, err := srv.Store.WorkspaceBySlug(ctx, "acme-robotics")
	must(t, err)
	token, _, err := ingest.CreateToken(ctx, srv.Store, ws.ID, model.TokenKindCurrents, "Braze", nil)
	must(t, err)
	post := func(fixture string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/braze/currents/events", bytes.NewReader(currentstest.Read(fixture)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		res.Body.Close()
	}
	// Nora opened an email; Salesforce says she is a VP owned by Ada (grade B: title and company email).
	post("users.messages.email.Open.json")
	var leadID int64
	deadline := time.Now().Add(30 * time.Second)
	for srv.DB.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1`, ws.ID).Scan(&leadID) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no lead")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err = srv.DB.Exec(`UPDATE leads SET title = 'VP Sales', owner_email = 'ada@acme-robotics.com' WHERE id = $1`, leadID)
	must(t, err)

	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Alerts", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "No alerts yet"})).ToBeVisible())
	screenshot(t, page, "alerts-empty.png")
	addChannel := func(kind, name, url string) {
		_, err := page.Locator("#f-kind").SelectOption(playwright.SelectOptionValues{Values: &[]string{kind}})
		must(t, err)
		must(t, page.Locator("#f-channel_name").Fill(name))
		must(t, page.Locator("#f-url").Fill(url))
		must(t, button(page, "Add channel").Click())
		must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("Channel “"+name+"” added"))
	}
	addChannel("slack", "#sales", slack.URL+"/services/T1/B1/secret")
	addChannel("webhook", "Old Zap", hook.URL+"/zap")
	secret, err := page.Locator("#webhook-secret").InputValue()
	must(t, err)
	must(t, hook.SetSecret(secret))

	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "New alert"}).First().Click())
	must(t, page.Locator("#f-name").Fill("Pricing visit by a good fit"))
	must(t, page.Locator(`input[name=trigger][value=activity]`).Check())
	_, err = page.Locator("#f-act_field").SelectOption(playwright.SelectOptionValues{Values: &[]string{"event.name"}})
	must(t, err)
	must(t, page.Locator("#f-act_value").Fill("pricing"))
	_, err = page.Locator("#f-min_grade").SelectOption(playwright.SelectOptionValues{Values: &[]string{"B"}})
	must(t, err)
	// Narrow it in the rule builder: only people of the Fjordsoft account.
	root := page.Locator(".alert-condition .qb-root")
	must(t, root.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "+ Condition"}).First().Click())
	cond := root.Locator(".qb-cond").First()
	must(t, cond.Locator(".qb-field").Click())
	must(t, page.Locator(".qb-search").Fill("account dom"))
	must(t, page.Locator(".qb-option", playwright.PageLocatorOptions{HasText: "Account domain"}).Click())
	must(t, cond.Locator(".qb-value input").Fill("fjordsoft.example.com"))
	must(t, expect.Locator(page.Locator("#condition-status")).ToHaveText("✓ The condition is valid."))
	must(t, page.GetByLabel("#sales · Slack").Check())
	must(t, page.GetByLabel("Old Zap · webhook").Check())
	screenshot(t, page, "alert-form.png")
	must(t, button(page, "Save alert").Click())
	must(t, expect.Locator(page.Locator("#alert-rules")).ToContainText("Pricing visit by a good fit"))
	var saved string
	must(t, srv.DB.QueryRow(`SELECT definition->'condition'->'rules'->0->>'value' FROM alert_rules`).Scan(&saved))
	if saved != "fjordsoft.example.com" {
		t.Fatalf("the builder's condition was not saved: %q", saved)
	}

	post("users.behaviors.CustomEvent.json") // pricing_page_viewed
	deadline = time.Now().Add(30 * time.Second)
	for len(slack.Messages()) == 0 || len(smtp.Messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Slack got %d messages, email %d", len(slack.Messages()), len(smtp.Messages()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := smtp.Messages()[0]; m.To[0] != "ada@acme-robotics.com" || !strings.Contains(m.Text, "pricing_page_viewed") {
		t.Fatalf("the owner's email: %v %s", m.To, m.Text)
	}
	_, err = page.Goto("about:blank")
	must(t, err)
	must(t, page.SetContent(smtp.Messages()[0].HTML))
	screenshot(t, page, "email-alert.png")
	_, err = page.Goto("/alerts")
	must(t, err)
	must(t, expect.Locator(page.Locator("#deliveries")).ToContainText("Alert · Slack"))
	must(t, expect.Locator(page.Locator("#deliveries")).ToContainText("Alert · email"))
	must(t, expect.Locator(page.Locator("#channel-list")).ToContainText("Disabled"))
	must(t, expect.Locator(page.Locator("#channel-list .status-bad")).ToBeVisible())
	screenshot(t, page, "alerts.png")
	must(t, page.SetViewportSize(390, 844))
	screenshot(t, page, "alerts-phone.png")
}
