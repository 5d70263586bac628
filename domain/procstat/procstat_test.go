package procstat

import (
	"os"
	"testing"
	"time"
)

// TestTimesReadsThisProcess: the parent and the CPU time read for this process are its own,
// and the time grows with work done.
func TestTimesReadsThisProcess(t *testing.T) {
	parent, before, _, err := Times(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if parent != os.Getppid() {
		t.Fatalf("parent %d, want %d", parent, os.Getppid())
	}
	// Work until the clock (10 ms ticks) shows it; a process that never sees it fails.
	after, x := before, 0
	for start := time.Now(); after <= before; {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("CPU time still %v after 10 s of work (%d rounds)", after, x)
		}
		for i := 0; i < 1_000_000; i++ {
			x += i % 7
		}
		if _, after, _, err = Times(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if _, own, _, err := Times(1 << 30); err != nil || own != 0 {
		t.Fatalf("a process that does not exist: %v, %v", own, err)
	}
}
