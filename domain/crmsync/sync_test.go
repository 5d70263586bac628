package crmsync_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/crmsync"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
	"github.com/peregrine-scoring/peregrine/domain/salesforce/salesforcetest"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const callback = "http://127.0.0.1:9/salesforce/oauth2/callback"

type env struct {
	t      testing.TB
	ctx    context.Context
	st     *store.Store
	db     *sql.DB
	ws     int64
	fake   *salesforcetest.Server
	p      *crmsync.Pusher
	runner *queue.Runner
	pushes *queue.Queue
	jobs   *queue.Queue
}

// newEnv makes a workspace connected by OAuth to a fake Salesforce whose Leads have
// Peregrine's custom fields, with a mapping of score, labels, link and names.
func newEnv(t testing.TB) *env {
	ctx := context.Background()
	st, db := pgtest.NewStoreAndDB(t)
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "acme", Name: "Acme"}, model.User{Email: "ada@acme.com", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := secrets.NewKey()
	box, _ := secrets.NewBox(key)
	fake := salesforcetest.New(t)
	fake.Lock(func(s *salesforcetest.Server) { s.RedirectURIs = []string{callback} })
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_Score__c", Type: "double", Custom: true})
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_Labels__c", Type: "string", Length: 255, Custom: true})
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_URL__c", Type: "url", Length: 255, Custom: true})
	svc := crmsync.NewService(st, box, outbound.Policy{AllowPrivate: true}) // the fake listens on loopback
	e := &env{t: t, ctx: ctx, st: st, db: db, ws: ws.ID, fake: fake,
		p: &crmsync.Pusher{Service: svc, BaseURL: func(context.Context, int64) string { return "https://peregrine.example" }}}
	// The queues web/workers.go runs for the sync: pushes, and the pull's sweep and jobs.
	e.runner = queue.NewRunner(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	e.pushes = e.runner.Add(&queue.Queue{Table: store.OutboxWork, Handle: e.p.Push, Batch: 200})
	jobs := &queue.Jobs{Store: st}
	jobs.Register(crmsync.JobPull, e.p.Pull)
	jobs.Register("sweep-salesforce-pull", e.p.SweepPull)
	e.jobs = e.runner.Add(&queue.Queue{Table: store.JobWork, Handle: jobs.Handle})
	if err := svc.SaveApp(ctx, ws.ID, fake.URL, "v62.0", fake.ClientID, fake.ClientSecret); err != nil {
		t.Fatal(err)
	}
	conn, _ := st.SalesforceConnection(ctx, ws.ID)
	app, _ := svc.App(conn, callback)
	verifier, challenge := salesforce.NewPKCE()
	back := salesforcetest.Approve(t, app.AuthorizeURL("s", challenge), true)
	if _, err := svc.Complete(ctx, ws.ID, callback, back.Get("code"), verifier); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Lead score', true)`, ws.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSyncSettings(ctx, ws.ID, model.DefaultSyncSettings, []model.FieldMap{
		{PeregrineField: "score:Lead score", SalesforceField: "Peregrine_Score__c", Direction: model.ToSalesforce},
		{PeregrineField: "labels", SalesforceField: "Peregrine_Labels__c", Direction: model.ToSalesforce},
		{PeregrineField: "peregrine_url", SalesforceField: "Peregrine_URL__c", Direction: model.ToSalesforce},
		{PeregrineField: "first_name", SalesforceField: "FirstName", Direction: model.ToSalesforce},
		{PeregrineField: "title", SalesforceField: "Title", Direction: model.ToSalesforce},
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// lead adds a lead with a score and labels, and queues it as scoring would.
func (e *env) lead(email, first string, score float64, labels ...string) int64 {
	e.t.Helper()
	l, err := e.st.CreateLead(e.ctx, model.Lead{WorkspaceID: e.ws, Email: email, FirstName: first})
	if err != nil {
		e.t.Fatal(err)
	}
	e.setScore(l.ID, score, labels...)
	return l.ID
}

func (e *env) setScore(leadID int64, score float64, labels ...string) {
	e.t.Helper()
	if labels == nil {
		labels = []string{}
	}
	e.exec(`UPDATE leads SET main_score = $3, labels = $4 WHERE workspace_id = $1 AND id = $2`, e.ws, leadID, score, pqArray(labels))
	e.exec(`INSERT INTO lead_scores (workspace_id, score_id, lead_id, value) SELECT $1, id, $2, $3 FROM score_names WHERE workspace_id = $1
		ON CONFLICT (workspace_id, score_id, lead_id) DO UPDATE SET value = $3`, e.ws, leadID, score)
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.EnqueueSalesforce(e.ctx, e.ws, []int64{leadID}) }); err != nil {
		e.t.Fatal(err)
	}
}

func pqArray(s []string) string { return "{" + strings.Join(quoteAll(s), ",") + "}" }

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = `"` + strings.ReplaceAll(x, `"`, `\"`) + `"`
	}
	return out
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	pgtest.Exec(e.t, e.db, q, args...)
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	return pgtest.Count(e.t, e.db, q, args...)
}

