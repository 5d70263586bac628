package scoring

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

// LeadState is what is known of a lead before scoring it.
type LeadState struct {
	Lead   model.ScoringLead
	Events []rules.Stamped
	// Current are the contributions it holds (its stored state). Appending may fill its
	// spare capacity (see appendCanonical); its elements stay as they are.
	Current []rules.Contribution
	Rules   map[int64]int // the score rules (id → version) Current was computed with
	Counted int           // the number of activities Current was computed over
	// New names the activities added since the state was stored. With a state computed by the
	// same rules and profile, only they are scored (what follows them in time is re-checked).
	// Without new activities, only the rules that changed since the state are evaluated. In
	// any other case the lead is scored from scratch. All give the same result.
	New map[int64]bool
	// Append: Added are the lead's new activities, all after those its state covers, and
	// Events only the older ones its rules can still look at (see CanAppend); Memory is the
	// state's.
	Append bool
	Added  []rules.Stamped
	Memory Memory
	// Revise (with Append, nothing added): the score rules changed since the state are all
	// evaluated one activity at a time (see canRevise); Matching are the activities they can
	// match, in time order.
	Revise   bool
	Matching []rules.Stamped
	// Settled (with Revise): the lead's stored refresh time is still ahead, so nothing it
	// holds has changed by time alone since it was scored (the refresh time is the first
	// such change); its labels bound to recent activity stand as stored, and its recent
	// activities are not read.
	Settled bool
	// Read (with Append, unless Settled) is what was read of the older activities: Events
	// are all of those since Read.since, time-only ones included, carrying the memory's marks
	// when Read.marked.
	Read olderRead
}

// Outcome is what scoring a lead changes.
type Outcome struct {
	Scoring model.LeadScoring
	// LeadChanged, ScoresChanged and StateChanged tell what must be written; State is the
	// lead's new state.
	LeadChanged, ScoresChanged, StateChanged bool
	// SummaryChanged: the lead's row shows an older activity summary than the exact one (new
	// activities were stored since): the row is written for it too.
	SummaryChanged bool
	// ProfileChanged: the person's or their company's profile differs from the last scoring
	// (the account's fit may have moved with it).
	ProfileChanged bool
	State          model.LeadState
	Incremental    bool
	Ledger         []model.LedgerLine
	// Gained and Lost list rules the lead newly matches or no longer matches; Fired the rules
	// that gave new points or labels now (their "last matched" moves); Matched every score and
	// label rule the lead matches.
	Gained, Lost, Fired []int64
	Matched             []int64 // sorted
}

// HeatScale holds the floors of the workspace's hot, warm and neutral bands in time-free units
// (see Heat).
type HeatScale struct{ Hot, Warm, Neutral float64 }

// heatEpoch anchors time-free heat; any fixed instant works.
var heatEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// units is t measured in heat half-lives since the epoch.
func units(t time.Time) float64 {
	return t.Sub(heatEpoch).Hours() / 24 / rules.HeatHalfLifeDays
}

// At converts time-free percentiles to heats at now, for rules.Temperature.
func (h HeatScale) At(now time.Time) rules.Distribution {
	at := func(p float64) float64 {
		if p == 0 {
			return 0
		}
		return math.Exp2(p - units(now))
	}
	return rules.Distribution{Hot: at(h.Hot), Warm: at(h.Warm), Neutral: at(h.Neutral)}
}

// Profile is the rule engine's view of a lead.
func Profile(l model.ScoringLead) (rules.Profile, *rules.Account) {
	p := rules.Profile{Email: l.Email, FirstName: l.FirstName, LastName: l.LastName, Title: l.Title, Country: l.Country,
		Industry: l.Industry, LeadSource: l.LeadSource, Status: l.Status}
	switch {
	case l.OwnerName != "" && l.OwnerEmail != "":
		p.Owner = l.OwnerName + " <" + l.OwnerEmail + ">"
	default:
		p.Owner = l.OwnerName + l.OwnerEmail
	}
	if l.CompanySize != nil {
		v := float64(*l.CompanySize)
		p.CompanySize = &v
	}
	if len(l.CustomAttributes) > 2 {
		_ = json.Unmarshal(l.CustomAttributes, &p.Attributes)
	}
	if p.Title == "" {
		p.Title = attrText(p.Attributes, "title", "job_title")
	}
	if p.Industry == "" {
		p.Industry = attrText(p.Attributes, "industry")
	}
	if l.AccountID == nil {
		return p, nil
	}
	a := &rules.Account{Domain: deref(l.AccountDomain), Name: deref(l.AccountName), Industry: deref(l.AccountIndustry)}
	if l.AccountEmployees != nil {
		v := float64(*l.AccountEmployees)
		a.Employees = &v
	}
	return p, a
}

