package rules

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Rule outputs.
const (
	PerLead  = "lead"  // points once per lead, at the first matching event
	PerEvent = "event" // points for every matching event, optionally capped
)

// ScoreEffect adds (or with negative points, subtracts) points to a named score.
type ScoreEffect struct {
	Score string `json:"score"`
	// Key is the score as contributions carry it: a number its caller gives each score (the
	// scoring service, the score's id), so that a contribution holds no string.
	Key    int64   `json:"-"`
	Points float64 `json:"points"`
	Per    string  `json:"per"`
	// Cap bounds the total a per-event rule can add (its absolute value); 0 means no cap.
	Cap float64 `json:"cap,omitempty"`
	// ExpireDays drops a contribution that many days after its event; 0 keeps it.
	ExpireDays int `json:"expire_days,omitempty"`
	// HalfLifeDays halves a contribution every so many days after its event; 0 keeps it whole.
	HalfLifeDays float64 `json:"half_life_days,omitempty"`
}

// ScoringRule is a compiled rule with a score effect.
type ScoringRule struct {
	ID      int64
	Version int
	When    *Compiled
	Effect  ScoreEffect
}

// Stamped is an event with a stable identity, so ties in time order break the same way in
// every run.
type Stamped struct {
	Key int64 // the activity id
	Event
}

// Contribution is one rule's points for one event: a line of the score ledger. It holds no
// pointer (a lead's state decodes into about a hundred of them per pass): the collector does
// not scan their arrays, which a string and a time.Time's location made it do.
type Contribution struct {
	RuleID      int64
	RuleVersion int
	Score       int64 // the rule's ScoreEffect.Key
	EventKey    int64
	At          int64 // the event's time in Unix microseconds (as activities are stored)
	Points      float64
}

// Time is the contribution's event time.
func (c Contribution) Time() time.Time { return time.UnixMicro(c.At).UTC() }

// LeadScorer keeps one lead's events in time order and the contributions they earn. Its
// contributions depend only on the events and rules, never on arrival order: a rule's
// conditions are evaluated as of each event's time over the history up to it, in event time
// order, so an event arriving late re-evaluates the events after it. Add in any order equals
// Rescore.
type LeadScorer struct {
	Rules   []ScoringRule
	Profile Profile
	Account *Account

	events        []Stamped
	contributions [][]Contribution // per event position
	index         map[int64]int    // rule id → position in Rules
	lower         Lowercase        // the lead's texts lower-cased
	// whole holds every contribution in event order, the array contributions are parts of,
	// when the last recompute started at the first event (nil otherwise).
	whole []Contribution
}

func before(a, b Stamped) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.Key < b.Key
}

// Add records an event and updates the contributions it can change. It returns the ledger
// lines that changed: removed ones with negated points, then added ones.
func (l *LeadScorer) Add(e Stamped) []Contribution {
	pos := sort.Search(len(l.events), func(i int) bool { return !before(l.events[i], e) })
	if pos < len(l.events) && l.events[pos].Key == e.Key {
		return nil // already known: adding twice changes nothing
	}
	if e.lower == nil {
		e.PrepareWith(l.lower)
	}
	l.events = append(l.events, Stamped{})
	copy(l.events[pos+1:], l.events[pos:])
	l.events[pos] = e
	l.contributions = append(l.contributions, nil)
	copy(l.contributions[pos+1:], l.contributions[pos:])
	l.contributions[pos] = nil
	return l.recompute(pos, true)
}

// Rescore recomputes every contribution from the first event, as after a rule change.
// Callers read the result with Contributions, so the changes are not listed.
func (l *LeadScorer) Rescore() { l.recompute(0, false) }

