package pgtest

import (
	"database/sql"
	"syscall"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/procstat"
)

// ServerCPU is the CPU time the test cluster's processes have used, user and system: its
// postmaster's, that of its children alive now (backends, WAL writer, checkpointer…) and
// that of the children it has reaped. Benchmarks report it beside their own process's, so
// that each side's cost per item is measured rather than inferred from the wall clock.
// Linux only (it reads /proc).
func ServerCPU(tb testing.TB, db *sql.DB) time.Duration {
	tb.Helper()
	cpu, err := procstat.Cluster(db)
	if err != nil {
		tb.Fatal(err)
	}
	return cpu
}

// ProcessCPU is the CPU time this process has used, user and system: a benchmark's own side
// beside ServerCPU.
func ProcessCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
