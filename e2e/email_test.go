package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/notify/smtptest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// TestForgottenPassword: an admin sends a test email and sees it sent in the log; then,
// signed out, she asks for a reset link, follows it from the mail and is signed in with her
// new password.
func TestForgottenPassword(t *testing.T) {
	smtp := smtptest.Start(t)
	srv := webtest.Start(t, map[string]string{"PEREGRINE_SMTP_URL": smtp.URL(), "PEREGRINE_MAIL_FROM": "peregrine@acme-robotics.com",
		"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"})
	page := newPage(t, srv.URL)
	_, err := page.Goto("/signup")
	must(t, err)
	must(t, page.Locator("#f-workspace").Fill("Acme Robotics"))
	must(t, page.Locator("#f-name").Fill("Ada Lovelace"))
	must(t, page.Locator("#f-email").Fill("ada@acme-robotics.com"))
	must(t, page.Locator("#f-password").Fill(adminPassword))
	must(t, button(page, "Create workspace").Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/leads")))

	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Email", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(page.Locator("h1")).ToHaveText("Email"))
	must(t, button(page, "Send test email").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("Test email queued"))
	waitMail(t, smtp, 1)
	_, err = page.Reload()
	must(t, err)
	must(t, expect.Locator(page.Locator("#deliveries")).ToContainText("Sent"))
	screenshot(t, page, "settings-email.png")
	must(t, page.SetViewportSize(390, 844))
	screenshot(t, page, "settings-email-phone.png")
	must(t, page.SetViewportSize(1280, 820))

	must(t, button(page, "Log out").Click())
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Forgot password?"}).Click())
	must(t, page.Locator("#f-email").Fill("ada@acme-robotics.com"))
	must(t, button(page, "Send me a link").Click())
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("is on its way"))
	screenshot(t, page, "forgot-password.png")
	mail := waitMail(t, smtp, 2)[1]
	link := regexp.MustCompile(`http://\S+/reset-password/\S+`).FindString(mail.Text)
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", mail.Text)
	}
	_, err = page.Goto("about:blank") // away from the app's Content-Security-Policy, as in a mail client
	must(t, err)
	must(t, page.SetContent(mail.HTML))
	screenshot(t, page, "email-password-reset.png")
	_, err = page.Goto(strings.TrimPrefix(link, srv.URL))
	must(t, err)
	must(t, expect.Locator(page.Locator("h1")).ToHaveText("Choose a new password"))
	must(t, page.Locator("#f-password").Fill("a brand new falcon password"))
	screenshot(t, page, "reset-password.png")
	must(t, button(page, "Set password and sign in").Click())
	must(t, expect.Page(page).ToHaveURL(urlEnds("/leads")))
	must(t, expect.Locator(page.Locator(".flash-success")).ToContainText("Your new password is set"))
}

// waitMail waits for at least n messages.
func waitMail(t *testing.T, smtp *smtptest.Server, n int) []smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(smtp.Messages()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d mails arrived", len(smtp.Messages()), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return smtp.Messages()
}
