package web_test

import (
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/notify/smtptest"
)

// mailServer starts a test SMTP server and a Peregrine that sends through it.
func mailServer(t *testing.T) (testServer, *smtptest.Server) {
	smtp := smtptest.Start(t)
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", "PEREGRINE_SMTP_URL": smtp.URL(),
		"PEREGRINE_MAIL_FROM": "peregrine@mail.example", "PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"})
	return s, smtp
}

// mailsTo waits for n messages to an address and returns them.
func mailsTo(t *testing.T, smtp *smtptest.Server, to string, n int) []smtptest.Message {
	t.Helper()
	var got []smtptest.Message
	waitFor(t, "mail to "+to, func() bool {
		got = nil
		for _, m := range smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == to {
				got = append(got, m)
			}
		}
		return len(got) >= n
	})
	return got
}

var linkIn = regexp.MustCompile(`http://[^\s"<]+/(reset-password|join)/[^\s"<]+`)

// TestPasswordResetByEmail: "Forgot password?" mails a single-use link valid for an hour,
// answering the same whether the address has an account; the link sets a new password,
// signs the person in and out everywhere else; it works once; at most three mails an hour.
func TestPasswordResetByEmail(t *testing.T) {
	s, smtp := mailServer(t)
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	anon := s.browser(t)
	if !strings.Contains(anon.get("/login").body, `href="/forgot-password"`) {
		t.Fatal("no Forgot password? link on the sign-in page")
	}
	assertStatus(t, anon.get("/forgot-password"), http.StatusOK)
	r := anon.post("/forgot-password", url.Values{"email": {"not an address"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Enter a valid email address") {
		t.Fatal("a malformed address is not explained")
	}
	known := anon.post("/forgot-password", url.Values{"email": {" Ada@Acme.example "}})
	unknown := anon.post("/forgot-password", url.Values{"email": {"nobody@acme.example"}})
	assertStatus(t, known, http.StatusOK)
	assertStatus(t, unknown, http.StatusOK)
	if strings.ReplaceAll(known.body, "ada@acme.example", "X") != strings.ReplaceAll(unknown.body, "nobody@acme.example", "X") ||
		!strings.Contains(known.body, "a link to choose a new password is on its way") {
		t.Fatal("the answer tells whether an account exists")
	}
	m := mailsTo(t, smtp, "ada@acme.example", 1)[0]
	from, _ := mail.ParseAddress(m.Header.Get("From"))
	if from == nil || from.Name != "Acme" || from.Address != "peregrine@mail.example" || !strings.Contains(m.Header.Get("Subject"), "Reset your Peregrine password") {
		t.Fatalf("headers: %v", m.Header)
	}
	link := linkIn.FindString(m.Text)
	if link == "" || !strings.Contains(m.HTML, link) || !strings.Contains(m.Text, "one hour") {
		t.Fatalf("the mail has no link in both parts:\n%s\n%s", m.Text, m.HTML)
	}
	path := strings.TrimPrefix(link, s.URL)
	assertStatus(t, anon.get(path), http.StatusOK)
	r = anon.post(path, url.Values{"password": {"short"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	r = anon.post(path, url.Values{"password": {"a brand new long password"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/leads" {
		t.Fatalf("setting the password: %d %.300s", r.status, r.body)
	}
	assertStatus(t, anon.get("/leads"), http.StatusOK)
	if r := ada.get("/leads"); r.status != http.StatusSeeOther {
		t.Fatalf("the old session survived a password reset: %d", r.status)
	}
	r = anon.get(path)
	assertStatus(t, r, http.StatusGone)
	if !strings.Contains(r.body, "used already or has expired") {
		t.Fatal("a used link is not explained")
	}
	assertStatus(t, s.browser(t).get("/reset-password/acme/not-a-token"), http.StatusNotFound)
	fresh := s.browser(t)
	if r := fresh.post("/login", url.Values{"email": {"ada@acme.example"}, "password": {password}}); r.status != http.StatusUnauthorized {
		t.Fatalf("the old password still works: %d", r.status)
	}
	if r := fresh.post("/login", url.Values{"email": {"ada@acme.example"}, "password": {"a brand new long password"}}); r.status != http.StatusSeeOther {
		t.Fatalf("the new password does not work: %d", r.status)
	}
	// Nothing went to the unknown address; three mails an hour at most for one account.
	for i := 0; i < 4; i++ {
		anon.post("/forgot-password", url.Values{"email": {"ada@acme.example"}})
		waitFor(t, "the reset job", func() bool {
			return s.DB.QueryRow(`SELECT 1 FROM jobs WHERE kind = 'password-reset'`).Scan(new(int)) != nil
		})
	}
	mailsTo(t, smtp, "ada@acme.example", 3)
	waitFor(t, "deliveries to finish", func() bool {
		var queued int
		s.DB.QueryRow(`SELECT count(*) FROM delivery_queue`).Scan(&queued)
		return queued == 0
	})
	total := 0
	for _, m := range smtp.Messages() {
		if m.To[0] == "nobody@acme.example" {
			t.Fatal("mailed an address without an account")
		}
		total++
	}
	if total != 3 {
		t.Fatalf("%d reset mails in an hour, want 3", total)
	}
	page := fresh.get("/settings/email").body
	if !strings.Contains(page, "Password reset") || !strings.Contains(page, "ada@acme.example") || !strings.Contains(page, "Sent") {
		t.Fatal("the delivery log does not show the resets")
	}
}

// TestInvitationsAndTestEmails: an invitation is emailed with a working link; an admin sends
// a test email; a refused one shows as failed with the server's answer and can be sent
// again; another workspace cannot touch the log.
func TestInvitationsAndTestEmails(t *testing.T) {
	s, smtp := mailServer(t)
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	r := ada.post("/settings/users/invite", url.Values{"email": {"sam@acme.example"}, "role": {"sales"}})
	assertStatus(t, r, http.StatusSeeOther)
	if !strings.Contains(ada.get("/settings/users").body, "Invitation emailed to sam@acme.example") {
		t.Fatal("the admin is not told the invitation was emailed")
	}
	m := mailsTo(t, smtp, "sam@acme.example", 1)[0]
	link := linkIn.FindString(m.Text)
	if link == "" || !strings.Contains(m.Header.Get("Subject"), "Ada Admin invited you to Acme") || !strings.Contains(m.HTML, "Sales") {
		t.Fatalf("invitation mail: %v\n%s", m.Header, m.Text)
	}
	if r := s.browser(t).get(strings.TrimPrefix(link, s.URL)); r.status != http.StatusOK || !strings.Contains(r.body, "Join Acme") {
		t.Fatalf("the mailed link does not open the invitation: %d", r.status)
	}

	page := ada.get("/settings/email").body
	if !strings.Contains(page, "Sending") || !strings.Contains(page, "peregrine@mail.example") || !strings.Contains(page, "Send test email") {
		t.Fatal("the email settings do not show the server")
	}
	assertStatus(t, ada.post("/settings/email/test", nil), http.StatusSeeOther)
	if m := mailsTo(t, smtp, "ada@acme.example", 1)[0]; !strings.Contains(m.Text, "Ada Admin sent this test") || m.HTML == "" {
		t.Fatalf("test mail: %s", m.Text)
	}

	smtp.Refuse(550)
	assertStatus(t, ada.post("/settings/email/test", nil), http.StatusSeeOther)
	var failed int64
	waitFor(t, "the refused test to fail", func() bool {
		return s.DB.QueryRow(`SELECT id FROM deliveries WHERE state = 'failed'`).Scan(&failed) == nil
	})
	page = ada.get("/settings/email").body
	if !strings.Contains(page, "Failed") || !strings.Contains(page, "550") || !strings.Contains(page, "Send again") {
		t.Fatal("a refused delivery is not shown as failed with the reason")
	}
	bo := s.browser(t)
	assertStatus(t, bo.post("/signup", url.Values{"workspace": {"Globex"}, "name": {"Bo"}, "email": {"bo@globex.example"}, "password": {password}}),
		http.StatusSeeOther)
	assertStatus(t, bo.post("/settings/email/deliveries/"+itoa(failed)+"/resend", nil), http.StatusNotFound)
	if strings.Contains(bo.get("/settings/email").body, "ada@acme.example") {
		t.Fatal("another workspace sees this log")
	}
	smtp.Refuse(0)
	assertStatus(t, ada.post("/settings/email/deliveries/"+itoa(failed)+"/resend", nil), http.StatusSeeOther)
	mailsTo(t, smtp, "ada@acme.example", 2)
}

// TestWithoutEmail: a server without SMTP settings says so instead of pretending.
func TestWithoutEmail(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	if page := ada.get("/settings/email").body; !strings.Contains(page, "This server sends no email") || !strings.Contains(page, "PEREGRINE_SMTP_URL") {
		t.Fatal("the email settings do not say email is off")
	}
	ada.post("/settings/users/invite", url.Values{"email": {"sam@acme.example"}, "role": {"sales"}})
	if page := ada.get("/settings/users").body; !strings.Contains(page, "pass the link on yourself") || !strings.Contains(page, "/join/acme/") {
		t.Fatal("without email the invitation link is not handed over")
	}
	r := s.browser(t).post("/forgot-password", url.Values{"email": {"ada@acme.example"}})
	assertStatus(t, r, http.StatusServiceUnavailable)
	if !strings.Contains(r.body, "cannot send email") {
		t.Fatal("the forgot-password page pretends to send")
	}
}
