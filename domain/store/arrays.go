package store

import (
	"database/sql"
	"database/sql/driver"
	"strconv"
	"time"
)

// Array parameters with NULLs, written as PostgreSQL array literals without reflection:
// pq.Array wraps such slices in a GenericArray, which reflects on every element — a tenth of
// a scoring pass's Go time went to it for the ledger's arrays.

// nullInt64s is a bigint[] parameter whose invalid elements are NULL.
type nullInt64s []sql.NullInt64

// Value renders the array literal.
func (a nullInt64s) Value() (driver.Value, error) {
	b := make([]byte, 0, 2+len(a)*8)
	b = append(b, '{')
	for i, v := range a {
		if i > 0 {
			b = append(b, ',')
		}
		if v.Valid {
			b = strconv.AppendInt(b, v.Int64, 10)
		} else {
			b = append(b, "NULL"...)
		}
	}
	return string(append(b, '}')), nil
}

// nullTimes is a timestamptz[] parameter whose nil elements are NULL. An RFC 3339 time holds
// nothing an array literal must quote.
type nullTimes []*time.Time

// Value renders the array literal.
func (a nullTimes) Value() (driver.Value, error) {
	b := make([]byte, 0, 2+len(a)*28)
	b = append(b, '{')
	for i, t := range a {
		if i > 0 {
			b = append(b, ',')
		}
		if t != nil {
			b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		} else {
			b = append(b, "NULL"...)
		}
	}
	return string(append(b, '}')), nil
}
