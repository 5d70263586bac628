package scoring

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

// defaultRuleSet compiles the default rules as a workspace would store them.
func defaultRuleSet(t *testing.T) *RuleSet {
	t.Helper()
	return buildRuleSet(t, 7, defaultStoredRules())
}

func defaultStoredRules() []model.StoredRule {
	var stored []model.StoredRule
	for i, d := range NewWorkspaceSeed().Rules {
		stored = append(stored, model.StoredRule{ID: int64(i + 1), Version: 1, MatchVersion: 1, Enabled: true, Definition: d.Definition})
	}
	return stored
}

func buildRuleSet(t *testing.T, version int64, stored []model.StoredRule) *RuleSet {
	t.Helper()
	rs, problems := Build(version, stored, []model.ScoreName{{ID: 1, Name: "Lead score", IsMain: true}}, nil)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return rs
}

// TestIncrementalStateMatchesScratch: scoring only the new activities on top of a stored
// state gives what scoring the lead from scratch gives, and really takes the short way.
func TestIncrementalStateMatchesScratch(t *testing.T) {
	rs := defaultRuleSet(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(3))
	kinds := []struct{ typ, name string }{
		{"users.messages.email.Open", "[Email campaign engagement] Opened email A"},
		{"users.messages.email.Click", "[Email campaign engagement] Clicked in email A on https://x"},
		{"users.behaviors.CustomEvent", "[Custom Event tracked] pricing_page_viewed"},
		{"users.behaviors.CustomEvent", "[Custom Event tracked] demo_requested"},
	}
	incrementalRuns := 0
	for trial := 0; trial < 200; trial++ {
		lead := model.ScoringLead{ID: 1, Email: "a@acme.example", Title: "VP Sales"}
		var all []rules.Stamped
		for k := 0; k < 1+rng.Intn(40); k++ {
			kd := kinds[rng.Intn(len(kinds))]
			all = append(all, rules.Stamped{Key: int64(k + 1), Event: rules.Event{Name: kd.name, Type: kd.typ,
				Time: now.Add(-time.Duration(rng.Intn(60*24)) * time.Hour)}})
		}
		split := rng.Intn(len(all) + 1)
		// First pass: the older batch, from scratch; its outcome becomes the stored state.
		first := rs.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), all[:split]...)}, HeatScale{}, now)
		stored := lead
		stored.StateVersion, stored.StateHash, stored.State = &first.State.RulesVersion, &first.State.ProfileHash, first.State.State
		current, err := rs.decodeState(first.State.State, 0)
		if err != nil {
			t.Fatal(err)
		}
		fresh := map[int64]bool{}
		for _, e := range all[split:] {
			fresh[e.Key] = true
		}
		inc := rs.Score(LeadState{Lead: stored, Events: append([]rules.Stamped(nil), all...), Current: current.Contributions, Rules: current.Rules, Counted: current.Events, New: fresh}, HeatScale{}, now)
		full := rs.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), all...)}, HeatScale{}, now)
		if inc.Incremental {
			incrementalRuns++
		}
		if fmt.Sprint(inc.Scoring) != fmt.Sprint(full.Scoring) || string(inc.State.State) != string(full.State.State) {
			t.Fatalf("trial %d: incremental %+v\nfull %+v", trial, inc.Scoring, full.Scoring)
		}
	}
	if incrementalRuns < 150 {
		t.Fatalf("only %d of 200 trials took the incremental path", incrementalRuns)
	}

	// After a rule edit, a lead with a state evaluates only the edited rule, with the result
	// of a full scoring.
	edited := defaultRuleSet(t)
	for i := range edited.Scoring {
		if i%3 == 0 {
			edited.Scoring[i].Version++
			edited.Scoring[i].Effect.Points += 3
		}
	}
	edited.Scoring = edited.Scoring[:len(edited.Scoring)-1] // and one rule deleted
	for trial := 0; trial < 100; trial++ {
		lead := model.ScoringLead{ID: 1, Email: "a@acme.example"}
		var all []rules.Stamped
		for k := 0; k < 1+rng.Intn(30); k++ {
			kd := kinds[rng.Intn(len(kinds))]
			all = append(all, rules.Stamped{Key: int64(k + 1), Event: rules.Event{Name: kd.name, Type: kd.typ, Time: now.Add(-time.Duration(rng.Intn(60*24)) * time.Hour)}})
		}
		before := rs.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), all...)}, HeatScale{}, now)
		state, _ := rs.decodeState(before.State.State, 0)
		stored := lead
		stored.StateHash, stored.State = &before.State.ProfileHash, before.State.State
		partial := edited.Score(LeadState{Lead: stored, Events: append([]rules.Stamped(nil), all...), Current: state.Contributions, Rules: state.Rules, Counted: state.Events}, HeatScale{}, now)
		full := edited.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), all...)}, HeatScale{}, now)
		if !partial.Incremental || fmt.Sprint(partial.Scoring) != fmt.Sprint(full.Scoring) || string(partial.State.State) != string(full.State.State) {
			t.Fatalf("trial %d: partial %+v\nfull %+v", trial, partial.Scoring, full.Scoring)
		}
	}
	// A state that does not cover every activity it should (a scorer that read it before
	// another committed) is not trusted either: the lead is scored from scratch.
	{
		lead := model.ScoringLead{ID: 1, Email: "a@acme.example"}
		var all []rules.Stamped
		for k := 0; k < 12; k++ {
			kd := kinds[k%len(kinds)]
			all = append(all, rules.Stamped{Key: int64(k + 1), Event: rules.Event{Name: kd.name, Type: kd.typ, Time: now.Add(-time.Duration(12-k) * time.Hour)}})
		}
		first := rs.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), all[:6]...)}, HeatScale{}, now)
		state, _ := rs.decodeState(first.State.State, 0)
		stored := lead
		stored.StateVersion, stored.StateHash, stored.State = &first.State.RulesVersion, &first.State.ProfileHash, first.State.State
		// Activities 7 to 11 were stored by another batch whose state we did not see; 12 is ours.
		o := rs.Score(LeadState{Lead: stored, Events: append([]rules.Stamped(nil), all...), Current: state.Contributions, Rules: state.Rules,
			Counted: state.Events, New: map[int64]bool{12: true}}, HeatScale{}, now)
		full := rs.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), all...)}, HeatScale{}, now)
		if o.Incremental || fmt.Sprint(o.Scoring) != fmt.Sprint(full.Scoring) {
			t.Fatalf("stale state trusted: incremental %v\n%+v\n%+v", o.Incremental, o.Scoring, full.Scoring)
		}
	}

	// A state from other rules is not trusted.
	other := rs.Version + 1
	lead := model.ScoringLead{ID: 1, StateVersion: &other, StateHash: new(int64)}
	o := rs.Score(LeadState{Lead: lead, Events: []rules.Stamped{{Key: 1, Event: rules.Event{Type: "users.messages.email.Open", Time: now}}}, New: map[int64]bool{1: true}}, HeatScale{}, now)
	if o.Incremental {
		t.Fatal("used a state computed by other rules")
	}
}

