// Package loadgen posts synthetic Braze Currents batches to a Peregrine endpoint and measures
// acknowledgements: throughput and latency percentiles.
package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options describe a run.
type Options struct {
	URL      string
	Token    string
	Clients  int
	Duration time.Duration
	Batch    int
	Rate     int // events per second across all clients; 0 = as fast as acknowledged
	People   int // distinct people the events belong to
	// Seq numbers the events (their ids and times) across runs: a run continues the timeline
	// of the runs before it, as a live stream does, instead of sending every person's events
	// again from the start (older than those already stored: late arrivals). Nil: from 0.
	Seq *atomic.Int64
}

// Report is what a run measured.
type Report struct {
	Events     int64
	Requests   int64
	Errors     int64
	Elapsed    time.Duration
	P50, P99   time.Duration
	Max        time.Duration
	StatusSeen map[int]int64
}

// EventsPerSecond is the acknowledged event rate.
func (r Report) EventsPerSecond() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// Batch renders n realistic events: email opens, clicks and custom events of people with a
// company email, each with a unique id.
func Batch(n, people int, seq *atomic.Int64) []byte {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	raw := make([]byte, 8)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		k := seq.Add(1)
		rand.Read(raw)
		id := hex.EncodeToString(raw)
		person := k % int64(people)
		t := 1773000000 + k // a second apart: each person's events arrive in time order
		switch k % 3 {
		case 0:
			fmt.Fprintf(&b, `{"event_type":"users.messages.email.Open","id":"%s-%d","time":%d,"user":{"user_id":"u%08d","external_user_id":"crm-%d","timezone":"Europe/Zurich"},"properties":{"app_group_id":"7c2e9a41-5b3d-4f8e-a1c6-0d9e8f7a6b5c","campaign_id":"0d6b8f3a-2c41-4e9b-b7a2-91e3f4c5d6e7","campaign_name":"Q1 2026 Product Webinar Invite","dispatch_id":"65f1c2ab9e8d7c0012a3ffee","email_address":"person%d@company%d.example.com","esp":"SendGrid","from_domain":"mail.example.com","ip_pool":"marketing","is_amp":false,"machine_open":null,"mailbox_provider":"Google","message_variation_id":"7e2a9c4b-1f3d-4b6a-9c8e-2d1f0a3b4c5d","message_variation_name":"Variant A","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"}}`,
				id, k, t, person, person, person, person%500)
		case 1:
			fmt.Fprintf(&b, `{"event_type":"users.messages.email.Click","id":"%s-%d","time":%d,"user":{"user_id":"u%08d","external_user_id":"crm-%d"},"properties":{"app_group_id":"7c2e9a41-5b3d-4f8e-a1c6-0d9e8f7a6b5c","campaign_id":"0d6b8f3a-2c41-4e9b-b7a2-91e3f4c5d6e7","campaign_name":"Q1 2026 Product Webinar Invite","email_address":"person%d@company%d.example.com","url":"https://www.example.com/webinars/q1?utm_source=braze&utm_medium=email","link_id":"lk_8842","link_alias":"register_cta","device_class":"desktop","browser":"Safari","is_suspected_bot_click":false,"suspected_bot_click_reason":[]}}`,
				id, k, t, person, person, person, person%500)
		default:
			fmt.Fprintf(&b, `{"event_type":"users.behaviors.CustomEvent","id":"%s-%d","time":%d,"user":{"user_id":"u%08d","external_user_id":"crm-%d","device_id":"b7c1e2d3-4f5a-46b7-8c9d-0e1f2a3b4c5d"},"properties":{"app_group_id":"7c2e9a41-5b3d-4f8e-a1c6-0d9e8f7a6b5c","app_id":"5d4c3b2a-1908-4f7e-a6d5-c4b3a2918070","platform":"web","name":"pricing_page_viewed","custom_properties":{"plan":"enterprise","seats":50,"features":["sso","audit_log"]}}}`,
				id, k, t, person, person)
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// Run posts batches until the duration ends.
func Run(ctx context.Context, o Options) Report {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.People <= 0 {
		o.People = 5000
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients * 2}}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	seq := o.Seq
	if seq == nil {
		seq = new(atomic.Int64)
	}
	var events, requests, errs atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	statuses := map[int]int64{}

	var tick <-chan time.Time
	if o.Rate > 0 {
		interval := time.Duration(float64(time.Second) * float64(o.Batch) / float64(o.Rate))
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < o.Clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if tick != nil {
					select {
					case <-tick:
					case <-ctx.Done():
						return
					}
				}
				body := Batch(o.Batch, o.People, seq)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+o.Token)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Braze-Currents-Version", "1")
				t0 := time.Now()
				res, err := client.Do(req)
				lat := time.Since(t0)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				requests.Add(1)
				mu.Lock()
				statuses[res.StatusCode]++
				if res.StatusCode == http.StatusOK {
					latencies = append(latencies, lat)
				}
				mu.Unlock()
				if res.StatusCode == http.StatusOK {
					events.Add(int64(o.Batch))
				} else {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r := Report{Events: events.Load(), Requests: requests.Load(), Errors: errs.Load(), Elapsed: time.Since(start), StatusSeen: statuses}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if n := len(latencies); n > 0 {
		r.P50, r.P99, r.Max = latencies[n/2], latencies[min(n-1, n*99/100)], latencies[n-1]
	}
	return r
}

// String is a one-paragraph summary.
func (r Report) String() string {
	return fmt.Sprintf("%d events acknowledged in %s = %.0f events/s; %d requests, %d errors %v; latency p50 %s, p99 %s, max %s",
		r.Events, r.Elapsed.Round(time.Millisecond), r.EventsPerSecond(), r.Requests, r.Errors, r.StatusSeen,
		r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond), r.Max.Round(100*time.Microsecond))
}
