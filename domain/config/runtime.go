package config

import "runtime/debug"

// How a server process tunes Go's collector (cmd/peregrine serve). The scoring benchmarks
// run with the same settings, so that they measure what a server does.
const (
	// MemoryLimit is the server's soft memory limit: the collector works harder near it,
	// which keeps a busy server small.
	MemoryLimit = 120 << 20
	// GCPercent lets the heap grow to three times what is live before a collection instead
	// of two (Go's default, 100). Scoring allocates a lot of short-lived memory over a small
	// live heap: at 100 the collector took a fifth of the Go CPU of scoring a new activity
	// (231-239 µs a lead) and 200 took it to 177-182 µs; MemoryLimit still caps the heap.
	GCPercent = 200
)

// TuneRuntime applies MemoryLimit and GCPercent, each unless the environment sets its
// variable (GOMEMLIMIT, GOGC), which Go's runtime then applies itself.
func TuneRuntime(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
