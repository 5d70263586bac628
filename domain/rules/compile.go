package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits keep one rule from costing too much to store or evaluate.
const (
	maxValueLength = 1000
	maxListItems   = 1000
	maxDays        = 36500
	maxNodes       = 2000
)

// Problem is one thing wrong with a rule, at a path like rules[0].rules[1].value.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ValidationError lists every problem of a rule.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Path + ": " + p.Message
	}
	return "invalid rule: " + strings.Join(parts, "; ")
}

// Compiled is a validated rule condition, ready to evaluate many times.
type Compiled struct {
	root *cgroup
}

type cgroup struct {
	and, not bool
	nodes    []evaluator
}

type evaluator interface {
	eval(s *Subject) bool
}

type ccond struct {
	field    Field
	op       Operator
	key      string // property, attribute or score name
	text     string // lower-cased string operand
	list     []string
	num, hi  float64
	days     int
	date     time.Time
	re       *regexp.Regexp
	window   int
	where    *cgroup
	eventLvl bool
	textOf   func(s *Subject) string // the field's reader when it is plain text (textFields)
}

type compiler struct {
	problems []Problem
	nodes    int
}

func (c *compiler) bad(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Compile validates a group and prepares it for evaluation; every problem is reported.
func Compile(g *Group) (*Compiled, error) {
	if g == nil {
		return nil, &ValidationError{[]Problem{{Path: "", Message: "The rule has no conditions."}}}
	}
	c := &compiler{}
	root := c.group(g, "", false)
	if len(c.problems) > 0 {
		return nil, &ValidationError{c.problems}
	}
	return &Compiled{root: root}, nil
}

// CompileJSON parses and compiles in one step.
func CompileJSON(b []byte) (*Compiled, error) {
	g, err := Parse(b)
	if err != nil {
		return nil, &ValidationError{[]Problem{{Path: "", Message: err.Error()}}}
	}
	return Compile(g)
}

func join(path, next string) string {
	if path == "" {
		return next
	}
	return path + "." + next
}

func (c *compiler) group(g *Group, path string, eventOnly bool) *cgroup {
	out := &cgroup{not: g.Not}
	switch g.Combinator {
	case "and", "":
		out.and = true
	case "or":
	default:
		c.bad(join(path, "combinator"), "Choose AND or OR.")
	}
	if len(g.Rules) == 0 {
		c.bad(join(path, "rules"), "Add at least one condition to this group.")
	}
	for i, n := range g.Rules {
		c.nodes++
		if c.nodes > maxNodes {
			c.bad(path, "A rule can have at most %d conditions and groups.", maxNodes)
			return out
		}
		p := join(path, fmt.Sprintf("rules[%d]", i))
		switch {
		case n.Group != nil:
			out.nodes = append(out.nodes, c.group(n.Group, p, eventOnly))
		case n.Condition != nil:
			if cc := c.condition(n.Condition, p, eventOnly); cc != nil {
				out.nodes = append(out.nodes, cc)
			}
		default:
			c.bad(p, "Empty entry: add a condition or a group.")
		}
	}
	return out
}

func (c *compiler) condition(cd *Condition, path string, eventOnly bool) *ccond {
	f, ok := FieldByName(cd.Field)
	if !ok {
		c.bad(join(path, "field"), "Choose a field (%q is not one Peregrine knows).", cd.Field)
		return nil
	}
	if eventOnly && !f.EventLevel {
		c.bad(join(path, "field"), "Inside an event count, conditions can only be about the event (name, type, source, time, properties).")
		return nil
	}
	cc := &ccond{field: f, eventLvl: f.EventLevel, key: f.Property}
	if f.Property == "" {
		cc.textOf = textFields[f.Name]
	}
	switch f.Needs {
	case "property":
		cc.key = strings.TrimSpace(cd.Property)
	case "attribute":
		cc.key = strings.TrimSpace(cd.Attribute)
	case "score":
		cc.key = strings.TrimSpace(cd.Score)
	}
	if f.Needs != "" && (cc.key == "" || len(cc.key) > 200) {
		c.bad(join(path, f.Needs), "Name the %s to compare.", f.Needs)
	}
	if f.Type == Count {
		return c.count(cd, cc, path)
	}
	op, ok := operatorsByName[cd.Operator]
	if !ok || !fits(f, op) {
		c.bad(join(path, "operator"), "Choose an operator that fits %s.", strings.ToLower(f.Label))
		return nil
	}
	cc.op = op
	c.value(cd.Value, cc, join(path, "value"))
	return cc
}

func fits(f Field, op Operator) bool {
	return f.Type == Dynamic || op.On == f.Type
}

func (c *compiler) count(cd *Condition, cc *ccond, path string) *ccond {
	if !countOperators[cd.Operator] {
		c.bad(join(path, "operator"), "Compare the number of events with ≥, ≤ or =.")
	}
	cc.op = operatorsByName[cd.Operator]
	n, ok := number(cd.Value)
	if !ok || n < 0 || n != math.Trunc(n) || n > 1e9 {
		c.bad(join(path, "value"), "Enter a whole number of events, 0 or more.")
	}
	cc.num = n
	if cd.WindowDays < 1 || cd.WindowDays > maxDays {
		c.bad(join(path, "window_days"), "Count events within the last 1 to %d days.", maxDays)
	}
	cc.window = cd.WindowDays
	if cd.Where != nil {
		cc.where = c.group(cd.Where, join(path, "where"), true)
	}
	return cc
}

func (c *compiler) value(v any, cc *ccond, path string) {
	switch cc.op.Arity {
	case 0:
		return
	case -1:
		items, ok := stringList(v)
		if !ok || len(items) == 0 {
			c.bad(path, "Enter one or more values.")
			return
		}
		if len(items) > maxListItems {
			c.bad(path, "Use at most %d values.", maxListItems)
			return
		}
		for _, it := range items {
			cc.list = append(cc.list, strings.ToLower(it))
		}
		return
	case 2:
		pair, ok := v.([]any)
		if !ok || len(pair) != 2 {
			c.bad(path, "Enter a lowest and a highest number.")
			return
		}
		lo, ok1 := number(pair[0])
		hi, ok2 := number(pair[1])
		if !ok1 || !ok2 || lo > hi {
			c.bad(path, "Enter two numbers, the lowest first.")
			return
		}
		cc.num, cc.hi = lo, hi
		return
	}
	switch cc.op.On {
	case String:
		s, ok := text(v)
		switch {
		case !ok || (s == "" && cc.op.Name != "equals" && cc.op.Name != "not_equals"):
			c.bad(path, "Enter a value.")
		case utf8.RuneCountInString(s) > maxValueLength:
			c.bad(path, "Keep the value to %d characters.", maxValueLength)
		case cc.op.Name == "matches":
			re, err := regexp.Compile(s)
			if err != nil {
				c.bad(path, "%s", RegexpProblem(s, err))
				return
			}
			cc.re = re
		default:
			cc.text = strings.ToLower(s)
		}
	case Number:
		n, ok := number(v)
		if !ok {
			c.bad(path, "Enter a number.")
		}
		cc.num = n
	case Date:
		if cc.op.Name == "before" || cc.op.Name == "after" {
			t, ok := date(v)
			if !ok {
				c.bad(path, "Enter a date like 2026-03-31.")
			}
			cc.date = t
			return
		}
		n, ok := number(v)
		if !ok || n < 1 || n > maxDays || n != math.Trunc(n) {
			c.bad(path, "Enter a whole number of days from 1 to %d.", maxDays)
		}
		cc.days = int(n)
	}
}

// text reads a string operand; numbers and booleans are accepted as their text.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// stringList reads a list operand: a JSON array, or one string with comma-separated values.
func stringList(v any) ([]string, bool) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			s, ok := text(it)
			if !ok {
				return nil, false
			}
			if s != "" {
				out = append(out, s)
			}
		}
		return out, true
	case string:
		var out []string
		for _, part := range strings.Split(x, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
		return out, true
	}
	return nil, false
}