// pushAll runs the pusher until nothing is due.
func (e *env) pushAll() {
	e.t.Helper()
	for i := 0; i < 100; i++ {
		n, err := e.runner.Once(e.ctx, e.pushes)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	e.t.Fatal("the outbox does not drain")
}

// pullDue runs the pull sweep (as its periodic job would) and the pulls it queues.
func (e *env) pullDue() {
	e.t.Helper()
	e.exec(`UPDATE jobs SET run_after = now() WHERE workspace_id = 0 AND kind = 'sweep-salesforce-pull'`)
	if _, err := e.runner.Drain(e.ctx, e.jobs); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) lastRun() model.SyncRun {
	e.t.Helper()
	runs, err := e.st.ListSyncRuns(e.ctx, e.ws, false, 1, 0)
	if err != nil || len(runs) == 0 {
		e.t.Fatalf("no run logged: %v", err)
	}
	return runs[0]
}

func (e *env) salesforceLead(email string) salesforcetest.Record {
	e.t.Helper()
	for _, r := range e.fake.Records("Lead") {
		if strings.EqualFold(fmt.Sprint(r.Fields["Email"]), email) {
			return r
		}
	}
	e.t.Fatalf("no Salesforce Lead with %s", email)
	return salesforcetest.Record{}
}

func TestPushCreatesUpdatesAndKeepsSalesforceValues(t *testing.T) {
	e := newEnv(t)
	existing := e.fake.AddRecord("Lead", map[string]any{"Email": "Ana@Acme.example", "LastName": "Silva", "Company": "Acme", "Title": "CTO"})
	ana := e.lead("ana@acme.example", "", 42, "Pricing this week", "Engaged")
	bob := e.lead("bob@globex.example", "Bob", 17)
	e.exec(`UPDATE leads SET company = 'Globex, Inc.' WHERE id = $1`, bob)
	e.fake.Lock(func(s *salesforcetest.Server) { s.Used = 0 })

	e.pushAll()
	run := e.lastRun()
	if run.Created != 1 || run.Updated != 1 || run.Failed != 0 {
		t.Fatalf("run %+v", run)
	}
	// describe + one lookup + one update + one create.
	if run.APICalls != 4 {
		t.Fatalf("%d API calls", run.APICalls)
	}
	a := e.salesforceLead("ana@acme.example")
	if a.ID != existing || a.Fields["Peregrine_Score__c"] != 42.0 || a.Fields["Peregrine_Labels__c"] != "Pricing this week; Engaged" {
		t.Fatalf("existing record: %+v", a)
	}
	// Empty Peregrine values never overwrite: Ana has no title or first name in Peregrine.
	if a.Fields["Title"] != "CTO" || a.Fields["FirstName"] != nil || a.Fields["LastName"] != "Silva" {
		t.Fatalf("Salesforce values overwritten: %+v", a.Fields)
	}
	b := e.salesforceLead("bob@globex.example")
	if b.Fields["LastName"] != "Bob" || b.Fields["Company"] != "Globex, Inc." || b.Fields["Peregrine_URL__c"] != fmt.Sprintf("https://peregrine.example/leads/%d", bob) {
		t.Fatalf("created record: %+v", b.Fields)
	}
	if _, id, _, _ := e.st.LeadSalesforceRecord(e.ctx, e.ws, bob); id != b.ID {
		t.Fatalf("Salesforce id not stored: %q", id)
	}
	if n := e.count(`SELECT count(*) FROM salesforce_outbox`); n != 0 {
		t.Fatalf("%d left in the outbox", n)
	}

	// Nothing changed: no call at all. A changed score: one update, no lookup.
	writes, runs := e.fake.Writes, e.count(`SELECT count(*) FROM salesforce_sync_runs`)
	e.setScore(ana, 42, "Pricing this week", "Engaged")
	e.pushAll()
	if e.fake.Writes != writes || e.count(`SELECT count(*) FROM salesforce_sync_runs`) != runs {
		t.Fatalf("unchanged values were sent or logged: %+v", e.lastRun())
	}
	e.setScore(ana, 50)
	e.pushAll()
	if run := e.lastRun(); run.Updated != 1 || run.APICalls != 1 {
		t.Fatalf("update run %+v", run)
	}
	if a := e.salesforceLead("ana@acme.example"); a.Fields["Peregrine_Score__c"] != 50.0 || a.Fields["Peregrine_Labels__c"] != "Pricing this week; Engaged" {
		t.Fatalf("after update: %+v", a.Fields) // empty labels did not clear the field
	}
}

func TestDuplicateEmailsUpdateTheMostRecent(t *testing.T) {
	e := newEnv(t)
	older := e.fake.AddRecord("Lead", map[string]any{"Email": "kim@initech.example", "LastName": "Kim", "Company": "Initech"})
	newer := e.fake.AddRecord("Lead", map[string]any{"Email": "KIM@initech.example", "LastName": "Kim", "Company": "Initech"})
	e.lead("kim@initech.example", "", 30)
	e.pushAll()
	recs := e.fake.Records("Lead")
	for _, r := range recs {
		switch r.ID {
		case newer:
			if r.Fields["Peregrine_Score__c"] != 30.0 {
				t.Fatal("the most recent record was not updated")
			}
		case older:
			if r.Fields["Peregrine_Score__c"] != nil {
				t.Fatal("the older duplicate was updated")
			}
		}
	}
	outs, _ := e.st.SyncRunRecords(e.ctx, e.ws, e.lastRun().ID, false)
	if len(outs) != 1 || !strings.Contains(outs[0].Message, "share kim@initech.example") || !strings.Contains(outs[0].Message, older) {
		t.Fatalf("duplicate not logged: %+v", outs)
	}
}

func TestRecordErrorsWaitForNewData(t *testing.T) {
	e := newEnv(t)
	e.fake.AddRecord("Lead", map[string]any{"Email": "conv@acme.example", "LastName": "C", "Company": "Acme", "IsConverted": true})
	conv := e.lead("conv@acme.example", "", 10)
	bad := e.lead("rejected@acme.example", "Forbidden", 5)
	good := e.lead("fine@acme.example", "Fine", 5)
	e.fake.Lock(func(s *salesforcetest.Server) { s.Validation = map[string]string{"FirstName": "Forbidden"} })
	e.pushAll()
	run := e.lastRun()
	if run.Failed != 2 || run.Created != 1 {
		t.Fatalf("run %+v", run)
	}
	outs, _ := e.st.SyncRunRecords(e.ctx, e.ws, run.ID, true)
	msgs := map[int64]string{}
	for _, o := range outs {
		msgs[o.LeadID] = o.Message
	}
	if !strings.HasPrefix(msgs[conv], "CANNOT_UPDATE_CONVERTED_LEAD") || !strings.HasPrefix(msgs[bad], "FIELD_CUSTOM_VALIDATION_EXCEPTION: FirstName is not allowed") {
		t.Fatalf("messages %v", msgs)
	}
	// Queued again without new data: not sent. With new data: tried again.
	calls := e.count(`SELECT COALESCE(sum(api_calls), 0) FROM salesforce_sync_runs`)
	e.setScore(bad, 5)
	e.setScore(good, 5)
	e.pushAll()
	if n := e.count(`SELECT COALESCE(sum(api_calls), 0) FROM salesforce_sync_runs`); n != calls {
		t.Fatalf("a refused record was sent again unchanged (%d calls)", n-calls)
	}
	e.exec(`UPDATE leads SET first_name = 'Allowed' WHERE id = $1`, bad)
	e.setScore(bad, 5)
	e.pushAll()
	if r := e.lastRun(); r.Created != 1 {
		t.Fatalf("changed record not retried: %+v", r)
	}
	// "Retry" from the sync log sends a refused record again even without new data.
	if err := e.st.RetrySalesforceRecord(e.ctx, e.ws, conv); err != nil {
		t.Fatal(err)
	}
	e.pushAll()
	if r := e.lastRun(); r.Failed != 1 {
		t.Fatalf("retry: %+v", r)
	}
}

func TestTransientErrorsAndLimits(t *testing.T) {
	e := newEnv(t)
	id := e.lead("lee@acme.example", "Lee", 12)
	due := func() { e.exec(`UPDATE salesforce_outbox SET run_after = now()`) }

	// A locked row: the record is retried later, not failed.
	e.fake.Lock(func(s *salesforcetest.Server) { s.LockNext = 1 })
	e.pushAll()
	if r := e.lastRun(); r.Failed != 0 || e.count(`SELECT count(*) FROM salesforce_outbox WHERE run_after > now()`) != 1 {
		t.Fatalf("lock: %+v", r)
	}
	due()
	e.pushAll()
	if r := e.lastRun(); r.Created != 1 {
		t.Fatalf("after the lock: %+v", r)
	}

	// Salesforce unavailable: the whole batch waits with backoff; nothing is lost.
	e.setScore(id, 13)
	e.fake.Lock(func(s *salesforcetest.Server) { s.UnavailableNext = 1 })
	e.p.ForgetDescribe(e.ws)
	e.pushAll()
	if e.count(`SELECT count(*) FROM salesforce_outbox`) != 1 {
		t.Fatal("a change was dropped on 503")
	}
	due()
	e.pushAll()
	if a := e.salesforceLead("lee@acme.example"); a.Fields["Peregrine_Score__c"] != 13.0 {
		t.Fatalf("after 503: %+v", a.Fields)
	}

	// An expired session is renewed once with the refresh token.
	e.fake.ExpireAccessTokens()
	e.setScore(id, 14)
	e.pushAll()
	if a := e.salesforceLead("lee@acme.example"); a.Fields["Peregrine_Score__c"] != 14.0 || e.fake.TokenCalls["refresh_token"] != 1 {
		t.Fatalf("after expiry: %+v, %v", a.Fields, e.fake.TokenCalls)
	}

	// The daily allowance is spent: the connection pauses and the change waits.
	e.fake.Lock(func(s *salesforcetest.Server) { s.Used, s.DailyMax = 100, 100 })
	e.setScore(id, 15)
	e.pushAll()
	conn, _ := e.st.SalesforceConnection(e.ctx, e.ws)
	if conn.ProblemCode != "api_limit" || conn.PausedUntil == nil || conn.PausedUntil.Before(time.Now().Add(30*time.Minute)) {
		t.Fatalf("not paused: %+v", conn)
	}
	if e.count(`SELECT count(*) FROM salesforce_outbox WHERE run_after >= $1`, conn.PausedUntil.Add(-time.Second)) != 1 {
		t.Fatal("the change does not wait for the pause")
	}

	// A revoked refresh token: the status asks to reconnect; nothing is lost.
	e.fake.Lock(func(s *salesforcetest.Server) { s.Used, s.DailyMax = 0, 15000 })
	e.exec(`UPDATE salesforce_connections SET paused_until = NULL, api_used = 0`)
	due()
	e.fake.RevokeAll()
	e.pushAll()
	conn, _ = e.st.SalesforceConnection(e.ctx, e.ws)
	if conn.ProblemCode != "refresh_revoked" || e.count(`SELECT count(*) FROM salesforce_outbox`) != 1 {
		t.Fatalf("revoked: %+v", conn.ProblemCode)
	}
}

func TestBudgetShareStopsPushing(t *testing.T) {
	e := newEnv(t)
	e.lead("sam@acme.example", "Sam", 3)
	e.exec(`UPDATE salesforce_connections SET api_used = 60, api_max = 100, api_share_percent = 50, api_usage_at = now()`)
	e.pushAll()
	conn, _ := e.st.SalesforceConnection(e.ctx, e.ws)
	if conn.ProblemCode != "budget" || len(e.fake.Records("Lead")) != 0 {
		t.Fatalf("pushed over budget: %s", conn.ProblemCode)
	}
}

// TestCrashDuringPushLosesNothing: a push claims a batch and dies before recording it. When
// the lease runs out another push sends it again; the records created the first time are
// found by email and updated, not created twice.
func TestCrashDuringPushLosesNothing(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.lead(fmt.Sprintf("p%d@acme.example", i), fmt.Sprintf("P%d", i), float64(i))
	}
	// The crashed worker: claims, writes to Salesforce, never records.
	if _, err := e.p.CrashAfterWriting(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	if len(e.fake.Records("Lead")) != 5 || e.count(`SELECT count(*) FROM salesforce_outbox`) != 5 {
		t.Fatal("the crash left no trace to recover from")
	}
	e.pushAll() // the lease has not run out: nothing is due
	if e.count(`SELECT count(*) FROM salesforce_sync_runs`) != 0 {
		t.Fatal("pushed a leased batch")
	}
	e.exec(`UPDATE salesforce_outbox SET run_after = now()`) // the lease ran out
	e.pushAll()
	if n := len(e.fake.Records("Lead")); n != 5 {
		t.Fatalf("%d Salesforce Leads after recovery, want 5", n)
	}
	if r := e.lastRun(); r.Updated != 5 || r.Created != 0 {
		t.Fatalf("recovery run %+v", r)
	}
}

// TestValuesFromSalesforce: "from Salesforce" fills Peregrine; with "both" the most recent
// change wins and the log says which side won.
func TestValuesFromSalesforce(t *testing.T) {
	e := newEnv(t)
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, model.DefaultSyncSettings, []model.FieldMap{
		{PeregrineField: "score:Lead score", SalesforceField: "Peregrine_Score__c", Direction: model.ToSalesforce},
		{PeregrineField: "title", SalesforceField: "Title", Direction: model.FromSalesforce},
		{PeregrineField: "first_name", SalesforceField: "FirstName", Direction: model.BothWays},
		{PeregrineField: "company", SalesforceField: "Company", Direction: model.BothWays},
	}); err != nil {
		t.Fatal(err)
	}
	// Salesforce's record changed long ago; Peregrine's company is newer, its first name empty.
	e.fake.AddRecord("Lead", map[string]any{"Email": "zoe@acme.example", "LastName": "Zed", "Company": "Acme Old", "FirstName": "Zoe", "Title": "VP Sales"})
	id := e.lead("zoe@acme.example", "", 20)
	e.exec(`UPDATE leads SET company = 'Acme Robotics', updated_at = now() + interval '1 hour' WHERE id = $1`, id)
	e.pushAll()
	var first, title, company string
	e.db.QueryRow(`SELECT first_name, title, company FROM leads WHERE id = $1`, id).Scan(&first, &title, &company)
	if first != "Zoe" || title != "VP Sales" || company != "Acme Robotics" {
		t.Fatalf("Peregrine now has %q %q %q", first, title, company)
	}
	rec := e.salesforceLead("zoe@acme.example")
	if rec.Fields["Company"] != "Acme Robotics" || rec.Fields["Title"] != "VP Sales" || rec.Fields["Peregrine_Score__c"] != 20.0 {
		t.Fatalf("Salesforce has %+v", rec.Fields)
	}
	outs, _ := e.st.SyncRunRecords(e.ctx, e.ws, e.lastRun().ID, false)
	if len(outs) != 1 || !strings.Contains(outs[0].Message, `Company: Peregrine's value "Acme Robotics" won`) {
		t.Fatalf("log %+v", outs)
	}
	// Salesforce changes the company now: the newer Salesforce value wins.
	e.exec(`UPDATE leads SET updated_at = now() - interval '1 day' WHERE id = $1`, id)
	e.fake.SetField(rec.ID, "Company", "Acme Holding")
	e.setScore(id, 21)
	e.pushAll()
	e.db.QueryRow(`SELECT company FROM leads WHERE id = $1`, id).Scan(&company)
	if company != "Acme Holding" {
		t.Fatalf("company %q", company)
	}
	outs, _ = e.st.SyncRunRecords(e.ctx, e.ws, e.lastRun().ID, false)
	if len(outs) != 1 || !strings.Contains(outs[0].Message, `Company: Salesforce's value "Acme Holding" won`) {
		t.Fatalf("log %+v", outs)
	}
}

