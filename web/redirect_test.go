package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// offSite are next= targets that have led browsers to another site: control characters
// browsers drop, backslashes they read as slashes, protocol-relative and absolute URLs, and
// their encoded forms.
var offSite = []string{
	"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\t\t//evil.example", "/ /evil.example",
	"//evil.example", "//evil.example/leads", "///evil.example", "/\\evil.example", "/\\/evil.example", "\\/evil.example",
	"\\\\evil.example", "https://evil.example", "http:evil.example", "HTTPS://evil.example/", "javascript:alert(1)",
	"/%2F%2Fevil.example", "/%2f/evil.example", "%2F%2Fevil.example", "/%5Cevil.example", "//%09/evil.example",
	"/\u3000/evil.example", "/\u00a0/evil.example", "\x00//evil.example", "/\x00/evil.example", "evil.example",
	"https:/evil.example", "/\xff/evil.example", "//user@evil.example",
}

// TestSignInRedirectsStayOnSite: after signing in (POST) and when already signed in (GET),
// next= only ever leads to a path of this site; a harmless path is kept.
func TestSignInRedirectsStayOnSite(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true"})
	signUp(t, s.browser(t), "ada@acme.example")
	onSite := func(t *testing.T, loc string) {
		t.Helper()
		u, err := url.Parse(loc)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") ||
			strings.ContainsAny(loc, "\\\t\r\n ") || strings.HasPrefix(u.Path, "//") {
			t.Fatalf("redirect to %q leaves the site", loc)
		}
	}
	signIn := func(b *browser, next string) response {
		return b.post("/login", url.Values{"email": {"ada@acme.example"}, "password": {password}, "next": {next}})
	}
	for _, next := range offSite {
		b := s.browser(t)
		r := signIn(b, next)
		if r.status != http.StatusSeeOther {
			t.Fatalf("POST /login next=%q: %d", next, r.status)
		}
		onSite(t, r.header.Get("Location"))
		if r.header.Get("Location") != "/" {
			t.Errorf("POST /login next=%q went to %q, want /", next, r.header.Get("Location"))
		}
		// Signed in now: the GET path redirects at once.
		r = b.get("/login?next=" + url.QueryEscape(next))
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Errorf("GET /login next=%q: %d to %q, want /", next, r.status, r.header.Get("Location"))
		}
	}
	// The raw query the issue reported, not re-encoded by the test.
	b := s.browser(t)
	signIn(b, "/leads")
	if r := b.get("/login?next=/%09/evil.example"); r.header.Get("Location") != "/" {
		t.Fatalf("GET /login?next=/%%09/evil.example went to %q", r.header.Get("Location"))
	}
	// A real target survives, query and all.
	if r := signIn(s.browser(t), "/leads?q=acme&sort=score"); r.header.Get("Location") != "/leads?q=acme&sort=score" {
		t.Fatalf("a same-site next was dropped: %q", r.header.Get("Location"))
	}
	if r := b.get("/login?next=" + url.QueryEscape("/accounts/12")); r.header.Get("Location") != "/accounts/12" {
		t.Fatalf("GET kept %q", r.header.Get("Location"))
	}
}
