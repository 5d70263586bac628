// Package scoring applies a workspace's falcon rules to its leads: the pure per-lead step
// (scores, ledger, labels, grade, temperature, when to look again) and the workers that run
// it on new activity, after rule changes, and when stored values age.
package scoring

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

// LabelRule is a compiled label rule with how its label looks.
type LabelRule struct {
	rules.LabelRule
	Version int
	Color   string
	Emoji   string
}

// RuleSet is a workspace's enabled rules, compiled.
type RuleSet struct {
	Version       int64
	Scores        []model.ScoreName
	MainScoreID   int64
	Scoring       []rules.ScoringRule
	Labels        []LabelRule // on leads
	AccountLabels []LabelRule
	Grades        []rules.GradeRule
	Scale         rules.GradeScale

	scoreIDs map[string]int64
	rules    ruleIndex // score rule id → position in Scoring
	// versions is every score rule's version by id, and versionsHeader the bytes a state
	// scored with exactly these rules holds for them (see encodeRuleVersions): such a state
	// shares versions, read only, instead of decoding a map of its own.
	versions       map[int64]int
	versionsHeader []byte
	scoreOf        []int64 // per position in Scoring, the score id
	labelWindows   []time.Duration
	// refreshWindows are the spans after an activity at whose end something stored changes:
	// the trend's week and five weeks, and the labels' windows (the 90 days after which a
	// lead is frozen count from its last activity only: see refreshAt).
	refreshWindows []time.Duration
	propKeys       map[string]bool
	labelStyles    map[string]LabelRule
	history        historyNeeds
	// eventLocal holds, per score rule that looks at one activity at a time (no counts), what
	// an activity must look like to match it: after an edit of such rules only those
	// activities are read (see canRevise).
	eventLocal map[int64]rules.ActivityFilter
	// repriceFrom holds, per event-local score rule whose conditions never depend on the
	// moment of scoring, the version since which it matches the same activities and shares
	// its points out the same way: a state scored at that version or later holds exactly the
	// activities the rule matches, and after an edit of points, expiry or half-life its
	// contributions are re-priced, not scored again from the activities (see repriced).
	repriceFrom map[int64]int
}

// Build compiles stored rules into a rule set. A rule that no longer compiles (it was valid
// when saved, so only a code change can cause this) is skipped and reported.
func Build(version int64, stored []model.StoredRule, scores []model.ScoreName, scale json.RawMessage) (*RuleSet, []error) {
	rs := &RuleSet{Version: version, Scores: scores, scoreIDs: map[string]int64{},
		labelStyles: map[string]LabelRule{}, Scale: rules.DefaultGradeScale, propKeys: map[string]bool{}, eventLocal: map[int64]rules.ActivityFilter{},
		repriceFrom: map[int64]int{}}
	for _, s := range scores {
		rs.scoreIDs[s.Name] = s.ID
		if s.IsMain {
			rs.MainScoreID = s.ID
		}
	}
	if len(scale) > 0 {
		var g struct{ A, B, C, D, E float64 }
		if err := json.Unmarshal(scale, &g); err == nil && (rules.GradeScale(g)).Valid() {
			rs.Scale = rules.GradeScale(g)
		}
	}
	var problems []error
	whens := map[int64]uint64{}
	for _, st := range stored {
		if !st.Enabled {
			continue
		}
		var r rules.Rule
		if err := json.Unmarshal(st.Definition, &r); err != nil {
			problems = append(problems, fmt.Errorf("rule %d: %w", st.ID, err))
			continue
		}
		c, err := r.Check()
		if err != nil {
			problems = append(problems, fmt.Errorf("rule %d: %w", st.ID, err))
			continue
		}
		propertyKeys(&r.When, rs.propKeys)
		if b, err := json.Marshal(r.When); err == nil {
			h := fnv.New64a()
			h.Write(b)
			whens[st.ID] = h.Sum64()
		}
		switch r.Kind {
		case rules.KindScore:
			id, ok := rs.scoreIDs[r.Score.Score]
			if !ok {
				problems = append(problems, fmt.Errorf("rule %d: score %q is not defined", st.ID, r.Score.Score))
				continue
			}
			eff := *r.Score
			eff.Key = id // contributions carry the score id
			rs.Scoring = append(rs.Scoring, rules.ScoringRule{ID: st.ID, Version: st.Version, When: c, Effect: eff})
			rs.scoreOf = append(rs.scoreOf, id)
			if f, ok := c.NecessaryActivities(); ok && c.CountWindow() == 0 {
				rs.eventLocal[st.ID] = f
				if st.MatchVersion > 0 && len(c.Windows()) == 0 {
					rs.repriceFrom[st.ID] = st.MatchVersion
				}
			}
		case rules.KindLabel:
			lr := LabelRule{LabelRule: rules.LabelRule{ID: st.ID, Name: r.Label.Name, When: c}, Version: st.Version, Color: r.Label.Color, Emoji: r.Label.Emoji}
			if r.Label.On == rules.OnAccount {
				rs.AccountLabels = append(rs.AccountLabels, lr)
			} else {
				rs.Labels = append(rs.Labels, lr)
				rs.labelWindows = append(rs.labelWindows, c.Windows()...)
			}
			rs.labelStyles[r.Label.Name] = lr
		case rules.KindGrade:
			rs.Grades = append(rs.Grades, rules.GradeRule{ID: st.ID, Points: r.Grade.Points, When: c})
		}
	}
	ids := make([]int64, len(rs.Scoring))
	for i, r := range rs.Scoring {
		ids[i] = r.ID
	}
	rs.rules = newRuleIndex(ids)
	rs.versions = make(map[int64]int, len(rs.Scoring))
	for _, r := range rs.Scoring {
		rs.versions[r.ID] = r.Version
	}
	rs.versionsHeader = encodeRuleVersions(nil, rs.Scoring)
	rs.history = rs.historyNeeds(whens)
	rs.refreshWindows = append([]time.Duration{7 * 24 * time.Hour, 35 * 24 * time.Hour}, rs.labelWindows...)
	return rs, problems
}

