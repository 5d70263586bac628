package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env struct {
	t       *testing.T
	st      *store.Store
	db      *sql.DB
	ws      int64
	p       *Pipeline
	box     *secrets.Box
	ctx     context.Context
	fake    *brazetest.Server
	runner  *queue.Runner
	inbound *queue.Queue
	lookups *queue.Queue
}

func newEnv(t *testing.T) *env {
	url := pgtest.NewDatabase(t)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, _ := sql.Open("postgres", url)
	t.Cleanup(func() { db.Close() })
	ws, _, err := st.CreateWorkspaceWithAdmin(context.Background(), model.Workspace{Slug: "acme", Name: "Acme"},
		model.User{Email: "ada@acme.com", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := secrets.NewKey()
	box, _ := secrets.NewBox(key)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := New(st, box, log, Options{Outbound: outbound.Policy{AllowPrivate: true}}) // the Braze fake is on loopback
	e := &env{t: t, st: st, db: db, ws: ws.ID, p: p, box: box, ctx: context.Background()}
	e.runner, e.inbound, e.lookups = testQueues(st, p, log, 40)
	return e
}

// testQueues runs the pipeline's inbound and lookup queues as web/workers.go does, with the
// batch size a test wants.
func testQueues(st *store.Store, p *Pipeline, log *slog.Logger, batch int) (*queue.Runner, *queue.Queue, *queue.Queue) {
	r := queue.NewRunner(st, log, nil)
	inbound := r.Add(&queue.Queue{Table: store.InboundWork, Handle: p.Processor.Process, Workers: 2, Batch: batch, Idle: 20 * time.Millisecond})
	lookups := r.Add(&queue.Queue{Table: store.LookupWork, Handle: p.Resolver.Resolve, Batch: 200, Idle: 20 * time.Millisecond})
	return r, inbound, lookups
}

// process runs one claim of the inbound queue and returns how many events it claimed.
func (e *env) process() int { return e.once(e.inbound) }

// resolve runs one claim of the lookup queue.
func (e *env) resolve() int { return e.once(e.lookups) }

func (e *env) once(q *queue.Queue) int {
	e.t.Helper()
	n, err := e.runner.Once(e.ctx, q)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) fixture(name string) []byte { return currentstest.Read(name) }

func (e *env) accept(body []byte) Result {
	e.t.Helper()
	res, err := e.p.Acceptor.AcceptCurrents(e.ctx, e.ws, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// drain processes and resolves until nothing is left to do.
func (e *env) drain() {
	e.t.Helper()
	for i := 0; i < 100; i++ {
		n, m := e.process(), 0
		if e.fake != nil {
			m = e.resolve()
		}
		if n == 0 && m == 0 {
			return
		}
	}
	e.t.Fatal("pipeline did not settle")
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	return pgtest.Count(e.t, e.db, query, args...)
}

func (e *env) connectBraze() {
	e.fake = brazetest.New(e.t, "braze-key")
	enc, _ := e.box.Seal([]byte("braze-key"), BrazeKeyContext(e.ws))
	if err := e.st.SaveBrazeConnection(e.ctx, model.BrazeConnection{WorkspaceID: e.ws, RESTEndpoint: e.fake.URL, APIKeyEncrypted: enc, APIKeyHint: "-key"}); err != nil {
		e.t.Fatal(err)
	}
	// Lookups are due at once in tests; the lease and backoffs are what the test inspects.
}

// assertExactlyOnce checks that every processed event has exactly one activity and no
// activity lacks its event.
func (e *env) assertExactlyOnce() {
	e.t.Helper()
	routed := e.count(`SELECT count(*) FROM inbound_events WHERE state = 'pending'`)
	acts := e.count(`SELECT count(*) FROM activities`)
	distinct := e.count(`SELECT count(DISTINCT id) FROM activities`)
	queued := e.count(`SELECT count(*) FROM inbound_queue`)
	waiting := e.count(`SELECT count(*) FROM inbound_waiting`)
	if acts != distinct {
		e.t.Fatalf("%d activities for %d distinct events", acts, distinct)
	}
	if acts+queued+waiting != routed {
		e.t.Fatalf("%d events to process, but %d activities + %d queued + %d waiting", routed, acts, queued, waiting)
	}
	if n := e.count(`SELECT count(*) FROM activities a WHERE EXISTS (SELECT 1 FROM inbound_queue q WHERE q.event_row_id = a.id)
		OR EXISTS (SELECT 1 FROM inbound_waiting w WHERE w.event_row_id = a.id)`); n != 0 {
		e.t.Fatalf("%d events both have an activity and are queued or waiting", n)
	}
	if n := e.count(`SELECT coalesce(sum(activity_count), 0) FROM lead_activity`); n != acts {
		e.t.Fatalf("lead activity counts sum to %d, activities %d", n, acts)
	}
}

func TestMixedBatchBecomesLeadsAndActivities(t *testing.T) {
	e := newEnv(t)
	res := e.accept(e.fixture("mixed-batch.json"))
	if res.Received != 100 || res.Stored != 97 || res.Duplicates != 3 || res.Rejected != 0 {
		t.Fatalf("%+v", res)
	}
	// The same batch again is all duplicates.
	if again := e.accept(e.fixture("mixed-batch.json")); again.Stored != 0 || again.Duplicates != 100 {
		t.Fatalf("re-delivery: %+v", again)
	}
	e.drain()
	e.assertExactlyOnce()

	if n := e.count(`SELECT count(*) FROM leads`); n != 10 {
		t.Fatalf("%d leads, want 10 (users with an email in the batch)", n)
	}
	// The app-only user, the SMS/WhatsApp-only user and the unknown SMS number wait.
	waiting := e.count(`SELECT count(*) FROM inbound_waiting`)
	if waiting == 0 || e.count(`SELECT count(*) FROM activities`)+waiting != 97 {
		t.Fatalf("waiting %d", waiting)
	}
	if n := e.count(`SELECT count(*) FROM inbound_waiting WHERE braze_user_id NOT IN ($1, $2, '')`, currentstest.AppOnly.UserID, currentstest.SMSOnly.UserID); n != 0 {
		t.Fatalf("%d events of identifiable users wait", n)
	}
	// Identity join: Grace (anonymous) gets her app and Canvas events through her email events.
	var grace int64
	e.db.QueryRow(`SELECT id FROM leads WHERE email = $1`, currentstest.Grace.Email).Scan(&grace)
	if n := e.count(`SELECT count(*) FROM lead_identities WHERE lead_id = $1 AND kind = 'braze_user_id' AND value = $2`, grace, currentstest.Grace.UserID); n != 1 {
		t.Fatal("Grace's Braze id not linked")
	}
	if n := e.count(`SELECT count(*) FROM activities WHERE lead_id = $1 AND event_type = 'users.behaviors.CustomEvent'`, grace); n != 1 {
		t.Fatal("Grace's id-only app event did not join her lead")
	}
	// Accounts per company domain; the timeline keeps event time.
	if n := e.count(`SELECT count(*) FROM accounts`); n != 10 {
		t.Fatalf("%d accounts", n)
	}
	var anna struct {
		first, last time.Time
		count       int
	}
	e.db.QueryRow(`SELECT x.first_activity_at, x.last_activity_at, x.activity_count FROM leads l
		JOIN lead_activity x ON x.workspace_id = l.workspace_id AND x.lead_id = l.id WHERE l.email = $1`, currentstest.Nora.Email).Scan(&anna.first, &anna.last, &anna.count)
	if !anna.first.Before(anna.last) || anna.count < 5 {
		t.Fatalf("anna %+v", anna)
	}
	// Canvas-sent emails use the Canvas name; nothing renders as null.
	if n := e.count(`SELECT count(*) FROM activities WHERE name LIKE '%null%' OR name LIKE '%<nil>%' OR name LIKE '%$%'`); n != 0 {
		t.Fatalf("%d activity names with null", n)
	}
	if n := e.count(`SELECT count(*) FROM activities WHERE name = $1`, currentstest.MixedCanvasDelivery); n == 0 {
		t.Fatal("Canvas-sent delivery not named after the Canvas")
	}
	// Lookups: the two waiting users by Braze id, and one profile lookup per newly seen user
	// (external id when known, else Braze id: the two anonymous users with email events).
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE kind = 'braze_id'`); n != 4 {
		t.Fatalf("%d braze_id lookups, want 4", n)
	}
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE kind = 'external_id'`); n != 8 {
		t.Fatalf("%d external_id lookups, want 8", n)
	}
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE kind = 'phone' AND value = $1`, currentstest.UnknownSMSNumber); n != 1 {
		t.Fatal("unknown SMS number not queued for a phone lookup")
	}
}

func TestEveryFixtureTypeBecomesItsActivity(t *testing.T) {
	e := newEnv(t)
	files := currentstest.Names()
	if len(files) != 19 {
		t.Fatalf("%d fixtures", len(files))
	}
	// Braze knows every fixture's user by external id.
	e.connectBraze()
	for _, ext := range currentstest.ExternalIDs() {
		e.fake.AddUser(brazetest.User{ExternalID: ext, BrazeID: "b-" + ext, Email: ext + "@globex.example.com", FirstName: "F" + ext})
	}
	for _, f := range files {
		e.accept(e.fixture(f))
	}
	e.drain()
	e.assertExactlyOnce()
	if n := e.count(`SELECT count(DISTINCT event_type) FROM activities`); n != 19 {
		t.Fatalf("%d event types became activities, want 19", n)
	}
}

func TestLookupsByExternalIDAreBatchedAndRemembered(t *testing.T) {
	e := newEnv(t)
	e.connectBraze()
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := 0; i < 120; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		ext := fmt.Sprintf("crm-%03d", i)
		if i%2 == 0 {
			e.fake.AddUser(brazetest.User{ExternalID: ext, BrazeID: fmt.Sprintf("b%03d", i), Email: ext + "@initech.example.com",
				FirstName: "Person", LastName: ext, Country: "CH", TimeZone: "Europe/Zurich", CustomAttributes: map[string]any{"company": "Initech"}})
		}
		fmt.Fprintf(&sb, `{"id":"e%d","event_type":"users.behaviors.CustomEvent","time":%d,"user":{"user_id":"b%03d","external_user_id":"%s"},"properties":{"name":"viewed"}}`,
			i, 1773000000+i, i, ext)
	}
	sb.WriteString(`]}`)
	e.accept([]byte(sb.String()))
	// Process everything first, so all 120 lookups are due together.
	for e.process() > 0 {
	}
	e.drain()
	e.assertExactlyOnce()

	calls := e.fake.Calls()
	if len(calls) != 3 {
		for _, c := range calls {
			t.Logf("call: %d ids, braze_id %q", len(c.ExternalIDs), c.BrazeID)
		}
		t.Fatalf("%d calls, want 3 (50+50+20 external ids)", len(calls))
	}
	if len(calls[0].ExternalIDs) != 50 || len(calls[1].ExternalIDs) != 50 || len(calls[2].ExternalIDs) != 20 {
		t.Fatalf("batches of %d, %d, %d", len(calls[0].ExternalIDs), len(calls[1].ExternalIDs), len(calls[2].ExternalIDs))
	}
	for _, c := range calls {
		if len(c.ExternalIDs) > 50 || len(c.FieldsToExport) == 0 || c.BrazeID != "" {
			t.Fatalf("call %+v", c)
		}
	}
	if n := e.count(`SELECT count(*) FROM activities`); n != 60 {
		t.Fatalf("%d activities, want 60 (the users Braze knows)", n)
	}
	var p struct{ first, country, tz, company string }
	e.db.QueryRow(`SELECT first_name, country, time_zone, company FROM leads WHERE email = 'crm-000@initech.example.com'`).Scan(&p.first, &p.country, &p.tz, &p.company)
	if p != (struct{ first, country, tz, company string }{"Person", "CH", "Europe/Zurich", "Initech"}) {
		t.Fatalf("profile %+v", p)
	}
	// A later event of a known user needs no call; an unknown one is not asked again at once.
	e.accept([]byte(`{"events":[{"id":"later-1","event_type":"users.behaviors.CustomEvent","time":1773100000,"user":{"user_id":"b000","external_user_id":"crm-000"},"properties":{"name":"again"}},
		{"id":"later-2","event_type":"users.behaviors.CustomEvent","time":1773100001,"user":{"user_id":"b001","external_user_id":"crm-001"},"properties":{"name":"again"}}]}`))
	e.drain()
	if len(e.fake.Calls()) != 3 {
		t.Fatalf("known or recently asked users looked up again: %d calls", len(e.fake.Calls()))
	}
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE state = 'not_found' AND run_after > now() + interval '5 minutes'`); n != 60 {
		t.Fatalf("%d unknown users scheduled for a later lookup, want 60", n)
	}
}