func attrText(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type contribKey struct {
	rule     int64
	version  int
	activity int64
}

// Score applies the rule set to one lead from scratch and compares the result with what is
// stored: the ledger lines are the difference. Scoring from scratch every time makes
// incremental scoring and re-scoring the same computation, so they cannot disagree.
func (rs *RuleSet) Score(st LeadState, heat HeatScale, now time.Time) Outcome {
	profile, account := Profile(st.Lead)
	hash := profileHash(profile, account)
	// What the lead held: its scores' values now, and the rules it matched (for the rules
	// list's counts).
	values := map[int64]float64{}
	before := rs.newIDSet()
	held := make([]float64, len(st.Current)) // each one's value now
	for i, c := range st.Current {
		held[i] = rules.Decayed(c, rs.Effect(c.RuleID), now)
		values[c.Score] += held[i]
		rs.addID(&before, c.RuleID)
	}
	var f facts
	if st.Append {
		f = rs.appendFacts(st, profile, account, now)
	} else {
		f = rs.rescoreFacts(st, profile, account, hash, now)
	}
	next := f.next
	out := Outcome{Incremental: f.incremental}

	// Score changes: removed contributions first, then new ones, each in event time order.
	var changes []scoreChange
	change := func(scoreID, rule int64, version int, activity int64, at int64, delta float64) {
		changes = append(changes, scoreChange{scoreID: scoreID, rule: rule, version: version, activity: activity, at: time.UnixMicro(at).UTC(), delta: delta,
			value: rules.Decayed(rules.Contribution{At: at, Points: delta}, rs.Effect(rule), now)})
	}
	fired := map[int64]bool{}
	if f.added != nil {
		// Appended: what the lead held stays, the new contributions add to it.
		for _, c := range f.added {
			change(rs.scoreOfRule(c.RuleID), c.RuleID, c.RuleVersion, c.EventKey, c.At, c.Points)
			fired[c.RuleID] = true
		}
	} else if len(st.Current) == 0 {
		// A first scoring: everything is new.
		changes = make([]scoreChange, 0, len(next))
		for _, c := range next {
			change(rs.scoreOfRule(c.RuleID), c.RuleID, c.RuleVersion, c.EventKey, c.At, c.Points)
			fired[c.RuleID] = true
		}
	} else {
		removed, given := rs.contributionChanges(st.Current, next)
		for _, c := range removed {
			change(c.Score, c.RuleID, c.RuleVersion, c.EventKey, c.At, -c.Points)
		}
		for i, c := range next {
			if given[i] {
				change(rs.scoreOfRule(c.RuleID), c.RuleID, c.RuleVersion, c.EventKey, c.At, c.Points)
				fired[c.RuleID] = true
			}
		}
	}
	out.Ledger = ledgerLines(st.Lead.ID, changes, values, len(st.Lead.Labels)+len(f.labels))

	// What the lead has now.
	res := model.LeadScoring{LeadID: st.Lead.ID, Scores: map[int64]float64{}}
	worth := make([]float64, len(next)) // each contribution's value now: the sums and refreshAt read it
	// Appended after the stored contributions in their own array, next starts with them:
	// their values are known.
	known := 0
	if len(next) >= len(st.Current) && len(st.Current) > 0 && &next[0] == &st.Current[0] {
		known = copy(worth, held)
	}
	for i, c := range next {
		if i >= known {
			worth[i] = rules.Decayed(c, rs.Effect(c.RuleID), now)
		}
		res.Scores[rs.scoreOfRule(c.RuleID)] += worth[i]
	}
	for id, v := range res.Scores {
		res.Scores[id] = round(v)
	}
	res.MainScore = res.Scores[rs.MainScoreID]

	res.Labels = dedupe(f.labels)
	had := map[string]bool{}
	for _, l := range st.Lead.Labels {
		had[l] = true
	}
	has := map[string]bool{}
	for _, l := range res.Labels {
		has[l] = true
	}
	// A label line is dated by the lead's latest activity: the one that gave (or took) it
	// when new activity is scored; milestones read the date as the label's crossing.
	labelAt := latestActivity(st, now)
	labelLine := func(name string, delta float64) {
		lr := rs.labelStyles[name]
		out.Ledger = append(out.Ledger, model.LedgerLine{LeadID: st.Lead.ID, Kind: "label", Label: name, RuleID: lr.ID,
			RuleVersion: lr.Version, Delta: delta, Before: b2f(delta < 0), After: b2f(delta > 0), EarnedAt: &labelAt})
	}
	for _, l := range slices.Sorted(maps.Keys(had)) {
		if !has[l] {
			labelLine(l, -1)
		}
	}
	for _, l := range res.Labels {
		if !had[l] {
			labelLine(l, 1)
			fired[rs.labelStyles[l].ID] = true
		}
	}

	res.FitPoints, res.Grade, res.FitRules = rules.Fit(rs.Grades, profile, account, rs.Scale, now)

	if f.count > 0 {
		res.Heat = f.memory.Heat
	}
	eng := engagement(f.memory, f.count, now)
	res.Rising = eng.LastWeek >= 3 && eng.LastWeek >= 2*eng.PriorWeekly
	res.Temperature = rules.Temperature(eng, heat.At(now), now)
	res.RefreshAt = rs.refreshAt(next, worth, f.memory.Recent, f.memory.LastAt, now)
	// An earlier look that is still ahead is harmless: keep it rather than rewrite the row.
	if old := st.Lead.RefreshAt; old != nil && old.After(now) && (res.RefreshAt == nil || !old.After(*res.RefreshAt)) {
		res.RefreshAt = old
	}
	l := st.Lead
	res.Activity = model.ActivitySummary{ActivityCount: l.ActivityCount, FirstActivityAt: l.FirstActivityAt, LastActivityAt: l.LastActivityAt}
	out.Scoring = res
	out.SummaryChanged = l.Shown.ActivityCount != l.ActivityCount || !sameTime(l.Shown.FirstActivityAt, l.FirstActivityAt) ||
		!sameTime(l.Shown.LastActivityAt, l.LastActivityAt)
	out.LeadChanged = l.MainScore != res.MainScore || l.FitPoints != res.FitPoints || l.Grade != res.Grade || !slices.Equal(l.FitRules, res.FitRules) ||
		l.Heat != res.Heat || l.Rising != res.Rising || l.Temperature != res.Temperature ||
		!sameStrings(l.Labels, res.Labels)
	out.ScoresChanged = !sameScores(l.Scores, res.Scores)
	out.State = model.LeadState{LeadID: l.ID, RulesVersion: rs.Version, ProfileHash: hash, State: rs.encodeState(f.count, next, f.memory),
		RefreshAt: res.RefreshAt}
	out.ProfileChanged = l.StateHash == nil || *l.StateHash != hash
	// The refresh time is kept with the state, not on the lead's row (migration 0036).
	out.StateChanged = l.StateVersion == nil || *l.StateVersion != rs.Version || l.StateHash == nil || *l.StateHash != hash ||
		string(l.State) != string(out.State.State) || !sameTime(l.RefreshAt, res.RefreshAt)

	// Which rules the lead matches, before and after: for the rules list's counts.
	bs, as := before, rs.newIDSet()
	for l := range had {
		if lr, ok := rs.labelStyles[l]; ok {
			bs.other = append(bs.other, lr.ID)
		}
	}
	bs.other = append(bs.other, st.Lead.FitRules...)
	for _, c := range next {
		rs.addID(&as, c.RuleID)
	}
	for l := range has {
		as.other = append(as.other, rs.labelStyles[l].ID)
	}
	as.other = append(as.other, res.FitRules...)
	was, after := rs.sortedIDs(bs), rs.sortedIDs(as)
	out.Gained, out.Lost = setDifference(after, was), setDifference(was, after)
	for id := range fired {
		out.Fired = append(out.Fired, id)
	}
	out.Matched = after
	return out
}

// idSet gathers rule ids, many of them repeated (a lead's contributions): score rules of
// the rule set as a bit per position, any other id (labels, grades, rules no longer in the
// set) in a short list. Sorting every contribution's rule id cost more than the rest of
// the comparison.
type idSet struct {
	bits  []uint64
	other []int64
}

func (rs *RuleSet) newIDSet() idSet { return idSet{bits: make([]uint64, (len(rs.Scoring)+63)/64)} }

func (rs *RuleSet) addID(s *idSet, id int64) {
	if p, ok := rs.rulePos(id); ok {
		s.bits[p/64] |= 1 << (p % 64)
	} else {
		s.other = append(s.other, id)
	}
}

// sortedIDs lists a set's ids in order, once each.
func (rs *RuleSet) sortedIDs(s idSet) []int64 {
	out := s.other
	for w, word := range s.bits {
		for ; word != 0; word &= word - 1 {
			out = append(out, rs.Scoring[w*64+bits.TrailingZeros64(word)].ID)
		}
	}
	return sortedSet(out)
}

// sortedSet sorts ids and drops repeats.
func sortedSet(ids []int64) []int64 {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// setDifference lists the ids of sorted set a that sorted set b lacks.
func setDifference(a, b []int64) []int64 {
	var out []int64
	j := 0
	for _, id := range a {
		for j < len(b) && b[j] < id {
			j++
		}
		if j == len(b) || b[j] != id {
			out = append(out, id)
		}
	}
	return out
}

// contributionChanges compares a lead's stored contributions with its new ones, keyed by
// rule version and activity: removed are the stored ones that are gone or changed points,
// in time order (then rule); given[i] says next[i] is new or changed. Both sides are walked
// once in canonical order — no maps, which cost more than scoring on the re-score path. They
// are in that order already unless rules were reordered or removed since the state was
// written; then they are sorted by key first.
func (rs *RuleSet) contributionChanges(current, next []rules.Contribution) (removed []rules.Contribution, given []bool) {
	if rs.inCanonicalOrder(current, next) {
		given = make([]bool, len(next))
		i, j := 0, 0
		for i < len(current) || j < len(next) {
			c := 1
			switch {
			case i == len(current):
			case j == len(next):
				c = -1
			default:
				c = rs.compareCanonical(current[i].At, current[i].EventKey, current[i].RuleID, current[i].RuleVersion,
					next[j].At, next[j].EventKey, next[j].RuleID, next[j].RuleVersion)
			}
			switch {
			case c < 0:
				removed = append(removed, current[i])
				i++
			case c > 0:
				given[j] = true
				j++
			default:
				if current[i].Points != next[j].Points {
					removed = append(removed, current[i])
					given[j] = true
				}
				i++
				j++
			}
		}
		sortRemoved(removed)
		return removed, given
	}
	return contributionChangesByKey(current, next)
}

// compareCanonical orders contributions as canonical does, then by rule id and version, so
// that equal keys compare equal.
func (rs *RuleSet) compareCanonical(at1, act1, rule1 int64, v1 int, at2, act2, rule2 int64, v2 int) int {
	if c := cmp.Compare(at1, at2); c != 0 {
		return c
	}
	if c := cmp.Compare(act1, act2); c != 0 {
		return c
	}
	o1, ok1 := rs.rulePos(rule1)
	o2, ok2 := rs.rulePos(rule2)
	if !ok1 || !ok2 {
		return 2 // a rule no longer in the set: no order (see inCanonicalOrder)
	}
	if c := cmp.Compare(o1, o2); c != 0 {
		return c
	}
	return cmp.Compare(v1, v2)
}

// inCanonicalOrder reports whether both lists are strictly in canonical order with every rule
// still in the set.
func (rs *RuleSet) inCanonicalOrder(current, next []rules.Contribution) bool {
	for k := range current {
		if _, ok := rs.rulePos(current[k].RuleID); !ok {
			return false
		}
		if k > 0 && rs.compareCanonical(current[k-1].At, current[k-1].EventKey, current[k-1].RuleID, current[k-1].RuleVersion,
			current[k].At, current[k].EventKey, current[k].RuleID, current[k].RuleVersion) >= 0 {
			return false
		}
	}
	for k := 1; k < len(next); k++ {
		if rs.compareCanonical(next[k-1].At, next[k-1].EventKey, next[k-1].RuleID, next[k-1].RuleVersion,
			next[k].At, next[k].EventKey, next[k].RuleID, next[k].RuleVersion) >= 0 {
			return false
		}
	}
	return true
}

func sortRemoved(removed []rules.Contribution) {
	slices.SortFunc(removed, func(a, b rules.Contribution) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.RuleID, b.RuleID)
	})
}

