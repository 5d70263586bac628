package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// newSite creates a tracked site in the workspace through the website service.
func newSite(t *testing.T, s testServer, ws int64, in website.SiteInput) model.Site {
	t.Helper()
	if in.Name == "" {
		in.Name = "Acme website"
	}
	if in.Origins == nil {
		in.Origins = []string{"https://www.acme.example"}
	}
	site, err := website.New(s.Store, s.Pipeline.Scoring).CreateSite(context.Background(), ws, in)
	if err != nil {
		t.Fatal(err)
	}
	return site
}

type collectReply struct {
	status int
	body   string
	header http.Header
}

var hitSeq int

// hit is a tracker hit as the script sends it, with a new event id.
func hit(site model.Site, visitor, kind, url string, extra map[string]any) []byte {
	hitSeq++
	return hitBody(site, visitor, fmt.Sprintf("event-%016d-%d", hitSeq, time.Now().UnixNano()), kind, url, extra)
}

func collect(t *testing.T, s testServer, body []byte, headers map[string]string) collectReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/t/collect", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", "https://www.acme.example")
	req.Header.Set("User-Agent", chromeUA)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return collectReply{res.StatusCode, string(raw), res.Header}
}

func webEvents(t *testing.T, s testServer, ws int64) int {
	return pgtest.Count(t, s.DB, `SELECT count(*) FROM inbound_events WHERE workspace_id = $1 AND source = 'web'`, ws)
}

func TestCollectAnswers(t *testing.T) {
	s, _, acme, globex, _ := acmeAndGlobex(t)
	site := newSite(t, s, acme.ID, website.SiteInput{})
	other := newSite(t, s, globex.ID, website.SiteInput{Name: "Globex", Origins: []string{"https://globex.example"}})
	const visitor = "visitor-aaaaaaaaaaaaaaaa"
	page := "https://www.acme.example/pricing?utm_source=newsletter"

	r := collect(t, s, hit(site, visitor, "page", page, nil), nil)
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://www.acme.example" {
		t.Fatalf("a good hit: %d %q %v", r.status, r.body, r.header)
	}
	if n := webEvents(t, s, acme.ID); n != 1 {
		t.Fatalf("stored %d hits, want 1", n)
	}
	refused := []struct {
		name    string
		body    []byte
		headers map[string]string
		status  int
		says    string
	}{
		{"not JSON", []byte("hello"), nil, 400, "not a JSON hit"},
		{"no visitor", hit(site, "", "page", page, nil), nil, 400, "visitor id"},
		{"unknown type", hit(site, visitor, "click", page, nil), nil, 400, "t must be"},
		{"relative URL", hit(site, visitor, "page", "/pricing", nil), nil, 400, "absolute"},
		{"form without form", hit(site, visitor, "form", page, nil), nil, 400, "needs f"},
		{"unknown site", hit(model.Site{Key: "ps_zz_nothing"}, visitor, "page", page, nil), nil, 403, "Unknown site key"},
		{"another workspace's key from this origin", hit(other, visitor, "page", page, nil), nil, 403, "origin"},
		{"origin not allowed", hit(site, visitor, "page", page, nil), map[string]string{"Origin": "https://evil.example"}, 403, "origin"},
		{"no origin", hit(site, visitor, "page", page, nil), map[string]string{"Origin": ""}, 403, "origin"},
		{"too large", hit(site, visitor, "page", page, map[string]any{"ti": strings.Repeat("x", 17<<10)}), nil, 413, "16 KiB"},
	}
	for _, c := range refused {
		r := collect(t, s, c.body, c.headers)
		if r.status != c.status || !strings.Contains(r.body, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, r.status, r.body, c.status, c.says)
		}
	}
	if n := webEvents(t, s, acme.ID) + webEvents(t, s, globex.ID); n != 1 {
		t.Fatalf("refused hits were stored: %d", n)
	}

	req, _ := http.NewRequest(http.MethodHead, s.URL+"/t/collect", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("HEAD: %v %v", res, err)
	}
	res.Body.Close()
}