// recompute re-evaluates events from position pos on and, with collect, returns the changes.
func (l *LeadScorer) recompute(pos int, collect bool) []Contribution {
	// Running state up to pos: per rule, points given so far and whether "once" has fired.
	if l.index == nil {
		l.index = make(map[int64]int, len(l.Rules))
		for i, r := range l.Rules {
			l.index[r.ID] = i
		}
	}
	given := make([]float64, len(l.Rules))
	fired := make([]bool, len(l.Rules))
	for i := 0; i < pos; i++ {
		for _, c := range l.contributions[i] {
			if k, ok := l.index[c.RuleID]; ok {
				given[k] += c.Points
				fired[k] = true
			}
		}
	}
	var changes []Contribution
	history := make([]Event, 0, len(l.events))
	for i := 0; i < pos; i++ {
		history = append(history, l.events[i].Event)
	}
	subject := &Subject{Profile: l.Profile, Account: l.Account, Lower: l.lower}
	// Every event's contributions share one backing array of the exact size (each capped to
	// its own part), so a lead costs a few allocations rather than one or more per event; they
	// are gathered in a pooled scratch buffer first, which grows once rather than per lead.
	scratch := scratchContributions.Get().(*[]Contribution)
	buf := (*scratch)[:0]
	starts := make([]int, len(l.events)-pos+1)
	for i := pos; i < len(l.events); i++ {
		e := l.events[i]
		history = append(history, e.Event)
		subject.Now, subject.Event, subject.Events = e.Time, &l.events[i].Event, history
		starts[i-pos] = len(buf)
		buf = scoreEvent(buf, l.Rules, subject, e, given, fired)
	}
	starts[len(starts)-1] = len(buf)
	all := slices.Clone(buf)
	if cap(buf) <= maxPooledContributions {
		clear(buf) // the pool keeps no rule's score name alive
		*scratch = buf[:0]
		scratchContributions.Put(scratch)
	}
	l.whole = nil
	if pos == 0 {
		l.whole = all
	}
	for i := pos; i < len(l.events); i++ {
		var next []Contribution
		if from, to := starts[i-pos], starts[i-pos+1]; to > from {
			next = all[from:to:to]
		}
		if collect {
			changes = append(changes, diff(l.contributions[i], next)...)
		}
		l.contributions[i] = next
	}
	return changes
}

// scratchContributions holds buffers recompute gathers contributions in; one that grew past
// maxPooledContributions (a lead with an outsized history) is left to the collector rather
// than kept.
var scratchContributions = sync.Pool{New: func() any { return new([]Contribution) }}

const maxPooledContributions = 1 << 16

// scoreEvent appends one event's contributions (the subject's event, with the history up to
// it) to next, given what each rule has given so far (for caps) and whether it fired (for
// once per lead).
func scoreEvent(next []Contribution, rules []ScoringRule, subject *Subject, e Stamped, given []float64, fired []bool) []Contribution {
	for k, r := range rules {
		if r.Effect.Per == PerLead && fired[k] {
			continue
		}
		if !r.When.Match(subject) {
			continue
		}
		pts := r.Effect.Points
		if r.Effect.Per == PerEvent && r.Effect.Cap > 0 {
			room := r.Effect.Cap - math.Abs(given[k])
			if room <= 0 {
				continue
			}
			if math.Abs(pts) > room {
				pts = math.Copysign(room, pts)
			}
		}
		given[k] += pts
		fired[k] = true
		next = append(next, Contribution{RuleID: r.ID, RuleVersion: r.Version, Score: r.Effect.Key, EventKey: e.Key, At: e.Time.UnixMicro(), Points: pts})
	}
	return next
}

// Extend scores events that come after every event the prior contributions were earned
// for: per rule, the points given so far and whether it fired follow from those
// contributions, so only the new events are evaluated. Events holds the earlier events the
// rules' counts can reach (see CountWindow), then the added ones' events (its last
// len(added)), all in time order and prepared (see Prepare): the caller has the one slice
// for its own reading of the window, and a long history is not copied again. Older events
// are not needed, and time-only ones count by their marks (numbered by marks). The result
// equals scoring every event from scratch. pos finds a rule's position in rules by its id
// (the caller's index: a map built per lead cost more than the lookups).
func Extend(rules []ScoringRule, pos func(id int64) (int, bool), profile Profile, account *Account, prior []Contribution, events []Event, added []Stamped, marks *MarkSet) []Contribution {
	given := make([]float64, len(rules))
	fired := make([]bool, len(rules))
	for _, c := range prior {
		if k, ok := pos(c.RuleID); ok {
			given[k] += c.Points
			fired[k] = true
		}
	}
	older := len(events) - len(added)
	// Profile and property values are tested by many rules for every new event: lower-case
	// each once.
	subject := &Subject{Profile: profile, Account: account, Marks: marks, Lower: Lowercase{}}
	var out []Contribution
	for i := range added {
		k := older + i
		subject.Now, subject.Event, subject.Events = added[i].Time, &events[k], events[:k+1]
		out = scoreEvent(out, rules, subject, added[i], given, fired)
	}
	return out
}

// diff lists what changed between two contribution sets of one event. An event earns from a
// few rules at most, so scanning the other set beats building maps (this runs once per event
// of every lead a re-score touches).
func diff(old, next []Contribution) []Contribution {
	if len(old) == 0 {
		return next
	}
	var out []Contribution
	for _, c := range old {
		if n, ok := sameRule(next, c); !ok || n.Points != c.Points {
			c.Points = -c.Points
			out = append(out, c)
		}
	}
	for _, c := range next {
		if o, ok := sameRule(old, c); !ok || o.Points != c.Points {
			out = append(out, c)
		}
	}
	return out
}

