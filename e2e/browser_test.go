// Package e2e drives the real server in a real Chromium through playwright-go, clicking
// through Peregrine as people do. `make test` installs Chromium and the playwright driver.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

var (
	pw      *playwright.Playwright
	browser playwright.Browser
	expect  = playwright.NewPlaywrightAssertions(10_000)
)

func TestMain(m *testing.M) {
	pgtest.Main(&browserMain{m})
}

// browserMain starts Playwright and Chromium around the tests.
type browserMain struct{ m *testing.M }

func (b *browserMain) Run() int {
	if os.Getenv("PLAYWRIGHT_DRIVER_PATH") == "" {
		fmt.Fprintln(os.Stderr, "e2e: PLAYWRIGHT_DRIVER_PATH is not set; run the browser tests with `make test`, which installs Chromium and the driver")
		return 1
	}
	chromium := os.Getenv("PEREGRINE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var err error
	pw, err = playwright.Run(&playwright.RunOptions{SkipInstallBrowsers: true, Verbose: false})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: unable to start Playwright:", err)
		return 1
	}
	defer pw.Stop()
	browser, err = pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(chromium),
		Args:           []string{"--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: unable to launch Chromium at", chromium+":", err)
		return 1
	}
	defer browser.Close()
	return b.m.Run()
}

// newPage opens a fresh browser context (its own cookies) on the server.
func newPage(t *testing.T, baseURL string) playwright.Page {
	t.Helper()
	ctx, err := browser.NewContext(playwright.BrowserNewContextOptions{
		BaseURL:  playwright.String(baseURL),
		Viewport: &playwright.Size{Width: 1280, Height: 820},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Close() })
	page, err := ctx.NewPage()
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// screenshot saves a full-page picture under e2e/screenshots (git-ignored) for people to look at.
func screenshot(t *testing.T, page playwright.Page, name string) {
	t.Helper()
	dir := "screenshots"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(filepath.Join(dir, name)), FullPage: playwright.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func button(page playwright.Page, name string) playwright.Locator {
	return page.GetByRole("button", playwright.PageGetByRoleOptions{Name: name, Exact: playwright.Bool(true)})
}

func urlEnds(path string) *regexp.Regexp { return regexp.MustCompile(regexp.QuoteMeta(path) + `$`) }

// homeURL is the server's root: the dashboard after sign-in.
var homeURL = regexp.MustCompile(`^https?://[^/]+/$`)

// createWorkspace signs up in the browser as Ada, admin of Acme Robotics, and lands on Leads.
func createWorkspace(t *testing.T, page playwright.Page) {
	t.Helper()
	_, err := page.Goto("/signup")
	must(t, err)
	must(t, page.Locator("#f-workspace").Fill("Acme Robotics"))
	must(t, page.Locator("#f-name").Fill("Ada Lovelace"))
	must(t, page.Locator("#f-email").Fill("ada@acme-robotics.com"))
	must(t, page.Locator("#f-password").Fill(adminPassword))
	must(t, button(page, "Create workspace").Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/leads")))
}
