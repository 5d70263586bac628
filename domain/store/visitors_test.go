package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestVisitorRetention: anonymous browsers not seen within their site's retention go, with
// their activities and stored events; recent ones and identified ones stay.
func TestVisitorRetention(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	ws := a.ws.ID
	site, err := st.CreateSite(ctx, model.Site{WorkspaceID: ws, Key: "ps_1_k", Name: "s", Origins: []string{"https://a.example"},
		ExcludedIPs: []string{}, RetentionDays: 30, LinkDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertInboundBatch(ctx, ws, model.SourceWeb, []model.NewInboundEvent{
		{EventID: "old-hit", EventType: "web.page", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundIgnored},
		{EventID: "new-hit", EventType: "web.page", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundIgnored},
		{EventID: "lead-hit", EventType: "web.page", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundIgnored}}, nil); err != nil {
		t.Fatal(err)
	}
	event := func(id string) int64 {
		var n int64
		db.QueryRow(`SELECT id FROM inbound_events WHERE workspace_id = $1 AND event_id = $2`, ws, id).Scan(&n)
		return n
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		vs, err := tx.UpsertVisitors(ctx, ws, []model.VisitorSeen{{Key: "old", SiteID: site.ID, At: time.Now()},
			{Key: "new", SiteID: site.ID, At: time.Now()}, {Key: "known", SiteID: site.ID, At: time.Now()}})
		if err != nil {
			return err
		}
		var rows []model.ActivityRow
		for key, ev := range map[string]string{"old": "old-hit", "new": "new-hit", "known": "lead-hit"} {
			rows = append(rows, model.ActivityRow{VisitorID: vs[key].ID, InboundEventID: event(ev), OccurredAt: time.Now(),
				Source: "web", EventType: "web.page_view", Name: "[Website] Visited /"})
		}
		if err := tx.InsertActivityRows(ctx, ws, rows); err != nil {
			return err
		}
		_, err = tx.LinkVisitor(ctx, ws, model.IdentityLink{VisitorID: vs["known"].ID, LeadID: a.lead.ID, Reason: model.LinkForm})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `UPDATE visitors SET last_seen_at = now() - interval '31 days' WHERE workspace_id = $1 AND key IN ('old', 'known')`, ws)
	pgtest.Exec(t, db, `UPDATE visitors SET last_seen_at = now() - interval '29 days' WHERE workspace_id = $1 AND key = 'new'`, ws)
	n, err := st.DeleteExpiredVisitors(ctx)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d browsers (%v), want 1", n, err)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM visitors WHERE workspace_id = $1`:                                 2,
		`SELECT count(*) FROM visitors WHERE workspace_id = $1 AND key = 'old'`:                 0,
		`SELECT count(*) FROM activities WHERE workspace_id = $1 AND source = 'web'`:            2,
		`SELECT count(*) FROM inbound_events WHERE workspace_id = $1 AND event_id = 'old-hit'`:  0,
		`SELECT count(*) FROM inbound_events WHERE workspace_id = $1 AND event_id = 'lead-hit'`: 1,
	} {
		if got := pgtest.Count(t, db, q, ws); got != want {
			t.Errorf("%s: %d, want %d", q, got, want)
		}
	}
}
