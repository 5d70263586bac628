// Command peregrine-bench measures ingest on this machine (make bench): it starts Peregrine on
// a fresh embedded PostgreSQL with fsync on, creates a workspace and a Currents token, posts
// 100-event batches from 8 clients, and prints acknowledged and processed rates, latency
// percentiles, the rate of a raw COPY of the same rows measured in the same run, and the
// server's memory.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/cmd/internal/loadgen"
	"github.com/peregrine-scoring/peregrine/domain/pgembed"
	"github.com/peregrine-scoring/peregrine/domain/procstat"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

func main() {
	bin := flag.String("bin", "bin/peregrine", "peregrine binary")
	duration := flag.Duration("duration", 30*time.Second, "full-speed run length")
	paced := flag.Duration("paced", 20*time.Second, "5,000 events/s run length")
	workers := flag.Int("workers", 2, "processing goroutines of the server (PEREGRINE_WORKERS)")
	shared := flag.Duration("two-processes", 15*time.Second, "length of the run with a second server process on the same database (0: skip)")
	flag.Parse()
	if err := run(*bin, *duration, *paced, *workers, *shared); err != nil {
		fmt.Fprintln(os.Stderr, "peregrine-bench:", err)
		os.Exit(1)
	}
}

func run(bin string, duration, paced time.Duration, workers int, shared time.Duration) error {
	dir, err := os.MkdirTemp("", "peregrine-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	dataDir := filepath.Join(dir, "data")
	env := []string{"PEREGRINE_DATA_DIR=" + dataDir, "PEREGRINE_LOG_LEVEL=warn", "PEREGRINE_METRICS_TOKEN=" + metricsToken, "PEREGRINE_ADMIN_PASSWORD=benchmark-password", fmt.Sprintf("PEREGRINE_WORKERS=%d", workers)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "PEREGRINE_") {
			env = append(env, kv)
		}
	}
	cli := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		return strings.TrimSpace(string(out)), err
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	server := exec.Command(bin, "serve", "--addr", addr)
	server.Env = env
	if extra := os.Getenv("PEREGRINE_BENCH_SERVER_ENV"); extra != "" { // e.g. PEREGRINE_METRICS_ADDR=127.0.0.1:6061
		server.Env = append(slices.Clone(env), strings.Fields(extra)...)
	}
	var serverLog bytes.Buffer
	server.Stderr = &serverLog
	if path := os.Getenv("PEREGRINE_BENCH_SERVER_LOG"); path != "" { // e.g. with GODEBUG=gctrace=1
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		server.Stderr = io.MultiWriter(&serverLog, f)
	}
	if err := server.Start(); err != nil {
		return err
	}
	defer func() {
		server.Process.Signal(syscall.SIGTERM)
		server.Wait()
	}()
	base := "http://" + addr
	if err := waitReady(base); err != nil {
		return fmt.Errorf("%v\n%s", err, serverLog.String())
	}
	if _, err := cli("workspace", "create", "--name", "Bench", "--admin-email", "bench@bench.example.com"); err != nil {
		return err
	}
	token, err := cli("token", "create", "--workspace", "bench", "--kind", "currents", "--label", "bench")
	if err != nil {
		return err
	}
	cluster, err := pgembed.New(dataDir, true)
	if err != nil {
		return err
	}
	db, err := sql.Open("postgres", cluster.URL("peregrine"))
	if err != nil {
		return err
	}
	defer db.Close()
	count := func(q string) int64 {
		var n int64
		db.QueryRow(q).Scan(&n)
		return n
	}

	fmt.Printf("Peregrine ingest benchmark — %s, %d cores, PostgreSQL with fsync on (embedded), %s\n\n", runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	endpoint := base + "/api/braze/currents/events"

	// 1. Full speed: 8 clients, 100-event batches. Every run below continues its events'
	// timeline: each person's events arrive in time order, as Braze sends them.
	var seq atomic.Int64
	serverCPU, pgCPU, cpuErr := cpuOf(db, server.Process.Pid)
	start := time.Now()
	full := loadgen.Run(context.Background(), loadgen.Options{URL: endpoint, Token: token, Clients: 8, Duration: duration, Batch: 100, Seq: &seq})
	loadEnd := time.Now()
	doneAtLoadEnd := count(`SELECT count(*) FROM activities`)
	// Waiting asks whether a queue still holds a row, not how many: counting a queue of
	// 750,000 rows five times a second took a third of a core from the server measured.
	for count(`SELECT count(*) FROM (SELECT 1 FROM inbound_queue LIMIT 1) x`) > 0 && time.Since(loadEnd) < 5*time.Minute {
		time.Sleep(200 * time.Millisecond)
	}
	drained := time.Now()
	processed := count(`SELECT count(*) FROM activities`)
	stored := count(`SELECT count(*) FROM inbound_events`)
	for count(`SELECT count(*) FROM (SELECT 1 FROM scoring_queue LIMIT 1) x`) > 0 && time.Since(loadEnd) < 10*time.Minute {
		time.Sleep(200 * time.Millisecond)
	}
	scoredAt := time.Now()
	// CPU per activity is steadier than rates on a shared machine: it says which side costs
	// what, whatever else the machine did meanwhile.
	serverNow, pgNow, err := cpuOf(db, server.Process.Pid)
	serverCPU, pgCPU, cpuErr = serverNow-serverCPU, pgNow-pgCPU, errors.Join(cpuErr, err)
	lag := scoringLag(db)

	// 2. The ceiling: a raw COPY of the same rows, same table shape and indexes, 8 streams.
	copyRate, err := copyCeiling(db, 8, 10*time.Second)
	if err != nil {
		return err
	}

	// 3. Paced at 5,000 events/s, sampling how far behind scoring is. Its people are those of
	// the full-speed run: the more that run stored, the longer their histories, all within
	// the default rules' seven-day window, whose times every pass's state carries (Memory.Recent).
	history := float64(processed) / float64(max(1, count(`SELECT count(*) FROM leads`)))
	stopSampling := make(chan struct{})
	sampled := make(chan [2][]float64)
	go func() { sampled <- oldestUnscored(db, stopSampling) }()
	waited := make(chan string)
	go func() { waited <- store.SampleLockWaits(db, 100*time.Millisecond, stopSampling) }()
	pacedRep := loadgen.Run(context.Background(), loadgen.Options{URL: endpoint, Token: token, Clients: 8, Duration: paced, Batch: 100, Rate: 5000, Seq: &seq})
	close(stopSampling)
	ages := <-sampled
	waits := <-waited
	behind, unprocessed := ages[0], ages[1]

	rss, hwm := memory(server.Process.Pid)

	// 4. Eight clients at once, each with a batch of 32 MiB (the largest accepted): bodies wait
	// for memory rather than all being read at once. The peak is measured over this phase.
	big, err := bigBodies(endpoint, token, server.Process.Pid, 8, 32<<20, &seq)
	if err != nil {
		return err
	}
	ackRate := full.EventsPerSecond()
	fmt.Printf("Full speed (8 clients × 100-event batches, %s):\n  %s\n", duration, full)
	fmt.Printf("  events stored: %d (every acknowledged event: %v)\n", stored, stored >= full.Events)
	fmt.Printf("  processed into activities: %d during the load (%.0f/s), all %d by %s after start = %.0f events/s\n",
		doneAtLoadEnd, float64(doneAtLoadEnd)/loadEnd.Sub(start).Seconds(), processed, drained.Sub(start).Round(100*time.Millisecond),
		float64(processed)/drained.Sub(start).Seconds())
	fmt.Printf("  processing alone, after the load: %.0f events/s\n", float64(processed-doneAtLoadEnd)/drained.Sub(loadEnd).Seconds())
	fmt.Printf("  scored end to end: all %d activities by %s after start = %.0f/s, the last %s after the load ended\n",
		processed, scoredAt.Sub(start).Round(100*time.Millisecond), float64(processed)/scoredAt.Sub(start).Seconds(),
		scoredAt.Sub(loadEnd).Round(100*time.Millisecond))
	if cpuErr != nil {
		fmt.Printf("  CPU per activity: not measured (%v)\n", cpuErr)
	} else {
		fmt.Printf("  CPU from the first request until every activity was scored: server %.0f µs, PostgreSQL %.0f µs an activity\n",
			float64(serverCPU.Microseconds())/float64(max(1, processed)), float64(pgCPU.Microseconds())/float64(max(1, processed)))
	}
	fmt.Printf("  stored → first score line, over the activities that earned points (capped rules give later ones none): %s\n", lag)
	fmt.Printf("Raw COPY of the same rows (8 streams, same table and indexes): %.0f rows/s\n", copyRate)
	fmt.Printf("  acknowledged / COPY = %.0f%%\n", 100*ackRate/copyRate)
	fmt.Printf("Paced at 5,000 events/s (%s), its people holding %.0f activities each on average at its start:\n  %s\n", paced, history, pacedRep)
	lagP95, lagMax := percentile(behind, 0.95), percentile(behind, 1)
	fmt.Printf("  scoring behind (age of the oldest acknowledged event not scored yet, sampled each second): p50 %.1f s, p95 %.1f s, max %.1f s\n",
		percentile(behind, 0.5), lagP95, lagMax)
	fmt.Printf("  of which waiting to be processed (age of the oldest event not processed yet): p50 %.1f s, p95 %.1f s, max %.1f s\n",
		percentile(unprocessed, 0.5), percentile(unprocessed, 0.95), percentile(unprocessed, 1))
	fmt.Printf("  sessions waiting for another's lock (sampled every 100 ms): %s\n", waits)
	fmt.Printf("Server memory: RSS %d MB after the paced run, peak %d MB over the runs above\n", rss>>20, hwm>>20)
	fmt.Printf("8 clients at once with 32 MiB batches (%d events each): all acknowledged in %s, %d answers 503 (retried after 1 s), peak RSS %d MB\n",
		big.events, big.elapsed.Round(100*time.Millisecond), big.busy, big.peak>>20)
	problems := 0
	for _, line := range strings.Split(serverLog.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			if problems < 5 {
				fmt.Println("  server:", line)
			}
			problems++
		}
	}
	fmt.Printf("Server warnings and errors during the run: %d\n\n", problems)

	check := func(name string, ok bool, got string) {
		mark := "met"
		if !ok {
			mark = "MISSED"
		}
		fmt.Printf("  %-48s %-10s %s\n", name, got, mark)
	}
	fmt.Println("Targets:")
	check("≥ 20,000 events/s acknowledged", ackRate >= 20000, fmt.Sprintf("%.0f/s", ackRate))
	check("≥ 60% of the COPY rate", ackRate >= 0.6*copyRate, fmt.Sprintf("%.0f%%", 100*ackRate/copyRate))
	check("≥ 5,000 events/s processed", float64(processed)/drained.Sub(start).Seconds() >= 5000, fmt.Sprintf("%.0f/s", float64(processed)/drained.Sub(start).Seconds()))
	check("≥ 5,000 events/s scored end to end", float64(processed)/scoredAt.Sub(start).Seconds() >= 5000, fmt.Sprintf("%.0f/s", float64(processed)/scoredAt.Sub(start).Seconds()))
	check("p99 acknowledgement ≤ 100 ms at 5,000 events/s", pacedRep.P99 <= 100*time.Millisecond, pacedRep.P99.Round(100*time.Microsecond).String())
	check("scoring lag p95 ≤ 5 s at 5,000 events/s", len(behind) > 0 && lagP95 <= 5, fmt.Sprintf("%.1f s", lagP95))
	check("server RSS ≤ 150 MB", hwm <= 150<<20, fmt.Sprintf("%d MB", hwm>>20))
	check("RSS ≤ 150 MB under 8 concurrent 32 MiB bodies", big.peak <= 150<<20, fmt.Sprintf("%d MB", big.peak>>20))
	if shared > 0 {
		// A workspace of its own, so the earlier runs' backlog (still being scored) is not
		// counted; the workers share their time between both workspaces.
		if _, err := cli("workspace", "create", "--name", "Bench two", "--admin-email", "bench2@bench.example.com"); err != nil {
			return err
		}
		token2, err := cli("token", "create", "--workspace", "bench-two", "--kind", "currents", "--label", "bench")
		if err != nil {
			return err
		}
		return twoProcesses(bin, env, base, token2, db, shared)
	}
	return nil
}

