package store

import (
	"database/sql/driver"
	"time"
)

// Array parameters with NULLs, and the ledger's COPY arrays, written as PostgreSQL array
// literals without reflection: pq.Array wraps such slices in a GenericArray, which reflects on
// every element — a tenth of a scoring pass's Go time went to it for the ledger's arrays.

// nullTimes is a timestamptz[] parameter whose nil elements are NULL. An RFC 3339 time holds
// nothing an array literal must quote.
type nullTimes []*time.Time

// Value renders the array literal.
func (a nullTimes) Value() (driver.Value, error) {
	return arrayLiteral(len(a), 28, func(b []byte, i int) ([]byte, bool) {
		if a[i] == nil {
			return b, false
		}
		return a[i].UTC().AppendFormat(b, time.RFC3339Nano), true
	}), nil
}

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
