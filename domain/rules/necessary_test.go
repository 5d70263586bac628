package rules

import (
	"encoding/json"
	"math/rand"
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
