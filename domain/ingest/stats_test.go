package ingest

import (
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// TestReceivingNow: events received in the last second make the process "receiving" (its
// workers then leave requests a core); other counters do not, and a second later it is not.
func TestReceivingNow(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	s := NewStats(nil, nil)
	s.Now = func() time.Time { return now }
	if s.ReceivingNow() {
		t.Fatal("receiving before any event")
	}
	s.Add(1, model.MetricProcessed, "", 100)
	if s.ReceivingNow() {
		t.Fatal("processing counted as receiving")
	}
	s.Add(1, model.MetricReceived, "web", 3)
	now = now.Add(900 * time.Millisecond)
	if !s.ReceivingNow() {
		t.Fatal("not receiving 0.9 s after events arrived")
	}
	now = now.Add(200 * time.Millisecond)
	if s.ReceivingNow() {
		t.Fatal("still receiving 1.1 s after the last events")
	}
}