func TestLaterEmailEventReleasesWaitingEvents(t *testing.T) {
	e := newEnv(t)
	// No Braze connection: id-only events wait.
	e.accept([]byte(`{"events":[{"id":"a1","event_type":"users.behaviors.CustomEvent","time":1773000000,"user":{"user_id":"u1"},"properties":{"name":"app_opened"}}]}`))
	e.drain()
	if n := e.count(`SELECT count(*) FROM inbound_waiting`); n != 1 {
		t.Fatalf("waiting %d", n)
	}
	report, err := Status(e.ctx, e.st, e.ws, time.Now())
	if err != nil || report.Waiting != 1 || len(report.Warnings) != 1 || !strings.Contains(report.Warnings[0], "No Braze API key") {
		t.Fatalf("status does not say why events wait: %+v %v", report, err)
	}
	e.accept([]byte(`{"events":[{"id":"m1","event_type":"users.messages.email.Open","time":1773000500,"user":{"user_id":"u1"},"properties":{"email_address":"Zoe@Hooli.example.com","campaign_name":"Hello"}}]}`))
	e.drain()
	e.assertExactlyOnce()
	if n := e.count(`SELECT count(*) FROM activities a JOIN leads l ON l.id = a.lead_id WHERE l.email = 'zoe@hooli.example.com'`); n != 2 {
		t.Fatalf("zoe has %d activities, want 2", n)
	}
}

