package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// A desktop Chrome's user agent: headless Chromium says HeadlessChrome, which the tracker
// rightly ignores as automation.
const desktopChrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// customerSite serves a small marketing site on its own origin (localhost, while Peregrine is
// on 127.0.0.1) with the snippet in every page: pricing, docs with single-page navigation, a
// demo form, a landing page for Braze links, and a page of a site that asks for consent.
func customerSite(t *testing.T, peregrine string, key, consentKey *string) string {
	t.Helper()
	page := func(w http.ResponseWriter, title, body string, k string, consent bool) {
		attr := ""
		if consent {
			attr = " data-require-consent"
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>%s</title>
<script src="%s/t.js" data-site="%s"%s defer></script></head><body><h1>%s</h1>%s
<p><a href="/pricing">Pricing</a> <a href="/docs">Docs</a> <a href="/contact">Contact</a></p></body></html>`, title, peregrine, k, attr, title, body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/pricing", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Pricing — Acme", "<p>Plans.</p>", *key, false)
	})
	mux.HandleFunc("/docs", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Docs — Acme", `<button id="next" onclick="history.pushState({}, '', '/docs/getting-started'); document.title='Getting started — Acme'">Next chapter</button>`, *key, false)
	})
	mux.HandleFunc("/contact", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Contact — Acme", `<form id="demo-request" action="/thanks" method="post">
<label>Name <input name="name"></label><label>Work email <input type="email" name="email" id="email"></label>
<input type="hidden" name="campaign" value="x"><button type="submit">Book a demo</button></form>`, *key, false)
	})
	mux.HandleFunc("/thanks", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Thanks — Acme", "<p>We will be in touch.</p>", *key, false)
	})
	mux.HandleFunc("/landing", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Spring offer — Acme", "<p>Offer.</p>", *key, false)
	})
	mux.HandleFunc("/case-studies/x", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Case study — Acme", "<p>Story.</p>", *key, false)
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Account — Acme", `<button id="who" onclick="peregrine('identify', {email: 'erin@initech.example'})">I am Erin</button>`, *key, false)
	})
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		page(w, "App — Acme", `<button id="accept" onclick="peregrine('consent', true)">Accept cookies</button>`, *consentKey, true)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return "http://localhost:" + strings.TrimPrefix(srv.URL, "http://127.0.0.1:")
}

// visitor opens a browser context as a person on the customer's site: a desktop user agent
// and navigator.webdriver false, unless automated is set.
func visitor(t *testing.T, automated bool, ua string) playwright.Page {
	t.Helper()
	opts := playwright.BrowserNewContextOptions{Viewport: &playwright.Size{Width: 1280, Height: 820}, UserAgent: playwright.String(ua)}
	ctx, err := browser.NewContext(opts)
	must(t, err)
	t.Cleanup(func() { ctx.Close() })
	if !automated {
		must(t, ctx.AddInitScript(playwright.Script{Content: playwright.String(`Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false})`)}))
	}
	page, err := ctx.NewPage()
	must(t, err)
	return page
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWebsiteTracker installs the snippet on a site on another origin and follows real
// browsers: anonymous visits and SPA navigation, a demo form that identifies the visitor, a
// Braze link resolved through the Braze fake, a crawler and an automated browser ignored, a
// consent-required site silent before consent, an unmerge in the UI, and a tracked link.
func TestWebsiteTracker(t *testing.T) {
	fake := brazetest.New(t, "braze-rest-key-0001")
	fake.AddUser(brazetest.User{BrazeID: "65f1c2ab9e8d7c0012a3c9d0", Email: "dan@initech.example", FirstName: "Dan"})
	srv := webtest.Start(t, map[string]string{"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"})
	var key, consentKey string
	site := customerSite(t, srv.URL, &key, &consentKey)
	admin := newPage(t, srv.URL)
	createWorkspace(t, admin)
	ctx := context.Background()
	ws, err := srv.Store.WorkspaceBySlug(ctx, "acme-robotics")
	must(t, err)
	sealed, err := srv.Secrets.Seal([]byte("braze-rest-key-0001"), ingest.BrazeKeyContext(ws.ID))
	must(t, err)
	must(t, srv.Store.SaveBrazeConnection(ctx, model.BrazeConnection{WorkspaceID: ws.ID, RESTEndpoint: fake.URL, APIKeyEncrypted: sealed, APIKeyHint: "0001"}))

	// The marketer adds the site in the UI and copies the snippet.
	must(t, admin.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Integrations"}).Click())
	must(t, admin.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Website", Exact: playwright.Bool(true)}).Click())
	must(t, expect.Locator(admin.Locator("#website-empty")).ToContainText("Add your website"))
	must(t, admin.Locator("#f-name-new").Fill("Acme website"))
	must(t, admin.Locator("#f-origins-new").Fill(site))
	must(t, button(admin, "Add site").Click())
	must(t, expect.Locator(admin.Locator(".flash-success")).ToContainText("added"))
	snippet, err := admin.Locator("input.snippet").First().InputValue()
	must(t, err)
	key = strings.Split(strings.Split(snippet, `data-site="`)[1], `"`)[0]
	if !strings.HasPrefix(snippet, `<script src="`+srv.URL+`/t.js" data-site="ps_`) {
		t.Fatalf("snippet %s", snippet)
	}
	must(t, admin.Locator("#f-name-new").Fill("Acme app"))
	must(t, admin.Locator("#f-origins-new").Fill(site))
	must(t, admin.Locator("#new-site input[name=require_consent]").Check())
	must(t, button(admin, "Add site").Click())
	snippet, err = admin.Locator("input.snippet").Nth(1).InputValue()
	must(t, err)
	consentKey = strings.Split(strings.Split(snippet, `data-site="`)[1], `"`)[0]
	if !strings.Contains(snippet, "data-require-consent") {
		t.Fatalf("consent snippet %s", snippet)
	}
	db := srv.DB
	visitors := func() int { return pgtest.Count(t, db, `SELECT count(*) FROM visitors WHERE workspace_id = $1`, ws.ID) }

	// An automated browser (navigator.webdriver) sends nothing; a crawler's hits are refused.
	bot := visitor(t, true, desktopChrome)
	_, err = bot.Goto(site + "/pricing")
	must(t, err)
	if wd, _ := bot.Evaluate(`navigator.webdriver`); wd != true {
		t.Fatalf("this automated browser does not say navigator.webdriver (%v): the check below would prove nothing", wd)
	}
	crawler := visitor(t, false, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")
	_, err = crawler.Goto(site + "/pricing")
	must(t, err)
	waitUntil(t, "the crawler's hit counted as ignored", func() bool {
		return pgtest.Count(t, db, `SELECT COALESCE(sum(count), 0) FROM ingest_counters WHERE workspace_id = $1 AND metric = 'web_ignored'
			AND event_type = 'known crawler or headless browser'`, ws.ID) >= 1
	})

	// A consent-required page stores nothing and sets no cookie before consent.
	shy := visitor(t, false, desktopChrome)
	_, err = shy.Goto(site + "/private")
	must(t, err)
	must(t, expect.Locator(shy.Locator("#accept")).ToBeVisible())
	if c, _ := shy.Evaluate(`document.cookie`); strings.Contains(fmt.Sprint(c), "pgr_vid") {
		t.Fatalf("cookie before consent: %v", c)
	}

	// Carol browses anonymously (pricing, docs, a single-page-app chapter), then books a demo.
	carol := visitor(t, false, desktopChrome)
	_, err = carol.Goto(site + "/pricing")
	must(t, err)
	_, err = carol.Goto(site + "/docs")
	must(t, err)
	must(t, carol.Locator("#next").Click())
	must(t, expect.Page(carol).ToHaveURL(urlEnds("/docs/getting-started")))
	waitUntil(t, "carol's three anonymous page views", func() bool {
		return pgtest.Count(t, db, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id IS NULL AND event_type = 'web.page_view'`, ws.ID) == 3
	})
	// Only now: every hit sent before was stored, so the bot's and the shy visitor's absence is real.
	if n := visitors(); n != 1 {
		t.Fatalf("%d browsers recorded; only carol's should be (the automated, crawler and consent-less ones must not)", n)
	}
	_, err = carol.Goto(site + "/contact")
	must(t, err)
	must(t, carol.Locator("input[name=name]").Fill("Carol"))
	must(t, carol.Locator("#email").Fill("carol@globex-corp.example"))
	must(t, button(carol, "Book a demo").Click())
	must(t, expect.Page(carol).ToHaveURL(urlEnds("/thanks")))
	var carolID int64
	waitUntil(t, "carol identified with her visits, scored for pricing and the demo", func() bool {
		db.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1 AND email = 'carol@globex-corp.example'`, ws.ID).Scan(&carolID)
		return carolID != 0 && pgtest.Count(t, db, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2`, ws.ID, carolID) >= 5 &&
			pgtest.Count(t, db, `SELECT main_score::int FROM leads WHERE workspace_id = $1 AND id = $2`, ws.ID, carolID) >= 45
	})
	_, err = admin.Goto(fmt.Sprintf("/leads/%d", carolID))
	must(t, err)
	for _, want := range []string{"Visited Pricing — Acme (/pricing)", "Visited Getting started — Acme (/docs/getting-started)",
		"Submitted the demo request form on /contact", "Website · Visited a page"} {
		must(t, expect.Locator(admin.Locator(".timeline-card")).ToContainText(want))
	}
	must(t, expect.Locator(admin.Locator("#why")).ToContainText("Pricing page viewed"))
	must(t, expect.Locator(admin.Locator("#known-by")).ToContainText("the demo request form on /contact"))

	// The visitor consents: from then on the hits are stored.
	must(t, shy.Locator("#accept").Click())
	waitUntil(t, "the consenting visitor's first hit", func() bool { return visitors() == 2 })
	if c, _ := shy.Evaluate(`document.cookie`); !strings.Contains(fmt.Sprint(c), "pgr_vid=") {
		t.Fatalf("no visitor cookie after consent: %v", c)
	}

	// A colleague clicks "Don't track this browser": the flag is set, the parameter removed,
	// and nothing from this browser is stored from then on.
	colleague := visitor(t, false, desktopChrome)
	_, err = colleague.Goto(site + "/pricing?pgr_ignore=1")
	must(t, err)
	must(t, expect.Page(colleague).ToHaveURL(urlEnds("/pricing")))
	_, err = colleague.Goto(site + "/docs")
	must(t, err)
	if flag, _ := colleague.Evaluate(`localStorage.getItem('peregrine_ignore')`); flag != "true" {
		t.Fatalf("the ignore flag is %v", flag)
	}

	// A Braze link: the id is resolved through Braze and leaves the address bar.
	dan := visitor(t, false, desktopChrome)
	_, err = dan.Goto(site + "/landing?utm_source=braze&braze_id=65f1c2ab9e8d7c0012a3c9d0")
	must(t, err)
	must(t, expect.Page(dan).ToHaveURL(urlEnds("/landing?utm_source=braze")))
	waitUntil(t, "dan identified through Braze", func() bool {
		return pgtest.Count(t, db, `SELECT count(*) FROM activities a JOIN leads l ON l.workspace_id = a.workspace_id AND l.id = a.lead_id
			WHERE a.workspace_id = $1 AND l.email = 'dan@initech.example' AND a.name LIKE '[Website] Visited Spring offer%'`, ws.ID) == 1
	})

	if n := visitors(); n != 3 {
		t.Fatalf("%d browsers recorded, want carol's, the consenting one and dan's (the ignored colleague's must not be)", n)
	}

	// Carol's browser then says it is Erin: Erin gets the new activity, Carol keeps hers.
	_, err = carol.Goto(site + "/me")
	must(t, err)
	must(t, carol.Locator("#who").Click())
	_, err = carol.Goto(site + "/pricing")
	must(t, err)
	var erinID int64
	waitUntil(t, "erin's pricing visit, scored", func() bool {
		db.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1 AND email = 'erin@initech.example'`, ws.ID).Scan(&erinID)
		return erinID != 0 && pgtest.Count(t, db, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2 AND event_type = 'web.page_view'`, ws.ID, erinID) >= 1 &&
			pgtest.Count(t, db, `SELECT count(*) FROM scoring_queue WHERE workspace_id = $1`, ws.ID) == 0 &&
			pgtest.Count(t, db, `SELECT main_score::int FROM leads WHERE workspace_id = $1 AND id = $2`, ws.ID, erinID) > 0
	})
	erinScore := pgtest.Count(t, db, `SELECT main_score::int FROM leads WHERE workspace_id = $1 AND id = $2`, ws.ID, erinID)
	carolScore := pgtest.Count(t, db, `SELECT main_score::int FROM leads WHERE workspace_id = $1 AND id = $2`, ws.ID, carolID)
	carolActs := pgtest.Count(t, db, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2`, ws.ID, carolID)

	// The marketer undoes "Erin" on Erin's page: the browser's activity since goes back to
	// Carol, and both are scored again.
	_, err = admin.Goto(fmt.Sprintf("/leads/%d", erinID))
	must(t, err)
	must(t, expect.Locator(admin.Locator("#known-by")).ToContainText("carol@globex-corp.example's before"))
	screenshot(t, admin, "lead-known-by.png")
	admin.OnDialog(func(d playwright.Dialog) { d.Accept() })
	must(t, admin.Locator("#known-by").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Undo"}).Click())
	must(t, expect.Locator(admin.Locator(".flash-success")).ToContainText("went back to the person it belonged to before"))
	if n := pgtest.Count(t, db, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2`, ws.ID, erinID); n != 0 {
		t.Fatalf("erin keeps %d activities after the unmerge", n)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2`, ws.ID, carolID); n <= carolActs {
		t.Fatalf("carol did not get the browser's activity back: %d (was %d)", n, carolActs)
	}
	if s := pgtest.Count(t, db, `SELECT main_score::int FROM leads WHERE workspace_id = $1 AND id = $2`, ws.ID, erinID); s >= erinScore || erinScore == 0 {
		t.Fatalf("erin not re-scored: %d → %d", erinScore, s)
	}
	if s := pgtest.Count(t, db, `SELECT main_score::int FROM leads WHERE workspace_id = $1 AND id = $2`, ws.ID, carolID); s < carolScore {
		t.Fatalf("carol's score fell after getting activity back: %d → %d", carolScore, s)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM score_ledger WHERE workspace_id = $1 AND lead_id = $2 AND delta < 0`, ws.ID, erinID); n == 0 {
		t.Fatal("erin's ledger does not show the points taken back")
	}

	// A tracked link for Carol, opened on her phone, identifies that browser.
	_, err = admin.Goto(fmt.Sprintf("/leads/%d", carolID))
	must(t, err)
	must(t, admin.Locator("#f-target").Fill(site+"/case-studies/x"))
	must(t, button(admin, "Create tracked link").Click())
	link, err := admin.Locator("#new-link").InputValue()
	must(t, err)
	screenshot(t, admin, "lead-tracked-link.png")
	phone := visitor(t, false, desktopChrome)
	_, err = phone.Goto(link)
	must(t, err)
	must(t, expect.Page(phone).ToHaveURL(urlEnds("/case-studies/x")))
	waitUntil(t, "the tracked link click on carol's timeline", func() bool {
		return pgtest.Count(t, db, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2
			AND name = '[Sales email] Clicked a tracked link to /case-studies/x'`, ws.ID, carolID) == 1
	})

	// Leaving pages reported the time spent on them (stored; short reads make no activity).
	if n := pgtest.Count(t, db, `SELECT count(*) FROM inbound_events WHERE workspace_id = $1 AND event_type = 'web.leave'`, ws.ID); n == 0 {
		t.Fatal("no time-on-page hit was sent when pages were left")
	}

	// A form hit that fails to send is kept and sent from the next page.
	flaky := visitor(t, false, desktopChrome)
	var refused atomic.Int32
	must(t, flaky.Context().Route("**/t/collect", func(r playwright.Route) {
		if body, _ := r.Request().PostData(); strings.Contains(body, `"t":"form"`) && refused.Add(1) == 1 {
			must(t, r.Abort("connectionrefused"))
			return
		}
		must(t, r.Continue())
	}))
	_, err = flaky.Goto(site + "/contact")
	must(t, err)
	must(t, flaky.Locator("#email").Fill("fay@umbrella.example"))
	must(t, button(flaky, "Book a demo").Click())
	must(t, expect.Page(flaky).ToHaveURL(urlEnds("/thanks")))
	waitUntil(t, "the form sent again from the next page", func() bool {
		return pgtest.Count(t, db, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND email = 'fay@umbrella.example'`, ws.ID) == 1
	})
	if refused.Load() < 2 {
		t.Fatalf("the form hit was sent %d times; the first was refused, so it must have been sent again", refused.Load())
	}

	// The website page shows the installation working.
	_, err = admin.Goto("/integrations/website")
	must(t, err)
	must(t, expect.Locator(admin.Locator(".site-card").First()).ToContainText("Working"))
	must(t, expect.Locator(admin.Locator("#website-traffic")).ToContainText("known crawler"))
	screenshot(t, admin, "website.png")
}