// contributionChangesByKey is contributionChanges for lists in no known order: both are
// sorted by key first.
func contributionChangesByKey(current, next []rules.Contribution) (removed []rules.Contribution, given []bool) {
	type keyed struct {
		key    contribKey
		points float64
		at     int
	}
	byKey := func(a, b keyed) int {
		if c := cmp.Compare(a.key.rule, b.key.rule); c != 0 {
			return c
		}
		if c := cmp.Compare(a.key.version, b.key.version); c != 0 {
			return c
		}
		return cmp.Compare(a.key.activity, b.key.activity)
	}
	olds := make([]keyed, len(current))
	for i, c := range current {
		olds[i] = keyed{contribKey{c.RuleID, c.RuleVersion, c.EventKey}, c.Points, i}
	}
	news := make([]keyed, len(next))
	for i, c := range next {
		news[i] = keyed{contribKey{c.RuleID, c.RuleVersion, c.EventKey}, c.Points, i}
	}
	slices.SortFunc(olds, byKey)
	slices.SortFunc(news, byKey)
	given = make([]bool, len(next))
	i, j := 0, 0
	for i < len(olds) || j < len(news) {
		var c int
		switch {
		case i == len(olds):
			c = 1
		case j == len(news):
			c = -1
		default:
			c = byKey(olds[i], news[j])
		}
		switch {
		case c < 0:
			removed = append(removed, current[olds[i].at])
			i++
		case c > 0:
			given[news[j].at] = true
			j++
		default:
			if olds[i].points != news[j].points {
				removed = append(removed, current[olds[i].at])
				given[news[j].at] = true
			}
			i++
			j++
		}
	}
	sortRemoved(removed)
	return removed, given
}