func TestProfileLookupFillsKnownLeads(t *testing.T) {
	e := newEnv(t)
	e.connectBraze()
	nora := currentstest.Nora
	e.fake.AddUser(brazetest.User{ExternalID: nora.ExternalID, BrazeID: nora.UserID, Email: "nora.l@fjordsoft.example.com",
		FirstName: "Nora", LastName: "Lindqvist", Country: "SE", CustomAttributes: map[string]any{"job_title": "Head of Marketing",
			"industry": "Software", "company_size": "1,200"}})
	e.accept(e.fixture("mixed-batch.json"))
	e.drain()
	e.assertExactlyOnce()
	var first, country, title, industry string
	var attrs string
	var size *int
	e.db.QueryRow(`SELECT first_name, country, custom_attributes::text, title, industry, company_size FROM leads WHERE email = $1`, nora.Email).
		Scan(&first, &country, &attrs, &title, &industry, &size)
	if first != "Nora" || country != "SE" || !strings.Contains(attrs, "Head of Marketing") {
		t.Fatalf("profile not filled: %q %q %s", first, country, attrs)
	}
	// Well-known custom attributes fill the profile fields fit rules read.
	if title != "Head of Marketing" || industry != "Software" || size == nil || *size != 1200 {
		t.Fatalf("title %q, industry %q, size %v", title, industry, size)
	}
	// Braze has a newer email for Nora: her lead is updated, not duplicated.
	if n := e.count(`SELECT count(*) FROM leads WHERE email = 'nora.l@fjordsoft.example.com'`); n != 0 {
		t.Fatal("a second lead was created for a changed email")
	}
	ext := 0
	for _, c := range e.fake.Calls() {
		if len(c.ExternalIDs) > 0 {
			ext++
		}
	}
	if ext != 1 {
		t.Fatalf("%d calls by external id, want 1 batched call", ext)
	}
}

