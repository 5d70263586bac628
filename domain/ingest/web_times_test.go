package ingest

import (
	"testing"
	"time"
)

// TestLateOwnerFollowsTheBrowsersIdentifications checks whose a late hit is: the person
// identified last before it was sent, the first person for a hit sent before any
// identification, and nobody's in particular (the current person's) for a hit sent after
// the latest identification or without a browser clock.
func TestLateOwnerFollowsTheBrowsersIdentifications(t *testing.T) {
	t0 := time.Now().Add(-time.Hour) // before now: a link made without a clock is made now
	b := browserTimes{}
	b.add(7, 100, t0)
	b.add(7, 300, t0.Add(30*time.Second))
	b.add(7, 200, t0.Add(20*time.Second)) // a late identification lands between the two
	for _, c := range []struct {
		at   time.Time
		want int64
		ok   bool
	}{
		{t0.Add(-time.Minute), 100, true},     // before any: the first person's
		{t0, 100, true},                       // at an identification: that person's
		{t0.Add(19 * time.Second), 100, true}, // just before the next
		{t0.Add(20 * time.Second), 200, true}, // the late identification's own span
		{t0.Add(29 * time.Second), 200, true}, //
		{t0.Add(30 * time.Second), 0, false},  // from the latest on: the current person's
		{t0.Add(time.Hour), 0, false},         //
		{time.Time{}, 0, false},               // no browser clock (Segment, the API)
	} {
		if got, ok := b.lateOwner(7, c.at); got != c.want || ok != c.ok {
			t.Errorf("a hit sent at %v: %d, %v; want %d, %v", c.at, got, ok, c.want, c.ok)
		}
	}
	if _, ok := b.lateOwner(8, t0); ok {
		t.Error("a browser with no identification has a late owner")
	}
	// A latest identification in the server's time (the CLI, or made before identification
	// times were kept) places nothing: the browser's clock may run behind the server's.
	b.add(7, 400, time.Time{})
	if lead, ok := b.lateOwner(7, t0.Add(25*time.Second)); ok {
		t.Errorf("a hit placed on lead %d against an identification without the browser's clock", lead)
	}
}
