package scoring

import "math/bits"

// ruleIndex finds a score rule's position in its rule set by id: an open-addressing table,
// a few times faster than a map for the few dozen ids of a rule set, and looked up for every
// contribution of every lead scored (ordering, decay, score ids).
type ruleIndex struct {
	ids   []int64 // 0: empty (rule ids are positive)
	pos   []int32
	shift uint
}

func newRuleIndex(ids []int64) ruleIndex {
	size := 8
	for size < 2*len(ids) {
		size *= 2
	}
	x := ruleIndex{ids: make([]int64, size), pos: make([]int32, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for p, id := range ids {
		i := x.slot(id)
		for x.ids[i] != 0 && x.ids[i] != id {
			i = (i + 1) & (size - 1)
		}
		x.ids[i], x.pos[i] = id, int32(p)
	}
	return x
}

// slot is where the search for id starts (Fibonacci hashing).
func (x *ruleIndex) slot(id int64) int { return int((uint64(id) * 0x9E3779B97F4A7C15) >> x.shift) }

// find returns the position of the rule id, or false.
func (x *ruleIndex) find(id int64) (int, bool) {
	if id == 0 || len(x.ids) == 0 {
		return 0, false
	}
	for i := x.slot(id); ; i = (i + 1) & (len(x.ids) - 1) {
		switch x.ids[i] {
		case id:
			return int(x.pos[i]), true
		case 0:
			return 0, false
		}
	}
}
