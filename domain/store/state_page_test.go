package store_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestStateRewritesStayOnTheirPage: lead states are stored with room on each page
// (migration 0043), so a scoring pass that rewrites a state without moving its refresh time
// puts the new version on the same page — without room, every page is full and no state
// stays.
func TestStateRewritesStayOnTheirPage(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	ids := []int64{a.lead.ID}
	for i := 1; i < 70; i++ {
		l, err := st.CreateLead(ctx, model.Lead{WorkspaceID: a.ws.ID, Email: fmt.Sprintf("person%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	refresh := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	save := func(fill byte) {
		t.Helper()
		var states []model.LeadState
		for _, id := range ids {
			states = append(states, model.LeadState{LeadID: id, RulesVersion: 1, ProfileHash: 7, State: bytes.Repeat([]byte{fill}, 1000), RefreshAt: &refresh})
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.SaveScoring(ctx, a.ws.ID, model.ScoringWrite{States: states})
		}); err != nil {
			t.Fatal(err)
		}
	}
	pages := func() map[int64]int64 {
		t.Helper()
		rows, err := db.Query(`SELECT lead_id, (ctid::text::point)[0]::bigint FROM lead_scoring_state WHERE workspace_id = $1`, a.ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]int64{}
		for rows.Next() {
			var lead, page int64
			if err := rows.Scan(&lead, &page); err != nil {
				t.Fatal(err)
			}
			out[lead] = page
		}
		return out
	}
	save(1)
	before := pages()
	save(2)
	stayed := 0
	for lead, page := range pages() {
		if before[lead] == page {
			stayed++
		}
	}
	if stayed*4 < len(ids) {
		t.Fatalf("%d of %d rewritten states stayed on their page, want at least a quarter", stayed, len(ids))
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM lead_scoring_state WHERE workspace_id = $1 AND contributions = $2`, a.ws.ID, bytes.Repeat([]byte{2}, 1000)); n != len(ids) {
		t.Fatalf("%d of %d states read back as rewritten", n, len(ids))
	}
}
