package pgtest

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ServerCPU is the CPU time the test cluster's processes have used, user and system: its
// postmaster's, that of its children alive now (backends, WAL writer, checkpointer…) and
// that of the children it has reaped. Benchmarks report it beside their own process's, so
// that each side's cost per item is measured rather than inferred from the wall clock.
// Linux only (it reads /proc).
func ServerCPU(tb testing.TB, db *sql.DB) time.Duration {
	tb.Helper()
	var backend int
	if err := db.QueryRow(`SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		tb.Fatal(err)
	}
	postmaster, _, _ := procTimes(tb, backend)
	_, own, reaped := procTimes(tb, postmaster)
	total := own + reaped
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if parent, cpu, _ := procTimes(tb, pid); parent == postmaster {
			total += cpu
		}
	}
	return total
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

// procTimes reads a process's parent, its own CPU time and that of its reaped children from
// /proc/PID/stat; a process gone meanwhile reads as zero.
func procTimes(tb testing.TB, pid int) (parent int, own, reaped time.Duration) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0
	}
	// The command name, in parentheses, may hold spaces: the fields follow its last ")".
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	field := func(n int) int64 { // n counts stat's fields from 1; fields[0] is the 3rd
		v, err := strconv.ParseInt(fields[n-3], 10, 64)
		if err != nil {
			tb.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		return v
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return int(field(4)), time.Duration(field(14)+field(15)) * tick, time.Duration(field(16)+field(17)) * tick
}