// number reads a numeric operand or value: numbers, and strings that hold one.
func number(v any) (float64, bool) {
	var f float64
	var err error
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		f, err = x.Float64()
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
	default:
		return 0, false
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// date reads a date operand or value: RFC 3339, YYYY-MM-DD, or epoch seconds.
func date(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), true
	case string:
		s := strings.TrimSpace(x)
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), true
			}
		}
		if n, ok := number(s); ok {
			return time.Unix(int64(n), 0).UTC(), true
		}
	default:
		if n, ok := number(v); ok {
			return time.Unix(int64(n), 0).UTC(), true
		}
	}
	return time.Time{}, false
}

// Windows lists the time spans the rule's truth depends on: the N of "within the last N days",
// "more than N days ago" and event counts. A rule's result can only change with time when an
// event crosses one of them, which tells scoring when to look at a lead again.
func (c *Compiled) Windows() []time.Duration {
	var out []time.Duration
	var walk func(g *cgroup)
	walk = func(g *cgroup) {
		for _, n := range g.nodes {
			switch x := n.(type) {
			case *cgroup:
				walk(x)
			case *ccond:
				if x.window > 0 {
					out = append(out, time.Duration(x.window)*24*time.Hour)
				}
				if x.days > 0 {
					out = append(out, time.Duration(x.days)*24*time.Hour)
				}
				if x.where != nil {
					walk(x.where)
				}
			}
		}
	}
	walk(c.root)
	return out
}

// RegexpProblem says in words what is wrong with a pattern, and where: "error parsing regexp:
// missing closing ]" means little to a marketer.
func RegexpProblem(pattern string, err error) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return "This is not a valid pattern."
	}
	what := map[syntax.ErrorCode]string{
		syntax.ErrMissingBracket:        "a [ has no closing ]",
		syntax.ErrMissingParen:          "a ( has no closing )",
		syntax.ErrUnexpectedParen:       "a ) has no opening (",
		syntax.ErrMissingRepeatArgument: "*, + or ? follows nothing it could repeat",
		syntax.ErrInvalidRepeatOp:       "*, + or ? follows another one",
		syntax.ErrInvalidRepeatSize:     "a {n,m} repeat is out of range",
		syntax.ErrInvalidEscape:         "a \\ escape is not one patterns know (write \\\\ for a backslash)",
		syntax.ErrTrailingBackslash:     "it ends with a lone \\",
		syntax.ErrInvalidCharRange:      "a range such as z-a runs backwards",
		syntax.ErrInvalidCharClass:      "a [:class:] is not one patterns know",
		syntax.ErrInvalidPerlOp:         "a (? group is not one patterns know",
		syntax.ErrInvalidNamedCapture:   "a named group (?P<name>…) is malformed",
	}[se.Code]
	if what == "" {
		what = string(se.Code)
	}
	where := ""
	if i := strings.Index(pattern, se.Expr); se.Expr != "" && i >= 0 {
		where = fmt.Sprintf(" at character %d (“%s”)", utf8.RuneCountInString(pattern[:i])+1, se.Expr)
	}
	return fmt.Sprintf("This pattern cannot be used: %s%s. Escape a character meant literally with a backslash, e.g. \\[.", what, where)
}