func TestStateRoundTrip(t *testing.T) {
	in := []model.Contribution{
		{LeadID: 9, RuleID: 3, RuleVersion: 2, ActivityID: 1 << 40, ScoreID: 5, EarnedAt: time.UnixMicro(1773223651123456).UTC(), Points: -2.5},
		{LeadID: 9, RuleID: 4, RuleVersion: 1, ActivityID: 17, ScoreID: 5, EarnedAt: time.UnixMicro(1673223651123456).UTC(), Points: 1.0 / 3},
		{LeadID: 9, RuleID: 4, RuleVersion: 1, ActivityID: 18, ScoreID: 6, EarnedAt: time.UnixMicro(1673223651123457).UTC(), Points: 30},
	}
	scoring := []rules.ScoringRule{{ID: 3, Version: 2}, {ID: 4, Version: 1}}
	mem := Memory{Valid: true, LastAt: time.UnixMicro(1773223651123456).UTC(), LastKey: 1 << 40, Heat: 123.456789,
		Recent: []time.Time{time.UnixMicro(1773000000000001).UTC(), time.UnixMicro(1773223651123456).UTC()}, Held: []int64{4, 9000}, Labels: 1<<63 + 5, Window: 7 * 24 * time.Hour,
		Marks: []uint64{0, 1<<63 | 5}, MarkSet: 77, MarkedFrom: time.UnixMicro(1772000000000000).UTC()}
	out, err := DecodeState(9, EncodeState(scoring, 17, in, mem))
	if err != nil || fmt.Sprint(out.Contributions) != fmt.Sprint(in) || out.Rules[3] != 2 || out.Rules[4] != 1 || len(out.Rules) != 2 || out.Events != 17 ||
		fmt.Sprint(out.Memory) != fmt.Sprint(mem) {
		t.Fatalf("%v %v", out, err)
	}
	// Without contributions, and truncated anywhere.
	empty := EncodeState(scoring, 0, nil, Memory{Valid: true})
	if out, err := DecodeState(9, empty); err != nil || len(out.Contributions) != 0 || !out.Memory.Valid {
		t.Fatalf("%v %v", out, err)
	}
	whole := EncodeState(scoring, 17, in, mem)
	for n := 1; n < len(whole); n++ {
		if out, err := DecodeState(9, whole[:n]); err == nil && len(out.Contributions) == len(in) {
			t.Fatalf("accepted a state cut at %d bytes", n)
		}
	}
	if _, err := DecodeState(9, []byte{1, 200}); err == nil {
		t.Fatal("accepted a truncated state")
	}
	// Marks known from within a recent time's microsecond read back in step.
	fine := mem
	fine.MarkedFrom, fine.Marks = mem.Recent[0].Add(500*time.Nanosecond), []uint64{3, 5}
	if out, err := DecodeState(9, EncodeState(scoring, 17, in, fine)); err != nil || !slices.Equal(out.Memory.Marks, []uint64{3, 5}) ||
		fmt.Sprint(out.Contributions) != fmt.Sprint(in) {
		t.Fatalf("marks from within a microsecond: %v %v", out.Memory.Marks, err)
	}
	// A format 6 state (before marks) reads without marks, a format 5 state (before windows)
	// with a window of 0 too.
	unmarked := mem
	unmarked.Marks, unmarked.MarkSet, unmarked.MarkedFrom = nil, 0, time.Time{}
	end := len(encodeHeader(scoring, 17, len(in), mem))
	marks := len(encodeHeader(scoring, 17, len(in), mem)) - len(encodeHeader(scoring, 17, len(in), unmarked)) + 8
	six := slices.Concat([]byte{stateFormatWithoutMarks}, whole[1:end-marks], whole[end:])
	if out, err := DecodeState(9, six); err != nil || fmt.Sprint(out.Contributions) != fmt.Sprint(in) || fmt.Sprint(out.Memory) != fmt.Sprint(unmarked) {
		t.Fatalf("format 6: %v %v", out, err)
	}
	window := len(binary.AppendUvarint(nil, uint64(mem.Window/time.Second)))
	five := slices.Concat([]byte{stateFormatWithoutWindow}, whole[1:end-marks-window], whole[end:]) // the window left out
	if out, err := DecodeState(9, five); err != nil || fmt.Sprint(out.Contributions) != fmt.Sprint(in) || out.Memory.Window != 0 || out.Memory.Heat != mem.Heat ||
		out.Memory.MarkSet != 0 {
		t.Fatalf("format 5: %v %v", out, err)
	}
}