// rescoreFacts scores a lead whose every activity is in st.Events: from scratch, or, with a
// state from the same profile, only its new activities or only the rules changed since.
func (rs *RuleSet) rescoreFacts(st LeadState, profile rules.Profile, account *rules.Account, hash int64, now time.Time) facts {
	var scorer *rules.LeadScorer
	var out facts
	var kept []rules.Contribution
	sameProfile := st.Lead.StateHash != nil && *st.Lead.StateHash == hash && st.Rules != nil
	changed := rs.changedRules(st.Rules)
	switch {
	case sameProfile && len(st.New) > 0:
		// The rules the lead was scored with score only its new events; rules edited since (a
		// targeted re-score skipped the lead) score its whole history. Rules are independent,
		// so together this equals scoring from scratch.
		known, added := splitNew(st.Events, st.New)
		current, seed := rs.Scoring, st.Current
		if len(changed) > 0 || len(st.Rules) != len(rs.Scoring) {
			current, seed = rs.unchangedRules(st.Rules), rs.unchangedContributions(st)
		}
		scorer = rules.NewLeadScorer(current, profile, account, known)
		if len(known) == st.Counted && scorer.Seed(seed) {
			for _, e := range added {
				scorer.Add(e)
			}
			if len(changed) > 0 {
				fresh := rules.NewLeadScorer(changed, profile, account, slices.Clone(st.Events))
				fresh.Rescore()
				kept = fresh.Contributions()
			}
			out.incremental = true
		}
	case sameProfile && len(st.Events) == st.Counted:
		// No new events: keep what unchanged rules gave, evaluate the changed ones.
		kept = rs.unchangedContributions(st)
		scorer = rules.NewLeadScorer(changed, profile, account, st.Events)
		scorer.Rescore()
		out.incremental = true
	}
	if !out.incremental {
		kept = nil
		scorer = rules.NewLeadScorer(rs.Scoring, profile, account, st.Events)
		scorer.Rescore()
	}
	if len(kept) == 0 {
		out.next = rs.canonical(scorer.TakeContributions())
	} else {
		out.next = rs.canonical(append(kept, scorer.Contributions()...))
	}
	return rs.scratchFacts(out, scorer.Events(), scorer.Keys(), profile, account, now)
}