// propertyKeys collects the event property keys a group's conditions read.
func propertyKeys(g *rules.Group, into map[string]bool) {
	for _, n := range g.Rules {
		switch {
		case n.Group != nil:
			propertyKeys(n.Group, into)
		case n.Condition != nil:
			if n.Condition.Field == "event.property" {
				into[n.Condition.Property] = true
			}
			if f, ok := rules.FieldByName(n.Condition.Field); ok && f.Property != "" {
				into[f.Property] = true
			}
			if n.Condition.Where != nil {
				propertyKeys(n.Condition.Where, into)
			}
		}
	}
}

// NeedsProperties tells whether any rule reads event properties (decoding them costs time).
func (rs *RuleSet) NeedsProperties() bool { return len(rs.propKeys) > 0 }

// PropertyKeys lists the event property keys the rules read: only those are decoded.
func (rs *RuleSet) PropertyKeys() []string {
	return slices.Sorted(maps.Keys(rs.propKeys))
}

// Effect returns the score effect of a rule, for decay at read time.
func (rs *RuleSet) Effect(ruleID int64) rules.ScoreEffect {
	if p, ok := rs.rulePos(ruleID); ok {
		return rs.Scoring[p].Effect
	}
	return rules.ScoreEffect{} // a rule no longer in the set: its points stand as given
}

// rulePos is a score rule's position in Scoring.
func (rs *RuleSet) rulePos(id int64) (int, bool) {
	p, ok := rs.rules.find(id)
	if !ok || p >= len(rs.Scoring) || rs.Scoring[p].ID != id {
		return 0, false // (tests shorten Scoring to drop a rule)
	}
	return p, true
}

// ruleVersion is a score rule's current version.
func (rs *RuleSet) ruleVersion(id int64) (int, bool) {
	p, ok := rs.rulePos(id)
	if !ok {
		return 0, false
	}
	return rs.Scoring[p].Version, true
}

// scoreOfRule is the score a score rule adds to (0 for a rule no longer in the set).
func (rs *RuleSet) scoreOfRule(id int64) int64 {
	if p, ok := rs.rulePos(id); ok {
		return rs.scoreOf[p]
	}
	return 0
}

// LabelStyle returns the colour and emoji of a label by name.
func (rs *RuleSet) LabelStyle(name string) (LabelRule, bool) {
	l, ok := rs.labelStyles[name]
	return l, ok
}

// ScoreName returns a score's name by id.
func (rs *RuleSet) ScoreName(id int64) string {
	for _, s := range rs.Scores {
		if s.ID == id {
			return s.Name
		}
	}
	return ""
}

// Def turns a checked rule into what the store keeps.
func Def(r rules.Rule) (model.RuleDef, error) {
	if _, err := r.Check(); err != nil {
		return model.RuleDef{}, err
	}
	r.Name = strings.TrimSpace(r.Name)
	b, err := json.Marshal(r)
	if err != nil {
		return model.RuleDef{}, err
	}
	d := model.RuleDef{Name: r.Name, Kind: r.Kind, Enabled: r.Enabled, Definition: b}
	if r.Score != nil {
		d.ScoreName = strings.TrimSpace(r.Score.Score)
	}
	if r.Kind == rules.KindScore {
		if c, err := rules.Compile(&r.When); err == nil {
			if f, ok := c.NecessaryActivities(); ok {
				d.ActivityFilter, _ = json.Marshal(f)
			}
		}
	}
	return d, nil
}

// Defs converts a whole document.
func Defs(rs []rules.Rule) ([]model.RuleDef, error) {
	out := make([]model.RuleDef, 0, len(rs))
	for _, r := range rs {
		d, err := Def(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// CommonPropertyKeys are the event properties offered to every new workspace.
var CommonPropertyKeys = []model.EventPropertyKey{
	{Key: "campaign_name", Type: "string", Builtin: true},
	{Key: "canvas_name", Type: "string", Builtin: true},
	{Key: "url", Type: "string", Builtin: true},
	{Key: "product_id", Type: "string", Builtin: true},
	{Key: "price", Type: "number", Builtin: true},
	{Key: "currency", Type: "string", Builtin: true},
	{Key: "source", Type: "string", Builtin: true},
	{Key: "subscription_status", Type: "string", Builtin: true},
	{Key: "platform", Type: "string", Builtin: true},
	{Key: "name", Type: "string", Builtin: true},
}

// NewWorkspaceSeed is what a new workspace starts with: the default rules and the common
// event property keys.
func NewWorkspaceSeed() model.WorkspaceSeed {
	defs, err := Defs(rules.Defaults().Rules)
	if err != nil {
		panic("scoring: default rules: " + err.Error()) // covered by tests
	}
	return model.WorkspaceSeed{Rules: defs, PropertyKeys: CommonPropertyKeys}
}
