package rules

import (
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one engagement event of a lead, as the engine sees it.
type Event struct {
	Name       string // the activity name
	Type       string // the Braze event type
	Source     string
	Time       time.Time
	Properties map[string]any // decoded JSON, custom/purchase properties included
	// TimeOnly marks an older event of which scoring kept only the time (see
	// CountedActivities) and the marks it passed: it counts in counts without a "where",
	// passes a "where" when Marks has its bit in the subject's MarkSet, and no other test.
	TimeOnly bool
	Marks    uint64

	// lower holds name, type and source lower-cased once, since string operators compare
	// case-insensitively and a rule set tests them many times per event.
	lower *[3]string
}

// Prepare lower-cases the event's texts once; evaluating a prepared event allocates less.
func (e *Event) Prepare() { e.PrepareWith(nil) }

// Prepared reports whether the event's texts are lower-cased (see Prepare).
func (e *Event) Prepared() bool { return e.lower != nil }

// PrepareWith is Prepare with texts lower-cased before remembered in lower (nil: none).
func (e *Event) PrepareWith(lower Lowercase) {
	e.lower = &[3]string{lower.Of(e.Name), lower.Of(e.Type), lower.Of(e.Source)}
}

// Lowercase remembers texts lower-cased: string operators compare case-insensitively, and a
// lead's events and properties, like a chunk of leads', repeat a few names, types and values
// (a campaign name is tested by every rule on it, for every event). A nil Lowercase lowers
// each time. It is not safe for concurrent use.
type Lowercase map[string]string

// Of returns s lower-cased.
func (m Lowercase) Of(s string) string {
	if !hasUpper(s) {
		return s
	}
	if m == nil {
		return strings.ToLower(s)
	}
	low, ok := m[s]
	if !ok {
		low = strings.ToLower(s)
		m[s] = low
	}
	return low
}

// hasUpper reports whether lower-casing s may change it: an ASCII capital or any non-ASCII.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// Sources of website activities (domain/tracker names them; the engine only compares).
const (
	webSource        = "web"
	salesEmailSource = "sales_email"
)

// Profile is what is known of the person.
type Profile struct {
	Email, FirstName, LastName, Title, Country, Industry, LeadSource, Status string
	// Owner is the Salesforce owner's name and email ("Olivia Owner <olivia@acme.example>").
	Owner       string
	CompanySize *float64
	Attributes  map[string]any
}

// Account is the person's company, with its rolled-up scores.
type Account struct {
	Domain, Name, Industry string
	Employees              *float64
	Scores                 map[string]float64
}

// Subject is what a rule is evaluated against. Conditions about an event test Event (the
// event being scored); event.count looks through Events, which must be in time order. Now is injected so windows and
// relative dates are testable and re-scoring is reproducible.
type Subject struct {
	Now     time.Time
	Event   *Event
	Events  []Event
	Profile Profile
	Account *Account
	// Marks numbers the marks of time-only events (nil: they pass no "where").
	Marks *MarkSet
	// Lower remembers the texts conditions lower-cased (nil: nothing is remembered).
	Lower Lowercase
}

// Match reports whether the subject satisfies the rule's conditions.
func (c *Compiled) Match(s *Subject) bool { return c.root.eval(s) }

func (g *cgroup) eval(s *Subject) bool {
	result := g.and
	for _, n := range g.nodes {
		if n.eval(s) != g.and {
			result = !g.and
			break
		}
	}
	return result != g.not
}

func (c *ccond) eval(s *Subject) bool {
	if c.field.Type == Count {
		return c.count(s)
	}
	if c.eventLvl && s.Event == nil {
		return false // there is no event to test
	}
	if c.op.On == String && s.Event != nil && s.Event.lower != nil {
		switch c.field.Name {
		case "event.name":
			return c.compareText(s.Event.Name, s.Event.lower[0], s.Event.Name != "")
		case "event.type":
			return c.compareText(s.Event.Type, s.Event.lower[1], s.Event.Type != "")
		case "event.source":
			return c.compareText(s.Event.Source, s.Event.lower[2], s.Event.Source != "")
		}
	}
	if c.op.On == String && c.textOf != nil {
		v := c.textOf(s)
		return c.compareText(v, s.Lower.Of(v), v != "")
	}
	v, present := c.lookup(s)
	return c.compare(v, present, s.Now, s.Lower)
}

// textFields reads the fields whose value is plain text, so that a condition on one finds it
// without a switch over field names or putting it in an interface (which allocates a copy of
// its header for every condition tested). A condition takes its reader when compiled.
var textFields = map[string]func(s *Subject) string{
	"event.name":          func(s *Subject) string { return s.Event.Name },
	"event.type":          func(s *Subject) string { return s.Event.Type },
	"event.source":        func(s *Subject) string { return s.Event.Source },
	"profile.email":       func(s *Subject) string { return s.Profile.Email },
	"profile.first_name":  func(s *Subject) string { return s.Profile.FirstName },
	"profile.last_name":   func(s *Subject) string { return s.Profile.LastName },
	"profile.title":       func(s *Subject) string { return s.Profile.Title },
	"profile.country":     func(s *Subject) string { return s.Profile.Country },
	"profile.industry":    func(s *Subject) string { return s.Profile.Industry },
	"profile.lead_source": func(s *Subject) string { return s.Profile.LeadSource },
	"profile.status":      func(s *Subject) string { return s.Profile.Status },
	"profile.owner":       func(s *Subject) string { return s.Profile.Owner },
	"account.domain":      accountText(func(a *Account) string { return a.Domain }),
	"account.name":        accountText(func(a *Account) string { return a.Name }),
	"account.industry":    accountText(func(a *Account) string { return a.Industry }),
}

// accountText reads an account's text field, empty for a lead without an account.
func accountText(get func(a *Account) string) func(s *Subject) string {
	return func(s *Subject) string {
		if s.Account == nil {
			return ""
		}
		return get(s.Account)
	}
}

func (c *ccond) count(s *Subject) bool {
	since := s.Now.Add(-time.Duration(c.window) * 24 * time.Hour)
	// Events are in time order: skip to the window's start.
	first := sort.Search(len(s.Events), func(i int) bool { return !s.Events[i].Time.Before(since) })
	n := 0
	for i := first; i < len(s.Events); i++ {
		e := &s.Events[i]
		if e.Time.After(s.Now) {
			break
		}
		if !c.counts(s, e) {
			continue
		}
		n++
		// The answer is known once the count reaches what ">=" asks or passes what "<="
		// and "=" allow: a long window is not counted to its end for each new event.
		if c.op.Name == ">=" && float64(n) >= c.num {
			return true
		}
		if c.op.Name != ">=" && float64(n) > c.num {
			return false
		}
	}
	switch c.op.Name {
	case ">=":
		return float64(n) >= c.num
	case "<=":
		return float64(n) <= c.num
	default:
		return float64(n) == c.num
	}
}

// counts reports whether an event of the window passes the count's "where": a time-only
// event by its marks, another by evaluating the group on it.
func (c *ccond) counts(s *Subject, e *Event) bool {
	switch {
	case c.where == nil:
		return true
	case e.TimeOnly:
		return s.Marks.passes(c.where, e)
	}
	current := s.Event
	s.Event = e
	ok := c.where.eval(s)
	s.Event = current
	return ok
}

// lookup finds the field's value; present is false when it is missing or null.
func (c *ccond) lookup(s *Subject) (any, bool) {
	if c.textOf != nil {
		v := c.textOf(s)
		return v, v != ""
	}
	p := s.Profile
	if c.field.Property != "" {
		if s.Event.Source != webSource && s.Event.Source != salesEmailSource {
			return nil, false // a website field says nothing about a Braze event
		}
		v, ok := s.Event.Properties[c.key]
		return v, ok && v != nil
	}
	switch c.field.Name {
	case "event.time":
		return s.Event.Time, !s.Event.Time.IsZero()
	case "event.property":
		v, ok := s.Event.Properties[c.key]
		if !ok {
			v, ok = nested(s.Event.Properties, c.key)
		}
		return v, ok && v != nil
	case "profile.email_domain":
		if at := strings.LastIndexByte(p.Email, '@'); at >= 0 {
			return p.Email[at+1:], at+1 < len(p.Email)
		}
		return "", false
	case "profile.company_size":
		if p.CompanySize == nil {
			return nil, false
		}
		return *p.CompanySize, true
	case "profile.attribute":
		v, ok := p.Attributes[c.key]
		return v, ok && v != nil
	}
	a := s.Account
	if a == nil {
		return nil, false
	}
	switch c.field.Name {
	case "account.employees":
		if a.Employees == nil {
			return nil, false
		}
		return *a.Employees, true
	case "account.score":
		v, ok := a.Scores[c.key]
		return v, ok
	}
	return nil, false
}

// nested finds custom_properties / purchase_properties keys without their prefix, so a rule
// on "plan" matches a custom event whose custom_properties has plan.
func nested(props map[string]any, key string) (any, bool) {
	for _, holder := range []string{"custom_properties", "purchase_properties"} {
		if m, ok := props[holder].(map[string]any); ok {
			if v, ok := m[key]; ok {
				return v, true
			}
		}
	}
	return nil, false
}

func (c *ccond) compare(v any, present bool, now time.Time, lower Lowercase) bool {
	switch c.op.On {
	case String:
		s := ""
		if present {
			s, _ = text(v)
		}
		return c.compareText(s, lower.Of(s), present)
	case Number:
		if !present {
			return false
		}
		n, ok := number(v)
		if !ok {
			return false
		}
		switch c.op.Name {
		case "=":
			return n == c.num
		case "!=":
			return n != c.num
		case "<":
			return n < c.num
		case "<=":
			return n <= c.num
		case ">":
			return n > c.num
		case ">=":
			return n >= c.num
		case "between":
			return n >= c.num && n <= c.hi
		}
	case Bool:
		t := present && truthy(v)
		if c.op.Name == "is_true" {
			return t
		}
		return present && !t
	case Date:
		if !present {
			return false
		}
		t, ok := date(v)
		if !ok {
			return false
		}
		switch c.op.Name {
		case "before":
			return t.Before(c.date)
		case "after":
			return t.After(c.date)
		case "within_last_days":
			return !t.After(now) && now.Sub(t) <= time.Duration(c.days)*24*time.Hour
		case "more_than_days_ago":
			return now.Sub(t) > time.Duration(c.days)*24*time.Hour
		}
	}
	return false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(strings.TrimSpace(x), "true") || x == "1" || strings.EqualFold(x, "yes")
	}
	n, ok := number(v)
	return ok && n != 0
}

// compareText applies a string operator to s, whose lower-cased form is low.
func (c *ccond) compareText(s, low string, present bool) bool {
	switch c.op.Name {
	case "equals":
		return low == c.text
	case "not_equals":
		return low != c.text
	case "contains":
		return present && strings.Contains(low, c.text)
	case "not_contains":
		return !strings.Contains(low, c.text)
	case "begins_with":
		return present && strings.HasPrefix(low, c.text)
	case "ends_with":
		return present && strings.HasSuffix(low, c.text)
	case "in":
		return present && slices.Contains(c.list, low)
	case "not_in":
		return !slices.Contains(c.list, low)
	case "matches":
		return present && c.re.MatchString(s)
	case "is_empty":
		return s == ""
	case "is_not_empty":
		return s != ""
	}
	return false
}