// TestPullImportsAndEnriches: Leads changed in Salesforce (those with the checkbox) become
// leads or enrich existing ones, incrementally by SystemModstamp.
func TestPullImportsAndEnriches(t *testing.T) {
	e := newEnv(t)
	e.fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Sync_to_Peregrine__c", Type: "boolean", Custom: true})
	owner := map[string]any{"Name": "Olivia Owner", "Email": "Olivia@acme.example"}
	e.fake.AddRecord("Lead", map[string]any{"Email": "known@acme.example", "LastName": "Known", "Company": "Acme", "Title": "Head of Data",
		"Industry": "Software", "NumberOfEmployees": 420.0, "Country": "CH", "Owner": owner, "Sync_to_Peregrine__c": true})
	newID := e.fake.AddRecord("Lead", map[string]any{"Email": "NEW@globex.example", "FirstName": "Nia", "LastName": "New", "Company": "Globex", "Sync_to_Peregrine__c": true})
	e.fake.AddRecord("Lead", map[string]any{"Email": "skip@globex.example", "LastName": "Skip", "Company": "Globex"})
	known := e.lead("known@acme.example", "", 5)
	st, _ := e.st.SyncSettings(e.ctx, e.ws)
	st.PullEnabled, st.PullFilterField = true, "Sync_to_Peregrine__c"
	maps, _ := e.st.FieldMaps(e.ctx, e.ws)
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, st, maps); err != nil {
		t.Fatal(err)
	}
	e.pullDue()
	var title, industry, ownerName, ownerEmail, country string
	var size *int
	e.db.QueryRow(`SELECT title, industry, owner_name, owner_email, country, company_size FROM leads WHERE id = $1`, known).
		Scan(&title, &industry, &ownerName, &ownerEmail, &country, &size)
	if title != "Head of Data" || industry != "Software" || ownerName != "Olivia Owner" || ownerEmail != "olivia@acme.example" || country != "CH" || size == nil || *size != 420 {
		t.Fatalf("not enriched: %q %q %q %q %q %v", title, industry, ownerName, ownerEmail, country, size)
	}
	if e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND email = 'new@globex.example' AND first_name = 'Nia'`, e.ws) != 1 {
		t.Fatal("the new person was not imported")
	}
	if e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND email = 'skip@globex.example'`, e.ws) != 0 {
		t.Fatal("a record without the checkbox was imported")
	}
	run := e.lastRun()
	if run.Kind != "pull" || run.Created != 1 || run.Updated != 1 {
		t.Fatalf("pull run %+v", run)
	}
	// Only what changed since comes next time; not before it is due.
	e.fake.SetField(newID, "Title", "CFO")
	e.pullDue()
	if r := e.lastRun(); r.ID != run.ID {
		t.Fatal("pulled before the interval passed")
	}
	if err := e.st.PullNow(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	e.pullDue()
	r := e.lastRun()
	if r.Records != 1 || r.Updated != 1 {
		t.Fatalf("incremental pull %+v", r)
	}
	if e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND title = 'CFO'`, e.ws) != 1 {
		t.Fatal("the change was not pulled")
	}
}

// TestValidationErrorsPerRecord: each of Salesforce's validation errors fails its record with
// Salesforce's message while the others in the batch go through.
func TestValidationErrorsPerRecord(t *testing.T) {
	e := newEnv(t)
	e.fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Region__c", Type: "string", Length: 20, Custom: true, Required: true})
	e.fake.AddRecord("Lead", map[string]any{"Email": "first@dup.example", "LastName": "D", "Company": "Dup Corp", "Region__c": "EU"})
	e.fake.Lock(func(s *salesforcetest.Server) { s.DuplicateRuleField = "Company" })
	long := strings.Repeat("a", 70) + "@toolong.example" // Salesforce's Email holds 80 characters
	ids := map[string]int64{
		"REQUIRED_FIELD_MISSING: Required fields are missing: [Region__c]": e.lead("req@acme.example", "R", 1),
		"STRING_TOO_LONG: Email: data value too large":                     e.lead(long, "L", 1),
		"INVALID_EMAIL_ADDRESS: Email: invalid email address":              e.lead("dots..twice@acme.example", "I", 1),
		"DUPLICATES_DETECTED: You're creating a duplicate record":          e.lead("second@dup.example", "S", 1),
	}
	e.exec(`UPDATE leads SET company = 'Dup Corp' WHERE email = 'second@dup.example'`)
	e.exec(`UPDATE leads SET country = 'EU' WHERE workspace_id = $1 AND email <> 'req@acme.example'`, e.ws)
	maps, _ := e.st.FieldMaps(e.ctx, e.ws)
	maps = append(maps, model.FieldMap{PeregrineField: "country", SalesforceField: "Region__c", Direction: model.ToSalesforce})
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, model.DefaultSyncSettings, maps); err != nil {
		t.Fatal(err)
	}
	e.pushAll()
	outs, _ := e.st.SyncRunRecords(e.ctx, e.ws, e.lastRun().ID, true)
	got := map[int64]string{}
	for _, o := range outs {
		got[o.LeadID] = o.Message
	}
	for want, id := range ids {
		if !strings.HasPrefix(got[id], want) {
			t.Errorf("lead %d: %q, want %q…", id, got[id], want)
		}
	}
}

// enablePull turns the pull on (every Lead) and makes it due.
func (e *env) enablePull() {
	e.t.Helper()
	st, _ := e.st.SyncSettings(e.ctx, e.ws)
	st.PullEnabled = true
	maps, _ := e.st.FieldMaps(e.ctx, e.ws)
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, st, maps); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.PullNow(e.ctx, e.ws); err != nil {
		e.t.Fatal(err)
	}
}

// TestPullPagesThroughEqualTimestamps: 2,005 Leads changed in one bulk update share one
// SystemModstamp; the pull's pages of 2,000 break the tie by Id and import all of them, and
// a later pull finds nothing new.
func TestPullPagesThroughEqualTimestamps(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 2005; i++ {
		e.fake.AddRecord("Lead", map[string]any{"Email": fmt.Sprintf("bulk%04d@initech.example", i), "LastName": fmt.Sprintf("Bulk %d", i), "Company": "Initech"})
	}
	e.fake.StampAll("Lead", time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC))
	e.enablePull()
	e.pullDue()
	if n := e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND email LIKE 'bulk%'`, e.ws); n != 2005 {
		t.Fatalf("%d of 2,005 Leads imported", n)
	}
	if n := e.count(`SELECT count(*) FROM salesforce_sync_runs WHERE workspace_id = $1 AND kind = 'pull'`, e.ws); n != 2 {
		t.Fatalf("%d pull runs, want a full page and the rest", n)
	}
	if err := e.st.PullNow(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	e.pullDue()
	if r := e.lastRun(); r.Records != 0 {
		t.Fatalf("a pull with nothing new read %d records again", r.Records)
	}
}

