package config

import (
	"runtime/debug"
	"testing"
)

// TestTuneRuntime: a server's collector runs at GCPercent under MemoryLimit, unless GOGC or
// GOMEMLIMIT is set, whose values Go's runtime has applied already and which must stay.
func TestTuneRuntime(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })

	debug.SetMemoryLimit(1 << 40)
	TuneRuntime(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != GCPercent {
		t.Errorf("GOGC %d, want %d", got, GCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != MemoryLimit {
		t.Errorf("memory limit %d, want %d", got, MemoryLimit)
	}

	debug.SetGCPercent(50)
	debug.SetMemoryLimit(1 << 40)
	TuneRuntime(func(k string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "1TiB"}[k] })
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC %d after the environment set 50", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("memory limit %d after the environment set 1TiB", got)
	}
}
