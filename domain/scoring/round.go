package scoring

import (
	"math"
	"sort"
)

// WholePoints rounds a total and its parts to whole points so that the parts add up to the
// total a person reads: the total is rounded, each part is rounded down, and the points left
// go to the parts with the largest remainders. A frozen lead with 0.7 points from one rule
// reads 1, and so does that rule — never 1 next to a lone +0.7 (or +0).
func WholePoints(total float64, parts []float64) (int, []int) {
	whole := int(math.Round(total))
	out := make([]int, len(parts))
	sum := 0
	for i, p := range parts {
		out[i] = int(math.Floor(p))
		sum += out[i]
	}
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	remainder := func(i int) float64 { return parts[i] - math.Floor(parts[i]) }
	sort.SliceStable(order, func(a, b int) bool { return remainder(order[a]) > remainder(order[b]) })
	left := whole - sum
	for k := 0; left > 0 && len(order) > 0; k++ {
		out[order[k%len(order)]]++
		left--
	}
	// The parts were measured at another moment than the total (decay in between): the
	// biggest part absorbs what is still owed or over.
	if left < 0 && len(out) > 0 {
		big := 0
		for i := range out {
			if math.Abs(parts[i]) > math.Abs(parts[big]) {
				big = i
			}
		}
		out[big] += left
	}
	return whole, out
}
