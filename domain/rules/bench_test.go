package rules

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkIncremental scores activities as they arrive (in time order, the usual case) with
// 50 rules of mixed kinds, for leads of 40 activities each; it reports activities per second
// of the pure engine (no database).
func BenchmarkIncremental(b *testing.B) {
	conds := []string{
		opened, pricing,
		`{"combinator":"and","rules":[{"field":"event.count","operator":">=","value":3,"window_days":14,"where":` + opened + `}]}`,
		`{"combinator":"or","rules":[{"field":"event.property","property":"campaign_name","operator":"contains","value":"webinar"},{"field":"event.name","operator":"begins_with","value":"[Purchase]"}]}`,
		`{"combinator":"and","rules":[{"field":"profile.country","operator":"in","value":["CH","DE","AT"]},{"field":"event.type","operator":"ends_with","value":".Click"}]}`,
	}
	var rules []ScoringRule
	for i := 0; i < 50; i++ {
		c, err := CompileJSON([]byte(conds[i%len(conds)]))
		if err != nil {
			b.Fatal(err)
		}
		per := PerEvent
		if i%3 == 0 {
			per = PerLead
		}
		rules = append(rules, ScoringRule{ID: int64(i + 1), Version: 1, When: c, Effect: ScoreEffect{Score: fmt.Sprint("s", i%4), Points: 5, Per: per, Cap: 50}})
	}
	types := []string{"users.messages.email.Open", "custom", "users.messages.email.Click", "users.messages.email.Delivery"}
	b.ResetTimer()
	var lead *LeadScorer
	for i := 0; i < b.N; i++ {
		if i%40 == 0 {
			lead = &LeadScorer{Rules: rules, Profile: Profile{Country: "CH"}}
		}
		e := ev(int64(i), types[i%len(types)], now.Add(time.Duration(i%40)*time.Hour))
		e.Properties = map[string]any{"campaign_name": "Q1 webinar"}
		lead.Add(e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "activities/s")
}

// BenchmarkExtend scores a burst of new activities behind a lead's history, as incremental
// scoring does (Extend), with rules that compare a property and the profile as text: one op
// is one lead with 20 past activities and 10 new ones, each prepared as scoring prepares them.
func BenchmarkExtend(b *testing.B) {
	conds := []string{
		opened,
		`{"combinator":"and","rules":[{"field":"event.property","property":"campaign_name","operator":"contains","value":"webinar"}]}`,
		`{"combinator":"and","rules":[{"field":"profile.title","operator":"contains","value":"vp"},{"field":"event.type","operator":"ends_with","value":".Open"}]}`,
		`{"combinator":"and","rules":[{"field":"event.count","operator":">=","value":3,"window_days":14,"where":` + opened + `}]}`,
	}
	var rules []ScoringRule
	for i := 0; i < 40; i++ {
		c, err := CompileJSON([]byte(conds[i%len(conds)]))
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, ScoringRule{ID: int64(i + 1), Version: 1, When: c, Effect: ScoreEffect{Score: fmt.Sprint("s", i%3), Points: 5, Per: PerEvent, Cap: 500}})
	}
	pos := func(id int64) (int, bool) { return int(id - 1), id >= 1 && int(id) <= len(rules) }
	stamped := func(k int) Stamped {
		e := ev(int64(k), "users.messages.email.Open", now.Add(time.Duration(k)*time.Hour))
		e.Properties = map[string]any{"campaign_name": "Q2 Webinar Series"}
		return e
	}
	lower := Lowercase{}
	history := make([]Event, 20)
	for k := range history {
		history[k] = stamped(k).Event
		history[k].PrepareWith(lower)
	}
	profile := Profile{Title: "VP Marketing", Country: "CH"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		added := make([]Stamped, 10)
		for k := range added {
			added[k] = stamped(20 + k)
			added[k].PrepareWith(lower)
		}
		events := append(slices.Clip(history), make([]Event, len(added))...)
		for k := range added {
			events[len(history)+k] = added[k].Event
		}
		Extend(rules, pos, profile, nil, nil, events, added, nil)
	}
}
