package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestLeadManagementPages: an admin adds a status and a pool in Lead settings, gives new
// leads by hand to the pool, creates a lead in the form (the form says who will own it),
// (the pool's first member in list order, Kim), then changes its status and owner on its
// page; the pages fit a desktop and a phone.
func TestLeadManagementPages(t *testing.T) {
	srv := webtest.Start(t, nil)
	page := newPage(t, srv.URL)
	createWorkspace(t, page)
	ws, err := srv.Store.WorkspaceBySlug(context.Background(), "acme-robotics")
	must(t, err)
	for _, name := range []string{"Sam Seller", "Kim Closer"} {
		pgtest.Exec(t, srv.DB, `INSERT INTO users (workspace_id, email, name, role, password_hash) VALUES ($1, $2, $3, 'sales', 'x')`,
			ws.ID, fmt.Sprintf("%s@acme-robotics.com", strings.ToLower(name[:3])), name)
	}
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Lead settings"}).Click())
	must(t, expect.Locator(page.Locator("#lead-statuses")).ToContainText("default"))
	must(t, page.Locator("#lead-statuses input[name=name]").Fill("Nurturing"))
	must(t, button(page, "Add status").Click())
	must(t, expect.Locator(page.Locator("#lead-statuses")).ToContainText("Nurturing"))
	must(t, page.Locator("#pools input[name=name]").Fill("Inbound"))
	must(t, page.Locator("#pools label.check", playwright.PageLocatorOptions{HasText: "Sam Seller"}).Locator("input").Check())
	must(t, page.Locator("#pools label.check", playwright.PageLocatorOptions{HasText: "Kim Closer"}).Locator("input").Check())
	must(t, button(page, "Create pool").Click())
	must(t, expect.Locator(page.Locator(".pool-members")).ToContainText("Sam Seller"))
	rule := page.Locator("#rule-manual")
	_, err = rule.Locator("select[name=mode]").SelectOption(playwright.SelectOptionValues{Values: &[]string{"pool"}})
	must(t, err)
	_, err = rule.Locator("select[name=pool]").SelectOption(playwright.SelectOptionValues{Labels: &[]string{"Inbound"}})
	must(t, err)
	must(t, rule.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Save"}).Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("follow the new rule"))
	screenshot(t, page, "lead-settings.png")

	// A lead by hand: the form says the pool decides.
	_, err = page.Goto("/leads")
	must(t, err)
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "New lead"}).First().Click())
	must(t, expect.Locator(page.Locator("#owner-note")).ToContainText("the next member of the pool “Inbound”"))
	must(t, page.Locator("#f-email").Fill("nora@fjordsoft.example"))
	must(t, page.Locator("#f-first_name").Fill("Nora"))
	must(t, page.Locator("#f-new_source").Fill("Trade show"))
	screenshot(t, page, "new-lead.png")
	must(t, button(page, "Create lead").Click())
	must(t, expect.Page(page).ToHaveURL(regexp.MustCompile(`/leads/\d+$`)))
	must(t, expect.Locator(page.Locator("#lead-changes")).ToContainText("round robin of Inbound"))
	_, err = page.Locator("#a-status").SelectOption(playwright.SelectOptionValues{Values: &[]string{"Qualified"}})
	must(t, err)
	_, err = page.Locator("#a-owner").SelectOption(playwright.SelectOptionValues{Labels: &[]string{"Sam Seller"}})
	must(t, err)
	must(t, page.Locator("#assign").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Save"}).Click())
	must(t, expect.Locator(page.Locator("#lead-changes")).ToContainText("Status: New → Qualified"))
	must(t, expect.Locator(page.Locator("#lead-changes")).ToContainText("Owner: Kim Closer → Sam Seller"))
	lead := page.URL()

	// Two more leads by hand go to the pool's members in turn.
	for _, l := range []struct{ email, name, owner string }{{"omar@fjordsoft.example", "Omar", "Sam Seller"}, {"pia@fjordsoft.example", "Pia", "Kim Closer"}} {
		_, err = page.Goto("/leads/new")
		must(t, err)
		must(t, page.Locator("#f-email").Fill(l.email))
		must(t, page.Locator("#f-first_name").Fill(l.name))
		must(t, button(page, "Create lead").Click())
		must(t, expect.Locator(page.Locator("#lead-changes")).ToContainText("owner "+l.owner+" (round robin of Inbound)"))
	}

	// The lead card: add the owner, drag it first, move it one down with the keyboard,
	// preview, publish; the list shows it.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Card layout"}).Click())
	leads := page.Locator("#card-leads")
	_, err = leads.Locator("select[name=add]").SelectOption(playwright.SelectOptionValues{Labels: &[]string{"Owner"}})
	must(t, err)
	must(t, leads.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Add field"}).Click())
	must(t, expect.Locator(leads.Locator("li[data-key=owner]")).ToBeVisible())
	must(t, leads.Locator("li[data-key=owner] .drag-handle").DragTo(leads.Locator("li[data-key=score]")))
	must(t, expect.Locator(leads.Locator(".card-fields li").First()).ToHaveAttribute("data-key", "owner"))
	must(t, leads.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Move Owner down"}).Focus())
	must(t, page.Keyboard().Press("Enter"))
	must(t, expect.Locator(leads.Locator(".card-fields li").Nth(1)).ToHaveAttribute("data-key", "owner"))
	must(t, expect.Locator(page.Locator("#card-leads button[aria-label='Move Owner down']")).ToBeFocused())
	must(t, expect.Locator(page.Locator("#preview-leads")).ToContainText("Owner"))
	must(t, expect.Locator(page.Locator("#card-leads")).ToContainText("Draft not published"))
	screenshot(t, page, "card-layout.png")
	_, err = page.Goto("/leads")
	must(t, err)
	if n, _ := page.Locator("#leads th", playwright.PageLocatorOptions{HasText: "Owner"}).Count(); n != 0 {
		t.Fatal("the draft changed the list before publishing")
	}
	_, err = page.Goto("/settings/cards")
	must(t, err)
	must(t, page.Locator("#publish-leads").Click())
	must(t, expect.Locator(page.Locator("#card-leads")).ToContainText("Published"))
	_, err = page.Goto("/leads")
	must(t, err)
	must(t, expect.Locator(page.Locator("#leads thead th").Nth(2)).ToHaveText("Owner"))
	must(t, expect.Locator(page.Locator("#leads tbody")).ToContainText("Kim Closer"))
	must(t, expect.Locator(page.Locator("#leads tbody")).ToContainText("Sam Seller"))
	screenshot(t, page, "leads-with-card.png")

	// Currents off and on again from the overview.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Integrations"}).Click())
	currents := page.Locator("#part-currents")
	must(t, currents.GetByRole("switch").Click())
	must(t, expect.Locator(page.Locator("#part-currents").GetByRole("switch")).ToHaveAttribute("aria-checked", "false"))
	must(t, expect.Locator(page.Locator("#part-currents")).ToContainText("Switched off"))
	screenshot(t, page, "integrations-overview.png")
	must(t, page.Locator("#part-currents").GetByRole("switch").Click())
	must(t, expect.Locator(page.Locator("#part-currents").GetByRole("switch")).ToHaveAttribute("aria-checked", "true"))
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("Braze Currents is on again"))

	for _, size := range []struct {
		name string
		w, h int
	}{{"desktop", 1440, 900}, {"phone", 390, 844}} {
		must(t, page.SetViewportSize(size.w, size.h))
		for name, path := range map[string]string{"lead-settings": "/settings/leads", "new-lead": "/leads/new", "lead": lead,
			"card-layout": "/settings/cards", "integrations": "/integrations", "leads": "/leads"} {
			_, err := page.Goto(path)
			must(t, err)
			screenshot(t, page, fmt.Sprintf("%s-%s.png", name, size.name))
			got, err := page.Evaluate(overflowCheck)
			must(t, err)
			if list, _ := got.([]any); len(list) > 0 {
				t.Errorf("%s at %s overflows: %v", path, size.name, list)
			}
		}
	}
}