// TestPullKeepsPeregrinesValues: records Peregrine created with its placeholder (or with the
// first name as last name) come back without those stand-ins; a value Peregrine has is only
// replaced for fields mapped from Salesforce.
func TestPullKeepsPeregrinesValues(t *testing.T) {
	e := newEnv(t)
	bare := e.lead("bare@acme.example", "", 10)
	ada := e.lead("ada@acme.example", "Ada", 11)
	cto := e.lead("cto@acme.example", "Cy", 12)
	e.exec(`UPDATE leads SET title = 'CTO' WHERE id = $1`, cto)
	e.pushAll()
	if rec := e.salesforceLead("bare@acme.example"); rec.Fields["LastName"] != "[not provided]" || rec.Fields["Company"] != "[not provided]" {
		t.Fatalf("created with %+v", rec.Fields)
	}
	if rec := e.salesforceLead("ada@acme.example"); rec.Fields["LastName"] != "Ada" {
		t.Fatalf("created with %+v", rec.Fields)
	}
	// Someone in Salesforce retitles Cy; another tool created a Lead with the same placeholder.
	e.fake.SetField(e.salesforceLead("cto@acme.example").ID, "Title", "Engineer")
	e.fake.AddRecord("Lead", map[string]any{"Email": "other@globex.example", "FirstName": "Ot", "LastName": "Her", "Company": "[not provided]"})
	e.enablePull()
	e.pullDue()
	profile := func(id int64) (last, company, title string) {
		e.db.QueryRow(`SELECT last_name, company, title FROM leads WHERE id = $1`, id).Scan(&last, &company, &title)
		return
	}
	for _, id := range []int64{bare, ada} {
		if last, company, _ := profile(id); last != "" || company != "" {
			t.Fatalf("lead %d came back with last name %q, company %q", id, last, company)
		}
	}
	if _, _, title := profile(cto); title != "CTO" {
		t.Fatalf("title mapped to Salesforce was overwritten: %q", title)
	}
	if e.count(`SELECT count(*) FROM leads WHERE email = 'other@globex.example' AND last_name = 'Her' AND company = ''`) != 1 {
		t.Fatal("the placeholder company of a new person was imported")
	}
	// Mapped "from Salesforce", Salesforce's title wins.
	maps, _ := e.st.FieldMaps(e.ctx, e.ws)
	for i := range maps {
		if maps[i].PeregrineField == "title" {
			maps[i].Direction = model.FromSalesforce
		}
	}
	st, _ := e.st.SyncSettings(e.ctx, e.ws)
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, st, maps); err != nil {
		t.Fatal(err)
	}
	e.fake.SetField(e.salesforceLead("cto@acme.example").ID, "Title", "Staff Engineer")
	e.st.PullNow(e.ctx, e.ws)
	e.pullDue()
	if _, _, title := profile(cto); title != "Staff Engineer" {
		t.Fatalf("title mapped from Salesforce: %q", title)
	}
}

