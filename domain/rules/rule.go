package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/peregrine-scoring/peregrine/domain/jsonsafe"
)

// Rule kinds.
const (
	KindScore = "score" // adds points to a named score
	KindLabel = "label" // gives a label while its conditions hold
	KindGrade = "grade" // adds fit points (profile and account conditions only)
)

// Rule is a whole rule as open JSON: what it is, when it applies, and what it does.
type Rule struct {
	Name    string       `json:"name"`
	Kind    string       `json:"kind"`
	Enabled bool         `json:"enabled"`
	When    Group        `json:"when"`
	Score   *ScoreEffect `json:"score,omitempty"`
	Label   *LabelEffect `json:"label,omitempty"`
	Grade   *GradeEffect `json:"grade,omitempty"`
}

// LabelEffect names the label and how it looks.
type LabelEffect struct {
	Name  string `json:"name"`
	Color string `json:"color"`           // #rrggbb
	Emoji string `json:"emoji,omitempty"` // one emoji, optional
	// On is "lead" (the default) or "account": an account label looks at account fields and
	// rolled-up scores only.
	On string `json:"on,omitempty"`
}

// Label targets.
const (
	OnLead    = "lead"
	OnAccount = "account"
)

// GradeEffect adds fit points.
type GradeEffect struct {
	Points float64 `json:"points"`
}

// Document is the import/export form of a workspace's rules.
type Document struct {
	Format int    `json:"format"` // 1
	Rules  []Rule `json:"rules"`
}