// metricsToken lets the benchmark read each server's /metrics.
const metricsToken = "benchmark-metrics-token-0123456789"

// twoProcesses starts a second server on the same database, posts to both, and shows that
// the work is shared: each process's workers did part of it, and every stored event became
// exactly one activity, scored once.
func twoProcesses(bin string, env []string, first, token string, db *sql.DB, d time.Duration) error {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	second := exec.Command(bin, "serve", "--addr", addr)
	second.Env = env
	var log bytes.Buffer
	second.Stderr = &log
	if err := second.Start(); err != nil {
		return err
	}
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	other := "http://" + addr
	if err := waitReady(other); err != nil {
		return fmt.Errorf("%v\n%s", err, log.String())
	}
	servers := []string{first, other}
	before := [2]map[string]float64{doneItems(first), doneItems(other)}
	var ws int64
	if err := db.QueryRow(`SELECT id FROM workspaces WHERE slug = 'bench-two'`).Scan(&ws); err != nil {
		return err
	}
	count := func(q string) int64 {
		var n int64
		db.QueryRow(q, ws).Scan(&n)
		return n
	}
	var wg sync.WaitGroup
	var seq atomic.Int64 // one timeline for both processes' clients
	reports := make([]loadgen.Report, 2)
	for i, base := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i] = loadgen.Run(context.Background(), loadgen.Options{URL: base + "/api/braze/currents/events", Token: token, Clients: 4, Duration: d, Batch: 100, Seq: &seq})
		}()
	}
	wg.Wait()
	end := time.Now()
	for (count(`SELECT count(*) FROM (SELECT 1 FROM inbound_queue WHERE workspace_id = $1 LIMIT 1) x`) > 0 ||
		count(`SELECT count(*) FROM (SELECT 1 FROM scoring_queue WHERE workspace_id = $1 LIMIT 1) x`) > 0) && time.Since(end) < 10*time.Minute {
		time.Sleep(200 * time.Millisecond)
	}
	stored, acts := count(`SELECT count(*) FROM inbound_events WHERE workspace_id = $1`), count(`SELECT count(*) FROM activities WHERE workspace_id = $1`)
	fmt.Printf("\nTwo server processes on one database (%s, 4 clients each):\n", d)
	for i, base := range servers {
		after := doneItems(base)
		fmt.Printf("  process %d: acknowledged %s\n    its workers processed %.0f events and scored %.0f activities (both workspaces)\n", i+1, reports[i],
			after["inbound"]-before[i]["inbound"], after["scoring"]-before[i]["scoring"])
	}
	fmt.Printf("  this workspace: events stored %d, activities made %d (each event exactly once: %v); processed and scored %s after the load\n",
		stored, acts, stored == acts, time.Since(end).Round(100*time.Millisecond))
	dupes := count(`SELECT count(*) FROM (SELECT lead_id, rule_id, a FROM score_ledger,
			unnest(COALESCE(activity_ids, ARRAY[activity_id]), COALESCE(deltas, ARRAY[delta])) AS u(a, d)
		WHERE workspace_id = $1 AND d > 0 AND a IS NOT NULL GROUP BY lead_id, rule_id, rule_version, a HAVING count(*) > 1) d`)
	fmt.Printf("  activities credited twice by the same rule version: %d\n", dupes)
	return nil
}

