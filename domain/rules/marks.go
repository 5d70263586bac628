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
	// times are a label mark's "event.time within the last N days" conditions, tested at the
	// moment of evaluation; a count's mark has none.
	times []*ccond
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

// HeldAt reports whether an event at t that passed the label mark makes the label hold at now.
func (m Mark) HeldAt(t, now time.Time) bool {
	for _, c := range m.times {
		if !c.compare(t, true, now) {
			return false
		}
	}
	return true
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
// condition on the event), what the event must pass besides its time: the other conditions
// of the top AND group. ok is false when those depend on the moment (counts, relative dates).
func (c *Compiled) LabelMark() (Mark, bool) {
	if !c.root.eventLevel() || c.root.not || !c.root.and {
		return Mark{}, false
	}
	m := Mark{test: &cgroup{and: true}}
	for _, n := range c.root.nodes {
		if x, ok := n.(*ccond); ok && x.field.Name == "event.time" && x.op.Name == "within_last_days" {
			m.times = append(m.times, x)
			continue
		}
		m.test.nodes = append(m.test.nodes, n)
	}
	if len(m.times) == 0 || !m.test.timeless() {
		return Mark{}, false
	}
	return m, true
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
