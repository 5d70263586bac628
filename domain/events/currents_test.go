package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fixtures = "../../../shared/fixtures/braze-currents"

func loadFixture(t *testing.T, name string) []Event {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatalf("fixture %s: %v (the shared/ folder must sit beside the checkout)", name, err)
	}
	heads, bad, err := DecodeBatch(body)
	if err != nil || len(bad) > 0 {
		t.Fatalf("%s: %v %v", name, err, bad)
	}
	// The batch pass only checks what storing needs; decode fully as the processor does.
	evs := make([]Event, len(heads))
	for i, h := range heads {
		if evs[i], err = DecodeEvent(h.Raw); err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

// Every fixture becomes exactly the activity name braze.md §2.5 and the fixture README give.
func TestActivityNamesOfEveryFixture(t *testing.T) {
	want := map[string]string{
		"users.canvas.Entry":                             "[Nurturing] Added by marketing team onto the journey Enterprise Trial Nurture 2026",
		"users.behaviors.CustomEvent":                    "[Custom Event tracked] pricing_page_viewed",
		"users.behaviors.app.FirstSession":               "[User Action] Today marks the user's first session",
		"users.behaviors.InstallAttribution":             "[User Action] User installed app from LinkedIn Ads",
		"users.behaviors.Purchase":                       "[Purchase] Customer purchased pro_plan_annual for 1188.0 USD",
		"users.messages.contentcard.Click":               "[Content Card engagement] Clicked on Pro Plan Upgrade Card content card",
		"users.messages.email.Bounce":                    "[Alerting or negative] Email hard-bounced. This person's email appears to be no longer valid",
		"users.messages.email.Click":                     "[Email campaign engagement] Clicked in email Q1 2026 Product Webinar Invite on https://www.example.com/webinars/q1-2026-product-webinar?utm_source=braze&utm_medium=email&utm_campaign=q1-webinar",
		"users.messages.email.Delivery":                  "[Nurturing] Received email Q1 2026 Product Webinar Invite",
		"users.messages.email.Open":                      "[Email campaign engagement] Opened email Q1 2026 Product Webinar Invite",
		"users.messages.email.Unsubscribe":               "[Subscription status change] Unsubscribed from March 2026 Customer Newsletter",
		"users.messages.inappmessage.Click":              "[In-app campaign engagement] Clicked on message In-App Upgrade Prompt - Pro Plan",
		"users.messages.pushnotification.Open":           "[Push notification engagement] Clicked on notification New Reporting Dashboard Launch",
		"users.messages.sms.InboundReceive":              "[SMS/mobile campaign engagement] We received a message from this person to our internal number +14155550100: Can we move our demo to Thursday at 3pm?",
		"users.messages.sms.ShortLinkClick":              "[SMS/mobile campaign engagement] Clicked on https://go.example.com/k7Qx2LmP",
		"users.messages.whatsapp.InboundReceive":         "[WhatsApp engagement] We received a message from this person to our WhatsApp number +14155550199: Thursday at 3pm works for me, thanks!",
		"users.messages.whatsapp.Read":                   "[WhatsApp engagement] Lead read our message from the Demo Booking Confirmation - WhatsApp campaign",
		"users.behaviors.subscription.GlobalStateChange": "[Subscription status change] Global marketing subscription setting set to Opted In",
		"users.behaviors.subscriptiongroup.StateChange":  "[Subscription status change] Subscribed to/from Q1 2026 Product Webinar Invite",
	}
	if len(want) != 19 || len(SupportedTypes()) != 19 {
		t.Fatalf("want 19 types, have %d templates", len(SupportedTypes()))
	}
	for eventType, name := range want {
		t.Run(eventType, func(t *testing.T) {
			evs := loadFixture(t, eventType+".json")
			if len(evs) != 1 || evs[0].Type != eventType {
				t.Fatalf("fixture holds %d events of type %v", len(evs), evs)
			}
			got, ok := evs[0].ActivityName()
			if !ok || got != name {
				t.Fatalf("activity name\n got: %q\nwant: %q", got, name)
			}
		})
	}
}

func TestMixedBatch(t *testing.T) {
	evs := loadFixture(t, "mixed-batch.json")
	if len(evs) != 100 {
		t.Fatalf("%d events", len(evs))
	}
	ids := map[string]bool{}
	emails := map[string]string{}
	for _, e := range evs {
		ids[e.ID] = true
		name, ok := e.ActivityName()
		if !ok {
			t.Fatalf("unsupported type %s", e.Type)
		}
		for _, bad := range []string{"null", "<nil>", "  ", " on $", "$"} {
			if strings.Contains(name, bad) {
				t.Errorf("%s: name %q contains %q", e.ID, name, bad)
			}
		}
		if strings.HasSuffix(name, " ") || strings.Contains(name, "  ") {
			t.Errorf("gap in %q", name)
		}
		if em := e.Email(); em != "" && e.UserID != "" {
			emails[e.UserID] = em
		}
		if e.Time.Before(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) || e.Time.After(time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("time %v out of range", e.Time)
		}
	}
	if len(ids) != 97 {
		t.Fatalf("%d distinct ids, want 97", len(ids))
	}
	// Users with email events in the batch (the README lists 10 of 12 with an email; 8 of
	// them show it in an email event of this batch).
	if emails["67b471af2d520935cb9b1660"] != "emily.watson@stark.example.com" {
		t.Fatalf("anonymous user's email not found: %v", emails)
	}
}

func TestCanvasSentEmailFallsBackToCanvasName(t *testing.T) {
	evs := loadFixture(t, "mixed-batch.json")
	found := 0
	for _, e := range evs {
		if _, has := e.Prop("campaign_name"); has || !strings.HasPrefix(e.Type, "users.messages.email.") {
			continue
		}
		if c, _ := e.Prop("canvas_name"); c == "" {
			continue
		}
		name, _ := e.ActivityName()
		if !strings.Contains(name, "Enterprise Trial Nurture 2026") {
			t.Errorf("Canvas-sent email named %q", name)
		}
		found++
	}
	if found != 6 {
		t.Fatalf("found %d Canvas-sent emails, want 6", found)
	}
}

func TestMissingValuesNeverPrintNull(t *testing.T) {
	cases := map[string]string{
		`{"id":"1","event_type":"users.messages.email.Open","time":1,"properties":{"campaign_name":null,"campaign_id":"c-1"}}`:                                "[Email campaign engagement] Opened email c-1",
		`{"id":"1","event_type":"users.messages.email.Open","time":1,"properties":{}}`:                                                                        "[Email campaign engagement] Opened email (unnamed campaign)",
		`{"id":"1","event_type":"users.messages.email.Click","time":1}`:                                                                                       "[Email campaign engagement] Clicked in email (unnamed campaign) on (unknown link)",
		`{"id":"1","event_type":"users.behaviors.CustomEvent","time":1,"properties":{"name":"  "}}`:                                                           "[Custom Event tracked] (unnamed event)",
		`{"id":"1","event_type":"users.behaviors.Purchase","time":1,"properties":{"product_id":"p","price":49,"currency":null}}`:                              "[Purchase] Customer purchased p for 49 (unknown currency)",
		`{"id":"1","event_type":"users.messages.sms.InboundReceive","time":1,"properties":{"inbound_phone_number":"+1","message_body":"line one\nline two"}}`: "[SMS/mobile campaign engagement] We received a message from this person to our internal number +1: line one line two",
	}
	for raw, want := range cases {
		ev, err := DecodeEvent(json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ev.ActivityName(); got != want {
			t.Errorf("%s\n got: %q\nwant: %q", raw, got, want)
		}
	}
}

func TestDecodeBatchShapes(t *testing.T) {
	for _, body := range []string{"", "  ", `{"events":[]}`} {
		evs, bad, err := DecodeBatch([]byte(body))
		if err != nil || len(evs)+len(bad) != 0 {
			t.Errorf("%q: %v %v %v", body, evs, bad, err)
		}
	}
	for _, body := range []string{"not json", `[]`, `{"events":{}}`, `{"evts":[]}`, `{"events":[1,2]`, `"x"`} {
		if _, _, err := DecodeBatch([]byte(body)); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
	body := `{"events":[
		{"id":"a","event_type":"users.behaviors.CustomEvent","time":1700000000,"properties":{"name":"x"}},
		{"id":"b","event_type":"users.behaviors.CustomEvent"},
		"not an object",
		{"id":"","event_type":"t","time":1},
		{"id":"c","event_type":"t","time":"yesterday"},
		{"id":"d","event_type":"users.messages.email.Open","time":1700000001,"user":null,"properties":null,"brand_new_key":1}
	]}`
	evs, bad, err := DecodeBatch([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || len(bad) != 4 || bad[0].Index != 1 || !strings.Contains(bad[0].Reason, "time") {
		t.Fatalf("good=%d bad=%+v", len(evs), bad)
	}
	full, err := DecodeEvent(evs[1].Raw)
	if err != nil || full.Properties == nil {
		t.Fatalf("nil properties not normalised: %v", err)
	}
	if _, bad, _ := DecodeBatch([]byte(`{"events":[{"id":"a","event_type":"t","time":1,"user":"me"},{"id":"b","event_type":"t","time":1,"properties":[1]}]}`)); len(bad) != 2 {
		t.Fatalf("non-object user/properties accepted: %v", bad)
	}
}

func TestFlatSchemaCustomProperties(t *testing.T) {
	ev, err := DecodeEvent(json.RawMessage(`{"id":"1","event_type":"users.behaviors.CustomEvent","time":1,"properties":{"name":"n","properties":"{\"plan\":\"pro\"}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.Properties["custom_properties"]) != `{"plan":"pro"}` {
		t.Fatalf("custom_properties = %s", ev.Properties["custom_properties"])
	}
}

func TestEmailAndPhone(t *testing.T) {
	cases := []struct{ props, email, phone string }{
		{`{"email_address":"  Anna.Keller@Example.COM "}`, "anna.keller@example.com", ""},
		{`{"email_address":"[REDACTED]"}`, "", ""},
		{`{"email_address":"` + strings.Repeat("ab", 32) + `"}`, "", ""},
		{`{"email_address":"not-an-email"}`, "", ""},
		{`{"email_address":null,"channel":"email","channel_identifier":"x@y.io"}`, "x@y.io", ""},
		{`{"user_phone_number":"+1 415 555 0123"}`, "", "+14155550123"},
		{`{"channel":"sms","channel_identifier":"+14155550147"}`, "", "+14155550147"},
		{`{"user_phone_number":"[REDACTED]"}`, "", ""},
	}
	for _, c := range cases {
		ev, err := DecodeEvent(json.RawMessage(`{"id":"1","event_type":"t","time":1,"properties":` + c.props + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Email() != c.email || ev.Phone() != c.phone {
			t.Errorf("%s: email %q phone %q", c.props, ev.Email(), ev.Phone())
		}
	}
}

func TestToActivityKeepsContext(t *testing.T) {
	ev := loadFixture(t, "users.messages.email.Click.json")[0]
	a, ok := ev.ToActivity()
	if !ok || a.CampaignName != "Q1 2026 Product Webinar Invite" || !strings.HasPrefix(a.URL, "https://www.example.com/") ||
		a.Source != "braze" || a.OccurredAt.Location() != time.UTC {
		t.Fatalf("%+v", a)
	}
	var props map[string]any
	if err := json.Unmarshal(a.Properties, &props); err != nil || props["email_address"] == nil {
		t.Fatalf("properties lost: %v", err)
	}
	p := loadFixture(t, "users.behaviors.Purchase.json")[0]
	pa, _ := p.ToActivity()
	if !strings.Contains(string(pa.Properties), `"purchase_properties":{"billing_period":"annual"`) {
		t.Fatalf("purchase_properties lost: %s", pa.Properties)
	}
}
