package rules

import (
	"encoding/json"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMarksStandInForEvents: for random rules and histories, counts and recent labels decide
// the same over events kept as times and marks as over the events themselves, and a rule
// whose tests depend on the moment gets no marks.
func TestMarksStandInForEvents(t *testing.T) {
	conds := []string{
		`{"field": "event.type", "operator": "equals", "value": "users.messages.email.Click"}`,
		`{"field": "event.name", "operator": "contains", "value": "Pricing"}`,
		`{"field": "event.name", "operator": "not_contains", "value": "demo"}`,
		`{"field": "web.path", "operator": "contains", "value": "pricing"}`,
		`{"field": "profile.title", "operator": "contains", "value": "vp"}`,
		`{"field": "event.time", "operator": "after", "value": "2020-01-01"}`,
		`{"field": "account.score", "score": "Lead score", "operator": ">=", "value": 50}`,
		`{"combinator": "or", "rules": [{"field": "profile.country", "operator": "equals", "value": "CH"}, {"field": "event.name", "operator": "contains", "value": "demo"}]}`,
		`{"field": "event.count", "operator": ">=", "value": 2, "window_days": 30, "where": {"combinator": "and", "rules": [{"field": "event.name", "operator": "contains", "value": "demo"}]}}`,
		`{"field": "event.count", "operator": "<=", "value": 1, "window_days": 14, "where": {"combinator": "or", "not": true, "rules": [{"field": "web.path", "operator": "contains", "value": "pricing"}, {"field": "event.type", "operator": "equals", "value": "users.messages.email.Click"}]}}`,
		`{"field": "event.count", "operator": ">=", "value": 1, "window_days": 20, "where": {"combinator": "and", "rules": [{"field": "event.time", "operator": "within_last_days", "value": 3}]}}`,
	}
	recent := []string{
		`{"field": "event.time", "operator": "within_last_days", "value": 7}`,
		`{"field": "event.time", "operator": "within_last_days", "value": 21}`,
	}
	names := []string{"[Website] Visited Pricing (/pricing)", "Demo day", "[Custom Event tracked] pricing_page_viewed", "Opened", ""}
	types := []string{"users.messages.email.Click", "users.messages.email.Open", "web.page_view"}
	sources := []string{"braze", "web"}
	paths := []string{"/pricing", "/blog", ""}
	rng := rand.New(rand.NewSource(5))
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	profile := Profile{Title: "VP Sales"}
	// The account's rolled-up score moves between the scorings (not part of the profile's
	// fingerprint): a label mark must not keep an answer that depends on it.
	then, later := &Account{Scores: map[string]float64{"Lead score": 70}}, &Account{Scores: map[string]float64{"Lead score": 20}}
	counted, labelled, refused := 0, 0, 0
	for round := 0; round < 1500; round++ {
		var parts []string
		for i := 0; i < 1+rng.Intn(3); i++ {
			parts = append(parts, conds[rng.Intn(len(conds))])
		}
		comb := []string{"and", "or"}[rng.Intn(2)]
		if rng.Intn(2) == 0 {
			comb, parts = "and", append(parts, recent[rng.Intn(len(recent))])
			rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		}
		src := `{"combinator": "` + comb + `", "rules": [` + strings.Join(parts, ",") + `]}`
		src = strings.ReplaceAll(src, `{"combinator": "or", "rules": [{"field": "profile`, `{"rules": [{"field": "profile`) // Group nodes
		c := compileJSON(t, src)
		var ms MarkSet
		countMarks, countOK := c.CountMarks()
		labelMark, labelOK := c.LabelMark()
		if countOK {
			ms.Add(countMarks...)
		}
		if labelOK {
			ms.Add(labelMark)
		}
		if strings.Contains(src, `"value": 3}`) && countOK || !countOK && !strings.Contains(src, `"value": 3}`) {
			t.Fatalf("%s: count marks ok %v", src, countOK)
		}
		if !countOK {
			refused++
		}
		full := randomEvents(rng, 1+rng.Intn(15), now, names, types, sources, paths)
		marked := make([]Event, len(full))
		s := &Subject{Now: now, Profile: profile, Account: then}
		for i := range full {
			marked[i] = Event{Time: full[i].Time, TimeOnly: true, Marks: ms.Of(s, &full[i])}
		}
		if countOK && len(countMarks) > 0 {
			counted++
			// Scoring a new event: the older ones as marks, the new one itself.
			last := len(full) - 1
			withMarks := append(slices.Clone(marked[:last]), full[last])
			want := c.Match(&Subject{Now: full[last].Time, Event: &full[last], Events: full, Profile: profile, Account: later})
			got := c.Match(&Subject{Now: full[last].Time, Event: &withMarks[last], Events: withMarks, Profile: profile, Account: later, Marks: &ms})
			if want != got {
				t.Fatalf("%s over %v: %v with the events, %v with their marks", src, full, want, got)
			}
		}
		if labelOK && countOK { // a label's counts need their marks too
			labelled++
			want := c.Match(&Subject{Now: now, Events: full, Profile: profile, Account: later})
			for i := range full {
				want = want || c.Match(&Subject{Now: now, Event: &full[i], Events: full, Profile: profile, Account: later})
			}
			got := false
			for _, e := range marked {
				s := &Subject{Now: now, Events: marked, Profile: profile, Account: later, Marks: &ms}
				got = got || e.Marks&ms.Bit(labelMark) != 0 && labelMark.HeldAt(s, e.Time)
			}
			if want != got {
				t.Fatalf("label %s over %v: %v with the events, %v with their marks", src, full, want, got)
			}
		}
	}
	if counted < 200 || labelled < 100 || refused < 100 {
		t.Fatalf("%d rules with count marks, %d with a label mark, %d refused", counted, labelled, refused)
	}
}

// compileJSON compiles a group written in JSON.
func compileJSON(t *testing.T, src string) *Compiled {
	t.Helper()
	var g Group
	if err := json.Unmarshal([]byte(src), &g); err != nil {
		t.Fatal(err)
	}
	c, err := Compile(&g)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// randomEvents makes n prepared events of the last 40 days, in time order, from the values
// given (each event has a website path property).
func randomEvents(rng *rand.Rand, n int, now time.Time, names, types, sources, paths []string) []Event {
	var out []Event
	for i := 0; i < n; i++ {
		e := Event{Name: names[rng.Intn(len(names))], Type: types[rng.Intn(len(types))], Source: sources[rng.Intn(len(sources))],
			Time: now.Add(-time.Duration(rng.Intn(40*24)) * time.Hour), Properties: map[string]any{"path": paths[rng.Intn(len(paths))]}}
		e.Prepare()
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return out
}
