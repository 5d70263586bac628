package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
)

func loadFixture(t *testing.T, name string) []Event {
	t.Helper()
	body := currentstest.Read(name)
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
		"users.canvas.Entry":                             "[Nurturing] Added by marketing team onto the journey Onboarding Journey 2026",
		"users.behaviors.CustomEvent":                    "[Custom Event tracked] pricing_page_viewed",
		"users.behaviors.app.FirstSession":               "[User Action] Today marks the user's first session",
		"users.behaviors.InstallAttribution":             "[User Action] User installed app from Google Ads",
		"users.behaviors.Purchase":                       "[Purchase] Customer purchased team_plan_annual for 1440.0 EUR",
		"users.messages.contentcard.Click":               "[Content Card engagement] Clicked on Team Plan Upgrade Card content card",
		"users.messages.email.Bounce":                    "[Alerting or negative] Email hard-bounced. This person's email appears to be no longer valid",
		"users.messages.email.Click":                     "[Email campaign engagement] Clicked in email Autumn Product Webinar Invite on https://www.example.com/webinars/autumn-product-webinar?utm_source=braze&utm_medium=email",
		"users.messages.email.Delivery":                  "[Nurturing] Received email Autumn Product Webinar Invite",
		"users.messages.email.Open":                      "[Email campaign engagement] Opened email Autumn Product Webinar Invite",
		"users.messages.email.Unsubscribe":               "[Subscription status change] Unsubscribed from Monthly Customer Digest - March",
		"users.messages.inappmessage.Click":              "[In-app campaign engagement] Clicked on message In-App Prompt - Try Team Plan",
		"users.messages.pushnotification.Open":           "[Push notification engagement] Clicked on notification New Forecasting Report Launch",
		"users.messages.sms.InboundReceive":              "[SMS/mobile campaign engagement] We received a message from this person to our internal number +12025550100: Could we move the demo to Friday at 10am?",
		"users.messages.sms.ShortLinkClick":              "[SMS/mobile campaign engagement] Clicked on https://go.example.com/fd26Lx",
		"users.messages.whatsapp.InboundReceive":         "[WhatsApp engagement] We received a message from this person to our WhatsApp number +12025550199: Friday at 10am works for me, thank you!",
		"users.messages.whatsapp.Read":                   "[WhatsApp engagement] Lead read our message from the Demo Confirmation - WhatsApp campaign",
		"users.behaviors.subscription.GlobalStateChange": "[Subscription status change] Global marketing subscription setting set to Opted In",
		"users.behaviors.subscriptiongroup.StateChange":  "[Subscription status change] Subscribed to/from Autumn Product Webinar Invite",
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
		if e.Time.Before(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)) || e.Time.After(time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("time %v out of range", e.Time)
		}
	}
	if len(ids) != currentstest.MixedDistinct {
		t.Fatalf("%d distinct ids, want %d", len(ids), currentstest.MixedDistinct)
	}
	// An anonymous user's email comes from their email events.
	if g := currentstest.Grace; emails[g.UserID] != g.Email {
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
		if !strings.Contains(name, "Onboarding Journey 2026") {
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
	if !ok || a.CampaignName != "Autumn Product Webinar Invite" || !strings.HasPrefix(a.URL, "https://www.example.com/") ||
		a.Source != "braze" || a.OccurredAt.Location() != time.UTC {
		t.Fatalf("%+v", a)
	}
	var props map[string]any
	if err := json.Unmarshal(a.Properties, &props); err != nil || props["email_address"] == nil {
		t.Fatalf("properties lost: %v", err)
	}
	p := loadFixture(t, "users.behaviors.Purchase.json")[0]
	pa, _ := p.ToActivity()
	if !strings.Contains(string(pa.Properties), `"purchase_properties":{"billing":"annual"`) {
		t.Fatalf("purchase_properties lost: %s", pa.Properties)
	}
}

func TestTypeNamesReadLikeWords(t *testing.T) {
	for typ, want := range map[string]string{
		"users.messages.email.Open":   "Email campaign engagement · Opened email",
		"users.messages.email.Click":  "Email campaign engagement · Clicked in email",
		"users.behaviors.Purchase":    "Purchase · Customer purchased",
		"users.behaviors.CustomEvent": "Custom Event tracked",
		"users.unknown.Thing":         "users.unknown.Thing",
	} {
		if got := TypeName(typ); got != want {
			t.Errorf("TypeName(%q) = %q, want %q", typ, got, want)
		}
	}
	for _, typ := range SupportedTypes() {
		if name := TypeName(typ); strings.Contains(name, "$") || strings.HasPrefix(name, "users.") {
			t.Errorf("%s reads %q", typ, name)
		}
	}
}
