// Package alerts decides when a lead is worth telling someone about. An alert rule has one
// trigger (a label gained, a score crossing a threshold upward, temperature turning hot, a
// grade reached, or an activity matching a condition), optional narrowing (grade at least,
// main score at least), recipients, and a throttle window: at most one alert per lead per
// rule per window, the rest folded into the count the digest reports. This file is the pure
// part: rules and matching. Store and delivery are in service.go.
package alerts

import (
	"fmt"
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

// Triggers.
const (
	LabelGained  = "label_gained"
	ScoreCrossed = "score_crossed"
	BecameHot    = "became_hot"
	GradeReached = "grade_reached"
	Activity     = "activity"
	// Account triggers.
	AccountLabelGained  = "account_label_gained"
	AccountScoreCrossed = "account_score_crossed"
	AccountEngaged      = "account_engaged"
)

// ForAccounts reports whether a trigger is about accounts.
func ForAccounts(trigger string) bool {
	return trigger == AccountLabelGained || trigger == AccountScoreCrossed || trigger == AccountEngaged
}

// Triggers lists the triggers with their descriptions, in the order the form offers them.
var Triggers = []struct{ Value, Label string }{
	{Activity, "The lead does an activity (e.g. visits the pricing page)"},
	{LabelGained, "The lead gains a label"},
	{ScoreCrossed, "A score crosses a threshold upward"},
	{BecameHot, "The lead's temperature becomes hot"},
	{GradeReached, "The lead's fit grade reaches A or B"},
	{AccountLabelGained, "An account gains a label"},
	{AccountScoreCrossed, "An account's rolled-up score crosses a threshold upward"},
	{AccountEngaged, "An account has N people active in the last 7 days"},
}

// DefaultThrottleHours is the window of one alert per lead per rule.
const DefaultThrottleHours = 24

// Definition is an alert rule as stored (alert_rules.definition) and as the API speaks it.
type Definition struct {
	Trigger   string       `json:"trigger"`
	Label     string       `json:"label,omitempty"`     // label_gained
	Score     string       `json:"score,omitempty"`     // score_crossed: the score's name
	Threshold float64      `json:"threshold,omitempty"` // score_crossed
	Grade     string       `json:"grade,omitempty"`     // grade_reached: A or B
	Activity  *rules.Group `json:"activity,omitempty"`  // activity: what the activity looks like
	People    int          `json:"people,omitempty"`    // account_engaged: how many people
	// Narrowing, for every trigger.
	MinGrade string   `json:"min_grade,omitempty"` // the lead's fit grade at least this
	MinScore *float64 `json:"min_score,omitempty"` // the lead's main score at least this
	// Condition narrows a lead rule with the falcon rule language (rules.Group, as in the
	// rules' JSON): profile, account and — for the activity trigger — the activity's fields.
	Condition *rules.Group `json:"condition,omitempty"`
	// Recipients.
	Owner    bool     `json:"owner"`              // the lead's owner (a user with the owner's email)
	Users    []int64  `json:"users,omitempty"`    // named users
	Emails   []string `json:"emails,omitempty"`   // email addresses
	Channels []int64  `json:"channels,omitempty"` // Slack webhooks and webhook endpoints
	// ThrottleHours: at most one alert per lead per rule within this many hours.
	ThrottleHours int `json:"throttle_hours"`
}

// Problems are a definition's mistakes by form field.
type Problems map[string]string

func (p Problems) Error() string {
	parts := make([]string, 0, len(p))
	for k, v := range p {
		parts = append(parts, k+": "+v)
	}
	return strings.Join(parts, "; ")
}

// Rule is an enabled alert rule, ready to match.
type Rule struct {
	ID        int64
	Name      string
	Def       Definition
	scoreID   int64
	activity  *rules.Compiled
	condition *rules.Compiled
}

// Compile checks a definition against the workspace's score names (name → id) and labels and
// prepares it; problems name the form field at fault.
func Compile(id int64, name string, d Definition, scores map[string]int64) (*Rule, error) {
	p := Problems{}
	r := &Rule{ID: id, Name: name, Def: d}
	if strings.TrimSpace(name) == "" {
		p["name"] = "Name the alert, e.g. “Pricing visit by a good fit”."
	}
	switch d.Trigger {
	case LabelGained, AccountLabelGained:
		if strings.TrimSpace(d.Label) == "" {
			p["label"] = "Choose the label."
		}
	case AccountEngaged:
		if d.People < 2 || d.People > 10000 {
			p["people"] = "Enter how many people, from 2 (e.g. 3)."
		}
	case ScoreCrossed, AccountScoreCrossed:
		id, ok := scores[d.Score]
		if !ok {
			p["score"] = "Choose one of the workspace's scores."
		}
		r.scoreID = id
		if d.Threshold <= 0 || math.IsInf(d.Threshold, 0) || math.IsNaN(d.Threshold) {
			p["threshold"] = "Enter the threshold, a number above 0 (e.g. 60)."
		}
	case BecameHot:
	case GradeReached:
		if d.Grade != "A" && d.Grade != "B" {
			p["grade"] = "Choose grade A or B."
		}
	case Activity:
		c, err := rules.Compile(d.Activity)
		if err != nil {
			p["activity"] = "Describe the activity: " + firstProblem(err)
		}
		r.activity = c
	default:
		p["trigger"] = "Choose when the alert fires."
	}
	if d.Condition != nil && len(d.Condition.Rules) > 0 {
		if ForAccounts(d.Trigger) {
			p["condition"] = "A narrowing condition applies to leads; account alerts have none."
		} else if c, err := rules.Compile(d.Condition); err != nil {
			p["condition"] = "The condition is not valid: " + firstProblem(err)
		} else {
			r.condition = c
		}
	}
	if d.MinGrade != "" && gradeRank(d.MinGrade) < 0 {
		p["min_grade"] = "Choose a grade from A to F, or any."
	}
	for _, e := range d.Emails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || !strings.Contains(e[strings.LastIndex(e, "@")+1:], ".") {
			p["emails"] = fmt.Sprintf("%q is not an email address; separate addresses with commas.", e)
			break
		}
	}
	if len(d.Emails) > 20 {
		p["emails"] = "At most 20 addresses; use a mailing list for more."
	}
	if ForAccounts(d.Trigger) && d.Owner && len(d.Users) == 0 && len(d.Emails) == 0 && len(d.Channels) == 0 {
		p["recipients"] = "An account has no owner here: choose people, addresses or a channel."
	} else if !d.Owner && len(d.Users) == 0 && len(d.Emails) == 0 && len(d.Channels) == 0 {
		p["recipients"] = "Choose who is told: the lead's owner, people, addresses, or a channel."
	}
	if d.ThrottleHours < 1 || d.ThrottleHours > 24*30 {
		p["throttle_hours"] = "Enter a window from 1 to 720 hours (default 24)."
	}
	if len(p) > 0 {
		return nil, p
	}
	return r, nil
}