// scoreChange is one contribution given or taken back, before it goes into a ledger line.
type scoreChange struct {
	scoreID, rule int64
	version       int
	activity      int64
	at            time.Time
	delta, value  float64 // points, and their value now (after expiry and decay)
}

// ledgerLines makes the ledger lines of one scoring's changes: one line per rule version and
// direction (points given, points taken back), covering every activity it changed, in the
// order of their first change. A first scoring of 20 activities writes a line per rule it
// matched instead of one per activity and rule. Before and after follow the score from line
// to line, starting at values (the scores as stored, by score id). The lines have room for
// spare more (the label lines that follow).
func ledgerLines(leadID int64, changes []scoreChange, values map[int64]float64, spare int) []model.LedgerLine {
	type key struct {
		rule    int64
		version int
		given   bool
	}
	// Group the changes by line, keeping each line's changes in their order (a counting sort
	// of their positions), and give the lines' pointer fields one backing array each: a first
	// scoring makes dozens of lines per lead, and this runs for every lead.
	lineOf := make(map[key]int32)
	at := make([]int32, len(changes))
	var sizes []int32
	var keys []key
	for i, c := range changes {
		k := key{c.rule, c.version, c.delta > 0}
		n, ok := lineOf[k]
		if !ok {
			n = int32(len(keys))
			lineOf[k] = n
			keys, sizes = append(keys, k), append(sizes, 0)
		}
		at[i] = n
		sizes[n]++
	}
	starts := make([]int32, len(keys)+1)
	for n, size := range sizes {
		starts[n+1] = starts[n] + size
	}
	// order lists the changes' positions line by line, each line's in their order.
	order := make([]int32, len(changes))
	fill := append(sizes[:0], starts[:len(keys)]...) // sizes are counted: its array serves
	for i := range changes {
		order[fill[at[i]]] = int32(i)
		fill[at[i]]++
	}
	out := make([]model.LedgerLine, len(keys), len(keys)+spare)
	scoreIDs, times, activities := make([]int64, len(keys)), make([]time.Time, len(keys)), make([]int64, len(keys))
	for n, k := range keys {
		g := order[starts[n]:starts[n+1]]
		first := &changes[g[0]]
		scoreIDs[n], times[n] = first.scoreID, first.at
		sid := scoreIDs[n]
		l := model.LedgerLine{LeadID: leadID, Kind: "score", ScoreID: &scoreIDs[n], RuleID: k.rule, RuleVersion: k.version, EarnedAt: &times[n],
			Before: round(values[sid])}
		for _, i := range g {
			values[sid] += changes[i].value
			l.Delta += changes[i].delta
		}
		l.After = round(values[sid])
		if len(g) == 1 {
			activities[n] = first.activity
			l.ActivityID = &activities[n]
		} else {
			l.Covers = make([]model.Covered, len(g))
			for j, i := range g {
				c := &changes[i]
				l.Covers[j] = model.Covered{ActivityID: c.activity, EarnedAt: c.at, Delta: c.delta}
			}
		}
		out[n] = l
	}
	return out
}

