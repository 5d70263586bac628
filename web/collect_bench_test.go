package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// BenchmarkCollect measures the website tracker's collect endpoint on this machine (make
// bench-tracker, fsync on): hits acknowledged per second from 64 keep-alive clients while the
// default rules score in the background, against a reference measured in the same run — the
// same clients against an endpoint that answers 204 at once (the HTTP ceiling of the machine);
// then the delay from a form submission (acknowledged) to the lead's first score line, for
// forms sent during the load and after it.
func BenchmarkCollect(b *testing.B) {
	const clients, visitors = 256, 20000
	duration := 15 * time.Second
	s := testServer{webtest.StartWith(b, webtest.Options{Env: map[string]string{"PEREGRINE_OPEN_SIGNUP": "true",
		"PEREGRINE_COLLECT_RATE": "1000000"}, Workers: 2})}
	ctx := context.Background()
	ws, _, err := s.Store.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "acme", Name: "Acme"},
		model.User{Email: "ada@acme.example", Name: "Ada", PasswordHash: "x"}, scoring.NewWorkspaceSeed())
	if err != nil {
		b.Fatal(err)
	}
	site, err := website.New(s.Store, s.Pipeline.Scoring).CreateSite(ctx, ws.ID, website.SiteInput{Name: "Acme", Origins: []string{"https://www.acme.example"}})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	pages := []string{"/", "/pricing", "/docs", "/docs/api", "/blog/scoring", "/features", "/customers", "/about", "/careers", "/contact"}
	post := func(url string, body []byte) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("Origin", "https://www.acme.example")
		req.Header.Set("User-Agent", chromeUA)
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	var seq atomic.Int64
	body := func(r *rand.Rand) []byte {
		v := fmt.Sprintf("visitor-%016d", r.IntN(visitors))
		return hitBody(site, v, fmt.Sprintf("ev-%020d", seq.Add(1)), "page", "https://www.acme.example"+pages[r.IntN(len(pages))], nil)
	}
	load := func(url string, d time.Duration) (int64, int64) {
		var ok, failed atomic.Int64
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(c), 7))
				for time.Now().Before(deadline) {
					if status, err := post(url, body(r)); err == nil && status == http.StatusNoContent {
						ok.Add(1)
					} else {
						failed.Add(1)
					}
				}
			}(c)
		}
		wg.Wait()
		return ok.Load(), failed.Load()
	}

	// Reference: the same clients against a bare 204.
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	refOK, _ := load(bare.URL, 5*time.Second)
	bare.Close()
	refRate := float64(refOK) / 5

	// Forms during the load: a new person every 100 ms views pricing and books a demo.
	type sent struct {
		email string
		acked time.Time
	}
	var forms []sent
	var formsMu sync.Mutex
	sendForm := func(i int, during string) {
		email := fmt.Sprintf("%s-%d@globex.example", during, i)
		v := fmt.Sprintf("former-%s-%08d", during, i)
		post(s.URL+"/t/collect", hitBody(site, v, fmt.Sprintf("fp-%s-%016d", during, i), "page", "https://www.acme.example/pricing", nil))
		status, err := post(s.URL+"/t/collect", hitBody(site, v, fmt.Sprintf("ff-%s-%016d", during, i), "form", "https://www.acme.example/contact", form(email, "demo-request", "Book a demo")))
		if err == nil && status == http.StatusNoContent {
			formsMu.Lock()
			forms = append(forms, sent{email, time.Now()})
			formsMu.Unlock()
		}
	}
	stop := make(chan struct{})
	var formsDone sync.WaitGroup
	formsDone.Add(1)
	go func() {
		defer formsDone.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				sendForm(i, "load")
			}
		}
	}()
	start := time.Now()
	okHits, failedHits := load(s.URL+"/t/collect", duration)
	elapsed := time.Since(start)
	close(stop)
	formsDone.Wait()
	during := len(forms)
	// Forms when the load is over (the backlog drains meanwhile).
	for i := 0; i < 50; i++ {
		sendForm(i, "quiet")
		time.Sleep(100 * time.Millisecond)
	}

	// Wait for every form's lead to have a score line, then read the delays.
	delays := map[string][]float64{}
	deadline := time.Now().Add(5 * time.Minute)
	for _, f := range forms {
		var first *time.Time
		for first == nil {
			s.DB.QueryRow(`SELECT min(sl.created_at) FROM score_ledger sl JOIN leads l ON l.workspace_id = sl.workspace_id AND l.id = sl.lead_id
				WHERE l.workspace_id = $1 AND l.email = $2 AND sl.kind = 'score' AND sl.delta > 0 AND sl.rule_id IN
				(SELECT id FROM rules WHERE workspace_id = $1 AND name = 'Demo requested')`, ws.ID, f.email).Scan(&first)
			if first == nil {
				if time.Now().After(deadline) {
					b.Fatalf("%s never scored", f.email)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		phase := "during the load"
		if f.email[:5] == "quiet" {
			phase = "after the load"
		}
		delays[phase] = append(delays[phase], max(0, first.Sub(f.acked).Seconds()))
	}
	caughtUp := time.Since(start)
	rate := float64(okHits) / elapsed.Seconds()
	fmt.Printf("\ncollect: %d clients, %s: %.0f hits/s acknowledged (%d failed), %.0f%% of a bare 204 endpoint on this machine (%.0f/s)\n",
		clients, duration, rate, failedHits, 100*rate/refRate, refRate)
	for _, phase := range []string{"during the load", "after the load"} {
		d := delays[phase]
		slices.Sort(d)
		if len(d) == 0 {
			continue
		}
		fmt.Printf("form submission → lead scored, %s (%d forms): p50 %.2fs p95 %.2fs max %.2fs\n", phase, len(d),
			d[len(d)/2], d[len(d)*95/100], d[len(d)-1])
	}
	var processed int
	s.DB.QueryRow(`SELECT count(*) FROM activities WHERE workspace_id = $1`, ws.ID).Scan(&processed)
	fmt.Printf("all %d hits processed into activities and every form scored %.0fs after the start (%d forms during the load)\n",
		processed, caughtUp.Seconds(), during)
	b.ReportMetric(rate, "hits/s")
}

// hitBody is a tracker hit as the script sends it, with the event id given.
func hitBody(site model.Site, visitor, event, kind, url string, extra map[string]any) []byte {
	h := map[string]any{"s": site.Key, "v": visitor, "e": event, "t": kind, "u": url, "ts": time.Now().UnixMilli()}
	for k, v := range extra {
		h[k] = v
	}
	b, _ := json.Marshal(h)
	return b
}
