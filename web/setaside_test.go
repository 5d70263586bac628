package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestSetAsideItemActions works the per-item buttons of the Set aside card: Retry puts one
// event back to work (processed once, not twice), Discard keeps it aside as discarded, another
// workspace's item cannot be touched, and a form that names no real item gets a 400.
func TestSetAsideItemActions(t *testing.T) {
	s, admin, wsA, wsB, _ := acmeAndGlobex(t)
	ctx := context.Background()
	count := func(q string, args ...any) int { return pgtest.Count(t, s.DB, q, args...) }
	eventOf := func(ws int64, file string) int64 {
		token, _, _ := ingest.CreateToken(ctx, s.Store, ws, model.TokenKindCurrents, file, nil)
		if r := postCurrents(t, s.URL, token, currentstest.Read(file), nil); r.status != http.StatusOK || r.result.Stored != 1 {
			t.Fatalf("%s: %d %+v", file, r.status, r.result)
		}
		var id int64
		s.DB.QueryRow(`SELECT max(id) FROM inbound_events WHERE workspace_id = $1`, ws).Scan(&id)
		return id
	}
	retried, discarded := eventOf(wsA.ID, "users.messages.email.Open.json"), eventOf(wsA.ID, "users.messages.email.Click.json")
	theirs := eventOf(wsB.ID, "users.messages.email.Open.json")
	waitFor(t, "the events to be processed", func() bool { return count(`SELECT count(*) FROM inbound_queue`) == 0 })
	activities := count(`SELECT count(*) FROM activities WHERE workspace_id = $1`, wsA.ID)
	// Each as if it had failed five times (the poison test makes one for real).
	for _, e := range []struct{ ws, id int64 }{{wsA.ID, retried}, {wsA.ID, discarded}, {wsB.ID, theirs}} {
		pgtest.Exec(t, s.DB, `INSERT INTO work_quarantine (workspace_id, queue, item_id, item, attempts, reason) VALUES ($1, 'inbound', $2,
			jsonb_build_object('workspace_id', $1::bigint, 'event_row_id', $2::bigint, 'received_at', now(), 'attempts', 5, 'run_after', now(), 'claim', NULL, 'last_error', 'boom'),
			5, 'boom: it kept failing')`, e.ws, e.id)
	}

	page := admin.get("/integrations/braze")
	items := page.body[strings.Index(page.body, `id="set-aside-items"`):]
	if strings.Count(items, `name="id" value="`+strconv.FormatInt(retried, 10)+`"`) != 2 ||
		strings.Count(items, `name="id" value="`+strconv.FormatInt(discarded, 10)+`"`) != 2 || strings.Contains(items, `value="`+strconv.FormatInt(theirs, 10)+`"`) {
		t.Fatalf("the card should offer Retry and Discard for A's two items only:\n%.3000s", items)
	}
	csrf := csrfField.FindStringSubmatch(page.body)[1]
	form := func(id int64) url.Values {
		return url.Values{"_csrf": {csrf}, "queue": {"inbound"}, "id": {strconv.FormatInt(id, 10)}}
	}

	// Retry one: it goes back to work and is processed again without a second activity.
	if r := admin.post("/integrations/braze/set-aside/retry", form(retried)); r.status != http.StatusSeeOther {
		t.Fatalf("retry: %d", r.status)
	}
	if !strings.Contains(admin.get("/integrations/braze").body, "1 item back at work") {
		t.Fatal("retry does not say what it did")
	}
	waitFor(t, "the retried event to be processed", func() bool {
		return count(`SELECT count(*) FROM inbound_queue`) == 0 && count(`SELECT count(*) FROM work_quarantine WHERE item_id = $1`, retried) == 0
	})
	if n := count(`SELECT count(*) FROM activities WHERE workspace_id = $1`, wsA.ID); n != activities {
		t.Fatalf("%d activities after the retry, want %d", n, activities)
	}

	// Another workspace's item: nothing happens to it, and the page says so.
	if r := admin.post("/integrations/braze/set-aside/discard", form(theirs)); r.status != http.StatusSeeOther {
		t.Fatalf("discard of B's item: %d", r.status)
	}
	if !strings.Contains(admin.get("/integrations/braze").body, "no longer set aside") ||
		count(`SELECT count(*) FROM work_quarantine WHERE workspace_id = $1`, wsB.ID) != 1 {
		t.Fatal("A's admin reached B's set-aside item")
	}

	// Discard one: it leaves the card and stays accounted for, marked discarded.
	if r := admin.post("/integrations/braze/set-aside/discard", form(discarded)); r.status != http.StatusSeeOther {
		t.Fatalf("discard: %d", r.status)
	}
	if count(`SELECT count(*) FROM work_quarantine WHERE workspace_id = $1`, wsA.ID) != 0 ||
		count(`SELECT count(*) FROM inbound_waiting WHERE event_row_id = $1 AND reason LIKE 'discarded by %'`, discarded) != 1 {
		t.Fatal("the discarded event is not kept aside as discarded")
	}
	if page := admin.get("/integrations/braze").body; !strings.Contains(page, "Nothing is set aside") {
		t.Fatal("the card is not empty after retry and discard")
	}

	// Forms that name no real item.
	for _, f := range []url.Values{
		{"_csrf": {csrf}},
		{"_csrf": {csrf}, "queue": {"inbound"}, "id": {"abc"}},
		{"_csrf": {csrf}, "queue": {"inbound"}, "id": {"-4"}},
		{"_csrf": {csrf}, "queue": {"nope"}, "id": {"12"}},
	} {
		if r := admin.post("/integrations/braze/set-aside/discard", f); r.status != http.StatusBadRequest || !strings.Contains(r.body, "item") {
			t.Errorf("discard %v: %d", f, r.status)
		}
	}
}
