package store

import (
	"math"
	"strconv"
	"testing"
)

// TestAppendFloatReadsBackTheSameFloat: whole numbers take the integer form, the rest the
// shortest decimal one, and each parses back to the very same float8.
func TestAppendFloatReadsBackTheSameFloat(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 3, -7, 1.0 / 3, -0.30000000000000004, 1e-7, 1 << 53, -(1 << 53), 1<<53 + 2, 1e300, -1e300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.5} {
		s := string(appendFloat(nil, v))
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(back) != math.Float64bits(v) {
			t.Errorf("%v written as %q reads back as %v (%v)", v, s, back, err)
		}
	}
	if s := string(appendFloat(nil, -42)); s != "-42" {
		t.Errorf("-42 written as %q", s)
	}
}
