package ingest

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// BenchmarkProcess measures turning stored events into activities (per event), on the test
// cluster (fsync off: this isolates CPU and query cost; make bench measures with fsync on).
func BenchmarkProcess(b *testing.B) {
	e := newEnv(&testing.T{})
	e.runner, e.inbound, e.lookups = testQueues(e.st, e.p, slog.New(slog.NewTextHandler(io.Discard, nil)), 500)
	e.storeBacklog(b, b.N)
	b.ResetTimer()
	start := time.Now()
	if _, err := e.runner.Drain(e.ctx, e.inbound); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkProcessTwoWorkers measures the same with two workers claiming from one workspace
// at once, as the server runs them.
func BenchmarkProcessTwoWorkers(b *testing.B) {
	e := newEnv(&testing.T{})
	r, _, _ := testQueues(e.st, e.p, slog.New(slog.NewTextHandler(io.Discard, nil)), 1000)
	e.storeBacklog(b, b.N)
	b.ResetTimer()
	start := time.Now()
	r.Start(e.ctx)
	for e.count(`SELECT count(*) FROM (SELECT 1 FROM inbound_queue LIMIT 1) x`) > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(start)
	r.Stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// storeBacklog accepts n email opens in batches of 100, from 5,000 people at 500 companies.
func (e *env) storeBacklog(b *testing.B, n int) {
	var sb strings.Builder
	for done := 0; done < n; {
		sb.Reset()
		sb.WriteString(`{"events":[`)
		for i := 0; i < 100 && done < n; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			p := done % 5000
			fmt.Fprintf(&sb, `{"event_type":"users.messages.email.Open","id":"ev-%d","time":%d,"user":{"user_id":"u%d","external_user_id":"crm-%d"},"properties":{"campaign_name":"Q1 Webinar","campaign_id":"c1","email_address":"person%d@company%d.example.com","esp":"SendGrid","mailbox_provider":"Google","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15"}}`,
				done, 1773000000+done, p, p, p, p%500)
			done++
		}
		sb.WriteString(`]}`)
		if _, err := e.p.Acceptor.AcceptCurrents(e.ctx, e.ws, []byte(sb.String())); err != nil {
			b.Fatal(err)
		}
	}
}
