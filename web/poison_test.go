package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestPoisonEventsStallNobody: workspace A sends every poison above, good events, and one
// event a (simulated) bug cannot process; workspace B sends its normal traffic. B's events and
// A's good ones become activities, the long message whole; the event that cannot be processed
// is set aside and shown on A's Braze page, and Retry after the fix processes it. Nothing is
// lost or done twice, and the bracket bomb gets 400 with the server living on.
func TestPoisonEventsStallNobody(t *testing.T) {
	s, admin, wsA, wsB, bAdmin := acmeAndGlobex(t)
	ctx := context.Background()
	tokenA, _, _ := ingest.CreateToken(ctx, s.Store, wsA.ID, model.TokenKindCurrents, "A", nil)
	tokenB, _, _ := ingest.CreateToken(ctx, s.Store, wsB.ID, model.TokenKindCurrents, "B", &bAdmin.ID)

	// The bug: processing fails for one event of A (its campaign name trips a trigger that
	// stands for a defect in Peregrine). Fixing it is dropping the trigger.
	pgtest.Exec(t, s.DB, `CREATE FUNCTION fail_on_fault() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.campaign_name = 'FAULT' THEN RAISE EXCEPTION 'simulated defect: cannot process this event'; END IF; RETURN NEW; END $$`)
	pgtest.Exec(t, s.DB, `CREATE TRIGGER fault BEFORE INSERT ON activities FOR EACH ROW EXECUTE FUNCTION fail_on_fault()`)

	good := func(p string, i int) string {
		return fmt.Sprintf(`{"id":"%s-good-%d","event_type":"users.messages.email.Open","time":%d,"user":{"user_id":"%s-g%d"},"properties":{"email_address":"good%d@%s.example.com","campaign_name":"Fine"}}`,
			p, i, 1773000100+i, p, i, i, p)
	}
	fault := `{"id":"a-fault","event_type":"users.messages.email.Open","time":1773000200,"user":{"user_id":"a-f"},"properties":{"email_address":"fault@a.example.com","campaign_name":"FAULT"}}`

	var aGood []string
	for i := 0; i < 20; i++ {
		aGood = append(aGood, good("a", i))
	}
	poison := currentstest.Poison("a")
	for _, body := range [][]byte{currentstest.Batch(poison...), currentstest.Batch(slices.Concat(aGood[:10], []string{fault})...), currentstest.Batch(aGood[10:]...)} {
		if r := postCurrents(t, s.URL, tokenA, body, nil); r.status != 200 {
			t.Fatalf("A's batch: %d %s", r.status, r.err)
		}
	}
	for i, p := range poison { // each poison alone too, as Braze re-sends after a 400
		if r := postCurrents(t, s.URL, tokenA, currentstest.Batch(strings.Replace(p, `"id":"a-`, fmt.Sprintf(`"id":"a%d-`, i), 1)), nil); r.status != 200 {
			t.Fatalf("poison %d alone: %d %s", i, r.status, r.err)
		}
	}
	if r := postCurrents(t, s.URL, tokenA, []byte(`{"events":[`+strings.Repeat("[", 10_000_000)), nil); r.status != 400 {
		t.Fatalf("bracket bomb: %d", r.status)
	}
	if r := postCurrents(t, s.URL, tokenB, currentstest.Read("mixed-batch.json"), nil); r.status != 200 || r.result.Stored != currentstest.MixedDistinct {
		t.Fatalf("B's batch: %d %+v", r.status, r.result)
	}

	count := func(q string, args ...any) int { return pgtest.Count(t, s.DB, q, args...) }
	settled := func(ws int64) bool {
		return count(`SELECT count(*) FROM inbound_queue WHERE workspace_id = $1`, ws) == 0
	}
	// B flows while A's fault retries: B is done as soon as its queue is empty.
	waitFor(t, "B's events to be processed", func() bool { return settled(wsB.ID) })
	if n := count(`SELECT count(*) FROM activities WHERE workspace_id = $1`, wsB.ID) +
		count(`SELECT count(*) FROM inbound_waiting WHERE workspace_id = $1`, wsB.ID); n != currentstest.MixedDistinct {
		t.Fatalf("B: %d events accounted for, want %d", n, currentstest.MixedDistinct)
	}
	// A's fault backs off and is set aside after its attempts (time passes quickly here).
	waitFor(t, "A's faulty event to be set aside", func() bool {
		pgtest.Exec(t, s.DB, `UPDATE inbound_queue SET run_after = now() WHERE workspace_id = $1 AND claim IS NULL`, wsA.ID)
		s.Pipeline.Wake("inbound")
		return settled(wsA.ID)
	})
	if n := count(`SELECT count(*) FROM activities WHERE workspace_id = $1 AND campaign_name = 'Fine'`, wsA.ID); n != 20 {
		t.Fatalf("%d of A's 20 good events became activities", n)
	}
	if n := count(`SELECT count(*) FROM activities WHERE workspace_id = $1 AND length(name) > 5000 AND name LIKE '%' || repeat('長い', 2500)`, wsA.ID); n < 1 {
		t.Fatal("the 5,000-character WhatsApp message is not stored whole")
	}
	page := admin.get("/integrations/braze")
	if !strings.Contains(page.body, `id="set-aside-items"`) || !strings.Contains(page.body, "a-fault") ||
		!strings.Contains(page.body, "simulated defect") {
		t.Fatalf("the faulty event is not shown set aside:\n%.3000s", page.body[strings.Index(page.body, `id="set-aside"`):])
	}
	if count(`SELECT count(*) FROM inbound_rejects WHERE workspace_id = $1 AND reason LIKE '%nested deeper%'`, wsA.ID) != 2 {
		t.Fatal("the deep events are not kept aside as rejected")
	}

	// The fix, then Retry from the page.
	pgtest.Exec(t, s.DB, `DROP TRIGGER fault ON activities`)
	csrf := csrfField.FindStringSubmatch(page.body)[1]
	if r := admin.post("/integrations/braze/set-aside/retry", url.Values{"_csrf": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("retry: %d", r.status)
	}
	waitFor(t, "the retried event to become an activity", func() bool {
		return count(`SELECT count(*) FROM activities WHERE workspace_id = $1 AND campaign_name = 'FAULT'`, wsA.ID) == 1
	})

	// Nothing lost, nothing twice: every stored event to process is one activity or waits.
	for _, ws := range []int64{wsA.ID, wsB.ID} {
		routed := count(`SELECT count(*) FROM inbound_events WHERE workspace_id = $1 AND state = 'pending'`, ws)
		acts := count(`SELECT count(*) FROM activities WHERE workspace_id = $1`, ws)
		waiting := count(`SELECT count(*) FROM inbound_waiting WHERE workspace_id = $1`, ws)
		if acts+waiting != routed || count(`SELECT count(*) FROM work_quarantine WHERE workspace_id = $1`, ws) != 0 {
			t.Fatalf("workspace %d: %d events to process, %d activities + %d waiting", ws, routed, acts, waiting)
		}
	}
	if r := postCurrents(t, s.URL, tokenB, currentstest.Read("users.messages.email.Open.json"), nil); r.status != 200 {
		t.Fatalf("the server does not serve after all this: %d", r.status)
	}
}

// waitFor polls cond until it holds; the minute is only a hang detector, not a speed target.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
