package scoring

import (
	"encoding/binary"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

// Appending: when a lead's new activities all come after the ones its state covers (the
// common case: Currents and the tracker deliver in order), they are scored on top of the
// state without reading the lead's older activities, except those a rule can still look at
// (a count's window, a label's "within the last N days"). What the state remembers for that
// is its Memory; the result is the one scoring from scratch gives (tested).

// minRecentSpan is how far back a lead's memory keeps activity times at least: "rising"
// counts the last five weeks (rules.Trend). Turning frozen 90 days after the last activity
// needs the last time alone, which the memory keeps apart (LastAt).
const minRecentSpan = 35 * 24 * time.Hour

// Memory is what a lead's state keeps besides its contributions so that new activities can
// be scored without the older ones.
type Memory struct {
	Valid   bool // false for a state written before memories existed
	LastAt  time.Time
	LastKey int64         // the last activity in time order (then id): appending needs newer ones
	Heat    float64       // time-free heat of every activity (see Heat)
	Recent  []time.Time   // activity times since the earlier of span before the scoring and Window before LastAt, in order
	Window  time.Duration // how far before LastAt Recent reaches: the score rules' longest count window
	Held    []int64       // timeless label rules an activity made hold, ascending
	Labels  uint64        // fingerprint of the lead label rules the memory was computed with
	// Marks holds, per recent time, the marks its activity passed (rules.MarkSet), as numbered
	// by the mark set MarkSet fingerprints (0: no marks kept), for the times from MarkedFrom on
	// (zero: all of them; those before are 0).
	Marks      []uint64
	MarkSet    uint64
	MarkedFrom time.Time
}

// historyNeeds is how much history a rule set's rules read.
type historyNeeds struct {
	countWindow  time.Duration        // the longest event.count window of the score rules
	labelHorizon time.Duration        // the longest horizon of the LabelRecent rules
	labelClass   []rules.LabelHistory // per lead label rule
	anyEvent     bool                 // some label rule can be held by any old event: no appending
	labels       uint64               // fingerprint of the lead label rules
	// span is how long an activity can still change a lead by time passing alone (the
	// longest window of temperature and labels): a memory keeps the times of that span, all
	// the refresh time needs.
	span time.Duration
	// Of the older activities appending reads, the score rules' counts need more than the
	// time only of those passing all.counts (rules.CountedActivities), and the recent labels
	// of those passing all.labels (rules.HistoryActivities), when all.timesOK; the memory has
	// the times of the others. An empty filter: times alone suffice.
	all readFilters
	// marks are the tests whose answers a memory keeps per recent activity (see rules.Mark),
	// markSet their fingerprint (0: none). With a memory's marks, only the rules the marks do
	// not cover read older activities: marked holds the filters for those alone.
	marks      *rules.MarkSet
	markSet    uint64
	marked     readFilters
	labelMarks []*rules.Mark // per lead label rule, its label mark (nil: none)
}

// readFilters are the filters of appending's reads of older activities (see historyNeeds).
type readFilters struct {
	counts, labels rules.ActivityFilter
	timesOK        bool
}

func (f *readFilters) need(into *rules.ActivityFilter, filter rules.ActivityFilter, ok bool) {
	*into, f.timesOK = append(*into, filter...), f.timesOK && ok
}

// historyNeeds derives what the rule set's rules read of a lead's older activities. whens
// fingerprints each rule's conditions (by rule id): marks depend on those alone, so editing a
// rule's points keeps the memories' marks.
func (rs *RuleSet) historyNeeds(whens map[int64]uint64) historyNeeds {
	h := historyNeeds{span: minRecentSpan, all: readFilters{timesOK: true}, marked: readFilters{timesOK: true}, marks: &rules.MarkSet{}}
	for _, w := range rs.labelWindows {
		h.span = max(h.span, w)
	}
	set := fnv.New64a()
	// mark numbers the rule's marks; false when they do not fit (the rule then reads).
	mark := func(id int64, kind byte, marks ...rules.Mark) bool {
		if len(marks) == 0 || !h.marks.Add(marks...) {
			return len(marks) == 0
		}
		set.Write(binary.LittleEndian.AppendUint64([]byte{kind, byte(len(marks))}, whens[id]))
		return true
	}
	for _, r := range rs.Scoring {
		h.countWindow = max(h.countWindow, r.When.CountWindow())
		f, ok := r.When.CountedActivities()
		h.all.need(&h.all.counts, f, ok)
		if marks, ok := r.When.CountMarks(); !ok || !mark(r.ID, 'c', marks...) {
			h.marked.need(&h.marked.counts, f, ok)
		}
	}
	f := fnv.New64a()
	for _, l := range rs.Labels {
		class, horizon := l.When.LabelHistory()
		h.labelClass = append(h.labelClass, class)
		h.labelMarks = append(h.labelMarks, nil)
		h.anyEvent = h.anyEvent || class == rules.LabelAnyEvent
		if class == rules.LabelRecent {
			h.labelHorizon = max(h.labelHorizon, horizon)
			filter, ok := l.When.HistoryActivities()
			h.all.need(&h.all.labels, filter, ok)
			// Covered by marks: the counts' "where", and for a label held by an event, what it
			// asks of the event.
			marks, covered := l.When.CountMarks()
			lm, byEvent := l.When.LabelMark()
			switch {
			case covered && byEvent:
				if covered = mark(l.ID, 'l', append(marks, lm)...); covered {
					h.labelMarks[len(h.labelMarks)-1] = &lm
				}
			case covered && !l.When.EventLevel():
				covered = mark(l.ID, 'n', marks...)
			default:
				covered = false
			}
			if !covered {
				h.marked.need(&h.marked.labels, filter, ok)
			}
		}
		f.Write(strconv.AppendInt(strconv.AppendInt(nil, l.ID, 10), int64(l.Version), 36))
		f.Write([]byte{0})
	}
	h.labels = f.Sum64()
	if h.marks.Len() > 0 {
		h.markSet = max(set.Sum64(), 1) // 0 says "no marks"
	}
	return h
}

// canAppend reports whether a lead's added activities (so many of them, maybe none: time
// passed) can be scored on top of its stored state: the state comes from the same rules (see
// rulesStillHold) and profile and covers every other activity of the lead. The caller still
// checks that the added activities are newer than the state's last one (AfterLast).
// Scorers' clocks are assumed to agree (NTP): a state computed "later" than now would keep
// too few recent times. unsettled is the oldest rules version whose re-scoring has not
// finished (0: none).
func (rs *RuleSet) canAppend(l model.ScoringLead, stored storedState, added int, unsettled int64) bool {
	m := stored.Memory
	switch {
	case !m.Valid || m.Labels != rs.history.labels || rs.history.anyEvent || stored.Events+added != l.ActivityCount:
		return false
	case !rs.rulesStillHold(stored, l.StateVersion, unsettled):
		return false
	}
	p, a := Profile(l)
	return l.StateHash != nil && *l.StateHash == profileHash(p, a)
}

// canRevise reports whether a lead without new activities can be re-scored after a rule
// change from its stored state and the activities the changed rules can match, without its
// history: its state has a memory from the current label rules and profile and covers every
// activity of the lead, and every score rule that differs from the state's looks at one
// activity at a time (no counts) with a filter saying which activities it can match. The
// unchanged rules' contributions stand, the changed ones are evaluated over the matching
// activities (caps and "once per lead" depend only on the rule's own matches), and labels,
// heat and temperature follow from the memory as when appending.
func (rs *RuleSet) canRevise(l model.ScoringLead, stored storedState) bool {
	m := stored.Memory
	if !m.Valid || m.Labels != rs.history.labels || rs.history.anyEvent || stored.Events != l.ActivityCount {
		return false
	}
	for _, r := range rs.changedRules(stored.Rules) {
		if _, ok := rs.eventLocal[r.ID]; !ok {
			return false
		}
	}
	p, a := Profile(l)
	return l.StateHash != nil && *l.StateHash == profileHash(p, a)
}

// revisedFilter is what an activity must look like for one of the rules changed since the
// state (stored rule versions, current contributions) to match it, leaving out the rules
// whose contributions are re-priced (nil: no activity to read).
func (rs *RuleSet) revisedFilter(stored map[int64]int, current []rules.Contribution) rules.ActivityFilter {
	var f rules.ActivityFilter
	for _, r := range rs.changedRules(stored) {
		if !rs.canReprice(r, stored, current) {
			f = append(f, rs.eventLocal[r.ID]...)
		}
	}
	return f
}

// canReprice tells whether a changed score rule's stored contributions stand for exactly
// what scoring the activities again would give: the state was scored with the rule at or
// after its match version (same conditions, score, "per" and cap), and no cap cut a
// contribution before or would now. Otherwise the rule's matching activities must be read.
func (rs *RuleSet) canReprice(r rules.ScoringRule, stored map[int64]int, current []rules.Contribution) bool {
	from, ok := rs.repriceFrom[r.ID]
	if v, had := stored[r.ID]; !ok || !had || v < from {
		return false
	}
	e := r.Effect
	if e.Per != rules.PerEvent || e.Cap == 0 {
		return true
	}
	// Every stored contribution whole and together under the cap: none was cut or refused.
	// The new points must fit whole too.
	n, old := 0.0, 0.0
	for _, c := range current {
		if c.RuleID != r.ID {
			continue
		}
		if n > 0 && math.Abs(c.Points) != old {
			return false
		}
		n, old = n+1, math.Abs(c.Points)
	}
	return n*old < e.Cap && n*math.Abs(e.Points) <= e.Cap
}

// repriced gives a changed score rule's contributions at its current points, taken from the
// state's (see canReprice).
func (rs *RuleSet) repriced(r rules.ScoringRule, current []rules.Contribution) []rules.Contribution {
	var out []rules.Contribution
	for _, c := range current {
		if c.RuleID == r.ID {
			out = append(out, rules.Contribution{RuleID: r.ID, RuleVersion: r.Version, Score: r.Effect.Key,
				EventKey: c.EventKey, At: c.At, Points: r.Effect.Points})
		}
	}
	return out
}

// rulesStillHold: the state was computed with the current score rules, or the rules that
// differ (edited, added, removed since) gave the lead nothing and every re-scoring since the
// state's rules version finished. A targeted re-scoring after an edit skips the leads none of
// whose activities either version of the rule can match, and leaves their states as they
// were: for those leads the state holds for the new rules too (the version catches up when
// it is next written), so they keep appending instead of reading their history once more.
func (rs *RuleSet) rulesStillHold(stored storedState, stateVersion *int64, unsettled int64) bool {
	differ := map[int64]bool{}
	for _, r := range rs.Scoring {
		if v, ok := stored.Rules[r.ID]; !ok || v != r.Version {
			differ[r.ID] = true
		}
	}
	for id := range stored.Rules {
		if _, ok := rs.ruleVersion(id); !ok {
			differ[id] = true
		}
	}
	if len(differ) == 0 {
		return true
	}
	if stateVersion == nil || unsettled != 0 && unsettled > *stateVersion {
		return false
	}
	for _, c := range stored.Contributions {
		if differ[c.RuleID] {
			return false
		}
	}
	return true
}

// olderRead is which of a lead's older activities appending reads (see historyRead).
type olderRead struct {
	since time.Time // none older; zero: none at all
	// timesOnly: of those, only the ones a part takes — passing its filter (filters) and no
	// older than its time (zero: the part takes none) — the memory giving the others' times.
	timesOnly              bool
	countSince, labelSince time.Time
	filters                readFilters
	// marked: the memory's marks stand in for the activities they cover, and filters are
	// those of the rules they do not. Otherwise, with marks in the rule set, both parts read
	// from since, so that the marks are known from there on after this scoring.
	marked bool
}

// historyRead is how much of a lead's older activities appending activities from oldest on
// (zero oldest: none added) reads: what the score rules' counts can look at (their window
// before the oldest new activity) and what the recent labels can (their horizon before now).
// When the rules allow it and the memory's times reach back that far, only the activities the
// rules test beyond their time (and their marks) are read (an hour's margin for scorers' clocks).
func (rs *RuleSet) historyRead(oldest, now time.Time, m Memory) olderRead {
	h := &rs.history
	r := olderRead{filters: h.all}
	if h.countWindow > 0 && !oldest.IsZero() {
		r.countSince = oldest.Add(-h.countWindow)
		r.since = r.countSince
	}
	if h.labelHorizon > 0 {
		// In microseconds, as activity times are: the marks learnt from a read are known from
		// exactly where it started.
		r.labelSince = now.Add(-h.labelHorizon).Truncate(time.Microsecond)
		if r.since.IsZero() || r.labelSince.Before(r.since) {
			r.since = r.labelSince
		}
	}
	if h.markSet != 0 && !r.since.IsZero() {
		if m.MarkSet == h.markSet && len(m.Marks) == len(m.Recent) && !m.MarkedFrom.After(r.since) {
			r.marked, r.filters = true, h.marked
		} else {
			r.countSince, r.labelSince = r.since, r.since
		}
	}
	reach := now.Add(-h.span + time.Hour)
	if back := m.LastAt.Add(-m.Window); m.Valid && back.Before(reach) {
		reach = back
	}
	r.timesOnly = !r.since.IsZero() && r.filters.timesOK && !r.since.Before(reach)
	return r
}

// withTimes completes the older activities read through the history filter (in time order)
// with the times of the others since since, from the memory's recent times and their marks
// (nil: none): counts see every activity, the rules' other tests only those that can pass
// them. ok is false when the read and the memory disagree (an activity the memory lacks): the
// lead is then scored from scratch.
func withTimes(read []rules.Stamped, recent []time.Time, marks []uint64, since time.Time) ([]rules.Stamped, bool) {
	out := make([]rules.Stamped, 0, len(recent))
	j := 0
	for i, t := range recent {
		switch {
		case t.Before(since):
			continue
		case j < len(read) && read[j].Time.Equal(t):
			out = append(out, read[j])
			j++
		case j < len(read) && read[j].Time.Before(t):
			return nil, false
		default:
			e := rules.Stamped{Event: rules.Event{Time: t, TimeOnly: true}}
			if marks != nil {
				e.Marks = marks[i]
			}
			out = append(out, e)
		}
	}
	return out, j == len(read)
}

// AfterLast reports whether an activity comes after every one the memory covers.
func (m Memory) AfterLast(e rules.Stamped) bool {
	return e.Time.After(m.LastAt) || e.Time.Equal(m.LastAt) && e.Key > m.LastKey
}

// facts is what an outcome follows from, however it was computed.
type facts struct {
	next        []rules.Contribution
	labels      []string
	memory      Memory
	count       int                  // activities covered
	added       []rules.Contribution // appended: the new contributions (nil otherwise)
	incremental bool
}

// addedRoom is how many contributions per new activity a decoded state makes room for (see
// appendCanonical); more go to a new array.
const addedRoom = 8

// appendFacts scores a lead's added activities on top of its state. st.Events holds the
// older activities the rules can reach, st.Added the new ones, both in time order.
func (rs *RuleSet) appendFacts(st LeadState, profile rules.Profile, account *rules.Account, now time.Time) facts {
	// The rules read the older activities and the added ones in one slice, made once: copies
	// of it were most of what a pass over a long history allocated.
	window := make([]rules.Event, len(st.Events)+len(st.Added))
	for i, e := range st.Events {
		window[i] = e.Event
	}
	fresh := window[len(st.Events):]
	for i := range st.Added {
		if !st.Added[i].Prepared() {
			st.Added[i].Prepare()
		}
		fresh[i] = st.Added[i].Event
	}
	var f facts
	var marks *rules.MarkSet // time-only events pass counts' "where" by their marks
	if st.Read.marked {
		marks = rs.history.marks
	}
	if st.Revise {
		// Rules changed: the unchanged ones keep what they gave, the changed ones score the
		// activities they can match; the comparison with the stored contributions makes the
		// ledger.
		var read []rules.ScoringRule
		var repriced []rules.Contribution
		for _, r := range rs.changedRules(st.Rules) {
			if rs.canReprice(r, st.Rules, st.Current) {
				repriced = append(repriced, rs.repriced(r, st.Current)...)
			} else {
				read = append(read, r)
			}
		}
		scorer := rules.NewLeadScorer(read, profile, account, st.Matching)
		scorer.Rescore()
		changed := scorer.Contributions()
		if len(repriced) > 0 {
			changed = rs.canonical(append(repriced, changed...))
		}
		f = facts{next: rs.mergeCanonical(rs.unchangedContributions(st), changed), count: st.Counted, incremental: true}
	} else {
		added := rules.Extend(rs.Scoring, rs.rulePos, profile, account, st.Current, window, st.Added, marks)
		f = facts{next: rs.appendCanonical(st.Current, added), added: added, count: st.Counted + len(st.Added), incremental: true}
		if f.added == nil {
			f.added = []rules.Contribution{}
		}
	}
	old := st.Memory
	m := Memory{Valid: true, LastAt: old.LastAt, LastKey: old.LastKey, Heat: old.Heat, Labels: rs.history.labels}
	n := st.Counted
	recent := append(make([]time.Time, 0, len(old.Recent)+len(st.Added)), old.Recent...)
	subject := &rules.Subject{Now: now, Profile: profile, Account: account}
	bits, markedFrom, known := rs.recentMarks(st, subject)
	for _, e := range st.Added {
		m.Heat = foldHeat(m.Heat, n == 0, e.Time)
		n++
		m.LastAt, m.LastKey = e.Time, e.Key
		recent = append(recent, e.Time)
		if known {
			bits = append(bits, rs.history.marks.Of(subject, &e.Event))
		}
	}
	from := rs.keptFrom(recent, m.LastAt, now)
	m.Recent, m.Window = recent[from:], rs.history.countWindow
	if known {
		m.Marks, m.MarkSet, m.MarkedFrom = bits[from:], rs.history.markSet, maxTime(markedFrom, rs.marksFrom(m.LastAt, now))
		for i, t := range m.Recent {
			if t.Before(m.MarkedFrom) {
				m.Marks[i] = 0 // no longer needed (see marksFrom): as scoring from scratch keeps them
			}
		}
	}
	held := map[int64]bool{}
	for _, id := range old.Held {
		held[id] = true
	}
	for i, l := range rs.Labels {
		var has bool
		if rs.history.labelClass[i] == rules.LabelTimeless {
			byEvent := held[l.ID] || matchAny(l.When, fresh, profile, account, now)
			if byEvent {
				held[l.ID] = true
			}
			has = byEvent || l.When.Match(&rules.Subject{Now: now, Profile: profile, Account: account})
		} else if st.Settled {
			has = slices.Contains(st.Lead.Labels, l.Name)
		} else {
			has = labelHolds(l.When, rs.history.labelMarks[i], marks, window, profile, account, now)
		}
		if has {
			f.labels = append(f.labels, l.Name)
		}
	}
	m.Held = slices.Sorted(maps.Keys(held))
	f.memory = m
	return f
}

// marksFrom is the oldest time whose marks a memory still needs: the next activities come
// after lastAt, so the counts look back at most their window before it, and the recent labels
// their horizon before now or later (historyRead reads from no earlier).
func (rs *RuleSet) marksFrom(lastAt, now time.Time) time.Time {
	var from time.Time
	if h := &rs.history; h.countWindow > 0 {
		from = lastAt.Add(-h.countWindow)
	}
	if h := &rs.history; h.labelHorizon > 0 {
		if l := now.Add(-h.labelHorizon); from.IsZero() || l.Before(from) {
			from = l
		}
	}
	return from.Truncate(time.Microsecond) // as stored: activity times and states keep microseconds
}

// recentMarks are the marks of the memory's recent times after appending, before the added
// activities': the old memory's where they stay known, those of the older activities read
// (Events, from Read.since on) otherwise, known from the time from on (zero: all). known is
// false when they are not known.
func (rs *RuleSet) recentMarks(st LeadState, s *rules.Subject) (bits []uint64, from time.Time, known bool) {
	old, h := st.Memory, &rs.history
	if h.markSet == 0 {
		return nil, time.Time{}, false
	}
	kept := old.MarkSet == h.markSet && len(old.Marks) == len(old.Recent)
	since := st.Read.since
	if since.IsZero() || st.Settled {
		return slices.Clone(old.Marks), old.MarkedFrom, kept
	}
	from = since
	if kept && old.MarkedFrom.Before(since) {
		from = old.MarkedFrom
	}
	bits = make([]uint64, len(old.Recent))
	j := 0
	for i, t := range old.Recent {
		switch {
		case t.Before(since):
			if kept {
				bits[i] = old.Marks[i]
			}
		case j < len(st.Events) && st.Events[j].Time.Equal(t):
			e := &st.Events[j].Event
			if bits[i] = e.Marks; !e.TimeOnly {
				bits[i] = h.marks.Of(s, e)
			}
			j++
		default:
			return nil, time.Time{}, false // the read and the memory disagree: forget the marks
		}
	}
	return bits, from, j == len(st.Events)
}

// scratchFacts completes facts computed over a lead's every activity (events, in time order).
func (rs *RuleSet) scratchFacts(f facts, events []rules.Event, keys []int64, profile rules.Profile, account *rules.Account, now time.Time) facts {
	m := Memory{Valid: true, Labels: rs.history.labels}
	times := make([]time.Time, len(events))
	for i, e := range events {
		m.Heat = foldHeat(m.Heat, i == 0, e.Time)
		times[i] = e.Time
	}
	if len(events) > 0 {
		m.LastAt, m.LastKey = events[len(events)-1].Time, keys[len(keys)-1]
	}
	from := rs.keptFrom(times, m.LastAt, now)
	m.Recent, m.Window = times[from:], rs.history.countWindow
	if rs.history.markSet != 0 {
		s := &rules.Subject{Now: now, Profile: profile, Account: account}
		m.Marks, m.MarkSet, m.MarkedFrom = make([]uint64, len(m.Recent)), rs.history.markSet, rs.marksFrom(m.LastAt, now)
		for i, t := range m.Recent {
			if !t.Before(m.MarkedFrom) {
				m.Marks[i] = rs.history.marks.Of(s, &events[from+i])
			}
		}
	}
	f.count = len(events)
	for i, l := range rs.Labels {
		var has bool
		if rs.history.labelClass[i] == rules.LabelTimeless {
			byEvent := matchAny(l.When, events, profile, account, now)
			if byEvent {
				m.Held = append(m.Held, l.ID)
			}
			has = byEvent || l.When.Match(&rules.Subject{Now: now, Profile: profile, Account: account})
		} else {
			has = labelHolds(l.When, nil, nil, events, profile, account, now)
		}
		if has {
			f.labels = append(f.labels, l.Name)
		}
	}
	slices.Sort(m.Held)
	m.Held = slices.Compact(m.Held)
	f.memory = m
	return f
}

// labelHolds: the rule holds at now without an event or with one of the events (which its
// counts see too), as rules.Labels decides. A time-only event passes the counts' "where" by
// its marks (numbered by marks; nil: none), and holds the label when it passed the label's
// mark (nil: none) and its time is recent enough.
func labelHolds(c *rules.Compiled, mark *rules.Mark, marks *rules.MarkSet, events []rules.Event, profile rules.Profile, account *rules.Account, now time.Time) bool {
	s := &rules.Subject{Now: now, Events: events, Profile: profile, Account: account, Marks: marks}
	if c.Match(s) {
		return true
	}
	var bit uint64
	if mark != nil && marks != nil {
		bit = marks.Bit(*mark)
	}
	for i := range events {
		if events[i].TimeOnly {
			// Without the mark it passes no test the rule's event must pass (rules.HistoryActivities).
			if events[i].Marks&bit != 0 && mark.HeldAt(s, events[i].Time) {
				return true
			}
			continue
		}
		s.Event = &events[i]
		if c.Match(s) {
			return true
		}
	}
	return false
}

// matchAny: one of the events makes a timeless rule hold.
func matchAny(c *rules.Compiled, events []rules.Event, profile rules.Profile, account *rules.Account, now time.Time) bool {
	s := &rules.Subject{Now: now, Profile: profile, Account: account}
	for i := range events {
		s.Event = &events[i]
		if c.Match(s) {
			return true
		}
	}
	return false
}

// foldHeat adds an activity to a time-free heat: log2(2^h + 2^units(t)), computed without
// overflow. A lead's heat is log2 of Σ 2^units(t) over its activities, folded in time order
// (the same whether in one pass or across scorings): its engagement (each activity counting
// 1 today, ½ a half-life ago …) times 2^units(now). Every lead's heat decays at the same rate,
// so this number orders leads the same way at every moment and never needs updating as time
// passes; heat at now is 2^(heat − units(now)); 0 means no activity.
func foldHeat(h float64, first bool, t time.Time) float64 {
	u := units(t)
	if first {
		return u
	}
	top, low := max(h, u), min(h, u)
	return top + math.Log2(1+math.Exp2(low-top))
}

// keptFrom is where the times (in order) a memory keeps start: it needs those of the span
// before now (labels, temperature, refresh times) and of the longest count window before the
// last activity, since the next activities come after it (backfilled activities can be older
// than the span).
func (rs *RuleSet) keptFrom(times []time.Time, lastAt, now time.Time) int {
	from := now.Add(-rs.history.span)
	if back := lastAt.Add(-rs.history.countWindow); back.Before(from) {
		from = back
	}
	i := 0
	for i < len(times) && times[i].Before(from) {
		i++
	}
	return i
}

// engagement is what temperature and "rising" read, from a lead's memory: the weekly counts
// from its recent times, heat and last activity from what the memory keeps of every one.
func engagement(m Memory, count int, now time.Time) rules.Engagement {
	e := rules.Engagement{Last: m.LastAt}
	e.LastWeek, e.PriorWeekly = rules.Trend(m.Recent, now)
	if count > 0 {
		e.Heat = math.Exp2(m.Heat - units(now))
	}
	return e
}