func TestCollectIgnoresBotsAndHonoursPrivacy(t *testing.T) {
	s, _, acme, _, _ := acmeAndGlobex(t)
	site := newSite(t, s, acme.ID, website.SiteInput{HonourDNT: true})
	consent := newSite(t, s, acme.ID, website.SiteInput{Name: "App", Origins: []string{"https://app.acme.example"}, RequireConsent: true})
	office := newSite(t, s, acme.ID, website.SiteInput{Name: "Docs", Origins: []string{"https://docs.acme.example"}, ExcludedIPs: []string{"127.0.0.0/8"}})
	const visitor = "visitor-bbbbbbbbbbbbbbbb"
	ignored := []struct {
		name    string
		body    []byte
		headers map[string]string
	}{
		{"Googlebot", hit(site, visitor, "page", "https://www.acme.example/", nil), map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}},
		{"headless Chrome", hit(site, visitor, "page", "https://www.acme.example/", nil), map[string]string{"User-Agent": strings.Replace(chromeUA, "Chrome/", "HeadlessChrome/", 1)}},
		{"no user agent", hit(site, visitor, "page", "https://www.acme.example/", nil), map[string]string{"User-Agent": ""}},
		{"prefetch", hit(site, visitor, "page", "https://www.acme.example/", nil), map[string]string{"Sec-Purpose": "prefetch;prerender"}},
		{"Do Not Track", hit(site, visitor, "page", "https://www.acme.example/", nil), map[string]string{"DNT": "1"}},
		{"Global Privacy Control", hit(site, visitor, "page", "https://www.acme.example/", nil), map[string]string{"Sec-GPC": "1"}},
		{"before consent", hit(consent, visitor, "page", "https://app.acme.example/", nil), map[string]string{"Origin": "https://app.acme.example"}},
		{"office IP", hit(office, visitor, "page", "https://docs.acme.example/", nil), map[string]string{"Origin": "https://docs.acme.example"}},
	}
	for _, c := range ignored {
		if r := collect(t, s, c.body, c.headers); r.status != http.StatusNoContent {
			t.Errorf("%s: %d %s, want 204 (acknowledged, not stored)", c.name, r.status, r.body)
		}
	}
	if n := webEvents(t, s, acme.ID); n != 0 {
		t.Fatalf("%d ignored hits were stored", n)
	}
	r := collect(t, s, hit(consent, visitor, "page", "https://app.acme.example/", map[string]any{"c": true}), map[string]string{"Origin": "https://app.acme.example"})
	if r.status != http.StatusNoContent || webEvents(t, s, acme.ID) != 1 {
		t.Fatalf("after consent: %d, %d stored", r.status, webEvents(t, s, acme.ID))
	}
	// Every ignored hit is counted with its reason (the counters flush every 2 seconds).
	waitFor(t, "ignored hits counted", func() bool {
		return pgtest.Count(t, s.DB, `SELECT COALESCE(sum(count), 0) FROM ingest_counters WHERE workspace_id = $1 AND metric = 'web_ignored'`, acme.ID) == len(ignored)
	})
	reasons := pgtest.Count(t, s.DB, `SELECT count(DISTINCT event_type) FROM ingest_counters WHERE workspace_id = $1 AND metric = 'web_ignored'`, acme.ID)
	if reasons != 5 {
		t.Fatalf("%d reasons counted, want 5 (bot, prefetch, privacy, consent, IP)", reasons)
	}
}

func TestCollectRateLimit(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", "PEREGRINE_COLLECT_RATE": "2"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	acme, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")
	site := newSite(t, s, acme.ID, website.SiteInput{})
	statuses := map[int]int{}
	var limited collectReply
	for i := 0; i < 20; i++ {
		r := collect(t, s, hit(site, "visitor-cccccccccccccccc", "page", "https://www.acme.example/", nil), nil)
		statuses[r.status]++
		if r.status == http.StatusTooManyRequests {
			limited = r
		}
	}
	// A burst of five times the rate passes, then the bucket refills at 2 per second.
	if statuses[http.StatusNoContent] < 10 || statuses[http.StatusNoContent] > 12 || statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("statuses %v", statuses)
	}
	if limited.header.Get("Retry-After") == "" || !strings.Contains(limited.body, "Too many") {
		t.Fatalf("429 without Retry-After or reason: %v %s", limited.header, limited.body)
	}
}

func leadID(t *testing.T, s testServer, ws int64, email string) int64 {
	var id int64
	s.DB.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1 AND email = $2`, ws, email).Scan(&id)
	return id
}

func mainScore(s testServer, ws, lead int64) float64 {
	var v float64
	s.DB.QueryRow(`SELECT main_score FROM leads WHERE workspace_id = $1 AND id = $2`, ws, lead).Scan(&v)
	return v
}

func leadActivities(t *testing.T, s testServer, ws, lead int64) int {
	return pgtest.Count(t, s.DB, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2`, ws, lead)
}

func form(email string, id, submit string) map[string]any {
	return map[string]any{"f": map[string]any{"id": id, "submit": submit, "fields": []map[string]any{
		{"t": "text", "n": "name"}, {"t": "email", "n": "email", "v": email}, {"t": "hidden", "n": "utm"}}}}
}

