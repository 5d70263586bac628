package currentstest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/ from the generator")

// TestFixturesUpToDate checks that testdata/ holds exactly what the generator writes; run
// `go test ./domain/events/currentstest -update` after changing the generator.
func TestFixturesUpToDate(t *testing.T) {
	want := generate()
	if *update {
		os.RemoveAll("testdata")
		os.MkdirAll("testdata", 0o755)
		for name, body := range want {
			if err := os.WriteFile(filepath.Join("testdata", name), body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ := filepath.Glob("testdata/*.json")
	if len(have) != len(want) {
		t.Fatalf("testdata holds %d files, the generator writes %d: run with -update", len(have), len(want))
	}
	for name, body := range want {
		if have, _ := os.ReadFile(filepath.Join("testdata", name)); !bytes.Equal(have, body) {
			t.Errorf("testdata/%s differs from the generator: run with -update", name)
		}
	}
}

// TestMixedBatchShape checks the facts the constants promise.
func TestMixedBatchShape(t *testing.T) {
	var body struct{ Events []map[string]any }
	if err := json.Unmarshal(Read("mixed-batch.json"), &body); err != nil {
		t.Fatal(err)
	}
	ids, types, emails := map[string]bool{}, map[string]int{}, map[string]bool{}
	for _, e := range body.Events {
		ids[e["id"].(string)] = true
		types[e["event_type"].(string)]++
		if p, _ := e["properties"].(map[string]any); p != nil {
			if em, ok := p["email_address"].(string); ok {
				emails[em] = true
			}
		}
	}
	if len(body.Events) != MixedEvents || len(ids) != MixedDistinct || len(emails) != MixedNamedLeads {
		t.Fatalf("%d events, %d distinct, %d emails", len(body.Events), len(ids), len(emails))
	}
	for _, ty := range Types {
		if types[ty] == 0 {
			t.Errorf("no %s in the mixed batch", ty)
		}
	}
	t.Logf("events per type: %v", types)
}

// field is one documented key of an event type: in user or in properties.
type field struct{ where, key string }

func userKeys(keys ...string) []field {
	out := make([]field, len(keys))
	for i, k := range keys {
		out[i] = field{"user", k}
	}
	return out
}

func propKeys(keys ...string) []field {
	out := make([]field, len(keys))
	for i, k := range keys {
		out[i] = field{"properties", k}
	}
	return out
}

// The campaign/Canvas context blocks (braze.md §2.2): A has all 13 keys, B lacks dispatch_id
// and send_id, C lacks dispatch_id.
var (
	contextB = []string{"app_group_id", "campaign_id", "campaign_name", "canvas_id", "canvas_name", "canvas_step_id", "canvas_step_name",
		"canvas_variation_id", "canvas_variation_name", "message_variation_id", "message_variation_name"}
	contextA = append(append([]string{}, contextB...), "dispatch_id", "send_id")
	contextC = append(append([]string{}, contextB...), "send_id")
	allUser  = []string{"device_id", "external_user_id", "timezone", "user_id"}
	device   = []string{"ad_id", "ad_id_type", "ad_tracking_enabled", "app_id", "device_model", "os_version", "platform"}
	emailCtx = []string{"email_address", "esp", "from_domain", "ip_pool"}
	uaKeys   = []string{"browser", "device_class", "device_model", "device_os", "is_amp", "mailbox_provider", "user_agent"}
)

func keys(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// shapes lists every documented key per event type (braze.md §2.3).
var shapes = map[string][]field{
	"users.canvas.Entry": append(userKeys(allUser...), propKeys("in_control_group", "app_group_id", "canvas_id", "canvas_name",
		"canvas_step_id", "canvas_step_name", "canvas_variation_id", "canvas_variation_name")...),
	"users.behaviors.CustomEvent":        append(userKeys(allUser...), propKeys(keys(device, []string{"custom_properties", "name", "app_group_id"})...)...),
	"users.behaviors.app.FirstSession":   append(userKeys(allUser...), propKeys("app_id", "device_model", "os_version", "platform", "session_id", "app_group_id")...),
	"users.behaviors.InstallAttribution": append(userKeys("device_id", "external_user_id", "user_id"), propKeys("source", "app_group_id")...),
	"users.behaviors.Purchase": append(userKeys("device_id", "external_user_id", "user_id"),
		propKeys(keys(device, []string{"currency", "price", "product_id", "purchase_properties", "app_group_id"})...)...),
	"users.messages.contentcard.Click": append(userKeys(allUser...), propKeys(keys(device, []string{"content_card_id"}, contextA)...)...),
	"users.messages.email.Bounce": append(userKeys(allUser...),
		propKeys(keys(emailCtx, []string{"bounce_reason", "is_drop", "sending_ip"}, contextA)...)...),
	"users.messages.email.Click": append(userKeys(allUser...), propKeys(keys(emailCtx, uaKeys,
		[]string{"is_suspected_bot_click", "link_alias", "link_id", "suspected_bot_click_reason", "url"}, contextA)...)...),
	"users.messages.email.Delivery": append(userKeys(allUser...), propKeys(keys(emailCtx, []string{"sending_ip"}, contextA)...)...),
	"users.messages.email.Open":     append(userKeys(allUser...), propKeys(keys(emailCtx, uaKeys, []string{"machine_open"}, contextA)...)...),
	"users.messages.email.Unsubscribe": append(userKeys(allUser...),
		propKeys(keys([]string{"email_address", "ip_pool"}, contextA)...)...),
	"users.messages.inappmessage.Click": append(userKeys(allUser...),
		propKeys(keys(device, []string{"button_id", "card_id"}, contextA)...)...),
	"users.messages.pushnotification.Open": append(userKeys(allUser...),
		propKeys(keys(device, []string{"button_action_type", "button_string"}, contextA)...)...),
	"users.messages.sms.InboundReceive": append(userKeys("external_user_id", "user_id"), propKeys(keys([]string{"action",
		"inbound_phone_number", "media_urls", "message_body", "subscription_group_id", "user_phone_number"}, contextB)...)...),
	"users.messages.sms.ShortLinkClick": append(userKeys(allUser...), propKeys(keys([]string{"is_suspected_bot_click", "short_url",
		"suspected_bot_click_reason", "url", "user_agent", "user_phone_number"}, contextB)...)...),
	"users.messages.whatsapp.InboundReceive": append(userKeys(allUser...), propKeys(keys([]string{"action", "bsuid", "catalog_id",
		"flow_id", "flow_response_json", "in_reply_to", "inbound_phone_number", "media_urls", "message_body", "message_id",
		"product_id", "quick_reply_text", "subscription_group_id", "user_phone_number"}, contextB)...)...),
	"users.messages.whatsapp.Read": append(userKeys(allUser...), propKeys(keys([]string{"bsuid", "flow_id", "from_phone_number",
		"message_id", "subscription_group_id", "template_name", "to_phone_number"}, contextA)...)...),
	"users.behaviors.subscription.GlobalStateChange": append(userKeys("external_user_id", "timezone", "user_id"),
		propKeys(keys([]string{"app_id", "channel", "channel_identifier", "email_address", "state_change_source",
			"subscription_status"}, contextC)...)...),
	"users.behaviors.subscriptiongroup.StateChange": append(userKeys(allUser...), propKeys(keys([]string{"app_id", "channel",
		"channel_identifier", "email_address", "phone_number", "state_change_source", "subscription_group_id",
		"subscription_status"}, contextA)...)...),
}

// Shared values of the made-up Braze workspace.
const (
	appGroup     = "5e1b7c3a-9d2f-4a6e-8b1c-3f5d7a9e2c4b"
	webApp       = "0c4e8a2f-6b1d-4f3a-9e7c-1a5b3d9f7e2c"
	iosApp       = "7b3f1d9e-2a6c-4e8b-a4d2-6f0e8c2a4b6d"
	ourSMS       = "+12025550100"
	ourWhatsApp  = "+12025550199"
	groupSMS     = "2f6a0e4c-8b3d-4a7f-b1e5-9c3d7a1f5b2e"
	groupWA      = "9d5b1f7a-3c8e-4b2d-a6f0-4e8a2c6d0b9f"
	groupDigest  = "4a8c2e6f-0b5d-4c9a-8e3f-7b1d5a9c3e0d"
	groupWebinar = "6c0e4a8d-2f7b-4e1c-9a5d-3b7f1e5a9c2d"
)

// campaign is what a message's context block says about who sent it.
type campaign struct {
	id, name, variationID, variation string
	canvasID, canvas, stepID, step   string
	canvasVariationID, canvasVariant string
}

var (
	webinar  = campaign{id: "b8d2f6a0-4c9e-4b3f-8a7d-2e6c0a4f8b1d", name: "Autumn Product Webinar Invite", variationID: "e1f5a9c3-7b2d-4e6a-9c0f-5d3b7e1a9f4c", variation: "Variant A"}
	digest   = campaign{id: "c9e3a7b1-5d0f-4c4a-9b8e-3f7d1b5a9c2e", name: "Monthly Customer Digest - March", variationID: "f2a6b0d4-8c3e-4f7b-a1d0-6e4c8f2b0a5d", variation: "Control"}
	calc     = campaign{id: "d0f4b8c2-6e1a-4d5b-a9c0-4a8e2c6b0d3f", name: "Cost Savings Calculator Follow-up", variationID: "a3b7c1e5-9d4f-4a8c-b2e1-7f5d9a3c1b6e", variation: "Variant B"}
	card     = campaign{id: "e1a5c9d3-7f2b-4e6c-8b1d-5b9f3d7c1e4a", name: "Team Plan Upgrade Card", variationID: "b4c8d2f6-0e5a-4b9d-9c3f-8a6e0b4d2f7c", variation: "Card A"}
	inApp    = campaign{id: "f2b6d0e4-8a3c-4f7d-9c2e-6c0a4e8d2f5b", name: "In-App Prompt - Try Team Plan", variationID: "c5d9e3a7-1f6b-4c0e-a4d2-9b7f1c5e3a8d", variation: "Modal"}
	pushNote = campaign{id: "a3c7e1f5-9b4d-4a8e-8d3f-7d1b5f9e3a6c", name: "New Forecasting Report Launch", variationID: "d6e0f4b8-2a7c-4d1f-b5e3-0c8a2d6f4b9e", variation: "Variant 1"}
	smsNote  = campaign{id: "b4d8f2a6-0c5e-4b9f-9e4a-8e2c6a0f4b7d", name: "Field Day Lisbon - SMS Reminder", variationID: "e7f1a5c9-3b8d-4e2a-a6f4-1d9b3e7a5c0f", variation: "SMS"}
	waNote   = campaign{id: "c5e9a3b7-1d6f-4c0a-8f5b-9f3d7b1a5c8e", name: "Demo Confirmation - WhatsApp", variationID: "f8a2b6d0-4c9e-4f3b-b7a5-2e0c4f8b6d1a", variation: "Template"}
	// Canvas-sent messages carry the canvas keys and no campaign name.
	onboarding = campaign{canvasID: "a9c3e7b1-5f0d-4a4e-9b8c-3d7f1b5e9a2c", canvas: "Onboarding Journey 2026", stepID: "b0d4f8c2-6a1e-4b5f-8c9d-4e8a2c6f0b3d",
		step: "Welcome email", canvasVariationID: "c1e5a9d3-7b2f-4c6a-9d0e-5f9b3d7a1c4e", canvasVariant: "Variant A"}
	winBack = campaign{canvasID: "d2f6b0e4-8c3a-4d7b-a1f0-6a0c4e8b2d5f", canvas: "Win-back Sequence", stepID: "e3a7c1f5-9d4b-4e8c-b2a1-7b1d5f9c3e6a",
		step: "Entry", canvasVariationID: "f4b8d2a6-0e5c-4f9d-8c3b-8c2e6a0d4f7b", canvasVariant: "Control"}
)

func (c campaign) context(dispatch string) map[string]any {
	m := map[string]any{"app_group_id": appGroup}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("campaign_id", c.id)
	set("campaign_name", c.name)
	set("message_variation_id", c.variationID)
	set("message_variation_name", c.variation)
	set("canvas_id", c.canvasID)
	set("canvas_name", c.canvas)
	set("canvas_step_id", c.stepID)
	set("canvas_step_name", c.step)
	set("canvas_variation_id", c.canvasVariationID)
	set("canvas_variation_name", c.canvasVariant)
	set("dispatch_id", dispatch)
	return m
}

// event is one generated Currents event before it is written out.
type event struct {
	typ   string
	id    string
	at    time.Time
	who   Person
	props map[string]any
	// device and app of the event, when it has them
	deviceID string
}

// render writes an event in the full form (every documented key, null where unset) or the
// sparse form (unset keys left out).
func render(e event, full bool) map[string]any {
	user, props := map[string]any{}, map[string]any{}
	values := map[field]any{
		{"user", "user_id"}:          e.who.UserID,
		{"user", "external_user_id"}: e.who.ExternalID,
		{"user", "timezone"}:         e.who.TimeZone,
		{"user", "device_id"}:        e.deviceID,
	}
	for k, v := range e.props {
		values[field{"properties", k}] = v
	}
	for _, f := range shapes[e.typ] {
		v, ok := values[f]
		if s, isString := v.(string); ok && isString && s == "" {
			ok = false
		}
		if !ok && !full {
			continue
		}
		if !ok {
			v = nil
		}
		if f.where == "user" {
			user[f.key] = v
		} else {
			props[f.key] = v
		}
	}
	for k, v := range e.props { // keys outside the documented table still go out as sent
		if !hasField(e.typ, k) {
			props[k] = v
		}
	}
	return map[string]any{"event_type": e.typ, "id": e.id, "time": e.at.Unix(), "user": user, "properties": props}
}

func hasField(typ, key string) bool {
	for _, f := range shapes[typ] {
		if f.where == "properties" && f.key == key {
			return true
		}
	}
	return false
}

// gen makes deterministic ids: UUID v4 for events, 24 hex characters for dispatches.
type gen struct{ r *rand.Rand }

func (g gen) uuid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (g gen) hex24() string {
	b := make([]byte, 12)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return fmt.Sprintf("%x", b)
}

func batch(events []map[string]any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"events": events}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// generate returns every fixture file by name.
func generate() map[string][]byte {
	out := map[string][]byte{}
	g := gen{rand.New(rand.NewPCG(2026, 3))}
	for _, e := range perType(g) {
		out[e.typ+".json"] = batch([]map[string]any{render(e, true)})
	}
	out["mixed-batch.json"] = batch(mixed(g))
	return out
}

const (
	macUA    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15"
	iphoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.4 Mobile/15E148 Safari/604.1"
)

// Message properties per kind; each returns a fresh map.
func emailProps(p Person, c campaign, dispatch string) map[string]any {
	m := c.context(dispatch)
	m["email_address"], m["esp"], m["from_domain"], m["ip_pool"] = p.Email, "SendGrid", "news.example.com", "marketing"
	return m
}

func delivery(p Person, c campaign, d string) map[string]any {
	m := emailProps(p, c, d)
	m["sending_ip"] = "198.51.100.24"
	return m
}

func open(p Person, c campaign, d string, machine bool) map[string]any {
	m := emailProps(p, c, d)
	m["browser"], m["device_class"], m["device_model"], m["device_os"] = "Safari", "desktop", "Mac", "Mac OS X"
	m["is_amp"], m["mailbox_provider"], m["user_agent"] = false, "Microsoft", macUA
	if machine {
		m["machine_open"] = "true"
	}
	return m
}

func click(p Person, c campaign, d, url string) map[string]any {
	m := open(p, c, d, false)
	m["url"], m["link_id"], m["link_alias"] = url, "lnk_"+d[:6], "primary_cta"
	m["is_suspected_bot_click"], m["suspected_bot_click_reason"] = false, []any{}
	return m
}

func customEvent(name string, props map[string]any, web bool) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	m := map[string]any{"app_group_id": appGroup, "name": name, "custom_properties": props}
	if web {
		m["app_id"], m["platform"], m["device_model"], m["os_version"] = webApp, "web", "Firefox", "Windows 11"
	} else {
		m["app_id"], m["platform"], m["device_model"], m["os_version"] = iosApp, "ios", "iPhone 16", "iOS 18.4"
	}
	return m
}

// purchase keeps the price as Braze writes a float (1440.0), which activity names show as sent.
func purchase(product string, price json.Number, currency string, web bool) map[string]any {
	m := customEvent("", nil, web)
	delete(m, "name")
	delete(m, "custom_properties")
	m["product_id"], m["price"], m["currency"] = product, price, currency
	m["purchase_properties"] = map[string]any{"billing": "annual", "seats": 25}
	return m
}

func appMessage(c campaign, d string, extra map[string]any) map[string]any {
	m := c.context(d)
	m["app_id"], m["platform"], m["device_model"], m["os_version"] = iosApp, "ios", "iPhone 16", "iOS 18.4"
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func smsInbound(p Person, body, action string) map[string]any {
	return map[string]any{"app_group_id": appGroup, "action": action, "inbound_phone_number": ourSMS, "message_body": body,
		"subscription_group_id": groupSMS, "user_phone_number": p.Phone, "media_urls": []any{}}
}

func whatsappInbound(p Person, body, replyTo string) map[string]any {
	m := map[string]any{"app_group_id": appGroup, "action": "None", "inbound_phone_number": ourWhatsApp, "message_body": body,
		"subscription_group_id": groupWA, "user_phone_number": p.Phone, "message_id": "wamid.HBgL" + p.Phone[2:]}
	if replyTo != "" {
		m["in_reply_to"] = replyTo
	}
	return m
}

func whatsappRead(p Person, d, messageID string) map[string]any {
	m := waNote.context(d)
	m["from_phone_number"], m["to_phone_number"], m["message_id"] = ourWhatsApp, p.Phone, messageID
	m["subscription_group_id"], m["template_name"] = groupWA, "demo_confirmation_v2"
	return m
}

func shortLink(p Person, short, url string) map[string]any {
	m := smsNote.context("")
	m["short_url"], m["url"], m["user_phone_number"], m["user_agent"] = short, url, p.Phone, iphoneUA
	m["is_suspected_bot_click"] = false
	return m
}

func unsubscribe(p Person, c campaign, d string) map[string]any {
	m := c.context(d)
	m["email_address"], m["ip_pool"] = p.Email, "marketing"
	return m
}

func globalChange(p Person, status, source string) map[string]any {
	m := map[string]any{"app_group_id": appGroup, "channel": "email", "channel_identifier": p.Email, "email_address": p.Email,
		"subscription_status": status}
	if source != "" {
		m["state_change_source"] = source
	}
	return m
}

func groupChange(p Person, c campaign, group, status string) map[string]any {
	m := c.context("")
	m["channel"], m["channel_identifier"], m["email_address"] = "email", p.Email, p.Email
	m["subscription_group_id"], m["subscription_status"], m["state_change_source"] = group, status, "SDK"
	return m
}

// perType is one event of each type, every template placeholder filled.
func perType(g gen) []event {
	at := time.Date(2026, 3, 17, 9, 30, 0, 0, time.UTC)
	next := func() time.Time { at = at.Add(7 * time.Minute); return at }
	d := g.hex24()
	ev := func(typ string, who Person, props map[string]any) event {
		return event{typ: typ, id: g.uuid(), at: next(), who: who, props: props}
	}
	bounce := delivery(Pete, webinar, d)
	bounce["bounce_reason"], bounce["is_drop"] = "550 5.1.1 The email account that you tried to reach does not exist", false
	entry := onboarding.context("")
	delete(entry, "dispatch_id")
	entry["in_control_group"] = false
	return []event{
		ev("users.canvas.Entry", Nora, entry),
		ev("users.behaviors.CustomEvent", Nora, customEvent("pricing_page_viewed", map[string]any{"plan": "enterprise", "seats": 40}, true)),
		ev("users.behaviors.app.FirstSession", Elena, map[string]any{"app_group_id": appGroup, "app_id": iosApp, "platform": "ios",
			"device_model": "iPhone 16", "os_version": "iOS 18.4", "session_id": g.uuid()}),
		ev("users.behaviors.InstallAttribution", Elena, map[string]any{"app_group_id": appGroup, "source": "Google Ads"}),
		ev("users.behaviors.Purchase", Marco, purchase("team_plan_annual", "1440.0", "EUR", true)),
		ev("users.messages.contentcard.Click", Lucia, appMessage(card, d, map[string]any{"content_card_id": "cc_" + d[:8]})),
		ev("users.messages.email.Bounce", Pete, bounce),
		ev("users.messages.email.Click", Nora, click(Nora, webinar, d, "https://www.example.com/webinars/autumn-product-webinar?utm_source=braze&utm_medium=email")),
		ev("users.messages.email.Delivery", Nora, delivery(Nora, webinar, d)),
		ev("users.messages.email.Open", Nora, open(Nora, webinar, d, false)),
		ev("users.messages.email.Unsubscribe", Jonas, unsubscribe(Jonas, digest, d)),
		ev("users.messages.inappmessage.Click", Aisha, appMessage(inApp, d, map[string]any{"card_id": "iam_" + d[:8]})),
		ev("users.messages.pushnotification.Open", Marco, appMessage(pushNote, d, nil)),
		ev("users.messages.sms.InboundReceive", Kenji, smsInbound(Kenji, "Could we move the demo to Friday at 10am?", "None")),
		ev("users.messages.sms.ShortLinkClick", Kenji, shortLink(Kenji, "https://go.example.com/fd26Lx", "https://www.example.com/events/field-day-lisbon")),
		ev("users.messages.whatsapp.InboundReceive", Kenji, whatsappInbound(Kenji, "Friday at 10am works for me, thank you!", "")),
		ev("users.messages.whatsapp.Read", Kenji, whatsappRead(Kenji, d, "wamid.HBgLMTIwMjU1NTAxNDc")),
		ev("users.behaviors.subscription.GlobalStateChange", Kenji, globalChange(Kenji, "Opted In", "REST API")),
		ev("users.behaviors.subscriptiongroup.StateChange", Nora, groupChange(Nora, webinar, groupWebinar, "Subscribed")),
	}
}

// mixed is the 100-event batch: 97 distinct events of 12 people over five days of March 2026,
// shuffled, with 3 exact duplicates later in the array.
func mixed(g gen) []map[string]any {
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, 16+d, h, m, 0, 0, time.UTC) }
	dWebinar, dDigest, dCalc, dOnboard := g.hex24(), g.hex24(), g.hex24(), g.hex24()
	var evs []event
	add := func(typ string, who Person, at time.Time, props map[string]any) {
		evs = append(evs, event{typ: typ, id: g.uuid(), at: at.Add(time.Duration(g.r.IntN(59)) * time.Second), who: who, props: props})
	}
	const (
		entry, custom, first, install, buy = "users.canvas.Entry", "users.behaviors.CustomEvent", "users.behaviors.app.FirstSession", "users.behaviors.InstallAttribution", "users.behaviors.Purchase"
		cardClick, bounce, emailClick      = "users.messages.contentcard.Click", "users.messages.email.Bounce", "users.messages.email.Click"
		deliv, opened, unsub, iam, push    = "users.messages.email.Delivery", "users.messages.email.Open", "users.messages.email.Unsubscribe", "users.messages.inappmessage.Click", "users.messages.pushnotification.Open"
		smsIn, smsLink, waIn, waRead       = "users.messages.sms.InboundReceive", "users.messages.sms.ShortLinkClick", "users.messages.whatsapp.InboundReceive", "users.messages.whatsapp.Read"
		global, group                      = "users.behaviors.subscription.GlobalStateChange", "users.behaviors.subscriptiongroup.StateChange"
	)
	canvasEntry := func(c campaign, control bool) map[string]any {
		m := c.context("")
		delete(m, "dispatch_id")
		m["in_control_group"] = control
		return m
	}
	firstSession := func(web bool) map[string]any {
		m := customEvent("", nil, web)
		delete(m, "name")
		delete(m, "custom_properties")
		m["session_id"] = g.uuid()
		return m
	}

	// Nora: the hottest lead — webinar, calculator, pricing page, demo request, onboarding Canvas.
	add(deliv, Nora, day(0, 9, 0), delivery(Nora, webinar, dWebinar))
	add(opened, Nora, day(0, 9, 42), open(Nora, webinar, dWebinar, false))
	add(emailClick, Nora, day(0, 9, 44), click(Nora, webinar, dWebinar, "https://www.example.com/webinars/autumn-product-webinar"))
	add(group, Nora, day(0, 9, 46), groupChange(Nora, webinar, groupWebinar, "Subscribed"))
	add(deliv, Nora, day(2, 14, 0), delivery(Nora, calc, dCalc))
	add(opened, Nora, day(2, 15, 10), open(Nora, calc, dCalc, false))
	add(emailClick, Nora, day(2, 15, 12), click(Nora, calc, dCalc, "https://www.example.com/pricing"))
	add(custom, Nora, day(2, 15, 13), customEvent("pricing_page_viewed", map[string]any{"plan": "enterprise", "seats": 40}, true))
	add(custom, Nora, day(2, 15, 20), customEvent("demo_requested", map[string]any{"source": "pricing"}, true))
	add(entry, Nora, day(2, 15, 25), canvasEntry(onboarding, false))
	add(deliv, Nora, day(3, 8, 0), delivery(Nora, digest, dDigest))
	add(opened, Nora, day(3, 8, 30), open(Nora, digest, dDigest, false))
	add(custom, Nora, day(4, 10, 5), customEvent("webinar_registered", map[string]any{"webinar": "autumn-2026"}, true))
	// Marco: installed the app the day before (late SDK events), an Apple privacy open, a purchase.
	add(install, Marco, day(-1, 18, 0), map[string]any{"app_group_id": appGroup, "source": "LinkedIn Ads"})
	add(first, Marco, day(-1, 18, 3), firstSession(false))
	add(deliv, Marco, day(0, 9, 0), delivery(Marco, webinar, dWebinar))
	add(opened, Marco, day(0, 9, 1), open(Marco, webinar, dWebinar, true))
	add(deliv, Marco, day(3, 8, 0), delivery(Marco, digest, dDigest))
	add(opened, Marco, day(3, 12, 40), open(Marco, digest, dDigest, false))
	add(buy, Marco, day(3, 13, 2), purchase("team_plan_annual", "1440.0", "EUR", true))
	add(push, Marco, day(4, 7, 15), appMessage(pushNote, g.hex24(), nil))
	add(custom, Marco, day(4, 7, 20), customEvent("report_exported", map[string]any{"format": "xlsx"}, false))
	// Aisha: reads the digest, downloads a whitepaper, gets the Canvas's emails.
	add(deliv, Aisha, day(3, 8, 0), delivery(Aisha, digest, dDigest))
	add(opened, Aisha, day(3, 9, 5), open(Aisha, digest, dDigest, false))
	add(emailClick, Aisha, day(3, 9, 6), click(Aisha, digest, dDigest, "https://www.example.com/blog/forecasting-guide"))
	add(custom, Aisha, day(3, 9, 10), customEvent("whitepaper_downloaded", map[string]any{"title": "Forecasting for finance teams"}, true))
	add(entry, Aisha, day(1, 10, 0), canvasEntry(onboarding, false))
	add(deliv, Aisha, day(1, 10, 1), delivery(Aisha, onboarding, dOnboard))
	add(opened, Aisha, day(1, 11, 30), open(Aisha, onboarding, dOnboard, false))
	add(emailClick, Aisha, day(1, 11, 31), click(Aisha, onboarding, dOnboard, "https://www.example.com/docs/getting-started"))
	add(iam, Aisha, day(2, 16, 0), appMessage(inApp, g.hex24(), map[string]any{"card_id": "iam_team_plan"}))
	add(custom, Aisha, day(4, 11, 0), customEvent("case_study_viewed", map[string]any{"industry": "retail"}, true))
	// Jonas: unsubscribes from the digest and from all marketing email.
	add(deliv, Jonas, day(0, 9, 0), delivery(Jonas, webinar, dWebinar))
	add(deliv, Jonas, day(3, 8, 0), delivery(Jonas, digest, dDigest))
	add(opened, Jonas, day(3, 8, 55), open(Jonas, digest, dDigest, false))
	add(unsub, Jonas, day(3, 8, 56), unsubscribe(Jonas, digest, dDigest))
	add(global, Jonas, day(3, 8, 56), globalChange(Jonas, "Unsubscribed", ""))
	// Lucia: in the win-back Canvas's control group.
	add(entry, Lucia, day(1, 6, 0), canvasEntry(winBack, true))
	add(deliv, Lucia, day(2, 14, 0), delivery(Lucia, calc, dCalc))
	add(opened, Lucia, day(2, 19, 45), open(Lucia, calc, dCalc, false))
	add(cardClick, Lucia, day(2, 19, 50), appMessage(card, g.hex24(), map[string]any{"content_card_id": "cc_team_plan"}))
	add(custom, Lucia, day(2, 19, 52), customEvent("pricing_page_viewed", map[string]any{"plan": "team", "seats": 8}, true))
	add(deliv, Lucia, day(3, 8, 0), delivery(Lucia, digest, dDigest))
	// Pete: a hard bounce, then a second one that Braze counts as a drop.
	add(deliv, Pete, day(0, 9, 0), delivery(Pete, webinar, dWebinar))
	b1 := delivery(Pete, webinar, dWebinar)
	b1["bounce_reason"], b1["is_drop"] = "550 5.1.1 User unknown", false
	add(bounce, Pete, day(0, 9, 0), b1)
	b2 := delivery(Pete, digest, dDigest)
	b2["bounce_reason"], b2["is_drop"] = "550 5.1.1 User unknown", true
	add(bounce, Pete, day(3, 8, 0), b2)
	add(deliv, Pete, day(3, 8, 0), delivery(Pete, digest, dDigest))
	// Grace: anonymous; her app and Canvas events join her email events by Braze id.
	add(deliv, Grace, day(0, 9, 0), delivery(Grace, webinar, dWebinar))
	add(opened, Grace, day(0, 13, 20), open(Grace, webinar, dWebinar, false))
	add(emailClick, Grace, day(0, 13, 21), click(Grace, webinar, dWebinar, "https://www.example.com/webinars/autumn-product-webinar"))
	add(deliv, Grace, day(1, 10, 1), delivery(Grace, onboarding, dOnboard))
	add(opened, Grace, day(1, 12, 0), open(Grace, onboarding, dOnboard, false))
	add(emailClick, Grace, day(1, 12, 2), click(Grace, onboarding, dOnboard, "https://www.example.com/docs/getting-started"))
	add(entry, Grace, day(1, 10, 0), canvasEntry(onboarding, false))
	add(first, Grace, day(1, 12, 10), firstSession(true))
	add(custom, Grace, day(1, 12, 15), customEvent("app_opened", nil, true))
	add(deliv, Grace, day(3, 8, 0), delivery(Grace, digest, dDigest))
	// Liam: anonymous; leaves the digest's subscription group.
	add(deliv, Liam, day(0, 9, 0), delivery(Liam, webinar, dWebinar))
	add(deliv, Liam, day(3, 8, 0), delivery(Liam, digest, dDigest))
	add(opened, Liam, day(3, 17, 0), open(Liam, digest, dDigest, false))
	add(group, Liam, day(3, 17, 2), groupChange(Liam, digest, groupDigest, "Unsubscribed"))
	add(cardClick, Liam, day(4, 9, 0), appMessage(card, g.hex24(), map[string]any{"content_card_id": "cc_team_plan"}))
	// The app-only user: no email anywhere, only a lookup by Braze id can name them.
	add(install, AppOnly, day(-1, 22, 0), map[string]any{"app_group_id": appGroup, "source": "App Store Search"})
	add(first, AppOnly, day(-1, 22, 2), firstSession(false))
	add(custom, AppOnly, day(0, 7, 30), customEvent("feature_tour_completed", nil, false))
	add(iam, AppOnly, day(1, 7, 45), appMessage(inApp, g.hex24(), map[string]any{"card_id": "iam_team_plan"}))
	// The SMS/WhatsApp-only user.
	add(smsIn, SMSOnly, day(2, 11, 0), smsInbound(SMSOnly, "JOIN", "Subscribed"))
	add(waIn, SMSOnly, day(2, 11, 30), whatsappInbound(SMSOnly, "Yes please, send me the brochure", ""))
	// Kenji: email, SMS, WhatsApp and push.
	add(deliv, Kenji, day(0, 9, 0), delivery(Kenji, webinar, dWebinar))
	add(opened, Kenji, day(0, 23, 10), open(Kenji, webinar, dWebinar, false))
	add(emailClick, Kenji, day(0, 23, 12), click(Kenji, webinar, dWebinar, "https://www.example.com/webinars/autumn-product-webinar"))
	add(global, Kenji, day(-1, 2, 0), globalChange(Kenji, "Opted In", "REST API"))
	add(smsIn, Kenji, day(2, 1, 0), smsInbound(Kenji, "Could we move the demo to Friday at 10am?", "None"))
	add(smsLink, Kenji, day(2, 1, 20), shortLink(Kenji, "https://go.example.com/fd26Lx", "https://www.example.com/events/field-day-lisbon"))
	readID := "wamid.HBgLMTIwMjU1NTAxNDcVAgARGBI"
	add(waRead, Kenji, day(2, 2, 0), whatsappRead(Kenji, g.hex24(), readID))
	add(waIn, Kenji, day(2, 2, 5), whatsappInbound(Kenji, "Friday at 10am works for me, thank you!", readID))
	add(push, Kenji, day(3, 0, 30), appMessage(pushNote, g.hex24(), nil))
	add(entry, Kenji, day(2, 3, 0), canvasEntry(onboarding, false))
	add(custom, Kenji, day(3, 1, 0), customEvent("pricing_page_viewed", map[string]any{"plan": "team", "seats": 12}, true))
	add(deliv, Kenji, day(3, 8, 0), delivery(Kenji, digest, dDigest))
	// Elena: two purchases (iOS and web), feature use, every channel.
	add(deliv, Elena, day(3, 8, 0), delivery(Elena, digest, dDigest))
	add(opened, Elena, day(3, 8, 20), open(Elena, digest, dDigest, false))
	add(buy, Elena, day(1, 13, 0), purchase("seats_addon", "96.0", "RON", false))
	add(buy, Elena, day(4, 9, 30), purchase("team_plan_monthly", "149.5", "RON", true))
	add(custom, Elena, day(1, 14, 0), customEvent("forecast_created", map[string]any{"horizon_months": 12}, false))
	add(custom, Elena, day(1, 14, 30), customEvent("forecast_shared", map[string]any{"recipients": 3}, false))
	add(waRead, Elena, day(2, 9, 0), whatsappRead(Elena, g.hex24(), "wamid.HBgLMTIwMjU1NTAxNjgVAgARGBI"))
	add(push, Elena, day(2, 18, 0), appMessage(pushNote, g.hex24(), nil))
	add(smsLink, Elena, day(2, 18, 30), shortLink(Elena, "https://go.example.com/fd26Lx", "https://www.example.com/events/field-day-lisbon"))
	add(global, Elena, day(0, 6, 0), globalChange(Elena, "Subscribed", "SDK"))
	add(cardClick, Elena, day(4, 9, 0), appMessage(card, g.hex24(), map[string]any{"content_card_id": "cc_team_plan"}))
	add(iam, Elena, day(4, 9, 10), appMessage(inApp, g.hex24(), map[string]any{"card_id": "iam_team_plan"}))
	add(deliv, Elena, day(0, 9, 0), delivery(Elena, webinar, dWebinar))
	add(deliv, Elena, day(2, 14, 0), delivery(Elena, calc, dCalc))
	add(cardClick, Nora, day(4, 10, 30), appMessage(card, g.hex24(), map[string]any{"content_card_id": "cc_team_plan"}))
	add(opened, Elena, day(2, 14, 30), open(Elena, calc, dCalc, false))
	// An inbound STOP from a number Braze does not know: an empty user.
	add(smsIn, Person{Phone: UnknownSMSNumber}, day(3, 20, 0), smsInbound(Person{Phone: UnknownSMSNumber}, "STOP", "Unsubscribed"))

	out := make([]map[string]any, len(evs))
	for i, e := range evs {
		out[i] = render(e, false)
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	// Three exact duplicates, each later in the array than its original.
	for _, typ := range []string{smsIn, buy, emailClick} {
		for i, e := range out {
			if e["event_type"] == typ {
				at := i + 1 + g.r.IntN(len(out)-i)
				out = append(out[:at], append([]map[string]any{e}, out[at:]...)...)
				break
			}
		}
	}
	return out
}
