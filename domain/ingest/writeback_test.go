package ingest

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestWritebackRequestsPerThousandLeads: 1,000 leads with changed values reach Braze in 14
// requests (75 attribute objects each, the documented cap); with nothing changed, a second
// pass sends nothing; a 429 waits without losing a lead.
func TestWritebackRequestsPerThousandLeads(t *testing.T) {
	e := newEnv(t)
	e.connectBraze()
	pgtest.Exec(t, e.db, `INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Lead score', true) ON CONFLICT DO NOTHING`, e.ws)
	pgtest.Exec(t, e.db, `INSERT INTO leads (workspace_id, email, grade, temperature, main_score)
		SELECT $1, 'p' || g || '@x.example', 'B', 'warm', g FROM generate_series(1, 1000) g`, e.ws)
	pgtest.Exec(t, e.db, `INSERT INTO lead_identities (workspace_id, kind, value, lead_id)
		SELECT workspace_id, 'external_id', 'ext-' || id, id FROM leads WHERE workspace_id = $1`, e.ws)
	pgtest.Exec(t, e.db, `INSERT INTO lead_scores (workspace_id, lead_id, score_id, value)
		SELECT l.workspace_id, l.id, n.id, l.main_score FROM leads l JOIN score_names n ON n.workspace_id = l.workspace_id AND n.is_main
		WHERE l.workspace_id = $1`, e.ws)
	names, _ := e.st.ListScoreNames(e.ctx, e.ws)
	for i := 1; i <= 1000; i++ {
		e.fake.AddUser(brazetest.User{ExternalID: fmt.Sprintf("ext-%d", i+lowestLead(t, e)-1)})
	}
	if err := e.st.SaveBrazeWriteback(e.ctx, e.ws, true, map[string]string{fmt.Sprintf("score:%d", names[0].ID): "pg_lead_score",
		WritebackGrade: "pg_grade", WritebackTemperature: "pg_temperature", WritebackLabels: "pg_labels"}); err != nil {
		t.Fatal(err)
	}
	r := queue.NewRunner(e.st, e.p.Writeback.Log, nil)
	q := r.Add(&queue.Queue{Table: store.WritebackWork, Handle: e.p.Writeback.Push, Batch: braze.MaxTrackAttributes})
	if _, err := r.Drain(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	requests, objects := 0, 0
	for _, c := range e.fake.Calls() {
		if c.Path == "/users/track" {
			requests++
			objects += c.Objects
		}
	}
	t.Logf("1,000 changed leads: %d /users/track requests, %d attribute objects", requests, objects)
	if requests != 14 || objects != 1000 || e.count(`SELECT count(*) FROM braze_written WHERE error = ''`) != 1000 {
		t.Fatalf("%d requests, %d objects", requests, objects)
	}
	// Nothing changed: queued again, nothing sent.
	pgtest.Exec(t, e.db, `INSERT INTO braze_outbox (workspace_id, lead_id) SELECT workspace_id, id FROM leads WHERE workspace_id = $1`, e.ws)
	if _, err := r.Drain(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Calls()); n != requests {
		t.Fatalf("unchanged values were sent again: %d more requests", n-requests)
	}
	// A rate limit: the leads wait, none is lost.
	pgtest.Exec(t, e.db, `UPDATE leads SET grade = 'A' WHERE workspace_id = $1`, e.ws)
	pgtest.Exec(t, e.db, `INSERT INTO braze_outbox (workspace_id, lead_id) SELECT workspace_id, id FROM leads WHERE workspace_id = $1`, e.ws)
	e.fake.FailNext(http.StatusTooManyRequests)
	if _, err := r.Once(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM braze_outbox WHERE workspace_id = $1`, e.ws); n != 1000 {
		t.Fatalf("%d leads left in the outbox after a 429", n)
	}
	if n := e.count(`SELECT count(*) FROM braze_outbox WHERE workspace_id = $1 AND run_after > now() AND attempts = 0`, e.ws); n != braze.MaxTrackAttributes {
		t.Fatalf("%d leads wait for the rate limit without an attempt counted", n)
	}
}

func lowestLead(t *testing.T, e *env) int {
	var id int
	e.db.QueryRow(`SELECT min(id) FROM leads WHERE workspace_id = $1`, e.ws).Scan(&id)
	return id
}
