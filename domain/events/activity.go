package events

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/tidwall/pretty"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// templates are the activity names of Braze's SalesWings partner page, character for
// character (braze.md §2.5). Each $field is a key of the event's properties.
var templates = map[string]string{
	"users.canvas.Entry":                             "[Nurturing] Added by marketing team onto the journey $canvas_name",
	"users.behaviors.CustomEvent":                    "[Custom Event tracked] $name",
	"users.behaviors.app.FirstSession":               "[User Action] Today marks the user's first session",
	"users.behaviors.InstallAttribution":             "[User Action] User installed app from $source",
	"users.behaviors.Purchase":                       "[Purchase] Customer purchased $product_id for $price $currency",
	"users.messages.contentcard.Click":               "[Content Card engagement] Clicked on $campaign_name content card",
	"users.messages.email.Bounce":                    "[Alerting or negative] Email hard-bounced. This person's email appears to be no longer valid",
	"users.messages.email.Click":                     "[Email campaign engagement] Clicked in email $campaign_name on $url",
	"users.messages.email.Delivery":                  "[Nurturing] Received email $campaign_name",
	"users.messages.email.Open":                      "[Email campaign engagement] Opened email $campaign_name",
	"users.messages.email.Unsubscribe":               "[Subscription status change] Unsubscribed from $campaign_name",
	"users.messages.inappmessage.Click":              "[In-app campaign engagement] Clicked on message $campaign_name",
	"users.messages.pushnotification.Open":           "[Push notification engagement] Clicked on notification $campaign_name",
	"users.messages.sms.InboundReceive":              "[SMS/mobile campaign engagement] We received a message from this person to our internal number $inbound_phone_number: $message_body",
	"users.messages.sms.ShortLinkClick":              "[SMS/mobile campaign engagement] Clicked on $short_url",
	"users.messages.whatsapp.InboundReceive":         "[WhatsApp engagement] We received a message from this person to our WhatsApp number $inbound_phone_number: $message_body",
	"users.messages.whatsapp.Read":                   "[WhatsApp engagement] Lead read our message from the $campaign_name campaign",
	"users.behaviors.subscription.GlobalStateChange": "[Subscription status change] Global marketing subscription setting set to $subscription_status",
	"users.behaviors.subscriptiongroup.StateChange":  "[Subscription status change] $subscription_status to/from $campaign_name",
}

// Fallbacks decide what a placeholder shows when its property is missing, null or blank: the
// first present key of its chain, else the marker. A Canvas-sent message has no campaign, so
// $campaign_name falls back to the Canvas name, then to the ids. Documented in docs/activities.md.
var Fallbacks = map[string]struct {
	Keys   []string
	Marker string
}{
	"campaign_name":        {[]string{"campaign_name", "canvas_name", "campaign_id", "canvas_id"}, "(unnamed campaign)"},
	"canvas_name":          {[]string{"canvas_name", "canvas_id"}, "(unnamed Canvas)"},
	"name":                 {[]string{"name"}, "(unnamed event)"},
	"source":               {[]string{"source"}, "(unknown source)"},
	"product_id":           {[]string{"product_id"}, "(unknown product)"},
	"price":                {[]string{"price"}, "(unknown price)"},
	"currency":             {[]string{"currency"}, "(unknown currency)"},
	"url":                  {[]string{"url", "link_alias", "link_id"}, "(unknown link)"},
	"short_url":            {[]string{"short_url", "url"}, "(unknown link)"},
	"inbound_phone_number": {[]string{"inbound_phone_number"}, "(unknown number)"},
	"message_body":         {[]string{"message_body", "quick_reply_text"}, "(no text)"},
	"subscription_status":  {[]string{"subscription_status"}, "(unknown status)"},
}

var placeholder = regexp.MustCompile(`\$[a-z_]+`)

// Supported reports whether the event type becomes an activity. Other types are stored and
// counted but not turned into activities.
func Supported(eventType string) bool {
	_, ok := templates[eventType]
	return ok
}

// SupportedTypes lists the 19 event types that become activities.
func SupportedTypes() []string {
	out := make([]string, 0, len(templates))
	for t := range templates {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// ActivityNames lists the 19 activity templates, for suggestions in the rule builder.
func ActivityNames() map[string]string {
	out := make(map[string]string, len(templates))
	for k, v := range templates {
		out[k] = v
	}
	return out
}

// otherTypeNames name the event types of activities that do not come from Braze: the website
// tracker's and tracked links' (domain/tracker).
var otherTypeNames = map[string]string{
	"web.page_view":          "Website · Visited a page",
	"web.page_leave":         "Website · Read a page",
	"web.form_submit":        "Website · Submitted a form",
	"web.custom":             "Website · Custom event",
	"sales_email.link_click": "Sales email · Clicked a tracked link",
}

// TypeName names an event type for people: its activity category and what happened, e.g.
// "Email campaign engagement · Opened email" for users.messages.email.Open. An unknown type
// keeps its Braze name.
func TypeName(eventType string) string {
	if name, ok := otherTypeNames[eventType]; ok {
		return name
	}
	tpl, ok := templates[eventType]
	if !ok || !strings.HasPrefix(tpl, "[") {
		return eventType
	}
	category, rest, _ := strings.Cut(tpl[1:], "] ")
	rest, _, _ = strings.Cut(rest, "$")
	rest = strings.TrimSpace(rest)
	for _, word := range []string{" on", " for", " in", " to", " from", " with", " at", " via"} {
		rest = strings.TrimSuffix(rest, word)
	}
	if rest == "" {
		return category
	}
	return category + " · " + rest
}

// ActivityName renders the event's activity name. ok is false for unsupported types.
func (e Event) ActivityName() (string, bool) {
	tpl, ok := templates[e.Type]
	if !ok {
		return "", false
	}
	return placeholder.ReplaceAllStringFunc(tpl, func(token string) string {
		return e.fill(token[1:])
	}), true
}

func (e Event) fill(field string) string {
	fb, ok := Fallbacks[field]
	if !ok {
		fb.Keys, fb.Marker = []string{field}, "(unknown "+strings.ReplaceAll(field, "_", " ")+")"
	}
	for _, key := range fb.Keys {
		if v, ok := e.Prop(key); ok {
			// One line on the timeline: newlines a person typed become spaces.
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return fb.Marker
}

// ToActivity builds the activity of a supported event, ready to store once its lead and
// event row are set. Properties holds every property, custom_properties and
// purchase_properties included, for the rule engine.
func (e Event) ToActivity() (model.ActivityRow, bool) {
	name, ok := e.ActivityName()
	if !ok {
		return model.ActivityRow{}, false
	}
	a := model.ActivityRow{Name: name, Source: SourceBraze, EventType: e.Type, OccurredAt: e.Time}
	a.CampaignID, _ = e.Prop("campaign_id")
	a.CampaignName, _ = e.Prop("campaign_name")
	a.CanvasID, _ = e.Prop("canvas_id")
	a.CanvasName, _ = e.Prop("canvas_name")
	a.URL, _ = e.Prop("url")
	if e.propertiesRaw != nil {
		a.Properties = pretty.Ugly(e.propertiesRaw)
	} else {
		a.Properties, _ = json.Marshal(e.Properties)
	}
	// PostgreSQL's jsonb cannot hold the NUL character; keep the rest of the text.
	a.Properties = bytes.ReplaceAll(a.Properties, []byte(`\u0000`), []byte(`\ufffd`))
	return a, true
}
