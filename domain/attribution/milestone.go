package attribution

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Milestone kinds.
const (
	KindScore  = "score"  // a named score reaches a threshold (the MQL line)
	KindLabel  = "label"  // a label is gained
	KindGrade  = "grade"  // the fit grade reaches a letter or better
	KindStatus = "status" // the Salesforce lead status pulled back becomes a value
)

// Milestone is a line a lead crosses.
type Milestone struct {
	ID        int64
	Name      string
	Kind      string
	ScoreID   int64
	Threshold float64
	Value     string // the label, the grade letter or the status
}

// Validate names what is wrong with a milestone a person entered, or returns nil. scores
// holds the workspace's score ids, labels the labels its rules give.
func (m Milestone) Validate(scores map[int64]bool) error {
	switch {
	case strings.TrimSpace(m.Name) == "":
		return fmt.Errorf("Give the milestone a name, such as “MQL”.")
	case len(m.Name) > 120:
		return fmt.Errorf("The name is too long: at most 120 characters.")
	}
	switch m.Kind {
	case KindScore:
		if !scores[m.ScoreID] {
			return fmt.Errorf("Choose one of the workspace's scores.")
		}
		if math.IsNaN(m.Threshold) || math.IsInf(m.Threshold, 0) || m.Threshold <= 0 {
			return fmt.Errorf("The threshold must be a number above 0, such as 60.")
		}
	case KindLabel:
		if strings.TrimSpace(m.Value) == "" {
			return fmt.Errorf("Name the label the lead gains.")
		}
	case KindGrade:
		if gradeRank(m.Value) < 0 || m.Value == "F" {
			return fmt.Errorf("Choose a grade from A to E.")
		}
	case KindStatus:
		if strings.TrimSpace(m.Value) == "" || len(m.Value) > 100 {
			return fmt.Errorf("Name the Salesforce lead status, such as “Qualified” (at most 100 characters).")
		}
	default:
		return fmt.Errorf("Choose what the lead must reach: a score, a label, a grade or a Salesforce status.")
	}
	return nil
}

// Change is a lead's scoring before and after one scoring pass.
type Change struct {
	LeadID                    int64
	AccountID                 *int64
	ScoresBefore, ScoresAfter map[int64]float64
	LabelsBefore, LabelsAfter []string
	GradeBefore, GradeAfter   string
	// At is when it happened: the latest new activity's time, or the scoring's.
	At time.Time
}

// Crossed reports whether the change carries the lead over the milestone's line (upward:
// a lead falling back below crosses again when it climbs back). Statuses cross on the pull
// (StatusCrossed).
func (m Milestone) Crossed(c Change) bool {
	switch m.Kind {
	case KindScore:
		return c.ScoresBefore[m.ScoreID] < m.Threshold && c.ScoresAfter[m.ScoreID] >= m.Threshold
	case KindLabel:
		return !hasFold(c.LabelsBefore, m.Value) && hasFold(c.LabelsAfter, m.Value)
	case KindGrade:
		return !m.gradeReached(c.GradeBefore) && m.gradeReached(c.GradeAfter)
	}
	return false
}

// gradeReached: the grade is the milestone's or better (A is best).
func (m Milestone) gradeReached(g string) bool {
	r := gradeRank(g)
	return r >= 0 && r <= gradeRank(m.Value)
}

// Describe says in words what crossing the milestone means.
func (m Milestone) Describe(scoreName string) string {
	switch m.Kind {
	case KindScore:
		return scoreName + " reaches " + trimFloat(m.Threshold)
	case KindLabel:
		return "gains the label “" + m.Value + "”"
	case KindStatus:
		return "gets the Salesforce lead status “" + m.Value + "”"
	default:
		if m.Value == "A" {
			return "fit grade reaches A"
		}
		return "fit grade reaches " + m.Value + " or better"
	}
}

// Crossing is a lead crossing a milestone.
type Crossing struct {
	MilestoneID int64
	LeadID      int64
	AccountID   *int64
	At          time.Time
}