// TestWebIdentityGraph follows browsers from anonymous visits to leads: by form, by Braze
// link (through the Braze fake), by tracked link; a second person on one browser; undoing a
// link; and a workspace member's browser that must never become a lead.
func TestWebIdentityGraph(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", "PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"})
	fake := brazetest.New(t, "abcd-1234-secret-key-9f3a")
	fake.AddUser(brazetest.User{BrazeID: "65f1c2ab9e8d7c0012a3c9d0", Email: "dan@initech.example", FirstName: "Dan"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	assertStatus(t, ada.post("/integrations/braze", url.Values{"api_key": {"abcd-1234-secret-key-9f3a"}, "instance": {"other"}, "other_url": {fake.URL}}), http.StatusSeeOther)
	ctx := context.Background()
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	ws := acme.ID
	site := newSite(t, s, ws, website.SiteInput{})
	svc := website.New(s.Store, s.Pipeline.Scoring)
	send := func(body []byte) {
		t.Helper()
		if r := collect(t, s, body, nil); r.status != http.StatusNoContent {
			t.Fatalf("hit refused: %d %s", r.status, r.body)
		}
	}

	// Anonymous visits, then the demo form: the lead exists with the visits, scored.
	const carolBrowser = "browser-carol-0000000001"
	send(hit(site, carolBrowser, "page", "https://www.acme.example/pricing", map[string]any{"ti": "Pricing — Acme", "nv": true}))
	send(hit(site, carolBrowser, "page", "https://www.acme.example/docs/start", map[string]any{"ti": "Docs"}))
	waitFor(t, "anonymous visits stored", func() bool {
		return pgtest.Count(t, s.DB, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id IS NULL`, ws) == 2
	})
	send(hit(site, carolBrowser, "form", "https://www.acme.example/contact", form("Carol@Globex-Corp.example", "demo-request", "Book a demo")))
	var carol int64
	waitFor(t, "carol identified with her visits and scored", func() bool {
		carol = leadID(t, s, ws, "carol@globex-corp.example")
		return carol != 0 && leadActivities(t, s, ws, carol) == 3 && mainScore(s, ws, carol) >= 45
	})
	var names []string
	rows, _ := s.DB.Query(`SELECT name FROM activities WHERE workspace_id = $1 AND lead_id = $2 ORDER BY occurred_at, id`, ws, carol)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	want := []string{"[Website] Visited Pricing — Acme (/pricing)", "[Website] Visited Docs (/docs/start)", "[Website] Submitted the demo request form on /contact"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("activities %q, want %q", names, want)
	}
	links, _ := s.Store.IdentityLinksOfLead(ctx, ws, carol)
	if len(links) != 1 || links[0].Reason != model.LinkForm || links[0].Detail != "the demo request form on /contact" || links[0].Activities != 3 {
		t.Fatalf("links %+v", links)
	}

	// A Braze link: the Braze id is resolved through /users/export/ids.
	const danBrowser = "browser-dan-000000000001"
	send(hit(site, danBrowser, "page", "https://www.acme.example/features", map[string]any{"ti": "Features"}))
	send(hit(site, danBrowser, "identify", "https://www.acme.example/features", map[string]any{"id": map[string]any{"braze_id": "65f1c2ab9e8d7c0012a3c9d0"}}))
	var dan int64
	waitFor(t, "dan identified through Braze", func() bool {
		dan = leadID(t, s, ws, "dan@initech.example")
		return dan != 0 && leadActivities(t, s, ws, dan) == 1
	})
	if calls := fake.Calls(); len(calls) == 0 || calls[len(calls)-1].BrazeID != "65f1c2ab9e8d7c0012a3c9d0" {
		t.Fatalf("Braze was not asked about the id: %+v", calls)
	}

	// A tracked link: the rep's own click does not identify; the lead's does.
	link, err := svc.CreateLink(ctx, ws, carol, "https://www.acme.example/case-studies/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateLink(ctx, ws, carol, "https://evil.example/x", nil); err == nil {
		t.Fatal("a link to another site was created")
	}
	anon := s.browser(t)
	r := anon.get("/l/" + link.Token)
	if r.status != http.StatusFound || r.header.Get("Location") != "https://www.acme.example/case-studies/x?pgr_l="+link.Token {
		t.Fatalf("lead's click: %d %s", r.status, r.header.Get("Location"))
	}
	if r := ada.get("/l/" + link.Token); r.header.Get("Location") != "https://www.acme.example/case-studies/x" {
		t.Fatalf("the rep's click carries the identifying parameter: %s", r.header.Get("Location"))
	}
	if r := anon.get("/l/" + strconv.FormatInt(ws, 36) + "-AAAAAAAAAAAA"); r.status != http.StatusFound || r.header.Get("Location") != "https://www.acme.example/" {
		t.Fatalf("unknown token: %d %s, want the site's home", r.status, r.header.Get("Location"))
	}
	if r := anon.get("/l/zzzz-AAAAAAAAAAAA"); r.status != http.StatusNotFound {
		t.Fatalf("a token of no workspace: %d %s", r.status, r.header.Get("Location"))
	}
	if r := anon.get("/l/https:%2F%2Fevil.example"); r.status != http.StatusNotFound {
		t.Fatalf("a URL as token: %d %s", r.status, r.header.Get("Location"))
	}
	s.DB.Exec(`UPDATE tracked_links SET expires_at = now() - interval '1 minute' WHERE workspace_id = $1 AND id = $2`, ws, link.ID)
	if r := anon.get("/l/" + link.Token); r.header.Get("Location") != "https://www.acme.example/" {
		t.Fatalf("expired link goes to %s, want the site's home", r.header.Get("Location"))
	}
	s.DB.Exec(`UPDATE tracked_links SET expires_at = now() + interval '1 day' WHERE workspace_id = $1 AND id = $2`, ws, link.ID)
	const carolPhone = "browser-carol-phone-0001"
	send(hit(site, carolPhone, "identify", "https://www.acme.example/case-studies/x", map[string]any{"id": map[string]any{"link": link.Token}}))
	waitFor(t, "the tracked link click on carol's timeline", func() bool {
		return pgtest.Count(t, s.DB, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id = $2
			AND name = '[Sales email] Clicked a tracked link to /case-studies/x'`, ws, carol) == 1
	})

	// Dan's browser is then identified as Erin: new activity is Erin's, Dan keeps his.
	send(hit(site, danBrowser, "form", "https://www.acme.example/newsletter", form("erin@initech.example", "newsletter", "Subscribe")))
	var erin int64
	waitFor(t, "erin identified on dan's browser", func() bool {
		erin = leadID(t, s, ws, "erin@initech.example")
		return erin != 0 && leadActivities(t, s, ws, erin) == 1
	})
	if n := leadActivities(t, s, ws, dan); n != 1 {
		t.Fatalf("dan has %d activities after erin's identification, want his 1", n)
	}
	erinLinks, _ := s.Store.IdentityLinksOfLead(ctx, ws, erin)
	if len(erinLinks) != 1 || erinLinks[0].ReplacedEmail != "dan@initech.example" {
		t.Fatalf("the conflict is not recorded: %+v", erinLinks)
	}

	// Undo carol's form identification: her web visits go back to the browser, she re-scores.
	before := mainScore(s, ws, carol)
	if back, err := svc.Unmerge(ctx, ws, links[0].ID, nil); err != nil || back != 0 {
		t.Fatalf("unmerge: %v, back to %d", err, back)
	}
	if n := leadActivities(t, s, ws, carol); n != 1 { // the tracked link click, from her phone
		t.Fatalf("carol keeps %d activities after the unmerge, want 1", n)
	}
	if after := mainScore(s, ws, carol); after >= before {
		t.Fatalf("carol's score did not fall: %v → %v", before, after)
	}
	if _, err := svc.Unmerge(ctx, ws, links[0].ID, nil); err != website.ErrLinkUndone {
		t.Fatalf("undoing twice: %v", err)
	}
	// The same browser submitting carol's email again is not merged automatically.
	send(hit(site, carolBrowser, "form", "https://www.acme.example/contact", form("carol@globex-corp.example", "contact", "Send")))
	waitFor(t, "the new form stored", func() bool {
		return pgtest.Count(t, s.DB, `SELECT count(*) FROM activities WHERE workspace_id = $1 AND lead_id IS NULL`, ws) == 4
	})
	if n := leadActivities(t, s, ws, carol); n != 1 {
		t.Fatalf("an undone link was made again: carol has %d activities", n)
	}

	// Undo erin: the browser's activity since goes back to dan, both re-score.
	if back, err := svc.Unmerge(ctx, ws, erinLinks[0].ID, nil); err != nil || back != dan {
		t.Fatalf("unmerge erin: %v, back to %d (dan is %d)", err, back, dan)
	}
	if leadActivities(t, s, ws, dan) != 2 || leadActivities(t, s, ws, erin) != 0 {
		t.Fatalf("after undoing erin: dan %d, erin %d activities", leadActivities(t, s, ws, dan), leadActivities(t, s, ws, erin))
	}
	// The leads' activity summaries follow the activities that moved.
	for _, id := range []int64{carol, dan, erin} {
		var counted int
		var first, last *time.Time
		for _, table := range []string{"leads l WHERE l.workspace_id = $1 AND l.id = $2", "lead_activity l WHERE l.workspace_id = $1 AND l.lead_id = $2"} {
			s.DB.QueryRow(`SELECT activity_count, first_activity_at, last_activity_at FROM `+table, ws, id).Scan(&counted, &first, &last)
			if want := leadActivities(t, s, ws, id); counted != want || (want == 0) != (first == nil) || (want == 0) != (last == nil) {
				t.Fatalf("lead %d (%s): activity_count %d (first %v, last %v), has %d activities", id, table, counted, first, last, want)
			}
		}
	}

	// A workspace member filling a form on the site never becomes a lead.
	const adaBrowser = "browser-ada-000000000001"
	send(hit(site, adaBrowser, "page", "https://www.acme.example/pricing", nil))
	send(hit(site, adaBrowser, "form", "https://www.acme.example/contact", form("ada@acme.example", "contact", "Send")))
	waitFor(t, "ada's browser marked internal", func() bool {
		return pgtest.Count(t, s.DB, `SELECT count(*) FROM visitors WHERE workspace_id = $1 AND key = $2 AND internal`, ws, adaBrowser) == 1
	})
	if leadID(t, s, ws, "ada@acme.example") != 0 {
		t.Fatal("a workspace member became a lead")
	}
}

// TestLateIdentificationTakesTheHitsSentAfterIt sends one browser's hits out of order, as
// beacons in flight can arrive: a page viewed after "I am Erin" reaches the server before
// Erin's identify call, a form that identified Frank earlier still is resent after both, and
// pages sent before Erin's identification arrive last. Each person ends with the hits the
// browser sent while it was theirs, scored again.
func TestLateIdentificationTakesTheHitsSentAfterIt(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	acme, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")
	ws := acme.ID
	site := newSite(t, s, ws, website.SiteInput{})
	const browserKey = "browser-shared-000000001"
	base := time.Now().Add(-5 * time.Minute)
	send := func(kind, url string, after time.Duration, extra map[string]any) {
		t.Helper()
		if extra == nil {
			extra = map[string]any{}
		}
		extra["ts"] = base.Add(after).UnixMilli()
		if r := collect(t, s, hit(site, browserKey, kind, url, extra), nil); r.status != http.StatusNoContent {
			t.Fatalf("hit refused: %d %s", r.status, r.body)
		}
	}
	settled := func() bool {
		return pgtest.Count(t, s.DB, `SELECT count(*) FROM inbound_queue WHERE workspace_id = $1`, ws) == 0 &&
			pgtest.Count(t, s.DB, `SELECT count(*) FROM scoring_queue WHERE workspace_id = $1`, ws) == 0 &&
			pgtest.Count(t, s.DB, `SELECT count(*) FROM lead_scoring_state WHERE workspace_id = $1 AND refresh_at <= now()`, ws) == 0
	}
	names := func(lead int64) string {
		var out []string
		rows, _ := s.DB.Query(`SELECT name FROM activities WHERE workspace_id = $1 AND lead_id = $2 ORDER BY occurred_at`, ws, lead)
		defer rows.Close()
		for rows.Next() {
			var n string
			rows.Scan(&n)
			out = append(out, n)
		}
		return strings.Join(out, " | ")
	}

	send("form", "https://www.acme.example/contact", 0, form("dan@initech.example", "demo-request", "Book a demo"))
	var dan int64
	waitFor(t, "dan identified and scored", func() bool {
		dan = leadID(t, s, ws, "dan@initech.example")
		return dan != 0 && leadActivities(t, s, ws, dan) == 1 && settled() && mainScore(s, ws, dan) > 0
	})
	danAlone := mainScore(s, ws, dan)
	// Sent at 25 s and 40 s; they arrive before the identify call sent at 30 s.
	send("page", "https://www.acme.example/features", 25*time.Second, map[string]any{"ti": "Features"})
	send("page", "https://www.acme.example/pricing", 40*time.Second, map[string]any{"ti": "Pricing"})
	waitFor(t, "both pages stored as dan's and scored", func() bool { return leadActivities(t, s, ws, dan) == 3 && settled() })
	danWithPricing := mainScore(s, ws, dan)
	if danWithPricing <= danAlone {
		t.Fatalf("the pricing page gave dan nothing (%v → %v): the test would prove nothing", danAlone, danWithPricing)
	}

	send("identify", "https://www.acme.example/me", 30*time.Second, map[string]any{"id": map[string]any{"email": "erin@initech.example"}})
	var erin int64
	waitFor(t, "erin given the page sent after her identification", func() bool {
		erin = leadID(t, s, ws, "erin@initech.example")
		return erin != 0 && leadActivities(t, s, ws, erin) == 1 && settled()
	})
	if got, want := names(erin), "[Website] Visited Pricing (/pricing)"; got != want {
		t.Fatalf("erin's activities: %q, want %q", got, want)
	}
	if got, want := names(dan), "[Website] Submitted the demo request form on /contact | [Website] Visited Features (/features)"; got != want {
		t.Fatalf("dan's activities: %q, want %q", got, want)
	}
	if sc := mainScore(s, ws, dan); sc >= danWithPricing {
		t.Fatalf("dan was not scored again without the pricing page: %v (was %v)", sc, danWithPricing)
	}
	if mainScore(s, ws, erin) <= 0 {
		t.Fatal("erin's pricing page was not scored")
	}

	// A form that identified Frank at 20 s, resent after all that: Frank gets it and the page
	// sent before Erin's identification; the browser stays Erin's, and her next page is hers.
	send("form", "https://www.acme.example/newsletter", 20*time.Second, form("frank@initech.example", "newsletter", "Subscribe"))
	send("page", "https://www.acme.example/docs", 50*time.Second, map[string]any{"ti": "Docs"})
	var frank int64
	waitFor(t, "frank's late form and the page sent after it", func() bool {
		frank = leadID(t, s, ws, "frank@initech.example")
		return frank != 0 && leadActivities(t, s, ws, frank) == 2 && leadActivities(t, s, ws, erin) == 2 && settled()
	})
	if got, want := names(frank), "[Website] Submitted the newsletter form on /newsletter | [Website] Visited Features (/features)"; got != want {
		t.Fatalf("frank's activities: %q, want %q", got, want)
	}
	if got, want := names(erin), "[Website] Visited Pricing (/pricing) | [Website] Visited Docs (/docs)"; got != want {
		t.Fatalf("erin's activities: %q, want %q", got, want)
	}
	if got := names(dan); got != "[Website] Submitted the demo request form on /contact" {
		t.Fatalf("dan's activities: %q", got)
	}
	if sc := mainScore(s, ws, dan); sc != danAlone {
		t.Fatalf("dan's score %v, want %v as before the pages (scored again from what he holds)", sc, danAlone)
	}
	if owner := pgtest.Count(t, s.DB, `SELECT lead_id FROM visitors WHERE workspace_id = $1 AND key = $2`, ws, browserKey); int64(owner) != erin {
		t.Fatalf("the browser belongs to lead %d, want erin (%d): her identification is the newest", owner, erin)
	}
	// The lead pages tell the late identification from a browser changing hands.
	if page := ada.get(fmt.Sprintf("/leads/%d", frank)); !strings.Contains(page.body, "This hit arrived late: the browser was identified as erin@initech.example afterwards") {
		t.Fatalf("frank's page does not explain the late identification:\n%s", page.body)
	}
	if page := ada.get(fmt.Sprintf("/leads/%d", erin)); !strings.Contains(page.body, "by a hit that arrived late") ||
		!strings.Contains(page.body, "This browser was dan@initech.example&#39;s before") {
		t.Fatalf("erin's page does not show both identifications:\n%s", page.body)
	}
	// Pages sent before Erin's identification that arrive last are the person's the browser
	// was then: at 27 s Frank's (identified at 20 s), at 10 s Dan's.
	send("page", "https://www.acme.example/blog", 27*time.Second, map[string]any{"ti": "Blog"})
	send("page", "https://www.acme.example/about", 10*time.Second, map[string]any{"ti": "About"})
	waitFor(t, "the two late pages stored", func() bool {
		return leadActivities(t, s, ws, frank)+leadActivities(t, s, ws, dan)+leadActivities(t, s, ws, erin) == 7 && settled()
	})
	if got, want := names(frank), "[Website] Submitted the newsletter form on /newsletter | [Website] Visited Features (/features) | [Website] Visited Blog (/blog)"; got != want {
		t.Fatalf("frank's activities: %q, want %q", got, want)
	}
	if got, want := names(dan), "[Website] Submitted the demo request form on /contact | [Website] Visited About (/about)"; got != want {
		t.Fatalf("dan's activities: %q, want %q", got, want)
	}
	for _, id := range []int64{dan, erin, frank} {
		var counted int
		s.DB.QueryRow(`SELECT activity_count FROM leads WHERE workspace_id = $1 AND id = $2`, ws, id).Scan(&counted)
		if want := leadActivities(t, s, ws, id); counted != want {
			t.Fatalf("lead %d counts %d activities, has %d", id, counted, want)
		}
	}
}

func TestTrackerScriptSize(t *testing.T) {
	s := newServer(t, nil)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/t.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/javascript") {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	if len(gz) > 4096 {
		t.Fatalf("the tracker is %d bytes gzipped, over 4 KB", len(gz))
	}
	if !strings.Contains(res.Header.Get("Cache-Control"), "max-age=3600") {
		t.Fatalf("/t.js cache: %q", res.Header.Get("Cache-Control"))
	}
	etag := res.Header.Get("ETag")
	req.Header.Set("If-None-Match", etag)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d", res.StatusCode)
	}
	versioned := s.browser(t).get("/t/" + strings.Trim(etag, `"`) + ".js")
	if versioned.status != 200 || !strings.Contains(versioned.header.Get("Cache-Control"), "immutable") || !strings.Contains(versioned.body, "sendBeacon") {
		t.Fatalf("versioned script: %d %v", versioned.status, versioned.header)
	}
	if r := s.browser(t).get("/t/0123456789ab.js"); r.status != http.StatusNotFound {
		t.Fatalf("an old version: %d", r.status)
	}
	t.Logf("tracker: %d bytes gzipped", len(gz))
}

