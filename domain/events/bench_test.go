package events

import (
	"bytes"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
)

func BenchmarkDecodeMixedBatch(b *testing.B) {
	body := currentstest.Read("mixed-batch.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		evs, _, err := DecodeBatch(body)
		if err != nil || len(evs) != 100 {
			b.Fatal(err)
		}
	}
}

func BenchmarkActivities(b *testing.B) {
	body := currentstest.Read("mixed-batch.json")
	evs, _, _ := DecodeBatch(bytes.Clone(body))
	_ = evs
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, e := range evs {
			full, _ := DecodeEvent(e.Raw)
			full.ToActivity()
		}
	}
}
