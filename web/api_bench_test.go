package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// BenchmarkAPI measures the open API on this machine (make bench-api, fsync on): events
// acknowledged per second by POST /api/v1/events from 8 keep-alive clients sending 100-event
// batches for 20 s while workers process and score them; then GET /api/v1/leads on
// PEREGRINE_BENCH_LIST_LEADS leads (1,000,000) with a filter and a sort, p50/p95 of a first
// page (which fixes the list's order) and of a page read by cursor.
func BenchmarkAPI(b *testing.B) {
	const clients, batch = 8, 100
	duration := 20 * time.Second
	s := testServer{webtest.StartWith(b, webtest.Options{Env: map[string]string{"PEREGRINE_API_RATE": "100000"}, Workers: 2})}
	ctx := context.Background()
	ws, _, err := s.Store.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "acme", Name: "Acme"},
		model.User{Email: "ada@acme.example", Name: "Ada", PasswordHash: "x"}, scoring.NewWorkspaceSeed())
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := ingest.CreateAPIToken(ctx, s.Store, ws.ID, ingest.APITokenSpec{Label: "bench", Scopes: model.Scopes})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	call := func(method, path string, body []byte) (int, []byte) {
		req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, raw
	}
	var seq, acked atomic.Int64
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				events := make([]map[string]any, batch)
				for i := range events {
					n := seq.Add(1)
					events[i] = map[string]any{"id": "b" + strconv.FormatInt(n, 10), "type": "track", "name": "Pricing viewed",
						"email": fmt.Sprintf("p%d@co%d.example", n%20000, n%2000), "properties": map[string]any{"plan": "pro"}}
				}
				body, _ := json.Marshal(map[string]any{"events": events})
				if status, raw := call(http.MethodPost, "/api/v1/events", body); status != http.StatusAccepted {
					b.Errorf("events: %d %s", status, raw)
					return
				}
				acked.Add(batch)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	fmt.Printf("POST /api/v1/events: %d events acknowledged in %s: %.0f events/s (%d clients, %d-event batches)\n",
		acked.Load(), took.Round(time.Millisecond), float64(acked.Load())/took.Seconds(), clients, batch)

	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PEREGRINE_BENCH_LIST_LEADS")); err == nil && v > 0 {
		n = v
	}
	for _, q := range []string{
		`INSERT INTO accounts (workspace_id, domain, name) SELECT $1, 'big' || g || '.example', 'Company ' || g FROM generate_series(1, 10000) g`,
		fmt.Sprintf(`INSERT INTO leads (workspace_id, email, first_name, company, account_id, main_score, grade, temperature, heat, last_activity_at)
			SELECT $1, 'lead' || g || '@big' || (1 + g %% 10000) || '.example', 'First' || g, 'Company ' || (1 + g %% 10000),
				(SELECT min(id) FROM accounts WHERE workspace_id = $1 AND domain LIKE 'big%%') + g %% 10000,
				round((100 * power(random(), 3))::numeric, 2), (ARRAY['A','B','C','D','E','F'])[1 + g %% 6],
				(ARRAY['hot','warm','neutral','cold'])[1 + g %% 4], 300 + 60 * random(), now() - ((g %% 120) || ' days')::interval
			FROM generate_series(1, %d) g`, n),
	} {
		if _, err := s.DB.Exec(q, ws.ID); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.DB.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	measure := func(path func(i int) string) (float64, float64) {
		var times []float64
		for i := 0; i < 41; i++ {
			t0 := time.Now()
			status, raw := call(http.MethodGet, path(i), nil)
			if status != http.StatusOK {
				b.Fatalf("%s: %d %s", path(i), status, raw)
			}
			if i > 0 { // the first warms the caches
				times = append(times, float64(time.Since(t0).Microseconds())/1000)
			}
		}
		slices.Sort(times)
		return times[len(times)/2], times[len(times)*95/100]
	}
	p50, p95 := measure(func(int) string { return "/api/v1/leads?grade=A&grade=B&temp=hot&sort=score&limit=50" })
	fmt.Printf("GET /api/v1/leads (%d leads, grade A/B, hot, by score), first page: p50 %.1f ms  p95 %.1f ms\n", n, p50, p95)
	status, raw := call(http.MethodGet, "/api/v1/leads?grade=A&grade=B&temp=hot&sort=score&limit=50", nil)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &page) != nil || page.NextCursor == "" {
		b.Fatalf("no cursor: %s", raw)
	}
	p50, p95 = measure(func(int) string {
		return "/api/v1/leads?grade=A&grade=B&temp=hot&sort=score&limit=50&cursor=" + page.NextCursor
	})
	fmt.Printf("GET /api/v1/leads, a page by cursor: p50 %.1f ms  p95 %.1f ms\n", p50, p95)
}
