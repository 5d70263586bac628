package crmsync_test

import (
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/store"
)

// BenchmarkPush pushes 10,000 scored leads to the fake Salesforce (first push: lookups and
// creates), then measures the delay from a score change to its Salesforce write under a
// steady 100 changes per second for 20 seconds. It prints API calls, wall time and delays.
func BenchmarkPush(b *testing.B) {
	e := newEnv(b)
	const n = 10_000
	e.exec(`INSERT INTO leads (workspace_id, email, first_name, company, main_score, labels)
		SELECT $1, 'person' || g || '@co' || (g % 700) || '.example', 'First' || g, 'Company ' || (g % 700), g % 100,
			CASE WHEN g % 3 = 0 THEN ARRAY['Engaged'] ELSE '{}'::text[] END
		FROM generate_series(1, $2) g`, e.ws, n)
	e.exec(`INSERT INTO lead_scores (workspace_id, score_id, lead_id, value)
		SELECT l.workspace_id, s.id, l.id, l.main_score FROM leads l JOIN score_names s ON s.workspace_id = l.workspace_id WHERE l.workspace_id = $1`, e.ws)
	var ids []int64
	rows, _ := e.db.Query(`SELECT id FROM leads WHERE workspace_id = $1`, e.ws)
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	b.ResetTimer()
	if _, err := e.st.EnqueueAllForSalesforce(e.ctx, e.ws, false); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	e.pushAll()
	wall := time.Since(start)
	calls := e.count(`SELECT sum(api_calls) FROM salesforce_sync_runs WHERE workspace_id = $1`, e.ws)
	created := e.count(`SELECT sum(created) FROM salesforce_sync_runs WHERE workspace_id = $1`, e.ws)
	fmt.Printf("first push of %d leads: %d created, %d API calls (%.1f per 1,000), %s\n", n, created, calls, float64(calls)/n*1000, wall.Round(time.Millisecond))
	b.ReportMetric(float64(calls), "api-calls")

	// Steady state: 100 score changes per second while the pusher runs as the worker does
	// (it looks for work every second when idle).
	var mu sync.Mutex
	changed := map[int64]time.Time{}
	var delays []time.Duration
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			before, err := e.lastRunID()
			if err != nil {
				b.Error(err)
				return
			}
			k, err := e.runner.Once(e.ctx, e.pushes)
			if err != nil {
				b.Error(err)
				return
			}
			if k == 0 {
				time.Sleep(time.Second)
				continue
			}
			now := time.Now()
			recs, _ := e.st.SyncRunRecordsAfter(e.ctx, e.ws, before)
			mu.Lock()
			for _, id := range recs {
				if t, ok := changed[id]; ok {
					delays = append(delays, now.Sub(t))
					delete(changed, id)
				}
			}
			mu.Unlock()
		}
	}()
	rng := rand.New(rand.NewSource(1))
	tick := time.NewTicker(10 * time.Millisecond)
	steady := time.Now()
	for i := 0; i < 2000; i++ {
		<-tick.C
		id := ids[rng.Intn(len(ids))]
		mu.Lock()
		if _, waiting := changed[id]; !waiting {
			changed[id] = time.Now()
		}
		mu.Unlock()
		e.exec(`UPDATE lead_scores SET value = value + 1 WHERE workspace_id = $1 AND lead_id = $2`, e.ws, id)
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.EnqueueSalesforce(e.ctx, e.ws, []int64{id}) }); err != nil {
			b.Fatal(err)
		}
	}
	tick.Stop()
	// Let the last changes through.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		mu.Lock()
		left := len(changed)
		mu.Unlock()
		if left == 0 {
			break
		}
	}
	close(stop)
	<-done
	elapsed := time.Since(steady)
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	if len(delays) == 0 {
		b.Fatal("no change reached Salesforce")
	}
	p := func(q float64) time.Duration { return delays[min(len(delays)-1, int(q*float64(len(delays))))] }
	steadyCalls := e.count(`SELECT sum(api_calls) FROM salesforce_sync_runs WHERE workspace_id = $1`, e.ws) - calls
	fmt.Printf("steady 100 changes/s for 20 s: %d changes pushed, delay p50 %s, p95 %s, max %s; %d API calls in %s\n",
		len(delays), p(0.5).Round(time.Millisecond), p(0.95).Round(time.Millisecond), delays[len(delays)-1].Round(time.Millisecond),
		steadyCalls, elapsed.Round(time.Second))
	b.ReportMetric(p(0.95).Seconds(), "p95-delay-s")
}

func (e *env) lastRunID() (int64, error) {
	var id int64
	err := e.db.QueryRow(`SELECT COALESCE(max(id), 0) FROM salesforce_sync_runs WHERE workspace_id = $1`, e.ws).Scan(&id)
	return id, err
}