func firstProblem(err error) string {
	if ve, ok := err.(*rules.ValidationError); ok && len(ve.Problems) > 0 {
		return ve.Problems[0].Message
	}
	return err.Error()
}

// Change is what one scoring changed of a lead, as alert rules see it.
type Change struct {
	LeadID                              int64
	Name                                string // how people know the lead: name, else email
	OwnerEmail                          string
	Gained                              []string // labels the lead now has and had not
	ScoresBefore, ScoresAfter           map[int64]float64
	MainScore                           float64
	TemperatureBefore, TemperatureAfter string
	GradeBefore, GradeAfter             string
	New                                 []rules.Event // the activities scored now
	Profile                             rules.Profile
	Account                             *rules.Account
}

// Match reports whether the change fires the rule, and why, in words.
func (r *Rule) Match(c Change) (string, bool) {
	reason, ok := r.match(c)
	return r.narrowed(c, reason, ok)
}

func (r *Rule) match(c Change) (string, bool) {
	d := r.Def
	if ForAccounts(d.Trigger) {
		return "", false
	}
	if d.MinGrade != "" && gradeRank(c.GradeAfter) > gradeRank(d.MinGrade) || gradeRank(c.GradeAfter) < 0 && d.MinGrade != "" {
		return "", false
	}
	if d.MinScore != nil && c.MainScore < *d.MinScore {
		return "", false
	}
	switch d.Trigger {
	case LabelGained:
		for _, l := range c.Gained {
			if strings.EqualFold(l, d.Label) {
				return "gained the label “" + l + "”", true
			}
		}
	case ScoreCrossed:
		return r.crossed(c.ScoresBefore, c.ScoresAfter)
	case BecameHot:
		if c.TemperatureAfter == rules.Hot && c.TemperatureBefore != rules.Hot {
			return "became hot", true
		}
	case GradeReached:
		if gradeRank(c.GradeAfter) >= 0 && gradeRank(c.GradeAfter) <= gradeRank(d.Grade) &&
			(gradeRank(c.GradeBefore) < 0 || gradeRank(c.GradeBefore) > gradeRank(d.Grade)) {
			return "reached grade " + c.GradeAfter, true
		}
	case Activity:
		for i := range c.New {
			e := &c.New[i]
			s := &rules.Subject{Now: e.Time, Event: e, Profile: c.Profile, Account: c.Account}
			if r.activity.Match(s) && (r.condition == nil || r.condition.Match(s)) {
				return ActivityName(e.Name), true
			}
		}
		return "", false
	}
	return "", false
}