// Crossings lists what the changes cross, milestone by milestone.
func Crossings(milestones []Milestone, changes []Change) []Crossing {
	var out []Crossing
	for _, m := range milestones {
		for _, c := range changes {
			if m.Crossed(c) {
				out = append(out, Crossing{MilestoneID: m.ID, LeadID: c.LeadID, AccountID: c.AccountID, At: c.At})
			}
		}
	}
	return out
}

// LedgerStep is one line of a lead's score ledger as history back-fill reads it: a score's
// value before and after, or a label gained (After 1) or lost (After 0), at the time of the
// activities it covers (several, for a line covering several activities' points).
type LedgerStep struct {
	LeadID int64
	// Pass tells the scoring passes apart: the lines of one pass over a lead share it (the
	// store uses the transaction's time). A pass is judged as a whole, so a re-score that
	// takes a rule's points back and gives new ones crosses only if the lead ends above a
	// line it started below.
	Pass    time.Time
	ScoreID int64  // 0 for a label line
	Label   string // for a label line
	Before  float64
	After   float64
	At      time.Time
	// Covers, for a line of several activities' points: each activity's points and time, in
	// order; the crossing is at the activity whose points carry the sum over.
	Covers []CoveredPoints
}

// CoveredPoints is one activity's points within a ledger line.
type CoveredPoints struct {
	At     time.Time
	Points float64
}

// FromLedger finds a score or label milestone's crossings in ledger steps, read in ledger
// order (lead by lead, pass by pass): a pass that takes the score from below the threshold
// to at or above it, crossing at the activity whose points carried it over the last time in
// the pass; or a pass that gives the label. Scoring records live crossings with the same
// function over the lines it writes, so history and live crossings agree. (Grades are not
// in the ledger; the store back-fills them from the leads.)
func FromLedger(m Milestone, steps []LedgerStep) []Crossing {
	var out []Crossing
	for i := 0; i < len(steps); {
		j := i + 1
		for j < len(steps) && steps[j].LeadID == steps[i].LeadID && steps[j].Pass.Equal(steps[i].Pass) {
			j++
		}
		if at, ok := crossedInPass(m, steps[i:j]); ok {
			out = append(out, Crossing{MilestoneID: m.ID, LeadID: steps[i].LeadID, At: at})
		}
		i = j
	}
	return out
}

// crossedInPass judges one pass over a lead.
func crossedInPass(m Milestone, pass []LedgerStep) (time.Time, bool) {
	var at time.Time
	var first, last *LedgerStep
	for k := range pass {
		s := &pass[k]
		switch m.Kind {
		case KindScore:
			if s.ScoreID != m.ScoreID {
				continue
			}
			if first == nil {
				first = s
			}
			last = s
			if s.Before < m.Threshold && s.After >= m.Threshold {
				at = crossingInLine(*s, m.Threshold)
			}
		case KindLabel:
			if s.ScoreID == 0 && strings.EqualFold(s.Label, m.Value) && s.Before == 0 && s.After == 1 {
				return s.At, true
			}
		}
	}
	if first == nil || !(first.Before < m.Threshold && last.After >= m.Threshold) {
		return time.Time{}, false
	}
	return at, true
}

// crossingInLine is the time of the covered activity whose points carry the score to the
// threshold, or the line's time. (Covered points are counted undecayed.)
func crossingInLine(s LedgerStep, threshold float64) time.Time {
	sum := s.Before
	for _, c := range s.Covers {
		sum += c.Points
		if sum >= threshold {
			return c.At
		}
	}
	return s.At
}

func hasFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}

// gradeRank orders grades A (0) to F (5); -1 for none.
func gradeRank(g string) int {
	if len(g) == 1 && g[0] >= 'A' && g[0] <= 'F' {
		return int(g[0] - 'A')
	}
	return -1
}

// StatusCrossed reports whether a status pulled from Salesforce reaches a status milestone:
// the lead's status becomes its value (compared without case) from another one.
func (m Milestone) StatusCrossed(before, after string) bool {
	return m.Kind == KindStatus && strings.EqualFold(strings.TrimSpace(after), m.Value) && !strings.EqualFold(strings.TrimSpace(before), m.Value)
}
