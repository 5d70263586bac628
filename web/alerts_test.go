package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify/slacktest"
	"github.com/peregrine-scoring/peregrine/domain/notify/webhooktest"
)

// opens builds a Currents batch of n email opens by one person (from the fixture), ids from
// first on.
func opens(t *testing.T, first, n int) []byte {
	t.Helper()
	return opensAt(t, first, n, 0)
}

// opensAt is opens at a Unix time (0: the fixture's).
func opensAt(t *testing.T, first, n int, at int64) []byte {
	t.Helper()
	var batch struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(currentstest.Read("users.messages.email.Open.json"), &batch); err != nil {
		t.Fatal(err)
	}
	open := batch.Events[0]
	batch.Events = nil
	for i := first; i < first+n; i++ {
		e := maps.Clone(open)
		e["id"] = fmt.Sprintf("2d1a87cc-ce30-4d8f-9a4e-%012d", i)
		e["time"] = open["time"].(float64) + float64(i)
		if at != 0 {
			e["time"] = float64(at + int64(i))
		}
		batch.Events = append(batch.Events, e)
	}
	body, _ := json.Marshal(batch)
	return body
}

var secretField = regexp.MustCompile(`id="webhook-secret" type="text" readonly value="(whsec_[^"]+)"`)

// TestAlertsReachEmailSlackAndWebhooks: an alert rule on email opens tells the lead's owner
// by email, a Slack channel (Block Kit within its limits) and a signed webhook; 50 more opens
// within the hour send nothing more (they are counted as held back); Slack's 429 is waited
// out, its 404 no_service disables the channel with the reason; a failing webhook is retried
// with the same webhook-id and its 410 disables it.
func TestAlertsReachEmailSlackAndWebhooks(t *testing.T) {
	s, smtp := mailServer(t)
	slack, hook := slacktest.Start(t), webhooktest.Start(t)
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	acme, _ := s.Store.WorkspaceBySlug(context.Background(), "acme")

	// Channels: Slack, and a webhook whose secret is shown once.
	assertStatus(t, ada.post("/alerts/channels", url.Values{"kind": {"slack"}, "channel_name": {"#sales"}, "url": {slack.URL + "/services/T1/B1/x"}}), http.StatusSeeOther)
	assertStatus(t, ada.post("/alerts/channels", url.Values{"kind": {"webhook"}, "channel_name": {"Zapier"}, "url": {hook.URL + "/hook"}}), http.StatusSeeOther)
	page := ada.get("/alerts").body
	m := secretField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the webhook's secret is not shown")
	}
	if err := hook.SetSecret(m[1]); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ada.get("/alerts").body, m[1]) {
		t.Fatal("the secret is shown twice")
	}
	if n := countRows(t, s, `SELECT count(*) FROM alert_channels WHERE position(convert_to('/hook', 'UTF8') in url) > 0`); n != 0 {
		t.Fatal("a channel's address is stored in the clear")
	}
	var slackID, hookID int64
	s.DB.QueryRow(`SELECT id FROM alert_channels WHERE name = '#sales'`).Scan(&slackID)
	s.DB.QueryRow(`SELECT id FROM alert_channels WHERE name = 'Zapier'`).Scan(&hookID)
	// A bad address is refused with the reason.
	r := ada.post("/alerts/channels", url.Values{"kind": {"webhook"}, "channel_name": {"Bad"}, "url": {"ftp://x"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)

	token, _, _ := ingest.CreateToken(context.Background(), s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, token, opens(t, 0, 1), nil)
	var leadID int64
	waitFor(t, "the lead", func() bool {
		return s.DB.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1`, acme.ID).Scan(&leadID) == nil
	})
	// Its first open is scored before the alert exists (it would otherwise fire too).
	waitFor(t, "the first open scored", func() bool { return countRows(t, s, `SELECT count(*) FROM score_ledger`) > 0 })
	waitFor(t, "scoring", func() bool { return countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0 })
	// The owner comes from Salesforce; it is Ada.
	s.DB.Exec(`UPDATE leads SET owner_email = 'Ada@acme.example', first_name = 'Nora', last_name = 'Lindqvist' WHERE id = $1`, leadID)
	// The rule: any email open, to the owner, Slack and the webhook.
	r = ada.post("/alerts", url.Values{"name": {"Opened our email"}, "trigger": {"activity"}, "act_field": {"event.type"}, "act_op": {"equals"},
		"act_value": {"users.messages.email.Open"}, "owner": {"1"}, "channel": {itoa(slackID), itoa(hookID)}, "throttle_hours": {"24"}, "enabled": {"1"}})
	assertStatus(t, r, http.StatusSeeOther)
	// An invalid rule comes back with the reasons.
	r = ada.post("/alerts", url.Values{"name": {""}, "trigger": {"score_crossed"}, "threshold": {"-1"}, "throttle_hours": {"24"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Name the alert") || !strings.Contains(r.body, "threshold, a number above 0") || !strings.Contains(r.body, "Choose who is told") {
		t.Fatalf("invalid alert not explained:\n%.2000s", r.body)
	}

	postCurrents(t, s.URL, token, opens(t, 1, 1), nil)

	mail := mailsTo(t, smtp, "ada@acme.example", 1)[0]
	subject, _ := new(mime.WordDecoder).DecodeHeader(mail.Header.Get("Subject"))
	if subject != "Nora Lindqvist — Opened email Autumn Product Webinar Invite · Opened our email" || !strings.Contains(mail.Text, "Nora Lindqvist — Opened email") ||
		!strings.Contains(mail.HTML, fmt.Sprintf("/leads/%d", leadID)) || !strings.Contains(mail.Text, "Latest activity") {
		t.Fatalf("alert email:\n%v\n%s", mail.Header, mail.Text)
	}
	waitFor(t, "the Slack message", func() bool { return len(slack.Messages()) == 1 })
	sm := slack.Messages()[0]
	header, _ := sm.Blocks[0]["text"].(map[string]any)
	if sm.Blocks[0]["type"] != "header" || !strings.Contains(fmt.Sprint(header["text"]), "Nora Lindqvist") || !strings.Contains(sm.Text, "Opened our email") {
		t.Fatalf("Slack message: %+v", sm)
	}
	last := sm.Blocks[len(sm.Blocks)-1]
	if last["type"] != "actions" || !strings.Contains(fmt.Sprint(last["elements"]), fmt.Sprintf("/leads/%d", leadID)) {
		t.Fatalf("no button to the lead: %+v", last)
	}
	waitFor(t, "the webhook", func() bool { return len(hook.Messages()) == 1 })
	var wh struct {
		Type string `json:"type"`
		Data struct {
			Alert struct{ Rule, Reason string } `json:"alert"`
			Lead  struct {
				ID    int64  `json:"id"`
				Email string `json:"email"`
			} `json:"lead"`
		} `json:"data"`
	}
	if err := json.Unmarshal(hook.Messages()[0].Body, &wh); err != nil || wh.Type != "lead.alert" || wh.Data.Lead.ID != leadID ||
		wh.Data.Alert.Rule != "Opened our email" || len(hook.Refused()) != 0 {
		t.Fatalf("webhook: %s %v refused %v", hook.Messages()[0].Body, err, hook.Refused())
	}

	// 50 more opens within the hour: held back, nothing sent.
	postCurrents(t, s.URL, token, opens(t, 2, 50), nil)
	waitFor(t, "the opens to score", func() bool {
		return countRows(t, s, `SELECT count(*) FROM alerts WHERE lead_id = $1`, leadID) >= 2
	})
	waitFor(t, "scoring to finish", func() bool { return countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0 })
	waitFor(t, "deliveries to finish", func() bool { return countRows(t, s, `SELECT count(*) FROM delivery_queue`) == 0 })
	if sent, folded := countRows(t, s, `SELECT count(*) FROM alerts WHERE NOT folded`), countRows(t, s, `SELECT count(*) FROM alerts WHERE folded`); sent != 1 || folded < 1 ||
		len(slack.Messages()) != 1 || len(mailsTo(t, smtp, "ada@acme.example", 1)) != 1 || len(hook.Messages()) != 1 {
		t.Fatalf("throttle: %d sent, %d held back, %d Slack messages", sent, folded, len(slack.Messages()))
	}
	if page := ada.get("/alerts").body; !strings.Contains(page, "held back by the throttle") || !strings.Contains(page, "1 sent") {
		t.Fatal("the alerts page does not count what was sent and held back")
	}

	// Another lead, while Slack rate limits once and the webhook fails once: both arrive.
	slack.Limit(1, 1)
	hook.Answer(http.StatusInternalServerError)
	s.DB.Exec(`UPDATE leads SET email = 'nora.old@fjordsoft.example.com' WHERE id = $1`, leadID) // the next open makes a new lead
	postCurrents(t, s.URL, token, opens(t, 100, 1), nil)
	waitFor(t, "a retry to be scheduled", func() bool {
		return countRows(t, s, `SELECT count(*) FROM deliveries WHERE channel = 'webhook' AND attempts = 1 AND state = 'queued' AND error <> ''`) == 1
	})
	s.DB.Exec(`UPDATE delivery_queue SET run_after = now()`)
	waitFor(t, "the second Slack message", func() bool { return len(slack.Messages()) == 2 })
	reqs := slack.Requests()
	if len(reqs) < 3 || reqs[len(reqs)-1].Sub(reqs[len(reqs)-2]) < 900_000_000 {
		t.Fatalf("Slack's Retry-After was not honoured: %v", reqs)
	}
	waitFor(t, "the retried webhook", func() bool { return len(hook.Messages()) == 2 })
	id := hook.Messages()[1].ID
	if hook.Seen(id) != 2 || !strings.HasPrefix(id, "alert_") {
		t.Fatalf("the retry did not carry the same webhook-id: %s seen %d", id, hook.Seen(id))
	}

	// Slack calls a message malformed: it is set aside with its body, not retried.
	slack.Answer(http.StatusBadRequest, "invalid_payload")
	s.DB.Exec(`UPDATE leads SET email = 'nora.middle@fjordsoft.example.com' WHERE email = 'nora.lindqvist@fjordsoft.example.com'`)
	postCurrents(t, s.URL, token, opens(t, 150, 1), nil)
	waitFor(t, "the malformed message set aside", func() bool {
		return countRows(t, s, `SELECT count(*) FROM work_quarantine WHERE queue = 'deliveries' AND reason LIKE '%invalid_payload%' AND reason LIKE '%"blocks"%'`) == 1
	})
	if countRows(t, s, `SELECT count(*) FROM deliveries WHERE channel = 'slack' AND state = 'failed' AND error LIKE '%invalid_payload%'`) != 1 {
		t.Fatal("the set-aside Slack delivery is not shown as failed")
	}
	// Slack removed the webhook; the endpoint is gone: both are disabled, shown red.
	slack.Answer(http.StatusNotFound, "no_service")
	hook.Answer(http.StatusGone)
	s.DB.Exec(`UPDATE leads SET email = 'nora.older@fjordsoft.example.com' WHERE email = 'nora.lindqvist@fjordsoft.example.com'`)
	postCurrents(t, s.URL, token, opens(t, 200, 1), nil)
	waitFor(t, "the channels to be disabled", func() bool {
		return countRows(t, s, `SELECT count(*) FROM alert_channels WHERE disabled_at IS NOT NULL`) == 2
	})
	page = ada.get("/alerts").body
	if !strings.Contains(page, "Disabled") || !strings.Contains(page, "no_service") || !strings.Contains(page, "410") || !strings.Contains(page, "Turn back on") {
		t.Fatal("disabled channels are not shown with the reason")
	}
}

func countRows(t *testing.T, s testServer, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAccountAlert: "an account has 2 people active in 7 days" tells the team once the second
// person of a company is active, with a link to the account; a third person within the
// window is held back.
func TestAccountAlert(t *testing.T) {
	s, smtp := mailServer(t)
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	assertStatus(t, ada.post("/alerts", url.Values{"name": {"Buying group"}, "trigger": {"account_engaged"}, "people": {"2"},
		"emails": {"team@acme.example"}, "throttle_hours": {"24"}, "enabled": {"1"}}), http.StatusSeeOther)
	r := ada.post("/alerts", url.Values{"name": {"Bad"}, "trigger": {"account_engaged"}, "people": {"1"}, "owner": {"1"}, "throttle_hours": {"24"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "from 2") || !strings.Contains(r.body, "An account has no owner here") {
		t.Fatal("an invalid account alert is not explained")
	}
	ctx := context.Background()
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	person := func(i int) []byte {
		var batch struct {
			Events []map[string]any `json:"events"`
		}
		json.Unmarshal(opensAt(t, 500+i, 1, time.Now().Unix()-int64(100-i)), &batch)
		e := batch.Events[0]
		props := maps.Clone(e["properties"].(map[string]any))
		props["email_address"] = fmt.Sprintf("person%d@globex.example", i)
		e["properties"] = props
		e["user"] = map[string]any{"external_user_id": fmt.Sprintf("globex-%d", i), "user_id": fmt.Sprintf("g%023d", i)}
		body, _ := json.Marshal(batch)
		return body
	}
	postCurrents(t, s.URL, token, person(1), nil)
	waitFor(t, "the first person", func() bool {
		return countRows(t, s, `SELECT count(*) FROM leads WHERE last_activity_at IS NOT NULL`) == 1
	})
	waitFor(t, "scoring", func() bool { return countRows(t, s, `SELECT count(*) FROM scoring_queue`) == 0 })
	if n := countRows(t, s, `SELECT count(*) FROM alerts`); n != 0 {
		t.Fatal("one active person fired a 2-people alert")
	}
	postCurrents(t, s.URL, token, person(2), nil)
	m := mailsTo(t, smtp, "team@acme.example", 1)[0]
	var accountID int64
	s.DB.QueryRow(`SELECT account_id FROM alerts`).Scan(&accountID)
	if accountID == 0 || !strings.Contains(m.Text, "has 2 people active in the last 7 days") || !strings.Contains(m.Text, fmt.Sprintf("/accounts/%d", accountID)) ||
		!strings.Contains(m.Text, "Open the account in Peregrine") {
		t.Fatalf("account alert:\n%s", m.Text)
	}
	postCurrents(t, s.URL, token, person(3), nil)
	waitFor(t, "the third person's match", func() bool { return countRows(t, s, `SELECT count(*) FROM alerts WHERE folded`) == 1 })
	waitFor(t, "deliveries", func() bool { return countRows(t, s, `SELECT count(*) FROM delivery_queue`) == 0 })
	if n := len(mailsTo(t, smtp, "team@acme.example", 1)); n != 1 {
		t.Fatalf("%d account alerts within the window", n)
	}
}

// TestAlertCondition: the optional condition in the rules' language is validated with the
// reason and kept.
func TestAlertCondition(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	form := url.Values{"name": {"Hot in DACH"}, "trigger": {"became_hot"}, "emails": {"team@acme.example"}, "throttle_hours": {"24"}, "enabled": {"1"}}
	form.Set("condition", `{"combinator": "and", "rules": [{"field": "profile.country", "operator": "in"`)
	r := ada.post("/alerts", form)
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "not JSON a rule") {
		t.Fatal("malformed JSON not explained")
	}
	form.Set("condition", `{"combinator": "and", "rules": [{"field": "profile.shoe_size", "operator": "equals", "value": 1}]}`)
	r = ada.post("/alerts", form)
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "The condition is not valid") {
		t.Fatalf("an unknown field is not explained:\n%.3000s", r.body)
	}
	form.Set("condition", `{"combinator": "and", "rules": [{"field": "profile.country", "operator": "in", "value": ["CH", "DE", "AT"]}]}`)
	assertStatus(t, ada.post("/alerts", form), http.StatusSeeOther)
	var id int64
	s.DB.QueryRow(`SELECT id FROM alert_rules`).Scan(&id)
	if page := ada.get(fmt.Sprintf("/alerts/%d", id)).body; !strings.Contains(page, "profile.country") {
		t.Fatal("the saved condition is not shown")
	}
}
