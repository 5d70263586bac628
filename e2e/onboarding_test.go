package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/web/webtest"
)

const adminPassword = "falcon-swoops-at-dawn"

// TestOnboarding: sign up → log out → log in → invite a sales user → they accept, sign in,
// see the lead list and get 403 on settings.
func TestOnboarding(t *testing.T) {
	srv := webtest.Start(t, nil)
	page := newPage(t, srv.URL)

	// First visit: the server has no workspace and offers to create one.
	_, err := page.Goto("/")
	must(t, err)
	must(t, expect.Page(page).ToHaveURL(urlEnds("/signup")))
	must(t, expect.Locator(page.Locator("h1")).ToHaveText("Create your workspace"))
	screenshot(t, page, "signup.png")

	// A too-short password comes back with a message beside the field and the input kept.
	must(t, page.Locator("#f-workspace").Fill("Acme Robotics"))
	must(t, page.Locator("#f-name").Fill("Ada Lovelace"))
	must(t, page.Locator("#f-email").Fill("ada@acme-robotics.com"))
	must(t, page.Locator("#f-password").Fill("short"))
	must(t, button(page, "Create workspace").Click())
	must(t, expect.Locator(page.Locator("#e-password")).ToContainText("at least 12 characters"))
	must(t, expect.Locator(page.Locator("#f-workspace")).ToHaveValue("Acme Robotics"))
	screenshot(t, page, "signup-error.png")

	must(t, page.Locator("#f-password").Fill(adminPassword))
	must(t, button(page, "Create workspace").Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/leads")))
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("Welcome to Peregrine"))
	must(t, expect.Locator(page.Locator(".brand-ws")).ToHaveText("Acme Robotics"))
	must(t, expect.Locator(page.Locator(".me-role")).ToHaveText("Admin"))
	must(t, expect.Locator(page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "No leads yet"})).ToBeVisible())
	screenshot(t, page, "home.png")

	// Log out, then back in.
	must(t, button(page, "Log out").Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/login?signed_out=1")))
	must(t, expect.Locator(page.Locator(".flash-info")).ToHaveText("You are signed out."))
	must(t, page.Locator("#f-email").Fill("ada@acme-robotics.com"))
	must(t, page.Locator("#f-password").Fill("wrong password here"))
	must(t, button(page, "Sign in").Click())
	must(t, expect.Locator(page.Locator(".flash-error")).ToContainText("do not match"))
	screenshot(t, page, "login-error.png")
	must(t, page.Locator("#f-password").Fill(adminPassword))
	must(t, button(page, "Sign in").Click())
	must(t, expect.Page(page).ToHaveURL(homeURL)) // the dashboard
	must(t, expect.Locator(page.Locator("h1")).ToHaveText("Home"))

	// Her own account, from her name in the sidebar: a common password is refused with a
	// reason; the sessions list marks this browser.
	must(t, page.Locator("a.me-name").Click())
	must(t, expect.Locator(page.Locator("h1")).ToHaveText("Your account"))
	must(t, expect.Locator(page.Locator("#session-list")).ToContainText("This device"))
	must(t, page.Locator("#f-current_password").Fill(adminPassword))
	must(t, page.Locator("#f-new_password").Fill("password1234"))
	must(t, button(page, "Change password").Click())
	must(t, expect.Locator(page.Locator("#e-new_password")).ToContainText("too easy to guess"))
	screenshot(t, page, "profile.png")
	must(t, page.SetViewportSize(390, 844))
	screenshot(t, page, "profile-phone.png")
	must(t, page.SetViewportSize(1280, 820))

	// Invite a sales user from Settings › Users.
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Users"}).Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/settings/users")))
	must(t, page.Locator("#f-email").Fill("sam@acme-robotics.com"))
	_, err = page.Locator("#f-role").SelectOption(playwright.SelectOptionValues{Values: &[]string{"sales"}})
	must(t, err)
	must(t, button(page, "Create invitation").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("sam@acme-robotics.com as Sales"))
	link, err := page.Locator("#invite-link").InputValue()
	must(t, err)
	must(t, expect.Locator(page.Locator("table").Last()).ToContainText("Ada Lovelace"))
	screenshot(t, page, "users.png")

	// The invited person opens the link in their own browser.
	sales := newPage(t, srv.URL)
	_, err = sales.Goto(link)
	must(t, err)
	must(t, expect.Locator(sales.Locator("h1")).ToHaveText("Join Acme Robotics"))
	must(t, expect.Locator(sales.Locator("#f-email-ro")).ToHaveValue("sam@acme-robotics.com"))
	screenshot(t, sales, "join.png")
	must(t, sales.Locator("#f-name").Fill("Sam Seller"))
	must(t, sales.Locator("#f-password").Fill("closing-deals-daily"))
	must(t, button(sales, "Join workspace").Click())
	must(t, expect.Page(sales).ToHaveURL(urlEnds("/leads")))

	// Sign out and in again with the new account.
	must(t, button(sales, "Log out").Click())
	must(t, sales.Locator("#f-email").Fill("sam@acme-robotics.com"))
	must(t, sales.Locator("#f-password").Fill("closing-deals-daily"))
	must(t, button(sales, "Sign in").Click())
	must(t, expect.Page(sales).ToHaveURL(homeURL))
	must(t, expect.Locator(sales.Locator("h1")).ToHaveText("Home"))
	must(t, expect.Locator(sales.Locator(".me-role")).ToHaveText("Sales"))
	must(t, expect.Locator(sales.Locator(".nav")).Not().ToContainText("Settings"))
	screenshot(t, sales, "sales-home.png")

	// Settings are not for sales.
	res, err := sales.Goto("/settings/users")
	must(t, err)
	if res.Status() != 403 {
		t.Fatalf("sales on settings: status %d, want 403", res.Status())
	}
	must(t, expect.Locator(sales.Locator("h1")).ToHaveText("You don't have access to this page"))
	screenshot(t, sales, "forbidden.png")

	// The admin now sees Sam as an active member.
	_, err = page.Reload()
	must(t, err)
	must(t, expect.Locator(page.Locator("#members")).ToContainText("Sam Seller"))
}
