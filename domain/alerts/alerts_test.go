package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

func compile(t *testing.T, d Definition) *Rule {
	t.Helper()
	d.Owner, d.ThrottleHours = true, 24
	r, err := Compile(1, "alert", d, map[string]int64{"Lead score": 7})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTriggers: each trigger fires on the change it names and only then.
func TestTriggers(t *testing.T) {
	now := time.Now()
	pricing := rules.Event{Name: "[Website] Visited /pricing", Type: "web.page_view", Source: "web", Time: now, Properties: map[string]any{"path": "/pricing"}}
	blog := rules.Event{Name: "[Website] Visited /blog", Type: "web.page_view", Source: "web", Time: now, Properties: map[string]any{"path": "/blog"}}
	pricing.Prepare()
	blog.Prepare()
	cases := []struct {
		name   string
		def    Definition
		change Change
		want   string // "" for no alert
	}{
		{"label gained", Definition{Trigger: LabelGained, Label: "Demo requested"}, Change{Gained: []string{"demo requested"}}, "gained the label “demo requested”"},
		{"label kept", Definition{Trigger: LabelGained, Label: "Demo requested"}, Change{}, ""},
		{"score crosses up", Definition{Trigger: ScoreCrossed, Score: "Lead score", Threshold: 60},
			Change{ScoresBefore: map[int64]float64{7: 55}, ScoresAfter: map[int64]float64{7: 62.4}}, "Lead score crossed 60 (now 62)"},
		{"score already above", Definition{Trigger: ScoreCrossed, Score: "Lead score", Threshold: 60},
			Change{ScoresBefore: map[int64]float64{7: 61}, ScoresAfter: map[int64]float64{7: 70}}, ""},
		{"score crosses down", Definition{Trigger: ScoreCrossed, Score: "Lead score", Threshold: 60},
			Change{ScoresBefore: map[int64]float64{7: 70}, ScoresAfter: map[int64]float64{7: 50}}, ""},
		{"becomes hot", Definition{Trigger: BecameHot}, Change{TemperatureBefore: rules.Warm, TemperatureAfter: rules.Hot}, "became hot"},
		{"stays hot", Definition{Trigger: BecameHot}, Change{TemperatureBefore: rules.Hot, TemperatureAfter: rules.Hot}, ""},
		{"reaches B", Definition{Trigger: GradeReached, Grade: "B"}, Change{GradeBefore: "C", GradeAfter: "B"}, "reached grade B"},
		{"A counts as reaching B", Definition{Trigger: GradeReached, Grade: "B"}, Change{GradeBefore: "", GradeAfter: "A"}, "reached grade A"},
		{"B to A is not reaching B", Definition{Trigger: GradeReached, Grade: "B"}, Change{GradeBefore: "B", GradeAfter: "A"}, ""},
		{"pricing visit by a B", Definition{Trigger: Activity, MinGrade: "B", Activity: pathContains("pricing")},
			Change{GradeAfter: "B", New: []rules.Event{blog, pricing}}, "Visited /pricing"},
		{"pricing visit by a C", Definition{Trigger: Activity, MinGrade: "B", Activity: pathContains("pricing")},
			Change{GradeAfter: "C", New: []rules.Event{pricing}}, ""},
		{"pricing visit, no grade", Definition{Trigger: Activity, MinGrade: "B", Activity: pathContains("pricing")},
			Change{New: []rules.Event{pricing}}, ""},
		{"blog visit", Definition{Trigger: Activity, Activity: pathContains("pricing")}, Change{New: []rules.Event{blog}}, ""},
		{"score floor", Definition{Trigger: BecameHot, MinScore: ptr(50)}, Change{TemperatureAfter: rules.Hot, MainScore: 49}, ""},
		{"hot in Switzerland", Definition{Trigger: BecameHot, Condition: countryIs("CH")},
			Change{TemperatureAfter: rules.Hot, Profile: rules.Profile{Country: "CH"}}, "became hot"},
		{"hot elsewhere", Definition{Trigger: BecameHot, Condition: countryIs("CH")},
			Change{TemperatureAfter: rules.Hot, Profile: rules.Profile{Country: "US"}}, ""},
		{"pricing visit from Switzerland", Definition{Trigger: Activity, Activity: pathContains("pricing"), Condition: countryIs("CH")},
			Change{New: []rules.Event{pricing}, Profile: rules.Profile{Country: "CH"}}, "Visited /pricing"},
	}
	for _, c := range cases {
		reason, ok := compile(t, c.def).Match(c.change)
		if ok != (c.want != "") || reason != c.want {
			t.Errorf("%s: got %q %v, want %q", c.name, reason, ok, c.want)
		}
	}
}

// TestDefinitionProblems: a rule that cannot work says so per field.
func TestDefinitionProblems(t *testing.T) {
	_, err := Compile(0, "", Definition{Trigger: ScoreCrossed, Score: "Nope", Emails: []string{"not-an-address"}}, map[string]int64{})
	p, ok := err.(Problems)
	if !ok {
		t.Fatalf("%v", err)
	}
	for _, field := range []string{"name", "score", "threshold", "emails", "throttle_hours"} {
		if p[field] == "" {
			t.Errorf("no problem reported for %s: %v", field, p)
		}
	}
	if !strings.Contains(p["emails"], "not-an-address") {
		t.Errorf("emails: %q", p["emails"])
	}
	if _, err := Compile(0, "x", Definition{Trigger: Activity, Owner: true, ThrottleHours: 24}, nil); err == nil {
		t.Error("an activity alert without an activity was accepted")
	}
}

func pathContains(v string) *rules.Group {
	return &rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: "web.path", Operator: "contains", Value: v}}}}
}

