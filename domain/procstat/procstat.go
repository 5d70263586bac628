// Package procstat reads how much CPU time processes have used, from /proc (Linux only), so
// that benchmarks report each side's cost per item — the Go process's and PostgreSQL's —
// rather than infer it from the wall clock on a shared machine.
package procstat

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// tick is USER_HZ, the unit of /proc/PID/stat's times: 100 per second on Linux.
const tick = 10 * time.Millisecond

// Times reads a process's parent, its own CPU time (user and system) and that of the
// children it has reaped. A process gone meanwhile reads as zero.
func Times(pid int) (parent int, own, reaped time.Duration, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, nil
	}
	// The command name, in parentheses, may hold spaces: the fields follow its last ")".
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	var values [17]int64
	for _, n := range []int{4, 14, 15, 16, 17} { // n counts stat's fields from 1; fields[0] is the 3rd
		if n-3 >= len(fields) {
			return 0, 0, 0, fmt.Errorf("procstat: /proc/%d/stat has %d fields", pid, len(fields)+2)
		}
		if values[n-1], err = strconv.ParseInt(fields[n-3], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
		}
	}
	return int(values[3]), time.Duration(values[13]+values[14]) * tick, time.Duration(values[15]+values[16]) * tick, nil
}

// Cluster is the CPU time the PostgreSQL cluster behind db has used, user and system: its
// postmaster's, that of its children alive now (backends, WAL writer, checkpointer…) and that
// of the children it has reaped. The cluster must run on this machine.
func Cluster(db *sql.DB) (time.Duration, error) {
	var backend int
	if err := db.QueryRow(`SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	postmaster, _, _, err := Times(backend)
	if err != nil {
		return 0, err
	}
	_, own, reaped, err := Times(postmaster)
	if err != nil {
		return 0, err
	}
	total := own + reaped
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		parent, cpu, _, err := Times(pid)
		if err != nil {
			return 0, err
		}
		if parent == postmaster {
			total += cpu
		}
	}
	return total, nil
}
