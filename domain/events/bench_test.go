package events

import (
	"bytes"
	"os"
	"testing"
)

func BenchmarkDecodeMixedBatch(b *testing.B) {
	body, err := os.ReadFile(fixtures + "/mixed-batch.json")
	if err != nil {
		b.Fatal(err)
	}
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
	body, _ := os.ReadFile(fixtures + "/mixed-batch.json")
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
