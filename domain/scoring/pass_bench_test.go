package scoring

import (
	"fmt"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// BenchmarkLeadPass is the Go side of one lead's incremental pass, without the database:
// a lead with 20 activities over 90 days, scored by BenchmarkScoring's 50 rules, decodes its
// state and scores one new activity on top of it, as the scoring workers do in the common
// Currents case (one activity per lead per batch). BenchmarkScoring measures the same work
// with PostgreSQL beside it, whose noise hides a change of a few percent.
func BenchmarkLeadPass(b *testing.B) {
	for _, n := range []int{20, 200, 1000} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) { benchLeadPass(b, n) })
	}
}

func benchLeadPass(b *testing.B, n int) {
	defs, err := Defs(benchRules())
	if err != nil {
		b.Fatal(err)
	}
	var stored []model.StoredRule
	for i, d := range defs {
		stored = append(stored, model.StoredRule{ID: int64(i + 1), Version: 1, MatchVersion: 1, Enabled: true, Definition: d.Definition})
	}
	scores := []model.ScoreName{{ID: 1, Name: "Lead score", IsMain: true}, {ID: 2, Name: "Product interest"}, {ID: 3, Name: "Email engagement"}}
	rs, problems := Build(7, stored, scores, nil)
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	heat := HeatScale{Hot: 3, Warm: 2, Neutral: 1}
	types := []string{"users.messages.email.Open", "users.messages.email.Click", "users.behaviors.CustomEvent", "users.messages.email.Delivery"}
	names := []string{"[Email campaign engagement] Opened email Q1 launch", "[Email campaign engagement] Clicked in email Q2 webinar on https://x",
		"[Custom Event tracked] pricing_page_viewed", "[Nurturing] Received email Q3 docs", "[Custom Event tracked] demo_requested", "[Custom Event tracked] trial_started"}
	event := func(id int64, at time.Time) rules.Stamped {
		a := store.ScoringActivity{ID: id, LeadID: 1, OccurredAt: at.UnixMicro(), Source: "braze", EventType: types[id%4], Name: names[(id*3)%6],
			CampaignName: "Q" + string(rune('1'+id%4)) + " campaign"}
		e := rules.Stamped{Key: id, Event: EventOf(a, rs.PropertyKeys())}
		e.Prepare()
		return e
	}
	var history []rules.Stamped
	for k := int64(1); k <= int64(n); k++ {
		history = append(history, event(k, now.Add(-time.Duration(90*24*60*(int64(n)+1-k)/int64(n))*time.Minute)))
	}
	lead := model.ScoringLead{ID: 1, Email: "p1@co1.example", FirstName: "First1", LastName: "Last1", Title: "VP Marketing", Country: "CH"}
	then := now.Add(-time.Hour)
	first := rs.Score(LeadState{Lead: lead, Events: history}, heat, then)
	lead, state := storedAfter(b, rs, lead, first, len(history))
	added := event(int64(n)+1, now)
	window, _, read := olderAsRead(b, rs, history, state.Memory, added.Time, now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := rs.decodeState(lead.State, addedRoom) // as classify decodes it for one new activity
		if err != nil {
			b.Fatal(err)
		}
		out := rs.Score(LeadState{Lead: lead, Events: window, Added: []rules.Stamped{added}, Append: true,
			Current: st.Contributions, Rules: st.Rules, Counted: st.Events, Memory: st.Memory, Read: read}, heat, now)
		if !out.Incremental || !out.StateChanged {
			b.Fatalf("the pass did not append (incremental %v, state changed %v)", out.Incremental, out.StateChanged)
		}
	}
	b.ReportMetric(float64(len(state.Contributions)), "contributions")
	b.ReportMetric(float64(len(lead.State)), "state-bytes")
}
