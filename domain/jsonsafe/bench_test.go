package jsonsafe

import (
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
)

func BenchmarkValidateMixed(b *testing.B) {
	doc := currentstest.Read("mixed-batch.json")
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		Depth(doc)
	}
}

func BenchmarkCleanMixed(b *testing.B) {
	doc := currentstest.Read("mixed-batch.json")
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		Clean(doc)
	}
}