// refreshAt is the next moment something stored for the lead changes by itself: a
// contribution expires, decay moves a score by half a point, an event crosses a label's
// window or the trend's weekly boundaries, or the lead turns frozen 90 days after its last
// activity (last). worth holds each contribution's value now.
func (rs *RuleSet) refreshAt(contribs []rules.Contribution, worth []float64, times []time.Time, last, now time.Time) *time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !last.IsZero() {
		consider(last.Add(rules.FrozenAfter))
	}
	var slope float64 // points lost per hour by decay, now
	for i, c := range contribs {
		e := rs.Effect(c.RuleID)
		if e.ExpireDays > 0 {
			consider(c.Time().Add(time.Duration(e.ExpireDays) * 24 * time.Hour))
		}
		if e.HalfLifeDays > 0 {
			slope += math.Abs(worth[i]) * math.Ln2 / (e.HalfLifeDays * 24)
		}
	}
	if slope > 1e-6 {
		wait := time.Duration(0.5 / slope * float64(time.Hour))
		consider(now.Add(max(wait, 10*time.Minute)))
	}
	// Per window, the first time it carries past now: the earliest one after now - w when
	// the times are in order (they are, but for a hand-made state), else every one.
	ordered := slices.IsSortedFunc(times, time.Time.Compare)
	for _, w := range rs.refreshWindows {
		if !ordered {
			for _, t := range times {
				consider(t.Add(w))
			}
			continue
		}
		k, _ := slices.BinarySearchFunc(times, now.Add(-w), time.Time.Compare)
		for ; k < len(times); k++ {
			if t := times[k].Add(w); t.After(now) {
				consider(t)
				break
			}
		}
	}
	if next.IsZero() {
		return nil
	}
	return &next
}

