package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestAttributionReportFlow: events arrive through Braze Currents and the website tracker; a
// marketer defines the MQL milestone (its history is back-filled), another lead crosses live,
// and the report credits campaigns, channels, UTM sources and pages; the marketer switches
// models and tabs, drills down to the leads and exports CSV. The report and the dashboard
// fit a desktop and a phone, and are saved as screenshots.
func TestAttributionReportFlow(t *testing.T) {
	srv := webtest.Start(t, nil)
	var key, consentKey string
	site := customerSite(t, srv.URL, &key, &consentKey)
	admin := newPage(t, srv.URL)
	createWorkspace(t, admin)
	ctx := context.Background()
	ws, err := srv.Store.WorkspaceBySlug(ctx, "acme-robotics")
	must(t, err)
	created, err := website.New(srv.Store, srv.Pipeline.Scoring).CreateSite(ctx, ws.ID, website.SiteInput{Name: "Acme website", Origins: []string{site}})
	must(t, err)
	key = created.Key
	db := srv.DB

	// Carol opened and clicked the Spring launch email, then comes from LinkedIn, reads the
	// pricing page and books a demo. Dan asks for a demo after a webinar invite.
	open, click, custom := "users.messages.email.Open", "users.messages.email.Click", "users.behaviors.CustomEvent"
	sendEvents(t, srv, ws.ID, []map[string]any{
		event("carol@globex-corp.example", open, 72, map[string]any{"campaign_name": "Spring launch"}),
		event("carol@globex-corp.example", click, 70, map[string]any{"campaign_name": "Spring launch", "url": "https://acme.example/pricing"}),
		event("dan@initech.example", open, 50, map[string]any{"campaign_name": "Webinar invite"}),
		event("dan@initech.example", custom, 48, map[string]any{"name": "demo_requested", "campaign_name": "Webinar invite"}),
	})
	carol := visitor(t, false, desktopChrome)
	_, err = carol.Goto(site + "/landing?utm_source=linkedin&utm_medium=social")
	must(t, err)
	_, err = carol.Goto(site + "/pricing")
	must(t, err)
	_, err = carol.Goto(site + "/contact")
	must(t, err)
	must(t, carol.Locator("input[name=name]").Fill("Carol"))
	must(t, carol.Locator("#email").Fill("carol@globex-corp.example"))
	must(t, button(carol, "Book a demo").Click())
	must(t, expect.Page(carol).ToHaveURL(urlEnds("/thanks")))
	waitUntil(t, "carol and dan scored over 30", func() bool {
		return pgtest.Count(t, db, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND main_score >= 30`, ws.ID) == 2 &&
			pgtest.Count(t, db, `SELECT count(*) FROM scoring_queue WHERE workspace_id = $1`, ws.ID) == 0
	})

	// The marketer finds Reports, is told to define a milestone, and defines the MQL line.
	_, err = admin.Goto("/")
	must(t, err)
	must(t, admin.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Reports"}).Click())
	must(t, expect.Locator(admin.Locator("#report-empty")).ToContainText("Define your first milestone"))
	must(t, admin.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Create a milestone"}).Click())
	must(t, admin.Locator("#f-name").Fill("MQL"))
	must(t, expect.Locator(admin.Locator(`fieldset[data-kind="label"]`)).ToBeHidden())
	must(t, admin.Locator("#f-threshold").Fill("30"))
	must(t, button(admin, "Create milestone").Click())
	must(t, expect.Locator(admin.Locator(".flash-success")).ToContainText("Milestone “MQL” created"))
	waitUntil(t, "the history back-filled", func() bool {
		return pgtest.Count(t, db, `SELECT count(*) FROM milestones WHERE workspace_id = $1 AND backfilled_at IS NOT NULL`, ws.ID) == 1
	})
	if n := pgtest.Count(t, db, `SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1`, ws.ID); n != 2 {
		t.Fatalf("%d crossings back-filled, want carol's and dan's", n)
	}

	// Erin crosses live.
	sendEvents(t, srv, ws.ID, []map[string]any{
		event("erin@initech.example", click, 5, map[string]any{"campaign_name": "Spring launch", "url": "https://acme.example/pricing"}),
		event("erin@initech.example", custom, 4, map[string]any{"name": "demo_requested", "campaign_name": "Spring launch"}),
	})
	waitUntil(t, "erin's crossing", func() bool {
		return pgtest.Count(t, db, `SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1`, ws.ID) == 3
	})

	_, err = admin.Reload()
	must(t, err)
	must(t, expect.Locator(admin.Locator("#report-totals")).ToContainText("3"))
	table := admin.Locator("#attribution-table")
	must(t, expect.Locator(table).ToContainText("Campaign: Spring launch"))
	must(t, expect.Locator(table).ToContainText("Campaign: Webinar invite"))
	must(t, expect.Locator(admin.Locator("#attribution-chart")).ToBeVisible())
	screenshot(t, admin, "report-campaigns.png")

	// Another model: the chosen column follows.
	_, err = admin.Locator("#r-model").SelectOption(playwright.SelectOptionValues{Values: &[]string{"decay"}})
	must(t, err)
	must(t, button(admin, "Show").Click())
	must(t, expect.Page(admin).ToHaveURL(regexp.MustCompile(`model=decay`)))
	must(t, expect.Locator(table.Locator("thead th.chosen")).ToHaveText("Time decay"))

	// By channel, UTM source and page: the website's touches are there.
	tabs := admin.Locator("nav.tabs")
	must(t, tabs.GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "Channel"}).Click())
	must(t, expect.Locator(table).ToContainText("Email"))
	must(t, expect.Locator(table).ToContainText("Web"))
	must(t, tabs.GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "UTM source / medium"}).Click())
	must(t, expect.Locator(table).ToContainText("linkedin / social"))
	must(t, tabs.GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "Page"}).Click())
	must(t, expect.Locator(table).ToContainText("/pricing"))
	if !strings.Contains(admin.URL(), "model=decay") {
		t.Fatalf("the tabs lost the model: %s", admin.URL())
	}

	// Drill down: the leads /pricing was credited for.
	must(t, table.GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "/pricing", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(admin.Locator("#credited-leads")).ToContainText("carol@globex-corp.example"))
	must(t, admin.GetByRole("link", playwright.PageGetByRoleOptions{Name: "← Back to the report"}).Click())

	// Export CSV: the rows of the page.
	download, err := admin.ExpectDownload(func() error {
		return admin.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Export CSV"}).Click()
	})
	must(t, err)
	path, err := download.Path()
	must(t, err)
	raw, err := os.ReadFile(path)
	must(t, err)
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	must(t, err)
	if len(recs) < 2 || recs[0][0] != "page" || !strings.Contains(string(raw), "/pricing") {
		t.Fatalf("CSV export:\n%s", raw)
	}

	// The report and the dashboard fit a desktop and a phone.
	for _, size := range []struct {
		name string
		w, h int
	}{{"desktop", 1440, 900}, {"phone", 390, 844}} {
		must(t, admin.SetViewportSize(size.w, size.h))
		for name, path := range map[string]string{"report": "/reports?by=channel&compare=previous", "dashboard": "/", "milestones": "/reports/milestones"} {
			_, err := admin.Goto(path)
			must(t, err)
			screenshot(t, admin, fmt.Sprintf("%s-%s.png", name, size.name))
			got, err := admin.Evaluate(overflowCheck)
			must(t, err)
			if list, _ := got.([]any); len(list) > 0 {
				t.Errorf("%s at %s overflows: %v", path, size.name, list)
			}
		}
	}
	must(t, admin.SetViewportSize(1440, 900))
	_, err = admin.Goto("/")
	must(t, err)
	must(t, expect.Locator(admin.Locator("#new-hot, #movers")).ToHaveCount(2))
	must(t, expect.Locator(admin.Locator("#movers")).ToContainText("carol@globex-corp.example"))
	must(t, expect.Locator(admin.Locator("#integration-lights")).ToContainText("Website tracker"))
}