// TestReaderVarints: the reader's one-byte shortcut and binary's full decoding agree on
// every value around the one- and two-byte edges, negative ones (zig-zag) included.
func TestReaderVarints(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 127, 128, -128, 8191, -8192, 8192, 1 << 40, -(1 << 40), math.MaxInt64, math.MinInt64} {
		r := reader{b: binary.AppendVarint(binary.AppendUvarint(nil, uint64(v)), v)}
		if u := r.uvarint(); u != uint64(v) || r.bad {
			t.Errorf("uvarint %d read as %d (bad %v)", uint64(v), u, r.bad)
		}
		if got := r.varint(); got != v || r.bad || len(r.b) != 0 {
			t.Errorf("varint %d read as %d (bad %v, %d bytes left)", v, got, r.bad, len(r.b))
		}
	}
	r := reader{b: []byte{0x80}} // a varint cut short
	if r.varint(); !r.bad {
		t.Error("read a varint cut short")
	}
}

// TestStateRulesReadWithTheRuleSet: a state scored with the rule set's own rules reads them
// back without a map of its own; one scored with another version of a rule, or with a rule
// fewer, reads what it holds.
func TestStateRulesReadWithTheRuleSet(t *testing.T) {
	rs := defaultRuleSet(t)
	if len(rs.Scoring) < 3 {
		t.Fatal("the default rules have fewer than three score rules")
	}
	versions := func(scoring []rules.ScoringRule) map[int64]int {
		out := map[int64]int{}
		for _, r := range scoring {
			out[r.ID] = r.Version
		}
		return out
	}
	older := slices.Clone(rs.Scoring)
	older[1].Version += 7
	fewer := rs.Scoring[:len(rs.Scoring)-1]
	for name, scoring := range map[string][]rules.ScoringRule{"current": rs.Scoring, "an older version": older, "a rule fewer": fewer} {
		b := EncodeState(scoring, 3, nil, Memory{Valid: true, Heat: 2})
		st, err := rs.decodeState(b, 0)
		if err != nil || !maps.Equal(st.Rules, versions(scoring)) || st.Events != 3 || st.Memory.Heat != 2 {
			t.Fatalf("%s: read %v (%v), want %v", name, st.Rules, err, versions(scoring))
		}
		if got := rs.changedRules(st.Rules); (len(got) == 0) != (name == "current") {
			t.Fatalf("%s: changed rules %v", name, got)
		}
	}
}

// TestHistoryGroups: leads are cut in order into runs of at most the budget's history, each
// lead exactly once, a lead over budget alone.
func TestHistoryGroups(t *testing.T) {
	counts := []int{5, 5, 11, 0, 30, 1, 9, 9}
	leads := make([]model.ScoringLead, len(counts))
	for i, c := range counts {
		leads[i] = model.ScoringLead{ID: int64(i + 1), ActivityCount: c}
	}
	var got [][]int64
	for _, g := range historyGroups(leads, 10) {
		var ids []int64
		for _, l := range g {
			ids = append(ids, l.ID)
		}
		got = append(got, ids)
	}
	if want := "[[1 2] [3] [4] [5] [6 7] [8]]"; fmt.Sprint(got) != want {
		t.Fatalf("groups %v, want %s", got, want)
	}
	if g := historyGroups(nil, 10); len(g) != 0 {
		t.Fatalf("groups of nothing: %v", g)
	}
}

// streamKinds are the activities of the random streams, a bounce last.
var streamKinds = []struct{ typ, name string }{
	{"users.messages.email.Open", "[Email campaign engagement] Opened email A"},
	{"users.messages.email.Click", "[Email campaign engagement] Clicked in email A on https://x"},
	{"users.behaviors.CustomEvent", "[Custom Event tracked] pricing_page_viewed"},
	{"users.behaviors.CustomEvent", "[Custom Event tracked] demo_requested"},
	{"users.messages.email.Bounce", "[Email campaign engagement] Email bounced"},
}

// storedAfter is the lead as its first scoring leaves it (with activities in all), and its
// decoded state.
func storedAfter(t testing.TB, rs *RuleSet, lead model.ScoringLead, first Outcome, activities int) (model.ScoringLead, storedState) {
	t.Helper()
	stored := lead
	stored.StateVersion, stored.StateHash, stored.State = &first.State.RulesVersion, &first.State.ProfileHash, first.State.State
	stored.RefreshAt, stored.Labels, stored.Heat = first.Scoring.RefreshAt, first.Scoring.Labels, first.Scoring.Heat
	stored.ActivityCount = activities
	state, err := rs.decodeState(first.State.State, 0)
	if err != nil {
		t.Fatal(err)
	}
	return stored, state
}