// round keeps stored scores to two decimals: enough for ordering, no float noise in the UI.
func round(v float64) float64 { return math.Round(v*100) / 100 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func dedupe(names []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func strconvFormat(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64) }

// ValueNow is a stored contribution's value at now, after expiry and decay.
func ValueNow(c model.Contribution, rs *RuleSet, now time.Time) float64 {
	return rules.Decayed(rules.Contribution{At: c.EarnedAt.UnixMicro(), Points: c.Points}, rs.Effect(c.RuleID), now)
}

// Trend is a score's value at the end of each of the last days, oldest first, computed from
// the contributions it holds now (so a rule edit redraws the past with the new rules).
func Trend[C interface{ Base() model.Contribution }](contribs []C, rs *RuleSet, now time.Time, days int) []float64 {
	out := make([]float64, days+1)
	for i := 0; i <= days; i++ {
		at := now.Add(-time.Duration(days-i) * 24 * time.Hour)
		var sum float64
		for _, c := range contribs {
			b := c.Base()
			if !b.EarnedAt.After(at) {
				sum += ValueNow(b, rs, at)
			}
		}
		out[i] = round(sum)
	}
	return out
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func fmtAny(v map[string]any) string {
	if len(v) == 0 {
		return ""
	}
	b, _ := json.Marshal(v) // maps marshal with sorted keys: stable
	return string(b)
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func sameScores(stored, next map[int64]float64) bool {
	n := 0
	for id, v := range next {
		if v == 0 {
			continue
		}
		n++
		if stored[id] != v {
			return false
		}
	}
	return n == len(stored)
}

// splitNew parts a lead's events into those scored before and the new ones.
func splitNew(events []rules.Stamped, fresh map[int64]bool) (known, added []rules.Stamped) {
	for _, e := range events {
		if fresh[e.Key] {
			added = append(added, e)
		} else {
			known = append(known, e)
		}
	}
	return known, added
}

// unchangedContributions are the stored contributions of rules still at the version the lead
// was scored with.
func (rs *RuleSet) unchangedContributions(st LeadState) []rules.Contribution {
	out := make([]rules.Contribution, 0, len(st.Current))
	for _, c := range st.Current {
		if v, ok := rs.ruleVersion(c.RuleID); ok && v == c.RuleVersion && st.Rules[c.RuleID] == v {
			out = append(out, c)
		}
	}
	return out
}

// unchangedRules are the score rules whose version is the one the lead was scored with.
func (rs *RuleSet) unchangedRules(stored map[int64]int) []rules.ScoringRule {
	var out []rules.ScoringRule
	for _, r := range rs.Scoring {
		if v, ok := stored[r.ID]; ok && v == r.Version {
			out = append(out, r)
		}
	}
	return out
}

// changedRules lists the score rules whose id and version a stored state was not computed
// with: all of them without a state (the rule set's own slice, capped so that an append
// copies it).
func (rs *RuleSet) changedRules(stored map[int64]int) []rules.ScoringRule {
	if len(stored) == 0 {
		return rs.Scoring[:len(rs.Scoring):len(rs.Scoring)]
	}
	var out []rules.ScoringRule
	for _, r := range rs.Scoring {
		if v, ok := stored[r.ID]; !ok || v != r.Version {
			out = append(out, r)
		}
	}
	return out
}

// canonical orders contributions by event time, event and rule order, whichever way they
// were computed, so equal outcomes encode to equal states.
func (rs *RuleSet) canonical(cs []rules.Contribution) []rules.Contribution {
	slices.SortFunc(cs, rs.canonicalOrder)
	return cs
}

func (rs *RuleSet) canonicalOrder(a, b rules.Contribution) int {
	if c := cmp.Compare(a.At, b.At); c != 0 {
		return c
	}
	if c := cmp.Compare(a.EventKey, b.EventKey); c != 0 {
		return c
	}
	if a.RuleID == b.RuleID {
		return 0
	}
	oa, _ := rs.rulePos(a.RuleID)
	ob, _ := rs.rulePos(b.RuleID)
	return cmp.Compare(oa, ob)
}

// appendCanonical is mergeCanonical for a lead's stored contributions (a) and what its new
// activities add (b), which come after them in canonical order but for rare ties: b goes
// into a's spare capacity when it has room and follows a; otherwise the merge makes a new
// array. Either way a's elements stay as they are, so a state can be scored again (previews
// score it with two rule sets).
func (rs *RuleSet) appendCanonical(a, b []rules.Contribution) []rules.Contribution {
	after := len(a) == 0 || len(b) == 0 || rs.canonicalOrder(a[len(a)-1], b[0]) < 0
	if after && cap(a)-len(a) >= len(b) && slices.IsSortedFunc(a, rs.canonicalOrder) && slices.IsSortedFunc(b, rs.canonicalOrder) {
		return append(a, b...)
	}
	return rs.mergeCanonical(slices.Clip(a), b)
}

// mergeCanonical is canonical(append(a, b...)) for two lists usually in canonical order
// already (a state's kept contributions and a scorer's): merged in one pass, sorted otherwise.
// a is the caller's to give up: when it has room for b (b must not share its array), the
// merge fills it from the back, and nothing is allocated. A lead holds about a hundred
// contributions and a pass adds a few, so a new array per pass was a tenth of the bytes
// incremental scoring allocated.
func (rs *RuleSet) mergeCanonical(a, b []rules.Contribution) []rules.Contribution {
	if !slices.IsSortedFunc(a, rs.canonicalOrder) || !slices.IsSortedFunc(b, rs.canonicalOrder) {
		return rs.canonical(append(a, b...))
	}
	if n := len(a) + len(b); cap(a) >= n {
		out := a[:n]
		i, j := len(a)-1, len(b)-1
		for k := n - 1; j >= 0; k-- {
			// Ties keep a's first, as the forward merge below does.
			if i >= 0 && rs.canonicalOrder(a[i], b[j]) > 0 {
				out[k] = a[i]
				i--
			} else {
				out[k] = b[j]
				j--
			}
		}
		return out
	}
	out := make([]rules.Contribution, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if rs.canonicalOrder(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// latestActivity is the time of the lead's latest activity scoring sees, or now without any.
func latestActivity(st LeadState, now time.Time) time.Time {
	var latest time.Time
	if st.Append && st.Memory.Valid && st.Counted > 0 {
		latest = st.Memory.LastAt // appending reads only recent history: the memory knows the last
	}
	for _, list := range [][]rules.Stamped{st.Events, st.Added} {
		for _, e := range list {
			if e.Time.After(latest) {
				latest = e.Time
			}
		}
	}
	if latest.IsZero() {
		return now
	}
	return latest
}
