package views

import (
	"bytes"
	"context"

	"github.com/a-h/templ"

	"github.com/peregrine-scoring/peregrine/domain/notify"
)

// Mail is an email's subject, plain-text part and HTML part.
type Mail interface {
	Subject() string
	Text() string
	Component() templ.Component
}

// Component is the invitation's HTML part.
func (m InvitationMail) Component() templ.Component { return InvitationEmail(m) }

// Component is the password-reset mail's HTML part.
func (m ResetMail) Component() templ.Component { return PasswordResetEmail(m) }

// Component is the test email's HTML part.
func (m TestMail) Component() templ.Component { return TestEmail(m) }

// EmailOf renders a mail for one recipient, sent in the workspace's name.
func EmailOf(ctx context.Context, to, workspace string, m Mail) (notify.Email, error) {
	html, err := RenderString(ctx, m.Component())
	return notify.Email{To: to, FromName: workspace, Subject: m.Subject(), Text: m.Text(), HTML: html}, err
}

// InvitationMail is an invitation to join a workspace.
type InvitationMail struct {
	Workspace, Inviter, Role, Link, Expires string
}

// Subject of the invitation.
func (m InvitationMail) Subject() string {
	return m.Inviter + " invited you to " + m.Workspace + " on Peregrine"
}

// Text is the invitation's plain-text part.
func (m InvitationMail) Text() string {
	return m.Inviter + " invited you to join " + m.Workspace + " on Peregrine as " + m.Role + ".\n\n" +
		"Accept the invitation: " + m.Link + "\n\n" +
		"The invitation works until " + m.Expires + ". If you did not expect it, ignore this email.\n"
}

// ResetMail carries a password-reset link.
type ResetMail struct {
	Workspace, Email, Link string
}

// Subject of the password-reset mail.
func (m ResetMail) Subject() string { return "Reset your Peregrine password (" + m.Workspace + ")" }

// Text is the password-reset mail's plain-text part.
func (m ResetMail) Text() string {
	return "Someone - hopefully you - asked to reset the password of your Peregrine account " + m.Email + " in " + m.Workspace + ".\n\n" +
		"Choose a new password: " + m.Link + "\n\n" +
		"The link works once, for one hour. If you did not ask for it, ignore this email: your password stays as it is.\n"
}

// TestMail is the settings page's test email.
type TestMail struct {
	Workspace, Sender, Server string
}

// Subject of the test email.
func (m TestMail) Subject() string { return "Peregrine test email for " + m.Workspace }

// Text is the test email's plain-text part.
func (m TestMail) Text() string {
	return m.Sender + " sent this test from Peregrine's settings. Alerts, digests, invitations and password resets of " +
		m.Workspace + " will arrive like this one.\n\nSent through " + m.Server + ".\n"
}

// AlertMail is an alert about a lead.
type AlertMail struct {
	Workspace, Rule, Reason   string
	Name, Email, Company      string
	Score, Grade, Temperature string
	Reasons                   []Reason
	Activities                []Pair // when → what
	LeadURL, SalesforceURL    string
	UnsubscribeURL            string
	Account                   bool // about an account: LeadURL is the account's page
	// Facts are the published card's fields (the person card, or the companies card for an
	// account): shown instead of the company line when set.
	Facts []Pair
}

// CardFacts are the lines that describe the subject: the card's fields, or its company.
func (m AlertMail) CardFacts() []Pair {
	if len(m.Facts) > 0 {
		return m.Facts
	}
	return []Pair{{Label: "Company", Value: OrDash(m.Company)}}
}

// OpenLabel is the button to the lead's or account's page.
func (m AlertMail) OpenLabel() string {
	if m.Account {
		return "Open the account in Peregrine"
	}
	return "Open the lead in Peregrine"
}

// Headline says who did what: "Nora Lindqvist — Visited /pricing".
func (m AlertMail) Headline() string { return m.Name + " — " + m.Reason }

// Subject of the alert.
func (m AlertMail) Subject() string { return m.Headline() + " · " + m.Rule }

// Text is the alert's plain-text part.
func (m AlertMail) Text() string {
	var b bytes.Buffer
	b.WriteString(m.Rule + "\n\n" + m.Headline() + "\n\n")
	for _, f := range m.CardFacts() {
		b.WriteString(f.Label + ": " + f.Value + "\n")
	}
	b.WriteString("Email: " + m.Email + "\nScore " + m.Score + " · grade " + OrDash(m.Grade) + " · " + OrDash(m.Temperature) + "\n")
	if len(m.Reasons) > 0 {
		b.WriteString("\nWhy this score:\n")
		for _, r := range m.Reasons {
			b.WriteString("  " + r.Points + " " + r.Rule + "\n")
		}
	}
	if len(m.Activities) > 0 {
		b.WriteString("\nLatest activity:\n")
		for _, a := range m.Activities {
			b.WriteString("  " + a.Value + " (" + a.Label + ")\n")
		}
	}
	b.WriteString("\n" + m.OpenLabel() + ": " + m.LeadURL + "\n")
	if m.SalesforceURL != "" {
		b.WriteString("Salesforce: " + m.SalesforceURL + "\n")
	}
	b.WriteString("\nYou get this because of the alert rule \"" + m.Rule + "\" in " + m.Workspace + ".\n")
	if m.UnsubscribeURL != "" {
		b.WriteString("Stop these alerts: " + m.UnsubscribeURL + "\n")
	}
	return b.String()
}

