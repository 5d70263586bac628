package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestLedgerLinesAreStoredAsWritten: ledger lines go in by COPY and come back as written, in
// their order — NULLs, a label with the characters COPY escapes, times to the microsecond,
// fractional and tiny points, and a line covering several activities.
func TestLedgerLinesAreStoredAsWritten(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	scoreID, activityID := int64(7), int64(42)
	at := time.Date(2026, 11, 27, 18, 4, 43, 123456000, time.UTC)
	lines := []model.LedgerLine{
		{LeadID: a.lead.ID, Kind: "score", ScoreID: &scoreID, RuleID: 3, RuleVersion: 2, ActivityID: &activityID, EarnedAt: &at, Delta: 2.5, Before: 0, After: 2.5},
		{LeadID: a.lead.ID, Kind: "label", Label: "Hot\tlead \\ \"x\"\n{a,b} NULL", RuleID: 4, RuleVersion: 1, Delta: 1, Before: 0, After: 1},
		{LeadID: a.lead.ID, Kind: "score", ScoreID: &scoreID, RuleID: 5, RuleVersion: 9, EarnedAt: &at, Delta: -0.30000000000000004, Before: 2.5, After: 2.2,
			Covers: []model.Covered{{ActivityID: 1, EarnedAt: at, Delta: 0.1}, {ActivityID: 2, EarnedAt: at.Add(time.Hour), Delta: -0.4}, {ActivityID: 3, EarnedAt: at.Add(-time.Minute), Delta: 1e-7}}},
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SaveScoring(ctx, a.ws.ID, model.ScoringWrite{Ledger: lines}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT kind, score_id, label, rule_id, rule_version, activity_id, earned_at, delta, before, after,
			COALESCE(to_json(activity_ids)::text, 'null'), COALESCE(to_json(earned_ats)::text, 'null'), COALESCE(to_json(deltas)::text, 'null')
		FROM score_ledger WHERE workspace_id = $1 AND lead_id = $2 ORDER BY id`, a.ws.ID, a.lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []model.LedgerLine
	for rows.Next() {
		var l model.LedgerLine
		var ids, times, deltas string
		if err := rows.Scan(&l.Kind, &l.ScoreID, &l.Label, &l.RuleID, &l.RuleVersion, &l.ActivityID, &l.EarnedAt, &l.Delta, &l.Before, &l.After, &ids, &times, &deltas); err != nil {
			t.Fatal(err)
		}
		var cids []int64
		var ctimes []time.Time
		var cdeltas []float64
		for _, c := range []struct {
			text string
			into any
		}{{ids, &cids}, {times, &ctimes}, {deltas, &cdeltas}} {
			if err := json.Unmarshal([]byte(c.text), c.into); err != nil {
				t.Fatal(err)
			}
		}
		for i := range cids {
			l.Covers = append(l.Covers, model.Covered{ActivityID: cids[i], EarnedAt: ctimes[i].UTC(), Delta: cdeltas[i]})
		}
		if l.EarnedAt != nil {
			u := l.EarnedAt.UTC()
			l.EarnedAt = &u
		}
		l.LeadID = a.lead.ID
		got = append(got, l)
	}
	if !reflect.DeepEqual(got, lines) {
		t.Fatalf("stored lines differ:\n got %+v\nwant %+v", got, lines)
	}
}
