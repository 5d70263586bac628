package store

import (
	"database/sql/driver"
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

// arrayLiteral renders n elements of about width bytes; elem appends element i and reports
// whether it has a value (else what it appended is dropped for NULL).
func arrayLiteral(n, width int, elem func(b []byte, i int) ([]byte, bool)) string {
	b := make([]byte, 0, 2+n*(width+1))
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
	return string(append(b, '}'))
}
