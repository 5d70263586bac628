package rules

import "time"

// Marks let a lead's memory stand in for its older activities. A mark is a test on one
// event alone, whose answer never changes once the event is stored: a count's "where", or
// what a recent label needs of its event besides the event's time. Scoring remembers, per
// older activity it keeps the time of, which marks the activity passed (a bit each), so a
// count or a recent label decides over those activities without reading them again.

// A Mark is one such test.
type Mark struct {
	test *cgroup
	// A label's mark has times, its "event.time within the last N days" conditions, and rest,
	// its conditions that do not test the event (profile, account, counts): both are tested at
	// the moment of evaluation. A count's mark has neither.
	times []*ccond
	rest  *cgroup
}

// Holds reports whether the event passes the mark (the event's time aside, for a label's);
// the subject's profile and account are those of the event's lead.
func (m Mark) Holds(s *Subject, e *Event) bool {
	current := s.Event
	s.Event = e
	ok := m.test.eval(s)
	s.Event = current
	return ok
}

// HeldAt reports whether an event at t that passed the label mark makes the label hold for
// the subject (at s.Now, with its profile, account and events).
func (m Mark) HeldAt(s *Subject, t time.Time) bool {
	for _, c := range m.times {
		if !c.compare(t, true, s.Now, s.Lower) {
			return false
		}
	}
	return m.rest == nil || m.rest.eval(s)
}

// MarkSet numbers a rule set's marks: bit i of an event's Marks says it passed mark i.
type MarkSet struct {
	list []Mark
	bit  map[*cgroup]uint64
}

// MaxMarks is how many marks a set holds (the bits of a uint64).
const MaxMarks = 64

// Add numbers the marks, all or none: false when they do not fit.
func (ms *MarkSet) Add(marks ...Mark) bool {
	if len(ms.list)+len(marks) > MaxMarks {
		return false
	}
	if ms.bit == nil {
		ms.bit = map[*cgroup]uint64{}
	}
	for _, m := range marks {
		ms.bit[m.test] = 1 << len(ms.list)
		ms.list = append(ms.list, m)
	}
	return true
}

// Len is the number of marks.
func (ms *MarkSet) Len() int { return len(ms.list) }

// Bit is the mark's bit (0 for a mark not in the set).
func (ms *MarkSet) Bit(m Mark) uint64 { return ms.bit[m.test] }

// Of tests the event against every mark.
func (ms *MarkSet) Of(s *Subject, e *Event) uint64 {
	var bits uint64
	for i, m := range ms.list {
		if m.Holds(s, e) {
			bits |= 1 << i
		}
	}
	return bits
}

// passes reports whether a time-only event passed a count's where, as its marks say.
func (ms *MarkSet) passes(where *cgroup, e *Event) bool {
	return ms != nil && e.Marks&ms.bit[where] != 0
}

// CountMarks are the "where" of the rule's event counts, as marks; ok is false when one of
// them depends on the moment of evaluation ("within the last N days"), so that activities
// must be read to count them.
func (c *Compiled) CountMarks() (marks []Mark, ok bool) {
	ok = true
	c.root.walk(func(x *ccond) {
		if x.field.Type != Count || x.where == nil {
			return
		}
		if !x.where.timeless() {
			ok = false
		}
		marks = append(marks, Mark{test: x.where})
	})
	if !ok {
		return nil, false
	}
	return marks, true
}

// LabelMark is, for a label that holds with an event of the last N days (LabelRecent with a
// condition on the event), what the event must pass besides its time: the conditions of the
// top AND group that test only the event. Its other conditions (profile, account, counts)
// are tested when the label is. ok is false when a condition mixes the event with anything
// else, or its answer for an event depends on the moment (a relative date inside a group).
func (c *Compiled) LabelMark() (Mark, bool) {
	if !c.root.eventLevel() || c.root.not || !c.root.and {
		return Mark{}, false
	}
	m := Mark{test: &cgroup{and: true}, rest: &cgroup{and: true}}
	for _, n := range c.root.nodes {
		x, cond := n.(*ccond)
		switch {
		case cond && x.field.Name == "event.time" && x.op.Name == "within_last_days":
			m.times = append(m.times, x)
		case onlyEvent(n):
			m.test.nodes = append(m.test.nodes, n)
		case cond && !x.eventLvl || !cond && !n.(*cgroup).eventLevel():
			m.rest.nodes = append(m.rest.nodes, n)
		default:
			return Mark{}, false
		}
	}
	if len(m.times) == 0 {
		return Mark{}, false
	}
	return m, true
}

// onlyEvent reports whether a node tests the event alone, the same way at every moment.
func onlyEvent(n evaluator) bool {
	g, ok := n.(*cgroup)
	if !ok {
		g = &cgroup{nodes: []evaluator{n}}
	}
	only := g.timeless()
	g.walk(func(x *ccond) { only = only && x.eventLvl })
	return only
}

// EventLevel reports whether a condition outside counts tests the event evaluated.
func (c *Compiled) EventLevel() bool { return c.root.eventLevel() }

// timeless reports whether the group's truth for an event never changes: no counts (they
// depend on other events) and no dates relative to the moment of evaluation.
func (g *cgroup) timeless() bool {
	ok := true
	g.walk(func(x *ccond) {
		if x.field.Type == Count || x.days > 0 {
			ok = false
		}
	})
	return ok
}
