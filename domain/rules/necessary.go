package rules

import (
	"time"
	"unicode/utf8"
)

// ActivityTest is one test on an activity's stored columns: the column, compared
// case-insensitively, equals, contains or begins with one of the values (lower-cased, ASCII).
type ActivityTest struct {
	Column string   `json:"column"` // event_type, name or source
	Op     string   `json:"op"`     // equals, contains or begins_with
	Values []string `json:"values"`
}

// ActivityFilter is a necessary condition for a rule to match: a lead whose activities pass
// none of its tests cannot be matched by the rule, so re-scoring after an edit can skip it.
type ActivityFilter []ActivityTest

// activityColumns are the event fields stored as activity columns.
var activityColumns = map[string]string{"event.type": "event_type", "event.name": "name", "event.source": "source"}

// NecessaryActivities derives, when it can, what one of a lead's activities must look like
// for the condition to match any event of the lead. In an AND group one condition that needs
// an activity suffices; an OR group needs one from each branch; a negation, an event count
// that zero events satisfy, or a profile-only condition gives none (ok false: consider every
// lead). Values outside ASCII give none either, since the database may lower-case them
// differently from Go.
func (c *Compiled) NecessaryActivities() (ActivityFilter, bool) {
	return c.root.necessary()
}

func (g *cgroup) necessary() (ActivityFilter, bool) { return g.combine(necessaryOf) }

// combine derives a group's filter from its members' (of): in an AND group one member's
// suffices, an OR group needs every member's; a negation gives none.
func (g *cgroup) combine(of func(evaluator) (ActivityFilter, bool)) (ActivityFilter, bool) {
	if g.not || len(g.nodes) == 0 {
		return nil, false
	}
	var union ActivityFilter
	for _, n := range g.nodes {
		f, ok := of(n)
		switch {
		case g.and && ok:
			return f, true
		case !g.and && !ok:
			return nil, false
		case !g.and:
			union = append(union, f...)
		}
	}
	return union, !g.and
}

func necessaryOf(n evaluator) (ActivityFilter, bool) {
	switch n := n.(type) {
	case *cgroup:
		return n.necessary()
	case *ccond:
		return n.necessary()
	}
	return nil, false
}

func (c *ccond) necessary() (ActivityFilter, bool) {
	if c.field.Type == Count {
		if c.where != nil && (c.op.Name == ">=" && c.num >= 1 || c.op.Name == "=" && c.num >= 1) {
			return c.where.necessary()
		}
		return nil, false
	}
	if c.field.Property != "" {
		return c.websiteNecessary()
	}
	column, ok := activityColumns[c.field.Name]
	if !ok {
		return nil, false
	}
	var values []string
	op := c.op.Name
	switch op {
	case "equals", "contains", "begins_with":
		values = []string{c.text}
	case "in":
		values, op = c.list, "equals"
	default:
		return nil, false
	}
	for _, v := range values {
		if v == "" || !ascii(v) {
			return nil, false
		}
	}
	return ActivityFilter{{Column: column, Op: op, Values: values}}, true
}

// websiteNecessary: a website field has a value only on website and sales email activities,
// so a test that a missing value fails needs one of those.
func (c *ccond) websiteNecessary() (ActivityFilter, bool) {
	if c.compare(nil, false, time.Time{}, nil) {
		return nil, false // "is empty", "does not contain" …: any activity can pass
	}
	return ActivityFilter{{Column: "source", Op: "equals", Values: []string{webSource, salesEmailSource}}}, true
}

// CountedActivities derives what an older activity must look like for the condition's event
// counts to use more of it than its time: a count's "where" must be able to pass it (counts
// without one need only times). ok false: any activity may matter; an empty filter with ok:
// times are enough.
func (c *Compiled) CountedActivities() (ActivityFilter, bool) {
	var out ActivityFilter
	ok := true
	c.root.walk(func(x *ccond) {
		if x.field.Type != Count || x.where == nil {
			return
		}
		f, fine := x.where.eventNecessary()
		out, ok = append(out, f...), ok && fine
	})
	return out, ok
}

// HistoryActivities is CountedActivities for a rule evaluated with each of a lead's events in
// turn (a label): the activities with which the condition can hold count too.
func (c *Compiled) HistoryActivities() (ActivityFilter, bool) {
	out, ok := c.CountedActivities()
	if c.root.eventLevel() {
		f, fine := c.root.eventNecessary()
		out, ok = append(out, f...), ok && fine
	}
	return out, ok
}

// eventNecessary is necessary for the event tested rather than for any event of the lead:
// a count says nothing about the event tested.
func (g *cgroup) eventNecessary() (ActivityFilter, bool) {
	return g.combine(func(n evaluator) (ActivityFilter, bool) {
		switch x := n.(type) {
		case *cgroup:
			return x.eventNecessary()
		case *ccond:
			if x.field.Type != Count {
				return x.necessary()
			}
		}
		return nil, false
	})
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