// TestAppendingMatchesScratch: activities newer than a lead's state, scored on top of it with
// only the history the rules can reach (a count's window, a recent label's horizon) and
// later than the state was computed, give exactly what scoring every activity from scratch
// gives: scores, ledger, labels, heat, temperature, refresh time and the state's bytes.
func TestAppendingMatchesScratch(t *testing.T) {
	rs := defaultRuleSet(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(11))
	kinds := streamKinds
	titles := []string{"VP Sales", "Intern", "Head of Marketing", ""}
	appended, refreshDue, withTimesOnly, backfilled, marked := 0, 0, 0, 0, 0
	for trial := 0; trial < 400; trial++ {
		lead := model.ScoringLead{ID: 1, Email: "a@acme.example", Title: titles[rng.Intn(len(titles))]}
		var all []rules.Stamped
		at := now.Add(-time.Duration(rng.Intn(120*24)) * time.Hour)
		for k := 0; k < 1+rng.Intn(40); k++ {
			kd := kinds[rng.Intn(len(kinds)-1)]
			if rng.Intn(30) == 0 {
				kd = kinds[len(kinds)-1]
			}
			at = at.Add(time.Duration(rng.Intn(3*24*60)) * time.Minute) // time moves forward, ties and all
			all = append(all, rules.Stamped{Key: int64(k + 1), Event: rules.Event{Name: kd.name, Type: kd.typ, Time: at}})
		}
		split := 1 + rng.Intn(len(all))
		if split == len(all) {
			split--
		}
		if split == 0 {
			continue
		}
		// The state is computed when the last old activity came in, or a little later.
		then := all[split-1].Time.Add(time.Duration(rng.Intn(48*60)) * time.Minute)
		// Scoring the new ones, later (the clock moves forward).
		at2 := maxTime(then, all[len(all)-1].Time).Add(time.Duration(rng.Intn(48*60)) * time.Minute)
		if trial%4 == 0 { // a backfill: every activity months older than the scorings
			then, at2 = then.Add(150*24*time.Hour), at2.Add(150*24*time.Hour)
		}
		first := rs.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), all[:split]...)}, HeatScale{Hot: 3, Warm: 2, Neutral: 1}, then)
		stored, state := storedAfter(t, rs, lead, first, len(all))
		if !rs.canAppend(stored, state, len(all)-split, 0) {
			t.Fatalf("trial %d: a lead with new activities after its state cannot append", trial)
		}
		if stored.RefreshAt != nil && !stored.RefreshAt.After(at2) {
			refreshDue++ // time changed things too (expiry, decay, windows): appending handles it
		}
		if trial%3 == 1 { // a state stored before marks: appending reads and learns them
			state.Memory.Marks, state.Memory.MarkSet = nil, 0
		}
		window, timesOnly, read := olderAsRead(t, rs, all[:split], state.Memory, all[split].Time, at2)
		if read.marked {
			marked++
		}
		if timesOnly {
			withTimesOnly++
			if rs.historyRead(all[split].Time, at2, state.Memory).since.Before(at2.Add(-rs.history.span + time.Hour)) {
				backfilled++ // older than the memory's span: its count window reaches them
			}
		}
		inc := rs.Score(LeadState{Lead: stored, Events: window, Added: append([]rules.Stamped(nil), all[split:]...), Append: true,
			Current: state.Contributions, Rules: state.Rules, Counted: state.Events, Memory: state.Memory, Read: read}, HeatScale{Hot: 3, Warm: 2, Neutral: 1}, at2)
		scratchLead := stored
		scratchLead.StateHash = nil // ignore the state: every activity from scratch
		full := rs.Score(LeadState{Lead: scratchLead, Events: append([]rules.Stamped(nil), all...), Current: state.Contributions}, HeatScale{Hot: 3, Warm: 2, Neutral: 1}, at2)
		appended++
		if fmt.Sprint(inc.Scoring) != fmt.Sprint(full.Scoring) || !sameState(inc.State.State, full.State.State) ||
			!reflect.DeepEqual(inc.Ledger, full.Ledger) || !inc.Incremental {
			t.Fatalf("trial %d (split %d of %d, window %d, then %v, at %v, stored refresh %v): appended %+v\nscratch %+v\nledger %v\nvs     %v", trial, split, len(all), len(window), then, at2, stored.RefreshAt,
				inc.Scoring, full.Scoring, inc.Ledger, full.Ledger)
		}
	}
	if appended < 350 || refreshDue < 100 || withTimesOnly < 100 || backfilled < 10 || marked < 150 {
		t.Fatalf("only %d trials appended, %d with a refresh due, %d with older activities kept as times (%d of them beyond the memory's span), %d by their marks",
			appended, refreshDue, withTimesOnly, backfilled, marked)
	}
}

// olderAsRead is the history loadStates gives appending activities from oldest on (zero: none
// added): the older events its rules can look at, or, when the memory's times suffice, those
// a part of the read takes (passing the counts' or the labels' filter, within their reach)
// completed with the times and marks of the others (timesOnly: some were kept as times only).
func olderAsRead(t testing.TB, rs *RuleSet, older []rules.Stamped, m Memory, oldest, now time.Time) (window []rules.Stamped, timesOnly bool, r olderRead) {
	t.Helper()
	r = rs.historyRead(oldest, now, m)
	if r.since.IsZero() {
		return nil, false, r
	}
	takes := func(e rules.Stamped) bool {
		if !r.timesOnly {
			return true
		}
		return !r.countSince.IsZero() && !e.Time.Before(r.countSince) && passes(r.filters.counts, e.Event) ||
			!r.labelSince.IsZero() && !e.Time.Before(r.labelSince) && passes(r.filters.labels, e.Event)
	}
	for _, e := range older {
		if !e.Time.Before(r.since) && takes(e) {
			window = append(window, e)
		}
	}
	if !r.timesOnly {
		return window, false, r
	}
	var marks []uint64
	if r.marked {
		marks = m.Marks
	}
	out, ok := withTimes(window, m.Recent, marks, r.since)
	if !ok {
		t.Fatalf("the memory's times %v lack events read since %v: %v", m.Recent, r.since, window)
	}
	for _, e := range out {
		timesOnly = timesOnly || e.TimeOnly
	}
	return out, timesOnly, r
}

// sameState reports whether two encoded states agree, their marks compared where both know
// them (a state that learnt its marks while appending knows them from the read on).
func sameState(a, b []byte) bool {
	if string(a) == string(b) {
		return true
	}
	sa, errA := DecodeState(1, a)
	sb, errB := DecodeState(1, b)
	ma, mb := &sa.Memory, &sb.Memory
	if errA != nil || errB != nil || ma.MarkSet != mb.MarkSet || len(ma.Marks) != len(mb.Marks) {
		return false
	}
	from := maxTime(ma.MarkedFrom, mb.MarkedFrom)
	for i, t := range ma.Recent {
		if !t.Before(from) && ma.Marks[i] != mb.Marks[i] {
			return false
		}
	}
	ma.Marks, mb.Marks, ma.MarkedFrom, mb.MarkedFrom = nil, nil, time.Time{}, time.Time{}
	return fmt.Sprint(sa) == fmt.Sprint(sb)
}

