package rules

import (
	"encoding/json"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// passes is what the SQL of store.LeadIDsMatching checks, in Go.
func (f ActivityFilter) passes(e Event) bool {
	for _, t := range f {
		col := map[string]string{"event_type": e.Type, "name": e.Name, "source": e.Source}[t.Column]
		col = strings.ToLower(col)
		for _, v := range t.Values {
			switch {
			case t.Op == "equals" && col == v, t.Op == "contains" && strings.Contains(col, v), t.Op == "begins_with" && strings.HasPrefix(col, v):
				return true
			}
		}
	}
	return false
}

// The filter is necessary: whenever a rule matches an event, the event passes the filter —
// checked over random events for rules of every shape the derivation handles.
func TestNecessaryActivitiesNeverMissAMatch(t *testing.T) {
	conds := []string{
		`{"field": "event.type", "operator": "equals", "value": "users.messages.email.Click"}`,
		`{"field": "event.name", "operator": "contains", "value": "Pricing"}`,
		`{"field": "event.name", "operator": "begins_with", "value": "[website]"}`,
		`{"field": "event.source", "operator": "in", "value": ["web", "Braze"]}`,
		`{"field": "event.name", "operator": "not_contains", "value": "demo"}`,
		`{"field": "web.path", "operator": "contains", "value": "pricing"}`,
		`{"field": "profile.title", "operator": "contains", "value": "vp"}`,
		`{"field": "event.count", "operator": ">=", "value": 2, "window_days": 30, "where": {"combinator": "and", "rules": [{"field": "event.name", "operator": "contains", "value": "demo"}]}}`,
		`{"field": "event.count", "operator": "<=", "value": 1, "window_days": 30, "where": {"combinator": "and", "rules": [{"field": "event.name", "operator": "contains", "value": "demo"}]}}`,
	}
	names := []string{"[Website] Visited Pricing (/pricing)", "[Email campaign engagement] Clicked in email Demo day", "[Custom Event tracked] pricing_page_viewed",
		"[Website] Submitted the demo request form on /contact", "Opened", ""}
	types := []string{"users.messages.email.Click", "USERS.MESSAGES.EMAIL.OPEN", "web.page_view", "users.behaviors.CustomEvent"}
	sources := []string{"braze", "web", "sales_email"}
	rng := rand.New(rand.NewSource(7))
	now := time.Now()
	derived := 0
	for round := 0; round < 400; round++ {
		var group func(depth int) string
		group = func(depth int) string {
			n := 1 + rng.Intn(3)
			var parts []string
			for i := 0; i < n; i++ {
				if depth < 2 && rng.Intn(3) == 0 {
					parts = append(parts, group(depth+1))
				} else {
					parts = append(parts, conds[rng.Intn(len(conds))])
				}
			}
			comb := []string{"and", "or"}[rng.Intn(2)]
			not := rng.Intn(6) == 0
			return `{"combinator": "` + comb + `", "not": ` + map[bool]string{true: "true", false: "false"}[not] + `, "rules": [` + strings.Join(parts, ",") + `]}`
		}
		var g Group
		if err := json.Unmarshal([]byte(group(0)), &g); err != nil {
			t.Fatal(err)
		}
		c, err := Compile(&g)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := c.NecessaryActivities()
		if !ok {
			continue
		}
		derived++
		var history []Event
		for i := 0; i < 12; i++ {
			e := Event{Name: names[rng.Intn(len(names))], Type: types[rng.Intn(len(types))], Source: sources[rng.Intn(len(sources))],
				Time: now.Add(-time.Duration(rng.Intn(20)) * 24 * time.Hour), Properties: map[string]any{"path": "/pricing"}}
			e.Prepare()
			history = append(history, e)
		}
		anyPasses := false
		for i := range history {
			anyPasses = anyPasses || f.passes(history[i])
		}
		for i := range history {
			s := &Subject{Now: now, Event: &history[i], Events: history, Profile: Profile{Title: "VP Sales"}}
			if c.Match(s) && !anyPasses {
				t.Fatalf("rule %s matched a lead none of whose activities passes %+v", mustJSON(g), f)
			}
		}
	}
	if derived < 100 {
		t.Fatalf("a filter was derived for only %d of 400 rules: the test exercises too little", derived)
	}
}

func TestNecessaryActivitiesShapes(t *testing.T) {
	for src, want := range map[string]string{
		`{"combinator": "and", "rules": [{"field": "profile.title", "operator": "contains", "value": "vp"}, {"field": "event.name", "operator": "contains", "value": "Webinar"}]}`: `[{"column":"name","op":"contains","values":["webinar"]}]`,
		`{"combinator": "or", "rules": [{"field": "event.type", "operator": "in", "value": ["a.b", "c.d"]}, {"field": "event.source", "operator": "equals", "value": "web"}]}`:     `[{"column":"event_type","op":"equals","values":["a.b","c.d"]},{"column":"source","op":"equals","values":["web"]}]`,
		`{"combinator": "or", "rules": [{"field": "event.name", "operator": "contains", "value": "x"}, {"field": "profile.title", "operator": "contains", "value": "vp"}]}`:        `none`,
		`{"combinator": "and", "not": true, "rules": [{"field": "event.name", "operator": "contains", "value": "x"}]}`:                                                             `none`,
		`{"combinator": "and", "rules": [{"field": "event.name", "operator": "contains", "value": "café"}]}`:                                                                       `none`,
		`{"combinator": "and", "rules": [{"field": "web.path", "operator": "contains", "value": "pricing"}]}`:                                                                      `[{"column":"source","op":"equals","values":["web","sales_email"]}]`,
		`{"combinator": "and", "rules": [{"field": "web.form_type", "operator": "is_empty"}]}`:                                                                                     `none`,
	} {
		var g Group
		json.Unmarshal([]byte(src), &g)
		c, err := Compile(&g)
		if err != nil {
			t.Fatal(err)
		}
		got := "none"
		if f, ok := c.NecessaryActivities(); ok {
			got = mustJSON(f)
		}
		if got != want {
			t.Errorf("%s: %s, want %s", src, got, want)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Keeping only the times of the older events HistoryActivities' filter does not pass changes
// no outcome: a label (held with no event or with one of the events) and a score rule (held
// with a new event, counting over the older ones) decide the same — checked over random rules
// and histories. Fails when a count's "where" or the event tested can pass an event the filter
// leaves out, or when a time-only event passes a "where".
func TestTimesSufficeOutsideHistoryActivities(t *testing.T) {
	conds := []string{
		`{"field": "event.type", "operator": "equals", "value": "users.messages.email.Click"}`,
		`{"field": "event.name", "operator": "contains", "value": "Pricing"}`,
		`{"field": "event.name", "operator": "not_contains", "value": "demo"}`,
		`{"field": "web.path", "operator": "contains", "value": "pricing"}`,
		`{"field": "web.form_type", "operator": "is_empty"}`,
		`{"field": "event.time", "operator": "within_last_days", "value": 7}`,
		`{"field": "profile.title", "operator": "contains", "value": "vp"}`,
		`{"field": "event.count", "operator": ">=", "value": 3, "window_days": 10}`,
		`{"field": "event.count", "operator": ">=", "value": 2, "window_days": 30, "where": {"combinator": "and", "rules": [{"field": "event.name", "operator": "contains", "value": "demo"}]}}`,
		`{"field": "event.count", "operator": "<=", "value": 1, "window_days": 14, "where": {"combinator": "or", "rules": [{"field": "web.path", "operator": "contains", "value": "pricing"}, {"field": "event.type", "operator": "equals", "value": "users.messages.email.Click"}]}}`,
	}
	names := []string{"[Website] Visited Pricing (/pricing)", "Demo day", "[Custom Event tracked] pricing_page_viewed", "Opened", ""}
	types := []string{"users.messages.email.Click", "users.messages.email.Open", "web.page_view", "users.behaviors.CustomEvent"}
	sources := []string{"braze", "web", "sales_email"}
	paths := []string{"/pricing", "/blog", ""}
	rng := rand.New(rand.NewSource(11))
	now := time.Now()
	derived, timeOnly := 0, 0
	for round := 0; round < 600; round++ {
		n := 1 + rng.Intn(3)
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, conds[rng.Intn(len(conds))])
		}
		src := `{"combinator": "` + []string{"and", "or"}[rng.Intn(2)] + `", "rules": [` + strings.Join(parts, ",") + `]}`
		c := compileJSON(t, src)
		label, labelOK := c.HistoryActivities()
		counted, countedOK := c.CountedActivities()
		if !labelOK && !countedOK {
			continue
		}
		derived++
		var kept []Event
		full := randomEvents(rng, 15, now, names, types, sources, paths)
		timesOnly := func(f ActivityFilter) []Event {
			out := slices.Clone(full)
			for i := range out {
				if !f.passes(out[i]) {
					out[i] = Event{Time: out[i].Time, TimeOnly: true}
					timeOnly++
				}
			}
			return out
		}
		if labelOK {
			kept = timesOnly(label)
			holds := func(events []Event) bool {
				s := &Subject{Now: now, Events: events, Profile: Profile{Title: "VP Sales"}}
				if c.Match(s) {
					return true
				}
				for i := range events {
					if events[i].TimeOnly {
						continue
					}
					s.Event = &events[i]
					if c.Match(s) {
						return true
					}
				}
				return false
			}
			without := c.Match(&Subject{Now: now, Events: full, Profile: Profile{Title: "VP Sales"}})
			for i := range full {
				if s := (&Subject{Now: now, Event: &full[i], Events: full, Profile: Profile{Title: "VP Sales"}}); !without && !label.passes(full[i]) && c.Match(s) {
					t.Fatalf("label %s holds with an event outside %s: %+v", src, mustJSON(label), full[i])
				}
			}
			if holds(full) != holds(kept) {
				t.Fatalf("label %s: %v with every event, %v with times outside %s", src, holds(full), holds(kept), mustJSON(label))
			}
		}
		if countedOK {
			kept = timesOnly(counted)
			added := full[len(full)-1]
			s := &Subject{Now: added.Time, Event: &added, Events: full, Profile: Profile{Title: "VP Sales"}}
			want := c.Match(s)
			s.Events = append(kept[:len(kept)-1:len(kept)-1], added)
			if got := c.Match(s); got != want {
				t.Fatalf("score rule %s: %v with every event, %v with times outside %s", src, want, got, mustJSON(counted))
			}
		}
	}
	if derived < 200 || timeOnly < 1000 {
		t.Fatalf("a filter was derived for %d of 600 rules, %d events kept as times: the test exercises too little", derived, timeOnly)
	}
}
