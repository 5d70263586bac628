package tracker

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// formFromHTML reads a form the way t.js does: every control with a name or id, its type,
// name, id and autocomplete; a value only for a field that may hold the email; the submit
// button's text; the form's id, name and action.
func formFromHTML(t *testing.T, src string, values map[string]string) Form {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var f Form
	attr := func(n *html.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				f.ID, f.Name, f.Action = attr(n, "id"), attr(n, "name"), attr(n, "action")
			case "input", "select", "textarea":
				typ := strings.ToLower(attr(n, "type"))
				if n.Data != "input" {
					typ = n.Data
				} else if typ == "" {
					typ = "text"
				}
				if typ == "submit" && f.Submit == "" {
					f.Submit = attr(n, "value")
				}
				fd := Field{Type: typ, Name: attr(n, "name"), ID: attr(n, "id"), Autocomplete: attr(n, "autocomplete")}
				if fd.Name == "" && fd.ID == "" {
					break
				}
				hint := strings.ToLower(fd.Name + " " + fd.ID + " " + fd.Autocomplete)
				if (typ == "email" || (typ == "text" && strings.Contains(strings.ReplaceAll(hint, "-", ""), "email"))) && !strings.Contains(fd.Autocomplete, "cc-") {
					fd.Value = values[fd.Name]
				}
				f.Fields = append(f.Fields, fd)
			case "button":
				if (attr(n, "type") == "" || attr(n, "type") == "submit") && f.Submit == "" && n.FirstChild != nil {
					f.Submit = strings.TrimSpace(n.FirstChild.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return f
}

func TestAnalyzeRealWorldForms(t *testing.T) {
	cases := []struct {
		name       string
		html       string
		values     map[string]string
		kind       string
		email      string
		identifies bool
	}{
		{"HubSpot contact form", `<form id="hsForm_7f3c" class="hs-form" action="https://forms.hsforms.com/submissions/v3/public/submit/formsnext/multipart/123/abc">
			<input id="firstname-7f3c" name="firstname" type="text"><input id="email-7f3c" name="email" type="email" autocomplete="email">
			<textarea id="message-7f3c" name="message"></textarea><input type="hidden" name="hs_context" value="{}">
			<input type="submit" value="Contact us"></form>`,
			map[string]string{"email": "Ana@Initech.example"}, FormContact, "ana@initech.example", true},
		{"Marketo demo request", `<form id="mktoForm_1042" action="/index.php/leadCapture/save2">
			<input id="Email" name="Email" type="email"><input id="Company" name="Company" type="text">
			<select id="Employees" name="NumberOfEmployees"><option>1-50</option></select>
			<input type="hidden" name="formid" value="1042"><button type="submit">Request a demo</button></form>`,
			map[string]string{"Email": "bo@globex.example"}, FormDemo, "bo@globex.example", true},
		{"Mailchimp newsletter", `<form action="https://acme.us1.list-manage.com/subscribe/post?u=1&id=2" method="post" id="mc-embedded-subscribe-form" name="mc-embedded-subscribe-form">
			<input type="email" name="EMAIL" id="mce-EMAIL"><div aria-hidden="true"><input type="text" name="b_1_2" tabindex="-1" value=""></div>
			<input type="submit" value="Subscribe" name="subscribe" id="mc-embedded-subscribe"></form>`,
			map[string]string{"EMAIL": "cy@umbrella.example"}, FormNewsletter, "cy@umbrella.example", true},
		{"gated whitepaper download", `<form id="gated-asset" action="/thank-you?asset=state-of-b2b-2026.pdf">
			<input name="work_email" id="work_email" type="text" autocomplete="email"><input name="job_title" type="text">
			<button>Download the report</button></form>`,
			map[string]string{"work_email": "di@hooli.example"}, FormDownload, "di@hooli.example", true},
		{"webinar registration", `<form id="webinar-signup"><input type="email" name="email"><button type="submit">Save my seat</button></form>`,
			map[string]string{"email": "ed@acme.example"}, FormWebinar, "ed@acme.example", true},
		{"quote request", `<form name="request-quote" action="/quote"><input type="email" name="contact_email"><button>Get a quote</button></form>`,
			map[string]string{"contact_email": "fa@acme.example"}, FormQuote, "fa@acme.example", true},
		{"sign-up with a new password", `<form id="signup" action="/users"><input type="email" name="user[email]" autocomplete="username">
			<input type="password" name="user[password]" autocomplete="new-password"><button type="submit">Start free trial</button></form>`,
			map[string]string{"user[email]": "gi@acme.example"}, FormSignup, "gi@acme.example", true},
		{"login", `<form id="login-form" action="/session"><input type="email" name="login" autocomplete="username">
			<input type="password" name="password" autocomplete="current-password"><button type="submit">Sign in</button></form>`,
			map[string]string{"login": "shared-pc@acme.example"}, FormLogin, "shared-pc@acme.example", false},
		{"login with a text username", `<form action="/wp-login.php" name="loginform" id="loginform"><input type="text" name="log" id="user_login">
			<input type="password" name="pwd" id="user_pass"><input type="submit" name="wp-submit" value="Log In"></form>`,
			nil, FormLogin, "", false},
		{"checkout", `<form id="checkout" action="/checkout/complete"><input type="email" name="checkout[email]" autocomplete="email">
			<input name="number" autocomplete="cc-number" type="text"><input name="expiry" autocomplete="cc-exp" type="text">
			<input name="verification_value" autocomplete="cc-csc" type="text"><button>Pay now</button></form>`,
			map[string]string{"checkout[email]": "gift-buyer@acme.example"}, FormCheckout, "gift-buyer@acme.example", false},
		{"site search", `<form role="search" action="/search"><input type="search" name="q"><button>Search</button></form>`,
			nil, FormSearch, "", false},
		{"an unlabeled form with an email", `<form><input type="email" name="e"><button>Go</button></form>`,
			map[string]string{"e": "ha@acme.example"}, "", "ha@acme.example", true},
		{"an email field with a bad value", `<form id="contact"><input type="email" name="email"><button>Send</button></form>`,
			map[string]string{"email": "not an email"}, FormContact, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := AnalyzeForm(formFromHTML(t, c.html, c.values))
			if got.Type != c.kind || got.Email != c.email || got.Identifies != c.identifies {
				t.Fatalf("got %+v, want type %q email %q identifies %v", got, c.kind, c.email, c.identifies)
			}
		})
	}
}

func TestHiddenAndPasswordFieldsNeverGiveTheEmail(t *testing.T) {
	f := Form{ID: "contact", Fields: []Field{
		{Type: "hidden", Name: "email", Value: "tracking@vendor.example"},
		{Type: "password", Name: "email_password", Value: "secret@x.example"},
		{Type: "text", Name: "email", Autocomplete: "cc-number", Value: "card@x.example"},
	}}
	if got := AnalyzeForm(f); got.Email != "" {
		t.Fatalf("took %q from a field that must not be read", got.Email)
	}
}
