package rules

import "time"

// How much of a lead's past a rule can look at. Incremental scoring reads only that much
// history (often none): a new activity's cost then follows the new activity, not the lead's
// whole past.

// CountWindow is the longest event.count window among the conditions: scoring an event at
// time t by this rule reads the events since t minus it. 0 means the rule never looks at
// other events.
func (c *Compiled) CountWindow() time.Duration {
	var longest time.Duration
	c.root.walk(func(x *ccond) {
		if x.field.Type == Count {
			longest = max(longest, time.Duration(x.window)*24*time.Hour)
		}
	})
	return longest
}

// LabelHistory says which events can make a label rule hold at a moment.
type LabelHistory int

const (
	// LabelTimeless: nothing in the rule depends on the time of evaluation, so an event that
	// made the label hold always will; a lead's state remembers that (see HeldByEvent).
	LabelTimeless LabelHistory = iota
	// LabelRecent: only events within the horizon before the moment matter.
	LabelRecent
	// LabelAnyEvent: any event of the lead may matter (e.g. "more than 30 days ago").
	LabelAnyEvent
)

// LabelHistory classifies a label rule and, for LabelRecent, gives its horizon: a rule whose
// top AND group requires "event.time within the last N days" can only be held by an event of
// the last N days; a rule without any event condition outside counts is decided by counts
// over their windows.
func (c *Compiled) LabelHistory() (LabelHistory, time.Duration) {
	if len(c.Windows()) == 0 {
		return LabelTimeless, 0
	}
	horizon := c.CountWindow()
	if !c.root.eventLevel() {
		return LabelRecent, horizon
	}
	if c.root.not || !c.root.and {
		return LabelAnyEvent, 0
	}
	bound := time.Duration(0)
	for _, n := range c.root.nodes {
		if x, ok := n.(*ccond); ok && x.field.Name == "event.time" && x.op.Name == "within_last_days" {
			d := time.Duration(x.days) * 24 * time.Hour
			if bound == 0 || d < bound {
				bound = d
			}
		}
	}
	if bound == 0 {
		return LabelAnyEvent, 0
	}
	return LabelRecent, max(horizon, bound)
}

// walk visits every condition, inside counts' where groups too.
func (g *cgroup) walk(fn func(*ccond)) {
	for _, n := range g.nodes {
		switch x := n.(type) {
		case *cgroup:
			x.walk(fn)
		case *ccond:
			fn(x)
			if x.where != nil {
				x.where.walk(fn)
			}
		}
	}
}

// eventLevel reports whether a condition outside counts tests the event being evaluated.
func (g *cgroup) eventLevel() bool {
	for _, n := range g.nodes {
		switch x := n.(type) {
		case *cgroup:
			if x.eventLevel() {
				return true
			}
		case *ccond:
			if x.eventLvl {
				return true
			}
		}
	}
	return false
}
