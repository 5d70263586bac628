package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// zoneAfterEight is a time zone where it is now past 08:00 (and before midnight).
func zoneAfterEight(t *testing.T) string {
	for _, z := range []string{"UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Auckland", "Europe/Berlin", "Asia/Kolkata", "America/New_York"} {
		loc, _ := time.LoadLocation(z)
		if time.Now().In(loc).Hour() >= 9 {
			return z
		}
	}
	t.Fatal("no zone past 08:00")
	return ""
}

var unsubscribeLink = regexp.MustCompile(`http://[^\s"<>]+/unsubscribe/[^\s"<>]+`)

// TestAlertChoicesDigestsAndUnsubscribing: a person who chose the digest for an alert gets
// it there, at 08:00 in their time zone, once; a digest with nothing to say is not sent;
// quiet hours hold an alert email until they end; the unsubscribe link (and the mail
// client's one-click POST) stops the rule's emails for that person.
func TestAlertChoicesDigestsAndUnsubscribing(t *testing.T) {
	s, smtp := mailServer(t)
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	ctx := context.Background()
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, token, opens(t, 0, 1), nil)
	var leadID int64
	waitFor(t, "the lead", func() bool {
		return s.DB.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1`, acme.ID).Scan(&leadID) == nil
	})
	// Its first open is scored before the alert exists (it would otherwise fire too).
	waitFor(t, "the first open scored", func() bool { return countRows(t, s, `SELECT count(*) FROM score_ledger`) > 0 })
	waitFor(t, "scoring", func() bool { return countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0 })
	s.DB.Exec(`UPDATE leads SET owner_email = 'ada@acme.example', first_name = 'Nora' WHERE id = $1`, leadID)
	assertStatus(t, ada.post("/alerts", url.Values{"name": {"Opened"}, "trigger": {"activity"}, "act_field": {"event.type"}, "act_op": {"equals"},
		"act_value": {"users.messages.email.Open"}, "owner": {"1"}, "throttle_hours": {"1"}, "enabled": {"1"}}), http.StatusSeeOther)
	var ruleID int64
	s.DB.QueryRow(`SELECT id FROM alert_rules`).Scan(&ruleID)
	zone := zoneAfterEight(t)
	s.DB.Exec(`UPDATE users SET time_zone = $1`, zone)

	// Ada reads this alert in her digest only.
	page := ada.get("/profile").body
	if !strings.Contains(page, "Opened") || !strings.Contains(page, "for the leads you own") {
		t.Fatal("the account page does not list the alerts that reach her")
	}
	assertStatus(t, ada.post("/profile/alerts", url.Values{fmt.Sprintf("mode_%d", ruleID): {"digest"}, "digest": {"daily"}}), http.StatusSeeOther)
	postCurrents(t, s.URL, token, opens(t, 1, 1), nil)
	waitFor(t, "the alert in her digest", func() bool { return countRows(t, s, `SELECT count(*) FROM digest_items`) == 1 })
	waitFor(t, "scoring", func() bool { return countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0 })
	if countRows(t, s, `SELECT count(*) FROM deliveries WHERE kind = 'alert'`) != 0 {
		t.Fatal("an alert chosen for the digest was emailed at once")
	}
	// Her 08:00 has come: the sweep queues her digest.
	runSweep := func() {
		s.DB.Exec(`UPDATE jobs SET run_after = now() WHERE kind = 'sweep-digests'`)
		s.Pipeline.JobQueued()
	}
	runSweep()
	d := mailsTo(t, smtp, "ada@acme.example", 1)[0]
	if !strings.Contains(d.Header.Get("Subject"), "digest") || !strings.Contains(d.Text, "Alerts for you") || !strings.Contains(d.Text, "Nora") ||
		!strings.Contains(d.HTML, fmt.Sprintf("/leads/%d", leadID)) {
		t.Fatalf("digest:\n%s", d.Text)
	}
	waitFor(t, "the digest noted", func() bool {
		return countRows(t, s, `SELECT count(*) FROM users WHERE last_digest_at IS NOT NULL`) == 1 && countRows(t, s, `SELECT count(*) FROM digest_items`) == 0
	})
	runSweep()
	waitFor(t, "the sweep", func() bool { return countRows(t, s, `SELECT count(*) FROM jobs WHERE kind = 'digest'`) == 0 })
	if n := countRows(t, s, `SELECT count(*) FROM deliveries WHERE kind = 'digest'`); n != 1 {
		t.Fatalf("%d digests on one day", n)
	}
	// A digest with nothing to say is not sent.
	s.DB.Exec(`UPDATE users SET last_digest_at = NULL`)
	s.DB.Exec(`DELETE FROM score_passes`)
	runSweep()
	waitFor(t, "the empty digest noted", func() bool {
		return countRows(t, s, `SELECT count(*) FROM users WHERE last_digest_at IS NOT NULL`) == 1
	})
	if n := countRows(t, s, `SELECT count(*) FROM deliveries WHERE kind = 'digest'`); n != 1 {
		t.Fatal("an empty digest was sent")
	}

	// At once again, but in her quiet hours: the email waits until they end.
	loc, _ := time.LoadLocation(zone)
	hour := time.Now().In(loc).Hour()
	assertStatus(t, ada.post("/profile/alerts", url.Values{fmt.Sprintf("mode_%d", ruleID): {"immediate"}, "digest": {"daily"},
		"quiet_from": {fmt.Sprint(hour)}, "quiet_to": {fmt.Sprint((hour + 2) % 24)}}), http.StatusSeeOther)
	s.DB.Exec(`DELETE FROM alerts`)
	postCurrents(t, s.URL, token, opens(t, 2, 1), nil)
	waitFor(t, "the alert to wait", func() bool {
		return countRows(t, s, `SELECT count(*) FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id WHERE d.kind = 'alert' AND q.run_after > now() + interval '55 minutes'`) == 1
	})
	// Without quiet hours it leaves; its unsubscribe link stops the rule for her.
	s.DB.Exec(`UPDATE delivery_queue SET run_after = now()`)
	s.Pipeline.Notify.Queued()
	alert := mailsTo(t, smtp, "ada@acme.example", 2)[1]
	link := unsubscribeLink.FindString(alert.Text)
	if link == "" || !strings.Contains(alert.Header.Get("List-Unsubscribe"), link) || alert.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("no unsubscribe link or headers: %v\n%s", alert.Header, alert.Text)
	}
	path := strings.TrimPrefix(link, s.URL)
	anon := s.browser(t)
	if r := anon.get(path); r.status != http.StatusOK || !strings.Contains(r.body, "Stop these alerts?") {
		t.Fatalf("unsubscribe page: %d", r.status)
	}
	// The mail client's one-click POST: no session, no form token.
	res, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %v %v", res, err)
	}
	res.Body.Close()
	if countRows(t, s, `SELECT count(*) FROM alert_preferences WHERE mode = 'off'`) != 1 {
		t.Fatal("unsubscribing did not turn the alert off")
	}
	assertStatus(t, anon.get("/unsubscribe/acme/"+strings.Repeat("A", 80)), http.StatusNotFound)
	s.DB.Exec(`DELETE FROM alerts`)
	postCurrents(t, s.URL, token, opens(t, 3, 1), nil)
	waitFor(t, "the next match", func() bool { return countRows(t, s, `SELECT count(*) FROM alerts`) == 1 })
	waitFor(t, "scoring", func() bool { return countRows(t, s, `SELECT count(*) FROM delivery_queue`) == 0 })
	if n := len(mailsTo(t, smtp, "ada@acme.example", 2)); n != 2 {
		t.Fatalf("%d mails after unsubscribing", n)
	}
}
