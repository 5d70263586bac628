package rules

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	d := Defaults()
	kinds := map[string]int{}
	for _, r := range d.Rules {
		kinds[r.Kind]++
		if _, err := r.Check(); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
	}
	if kinds[KindScore] < 5 || kinds[KindLabel] < 2 || kinds[KindGrade] < 2 {
		t.Fatalf("default set is thin: %v", kinds)
	}
	// Exported and imported again, the set is unchanged.
	b, err := Export(d.Rules)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseDocument(b)
	if err != nil || len(again.Rules) != len(d.Rules) {
		t.Fatalf("re-import: %v", err)
	}
	// The defaults score a realistic lead sensibly: a pricing visit and clicks, then a bounce.
	var scoring []ScoringRule
	for i, r := range d.Rules {
		if r.Kind == KindScore {
			c, _ := r.Check()
			scoring = append(scoring, ScoringRule{ID: int64(i + 1), Version: 1, When: c, Effect: *r.Score})
		}
	}
	l := &LeadScorer{Rules: scoring}
	l.Add(Stamped{Key: 1, Event: Event{Name: "[Custom Event tracked] pricing_page_viewed", Type: "users.behaviors.CustomEvent", Time: now.Add(-time.Hour)}})
	l.Add(Stamped{Key: 2, Event: Event{Name: "[Email campaign engagement] Clicked in email X on y", Type: "users.messages.email.Click", Time: now.Add(-2 * time.Hour)}})
	if s := Scores(l.Contributions(), scoring, now)["Lead score"]; s < 19 || s > 20 {
		t.Fatalf("lead score %v, want about 20 (15 pricing + 5 click, barely decayed)", s)
	}
	l.Add(Stamped{Key: 3, Event: Event{Name: "[Alerting or negative] Email hard-bounced.", Type: "users.messages.email.Bounce", Time: now}})
	if s := Scores(l.Contributions(), scoring, now)["Lead score"]; s > 0 {
		t.Fatalf("after a hard bounce the score is %v", s)
	}
}

func TestRuleCheck(t *testing.T) {
	when := Group{Combinator: "and", Rules: []Node{{Condition: &Condition{Field: "event.name", Operator: "contains", Value: "x"}}}}
	cases := []struct {
		r    Rule
		path string
	}{
		{Rule{Name: "", Kind: KindScore, When: when, Score: &ScoreEffect{Score: "s", Points: 1, Per: PerLead}}, "name"},
		{Rule{Name: "n", Kind: "boost", When: when}, "kind"},
		{Rule{Name: "n", Kind: KindScore, When: when}, "score"},
		{Rule{Name: "n", Kind: KindScore, When: when, Score: &ScoreEffect{Score: "s", Points: 0, Per: PerLead}}, "score.points"},
		{Rule{Name: "n", Kind: KindScore, When: when, Score: &ScoreEffect{Score: "s", Points: 1, Per: "day"}}, "score.per"},
		{Rule{Name: "n", Kind: KindScore, When: when, Score: &ScoreEffect{Score: "s", Points: 1, Per: PerLead, Cap: 5}}, "score.cap"},
		{Rule{Name: "n", Kind: KindScore, When: when, Score: &ScoreEffect{Score: "s", Points: 1, Per: PerEvent, HalfLifeDays: -1}}, "score.half_life_days"},
		{Rule{Name: "n", Kind: KindLabel, When: when, Label: &LabelEffect{Name: "Hot", Color: "red"}}, "label.color"},
		{Rule{Name: "n", Kind: KindGrade, When: when, Grade: &GradeEffect{Points: 10}}, "when"},
		{Rule{Name: "n", Kind: KindLabel, When: when, Label: &LabelEffect{Name: "L", Color: "#ffffff"}, Grade: &GradeEffect{Points: 1}}, "kind"},
		{Rule{Name: "n", Kind: KindLabel, When: Group{Combinator: "and"}, Label: &LabelEffect{Name: "L", Color: "#ffffff"}}, "when.rules"},
	}
	for _, c := range cases {
		_, err := c.r.Check()
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%+v accepted", c.r)
			continue
		}
		found := false
		for _, p := range ve.Problems {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("want a problem at %s, got %v", c.path, ve.Problems)
		}
	}
}

func TestParseDocument(t *testing.T) {
	if _, err := ParseDocument([]byte(`{"format":2,"rules":[]}`)); err == nil || !strings.Contains(err.Error(), "format 1") {
		t.Fatalf("future format: %v", err)
	}
	if _, err := ParseDocument([]byte(`{"rules":[`)); err == nil {
		t.Fatal("broken file accepted")
	}
	_, err := ParseDocument([]byte(`{"format":1,"rules":[{"name":"ok","kind":"label","enabled":true,"when":{"combinator":"and","rules":[{"field":"profile.country","operator":"equals","value":"CH"}]},"label":{"name":"Swiss","color":"#ff0000"}},
		{"name":"bad","kind":"score","enabled":true,"when":{"combinator":"and","rules":[{"field":"profile.country","operator":">","value":"CH"}]},"score":{"score":"s","points":1,"per":"lead"}}]}`))
	if err == nil || !strings.Contains(err.Error(), "rules[1].when.rules[0].operator") {
		t.Fatalf("problem not named by rule: %v", err)
	}
}

