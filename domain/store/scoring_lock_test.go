package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestLockScoringLeadsHoldsActivitySummaries: while scoring holds a lead, storing an activity
// for it waits on the lead's activity summary (so what scoring read of its activities stays
// true), another lead's does not, and the waiting one goes through once scoring commits.
func TestLockScoringLeadsHoldsActivitySummaries(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	other := anotherLead(t, st, a)
	event := int64(1000)
	store1 := func(lead int64) error {
		event++
		return st.InTx(ctx, func(tx *store.Tx) error {
			return tx.InsertActivities(ctx, a.ws.ID, []model.ActivityRow{{LeadID: lead, InboundEventID: event, OccurredAt: time.Now(),
				Source: "braze", EventType: "users.messages.email.Open", Name: "Opened"}})
		})
	}
	for _, lead := range []int64{a.lead.ID, other.ID} {
		if err := store1(lead); err != nil {
			t.Fatal(err)
		}
	}
	summary := func() int {
		return pgtest.Count(t, db, `SELECT activity_count FROM lead_activity WHERE workspace_id = $1 AND lead_id = $2`, a.ws.ID, a.lead.ID)
	}
	before := summary()
	waited := make(chan error, 1)
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.LockScoringLeads(ctx, a.ws.ID, []int64{a.lead.ID}); err != nil {
			return err
		}
		if err := store1(other.ID); err != nil {
			return err // another lead's activity is not held up
		}
		done := make(chan error, 1)
		go func() { done <- store1(a.lead.ID) }()
		for {
			select {
			case err := <-done:
				return errors.Join(err, errors.New("an activity of the lead being scored was stored meanwhile"))
			default:
			}
			if pgtest.Count(t, db, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO lead_activity%'`) > 0 {
				go func() { waited <- <-done }()
				return nil
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if n := summary(); n != before+1 {
		t.Fatalf("the lead's summary counts %d activities, want %d", n, before+1)
	}
}