// sameRule finds the contribution of c's rule version in cs.
func sameRule(cs []Contribution, c Contribution) (Contribution, bool) {
	for _, o := range cs {
		if o.RuleID == c.RuleID && o.RuleVersion == c.RuleVersion {
			return o, true
		}
	}
	return Contribution{}, false
}

// Contributions returns the current ledger, in event time order.
func (l *LeadScorer) Contributions() []Contribution {
	n := 0
	for _, cs := range l.contributions {
		n += len(cs)
	}
	out := make([]Contribution, 0, n)
	for _, cs := range l.contributions {
		out = append(out, cs...)
	}
	return out
}

// TakeContributions is Contributions for a caller done with the scorer's contributions:
// after a Rescore it hands over the scorer's own array, without a copy, which the caller may
// then reorder. The scorer keeps its events and forgets its contributions.
func (l *LeadScorer) TakeContributions() []Contribution {
	out := l.whole
	if out == nil {
		out = l.Contributions()
	}
	l.whole, l.contributions = nil, nil
	return out
}

// Scores sums the contributions as of now, with expiry and decay applied, per score name.
// Nothing is stored for decay: the value is always current when read.
func Scores(contributions []Contribution, rules []ScoringRule, now time.Time) map[string]float64 {
	effects := make(map[int64]ScoreEffect, len(rules))
	for _, r := range rules {
		effects[r.ID] = r.Effect
	}
	out := map[string]float64{}
	for _, c := range contributions {
		out[effects[c.RuleID].Score] += Decayed(c, effects[c.RuleID], now)
	}
	return out
}

// Decayed is one contribution's value at now.
func Decayed(c Contribution, e ScoreEffect, now time.Time) float64 {
	age := time.Duration(now.UnixMicro()-c.At) * time.Microsecond
	if age < 0 {
		age = 0
	}
	if e.ExpireDays > 0 && age > time.Duration(e.ExpireDays)*24*time.Hour {
		return 0
	}
	if e.HalfLifeDays > 0 {
		// 2^-x is 0.5^x, three times faster than math.Pow (decay runs for every contribution).
		return c.Points * math.Exp2(-age.Hours()/24/e.HalfLifeDays)
	}
	return c.Points
}

// LabelRule gives a label while its conditions hold.
type LabelRule struct {
	ID   int64
	Name string
	When *Compiled
}

// Labels lists the labels a lead has at now (events in time order): a rule's label holds when its conditions match
// the lead with any of its events (or without one, for profile-only rules), as of now, so a
// label bound to "within the last 7 days" falls off by itself.
func Labels(rules []LabelRule, events []Event, profile Profile, account *Account, now time.Time) []string {
	var out []string
	for _, r := range rules {
		s := &Subject{Now: now, Events: events, Profile: profile, Account: account}
		held := r.When.Match(s)
		for i := 0; !held && i < len(events); i++ {
			s.Event = &events[i]
			held = r.When.Match(s)
		}
		if held {
			out = append(out, r.Name)
		}
	}
	return out
}

// NewLeadScorer holds a lead's events (in any order) ready for Rescore, which then scores
// them from scratch in one pass.
func NewLeadScorer(rules []ScoringRule, profile Profile, account *Account, events []Stamped) *LeadScorer {
	l := &LeadScorer{Rules: rules, Profile: profile, Account: account, events: events, lower: Lowercase{}}
	sort.Slice(l.events, func(i, j int) bool { return before(l.events[i], l.events[j]) })
	for i := range l.events {
		if l.events[i].lower == nil {
			l.events[i].PrepareWith(l.lower)
		}
	}
	l.contributions = make([][]Contribution, len(events))
	return l
}

// Events returns the lead's events in time order.
func (l *LeadScorer) Events() []Event {
	out := make([]Event, len(l.events))
	for i, e := range l.events {
		out[i] = e.Event
	}
	return out
}

// Keys returns the lead's event keys in time order.
func (l *LeadScorer) Keys() []int64 {
	out := make([]int64, len(l.events))
	for i, e := range l.events {
		out[i] = e.Key
	}
	return out
}

// Seed gives a scorer built with NewLeadScorer the contributions its events already earned
// (from an earlier scoring with the same rules and profile), so Add scores only what is new.
// It reports false when a contribution names an event the scorer does not have: the caller
// must then Rescore.
func (l *LeadScorer) Seed(contributions []Contribution) bool {
	pos := make(map[int64]int, len(l.events))
	for i, e := range l.events {
		pos[e.Key] = i
	}
	l.whole = nil
	for _, c := range contributions {
		i, ok := pos[c.EventKey]
		if !ok {
			return false
		}
		l.contributions[i] = append(l.contributions[i], c)
	}
	return true
}