// FuzzParseDocument: an import file either parses or fails with problems to show; it never panics.
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(defaultRules))
	f.Add([]byte(`{"format":1,"rules":[{"name":"x","kind":"grade","enabled":true,"when":{"rules":[]},"grade":{"points":1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDocument(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("unclear error %v", err)
			}
			return
		}
		for _, r := range d.Rules {
			if c, err := r.Check(); err != nil || c == nil {
				t.Fatalf("parsed rule does not check: %v", err)
			}
		}
	})
}

func TestAccountLabelsAndAccountScores(t *testing.T) {
	parse := func(js string) Rule {
		t.Helper()
		d, err := ParseDocument([]byte(`{"format":1,"rules":[` + js + `]}`))
		if err != nil && !strings.Contains(err.Error(), "when") && !strings.Contains(err.Error(), "label.on") {
			t.Fatalf("unexpected problem: %v", err)
		}
		return d.Rules[0]
	}
	hot := `{"combinator":"and","rules":[{"field":"account.score","score":"Lead score","operator":">=","value":100}]}`
	ok := parse(`{"name":"Hot account","kind":"label","enabled":true,"when":` + hot + `,"label":{"name":"Hot account","color":"#ef4444","on":"account"}}`)
	if _, err := ok.Check(); err != nil {
		t.Fatalf("account label on account score: %v", err)
	}
	for name, js := range map[string]string{
		"score on account score": `{"name":"x","kind":"score","enabled":true,"when":` + hot + `,"score":{"score":"S","points":1,"per":"lead"}}`,
		"account label on event": `{"name":"x","kind":"label","enabled":true,"when":{"combinator":"and","rules":[{"field":"event.name","operator":"equals","value":"a"}]},"label":{"name":"L","color":"#ef4444","on":"account"}}`,
		"unknown target":         `{"name":"x","kind":"label","enabled":true,"when":` + hot + `,"label":{"name":"L","color":"#ef4444","on":"team"}}`,
	} {
		if _, err := parse(js).Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWindows(t *testing.T) {
	c, err := CompileJSON([]byte(`{"combinator":"or","rules":[
		{"field":"event.time","operator":"within_last_days","value":7},
		{"field":"event.count","operator":">=","value":2,"window_days":30,"where":{"combinator":"and","rules":[{"field":"event.time","operator":"more_than_days_ago","value":3}]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Windows()
	want := []time.Duration{7 * 24 * time.Hour, 30 * 24 * time.Hour, 3 * 24 * time.Hour}
	if len(got) != len(want) {
		t.Fatalf("windows %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("windows %v, want %v", got, want)
		}
	}
}

func TestControlCharactersInRulesAreRefused(t *testing.T) {
	doc := func(name string) []byte {
		return []byte(`{"format":1,"rules":[{"name":"` + name + `","kind":"label","enabled":true,` +
			`"when":{"combinator":"and","rules":[{"field":"event.name","operator":"contains","value":"docs"}]},` +
			`"label":{"name":"Reader","color":"#4f46e5"}}]}`)
	}
	for _, name := range []string{`a\u0000b`, `a\u001bb`, `\u007f`, `a\u0085`, `x\\\u0000`, `\n`, `a\tb`} {
		_, err := ParseDocument(doc(name))
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Problems[0].Message, "control character") {
			t.Errorf("name %s: %v", name, err)
		}
	}
	for _, name := range []string{`a\\u0000b`, `caf\u00e9`, `\u0020x`, `tab\\t`} {
		if _, err := ParseDocument(doc(name)); err != nil {
			t.Errorf("name %s refused: %v", name, err)
		}
	}
}

func TestRegexpProblemsInWords(t *testing.T) {
	for pattern, want := range map[string]string{
		"pricing[a":  "a [ has no closing ] at character 8",
		"(demo":      "a ( has no closing )",
		"*pricing":   "*, + or ? follows nothing it could repeat at character 1",
		`docs\`:      "ends with a lone",
		"[z-a]plans": "runs backwards",
	} {
		_, err := regexp.Compile(pattern)
		if got := RegexpProblem(pattern, err); !strings.Contains(got, want) || strings.Contains(got, "error parsing") {
			t.Errorf("%q: %q, want it to say %q", pattern, got, want)
		}
	}
}

// The default pricing rule scores a pricing page on the website and a Braze custom event
// named for pricing — not an email campaign whose name contains "pricing", nor a Braze event
// that happens to carry a path property.
func TestDefaultPricingRuleMatchesPagesNotCampaigns(t *testing.T) {
	var when *Compiled
	for _, r := range Defaults().Rules {
		if r.Name == "Pricing page viewed" {
			c, err := Compile(&r.When)
			if err != nil {
				t.Fatal(err)
			}
			when = c
		}
	}
	now := time.Now()
	for _, c := range []struct {
		e    Event
		want bool
	}{
		{Event{Name: "[Website] Visited Pricing — Acme (/pricing)", Source: "web", Type: "web.page_view", Properties: map[string]any{"path": "/pricing"}}, true},
		{Event{Name: "[Custom Event tracked] pricing_page_viewed", Source: "braze", Type: "users.behaviors.CustomEvent"}, true},
		{Event{Name: "[Email campaign engagement] Opened email Pricing Update 2026", Source: "braze", Type: "users.messages.email.Open"}, false},
		{Event{Name: "[Email campaign engagement] Clicked in email Pricing Update 2026 on https://acme.com/pricing", Source: "braze",
			Type: "users.messages.email.Click", Properties: map[string]any{"path": "/pricing"}}, false},
		{Event{Name: "[Website] Visited Docs (/docs)", Source: "web", Type: "web.page_view", Properties: map[string]any{"path": "/docs"}}, false},
	} {
		e := c.e
		e.Time = now
		e.Prepare()
		if got := when.Match(&Subject{Event: &e, Now: now}); got != c.want {
			t.Errorf("%s: matched %v, want %v", e.Name, got, c.want)
		}
	}
}