// doneItems reads a server's peregrine_queue_done_items_total per queue.
func doneItems(base string) map[string]float64 {
	out := map[string]float64{}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		var queue string
		var v float64
		if rest, ok := strings.CutPrefix(line, `peregrine_queue_done_items_total{queue="`); ok {
			queue, rest, _ = strings.Cut(rest, `"} `)
			fmt.Sscanf(rest, "%g", &v)
			out[queue] = v
		}
	}
	return out
}

// scoringLag is the time from an event's storing to its activity's first score line, over
// the activities that scored (p50, p95, max).
// oldestUnscored samples, once a second until stop, the age in seconds of the oldest
// acknowledged event not scored yet — waiting to be processed, or to be scored — so every event
// in flight is younger (0 when none waits); and, second, that of the oldest waiting to be
// processed, which tells which of the two steps holds the events back.
func oldestUnscored(db *sql.DB, stop <-chan struct{}) [2][]float64 {
	var ages [2][]float64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return ages
		case <-tick.C:
		}
		var age, unprocessed float64
		// The first row of each queue in key order (ids follow arrival): two index probes, since
		// this runs during the load it measures (joining whole queues took a tenth of a core).
		if err := db.QueryRow(`SELECT COALESCE(extract(epoch FROM now() - least(i.at, s.at)), 0), COALESCE(extract(epoch FROM now() - i.at), 0)
			FROM (SELECT (SELECT received_at FROM inbound_queue ORDER BY event_row_id LIMIT 1) AS at) i,
				(SELECT (SELECT e.received_at FROM (SELECT workspace_id, activity_id FROM scoring_queue ORDER BY workspace_id, activity_id LIMIT 1) q
					JOIN inbound_events e ON e.workspace_id = q.workspace_id AND e.id = q.activity_id) AS at) s`).Scan(&age, &unprocessed); err == nil {
			ages[0], ages[1] = append(ages[0], age), append(ages[1], unprocessed)
		}
	}
}