// TestConvertedAndDeletedLeadsKeepReceivingScores: a Lead converted in Salesforce gets its
// scores through the Contact it became (the fake refuses updates to the converted Lead, as
// Salesforce does); a Lead deleted (lost a merge) is found again by email, or re-created.
func TestConvertedAndDeletedLeadsKeepReceivingScores(t *testing.T) {
	e := newEnv(t)
	e.fake.AddField("Contact", salesforcetest.FieldSpec{Name: "Peregrine_Score__c", Type: "double", Custom: true})
	conv := e.lead("conv@acme.example", "Cora", 10)
	merged := e.lead("merged@acme.example", "Mel", 20)
	gone := e.lead("gone@acme.example", "Gus", 30)
	e.pushAll()
	contactID := e.fake.ConvertLead(e.salesforceLead("conv@acme.example").ID)
	loser := e.salesforceLead("merged@acme.example").ID
	winner := e.fake.AddRecord("Lead", map[string]any{"Email": "merged@acme.example", "LastName": "Merged", "Company": "Acme"})
	e.fake.DeleteRecord(loser)
	e.fake.DeleteRecord(e.salesforceLead("gone@acme.example").ID)

	e.setScore(conv, 11)
	e.setScore(merged, 21)
	e.setScore(gone, 31)
	e.pushAll()
	contact := func() salesforcetest.Record {
		for _, c := range e.fake.Records("Contact") {
			if c.ID == contactID {
				return c
			}
		}
		t.Fatal("the Contact is gone")
		return salesforcetest.Record{}
	}
	if c := contact(); c.Fields["Peregrine_Score__c"] != 11.0 {
		t.Fatalf("the converted Lead's Contact has %+v", c.Fields)
	}
	var winnerRec salesforcetest.Record
	live := 0
	for _, r := range e.fake.Records("Lead") {
		if r.ID == winner {
			winnerRec = r
		}
		if r.Fields["Email"] == "gone@acme.example" && !r.Deleted {
			live++
			if r.Fields["Peregrine_Score__c"] != 31.0 {
				t.Fatalf("re-created with %+v", r.Fields)
			}
		}
	}
	if winnerRec.Fields["Peregrine_Score__c"] != 21.0 || live != 1 {
		t.Fatalf("merge winner %+v, %d live records for the deleted Lead", winnerRec.Fields, live)
	}
	if r := e.lastRun(); r.Failed != 0 {
		outs, _ := e.st.SyncRunRecords(e.ctx, e.ws, r.ID, false)
		t.Fatalf("failures: %+v", outs)
	}
	// Next time the Contact is written directly: no failed call to the converted Lead first.
	writes := e.fake.Writes
	e.setScore(conv, 12)
	e.pushAll()
	if c := contact(); c.Fields["Peregrine_Score__c"] != 12.0 || e.fake.Writes != writes+1 {
		t.Fatalf("second push: %+v, %d writes", c.Fields, e.fake.Writes-writes)
	}
	var linked string
	e.db.QueryRow(`SELECT salesforce_id FROM salesforce_records WHERE lead_id = $1`, merged).Scan(&linked)
	if linked != winner {
		t.Fatalf("the merged lead is linked to %q, not the winner %q", linked, winner)
	}
}