func TestBrazeIDAndPhoneLookups(t *testing.T) {
	e := newEnv(t)
	e.connectBraze()
	e.fake.AddUser(brazetest.User{BrazeID: currentstest.AppOnly.UserID, Email: "app.user@wayne.example.com"})
	e.fake.AddUser(brazetest.User{BrazeID: "sms-only", Phone: currentstest.UnknownSMSNumber, Email: "sms.person@wayne.example.com"})
	e.accept(e.fixture("mixed-batch.json"))
	e.drain()
	e.assertExactlyOnce()
	for _, email := range []string{"app.user@wayne.example.com", "sms.person@wayne.example.com"} {
		if n := e.count(`SELECT count(*) FROM activities a JOIN leads l ON l.id = a.lead_id WHERE l.email = $1`, email); n == 0 {
			t.Fatalf("%s has no activities after the lookup", email)
		}
	}
	for _, c := range e.fake.Calls() {
		if len(c.ExternalIDs) == 0 && (c.BrazeID == "") == (c.Phone == "") {
			t.Fatalf("anonymous lookup should ask one braze_id or phone: %+v", c)
		}
	}
}

func TestBrazeErrors(t *testing.T) {
	e := newEnv(t)
	e.connectBraze()
	e.fake.AddUser(brazetest.User{BrazeID: currentstest.AppOnly.UserID, Email: "app.user@wayne.example.com"})
	e.accept(e.fixture("mixed-batch.json"))
	for e.count(`SELECT count(*) FROM inbound_queue`) > 0 {
		e.process()
	}

	// 5xx: the failed request backs off; the other requests of the round still run.
	e.fake.FailNext(503)
	e.resolve()
	failed := e.fake.Calls()[0]
	if failed.Status != 503 {
		t.Fatalf("first call %+v", failed)
	}
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE state = 'pending' AND last_error LIKE '%temporary%' AND run_after > now() AND attempts = 1`); n == 0 {
		t.Fatal("no lookup backing off after 503")
	}
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE state <> 'pending'`); n == 0 {
		t.Fatal("the other requests of the round did not run after one 503")
	}

	// 429: no more calls until the reset time Braze gave.
	e.db.Exec(`UPDATE braze_lookups SET run_after = now(), state = 'pending'`)
	before := len(e.fake.Calls())
	e.fake.FailNext(429)
	e.resolve()
	if got := len(e.fake.Calls()) - before; got != 1 {
		t.Fatalf("%d calls after a 429, want 1", got)
	}
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE state = 'pending' AND last_error LIKE '%rate limit%'`); n == 0 {
		t.Fatal("429 not recorded")
	}

	// 401: lookups pause with a message; a new key resumes them.
	e.p.Resolver.resetAt = nil
	e.db.Exec(`UPDATE braze_lookups SET run_after = now(), state = 'pending'`)
	e.fake.FailNext(401)
	e.resolve()
	conn, _ := e.st.BrazeConnection(e.ctx, e.ws)
	if !strings.Contains(conn.LookupError, "key is invalid") || conn.LookupsPausedUntil == nil {
		t.Fatalf("pause not recorded: %+v", conn)
	}
	if conn.LastLookupOK == nil || *conn.LastLookupOK || !strings.Contains(conn.LastLookupMessage, "key is invalid") {
		t.Fatalf("the failed lookup is not the last result: %+v", conn)
	}
	before = len(e.fake.Calls())
	e.db.Exec(`UPDATE braze_lookups SET run_after = now()`)
	if e.resolve(); len(e.fake.Calls()) != before {
		t.Fatal("paused workspace still looked up")
	}
	if n := e.count(`SELECT count(*) FROM braze_lookups WHERE state = 'pending' AND run_after > now() + interval '10 minutes' AND attempts = 0`); n == 0 {
		t.Fatal("lookups of a paused workspace are not given back until the pause ends, attempts untouched")
	}
	e.connectBrazeKeepFake()
	e.drain()
	if n := e.count(`SELECT count(*) FROM activities a JOIN leads l ON l.id = a.lead_id WHERE l.email = 'app.user@wayne.example.com'`); n == 0 {
		t.Fatal("lookups did not resume after the key was saved again")
	}
}

func (e *env) connectBrazeKeepFake() {
	enc, _ := e.box.Seal([]byte("braze-key"), BrazeKeyContext(e.ws))
	if err := e.st.SaveBrazeConnection(e.ctx, model.BrazeConnection{WorkspaceID: e.ws, RESTEndpoint: e.fake.URL, APIKeyEncrypted: enc, APIKeyHint: "-key"}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.p.BrazeKeyChanged(e.ctx, e.ws); err != nil {
		e.t.Fatal(err)
	}
}

func TestMalformedBatchesAndEvents(t *testing.T) {
	e := newEnv(t)
	if _, err := e.p.Acceptor.AcceptCurrents(e.ctx, e.ws, []byte(`{"events": [`)); err == nil {
		t.Fatal("broken JSON accepted")
	}
	res := e.accept([]byte(`{"events":[{"id":"ok1","event_type":"users.behaviors.CustomEvent","time":1773000000,"user":{"user_id":"u"},"properties":{"name":"x"}},
		{"id":"bad","event_type":"users.behaviors.CustomEvent"},
		{"id":"future","event_type":"users.messages.email.Send","time":1773000000,"user":{"user_id":"u"}}]}`))
	if res.Stored != 2 || res.Rejected != 1 {
		t.Fatalf("%+v", res)
	}
	if n := e.count(`SELECT count(*) FROM inbound_rejects WHERE reason LIKE '%time%'`); n != 1 {
		t.Fatal("rejected event not recorded")
	}
	if n := e.count(`SELECT count(*) FROM inbound_events WHERE event_type = 'users.messages.email.Send' AND state = 'ignored'`); n != 1 {
		t.Fatal("unknown type not stored as ignored")
	}
}

// TestCrashSafety stops workers at random moments in the middle of processing, restarts them,
// and checks that every event became exactly one activity.
func TestCrashSafety(t *testing.T) {
	e := newEnv(t)
	rng := rand.New(rand.NewSource(1))
	var sb strings.Builder
	for b := 0; b < 20; b++ {
		sb.Reset()
		sb.WriteString(`{"events":[`)
		for i := 0; i < 100; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			n := b*100 + i
			fmt.Fprintf(&sb, `{"id":"c%d","event_type":"users.messages.email.Open","time":%d,"user":{"user_id":"u%d"},"properties":{"email_address":"p%d@co%d.example.com","campaign_name":"C"}}`,
				n, 1773000000+rng.Intn(100000), n%150, n%150, (n%150)%7)
		}
		sb.WriteString(`]}`)
		e.accept([]byte(sb.String()))
	}
	// Two runners stand for two server processes sharing the database; each round stops them
	// at a random moment. A stop in the middle of a batch's transaction rolls it back: those
	// are counted, to show the rounds do interrupt work in flight.
	// Rounds go on until both a completion and an interruption have been seen (at least 8
	// rounds); pauses widen with each round so a slow machine still lets batches complete.
	var interrupted, completed atomic.Int64
	for round := 0; round < 8 || interrupted.Load() == 0 || completed.Load() == 0; round++ {
		if round == 200 {
			t.Fatalf("after 200 rounds the stops interrupted %d batches and let %d complete: the test proves nothing", interrupted.Load(), completed.Load())
		}
		var rs []*queue.Runner
		for i := 0; i < 2; i++ {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			p := New(e.st, e.box, log, Options{})
			r := queue.NewRunner(e.st, log, nil)
			r.Add(&queue.Queue{Table: store.InboundWork, Workers: 2, Batch: 37, Handle: func(ctx context.Context, b *queue.Batch) error {
				err := p.Processor.Process(ctx, b)
				switch {
				case err != nil && ctx.Err() != nil:
					interrupted.Add(1)
				case err == nil:
					completed.Add(1)
				}
				return err
			}})
			r.Start(context.Background())
			rs = append(rs, r)
		}
		time.Sleep(time.Duration(5+rng.Intn(40+10*round)) * time.Millisecond)
		for _, r := range rs {
			r.Stop()
		}
	}
	t.Logf("%d batches interrupted in their transaction, %d completed", interrupted.Load(), completed.Load())
	// A stop that came while a claim was committing leaves its items leased; they come back
	// when the lease ends (minutes later). Time passes here:
	e.db.Exec(`UPDATE inbound_queue SET run_after = now() WHERE claim IS NOT NULL AND run_after > now()`)
	e.drain()
	e.assertExactlyOnce()
	if n := e.count(`SELECT count(*) FROM activities`); n != 2000 {
		t.Fatalf("%d activities, want 2000", n)
	}
	if n := e.count(`SELECT count(*) FROM leads`); n != 150 {
		t.Fatalf("%d leads, want 150", n)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	token, tok, err := CreateToken(e.ctx, e.st, e.ws, model.TokenKindCurrents, "Braze prod", nil)
	if err != nil || !strings.HasPrefix(token, "pgc_") || tok.Hint != token[len(token)-4:] {
		t.Fatalf("%q %+v %v", token, tok, err)
	}
	if got, err := Authenticate(e.ctx, e.st, token, model.TokenKindCurrents); err != nil || got.ID != tok.ID {
		t.Fatalf("authenticate: %v", err)
	}
	var ae *AuthError
	for _, bad := range []string{"", "pgc_", "Bearer x", token + "x", "pgc_zzzzzz_abc", strings.Replace(token, "pgc_1_", "pgc_2_", 1)} {
		if _, err := Authenticate(e.ctx, e.st, bad, model.TokenKindCurrents); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	if _, err := Authenticate(e.ctx, e.st, token+"x", model.TokenKindCurrents); !asAuth(err, &ae) || ae.WorkspaceID != e.ws {
		t.Fatalf("wrong secret not attributed to its workspace: %v", err)
	}
	e.st.RevokeAPIToken(e.ctx, e.ws, tok.ID)
	if _, err := Authenticate(e.ctx, e.st, token, model.TokenKindCurrents); err == nil {
		t.Fatal("revoked token accepted")
	}
	if _, _, err := CreateToken(e.ctx, e.st, e.ws, model.TokenKindCurrents, "  ", nil); err == nil {
		t.Fatal("empty label accepted")
	}
	var hash []byte
	e.db.QueryRow(`SELECT token_hash FROM api_tokens LIMIT 1`).Scan(&hash)
	if strings.Contains(string(hash), token[4:]) {
		t.Fatal("token stored in clear")
	}
}

func asAuth(err error, target **AuthError) bool {
	ae, ok := err.(*AuthError)
	if ok {
		*target = ae
	}
	return ok
}

var _ = braze.MaxExternalIDs

func TestPoisonEventsAreStoredAndProcessed(t *testing.T) {
	e := newEnv(t)
	poison := currentstest.Poison("p")
	n, deep := len(poison), currentstest.PoisonRejected
	res := e.accept(currentstest.Batch(poison...))
	if res.Received != n || res.Rejected != deep || res.Stored != n-deep {
		t.Fatalf("%+v", res)
	}
	if n := e.count(`SELECT count(*) FROM inbound_rejects WHERE reason LIKE '%nested deeper%'`); n != 1 {
		t.Fatal("the deep event is not set aside with its reason")
	}
	e.drain()
	e.assertExactlyOnce()
	var name string
	e.db.QueryRow(`SELECT name FROM activities WHERE event_type = 'users.messages.whatsapp.InboundReceive'`).Scan(&name)
	if !strings.HasSuffix(name, currentstest.LongMessage) {
		t.Fatalf("the long message is not stored whole (%d characters)", len([]rune(name)))
	}
	if n := e.count(`SELECT count(*) FROM activities WHERE name LIKE '%evil�name%'`); n != 1 {
		t.Fatal("NUL in a custom event name not replaced")
	}
	if n := e.count(`SELECT count(*) FROM inbound_events WHERE event_id = 'p-nul�id' AND state = 'ignored'`); n != 1 {
		t.Fatal("an event id with NUL not stored")
	}
}

// TestWaitingAndIdentityCannotMissEachOther: one transaction parks an event for a Braze id
// while another makes that id known. Whichever commits first, the event ends back in the
// queue, never waiting for a person who is known (both orders are forced here).
func TestWaitingAndIdentityCannotMissEachOther(t *testing.T) {
	for _, parkFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("park first %v", parkFirst), func(t *testing.T) {
			e := newEnv(t)
			e.accept([]byte(`{"events":[{"id":"race-1","event_type":"users.behaviors.CustomEvent","time":1773000000,"user":{"user_id":"race-u"},"properties":{"name":"x"}}]}`))
			var event, lead int64
			e.db.QueryRow(`SELECT id FROM inbound_events WHERE event_id = 'race-1'`).Scan(&event)
			if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
				ids, err := tx.UpsertLeadsByEmail(e.ctx, e.ws, []store.LeadSeed{{Email: "racer@globex.example.com"}})
				lead = ids["racer@globex.example.com"]
				return err
			}); err != nil {
				t.Fatal(err)
			}
			park := func(tx *store.Tx) error {
				return settleWaiting(e.ctx, tx, e.ws, []model.Waiting{{EventID: event, BrazeUserID: "race-u", Reason: WaitLookup}}, nil)
			}
			learn := func(tx *store.Tx) error {
				added, err := tx.AddIdentities(e.ctx, e.ws, []model.Identity{{Kind: model.IdentityBrazeUser, Value: "race-u", LeadID: lead}})
				if err != nil {
					return err
				}
				return settleWaiting(e.ctx, tx, e.ws, nil, added)
			}
			first, second := park, learn
			if !parkFirst {
				first, second = learn, park
			}
			// The first transaction does its part and holds; the second runs meanwhile.
			holding, commit, firstDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				firstDone <- e.st.InTx(e.ctx, func(tx *store.Tx) error {
					if err := first(tx); err != nil {
						return err
					}
					close(holding)
					<-commit
					return nil
				})
			}()
			<-holding
			secondDone := make(chan error, 1)
			go func() { secondDone <- e.st.InTx(e.ctx, second) }()
			// Let the second get as far as it can: it finishes, or waits for the first's lock.
			for i := 0; i < 200 && len(secondDone) == 0; i++ {
				if e.count(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`) > 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			close(commit)
			if err := errors.Join(<-firstDone, <-secondDone); err != nil {
				t.Fatal(err)
			}
			if n := e.count(`SELECT count(*) FROM inbound_waiting WHERE event_row_id = $1`, event); n != 0 {
				t.Fatal("the event waits for a person who is known")
			}
			e.drain()
			if n := e.count(`SELECT count(*) FROM activities WHERE id = $1 AND lead_id = $2`, event, lead); n != 1 {
				t.Fatal("the event did not become an activity of the known person")
			}
		})
	}
}