func ptr(v float64) *float64 { return &v }

func countryIs(c string) *rules.Group {
	return &rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: "profile.country", Operator: "equals", Value: c}}}}
}

// TestQuietHours: alerts wait until the person's quiet hours end, across midnight too, in
// their time zone.
func TestQuietHours(t *testing.T) {
	h := func(n int) *int { return &n }
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	at := func(hour, minute int) time.Time { return time.Date(2026, 11, 26, hour, minute, 0, 0, tokyo) }
	cases := []struct {
		from, to *int
		now      time.Time
		want     time.Time // zero: not quiet
	}{
		{h(22), h(7), at(23, 30), time.Date(2026, 11, 27, 7, 0, 0, 0, tokyo)},
		{h(22), h(7), at(3, 0), at(7, 0)},
		{h(22), h(7), at(7, 0), time.Time{}},
		{h(22), h(7), at(12, 0), time.Time{}},
		{h(12), h(14), at(13, 59), at(14, 0)},
		{h(12), h(14), at(11, 59), time.Time{}},
		{nil, nil, at(23, 0), time.Time{}},
		{h(9), h(9), at(9, 30), time.Time{}},
	}
	for i, c := range cases {
		got := quietUntil(model.User{TimeZone: "Asia/Tokyo", QuietFrom: c.from, QuietTo: c.to}, c.now.UTC())
		if c.want.IsZero() != (got == nil) || got != nil && !got.Equal(c.want) {
			t.Errorf("case %d: got %v, want %v", i, got, c.want)
		}
	}
}

// TestAccountTriggers: account rules fire on an account's change, lead rules never do.
func TestAccountTriggers(t *testing.T) {
	scores := map[string]int64{"Lead score": 7}
	rule := func(d Definition) *Rule {
		d.Emails, d.ThrottleHours = []string{"team@acme.example"}, 24
		r, err := Compile(1, "account alert", d, scores)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name   string
		rule   *Rule
		change AccountChange
		want   string
	}{
		{"label gained", rule(Definition{Trigger: AccountLabelGained, Label: "Buying committee"}),
			AccountChange{LabelsBefore: []string{"Big"}, LabelsAfter: []string{"Big", "Buying committee"}}, "gained the label “Buying committee”"},
		{"label kept", rule(Definition{Trigger: AccountLabelGained, Label: "Big"}),
			AccountChange{LabelsBefore: []string{"Big"}, LabelsAfter: []string{"Big"}}, ""},
		{"score crosses", rule(Definition{Trigger: AccountScoreCrossed, Score: "Lead score", Threshold: 100}),
			AccountChange{ScoresBefore: map[int64]float64{7: 90}, ScoresAfter: map[int64]float64{7: 104}}, "Lead score crossed 100 (now 104)"},
		{"engaged", rule(Definition{Trigger: AccountEngaged, People: 3}), AccountChange{Engaged: 3}, "has 3 people active in the last 7 days"},
		{"not enough engaged", rule(Definition{Trigger: AccountEngaged, People: 3}), AccountChange{Engaged: 2}, ""},
	}
	for _, c := range cases {
		reason, ok := c.rule.MatchAccount(c.change)
		if ok != (c.want != "") || reason != c.want {
			t.Errorf("%s: got %q %v, want %q", c.name, reason, ok, c.want)
		}
		if _, ok := c.rule.Match(Change{Gained: []string{"Big"}}); ok {
			t.Errorf("%s: an account rule matched a lead", c.name)
		}
	}
	if _, ok := compile(t, Definition{Trigger: BecameHot}).MatchAccount(AccountChange{Engaged: 99}); ok {
		t.Error("a lead rule matched an account")
	}
	if _, err := Compile(0, "x", Definition{Trigger: AccountEngaged, People: 3, Owner: true, ThrottleHours: 24}, scores); err == nil {
		t.Error("an account alert with only the owner as recipient was accepted")
	}
}
