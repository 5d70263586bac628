package store

import (
	"database/sql/driver"
	"math"
	"strconv"
	"time"
)

// Array parameters with NULLs, and the ledger's COPY arrays, written as PostgreSQL array
// literals without reflection: pq.Array wraps such slices in a GenericArray, which reflects on
// every element — it once took a tenth of a scoring pass's Go time.

// nullTimes is a timestamptz[] parameter whose nil elements are NULL.
type nullTimes []*time.Time

// Value renders the array literal.
func (a nullTimes) Value() (driver.Value, error) {
	return arrayLiteral(len(a), 28, func(b []byte, i int) ([]byte, bool) {
		if a[i] == nil {
			return b, false
		}
		return appendTime(b, *a[i]), true
	}), nil
}

// appendTime appends t as an array element: RFC 3339 holds nothing a literal must quote.
func appendTime(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, time.RFC3339Nano) }

// appendMicros appends t as microseconds since 1970, rounded as PostgreSQL rounds a time's
// text to its microseconds.
func appendMicros(b []byte, t time.Time) []byte {
	return strconv.AppendInt(b, t.Round(time.Microsecond).UnixMicro(), 10)
}

// appendNullInt appends *v as an array element, or reports NULL for nil.
func appendNullInt(b []byte, v *int64) ([]byte, bool) {
	if v == nil {
		return b, false
	}
	return strconv.AppendInt(b, *v, 10), true
}

// appendQuoted appends s as a quoted array element: backslashes and double quotes escaped,
// so that braces, commas, spaces, the empty string and the word NULL stay text.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// intElems renders integer elements.
func intElems(v func(i int) int64) func(b []byte, i int) ([]byte, bool) {
	return func(b []byte, i int) ([]byte, bool) { return strconv.AppendInt(b, v(i), 10), true }
}

// floatElems renders float8 elements, each exactly (the shortest form that reads back the
// same number).
func floatElems(v func(i int) float64) func(b []byte, i int) ([]byte, bool) {
	return func(b []byte, i int) ([]byte, bool) { return appendFloat(b, v(i)), true }
}

// appendFloat writes v so that PostgreSQL reads back the same float8; whole numbers (most
// points) skip the search for the shortest decimal form.
func appendFloat(b []byte, v float64) []byte {
	if whole := v == math.Trunc(v) && math.Abs(v) < 1<<53; whole && (v != 0 || !math.Signbit(v)) { // -0 keeps its sign
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// arrayLiteral renders n elements of about width bytes; elem appends element i and reports
// whether it has a value (else what it appended is dropped for NULL).
func arrayLiteral(n, width int, elem func(b []byte, i int) ([]byte, bool)) string {
	return string(appendArrayLiteral(make([]byte, 0, 2+n*(width+1)), n, elem))
}

// appendArrayLiteral appends the literal of n elements to b (see arrayLiteral).
func appendArrayLiteral(b []byte, n int, elem func(b []byte, i int) ([]byte, bool)) []byte {
	b = append(b, '{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		mark := len(b)
		var ok bool
		if b, ok = elem(b, i); !ok {
			b = append(b[:mark], "NULL"...)
		}
	}
	return append(b, '}')
}

// literals renders several array literals into one buffer, reused from row to row, and
// hands them out as parts of one string: a ledger row's fifteen arrays each took an
// allocation and a copy of their own (BenchmarkLedgerWrite, Go CPU a pass of eight lines:
// 27-30 µs before, 23 µs after; of eight lines of ten activities: 80-83 µs, 63-71 µs).
type literals struct {
	b    []byte
	ends []int
}

// add renders the next literal (see arrayLiteral).
func (l *literals) add(n int, elem func(b []byte, i int) ([]byte, bool)) {
	l.b = appendArrayLiteral(l.b, n, elem)
	l.ends = append(l.ends, len(l.b))
}

// done returns the literals in the order they were added and empties l for the next row.
func (l *literals) done() []string {
	all, out := string(l.b), make([]string, len(l.ends))
	start := 0
	for i, end := range l.ends {
		out[i], start = all[start:end], end
	}
	l.b, l.ends = l.b[:0], l.ends[:0]
	return out
}