// TestDiscardedEventStaysAccountedFor: an event set aside and then discarded leaves the
// queue and quarantine, and stays stored, kept aside with the reason (never an activity).
func TestDiscardedEventStaysAccountedFor(t *testing.T) {
	e := newEnv(t)
	e.accept([]byte(`{"events":[{"id":"bad-1","event_type":"users.messages.email.Open","time":1773000000,"user":{"user_id":"u"},"properties":{"email_address":"x@y.example.com"}}]}`))
	claimed, err := e.st.ClaimWork(e.ctx, store.InboundWork, e.ws, 10, time.Minute, 5)
	if err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	if err := e.st.QuarantineWork(e.ctx, store.InboundWork, e.ws, []int64{claimed[0].ID}, 5, "it broke"); err != nil {
		t.Fatal(err)
	}
	if n, err := e.st.DiscardQuarantined(e.ctx, store.InboundWork, e.ws, []int64{claimed[0].ID}, "discarded by Ada"); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if e.count(`SELECT count(*) FROM inbound_waiting WHERE event_row_id = $1 AND reason = 'discarded by Ada'`, claimed[0].ID) != 1 ||
		e.count(`SELECT count(*) FROM work_quarantine`)+e.count(`SELECT count(*) FROM inbound_queue`) != 0 {
		t.Fatal("the discarded event is not kept aside with its reason")
	}
	e.drain()
	e.assertExactlyOnce()
}