// TestWebsitePages: a marketer adds a site (errors kept with the input), changes its settings,
// sees the snippet; a rep creates a tracked link on a lead page; the sales role cannot see the
// website settings.
func TestWebsitePages(t *testing.T) {
	s, ada, acme, _, _ := acmeAndGlobex(t)
	r := ada.get("/integrations/website")
	assertStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "Add your website") {
		t.Fatal("no empty state")
	}
	r = ada.post("/integrations/website/sites", url.Values{"name": {"Acme"}, "origins": {"www.acme.example/pricing"}, "retention_days": {"90"}, "link_days": {"30"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "is not an origin") || !strings.Contains(r.body, "www.acme.example/pricing") {
		t.Fatal("a bad origin not explained, or the input lost")
	}
	r = ada.post("/integrations/website/sites", url.Values{"name": {"Acme"}, "origins": {"https://www.acme.example"}, "retention_days": {"ninety"}, "link_days": {"30"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Enter a number of days") {
		t.Fatal("a bad number not explained")
	}
	r = ada.post("/integrations/website/sites", url.Values{"name": {"Acme <b>web</b>"}, "origins": {"https://www.acme.example\nhttps://app.acme.example"},
		"honour_dnt": {"on"}, "retention_days": {"60"}, "link_days": {"14"}})
	assertStatus(t, r, http.StatusSeeOther)
	sites, _ := s.Store.ListSites(context.Background(), acme.ID)
	if len(sites) != 1 || len(sites[0].Origins) != 2 || sites[0].RetentionDays != 60 || !sites[0].HonourDNT || sites[0].RequireConsent {
		t.Fatalf("site stored as %+v", sites)
	}
	r = ada.get("/integrations/website")
	if !strings.Contains(r.body, `data-site=&#34;`+sites[0].Key) || strings.Contains(r.body, "<b>web</b>") || !strings.Contains(r.body, "No hit yet") {
		t.Fatal("snippet missing, name not escaped, or installation status missing")
	}
	id := itoa(sites[0].ID)
	assertStatus(t, ada.post("/integrations/website/sites/"+id, url.Values{"name": {"Acme"}, "origins": {"https://www.acme.example"},
		"require_consent": {"on"}, "excluded_ips": {"office"}, "retention_days": {"60"}, "link_days": {"14"}}), http.StatusUnprocessableEntity)
	assertStatus(t, ada.post("/integrations/website/sites/"+id, url.Values{"name": {"Acme"}, "origins": {"https://www.acme.example"},
		"require_consent": {"on"}, "excluded_ips": {"203.0.113.0/24"}, "retention_days": {"60"}, "link_days": {"14"}}), http.StatusSeeOther)
	site, _ := s.Store.SiteByID(context.Background(), acme.ID, sites[0].ID)
	if !site.RequireConsent || site.HonourDNT || len(site.ExcludedIPs) != 1 || len(site.Origins) != 1 {
		t.Fatalf("settings saved as %+v", site)
	}

	// A tracked link from the lead page.
	lead, err := s.Store.CreateLead(context.Background(), model.Lead{WorkspaceID: acme.ID, Email: "carol@globex-corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	r = ada.post("/leads/"+itoa(lead.ID)+"/links", url.Values{"target": {"https://evil.example/"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "not on one of your tracked sites") {
		t.Fatal("a link off the site not refused with a reason")
	}
	r = ada.post("/leads/"+itoa(lead.ID)+"/links", url.Values{"target": {"https://www.acme.example/case-studies/x"}})
	assertStatus(t, r, http.StatusSeeOther)
	r = ada.get(r.header.Get("Location"))
	if !regexp.MustCompile(`id="new-link" type="text" readonly value="` + regexp.QuoteMeta(s.URL) + `/l/[a-z0-9]+-[A-Za-z0-9_-]{12}"`).MatchString(r.body) {
		t.Fatal("the new link is not shown")
	}

	// A salesperson cannot manage sites (and cannot undo identifications).
	link := invite(t, ada, "sam@acme.example", "sales")
	sam := s.browser(t)
	assertStatus(t, sam.post(link.Path, url.Values{"name": {"Sam"}, "password": {password}}), http.StatusSeeOther)
	assertStatus(t, sam.get("/integrations/website"), http.StatusForbidden)
	assertStatus(t, sam.post("/leads/"+itoa(lead.ID)+"/known-by/1/undo", nil), http.StatusForbidden)
	assertStatus(t, ada.post("/integrations/website/sites/"+id+"/delete", nil), http.StatusSeeOther)
	if sites, _ := s.Store.ListSites(context.Background(), acme.ID); len(sites) != 0 {
		t.Fatal("site not deleted")
	}
}

// TestWebIdentifyByExternalIDAndTrack: a br_user_id link is resolved by external id; when a
// link carries both ids, braze_id wins; a custom event from peregrine('track') joins the
// person once known; and no collect request is written to the request log.
func TestWebIdentifyByExternalIDAndTrack(t *testing.T) {
	logs := &webtest.Buffer{}
	s := testServer{webtest.StartWith(t, webtest.Options{Env: map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", "PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"}, Log: logs})}
	fake := brazetest.New(t, "abcd-1234-secret-key-9f3a")
	fake.AddUser(brazetest.User{BrazeID: "65f1c2ab9e8d7c0012a3c001", ExternalID: "crm-000482", Email: "gus@initech.example"})
	fake.AddUser(brazetest.User{BrazeID: "65f1c2ab9e8d7c0012a3c002", ExternalID: "crm-000517", Email: "hal@initech.example"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	assertStatus(t, ada.post("/integrations/braze", url.Values{"api_key": {"abcd-1234-secret-key-9f3a"}, "instance": {"other"}, "other_url": {fake.URL}}), http.StatusSeeOther)
	acme, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")
	ws := acme.ID
	site := newSite(t, s, ws, website.SiteInput{})
	send := func(body []byte) {
		t.Helper()
		if r := collect(t, s, body, nil); r.status != http.StatusNoContent {
			t.Fatalf("hit refused: %d %s", r.status, r.body)
		}
	}
	send(hit(site, "browser-gus-000000000001", "identify", "https://www.acme.example/offer", map[string]any{"id": map[string]any{"br_user_id": "crm-000482"}}))
	send(hit(site, "browser-hal-000000000001", "identify", "https://www.acme.example/offer",
		map[string]any{"id": map[string]any{"braze_id": "65f1c2ab9e8d7c0012a3c002", "br_user_id": "crm-000482"}}))
	send(hit(site, "browser-hal-000000000001", "page", "https://www.acme.example/offer", map[string]any{"ti": "Offer"}))
	send(hit(site, "browser-ivy-000000000001", "track", "https://www.acme.example/video", map[string]any{"n": "Watched demo video", "p": map[string]any{"seconds": 90}}))
	send(hit(site, "browser-ivy-000000000001", "identify", "https://www.acme.example/video", map[string]any{"id": map[string]any{"email": "ivy@umbrella.example"}}))
	waitFor(t, "all three identified", func() bool {
		return pgtest.Count(t, s.DB, `SELECT count(*) FROM visitors v JOIN leads l ON l.workspace_id = v.workspace_id AND l.id = v.lead_id
			WHERE v.workspace_id = $1 AND (v.key, l.email) IN (('browser-gus-000000000001', 'gus@initech.example'),
				('browser-hal-000000000001', 'hal@initech.example'), ('browser-ivy-000000000001', 'ivy@umbrella.example'))`, ws) == 3
	})
	var props string
	s.DB.QueryRow(`SELECT a.properties::text FROM activities a JOIN leads l ON l.workspace_id = a.workspace_id AND l.id = a.lead_id
		WHERE a.workspace_id = $1 AND l.email = 'ivy@umbrella.example' AND a.name = '[Website] Watched demo video'`, ws).Scan(&props)
	if !strings.Contains(props, `"custom_properties": {"seconds": 90}`) {
		t.Fatalf("the tracked event on ivy's timeline: %q", props)
	}
	links, _ := s.Store.IdentityLinksOfLead(context.Background(), ws, leadID(t, s, ws, "gus@initech.example"))
	if len(links) != 1 || links[0].Reason != model.LinkBrazeLink {
		t.Fatalf("gus's link: %+v", links)
	}
	out := logs.String()
	if strings.Contains(out, "/t/collect") || strings.Contains(out, "browser-") || strings.Contains(out, "www.acme.example/offer") {
		t.Fatalf("the request log mentions visitors' hits:\n%s", out)
	}
	if !strings.Contains(out, "/integrations/braze") {
		t.Fatal("the log is empty: this check proves nothing")
	}
}
