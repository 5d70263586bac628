package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// personOpens builds a Currents batch of email opens of one campaign by one person, an hour
// apart from `at` on.
func personOpens(t *testing.T, person, campaign string, first, n int, at time.Time) []byte {
	t.Helper()
	var batch struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(currentstest.Read("users.messages.email.Open.json"), &batch); err != nil {
		t.Fatal(err)
	}
	open := batch.Events[0]
	batch.Events = nil
	for i := first; i < first+n; i++ {
		e := maps.Clone(open)
		props := maps.Clone(open["properties"].(map[string]any))
		user := maps.Clone(open["user"].(map[string]any))
		props["email_address"], props["campaign_name"], props["campaign_id"] = person+"@fjordsoft.example.com", campaign, "cmp-"+campaign
		user["external_user_id"], user["user_id"] = "ext-"+person, "id-"+person
		e["properties"], e["user"] = props, user
		e["id"] = fmt.Sprintf("7c1a87cc-ce30-4d8f-9a4e-%012d", i)
		e["time"] = float64(at.Add(time.Duration(i-first) * time.Hour).Unix())
		batch.Events = append(batch.Events, e)
	}
	body, _ := json.Marshal(batch)
	return body
}

// TestAttributionReport: a milestone created after the fact finds its crossing in history;
// a later crossing is recorded live; the report credits the campaigns with every model,
// compares periods, drills down to the leads, exports CSV, explains bad filters, and stays
// inside the workspace.
func TestAttributionReport(t *testing.T) {
	s, ada, acme, globex, _ := acmeAndGlobex(t)
	ctx := context.Background()
	if page := ada.get("/reports"); page.status != http.StatusOK || !strings.Contains(page.body, "Define your first milestone") {
		t.Fatalf("no empty state: %d\n%.1500s", page.status, page.body)
	}
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	now := time.Now().UTC().Truncate(time.Second)
	// Nora opens "Autumn" twice, then "Spring" three times: a point each (decaying a little),
	// over the line (2.5) at the first Spring open.
	postCurrents(t, s.URL, token, personOpens(t, "nora", "Autumn", 0, 2, now.Add(-96*time.Hour)), nil)
	postCurrents(t, s.URL, token, personOpens(t, "nora", "Spring", 10, 3, now.Add(-48*time.Hour)), nil)
	waitFor(t, "scoring", func() bool {
		return countRows(t, s, `SELECT count(*) FROM activities`) == 5 && countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0
	})
	var mainScore int64
	s.DB.QueryRow(`SELECT id FROM score_names WHERE workspace_id = $1 AND is_main`, acme.ID).Scan(&mainScore)

	// Bad input is explained and nothing is created.
	r := ada.post("/reports/milestones", url.Values{"name": {""}, "kind": {"score"}, "score": {itoa(mainScore)}, "threshold": {"3"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Give the milestone a name") {
		t.Fatalf("missing name not explained:\n%.3000s", r.body)
	}
	r = ada.post("/reports/milestones", url.Values{"name": {"MQL"}, "kind": {"score"}, "score": {itoa(mainScore)}, "threshold": {"lots"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "The threshold must be a number") || !strings.Contains(r.body, `value="MQL"`) {
		t.Fatal("a bad threshold is not explained, or the form lost its input")
	}
	r = ada.post("/reports/milestones", url.Values{"name": {"SQL"}, "kind": {"status"}, "status": {" "}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Name the Salesforce lead status") {
		t.Fatal("a missing status is not explained")
	}
	if n := countRows(t, s, `SELECT count(*) FROM milestones`); n != 0 {
		t.Fatalf("%d milestones from bad forms", n)
	}

	r = ada.post("/reports/milestones", url.Values{"name": {"MQL"}, "kind": {"score"}, "score": {itoa(mainScore)}, "threshold": {"2.5"}})
	assertStatus(t, r, http.StatusSeeOther)
	var mql int64
	s.DB.QueryRow(`SELECT id FROM milestones WHERE workspace_id = $1`, acme.ID).Scan(&mql)
	if loc := r.header.Get("Location"); loc != "/reports?milestone="+itoa(mql) {
		t.Fatalf("redirect to %q", loc)
	}
	waitFor(t, "the back-fill", func() bool {
		return countRows(t, s, `SELECT count(*) FROM milestones WHERE backfilled_at IS NOT NULL`) == 1
	})
	var crossed time.Time
	if err := s.DB.QueryRow(`SELECT crossed_at FROM milestone_crossings WHERE milestone_id = $1`, mql).Scan(&crossed); err != nil {
		t.Fatal("history has no crossing: ", err)
	}
	if want := now.Add(-48 * time.Hour); !crossed.Equal(want) {
		t.Fatalf("crossed at %v, want the first Spring open at %v", crossed, want)
	}

	// Live: Omar crosses with three Spring opens, at the third.
	postCurrents(t, s.URL, token, personOpens(t, "omar", "Spring", 20, 3, now.Add(-3*time.Hour)), nil)
	waitFor(t, "Omar's crossing", func() bool { return countRows(t, s, `SELECT count(*) FROM milestone_crossings`) == 2 })

	q := url.Values{"milestone": {itoa(mql)}, "by": {"campaign"}, "model": {"linear"},
		"from": {now.AddDate(0, 0, -6).Format(time.DateOnly)}, "to": {now.Format(time.DateOnly)}}
	page := ada.get("/reports?" + q.Encode())
	assertStatus(t, page, http.StatusOK)
	for _, want := range []string{"Campaign: Spring", "Campaign: Autumn", "Accounts influenced", "Crossings per day", "attribution-data", "/static/vendor/chartjs/chart.umd.min.js"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("report lacks %q:\n%.4000s", want, page.body)
		}
	}

	// CSV: Nora's crossing has three touches (Autumn twice, then the Spring open that carried
	// her over): linear gives Autumn 2/3 and Spring 1/3; Omar's is all Spring.
	csvResp := ada.get("/reports.csv?" + q.Encode())
	assertStatus(t, csvResp, http.StatusOK)
	if ct := csvResp.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(csvResp.body)).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("csv %v:\n%s", err, csvResp.body)
	}
	head := strings.Join(recs[0], ",")
	if head != "campaign,leads,accounts,crossings touched,touches,first credit,last credit,linear credit,u credit,w credit,decay credit,median days first touch to crossing" {
		t.Fatalf("csv header %s", head)
	}
	byValue := map[string][]string{}
	for _, rec := range recs[1:] {
		byValue[rec[0]] = rec
	}
	spring, autumn := byValue["Campaign: Spring"], byValue["Campaign: Autumn"]
	// Spring: linear 1/3 + 1; first touch: Omar's only; last touch: both.
	if spring == nil || spring[1] != "2" || spring[7] != "1.3" || spring[5] != "1.0" || spring[6] != "2.0" {
		t.Fatalf("Spring row %v", spring)
	}
	if autumn == nil || autumn[1] != "1" || autumn[7] != "0.7" || autumn[5] != "1.0" || autumn[6] != "0.0" || autumn[11] != "2.0" {
		t.Fatalf("Autumn row %v", autumn)
	}

	// Another model ranks differently; the drill-down lists the credited leads.
	q.Set("model", "first")
	if page := ada.get("/reports?" + q.Encode()); !strings.Contains(page.body, "First touch (100% to the first)") {
		t.Fatal("the model switch is not shown")
	}
	q.Set("value", "Campaign: Autumn")
	drill := ada.get("/reports/leads?" + q.Encode())
	assertStatus(t, drill, http.StatusOK)
	if !strings.Contains(drill.body, "nora@fjordsoft.example.com") || strings.Contains(drill.body, "omar@fjordsoft.example.com") || !strings.Contains(drill.body, "100%") {
		t.Fatalf("drill-down:\n%.3000s", drill.body)
	}
	q.Del("value")

	// Comparing with the week before: everything is new.
	q.Set("compare", "previous")
	cmp := ada.get("/reports?" + q.Encode())
	if !strings.Contains(cmp.body, "vs 0 before") || !strings.Contains(cmp.body, "<th scope=\"col\" class=\"num\">Before</th>") {
		t.Fatalf("comparison not shown:\n%.3000s", cmp.body)
	}

	// Bad filters are explained (and the page still answers).
	bad := ada.get("/reports?milestone=" + itoa(mql) + "&from=yesterday&model=magic&by=weather")
	assertStatus(t, bad, http.StatusBadRequest)
	for _, want := range []string{"Dates are written like", "Unknown model", "grouped by campaign, channel, source or page"} {
		if !strings.Contains(bad.body, want) {
			t.Fatalf("bad filter not explained: %q", want)
		}
	}

	// Settings: validated; a change queues the recomputation.
	assertStatus(t, ada.post("/reports/settings", url.Values{"lookback_days": {"0"}, "half_life_days": {"7"}}), http.StatusUnprocessableEntity)
	assertStatus(t, ada.post("/reports/settings", url.Values{"lookback_days": {"1"}, "half_life_days": {"7"}}), http.StatusSeeOther)
	// With one day of lookback, Nora's Autumn opens (two days before her crossing) lose their
	// credit.
	waitFor(t, "the rebuild", func() bool {
		return countRows(t, s, `SELECT count(*) FROM attribution_credits WHERE value = 'Campaign: Autumn'`) == 0
	})

	// Another workspace's milestone is out of reach.
	theirs, err := s.Store.CreateMilestone(ctx, globex.ID, attribution.Milestone{Name: "Globex MQL", Kind: attribution.KindLabel, Value: "Hot"})
	if err != nil {
		t.Fatal(err)
	}
	if page := ada.get("/reports?milestone=" + itoa(theirs)); page.status != http.StatusBadRequest ||
		!strings.Contains(page.body, "That milestone does not exist") || strings.Contains(page.body, "Globex MQL") {
		t.Fatalf("another workspace's milestone: %d", page.status)
	}
	assertStatus(t, ada.get("/reports/leads?milestone="+itoa(theirs)+"&value=x"), http.StatusBadRequest)
	assertStatus(t, ada.post("/reports/milestones/"+itoa(theirs)+"/delete", nil), http.StatusNotFound)
	if n := countRows(t, s, `SELECT count(*) FROM milestones WHERE workspace_id = $1`, globex.ID); n != 1 {
		t.Fatal("Acme deleted Globex's milestone")
	}
	// Deleting one's own milestone takes its crossings along.
	assertStatus(t, ada.post("/reports/milestones/"+itoa(mql)+"/delete", nil), http.StatusSeeOther)
	if n := countRows(t, s, `SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1`, acme.ID); n != 0 {
		t.Fatalf("%d crossings left", n)
	}
}

// TestDashboard: the home page after sign-in shows where leads stand, new hot leads, movers,
// accounts heating up and, for admins, the pipeline's health; a sales user with leads of
// their own sees only theirs, without the pipeline; reports are for marketing.
func TestDashboard(t *testing.T) {
	s, ada, acme, globex, _ := acmeAndGlobex(t)
	ctx := context.Background()
	home := ada.get("/")
	assertStatus(t, home, http.StatusOK)
	if !strings.Contains(home.body, "No leads yet") || !strings.Contains(home.body, "Connect Braze") || !strings.Contains(home.body, "Pipeline health") {
		t.Fatalf("empty dashboard:\n%.3000s", home.body)
	}
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	now := time.Now().UTC().Truncate(time.Second)
	postCurrents(t, s.URL, token, personOpens(t, "nora", "Spring", 0, 4, now.Add(-5*time.Hour)), nil)
	postCurrents(t, s.URL, token, personOpens(t, "omar", "Spring", 10, 1, now.Add(-2*time.Hour)), nil)
	waitFor(t, "scoring", func() bool {
		return countRows(t, s, `SELECT count(*) FROM activities`) == 5 && countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0
	})
	pgtest.Exec(t, s.DB, `UPDATE leads SET temperature = 'hot', hot_since = now(), owner_email = 'Sam@acme.example', first_name = 'Nora'
		WHERE email LIKE 'nora@%'`)
	pgtest.Exec(t, s.DB, `INSERT INTO leads (workspace_id, email, first_name, temperature, hot_since) VALUES ($1, 'secret@globex.example', 'Globex', 'hot', now())`, globex.ID)

	waitFor(t, "the status counters", func() bool {
		return countRows(t, s, `SELECT count(*) FROM ingest_status WHERE last_batch_at IS NOT NULL`) == 1
	})
	home = ada.get("/")
	for _, want := range []string{"All leads", "By temperature", "By fit grade", "Lead score distribution", "New hot leads this week",
		"Biggest movers", "Accounts heating up", "fjordsoft.example.com", "Pipeline health", "Braze Currents", "The last batch arrived",
		"Caught up", "light-ok", "light-off"} {
		if !strings.Contains(home.body, want) {
			t.Fatalf("dashboard lacks %q:\n%.6000s", want, home.body)
		}
	}
	if strings.Contains(home.body, "secret@globex.example") || strings.Contains(home.body, ">Globex<") {
		t.Fatal("another workspace's lead is on the dashboard")
	}
	if !strings.Contains(home.body, `aria-label="Leads by temperature: Hot 2, Warm 0,`) {
		t.Fatal("the temperature chart has no text alternative")
	}

	link := invite(t, ada, "sam@acme.example", "sales")
	sam := s.browser(t)
	assertStatus(t, sam.post(link.Path, url.Values{"name": {"Sam Sales"}, "password": {password}}), http.StatusSeeOther)
	mine := sam.get("/")
	assertStatus(t, mine, http.StatusOK)
	if !strings.Contains(mine.body, "Your leads") || !strings.Contains(mine.body, "Nora") || strings.Contains(mine.body, "omar@") ||
		strings.Contains(mine.body, "Pipeline health") {
		t.Fatalf("sales dashboard:\n%.5000s", mine.body)
	}
	assertStatus(t, sam.get("/reports"), http.StatusForbidden)
}

// TestScheduledReportEmail: a marketer schedules the report shown; when its Monday comes the
// sweep mails it once, for the week just ended, and moves it to the next Monday; stopping it
// removes it.
func TestScheduledReportEmail(t *testing.T) {
	s, smtp := mailServer(t)
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	ctx := context.Background()
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, token, personOpens(t, "nora", "Spring", 0, 3, time.Now().Add(-50*time.Hour)), nil)
	waitFor(t, "scoring", func() bool {
		return countRows(t, s, `SELECT count(*) FROM activities`) == 3 && countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0
	})
	var mainScore int64
	s.DB.QueryRow(`SELECT id FROM score_names WHERE workspace_id = $1 AND is_main`, acme.ID).Scan(&mainScore)
	assertStatus(t, ada.post("/reports/milestones", url.Values{"name": {"MQL"}, "kind": {"score"}, "score": {itoa(mainScore)}, "threshold": {"2.5"}}), http.StatusSeeOther)
	waitFor(t, "the back-fill", func() bool { return countRows(t, s, `SELECT count(*) FROM milestone_crossings`) == 1 })
	var mql int64
	s.DB.QueryRow(`SELECT id FROM milestones`).Scan(&mql)

	if page := ada.get("/reports?milestone=" + itoa(mql)); !strings.Contains(page.body, "Email me this report") {
		t.Fatal("the report offers no schedule")
	}
	assertStatus(t, ada.post("/reports/subscriptions", url.Values{"milestone": {itoa(mql)}, "by": {"channel"}, "model": {"u"}, "frequency": {"daily"}}), http.StatusBadRequest)
	r := ada.post("/reports/subscriptions", url.Values{"milestone": {itoa(mql)}, "by": {"channel"}, "model": {"u"}, "frequency": {"weekly"}})
	assertStatus(t, r, http.StatusSeeOther)
	ada.post("/reports/subscriptions", url.Values{"milestone": {itoa(mql)}, "by": {"channel"}, "model": {"u"}, "frequency": {"weekly"}})
	if n := countRows(t, s, `SELECT count(*) FROM report_subscriptions WHERE extract(isodow FROM next_at) = 1`); n != 1 {
		t.Fatalf("%d Monday subscriptions", n)
	}
	if page := ada.get("/reports/milestones"); !strings.Contains(page.body, "MQL by channel, U-shaped, weekly") {
		t.Fatal("the schedule is not listed")
	}

	// Monday has come.
	pgtest.Exec(t, s.DB, `UPDATE report_subscriptions SET next_at = now() - interval '1 minute'`)
	pgtest.Exec(t, s.DB, `UPDATE jobs SET run_after = now() WHERE kind = 'sweep-reports'`)
	s.Pipeline.JobQueued()
	m := mailsTo(t, smtp, "ada@acme.example", 1)
	mail := m[len(m)-1]
	if !strings.Contains(mail.Text, "MQL report for Acme") || !strings.Contains(mail.Text, "Channel, credit by U-shaped") ||
		!strings.Contains(mail.Text, "Email: 1.0") || !strings.Contains(mail.HTML, "/reports?") {
		t.Fatalf("report email:\n%s", mail.Text)
	}
	waitFor(t, "the next Monday", func() bool {
		return countRows(t, s, `SELECT count(*) FROM report_subscriptions WHERE next_at > now() AND last_sent_at IS NOT NULL`) == 1
	})
	// A sweep run again sends nothing more.
	pgtest.Exec(t, s.DB, `UPDATE jobs SET run_after = now() WHERE kind = 'sweep-reports'`)
	s.Pipeline.JobQueued()
	waitFor(t, "the sweep", func() bool {
		return countRows(t, s, `SELECT count(*) FROM jobs WHERE kind = 'sweep-reports' AND run_after > now()`) == 1
	})
	if n := countRows(t, s, `SELECT count(*) FROM deliveries WHERE kind = 'report'`); n != 1 {
		t.Fatalf("%d report emails", n)
	}
	var id int64
	s.DB.QueryRow(`SELECT id FROM report_subscriptions`).Scan(&id)
	assertStatus(t, ada.post("/reports/subscriptions/"+itoa(id)+"/delete", nil), http.StatusSeeOther)
	if n := countRows(t, s, `SELECT count(*) FROM report_subscriptions`); n != 0 {
		t.Fatal("the schedule was not stopped")
	}
}
