package e2e

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// overflowCheck lists what is wider than its box: the page itself, and any table or card
// whose content scrolls sideways.
const overflowCheck = `() => {
	const out = [];
	const doc = document.documentElement;
	if (doc.scrollWidth > doc.clientWidth + 1) {
		// Name the innermost elements that stick out, to say what to fix.
		const wide = [...document.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1 &&
			![...el.children].some((c) => c.getBoundingClientRect().right > doc.clientWidth + 1));
		out.push("the page: " + doc.scrollWidth + " > " + doc.clientWidth + " (" + wide.slice(0, 3).map((el) => el.tagName.toLowerCase() + "." + el.className).join(", ") + ")");
	}
	for (const el of document.querySelectorAll("table, .card")) {
		if (el.scrollWidth > el.clientWidth + 1) out.push((el.id || el.className) + ": " + el.scrollWidth + " > " + el.clientWidth);
	}
	return out;
}`

// chipContrast lists label chips, temperature and grade badges whose text has less than
// WCAG's 4.5:1 contrast with their own background, as the browser computed both.
const chipContrast = `() => {
	// Computed colours come as rgb(0–255, …) or, from color-mix, color(srgb 0–1 …).
	const rgb = (s) => s.match(/[\d.]+/g).slice(0, 3).map((v) => Number(v) * (s.startsWith("color(") ? 255 : 1));
	const lum = (c) => { const l = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
		return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
	const out = [];
	for (const el of document.querySelectorAll(".label-chip, .temp, .grade")) {
		const st = getComputedStyle(el);
		const [a, b] = [lum(rgb(st.color)), lum(rgb(st.backgroundColor))].sort((x, y) => y - x);
		const ratio = (a + 0.05) / (b + 0.05);
		if (ratio < 4.5) out.push(el.textContent.trim() + " " + ratio.toFixed(2) + ":1 (" + st.color + " on " + st.backgroundColor + ")");
	}
	return out;
}`

// TestLayoutsFit opens the lead list, a lead, an account and the rules at desktop and phone
// sizes with long names, titles, labels and emails, and fails when anything overflows
// sideways. Screenshots of each are saved to look at.
func TestLayoutsFit(t *testing.T) {
	srv := webtest.Start(t, nil)
	page := newPage(t, srv.URL)
	createWorkspace(t, page)
	ws, err := srv.Store.WorkspaceBySlug(context.Background(), "acme-robotics")
	must(t, err)
	open, click, custom := "users.messages.email.Open", "users.messages.email.Click", "users.behaviors.CustomEvent"
	var evs []map[string]any
	people := []string{"maximilian.oberhausen-winterfeld@very-long-company-domain-name.example", "grace@hopper.example",
		"hal@globex.example", "ivy@initech.example", "kim@globex.example", "li@globex.example"}
	for i, p := range people {
		for j := 0; j <= i; j++ {
			evs = append(evs, event(p, open, 2+j*7, nil), event(p, click, 3+j*7, map[string]any{"url": "https://acme.example/pricing"}))
		}
		evs = append(evs, event(p, custom, 4, map[string]any{"name": "pricing_page_viewed", "campaign_name": "Spring launch"}))
	}
	sendEvents(t, srv, ws.ID, evs)
	waitScored(t, srv, ws.ID, len(people))
	pgtest.Exec(t, srv.DB, `UPDATE leads SET first_name = 'Maximilian', last_name = 'Oberhausen-Winterfeld',
		title = 'Senior Vice President, Global Revenue Operations and Strategy', company = 'Very Long Company Name Holding International AG',
		labels = ARRAY['Pricing this week', 'Demo requested', 'Engaged', 'Target account']
		WHERE workspace_id = $1 AND email LIKE 'maximilian%'`, ws.ID)
	var leadID, accountID int64
	must(t, srv.DB.QueryRow(`SELECT id, account_id FROM leads WHERE workspace_id = $1 AND email LIKE 'hal@%'`, ws.ID).Scan(&leadID, &accountID))
	var longLead int64
	must(t, srv.DB.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1 AND email LIKE 'maximilian%'`, ws.ID).Scan(&longLead))

	if _, err := website.New(srv.Store, srv.Pipeline.Scoring).CreateSite(context.Background(), ws.ID, website.SiteInput{Name: "Very Long Company Name Holding International AG — marketing website",
		Origins: []string{"https://www.very-long-company-domain-name.example", "https://app.very-long-company-domain-name.example"}, HonourDNT: true}); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"leads": "/leads", "lead": fmt.Sprintf("/leads/%d", longLead), "account": fmt.Sprintf("/accounts/%d", accountID),
		"rules": "/rules", "website": "/integrations/website"}
	for _, size := range []struct {
		name string
		w, h int
	}{{"desktop", 1440, 900}, {"phone", 390, 844}} {
		must(t, page.SetViewportSize(size.w, size.h))
		for _, name := range []string{"leads", "lead", "account", "rules", "website"} {
			_, err := page.Goto(paths[name])
			must(t, err)
			screenshot(t, page, fmt.Sprintf("fit-%s-%s.png", name, size.name))
			got, err := page.Evaluate(overflowCheck)
			must(t, err)
			if list, _ := got.([]any); len(list) > 0 {
				t.Errorf("%s at %s overflows: %v", paths[name], size.name, list)
			}
			got, err = page.Evaluate(chipContrast)
			must(t, err)
			if list, _ := got.([]any); len(list) > 0 {
				t.Errorf("%s: chips below 4.5:1 contrast: %v", paths[name], list)
			}
		}
	}
	// The lead page explains the grade: the grade rules met, with their points, and the scale.
	_, err = page.Goto(paths["lead"])
	must(t, err)
	must(t, expect.Locator(page.Locator("#why-grade")).ToContainText("+20 Company email"))
	must(t, expect.Locator(page.Locator("#why-grade")).ToContainText("A ≥ 80"))

	// Column headers sort, and say which one does; a click anywhere on a row opens the lead.
	must(t, page.SetViewportSize(1440, 900))
	_, err = page.Goto("/leads")
	must(t, err)
	must(t, page.Locator("#leads thead").GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "Last activity"}).Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/leads?sort=activity")))
	must(t, expect.Locator(page.Locator(`#leads th[aria-sort="descending"]`)).ToContainText("Last activity"))
	must(t, page.Locator("#leads tbody tr").First().Locator("td.num").Click())
	must(t, expect.Page(page).ToHaveURL(regexp.MustCompile(`/leads/\d+$`)))

	// On a phone the navigation folds away behind a menu button.
	must(t, page.SetViewportSize(390, 844))
	_, err = page.Goto("/leads")
	must(t, err)
	nav := page.Locator("nav.nav")
	must(t, expect.Locator(nav).ToBeHidden())
	must(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Menu"}).Click())
	must(t, expect.Locator(nav).ToBeVisible())
}