// TestStateHoldsAfterAnEditThatSkippedTheLead: after an edit whose targeted re-score skipped a
// lead (no activity of it can match the rule), the lead's state still holds for the new
// rules once the re-scoring finished, unless the edited rule gave it points; appending then
// gives what scoring from scratch with the new rules gives.
func TestStateHoldsAfterAnEditThatSkippedTheLead(t *testing.T) {
	defs := NewWorkspaceSeed().Rules
	webinar := 0
	for i, d := range defs {
		if strings.Contains(string(d.Definition), "webinar_registered") {
			webinar = i + 1
		}
	}
	if webinar == 0 {
		t.Fatal("no webinar rule among the defaults")
	}
	rs := defaultRuleSet(t)
	edited := defaultRuleSet(t)
	edited.Version++
	for i := range edited.Scoring {
		if edited.Scoring[i].ID == int64(webinar) {
			edited.Scoring[i].Version++
			edited.Scoring[i].Effect.Points += 4
		}
	}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	event := func(key int64, name string, ago time.Duration) rules.Stamped {
		return rules.Stamped{Key: key, Event: rules.Event{Type: "users.behaviors.CustomEvent", Name: "[Custom Event tracked] " + name, Time: now.Add(-ago)}}
	}
	score := func(history []rules.Stamped) (model.ScoringLead, storedState) {
		lead := model.ScoringLead{ID: 1, Email: "a@acme.example", ActivityCount: len(history) + 1}
		first := rs.Score(LeadState{Lead: lead, Events: append([]rules.Stamped(nil), history...)}, HeatScale{}, now.Add(-time.Hour))
		lead.StateVersion, lead.StateHash, lead.State = &first.State.RulesVersion, &first.State.ProfileHash, first.State.State
		state, err := rs.decodeState(first.State.State, 0)
		if err != nil {
			t.Fatal(err)
		}
		return lead, state
	}
	skipped, state := score([]rules.Stamped{event(1, "pricing_page_viewed", 48*time.Hour), event(2, "demo_requested", 47*time.Hour)})
	jobVersion := edited.Version
	if !edited.canAppend(skipped, state, 1, 0) || !edited.canAppend(skipped, state, 1, *skipped.StateVersion) {
		t.Fatal("a lead the edit cannot touch reads its whole history after the re-scoring finished")
	}
	if edited.canAppend(skipped, state, 1, jobVersion) {
		t.Fatal("trusted a state while the edit's re-scoring is still running")
	}
	matched, matchedState := score([]rules.Stamped{event(1, "webinar_registered", 48*time.Hour)})
	if edited.canAppend(matched, matchedState, 1, 0) {
		t.Fatal("trusted a state holding points of the edited rule's old version")
	}
	// The skipped lead registers for the webinar now: the edited rule scores it.
	added := event(3, "webinar_registered", time.Minute)
	window := []rules.Stamped{event(1, "pricing_page_viewed", 48*time.Hour), event(2, "demo_requested", 47*time.Hour)} // within the labels' 30 days
	inc := edited.Score(LeadState{Lead: skipped, Events: window, Added: []rules.Stamped{added}, Append: true, Current: state.Contributions, Rules: state.Rules,
		Counted: state.Events, Memory: state.Memory}, HeatScale{}, now)
	scratchLead := skipped
	scratchLead.StateHash = nil
	full := edited.Score(LeadState{Lead: scratchLead, Current: state.Contributions,
		Events: []rules.Stamped{event(1, "pricing_page_viewed", 48*time.Hour), event(2, "demo_requested", 47*time.Hour), added}}, HeatScale{}, now)
	if fmt.Sprint(inc.Scoring) != fmt.Sprint(full.Scoring) || string(inc.State.State) != string(full.State.State) || !reflect.DeepEqual(inc.Ledger, full.Ledger) {
		t.Fatalf("appended %+v\nscratch  %+v", inc.Scoring, full.Scoring)
	}
	if inc.Scoring.MainScore <= 0 || !slices.Contains(inc.Fired, int64(webinar)) {
		t.Fatalf("the edited rule did not score the new registration: %+v fired %v", inc.Scoring, inc.Fired)
	}
}

func TestContributionChanges(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	stored := []rules.Contribution{
		{RuleID: 1, RuleVersion: 1, EventKey: 10, At: t0.UnixMicro(), Points: 5},
		{RuleID: 2, RuleVersion: 1, EventKey: 10, At: t0.UnixMicro(), Points: 3},
		{RuleID: 1, RuleVersion: 1, EventKey: 11, At: t0.Add(-time.Hour).UnixMicro(), Points: 5},
		{RuleID: 4, RuleVersion: 1, EventKey: 12, At: t0.Add(time.Hour).UnixMicro(), Points: 2}, // its rule was edited
	}
	next := []rules.Contribution{
		{RuleID: 4, RuleVersion: 2, EventKey: 12, At: t0.Add(time.Hour).UnixMicro(), Points: 2},
		{RuleID: 1, RuleVersion: 1, EventKey: 10, At: t0.UnixMicro(), Points: 5}, // unchanged
		{RuleID: 2, RuleVersion: 1, EventKey: 10, At: t0.UnixMicro(), Points: 4}, // points changed
		{RuleID: 3, RuleVersion: 1, EventKey: 11, At: t0.Add(-time.Hour).UnixMicro(), Points: 1},
	}
	removed, given := defaultRuleSet(t).contributionChanges(stored, next)
	var got []int64
	for _, c := range removed {
		got = append(got, c.RuleID*100+c.EventKey)
	}
	// In time order: activity 11 (an hour earlier), then 10, then 12.
	if want := []int64{111, 210, 412}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	if want := []bool{true, false, true, true}; !slices.Equal(given, want) {
		t.Errorf("given %v, want %v", given, want)
	}
	if d := setDifference([]int64{1, 3, 5, 7}, []int64{3, 4, 7}); !slices.Equal(d, []int64{1, 5}) {
		t.Errorf("difference %v", d)
	}
}

