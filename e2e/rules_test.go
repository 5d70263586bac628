package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/auth"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// sendEvents posts Braze Currents events for people through the real endpoint.
func sendEvents(t *testing.T, srv *webtest.Server, workspaceID int64, events []map[string]any) {
	t.Helper()
	token, _, err := ingest.CreateToken(context.Background(), srv.Store, workspaceID, model.TokenKindCurrents, "e2e", nil)
	must(t, err)
	body, _ := json.Marshal(map[string]any{"events": events})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/braze/currents/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("posting events: %d", res.StatusCode)
	}
}

var eventSeq int

// event builds a Braze Currents event of a person, hoursAgo in the past.
func event(email, typ string, hoursAgo int, props map[string]any) map[string]any {
	eventSeq++
	p := map[string]any{"email_address": email, "campaign_name": "Newsletter"}
	for k, v := range props {
		p[k] = v
	}
	return map[string]any{"id": fmt.Sprintf("e2e-%d", eventSeq), "event_type": typ,
		"time": time.Now().Add(-time.Duration(hoursAgo) * time.Hour).Unix(),
		"user": map[string]any{"user_id": fmt.Sprintf("u-%s", email)}, "properties": p}
}

// TestRuleBuilderFlow builds a score rule with a nested OR group inside an AND in the
// builder, previews it, saves it, and sees the lead list re-rank; then a label rule, whose
// label appears in the list; a sales user sees the lists but not the builder.
func TestRuleBuilderFlow(t *testing.T) {
	srv := webtest.Start(t, nil)
	page := newPage(t, srv.URL)
	createWorkspace(t, page)
	ws, err := srv.Store.WorkspaceBySlug(context.Background(), "acme-robotics")
	must(t, err)

	open, click := "users.messages.email.Open", "users.messages.email.Click"
	custom := "users.behaviors.CustomEvent"
	var evs []map[string]any
	// Grace opens a lot: with the default rules she leads.
	for i := 0; i < 8; i++ {
		evs = append(evs, event("grace@hopper.example", open, 2+i*5, nil), event("grace@hopper.example", click, 3+i*5, map[string]any{"url": "https://acme.example/blog"}))
	}
	// Two people looked at pricing: one from a target account (globex), one from a campaign.
	evs = append(evs,
		event("hal@globex.example", custom, 5, map[string]any{"name": "pricing_page_viewed"}),
		event("ivy@initech.example", custom, 6, map[string]any{"name": "pricing_page_viewed", "campaign_name": "Spring launch"}),
		event("jon@initech.example", custom, 7, map[string]any{"name": "pricing_page_viewed", "campaign_name": "Newsletter"}),
		event("kim@globex.example", open, 8, nil))
	sendEvents(t, srv, ws.ID, evs)
	waitScored(t, srv, ws.ID, 5)

	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Leads", Exact: playwright.Bool(true)}).Click())
	rows := page.Locator("#leads tbody tr")
	must(t, expect.Locator(rows).ToHaveCount(5, playwright.LocatorAssertionsToHaveCountOptions{Timeout: playwright.Float(30_000)}))
	must(t, expect.Locator(rows.First()).ToContainText("grace@hopper.example", playwright.LocatorAssertionsToContainTextOptions{Timeout: playwright.Float(30_000)}))

	// The rules page lists the default rule set.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Rules"}).Click())
	must(t, expect.Locator(page.Locator("#rules")).ToContainText("Pricing page viewed"))

	// Build: pricing page viewed AND (account domain is globex OR campaign contains "spring").
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "+ Score rule"}).Click())
	must(t, expect.Locator(page.Locator(".qb-root")).ToBeVisible())
	// A new rule starts neutral: nothing to fix before anything is typed.
	must(t, expect.Locator(page.Locator("#builder-status")).ToContainText("checked as you go"))
	must(t, expect.Locator(page.Locator(".qb-error")).ToHaveCount(0))
	// Switching to a fit grade with an event condition offers to drop it; back to score.
	must(t, page.Locator(".seg-btn", playwright.PageLocatorOptions{HasText: "Fit grade"}).Click())
	must(t, page.Locator("#event-conditions-notice").GetByRole("button").Click())
	must(t, expect.Locator(page.Locator(".qb-root .qb-cond")).ToHaveCount(0))
	must(t, page.Locator(".seg-btn", playwright.PageLocatorOptions{HasText: "Score points"}).Click())
	must(t, page.Locator(".qb-root").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "+ Condition"}).First().Click())
	must(t, page.Locator("#rule-name").Fill("Pricing from a target account or the spring campaign"))
	root := page.Locator(".qb-root")
	first := root.Locator(".qb-cond").First()
	_, err = first.Locator(".qb-operator").SelectOption(playwright.SelectOptionValues{Values: &[]string{"contains"}})
	must(t, err)
	must(t, first.Locator(".qb-value input").Fill("pricing"))
	must(t, root.Locator(".qb-group-head").First().GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "+ Group"}).Click())
	nested := root.Locator(".qb-rules .qb-group")
	must(t, expect.Locator(nested).ToHaveCount(1))
	must(t, nested.Locator(".seg-btn", playwright.LocatorLocatorOptions{HasText: "OR"}).Click())
	// First condition of the OR: account domain equals globex.example, picked with search.
	must(t, nested.Locator(".qb-field").First().Click())
	must(t, page.Locator(".qb-search").Fill("account dom"))
	must(t, page.Locator(".qb-option", playwright.PageLocatorOptions{HasText: "Account domain"}).Click())
	must(t, nested.Locator(".qb-cond").First().Locator(".qb-value input").Fill("globex.example"))
	// Second: event property campaign_name contains spring.
	must(t, nested.Locator(".qb-group-head").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "+ Condition"}).Click())
	second := nested.Locator(".qb-cond").Nth(1)
	must(t, second.Locator(".qb-field").Click())
	must(t, page.Locator(".qb-search").Fill("property"))
	must(t, page.Locator(".qb-search").Press("Enter"))
	must(t, second.Locator(".qb-key-input").Fill("campaign_name"))
	_, err = second.Locator(".qb-operator").SelectOption(playwright.SelectOptionValues{Values: &[]string{"contains"}})
	must(t, err)
	must(t, second.Locator(".qb-value input").Fill("spring"))
	// Then: +100 once per lead.
	must(t, page.Locator("[data-path='score.points']").Fill("100"))
	_, err = page.Locator("[data-path='score.per']").SelectOption(playwright.SelectOptionValues{Values: &[]string{"lead"}})
	must(t, err)

	// An invalid value is explained beside the field, without a reload.
	must(t, page.Locator("[data-path='score.points']").Fill("0"))
	must(t, expect.Locator(page.Locator(".field:has([data-path='score.points']) .qb-error")).ToContainText("not zero"))
	must(t, page.Locator("[data-path='score.points']").Fill("100"))
	must(t, expect.Locator(page.Locator("#builder-status")).ToContainText("valid"))

	// Preview: hal (globex) and ivy (spring) match; jon saw pricing from another campaign.
	must(t, page.Locator("#preview-btn").Click())
	must(t, expect.Locator(page.Locator("[data-preview='leads match now']")).ToHaveText("2"))
	must(t, expect.Locator(page.Locator("#preview-examples")).ToContainText("hal@globex.example"))
	must(t, expect.Locator(page.Locator("#preview-examples")).ToContainText("ivy@initech.example"))
	must(t, expect.Locator(page.Locator("#preview-examples")).Not().ToContainText("jon@initech.example"))
	must(t, expect.Locator(page.Locator("#preview-panel")).Not().ToContainText("null"))
	screenshot(t, page, "rule-builder.png")

	must(t, page.Locator("#save-btn").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("saved"))
	// When re-scoring ends the page refreshes itself: the new rule matched hal and ivy.
	must(t, expect.Locator(page.Locator("tr[data-rule-name='Pricing from a target account or the spring campaign'] td.num")).ToHaveText("2",
		playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(30_000)}))
	must(t, expect.Locator(page.Locator("#rescore-progress")).ToContainText("All leads are scored"))
	screenshot(t, page, "rules.png")

	// A label rule: people who clicked an email.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "+ Label"}).Click())
	must(t, page.Locator("#rule-name").Fill("Clicked recently"))
	cond := page.Locator(".qb-root .qb-cond").First()
	must(t, cond.Locator(".qb-field").Click())
	must(t, page.Locator(".qb-search").Fill("braze event type"))
	must(t, page.Locator(".qb-search").Press("Enter"))
	_, err = cond.Locator(".qb-operator").SelectOption(playwright.SelectOptionValues{Values: &[]string{"ends_with"}})
	must(t, err)
	must(t, cond.Locator(".qb-value input").Fill(".Click"))
	must(t, page.Locator("[data-path='label.name']").Fill("Clicker"))
	must(t, page.Locator("[data-path='label.emoji']").Fill("🖱️"))
	must(t, page.Locator("#preview-btn").Click())
	must(t, expect.Locator(page.Locator("[data-preview='leads match now']")).ToHaveText("1"))
	must(t, page.Locator("#save-btn").Click())
	must(t, expect.Locator(page.Locator("tr[data-rule-name='Clicked recently'] td.num")).ToHaveText("1",
		playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(30_000)}))

	// The list re-ranked: hal and ivy jumped above grace; grace carries the label.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Leads", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(rows.Nth(0)).ToContainText("@", playwright.LocatorAssertionsToContainTextOptions{}))
	top := []string{}
	for i := 0; i < 3; i++ {
		text, err := rows.Nth(i).Locator("td").First().TextContent()
		must(t, err)
		top = append(top, text)
	}
	if !(strings.Contains(top[0], "hal@globex.example") || strings.Contains(top[0], "ivy@initech.example")) ||
		!(strings.Contains(top[1], "hal@globex.example") || strings.Contains(top[1], "ivy@initech.example")) || !strings.Contains(top[2], "grace@hopper.example") {
		t.Fatalf("list did not re-rank: %q", top)
	}
	graceRow := rows.Filter(playwright.LocatorFilterOptions{HasText: "grace@hopper.example"})
	must(t, expect.Locator(graceRow.Locator(".label-chip", playwright.LocatorLocatorOptions{HasText: "Clicker"})).ToBeVisible())
	// Filter by the label.
	must(t, page.Locator("label.toggle-chip", playwright.PageLocatorOptions{HasText: "Clicker"}).Click())
	must(t, expect.Locator(rows).ToHaveCount(1))
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Clear"}).Click())
	must(t, expect.Locator(rows).ToHaveCount(5))
	screenshot(t, page, "leads-scored.png")

	// The lead page explains the score.
	must(t, rows.First().Locator("a.strong").Click())
	must(t, expect.Locator(page.Locator("#why")).ToContainText("Pricing from a target account or the spring campaign"))
	must(t, expect.Locator(page.Locator("#why")).ToContainText("+100 Pricing from a target account"))
	screenshot(t, page, "lead-scored.png")

	// Accounts: globex is listed with its people.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Accounts"}).Click())
	must(t, expect.Locator(page.Locator("#accounts")).ToContainText("globex.example"))
	must(t, expect.Locator(page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Export CSV"})).ToHaveAttribute("href", "/accounts.csv?"))
	screenshot(t, page, "accounts.png")
	must(t, page.SetViewportSize(390, 844))
	screenshot(t, page, "accounts-phone.png")
	must(t, page.SetViewportSize(1280, 820))
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "globex.example"}).Click())
	must(t, expect.Locator(page.Locator(".people")).ToContainText("hal@globex.example"))
	screenshot(t, page, "account.png")

	// A sales user sees the lists but cannot open the builder.
	inv := model.Invitation{WorkspaceID: ws.ID, Email: "sam@acme-robotics.com", Role: model.RoleSales, TokenHash: []byte("sales-e2e"),
		ExpiresAt: time.Now().Add(time.Hour)}
	users, err := srv.Store.ListUsers(context.Background(), ws.ID)
	must(t, err)
	inv.InvitedBy = users[0].ID
	_, err = srv.Store.CreateInvitation(context.Background(), inv)
	must(t, err)
	hash, _ := auth.HashPassword(adminPassword)
	_, err = srv.Store.AcceptInvitation(context.Background(), ws.ID, []byte("sales-e2e"), model.User{Name: "Sam Sales", PasswordHash: hash}, time.Now())
	must(t, err)
	sales := newPage(t, srv.URL)
	_, err = sales.Goto("/login")
	must(t, err)
	must(t, sales.Locator("#f-email").Fill("sam@acme-robotics.com"))
	must(t, sales.Locator("#f-password").Fill(adminPassword))
	must(t, button(sales, "Sign in").Click())
	must(t, expect.Page(sales).ToHaveURL(homeURL))
	_, err = sales.Goto("/leads")
	must(t, err)
	must(t, expect.Locator(sales.Locator("#leads tbody tr")).ToHaveCount(5))
	if n, _ := sales.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Rules"}).Count(); n != 0 {
		t.Fatal("sales sees the Rules link")
	}
	res, err := sales.Goto("/rules/new?kind=score")
	must(t, err)
	if res.Status() != http.StatusForbidden {
		t.Fatalf("sales opened the builder: %d", res.Status())
	}
}

// waitScored waits until the workspace has leads leads and no activity waits to be scored (the
// scoring stage runs a moment after the events are stored).
func waitScored(t *testing.T, srv *webtest.Server, workspaceID int64, leads int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, total, err := srv.Store.ListLeads(context.Background(), store.Everyone(workspaceID), store.LeadFilter{Limit: 1})
		must(t, err)
		waiting, err := srv.Store.ScoringBacklog(context.Background(), workspaceID)
		must(t, err)
		if total >= leads && waiting == 0 {
			return
		}
	}
	t.Fatal("the events were not scored within 30 s")
}