// Component is the alert's HTML part.
func (m AlertMail) Component() templ.Component { return AlertEmail(m) }

// OrDash shows a missing value as a dash.
func OrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// RenderString renders a component to a string (emails are rendered outside a request).
func RenderString(ctx context.Context, c templ.Component) (string, error) {
	var buf bytes.Buffer
	err := c.Render(ctx, &buf)
	return buf.String(), err
}

// DigestMail is a person's digest.
type DigestMail struct {
	Workspace, Person, Period string // Period: "since yesterday 08:00", "this week"
	Alerts                    []DigestLine
	HeldBack                  []DigestLine // per rule: how many matches the throttle held back
	Hot, Movers, Labels       []DigestLine
	Accounts                  []DigestLine
	BaseURL                   string
}

// DigestLine is a line of a digest: who or what, and a detail.
type DigestLine struct {
	Name, Detail, URL string
}

// Empty reports a digest with nothing to say: it is not sent.
func (m DigestMail) Empty() bool {
	return len(m.Alerts)+len(m.HeldBack)+len(m.Hot)+len(m.Movers)+len(m.Labels)+len(m.Accounts) == 0
}

// Subject of the digest.
func (m DigestMail) Subject() string {
	n := len(m.Alerts) + len(m.Hot)
	return "Your Peregrine digest for " + m.Workspace + ": " + count(n) + " leads to look at"
}

// Text is the digest's plain-text part.
func (m DigestMail) Text() string {
	var b bytes.Buffer
	b.WriteString("Hello " + m.Person + ", here is what happened in " + m.Workspace + " " + m.Period + ".\n")
	section := func(title string, lines []DigestLine) {
		if len(lines) == 0 {
			return
		}
		b.WriteString("\n" + title + "\n")
		for _, l := range lines {
			b.WriteString("  " + l.Name)
			if l.Detail != "" {
				b.WriteString(" — " + l.Detail)
			}
			if l.URL != "" {
				b.WriteString("  " + l.URL)
			}
			b.WriteString("\n")
		}
	}
	section("Alerts for you", m.Alerts)
	section("Held back by the throttle", m.HeldBack)
	section("Hot leads", m.Hot)
	section("Biggest movers", m.Movers)
	section("Labels gained", m.Labels)
	section("Accounts heating up", m.Accounts)
	b.WriteString("\nChoose daily, weekly or no digest on your account page: " + m.BaseURL + "/profile#alerts\n")
	return b.String()
}

// Component is the digest's HTML part.
func (m DigestMail) Component() templ.Component { return DigestEmail(m) }

// ReportMail is a scheduled attribution report.
type ReportMail struct {
	Workspace, Person, Milestone, Dimension, Model, Period string
	Crossings, Leads, Accounts                             int
	PrevCrossings                                          int
	Rows                                                   []ReportMailRow
	More                                                   int // rows left out
	Link, ManageLink                                       string
}

// ReportMailRow is a line of the report email: a value, its credit and the change.
type ReportMailRow struct {
	Value, Credit, Delta string
	Leads                int
}

// Component is the report's HTML part.
func (m ReportMail) Component() templ.Component { return ReportEmail(m) }

// Subject of the report email.
func (m ReportMail) Subject() string {
	return m.Milestone + " attribution, " + m.Period + ": " + count(m.Crossings) + " crossings"
}

// Text is the report's plain-text part.
func (m ReportMail) Text() string {
	var b bytes.Buffer
	b.WriteString("Hello " + m.Person + ", here is your " + m.Milestone + " report for " + m.Workspace + ", " + m.Period + ".\n\n")
	b.WriteString(count(m.Crossings) + " crossings (" + count(m.PrevCrossings) + " the period before), " + count(m.Leads) + " leads, " +
		count(m.Accounts) + " accounts influenced.\n\n")
	b.WriteString(m.Dimension + ", credit by " + m.Model + ":\n")
	for _, r := range m.Rows {
		b.WriteString("  " + r.Value + ": " + r.Credit + " (" + r.Delta + ")\n")
	}
	if m.More > 0 {
		b.WriteString("  … and " + count(m.More) + " more\n")
	}
	b.WriteString("\nThe full report: " + m.Link + "\nStop or change scheduled reports: " + m.ManageLink + "\n")
	return b.String()
}