// TestRevisingMatchesScratch: after random edits of rules that look at one activity at a
// time (points, once per lead or per activity, caps, expiry, decay; a rule switched off), a
// lead re-scored from its state, the activities the changed rules can match and its recent
// activities gets what scoring every activity from scratch gives, later in time too.
func TestRevisingMatchesScratch(t *testing.T) {
	rs := defaultRuleSet(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(5))
	// The stream kinds but bounces, and webinar registrations.
	kinds := append(slices.Clone(streamKinds[:len(streamKinds)-1]), struct{ typ, name string }{"users.behaviors.CustomEvent", "[Custom Event tracked] webinar_registered"})
	var local []int // positions of the rules a revision can take
	for i, r := range rs.Scoring {
		if _, ok := rs.eventLocal[r.ID]; ok {
			local = append(local, i)
		}
	}
	if len(local) < 3 {
		t.Fatalf("only %d event-local rules among the defaults", len(local))
	}
	revised, narrower, settledTrials, withTimesOnly, repriced := 0, 0, 0, 0, 0
	for trial := 0; trial < 300; trial++ {
		lead := model.ScoringLead{ID: 1, Email: "a@acme.example", Title: []string{"VP Sales", "Intern", ""}[rng.Intn(3)]}
		var all []rules.Stamped
		at := now.Add(-time.Duration(rng.Intn(120*24)) * time.Hour)
		for k := 0; k < 1+rng.Intn(40); k++ {
			kd := kinds[rng.Intn(len(kinds))]
			at = at.Add(time.Duration(rng.Intn(3*24*60)) * time.Minute)
			all = append(all, rules.Stamped{Key: int64(k + 1), Event: rules.Event{Name: kd.name, Type: kd.typ, Time: at}})
		}
		then := all[len(all)-1].Time.Add(time.Duration(rng.Intn(48*60)) * time.Minute)
		later := then.Add(time.Duration(rng.Intn(20*24*60)) * time.Minute)
		if rng.Intn(2) == 0 { // an edit soon after the last scoring, the common case
			later = then.Add(time.Duration(rng.Intn(60)) * time.Minute)
		}
		first := rs.Score(LeadState{Lead: lead, Events: slices.Clone(all)}, HeatScale{Hot: 3, Warm: 2, Neutral: 1}, then)
		stored, state := storedAfter(t, rs, lead, first, len(all))
		edited := buildRuleSet(t, 8, reviseRandomly(t, rs, local, rng))
		if !edited.canRevise(stored, state) {
			t.Fatalf("trial %d: a lead whose edited rules look at one activity at a time cannot be revised", trial)
		}
		filter := edited.revisedFilter(state.Rules, state.Contributions)
		for _, r := range edited.changedRules(state.Rules) {
			if edited.canReprice(r, state.Rules, state.Contributions) {
				repriced++
				break
			}
		}
		var matching, window []rules.Stamped
		for _, e := range all {
			if passes(filter, e.Event) {
				matching = append(matching, e)
			}
		}
		// As loadStates does: a lead whose refresh time is still ahead reads no recent history.
		settled := stored.RefreshAt == nil || stored.RefreshAt.After(later)
		var read olderRead
		if !settled {
			var timesOnly bool
			if window, timesOnly, read = olderAsRead(t, edited, all, state.Memory, time.Time{}, later); timesOnly {
				withTimesOnly++
			}
		}
		if len(matching) < len(all) {
			narrower++
		}
		if settled {
			settledTrials++
		}
		inc := edited.Score(LeadState{Lead: stored, Events: window, Matching: matching, Append: true, Revise: true, Settled: settled,
			Current: state.Contributions, Rules: state.Rules, Counted: state.Events, Memory: state.Memory, Read: read}, HeatScale{Hot: 3, Warm: 2, Neutral: 1}, later)
		scratchLead := stored
		scratchLead.StateHash = nil
		full := edited.Score(LeadState{Lead: scratchLead, Events: slices.Clone(all), Current: state.Contributions}, HeatScale{Hot: 3, Warm: 2, Neutral: 1}, later)
		revised++
		if fmt.Sprint(inc.Scoring) != fmt.Sprint(full.Scoring) || !sameState(inc.State.State, full.State.State) ||
			!reflect.DeepEqual(inc.Ledger, full.Ledger) || !inc.Incremental || !slices.Equal(inc.Gained, full.Gained) || !slices.Equal(inc.Lost, full.Lost) {
			t.Fatalf("trial %d (%d activities, %d matching, %d recent): revised %+v\nscratch %+v\nledger %v\nvs     %v", trial, len(all), len(matching), len(window),
				inc.Scoring, full.Scoring, inc.Ledger, full.Ledger)
		}
	}
	if narrower < revised/2 || settledTrials < revised/5 || revised-settledTrials < revised/5 || withTimesOnly < revised/10 || repriced < revised/5 {
		t.Fatalf("of %d revisions, %d read fewer activities than the history, %d had their refresh time ahead, %d kept older activities as times, %d re-priced a rule",
			revised, narrower, settledTrials, withTimesOnly, repriced)
	}
}

// reviseRandomly edits one to three of the event-local rules (at positions local of rs's
// score rules) of the default rules: points (up or down), per, cap, expiry, half-life, or
// switched off. The match version moves as the store moves it.
func reviseRandomly(t *testing.T, rs *RuleSet, local []int, rng *rand.Rand) []model.StoredRule {
	t.Helper()
	stored := defaultStoredRules()
	for n := 1 + rng.Intn(3); n > 0; n-- {
		id := rs.Scoring[local[rng.Intn(len(local))]].ID
		s := &stored[id-1]
		if rng.Intn(6) == 0 {
			s.Enabled = false
			continue
		}
		var r rules.Rule
		if err := json.Unmarshal(s.Definition, &r); err != nil {
			t.Fatal(err)
		}
		s.Version++
		switch rng.Intn(5) {
		case 0:
			step := float64(1 + rng.Intn(5))
			if rng.Intn(2) == 0 && r.Score.Points != step {
				step = -step // down (never to zero, which the rules refuse)
			}
			r.Score.Points += step
		case 1:
			r.Score.Per, r.Score.Cap = rules.PerEvent, float64(rng.Intn(3)*10)
			s.MatchVersion = s.Version // what the store records when "per" or the cap change
		case 2:
			r.Score.Per, r.Score.Cap = rules.PerLead, 0
			s.MatchVersion = s.Version
		case 3:
			r.Score.ExpireDays = 1 + rng.Intn(30)
		default:
			r.Score.HalfLifeDays = float64(1 + rng.Intn(20))
		}
		def, err := Def(r)
		if err != nil {
			t.Fatal(err)
		}
		s.Definition = def.Definition
	}
	return stored
}

