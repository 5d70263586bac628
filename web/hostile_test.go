package web_test

import (
	"context"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// hostileValues are what probes and broken clients send: NUL, invalid UTF-8, control
// characters, numbers too big for any column or whose multiples overflow, negative numbers,
// and over-long text.
var hostileValues = map[string]string{
	"nul":       "a\x00b",
	"bad utf-8": "caf\xe9\xff",
	"control":   "x\x1by",
	"huge":      "99999999999999999999999999",
	"big int":   "200000000000000000",
	"negative":  "-9223372036854775808",
	"long":      strings.Repeat("long text ", 10_000),
}

// queryNames are the query parameters pages read, and a few they do not.
var queryNames = []string{"q", "label", "owner", "type", "source", "page", "sort", "min", "max", "account", "grade", "temp",
	"next", "filter", "status", "score", "id", "run", "kind", "signed_out", "outcome", "lead", "state", "code"}

// TestHostileInputNeverFails: every GET route, with each hostile value in each path
// parameter and each query parameter, and every form of every page, with each hostile value
// in every field, answers below 500 with a message — never a server error.
func TestHostileInputNeverFails(t *testing.T) {
	s, admin, acme, _, _ := acmeAndGlobex(t)
	ctx := context.Background()
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, token, currentstest.Read("mixed-batch.json"), nil)
	waitFor(t, "the batch to be processed", func() bool { return s.Store != nil && leadCount(t, s) > 0 })

	failures := 0
	check := func(what string, r response) {
		t.Helper()
		if r.status >= 500 || (r.status >= 400 && !saysWhy(r.body)) {
			failures++
			if failures <= 20 {
				t.Errorf("%s: %d\n%.300s", what, r.status, r.body)
			}
		}
	}

	// Pages with an id are visited with a real one, so their forms are found too.
	realID := func(q string) string {
		var id string
		s.DB.QueryRow(q, acme.ID).Scan(&id)
		return id
	}
	ids := map[string]string{
		"/leads/":    realID(`SELECT id FROM leads WHERE workspace_id = $1 ORDER BY id LIMIT 1`),
		"/accounts/": realID(`SELECT id FROM accounts WHERE workspace_id = $1 ORDER BY id LIMIT 1`),
		"/rules/":    realID(`SELECT id FROM rules WHERE workspace_id = $1 ORDER BY id LIMIT 1`),
	}
	var pages []string
	for _, route := range s.Config.Handler.(*echo.Echo).Routes() {
		if route.Method != http.MethodGet || skipRoute(route.Path) {
			continue
		}
		plain := fillParams(route.Path, "1")
		for prefix, id := range ids {
			if strings.HasPrefix(route.Path, prefix+":") {
				plain = fillParams(route.Path, id)
			}
		}
		pages = append(pages, plain)
		for name, v := range hostileValues {
			if strings.Contains(route.Path, ":") {
				check("GET "+route.Path+" with "+name+" in the path", admin.get(fillParams(route.Path, url.PathEscape(v))))
			}
			for _, q := range queryNames {
				check("GET "+route.Path+"?"+q+"= "+name, admin.get(plain+"?"+url.Values{q: {v}}.Encode()))
			}
		}
	}

	forms := map[string][]string{}
	for _, p := range pages {
		r := admin.get(p)
		if r.status != http.StatusOK {
			continue
		}
		for action, fields := range postForms(t, r.body) {
			if _, seen := forms[action]; !seen && !slices.Contains(destructive, action) {
				forms[action] = fields
			}
		}
	}
	t.Logf("forms found on the pages: %v", slices.Sorted(maps.Keys(forms)))
	if len(forms) < 12 {
		t.Fatalf("found only %d forms on %d pages: the crawl is not working", len(forms), len(pages))
	}
	// Forms shown only in other states (signed out, Salesforce connected, set-aside items,
	// the rule builder's script), with the fields their handlers read.
	for action, fields := range map[string][]string{
		"/login":                                {"email", "password", "next"},
		"/signup":                               {"workspace", "name", "email", "password"},
		"/join/acme/" + strings.Repeat("t", 43): {"name", "password"},
		"/rules/validate":                       {"definition"},
		"/rules/preview":                        {"definition"},
		"/rules/defaults":                       {"mode"},
		"/rules/1/move":                         {"dir"},
		"/integrations/salesforce/password":     {"username", "password", "security_token"},
		"/integrations/salesforce/share":        {"share"},
		"/integrations/salesforce/sync": {"object", "custom_object", "match_field", "placeholder", "reconcile_hours", "create_missing",
			"update_existing", "push_on_change", "get_details", "pull_enabled", "pull_every", "pull_object", "pull_filter_field", "map_key"},
		"/integrations/salesforce/retry/1":      {"x"},
		"/integrations/braze/set-aside/retry":   {"queue", "id"},
		"/integrations/braze/set-aside/discard": {"queue", "id"},
		"/settings/event-properties/delete":     {"key"},
		"/profile/sessions/1/end":               {"x"},
	} {
		if _, seen := forms[action]; !seen {
			forms[action] = fields
		}
	}
	for action, fields := range forms {
		for name, v := range hostileValues {
			form := url.Values{}
			for _, f := range fields {
				form.Set(f, v)
			}
			check("POST "+action+" with "+name+" in "+strings.Join(fields, ", "), admin.post(action, form))
		}
	}
	if !admin.signedIn() {
		t.Fatal("the admin was signed out along the way: later requests proved nothing")
	}
	if failures > 20 {
		t.Errorf("… and %d more", failures-20)
	}
	t.Logf("%d GET routes and %d forms tried", len(pages), len(forms))
}

