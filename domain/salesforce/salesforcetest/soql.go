package salesforcetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// predicate tests one record.
type predicate func(*Record) bool

// whereError is a refused WHERE clause: Salesforce's error code and message.
type whereError struct{ code, message, field string }

// whereParser reads the WHERE clauses Peregrine sends — conditions joined by AND and OR with
// parentheses; a condition is field IN ('a', …), or field = != < <= > >= a string, number,
// datetime, true, false or null — into a predicate over records.
type whereParser struct {
	s      *Server
	object string
	tokens []string
	pos    int
	err    *whereError
}

func (s *Server) parseWhere(object, clause string) (predicate, *whereError) {
	p := &whereParser{s: s, object: object, tokens: soqlTokens(clause)}
	pred := p.or()
	if p.err == nil && p.pos < len(p.tokens) {
		p.fail(p.tokens[p.pos])
	}
	return pred, p.err
}

// soqlTokens splits a clause into words, quoted strings and the punctuation SOQL uses.
func soqlTokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case unicode.IsSpace(rune(c)):
			i++
		case c == '\'':
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, s[i:min(j+1, len(s))])
			i = j + 1
		case strings.ContainsRune("(),", rune(c)):
			out = append(out, string(c))
			i++
		case strings.ContainsRune("=!<>", rune(c)):
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("(),=!<>'", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

func (p *whereParser) peek() string {
	if p.pos < len(p.tokens) {
		return p.tokens[p.pos]
	}
	return ""
}

func (p *whereParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *whereParser) fail(token string) predicate {
	if p.err == nil {
		if token == "" {
			token = "<EOF>"
		}
		p.err = &whereError{code: "MALFORMED_QUERY", message: "unexpected token: " + token}
	}
	return func(*Record) bool { return false }
}

func (p *whereParser) or() predicate {
	parts := []predicate{p.and()}
	for strings.EqualFold(p.peek(), "OR") {
		p.next()
		parts = append(parts, p.and())
	}
	return func(r *Record) bool { return slices.ContainsFunc(parts, func(f predicate) bool { return f(r) }) }
}

func (p *whereParser) and() predicate {
	parts := []predicate{p.factor()}
	for strings.EqualFold(p.peek(), "AND") {
		p.next()
		parts = append(parts, p.factor())
	}
	return func(r *Record) bool {
		for _, f := range parts {
			if !f(r) {
				return false
			}
		}
		return true
	}
}

func (p *whereParser) factor() predicate {
	if p.peek() == "(" {
		p.next()
		inner := p.or()
		if p.next() != ")" {
			return p.fail(p.tokens[min(p.pos-1, len(p.tokens)-1)])
		}
		return inner
	}
	return p.condition()
}

func (p *whereParser) condition() predicate {
	field := p.next()
	if field == "" || !isWord(field) {
		return p.fail(field)
	}
	if !p.s.visible(p.object, field) {
		p.err = &whereError{code: "INVALID_FIELD", field: field}
		return nil
	}
	op := p.next()
	if strings.EqualFold(op, "IN") {
		return p.in(field)
	}
	if !slices.Contains([]string{"=", "!=", "<", "<=", ">", ">="}, op) {
		return p.fail(op)
	}
	literal := p.next()
	want, ok := p.value(field, literal)
	if !ok {
		return func(*Record) bool { return false }
	}
	return func(r *Record) bool {
		c, comparable := compareValues(p.s.fieldValue(p.object, r, field), want)
		switch op {
		case "=":
			return comparable && c == 0
		case "!=":
			return !comparable || c != 0
		case "<":
			return comparable && c < 0
		case "<=":
			return comparable && c <= 0
		case ">":
			return comparable && c > 0
		}
		return comparable && c >= 0
	}
}

func (p *whereParser) in(field string) predicate {
	if p.next() != "(" {
		return p.fail(p.tokens[p.pos-1])
	}
	var values []any
	for {
		v, ok := p.value(field, p.next())
		if !ok {
			return func(*Record) bool { return false }
		}
		values = append(values, v)
		if sep := p.next(); sep == ")" {
			break
		} else if sep != "," {
			return p.fail(sep)
		}
	}
	return func(r *Record) bool {
		have := p.s.fieldValue(p.object, r, field)
		return slices.ContainsFunc(values, func(v any) bool { c, ok := compareValues(have, v); return ok && c == 0 })
	}
}

// value reads a literal for field: a quoted string, true/false, null, a datetime for date
// fields, or a number.
func (p *whereParser) value(field, literal string) (any, bool) {
	switch {
	case strings.HasPrefix(literal, "'") && len(literal) >= 2 && strings.HasSuffix(literal, "'"):
		return strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(literal[1 : len(literal)-1]), true
	case strings.EqualFold(literal, "true") || strings.EqualFold(literal, "false"):
		return strings.EqualFold(literal, "true"), true
	case strings.EqualFold(literal, "null"):
		return nil, true
	case isDateField(field):
		t, err := time.Parse("2006-01-02T15:04:05.000Z", literal)
		if err != nil {
			p.err = &whereError{code: "MALFORMED_QUERY", message: "line 1: value of filter criterion for field '" + field + "' must be of type dateTime"}
			return nil, false
		}
		return t, true
	}
	n, err := strconv.ParseFloat(literal, 64)
	if err != nil {
		p.fail(literal)
		return nil, false
	}
	return n, true
}

func isWord(s string) bool {
	return s != "" && !strings.ContainsAny(s, "'(),=!<>")
}

func isDateField(field string) bool {
	return strings.EqualFold(field, "SystemModstamp") || strings.EqualFold(field, "LastModifiedDate") || strings.EqualFold(field, "CreatedDate")
}

// fieldValue is a record's value of field as a query sees it.
func (s *Server) fieldValue(object string, r *Record, field string) any {
	switch {
	case strings.EqualFold(field, "Id"):
		return r.ID
	case isDateField(field):
		return r.Modified
	}
	return r.Fields[canonical(s, object, field)]
}

// compareValues orders two values of one field; text compares ignoring case, as SOQL's
// text comparisons do (ids compare exactly).
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if len(x) == 18 && len(y) == 18 && x[:3] == y[:3] { // record ids
			return strings.Compare(x, y), ok
		}
		return strings.Compare(strings.ToLower(x), strings.ToLower(y)), ok
	case float64:
		y, ok := b.(float64)
		return cmpOrdered(x, y), ok
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		if x == y {
			return 0, true
		}
		return 1, true
	case time.Time:
		y, ok := b.(time.Time)
		return x.Compare(y), ok
	case nil:
		return 0, b == nil
	}
	return 0, false
}

func cmpOrdered(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// visible reports whether the integration user may read field (Owner.* follows OwnerId).
func (s *Server) visible(object, field string) bool {
	if rel, _, ok := strings.Cut(field, "."); ok && strings.EqualFold(rel, "Owner") {
		spec, ok := s.spec(object, "OwnerId")
		return ok && !spec.Hidden
	}
	spec, ok := s.spec(object, field)
	return ok && !spec.Hidden
}

// orderRecords sorts by the ORDER BY fields (ascending), then by id.
func (s *Server) orderRecords(object string, recs []*Record, orderBy string) error {
	var fields []string
	for _, f := range strings.Split(orderBy, ",") {
		if f = strings.TrimSpace(f); f != "" {
			if !s.visible(object, f) {
				return fmt.Errorf("%s", f)
			}
			fields = append(fields, f)
		}
	}
	slices.SortStableFunc(recs, func(a, b *Record) int {
		for _, f := range fields {
			if c, ok := compareValues(s.fieldValue(object, a, f), s.fieldValue(object, b, f)); ok && c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	})
	return nil
}