// narrowed applies the rule's narrowing condition to a lead without an event.
func (r *Rule) narrowed(c Change, reason string, ok bool) (string, bool) {
	if !ok || r.condition == nil || r.Def.Trigger == Activity {
		return reason, ok
	}
	if !r.condition.Match(&rules.Subject{Now: time.Now(), Profile: c.Profile, Account: c.Account}) {
		return "", false
	}
	return reason, true
}

// AccountChange is what one scoring changed of an account, as account alert rules see it.
type AccountChange struct {
	AccountID                 int64
	Name                      string
	LabelsBefore, LabelsAfter []string
	ScoresBefore, ScoresAfter map[int64]float64
	Engaged                   int // people active in the last 7 days, now
}

// MatchAccount reports whether an account's change fires an account rule, and why. "N people
// engaged" holds as long as the account has them; the throttle sends it once per window.
func (r *Rule) MatchAccount(c AccountChange) (string, bool) {
	d := r.Def
	switch d.Trigger {
	case AccountLabelGained:
		had := map[string]bool{}
		for _, l := range c.LabelsBefore {
			had[strings.ToLower(l)] = true
		}
		for _, l := range c.LabelsAfter {
			if strings.EqualFold(l, d.Label) && !had[strings.ToLower(l)] {
				return "gained the label “" + l + "”", true
			}
		}
	case AccountScoreCrossed:
		return r.crossed(c.ScoresBefore, c.ScoresAfter)
	case AccountEngaged:
		if c.Engaged >= d.People {
			return fmt.Sprintf("has %d people active in the last 7 days", c.Engaged), true
		}
	}
	return "", false
}

// crossed: the rule's score went from below its threshold to it or above.
func (r *Rule) crossed(before, after map[int64]float64) (string, bool) {
	b, a := before[r.scoreID], after[r.scoreID]
	if b < r.Def.Threshold && a >= r.Def.Threshold {
		return fmt.Sprintf("%s crossed %s (now %s)", r.Def.Score, number(r.Def.Threshold), number(math.Round(a))), true
	}
	return "", false
}

// Throttle is the rule's window of one alert per lead.
func (r *Rule) Throttle() time.Duration { return time.Duration(r.Def.ThrottleHours) * time.Hour }

// gradeRank orders grades A (0) to F (5); -1 for none.
func gradeRank(g string) int {
	if len(g) == 1 && g[0] >= 'A' && g[0] <= 'F' {
		return int(g[0] - 'A')
	}
	return -1
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// ActivityName strips the bracketed source of an activity name: "[Website] Visited /pricing"
// reads "Visited /pricing".
func ActivityName(name string) string {
	_, rest := model.SplitActivityName(name)
	return rest
}