// percentile is the p-th value of the samples (nearest rank; 0 without any).
func percentile(samples []float64, p float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(samples))
	return sorted[max(0, min(len(sorted)-1, int(math.Ceil(p*float64(len(sorted))))-1))]
}

func scoringLag(db *sql.DB) string {
	var p50, p95, worst float64
	err := db.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.95) WITHIN GROUP (ORDER BY lag), max(lag)
		FROM (SELECT extract(epoch FROM min(l.created_at) - e.received_at) AS lag
			FROM score_ledger l CROSS JOIN LATERAL unnest(COALESCE(l.activity_ids, ARRAY[l.activity_id])) AS u(activity_id)
			JOIN inbound_events e ON e.workspace_id = l.workspace_id AND e.id = u.activity_id
			WHERE l.delta <> 0 GROUP BY e.workspace_id, e.id, e.received_at) x`).Scan(&p50, &p95, &worst)
	if err != nil {
		return "not measured: " + err.Error()
	}
	return fmt.Sprintf("p50 %.1f s, p95 %.1f s, max %.1f s", p50, p95, worst)
}

type bigReport struct {
	events, busy int
	elapsed      time.Duration
	peak         int64
}

// bigBodies posts one body of about size bytes from each of n clients at once, retrying 503
// answers after a second, and returns the server's peak memory over that time (its VmHWM,
// reset before).
func bigBodies(endpoint, token string, pid, n int, size int, seq *atomic.Int64) (bigReport, error) {
	perEvent := len(loadgen.Batch(300, 5000, new(atomic.Int64))) / 300 // a sample, for the size only
	events := (size - 1024) / perEvent * 95 / 100
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = loadgen.Batch(events, 5000, seq)
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return bigReport{}, fmt.Errorf("resetting the server's peak memory: %w", err)
	}
	rep := bigReport{events: events}
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for _, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				res.Body.Close()
				switch res.StatusCode {
				case http.StatusOK:
					return
				case http.StatusServiceUnavailable:
					mu.Lock()
					rep.busy++
					mu.Unlock()
					time.Sleep(time.Second)
				default:
					mu.Lock()
					firstErr = fmt.Errorf("a 32 MiB batch got %d", res.StatusCode)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	rep.elapsed = time.Since(start)
	_, rep.peak = memory(pid)
	return rep, firstErr
}

func waitReady(base string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server not ready")
}

// copyCeiling COPYs rows shaped like the benchmark's stored events into a copy of the
// inbound_events table, from several connections at once, and returns rows per second.
func copyCeiling(db *sql.DB, streams int, d time.Duration) (float64, error) {
	if _, err := db.Exec(`DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy (LIKE inbound_events INCLUDING ALL)`); err != nil {
		return 0, err
	}
	defer db.Exec(`DROP TABLE IF EXISTS bench_copy`)
	var seq atomic.Int64
	var rows atomic.Int64
	var firstErr error
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < streams; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := copyBatch(db, loadgen.Batch(100, 5000, &seq), &rows); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(rows.Load()) / time.Since(start).Seconds(), firstErr
}

func copyBatch(db *sql.DB, body []byte, rows *atomic.Int64) error {
	var batch struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	stmt, err := tx.Prepare(pq.CopyIn("bench_copy", "workspace_id", "source", "event_id", "event_type", "occurred_at", "payload", "state"))
	if err != nil {
		tx.Rollback()
		return err
	}
	for _, raw := range batch.Events {
		var head struct {
			ID   string `json:"id"`
			Type string `json:"event_type"`
			Time int64  `json:"time"`
		}
		json.Unmarshal(raw, &head)
		if _, err := stmt.Exec(1, "braze", head.ID, head.Type, time.Unix(head.Time, 0), string(raw), "pending"); err != nil {
			tx.Rollback()
			return err
		}
	}
	if _, err := stmt.Exec(); err != nil {
		tx.Rollback()
		return err
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		return err
	}
	rows.Add(int64(len(batch.Events)))
	return nil
}

// memory reads the server's resident set size and its peak from /proc.
func memory(pid int) (rss, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			rss = kb << 10
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			peak = kb << 10
		}
	}
	return rss, peak
}

// cpuOf is the CPU time the server process and the PostgreSQL cluster have used so far.
func cpuOf(db *sql.DB, server int) (time.Duration, time.Duration, error) {
	_, own, _, err := procstat.Times(server)
	if err != nil {
		return 0, 0, err
	}
	pg, err := procstat.Cluster(db)
	return own, pg, err
}
