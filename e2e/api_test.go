package e2e

import (
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestAPITokensAndReference: an admin makes a scoped API token in the browser, sees it once,
// and reads the API reference that Redoc draws from the OpenAPI document (no CDN, under the
// page's CSP); the Segment page shows how to connect.
func TestAPITokensAndReference(t *testing.T) {
	srv := webtest.Start(t, nil)
	page := newPage(t, srv.URL)
	createWorkspace(t, page)
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "API tokens"}).Click())
	must(t, page.Locator("#f-label").Fill("CRM sync"))
	must(t, page.Locator(`input[name=scopes][value="leads:read"]`).Check())
	must(t, page.Locator(`input[name=scopes][value="events:write"]`).Check())
	must(t, button(page, "Create token").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("CRM sync"))
	token, err := page.Locator("#new-token").InputValue()
	must(t, err)
	if !strings.HasPrefix(token, "pgc_") {
		t.Fatalf("token %q", token)
	}
	must(t, expect.Locator(page.Locator("#api-tokens")).ToContainText("leads:read"))
	screenshot(t, page, "api-tokens.png")

	var blocked []string
	page.On("console", func(m playwright.ConsoleMessage) {
		// Redoc's attribution logo comes from Redocly's CDN: the policy blocking that image is
		// the point (no request leaves for a CDN). Scripts and styles must all load.
		if strings.Contains(m.Text(), "Content Security Policy") && !strings.Contains(m.Text(), "img-src") {
			blocked = append(blocked, m.Text())
		}
	})
	_, err = page.Goto("/api/docs")
	must(t, err)
	must(t, expect.Locator(page.GetByText("Peregrine API").First()).ToBeVisible())
	must(t, expect.Locator(page.GetByText("Send events").First()).ToBeVisible())
	screenshot(t, page, "api-docs.png")
	if len(blocked) > 0 {
		t.Fatalf("the reference broke the page's CSP: %v", blocked)
	}

	_, err = page.Goto("/integrations/segment")
	must(t, err)
	must(t, expect.Locator(page.Locator("#segment-endpoint")).ToContainText("/api/segment/events"))
	screenshot(t, page, "segment.png")
}
