package scoring

import "testing"

func TestWholePoints(t *testing.T) {
	cases := []struct {
		total float64
		parts []float64
		want  []int
		whole int
	}{
		{0.7, []float64{0.7}, []int{1}, 1},
		{157.53, []float64{100.4, 30.6, 26.53}, []int{100, 31, 27}, 158},
		{10, []float64{3.3, 3.3, 3.4}, []int{3, 3, 4}, 10},
		{4.5, []float64{5.5, -1}, []int{6, -1}, 5},
		{3, []float64{1.2, 1.2, 0.6}, []int{1, 1, 1}, 3},
		{3, []float64{}, []int{}, 3},
		{1, []float64{2.4}, []int{1}, 1}, // parts measured later than the total
	}
	for _, c := range cases {
		whole, got := WholePoints(c.total, c.parts)
		sum := 0
		for _, p := range got {
			sum += p
		}
		if whole != c.whole || (len(got) > 0 && sum != whole) {
			t.Errorf("WholePoints(%v, %v) = %d, %v: parts add to %d", c.total, c.parts, whole, got, sum)
		}
		for i := range c.want {
			if got[i] != c.want[i] {
				t.Errorf("WholePoints(%v, %v) = %v, want %v", c.total, c.parts, got, c.want)
				break
			}
		}
	}
}