func leadCount(t *testing.T, s testServer) int {
	var n int
	s.DB.QueryRow(`SELECT count(*) FROM leads`).Scan(&n)
	return n
}

// destructive forms end the admin's session; they hold no text fields anyway.
var destructive = []string{"/logout", "/profile/sessions/end-all"}

func skipRoute(path string) bool {
	return strings.HasPrefix(path, "/static") || path == "/metrics" || path == "/healthz" || path == "/readyz" ||
		path == "/favicon.ico" || path == "/*"
}

// fillParams puts v in every :param of an Echo route path.
func fillParams(path, v string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = v
		}
	}
	return strings.Join(parts, "/")
}

// postForms finds the page's POST forms: their action and the names of their fields
// (without the CSRF token, which the test browser's Sec-Fetch-Site makes unnecessary).
func postForms(t *testing.T, page string) map[string][]string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var walk func(n *html.Node, action string)
	walk = func(n *html.Node, action string) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				action = ""
				if strings.EqualFold(attr(n, "method"), "post") {
					action = attr(n, "action")
					if _, ok := out[action]; !ok && action != "" {
						out[action] = nil
					}
				}
			case "input", "select", "textarea":
				if name := attr(n, "name"); action != "" && name != "" && name != "_csrf" && !slices.Contains(out[action], name) {
					out[action] = append(out[action], name)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, action)
		}
	}
	walk(doc, "")
	for action, fields := range out {
		if len(fields) == 0 || !strings.HasPrefix(action, "/") {
			delete(out, action)
		}
	}
	return out
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// saysWhy: an answer carries a message for a person — an error page, an alert beside a
// field or at the top, or a JSON error.
func saysWhy(body string) bool {
	for _, sign := range []string{`role="alert"`, "<h1", `"error"`, `"message"`, `"detail"`} { // "detail": RFC 9457 problems
		if strings.Contains(body, sign) {
			return true
		}
	}
	return false
}

// TestEscapedControlCharactersInRules: rule JSON can spell a NUL or other control character as
// an escape that no form check sees; every way a rule arrives refuses it with the reason.
func TestEscapedControlCharactersInRules(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	for _, escaped := range []string{`\u0000`, `\u001b`, `\n`} {
		rule := strings.Replace(validRule, `"Docs reader"`, `"Docs`+escaped+`reader"`, 1)
		label := strings.Replace(validRule, `"value":"docs"`, `"value":"do`+escaped+`cs"`, 1)
		for _, r := range []response{
			admin.postJSON("/rules/validate", rule), admin.postJSON("/rules/preview", label),
			admin.post("/rules/validate", url.Values{"definition": {label}}),
		} {
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "control character") {
				t.Fatalf("%s: %d %.300s", escaped, r.status, r.body)
			}
		}
		if r := admin.post("/rules", url.Values{"definition": {rule}}); r.status != http.StatusUnprocessableEntity ||
			!strings.Contains(r.body, "control character") {
			t.Fatalf("save with %s: %d %.300s", escaped, r.status, r.body)
		}
		r := admin.post("/rules/import", url.Values{"json": {`{"format":1,"rules":[` + rule + `]}`}, "mode": {"add"}})
		assertStatus(t, r, http.StatusSeeOther)
		if page := admin.get("/rules"); !strings.Contains(page.body, "control character") {
			t.Fatalf("import with %s: no reason shown", escaped)
		}
	}
	if n := pgtest.Count(t, s.DB, `SELECT count(*) FROM rules WHERE name LIKE 'Docs%'`); n != 0 {
		t.Fatalf("%d rules stored", n)
	}
}