// passes is the database's test of an activity filter (activityTestsSQL), in Go.
func passes(f rules.ActivityFilter, e rules.Event) bool {
	for _, test := range f {
		value := strings.ToLower(map[string]string{"event_type": e.Type, "name": e.Name, "source": e.Source}[test.Column])
		for _, v := range test.Values {
			if test.Op == "equals" && value == v || test.Op == "contains" && strings.Contains(value, v) || test.Op == "begins_with" && strings.HasPrefix(value, v) {
				return true
			}
		}
	}
	return false
}

// TestContributionChangesInOrder: the walk over lists already in canonical order finds what
// sorting both by key finds.
func TestContributionChangesInOrder(t *testing.T) {
	rs := defaultRuleSet(t)
	rng := rand.New(rand.NewSource(3))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	random := func() []rules.Contribution {
		var out []rules.Contribution
		seen := map[[2]int64]bool{}
		for n := rng.Intn(30); n > 0; n-- {
			r := rs.Scoring[rng.Intn(len(rs.Scoring))]
			act := int64(1 + rng.Intn(10))
			if seen[[2]int64{r.ID, act}] {
				continue
			}
			seen[[2]int64{r.ID, act}] = true
			out = append(out, rules.Contribution{RuleID: r.ID, RuleVersion: r.Version, EventKey: act, At: t0.Add(time.Duration(act) * time.Hour).UnixMicro(),
				Points: float64(1 + rng.Intn(2))})
		}
		return rs.canonical(out)
	}
	for trial := 0; trial < 500; trial++ {
		current := rs.encodeAndDecode(t, random())
		next := random()
		if !rs.inCanonicalOrder(current, next) {
			t.Fatalf("trial %d: canonical lists not seen as such", trial)
		}
		r1, g1 := rs.contributionChanges(current, next)
		r2, g2 := contributionChangesByKey(current, next)
		if !reflect.DeepEqual(r1, r2) || !slices.Equal(g1, g2) {
			t.Fatalf("trial %d: walked %v %v, by key %v %v", trial, r1, g1, r2, g2)
		}
	}
}

// encodeAndDecode is what a state keeps of contributions.
func (rs *RuleSet) encodeAndDecode(t *testing.T, cs []rules.Contribution) []rules.Contribution {
	st, err := rs.decodeState(rs.encodeState(len(cs), cs, Memory{}), 0)
	if err != nil {
		t.Fatal(err)
	}
	return st.Contributions
}

// TestMergeCanonical: merging two lists gives what sorting them together gives, whether or
// not they come in canonical order.
func TestMergeCanonical(t *testing.T) {
	rs := defaultRuleSet(t)
	rng := rand.New(rand.NewSource(9))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	list := func(set []rules.ScoringRule) []rules.Contribution {
		var out []rules.Contribution
		for act := int64(1); act <= 12; act++ {
			for _, r := range set {
				if rng.Intn(3) == 0 {
					out = append(out, rules.Contribution{RuleID: r.ID, RuleVersion: r.Version, EventKey: act,
						At: t0.Add(time.Duration(rng.Intn(4)) * time.Hour).UnixMicro(), Points: 1})
				}
			}
		}
		return out
	}
	half := len(rs.Scoring) / 2
	for trial := 0; trial < 300; trial++ {
		a, b := list(rs.Scoring[:half]), list(rs.Scoring[half:])
		if trial%2 == 0 { // most often both come sorted
			a, b = rs.canonical(a), rs.canonical(b)
		}
		want := rs.canonical(append(slices.Clone(a), b...))
		if got := rs.mergeCanonical(slices.Clone(a), slices.Clone(b)); !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d: merged %v\nsorted %v", trial, got, want)
		}
		// With room in a, too little or just enough, the merge fills a's array from the back.
		for _, room := range []int{len(b) - 1, len(b), len(b) + 3} {
			if room < 0 || len(a)+room == 0 {
				continue
			}
			roomy := append(make([]rules.Contribution, 0, len(a)+room), a...)
			given := slices.Clone(b)
			got := rs.mergeCanonical(roomy, given)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("trial %d, room %d: merged %v\nsorted %v", trial, room, got, want)
			}
			if inPlace := len(got) > 0 && &got[0] == &roomy[:1][0]; inPlace != (room >= len(b) && len(want) > 0) {
				t.Errorf("trial %d, room %d: merged in a's array %v", trial, room, inPlace)
			}
			if !reflect.DeepEqual(given, b) {
				t.Fatalf("trial %d: the merge changed its second list", trial)
			}
		}
	}
}

// TestAppendCanonical: appending what new activities add to a lead's contributions gives
// what sorting them together gives; it uses the stored array's spare room only when the new
// ones all come after, and never changes the stored ones (a preview scores a state twice).
func TestAppendCanonical(t *testing.T) {
	rs := defaultRuleSet(t)
	rng := rand.New(rand.NewSource(11))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	list := func(from, to int64) []rules.Contribution {
		var out []rules.Contribution
		for act := from; act <= to; act++ {
			for _, r := range rs.Scoring {
				if rng.Intn(4) == 0 {
					out = append(out, rules.Contribution{RuleID: r.ID, RuleVersion: r.Version, EventKey: act,
						At: t0.Add(time.Duration(act) * time.Minute).UnixMicro(), Points: 1})
				}
			}
		}
		return rs.canonical(out)
	}
	inPlace, merged := 0, 0
	for trial := 0; trial < 300; trial++ {
		// Mostly the new activities follow the stored ones; sometimes one of them is older
		// (its contributions interleave) or shares the last one's time and is an earlier id.
		a, b := list(1, 10), list(11, 13)
		switch trial % 3 {
		case 1:
			b = rs.canonical(append(b, list(5, 5)...))
		case 2:
			if len(a) > 0 {
				last := a[len(a)-1]
				b = rs.canonical(append(b, rules.Contribution{RuleID: last.RuleID, RuleVersion: last.RuleVersion, EventKey: 0, At: last.At, Points: 2}))
			}
		}
		want := rs.canonical(append(slices.Clone(a), b...))
		for _, room := range []int{0, len(b) - 1, len(b), len(b) + 5} {
			if room < 0 {
				continue
			}
			stored := append(make([]rules.Contribution, 0, len(a)+room), a...)
			got := rs.appendCanonical(stored, slices.Clone(b))
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("trial %d, room %d: appended %v\nsorted %v", trial, room, got, want)
			}
			if !reflect.DeepEqual(stored, a) && len(a) > 0 {
				t.Fatalf("trial %d, room %d: the stored contributions changed", trial, room)
			}
			after := len(a) == 0 || len(b) == 0 || rs.canonicalOrder(a[len(a)-1], b[0]) < 0
			shares := len(got) > 0 && cap(stored) > 0 && &got[0] == &stored[:1][0]
			if shares != (after && room >= len(b) && len(got) > 0 && cap(stored) > 0) {
				t.Fatalf("trial %d, room %d: in the stored array %v (new ones after: %v)", trial, room, shares, after)
			}
			if shares {
				inPlace++
			} else {
				merged++
			}
		}
	}
	if inPlace == 0 || merged < 100 {
		t.Fatalf("cases not exercised: %d in place, %d merged", inPlace, merged)
	}
}