// TestLargePushesAndSharedRecords: a first push of 1,000 leads claimed in one batch never
// sends more than 200 records in a call, and two leads holding the same Salesforce record in
// one batch do not fail it.
func TestLargePushesAndSharedRecords(t *testing.T) {
	e := newEnv(t)
	big := e.runner.Add(&queue.Queue{Table: store.OutboxWork, Handle: e.p.Push, Batch: 1000})
	for i := 0; i < 1000; i++ {
		e.lead(fmt.Sprintf("p%04d@acme.example", i), "P", float64(i))
	}
	if _, err := e.runner.Once(e.ctx, big); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Records("Lead")); n != 1000 || e.fake.MaxRecordsPerCall > 200 {
		t.Fatalf("%d Leads created, largest call %d records", n, e.fake.MaxRecordsPerCall)
	}
	// Two leads end up linked to one record (as after a merge both emails lead to it).
	a, b := e.lead("twin-a@acme.example", "A", 5), e.lead("twin-b@acme.example", "B", 50)
	e.pushAll()
	shared := e.salesforceLead("twin-a@acme.example").ID
	e.exec(`UPDATE salesforce_records SET salesforce_id = $1 WHERE lead_id = $2`, shared, b)
	e.setScore(a, 6)
	e.setScore(b, 51)
	e.setScore(e.lead("third@acme.example", "C", 1), 2)
	if _, err := e.runner.Once(e.ctx, big); err != nil { // one claim holds all three
		t.Fatal(err)
	}
	r := e.lastRun()
	outs, _ := e.st.SyncRunRecords(e.ctx, e.ws, r.ID, false)
	if r.Failed != 0 || e.salesforceLead("twin-a@acme.example").Fields["Peregrine_Score__c"] != 51.0 {
		t.Fatalf("run %+v: %+v", r, outs)
	}
	skipped := false
	for _, o := range outs {
		skipped = skipped || (o.LeadID == a && o.Outcome == model.SyncSkipped && strings.Contains(o.Message, "twin-b@acme.example"))
	}
	if !skipped {
		t.Fatalf("the lower-scored twin is not explained: %+v", outs)
	}
}

