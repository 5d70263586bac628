package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify/smtptest"
	"github.com/peregrine-scoring/peregrine/domain/notify/webhooktest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

var personInSubject = regexp.MustCompile(`p(\d+)@bench\.example`)

// BenchmarkAlertDelay measures the delay from a qualifying event's arrival (Braze Currents,
// acknowledged) to the alert's email reaching the SMTP server and its webhook reaching the
// receiver, with 100 qualifying events a second for 10 seconds, each by another person (make
// bench-alerts, fsync on). Slack is left out: one message a second per webhook is Slack's
// limit, so 100 alerts a second to one Slack channel cannot all be immediate.
func BenchmarkAlertDelay(b *testing.B) {
	const rate, seconds = 100, 10
	smtp, hook := smtptest.Start(b), webhooktest.Start(b)
	s := testServer{webtest.StartWith(b, webtest.Options{Env: map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", "PEREGRINE_ALLOW_PRIVATE_HOSTS": "true",
		"PEREGRINE_SMTP_URL": smtp.URL(), "PEREGRINE_MAIL_FROM": "peregrine@bench.example"}, Workers: 2})}
	ada := s.browser(b)
	if r := ada.post("/signup", url.Values{"workspace": {"Acme"}, "name": {"Ada"}, "email": {"ada@acme.example"}, "password": {password}}); r.status != http.StatusSeeOther {
		b.Fatalf("sign-up: %d", r.status)
	}
	ada.post("/alerts/channels", url.Values{"kind": {"webhook"}, "channel_name": {"Zap"}, "url": {hook.URL}})
	m := secretField.FindStringSubmatch(ada.get("/alerts").body)
	if m == nil {
		b.Fatal("no webhook secret")
	}
	hook.SetSecret(m[1])
	var chID int64
	s.DB.QueryRow(`SELECT id FROM alert_channels`).Scan(&chID)
	if r := ada.post("/alerts", url.Values{"name": {"Opened"}, "trigger": {"activity"}, "act_field": {"event.type"}, "act_op": {"equals"},
		"act_value": {"users.messages.email.Open"}, "emails": {"rep@acme.example"}, "channel": {fmt.Sprint(chID)}, "throttle_hours": {"24"}, "enabled": {"1"}}); r.status != http.StatusSeeOther {
		b.Fatalf("alert rule: %d %s", r.status, r.body)
	}
	ctx := context.Background()
	ws, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	token, _, _ := ingest.CreateToken(ctx, s.Store, ws.ID, model.TokenKindCurrents, "Braze", nil)
	var batch struct {
		Events []map[string]any `json:"events"`
	}
	json.Unmarshal(currentstest.Read("users.messages.email.Open.json"), &batch)
	open := batch.Events[0]
	sent := map[int]time.Time{}
	var mu sync.Mutex
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < rate*seconds; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
		e := maps.Clone(open)
		e["id"] = fmt.Sprintf("bench-%d", i)
		e["time"] = float64(time.Now().Unix())
		props := maps.Clone(open["properties"].(map[string]any))
		props["email_address"] = fmt.Sprintf("p%d@bench.example", i)
		e["properties"] = props
		e["user"] = map[string]any{"external_user_id": fmt.Sprintf("bench-%d", i), "user_id": fmt.Sprintf("b%023d", i)}
		body, _ := json.Marshal(map[string]any{"events": []any{e}})
		go func(i int) {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/braze/currents/events", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != http.StatusOK {
				return // not acknowledged: not counted
			}
			res.Body.Close()
			mu.Lock()
			sent[i] = time.Now()
			mu.Unlock()
		}(i)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for (len(smtp.Messages()) < rate*seconds || len(hook.Messages()) < rate*seconds) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	report := func(what string, arrived map[int]time.Time) {
		mu.Lock()
		defer mu.Unlock()
		var delays []time.Duration
		for i, at := range arrived {
			if t0, ok := sent[i]; ok {
				delays = append(delays, at.Sub(t0))
			}
		}
		slices.Sort(delays)
		if len(delays) == 0 {
			fmt.Printf("%s: none arrived\n", what)
			return
		}
		p := func(q float64) time.Duration {
			return delays[int(q*float64(len(delays)-1))].Round(10 * time.Millisecond)
		}
		fmt.Printf("%s: %d of %d delivered; delay from the event's acknowledgement p50 %s, p95 %s, max %s (target p95 ≤ 5 s)\n",
			what, len(delays), rate*seconds, p(0.5), p(0.95), p(1))
	}
	mails := map[int]time.Time{}
	for _, msg := range smtp.Messages() {
		if sm := personInSubject.FindStringSubmatch(msg.Header.Get("Subject")); sm != nil {
			var i int
			fmt.Sscan(sm[1], &i)
			mails[i] = msg.At
		}
	}
	hooks := map[int]time.Time{}
	for _, msg := range hook.Messages() {
		if sm := personInSubject.FindSubmatch(msg.Body); sm != nil {
			var i int
			fmt.Sscan(string(sm[1]), &i)
			hooks[i] = msg.At
		}
	}
	fmt.Printf("Alerts, %d qualifying events a second for %d s (2 processing and scoring workers, 8 delivery workers, fsync on):\n", rate, seconds)
	var stored, scored, queued, sentAt float64
	s.DB.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.created_at - e.received_at)),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.finished_at - d.created_at))
		FROM alerts a JOIN activities x ON x.workspace_id = a.workspace_id AND x.lead_id = a.lead_id
		JOIN inbound_events e ON e.workspace_id = x.workspace_id AND e.id = x.id
		JOIN deliveries d ON d.workspace_id = a.workspace_id AND d.alert_id = a.id AND d.channel = 'email'`).Scan(&scored, &sentAt)
	s.DB.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.created_at - e.received_at))
		FROM inbound_events e JOIN activities x ON x.workspace_id = e.workspace_id AND x.id = e.id
		JOIN LATERAL (SELECT min(created_at) AS created_at FROM score_ledger l WHERE l.workspace_id = x.workspace_id AND l.lead_id = x.lead_id) s ON true`).Scan(&stored)
	_ = queued
	fmt.Printf("  stages (p50): event stored → alert recorded (scoring) %.2f s (first score line %.2f s); alert queued → email sent %.2f s\n", scored, stored, sentAt)
	report("  email", mails)
	report("  webhook", hooks)
}
