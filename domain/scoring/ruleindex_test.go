package scoring

import (
	"math/rand"
	"testing"
)

// TestRuleIndexFindsEveryRule: every id put in the index is found at its position, and ids
// not put in are not, for sets of every size and for ids dense, sparse and huge.
func TestRuleIndexFindsEveryRule(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 500; trial++ {
		n := rng.Intn(200)
		in := map[int64]int{}
		var ids []int64
		for len(ids) < n {
			var id int64
			switch trial % 3 {
			case 0:
				id = 1 + rng.Int63n(int64(2*n+1)) // dense
			case 1:
				id = 1 + rng.Int63n(1<<40) // sparse
			default:
				id = 1 + int64(rng.Intn(n+1))<<32 // equal low bits
			}
			if _, ok := in[id]; !ok {
				in[id] = len(ids)
				ids = append(ids, id)
			}
		}
		x := newRuleIndex(ids)
		for id, want := range in {
			if got, ok := x.find(id); !ok || got != want {
				t.Fatalf("trial %d: find(%d) = %d, %v; want %d", trial, id, got, ok, want)
			}
		}
		for k := 0; k < 100; k++ {
			id := rng.Int63n(1 << 41)
			if _, ok := in[id]; ok {
				continue
			}
			if p, ok := x.find(id); ok {
				t.Fatalf("trial %d: find(%d) found %d, an id never put in", trial, id, p)
			}
		}
	}
}
