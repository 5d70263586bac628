// Package jsonsafe makes JSON from outside safe to handle before anything parses it
// recursively or stores it: it checks syntax without recursion (whatever the nesting, no stack
// grows), bounds nesting depth, and cleans strings so PostgreSQL can store them (no NUL, no
// lone UTF-16 surrogates, valid UTF-8). It is pure: no I/O.
package jsonsafe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting Peregrine accepts in any JSON document it is given: far
// beyond any real event, rule or API answer, far below what a recursive parser (Go's or
// PostgreSQL's jsonb) can take.
const MaxDepth = 64

// ErrTooDeep means a document nests objects and arrays deeper than allowed.
var ErrTooDeep = fmt.Errorf("JSON is nested deeper than %d levels", MaxDepth)

// SyntaxError is invalid JSON at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// Validate checks that doc is one valid JSON value nested at most maxDepth levels (0: any
// depth). It never recurses: a body of ten million brackets costs one pass and a bit per level.
func Validate(doc []byte, maxDepth int) error {
	_, err := scan(doc, maxDepth)
	return err
}

// Depth checks doc like Validate(doc, 0) and returns its deepest nesting (a scalar is 0).
func Depth(doc []byte) (int, error) { return scan(doc, 0) }

// Unmarshal decodes data into v after checking it is valid and nested at most MaxDepth
// levels, with every string made storable (see Clean): for answers of other services, whose
// values end up in the database.
func Unmarshal(data []byte, v any) error {
	if err := Validate(data, MaxDepth); err != nil {
		return err
	}
	return json.Unmarshal(Clean(data), v)
}

// bitStack remembers, per open level, whether it is an object (1) or an array (0).
type bitStack struct {
	words []uint64
	n     int
}

func (s *bitStack) push(object bool) {
	if s.n/64 == len(s.words) {
		s.words = append(s.words, 0)
	}
	if object {
		s.words[s.n/64] |= 1 << (s.n % 64)
	} else {
		s.words[s.n/64] &^= 1 << (s.n % 64)
	}
	s.n++
}

func (s *bitStack) top() bool { return s.words[(s.n-1)/64]&(1<<((s.n-1)%64)) != 0 }

type state int

const (
	wantValue      state = iota // a value must come
	wantValueOrEnd              // just after '[': a value or ']'
	wantKey                     // after ',' in an object
	wantKeyOrEnd                // just after '{': a key or '}'
	afterValue                  // a value ended: ',' or the closing bracket, or the end
)

// scan is a small state machine over the bytes; containers live on a bit stack.
func scan(b []byte, maxDepth int) (int, error) {
	var st bitStack
	deepest, i, s := 0, 0, wantValue
	fail := func(msg string) (int, error) { return 0, &SyntaxError{Offset: i, Msg: msg} }
	for {
		i = skipSpace(b, i)
		if s == afterValue && st.n == 0 {
			if i != len(b) {
				return fail("unexpected data after the value")
			}
			return deepest, nil
		}
		if i >= len(b) {
			return fail("unexpected end")
		}
		c := b[i]
		switch s {
		case wantKey, wantKeyOrEnd:
			if c == '}' && s == wantKeyOrEnd {
				st.n--
				i++
				s = afterValue
				continue
			}
			if c != '"' {
				return fail("expected a key")
			}
			end, err := skipString(b, i)
			if err != nil {
				return fail(err.Error())
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return fail("expected ':'")
			}
			i++
			s = wantValue
		case afterValue:
			object := st.top()
			switch {
			case c == ',':
				i++
				s = wantValue
				if object {
					s = wantKey
				}
			case (c == '}' && object) || (c == ']' && !object):
				st.n--
				i++
			default:
				return fail("expected ',' or a closing bracket")
			}
		default: // wantValue, wantValueOrEnd
			if c == ']' && s == wantValueOrEnd {
				st.n--
				i++
				s = afterValue
				continue
			}
			switch c {
			case '{', '[':
				if maxDepth > 0 && st.n >= maxDepth {
					return 0, ErrTooDeep
				}
				st.push(c == '{')
				deepest = max(deepest, st.n)
				i++
				s = wantValueOrEnd
				if c == '{' {
					s = wantKeyOrEnd
				}
				continue
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return fail(err.Error())
				}
				i = end
			default:
				end, ok := skipScalar(b, i)
				if !ok {
					return fail("expected a value")
				}
				i = end
			}
			s = afterValue
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the offset after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	i++
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return 0, errors.New("unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return 0, errors.New(`bad \u escape`)
				}
				i += 6
			default:
				return 0, errors.New("bad escape")
			}
		case c < 0x20:
			return 0, errors.New("control character in a string")
		default:
			i++
		}
	}
	return 0, errors.New("unterminated string")
}