// DocumentFormat is the version of the import/export format.
const DocumentFormat = 1

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Check validates a rule and compiles its conditions; every problem is listed with its path.
func (r Rule) Check() (*Compiled, error) {
	var problems []Problem
	bad := func(path, format string, args ...any) {
		problems = append(problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	name := strings.TrimSpace(r.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		bad("name", "Give the rule a name of 1 to 200 characters.")
	}
	c := &compiler{}
	root := c.group(&r.When, "when", false)
	problems = append(problems, c.problems...)
	effects := 0
	for _, e := range []bool{r.Score != nil, r.Label != nil, r.Grade != nil} {
		if e {
			effects++
		}
	}
	switch r.Kind {
	case KindScore:
		if r.Score == nil {
			bad("score", "Say which score the rule changes and by how many points.")
			break
		}
		s := r.Score
		if strings.TrimSpace(s.Score) == "" || utf8.RuneCountInString(s.Score) > 100 {
			bad("score.score", "Name the score (1 to 100 characters), e.g. Lead score.")
		}
		if s.Points == 0 || math.IsNaN(s.Points) || math.IsInf(s.Points, 0) || math.Abs(s.Points) > 1e6 {
			bad("score.points", "Enter the points to add (or subtract), not zero.")
		}
		if s.Per != PerLead && s.Per != PerEvent {
			bad("score.per", "Choose once per lead or for every matching event.")
		}
		if s.Cap < 0 || (s.Cap > 0 && s.Per != PerEvent) {
			bad("score.cap", "A cap is a positive total, and only for rules that count every event.")
		}
		if s.ExpireDays < 0 || s.ExpireDays > maxDays {
			bad("score.expire_days", "Points can expire after 1 to %d days, or never (0).", maxDays)
		}
		if s.HalfLifeDays < 0 || s.HalfLifeDays > maxDays || math.IsNaN(s.HalfLifeDays) {
			bad("score.half_life_days", "A half-life is 1 to %d days, or none (0).", maxDays)
		}
	case KindLabel:
		if r.Label == nil {
			bad("label", "Name the label.")
			break
		}
		if n := strings.TrimSpace(r.Label.Name); n == "" || utf8.RuneCountInString(n) > 60 {
			bad("label.name", "Name the label (1 to 60 characters).")
		}
		if !hexColor.MatchString(r.Label.Color) {
			bad("label.color", "Pick a colour like #4f46e5.")
		}
		if utf8.RuneCountInString(r.Label.Emoji) > 4 {
			bad("label.emoji", "Use a single emoji.")
		}
		switch r.Label.On {
		case "", OnLead:
		case OnAccount:
			if usesAny(&r.When, func(f Field) bool { return !strings.HasPrefix(f.Name, "account.") }) {
				bad("when", "An account label looks at account fields and account scores only.")
			}
		default:
			bad("label.on", "A label goes on a lead or on an account.")
		}
	case KindGrade:
		if r.Grade == nil || r.Grade.Points == 0 || math.IsNaN(r.Grade.Points) || math.Abs(r.Grade.Points) > 1000 {
			bad("grade.points", "Enter the fit points to add (or subtract), not zero.")
		}
		if usesEvents(&r.When) {
			bad("when", "A fit grade rule looks at the profile and account only, not at events.")
		}
	default:
		bad("kind", "Choose what the rule does: score, label or grade.")
	}
	// Account scores are rolled up from lead scores: a score or grade depending on them would
	// depend on itself, so only labels may use them.
	if r.Kind != KindLabel && usesAny(&r.When, func(f Field) bool { return f.Name == "account.score" }) {
		bad("when", "Account scores can be used in label rules only (they are made from lead scores).")
	}
	if effects > 1 {
		bad("kind", "A rule does one thing: a score, a label or a grade.")
	}
	if len(problems) > 0 {
		return nil, &ValidationError{problems}
	}
	return &Compiled{root: root}, nil
}

func usesEvents(g *Group) bool {
	return usesAny(g, func(f Field) bool { return f.EventLevel || f.Type == Count })
}

// usesAny reports whether a condition anywhere in g tests a field that satisfies test.
func usesAny(g *Group, test func(Field) bool) bool {
	for _, n := range g.Rules {
		switch {
		case n.Group != nil && usesAny(n.Group, test):
			return true
		case n.Condition != nil:
			if f, ok := FieldByName(n.Condition.Field); ok && test(f) {
				return true
			}
			if n.Condition.Where != nil && usesAny(n.Condition.Where, test) {
				return true
			}
		}
	}
	return false
}

// ParseDocument reads an import file and checks every rule, naming problems by rule.
func ParseDocument(b []byte) (Document, error) {
	var d Document
	// Groups decode recursively: bound the nesting before anything parses it.
	if err := jsonsafe.Validate(b, jsonsafe.MaxDepth); err != nil {
		return d, &ValidationError{[]Problem{{Path: "", Message: "This is not a Peregrine rules file: " + err.Error() +
			" (conditions can nest about 30 groups deep)"}}}
	}
	if at := controlText(b); at != "" {
		return d, &ValidationError{[]Problem{{Path: "", Message: "Text in these rules holds an invisible control character " +
			"(such as a NUL byte, written \\u0000) near " + at + ". Remove it and try again."}}}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return d, &ValidationError{[]Problem{{Path: "", Message: "This is not a Peregrine rules file: " + err.Error()}}}
	}
	if d.Format != DocumentFormat {
		return d, &ValidationError{[]Problem{{Path: "format", Message: fmt.Sprintf("Unknown format %d; this Peregrine reads format %d.", d.Format, DocumentFormat)}}}
	}
	var problems []Problem
	for i, r := range d.Rules {
		if _, err := r.Check(); err != nil {
			for _, p := range err.(*ValidationError).Problems {
				problems = append(problems, Problem{Path: join(fmt.Sprintf("rules[%d]", i), p.Path), Message: p.Message})
			}
		}
	}
	if len(problems) > 0 {
		return d, &ValidationError{problems}
	}
	return d, nil
}

// controlText finds a control character written as an escape in a JSON string (\n, \u0000…;
// raw ones are not valid JSON), and returns the text just before it, or "". Rule names,
// labels and values are single-line text; PostgreSQL cannot store NUL at all.
func controlText(b []byte) string {
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if strings.IndexByte("bfnrt", b[i+1]) >= 0 {
			return fmt.Sprintf("%q", string(b[max(0, i-30):i]))
		}
		if b[i+1] == 'u' && i+6 <= len(b) {
			if r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32); err == nil && unicode.IsControl(rune(r)) {
				return fmt.Sprintf("%q", string(b[max(0, i-30):i]))
			}
		}
		i++ // skip the escaped character: in \\u0000 the backslash is text, not an escape
	}
	return ""
}