// refreshTokens lists the refresh tokens the fake has in force.
func (e *env) refreshTokens() []string {
	var out []string
	for _, t := range e.fake.IssuedTokens() {
		if strings.HasPrefix(t, "5Aep861") {
			out = append(out, t)
		}
	}
	return out
}

// TestReconnectRevokesAndLegacyRenews: connecting again revokes the refresh token it
// replaces; a legacy (username-password) connection renews an expired session by signing in
// again, once, and explains a changed password in its own words.
func TestReconnectRevokesAndLegacyRenews(t *testing.T) {
	e := newEnv(t)
	first := e.refreshTokens()
	if len(first) != 1 {
		t.Fatalf("%d refresh tokens after connecting", len(first))
	}
	u := e.fake.Users[0]
	if _, err := e.p.PasswordConnect(e.ctx, e.ws, u.Username, u.Password, u.SecurityToken); err != nil {
		t.Fatal(err)
	}
	if !e.fake.Revoked(first[0]) {
		t.Fatal("the replaced refresh token still works: it holds one of the user's five approvals")
	}
	id := e.lead("leo@acme.example", "Leo", 10)
	e.pushAll()
	e.fake.ExpireAccessTokens()
	e.setScore(id, 11)
	e.pushAll()
	if rec := e.salesforceLead("leo@acme.example"); rec.Fields["Peregrine_Score__c"] != 11.0 || e.fake.TokenCalls["password"] != 2 {
		t.Fatalf("after expiry: %+v, token calls %v", rec.Fields, e.fake.TokenCalls)
	}
	// The password changed in Salesforce: one renewal attempt, then the reason in plain words.
	e.fake.ChangePassword("Another-pw-2")
	e.fake.ExpireAccessTokens()
	e.setScore(id, 12)
	e.pushAll()
	conn, _ := e.st.SalesforceConnection(e.ctx, e.ws)
	if conn.ProblemCode != "auth_failure" || !strings.Contains(conn.ProblemCause, "security token") || e.fake.TokenCalls["password"] != 3 {
		t.Fatalf("problem %q %q, token calls %v", conn.ProblemCode, conn.ProblemCause, e.fake.TokenCalls)
	}
	if e.count(`SELECT count(*) FROM salesforce_outbox`) != 1 {
		t.Fatal("the change was dropped")
	}
}