func isHex4(h []byte) bool {
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// skipScalar accepts true, false, null or a number at b[i].
func skipScalar(b []byte, i int) (int, bool) {
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(b[i:], []byte(lit)) {
			return i + len(lit), true
		}
	}
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return start, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return start, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return start, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

const replacement = `\ufffd`

// MaxNumberText bounds number literals kept as numbers: PostgreSQL's jsonb stores numbers as
// numeric, which overflows on exponents in the hundred thousands; a longer literal or an
// exponent beyond ±MaxNumberText becomes a string holding its text (nothing is lost).
const MaxNumberText = 1000

// Clean returns a valid JSON document with every string made storable — \u0000 escapes and
// lone surrogate escapes become \ufffd, invalid UTF-8 bytes become U+FFFD — and every number
// PostgreSQL could not store turned into a string of its text. doc must be valid JSON
// (Validate first). When nothing needs changing it returns doc itself, without copying.
func Clean(doc []byte) []byte {
	if !needsCleaning(doc) {
		return doc
	}
	out := make([]byte, 0, len(doc)+16)
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case c == '"':
			i = cleanString(doc, i, &out)
		case c == '-' || (c >= '0' && c <= '9'):
			end, _ := skipScalar(doc, i)
			if hugeNumber(doc[i:end]) {
				out = append(out, '"')
				out = append(out, doc[i:end]...)
				out = append(out, '"')
			} else {
				out = append(out, doc[i:end]...)
			}
			i = end
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

// cleanString copies the string starting at doc[i] (a quote) to out, cleaned, and returns
// the offset after it.
func cleanString(doc []byte, i int, out *[]byte) int {
	*out = append(*out, '"')
	i++
	for i < len(doc) {
		c := doc[i]
		switch {
		case c == '"':
			*out = append(*out, c)
			return i + 1
		case c == '\\' && i+1 < len(doc) && doc[i+1] == 'u' && i+6 <= len(doc):
			i = cleanEscape(doc, i, out)
		case c == '\\' && i+1 < len(doc):
			*out = append(*out, c, doc[i+1])
			i += 2
		case c < utf8.RuneSelf:
			*out = append(*out, c)
			i++
		default:
			r, size := utf8.DecodeRune(doc[i:])
			if r == utf8.RuneError && size == 1 {
				*out = append(*out, "\uFFFD"...)
			} else {
				*out = append(*out, doc[i:i+size]...)
			}
			i += size
		}
	}
	return i
}

// cleanEscape copies the \u escape at doc[i], replacing NUL and lone surrogates.
func cleanEscape(doc []byte, i int, out *[]byte) int {
	r := hexValue(doc[i+2 : i+6])
	switch {
	case r == 0:
		*out = append(*out, replacement...)
	case r >= 0xD800 && r <= 0xDBFF: // a high surrogate must be followed by a low one
		if i+12 <= len(doc) && doc[i+6] == '\\' && doc[i+7] == 'u' {
			if lo := hexValue(doc[i+8 : i+12]); lo >= 0xDC00 && lo <= 0xDFFF {
				*out = append(*out, doc[i:i+12]...)
				return i + 12
			}
		}
		*out = append(*out, replacement...)
	case r >= 0xDC00 && r <= 0xDFFF: // a low surrogate alone
		*out = append(*out, replacement...)
	default:
		*out = append(*out, doc[i:i+6]...)
	}
	return i + 6
}

// hugeNumber tells a number literal PostgreSQL's numeric could not hold.
func hugeNumber(lit []byte) bool {
	if len(lit) > MaxNumberText {
		return true
	}
	e := bytes.IndexAny(lit, "eE")
	if e < 0 {
		return false
	}
	exp := strings.TrimLeft(string(lit[e+1:]), "+-0")
	return len(exp) > 4 || (len(exp) == 4 && exp > "1000")
}

// needsCleaning is the fast path: valid UTF-8, no \u escape of NUL or a surrogate, and no
// number literal that is huge (only literals with an exponent or of great length can be).
func needsCleaning(doc []byte) bool {
	if !utf8.Valid(doc) {
		return true
	}
	for i := 0; ; {
		j := bytes.IndexByte(doc[i:], '\\')
		if j < 0 {
			break
		}
		i += j
		if i+1 >= len(doc) {
			break
		}
		if doc[i+1] == 'u' && i+6 <= len(doc) {
			if r := hexValue(doc[i+2 : i+6]); r == 0 || r >= 0xD800 && r <= 0xDFFF {
				return true
			}
			i += 6
			continue
		}
		i += 2
	}
	return (len(doc) > MaxNumberText || maybeExponent(doc)) && hasHugeNumber(doc)
}

// maybeExponent tells whether a digit is followed by e or E anywhere (inside strings too: the
// walk that follows decides).
func maybeExponent(doc []byte) bool {
	for i := 0; ; {
		j := bytes.IndexAny(doc[i:], "eE")
		if j < 0 {
			return false
		}
		i += j
		if i > 0 && (doc[i-1] >= '0' && doc[i-1] <= '9' || doc[i-1] == '.') {
			return true
		}
		i++
	}
}

// endOfValidString returns the offset after the string starting at doc[i] in a document
// known to be valid: the next quote not escaped by an odd run of backslashes.
func endOfValidString(doc []byte, i int) int {
	for j := i + 1; ; {
		k := bytes.IndexByte(doc[j:], '"')
		if k < 0 {
			return len(doc)
		}
		j += k
		slashes := 0
		for b := j - 1; b > i && doc[b] == '\\'; b-- {
			slashes++
		}
		if slashes%2 == 0 {
			return j + 1
		}
		j++
	}
}

// hasHugeNumber walks the document's values outside strings for a huge number literal.
func hasHugeNumber(doc []byte) bool {
	for i := 0; i < len(doc); {
		switch c := doc[i]; {
		case c == '"':
			i = endOfValidString(doc, i)
		case c == '-' || (c >= '0' && c <= '9'):
			end, _ := skipScalar(doc, i)
			if end <= i {
				return false
			}
			if hugeNumber(doc[i:end]) {
				return true
			}
			i = end
		default:
			i++
		}
	}
	return false
}

func hexValue(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return -1
		}
	}
	return r
}

// String makes a decoded string storable: NUL becomes U+FFFD and invalid UTF-8 is replaced.
func String(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
