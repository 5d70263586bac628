package rules

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

func compile(t *testing.T, js string) *Compiled {
	t.Helper()
	c, err := CompileJSON([]byte(js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return c
}

func ptr(f float64) *float64 { return &f }

func subject() *Subject {
	ev := &Event{Name: "[Custom Event tracked] pricing_page_viewed", Type: "users.behaviors.CustomEvent", Source: "braze",
		Time: now.Add(-2 * time.Hour), Properties: map[string]any{
			"name": "pricing_page_viewed", "platform": "web", "price": 1188.0, "seats": "50", "is_amp": false, "opened_at": "2026-03-19",
			"custom_properties": map[string]any{"plan": "Enterprise", "trial": true},
		}}
	return &Subject{
		Now:   now,
		Event: ev,
		Events: []Event{ // in time order, as Subject requires
			{Name: "[Email campaign engagement] Clicked in email Q1 on https://x", Type: "users.messages.email.Click", Time: now.Add(-40 * 24 * time.Hour)},
			{Name: "[Email campaign engagement] Opened email Q1", Type: "users.messages.email.Open", Time: now.Add(-10 * 24 * time.Hour)},
			{Name: "[Email campaign engagement] Opened email Q1", Type: "users.messages.email.Open", Time: now.Add(-3 * 24 * time.Hour)},
			*ev,
		},
		Profile: Profile{Email: "anna@acme.example.com", FirstName: "Anna", Title: "Head of Marketing", Country: "CH", Owner: "Olivia Owner <olivia@acme.example>",
			CompanySize: ptr(250), Attributes: map[string]any{"plan_tier": "gold", "seats": 40.0, "vip": "true"}},
		Account: &Account{Domain: "acme.example.com", Name: "Acme", Employees: ptr(1200), Scores: map[string]float64{"Lead score": 72}},
	}
}

func cond(field, op string, value any, extra string) string {
	v, _ := json.Marshal(value)
	s := `{"field":"` + field + `","operator":"` + op + `"`
	if value != nil {
		s += `,"value":` + string(v)
	}
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func TestEveryOperator(t *testing.T) {
	cases := []struct {
		field, op string
		value     any
		extra     string
		want      bool
	}{
		{"event.name", "equals", "[custom event tracked] PRICING_PAGE_VIEWED", "", true},
		{"event.name", "not_equals", "x", "", true},
		{"event.name", "contains", "pricing", "", true},
		{"event.name", "not_contains", "pricing", "", false},
		{"event.name", "begins_with", "[Custom Event", "", true},
		{"event.name", "ends_with", "viewed", "", true},
		{"event.type", "in", []string{"users.messages.email.Open", "users.behaviors.CustomEvent"}, "", true},
		{"event.type", "not_in", "users.behaviors.CustomEvent, users.messages.email.Open", "", false},
		{"event.name", "matches", `pricing_(page|plan)`, "", true},
		{"event.name", "matches", `^PRICING`, "", false},
		{"profile.title", "is_empty", nil, "", false},
		{"profile.industry", "is_empty", nil, "", true},
		{"profile.industry", "is_not_empty", nil, "", false},
		{"event.property", "=", 1188, `"property":"price"`, true},
		{"event.property", "!=", 1188, `"property":"price"`, false},
		{"event.property", "<", 50.5, `"property":"seats"`, true},
		{"event.property", "<=", 50, `"property":"seats"`, true},
		{"event.property", ">", 1000, `"property":"price"`, true},
		{"event.property", ">=", 1189, `"property":"price"`, false},
		{"event.property", "between", []float64{1000, 2000}, `"property":"price"`, true},
		{"event.property", "equals", "enterprise", `"property":"plan"`, true},
		{"event.property", "is_true", nil, `"property":"trial"`, true},
		{"event.property", "is_false", nil, `"property":"is_amp"`, true},
		{"event.property", "is_false", nil, `"property":"missing"`, false},
		{"event.property", "=", 1, `"property":"missing"`, false},
		{"event.property", "after", "2026-03-18", `"property":"opened_at"`, true},
		{"event.time", "within_last_days", 1, "", true},
		{"event.time", "more_than_days_ago", 1, "", false},
		{"event.time", "before", "2026-03-21T00:00:00Z", "", true},
		{"profile.email_domain", "equals", "acme.example.com", "", true},
		{"profile.company_size", "between", []any{100, "500"}, "", true},
		{"profile.country", "in", []string{"CH", "DE", "AT"}, "", true},
		{"profile.owner", "contains", "olivia@", "", true},
		{"profile.attribute", "equals", "GOLD", `"attribute":"plan_tier"`, true},
		{"profile.attribute", ">", 30, `"attribute":"seats"`, true},
		{"profile.attribute", "is_true", nil, `"attribute":"vip"`, true},
		{"account.employees", ">=", 1000, "", true},
		{"account.score", ">", 70, `"score":"Lead score"`, true},
		{"account.score", ">", 70, `"score":"Other"`, false},
		{"account.domain", "ends_with", ".example.com", "", true},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		js := `{"combinator":"and","rules":[` + cond(c.field, c.op, c.value, c.extra) + `]}`
		if got := compile(t, js).Match(subject()); got != c.want {
			t.Errorf("%s %s %v (%s): got %v, want %v", c.field, c.op, c.value, c.extra, got, c.want)
		}
		seen[c.op] = true
	}
	for _, o := range Operators {
		if !seen[o.Name] {
			t.Errorf("operator %s has no case", o.Name)
		}
	}
}

func TestNestedGroupsAndNot(t *testing.T) {
	// (country in CH,DE AND (title contains CEO OR event name contains pricing)) AND NOT (industry is not empty)
	js := `{"combinator":"and","rules":[
		{"field":"profile.country","operator":"in","value":["CH","DE"]},
		{"combinator":"or","rules":[
			{"field":"profile.title","operator":"contains","value":"CEO"},
			{"combinator":"and","rules":[{"field":"event.name","operator":"contains","value":"pricing"}]}
		]},
		{"combinator":"and","not":true,"rules":[{"field":"profile.industry","operator":"is_not_empty"}]}
	]}`
	c := compile(t, js)
	s := subject()
	if !c.Match(s) {
		t.Fatal("nested rule should match")
	}
	s.Profile.Industry = "Software"
	if c.Match(s) {
		t.Fatal("NOT group ignored")
	}
	s.Profile.Industry = ""
	s.Event.Name = "[Nurturing] Received email"
	if c.Match(s) {
		t.Fatal("OR group should fail when neither branch holds")
	}
	or := compile(t, `{"combinator":"or","not":true,"rules":[{"field":"profile.country","operator":"equals","value":"US"}]}`)
	if !or.Match(s) {
		t.Fatal("NOT OR")
	}
}

func TestEventCountWindows(t *testing.T) {
	opens := `"where":{"combinator":"and","rules":[{"field":"event.type","operator":"equals","value":"users.messages.email.Open"}]}`
	s := subject()
	for _, tc := range []struct {
		op     string
		value  int
		window int
		want   bool
	}{
		{">=", 2, 30, true},  // two opens within 30 days
		{">=", 2, 7, false},  // one within 7 days
		{"=", 1, 7, true},    // exactly one
		{"<=", 0, 1, true},   // none within a day
		{">=", 4, 60, false}, // only two opens at all
	} {
		js := `{"combinator":"and","rules":[{"field":"event.count","operator":"` + tc.op + `","value":` + itoa(tc.value) + `,"window_days":` + itoa(tc.window) + `,` + opens + `}]}`
		if got := compile(t, js).Match(s); got != tc.want {
			t.Errorf("count %s %d in %d days: %v", tc.op, tc.value, tc.window, got)
		}
	}
	// Without where, every event in the window counts; the clock decides which.
	all := compile(t, `{"combinator":"and","rules":[{"field":"event.count","operator":">=","value":4,"window_days":45}]}`)
	if !all.Match(s) {
		t.Fatal("4 events within 45 days")
	}
	s.Now = s.Now.Add(6 * 24 * time.Hour) // the click falls out of the window
	if all.Match(s) {
		t.Fatal("window did not move with the clock")
	}
}

func TestLabelFallsOffWithTime(t *testing.T) {
	c := compile(t, `{"combinator":"and","rules":[{"field":"event.time","operator":"within_last_days","value":7},
		{"field":"event.name","operator":"contains","value":"pricing"}]}`)
	s := subject()
	if !c.Match(s) {
		t.Fatal("recent pricing visit")
	}
	s.Now = s.Now.Add(8 * 24 * time.Hour)
	if c.Match(s) {
		t.Fatal("a week later the condition still holds")
	}
	s.Event = nil
	if c.Match(s) {
		t.Fatal("event condition without an event")
	}
}

func TestValidationNamesEveryProblem(t *testing.T) {
	js := `{"combinator":"xor","rules":[
		{"field":"profile.nope","operator":"equals","value":"x"},
		{"field":"profile.country","operator":">","value":3},
		{"field":"event.property","operator":"equals","value":"x"},
		{"field":"profile.company_size","operator":"between","value":[10,1]},
		{"field":"event.name","operator":"matches","value":"("},
		{"field":"event.time","operator":"within_last_days","value":0},
		{"field":"event.count","operator":">","value":-1,"window_days":0,"where":{"combinator":"and","rules":[{"field":"profile.country","operator":"equals","value":"CH"}]}},
		{"combinator":"or","rules":[]}
	]}`
	_, err := CompileJSON([]byte(js))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	want := []string{"combinator", "rules[0].field", "rules[1].operator", "rules[2].property", "rules[3].value", "rules[4].value",
		"rules[5].value", "rules[6].operator", "rules[6].value", "rules[6].window_days", "rules[6].where.rules[0].field", "rules[7].rules"}
	got := map[string]string{}
	for _, p := range ve.Problems {
		got[p.Path] = p.Message
		if p.Message == "" || strings.Contains(p.Message, "%!") {
			t.Errorf("bad message at %s: %q", p.Path, p.Message)
		}
	}
	for _, path := range want {
		if got[path] == "" {
			t.Errorf("no problem reported at %s (got %v)", path, got)
		}
	}
	for _, bad := range []string{`[]`, `{"combinator":"and","rules":[{"field":"x","extra":1}]}`, `{"combinator":"and","rules":[1]}`, `{`} {
		if _, err := CompileJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	js := `{"combinator":"or","not":true,"rules":[{"field":"event.count","operator":">=","value":3,"window_days":30,"where":{"combinator":"and","rules":[{"field":"event.property","operator":"contains","value":"webinar","property":"campaign_name"}]}},{"combinator":"and","rules":[{"field":"profile.country","operator":"in","value":["CH","DE"]}]}]}`
	g, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal([]byte(js), &a)
	json.Unmarshal(out, &b)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("round trip changed the rule:\n%s\n%s", ja, jb)
	}
}

func TestOperatorsForFields(t *testing.T) {
	for _, f := range Fields {
		ops := OperatorsFor(f)
		if len(ops) == 0 {
			t.Errorf("%s offers no operator", f.Name)
		}
		for _, o := range ops {
			if f.Type != Count && !fits(f, o) {
				t.Errorf("%s offers %s", f.Name, o.Name)
			}
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// FuzzCompileAndMatch: any input either compiles or fails with a clear error; compiled rules
// evaluate without panicking.
func FuzzCompileAndMatch(f *testing.F) {
	for _, seed := range []string{
		`{"combinator":"and","rules":[{"field":"event.name","operator":"contains","value":"pricing"}]}`,
		`{"combinator":"or","not":true,"rules":[{"field":"event.count","operator":">=","value":2,"window_days":30,"where":{"combinator":"and","rules":[{"field":"event.type","operator":"in","value":"a,b"}]}}]}`,
		`{"combinator":"and","rules":[{"field":"profile.attribute","attribute":"x","operator":"between","value":[1,"2"]}]}`,
		`{"combinator":"and","rules":[{"field":"event.property","property":"p","operator":"matches","value":"(?i)^a.*z$"}]}`,
		`{"rules":[{"rules":[{"rules":[]}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := CompileJSON(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 || ve.Error() == "" {
				t.Fatalf("unclear error %T %v", err, err)
			}
			return
		}
		c.Match(subject())
		c.Match(&Subject{Now: now})
	})
}