// TestPausesResumeByThemselves: changes held by the daily limit or by Peregrine's share go
// out when the pause ends, or at once when "Test connection" succeeds — nobody presses "Sync
// now".
func TestPausesResumeByThemselves(t *testing.T) {
	e := newEnv(t)
	id := e.lead("pia@acme.example", "Pia", 1)
	e.pushAll()
	score := func() any { return e.salesforceLead("pia@acme.example").Fields["Peregrine_Score__c"] }
	later := func() { // two hours pass
		e.exec(`UPDATE salesforce_connections SET paused_until = paused_until - interval '2 hours', api_usage_at = api_usage_at - interval '2 hours'`)
		e.exec(`UPDATE salesforce_outbox SET run_after = run_after - interval '2 hours'`)
	}
	limit := func(on bool) {
		e.fake.Lock(func(s *salesforcetest.Server) {
			if s.Used = 0; on {
				s.Used = s.DailyMax
			}
		})
	}

	limit(true)
	e.setScore(id, 2)
	e.pushAll()
	limit(false)
	e.pushAll()
	if score() != 1.0 {
		t.Fatal("pushed during the pause")
	}
	later()
	e.pushAll()
	if score() != 2.0 {
		t.Fatalf("the limit pause ended and the change still waits: %v", score())
	}

	limit(true)
	e.setScore(id, 3)
	e.pushAll()
	limit(false)
	if err := e.p.Check(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	e.pushAll()
	if score() != 3.0 {
		t.Fatalf("a successful test did not resume: %v", score())
	}

	e.exec(`UPDATE salesforce_connections SET api_used = 60, api_max = 100, api_share_percent = 50, api_usage_at = now()`)
	e.setScore(id, 4)
	e.pushAll()
	if conn, _ := e.st.SalesforceConnection(e.ctx, e.ws); conn.ProblemCode != "budget" || score() != 3.0 {
		t.Fatalf("over the share: %q, %v", conn.ProblemCode, score())
	}
	later()
	e.pushAll()
	if score() != 4.0 {
		t.Fatalf("the budget pause ended and the change still waits: %v", score())
	}
}

// TestSyncFailuresAreLogged: a record Salesforce refuses, a call that fails as a whole and a
// pull that cannot run each leave one line in the server log with the cause.
func TestSyncFailuresAreLogged(t *testing.T) {
	e := newEnv(t)
	var log strings.Builder
	e.p.Log = slog.New(slog.NewTextHandler(&log, nil))
	e.fake.Lock(func(s *salesforcetest.Server) { s.Validation = map[string]string{"Title": "Intern"} })
	id := e.lead("ivy@acme.example", "Ivy", 3)
	e.exec(`UPDATE leads SET title = 'Intern' WHERE id = $1`, id)
	e.pushAll()
	e.fake.Lock(func(s *salesforcetest.Server) { s.UnavailableNext = 5 })
	e.p.ForgetDescribe(e.ws)
	e.setScore(e.lead("una@acme.example", "Una", 4), 5)
	e.pushAll()
	st, _ := e.st.SyncSettings(e.ctx, e.ws)
	st.PullEnabled, st.PullFilterField = true, "No_Such_Box__c"
	maps, _ := e.st.FieldMaps(e.ctx, e.ws)
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, st, maps); err != nil {
		t.Fatal(err)
	}
	e.fake.Lock(func(s *salesforcetest.Server) { s.UnavailableNext = 0 })
	e.pullDue()
	for _, want := range []string{"FIELD_CUSTOM_VALIDATION_EXCEPTION", "SERVER_UNAVAILABLE", "No_Such_Box__c"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log does not mention %s:\n%s", want, log.String())
		}
	}
}