// TestRefreshAtTakesEachWindowsFirstCrossing: the next look found by searching each window's
// first crossing is the one found by trying every activity against every window.
func TestRefreshAtTakesEachWindowsFirstCrossing(t *testing.T) {
	rs := defaultRuleSet(t)
	if len(rs.refreshWindows) < 4 {
		t.Fatalf("expected the label windows besides the temperature's, got %v", rs.refreshWindows)
	}
	rng := rand.New(rand.NewSource(3))
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	found := 0
	for trial := 0; trial < 2000; trial++ {
		var times []time.Time
		for k := 0; k < rng.Intn(30); k++ {
			// Some exactly a window before now: a crossing at now is no crossing.
			at := now.Add(-time.Duration(rng.Intn(100*24*60)) * time.Minute)
			if rng.Intn(10) == 0 {
				at = now.Add(-rs.refreshWindows[rng.Intn(len(rs.refreshWindows))])
			}
			times = append(times, at)
		}
		if rng.Intn(4) > 0 {
			slices.SortFunc(times, time.Time.Compare)
		}
		var want, last time.Time
		for _, at := range times {
			last = maxTime(last, at)
		}
		if c := last.Add(rules.FrozenAfter); !last.IsZero() && c.After(now) {
			want = c // frozen 90 days after the last activity
		}
		for _, at := range times {
			for _, w := range rs.refreshWindows {
				if c := at.Add(w); c.After(now) && (want.IsZero() || c.Before(want)) {
					want = c
				}
			}
		}
		got := rs.refreshAt(nil, nil, times, last, now)
		if want.IsZero() != (got == nil) || (got != nil && !got.Equal(want)) {
			t.Fatalf("trial %d: refreshAt = %v, want %v (times %v)", trial, got, want, times)
		}
		if got != nil {
			found++
		}
	}
	if found < 1000 {
		t.Fatalf("only %d trials had a crossing ahead", found)
	}
}

// TestMemoryKeepsFiveWeeksOfTimes: a lead's memory keeps the activity times the trend and the
// rules can still reach (five weeks here, with no count or label looking further), not 90
// days of them; and a lead whose times are all forgotten is still looked at again when it
// turns frozen, 90 days after its last activity, and not on each activity's 90th day.
func TestMemoryKeepsFiveWeeksOfTimes(t *testing.T) {
	defs, err := Defs([]rules.Rule{{Name: "Opened", Kind: rules.KindScore, Enabled: true,
		When:  rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: "event.type", Operator: "equals", Value: "users.messages.email.Open"}}}},
		Score: &rules.ScoreEffect{Score: "Lead score", Points: 1, Per: rules.PerEvent}}})
	if err != nil {
		t.Fatal(err)
	}
	rs := buildRuleSet(t, 7, []model.StoredRule{{ID: 1, Version: 1, MatchVersion: 1, Enabled: true, Definition: defs[0].Definition}})
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	lead := model.ScoringLead{ID: 1, Email: "a@acme.example"}
	daysAgo := func(from, to int) []rules.Stamped {
		var out []rules.Stamped
		for d := from; d >= to; d-- {
			out = append(out, rules.Stamped{Key: int64(len(out) + 1), Event: rules.Event{Type: "users.messages.email.Open", Name: "Opened email",
				Time: now.Add(-time.Duration(d) * 24 * time.Hour)}})
		}
		return out
	}

	daily := daysAgo(90, 1)
	out := rs.Score(LeadState{Lead: lead, Events: daily}, HeatScale{}, now)
	_, st := storedAfter(t, rs, lead, out, len(daily))
	if n := len(st.Memory.Recent); n != 35 {
		t.Fatalf("the memory keeps %d times of 90 daily activities, want the last 35 days' 35", n)
	}

	quiet := daysAgo(100, 60) // the last activity 60 days ago: no time the trend still counts
	out = rs.Score(LeadState{Lead: lead, Events: quiet}, HeatScale{}, now)
	_, st = storedAfter(t, rs, lead, out, len(quiet))
	// Of the times older than five weeks, only the last activity's stays (a count's window
	// before it is empty here: the next activities come after it).
	if last := quiet[len(quiet)-1].Time; len(st.Memory.Recent) != 1 || !st.Memory.Recent[0].Equal(last) {
		t.Fatalf("the memory keeps %v, want the last activity's time %v alone", st.Memory.Recent, last)
	}
	if want := now.Add(30 * 24 * time.Hour); out.Scoring.RefreshAt == nil || !out.Scoring.RefreshAt.Equal(want) {
		t.Fatalf("refresh at %v, want %v: when the lead turns frozen", out.Scoring.RefreshAt, want)
	}
	if out.Scoring.Temperature == rules.Frozen {
		t.Fatalf("frozen 60 days after the last activity")
	}
}
