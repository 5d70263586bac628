package currentstest

import "strings"

// LongMessage is the 5,000-character WhatsApp message body of the poison events.
var LongMessage = strings.Repeat("長い", 2500)

// Poison returns events that once were acknowledged and then failed processing forever
// (stopping every workspace's events behind them), or failed their whole request: NUL in
// every kind of field, lone surrogates, invalid UTF-8, a 5,000-character WhatsApp message,
// NUL in an event id and type, and (last, the only one to be rejected) properties nested
// 100,000 levels deep. Ids and Braze user ids start with prefix, so workspaces and repeated
// sends can tell them apart.
func Poison(prefix string) []string {
	p := prefix
	return []string{
		`{"id":"` + p + `-nul-email","event_type":"users.messages.email.Open","time":1773000000,"user":{"user_id":"` + p + `-u1"},"properties":{"email_address":"nul\u0000@x.example.com","campaign_name":"C"}}`,
		`{"id":"` + p + `-nul-ids","event_type":"users.messages.email.Open","time":1773000001,"user":{"user_id":"` + p + `-u\u00002","external_user_id":"ext\u0000` + p + `"},"properties":{"email_address":"` + p + `.two@poison.example.com","campaign_name":"Camp\u0000aign","url":"https://x.example.com/\u0000"}}`,
		`{"id":"` + p + `-nul-name","event_type":"users.behaviors.CustomEvent","time":1773000002,"user":{"user_id":"` + p + `-u3"},"properties":{"name":"evil\u0000name"}}`,
		`{"id":"` + p + `-surrogate","event_type":"users.messages.email.Click","time":1773000003,"user":{"user_id":"` + p + `-u3"},"properties":{"email_address":"` + p + `.three@poison.example.com","campaign_name":"\ud800 lone","url":"https://x.example.com/\udfff"}}`,
		`{"id":"` + p + `-utf8","event_type":"users.messages.email.Open","time":1773000004,"user":{"user_id":"` + p + `-u3"},"properties":{"email_address":"` + p + `.three@poison.example.com","campaign_name":"caf` + "\xe9\xff" + `"}}`,
		`{"id":"` + p + `-whatsapp","event_type":"users.messages.whatsapp.InboundReceive","time":1773000005,"user":{"user_id":"` + p + `-u3"},"properties":{"inbound_phone_number":"+12025550199","message_body":"` + LongMessage + `"}}`,
		`{"id":"` + p + `-nul\u0000id","event_type":"users.behaviors.CustomEvent\u0000","time":1773000006,"user":{"user_id":"` + p + `-u1"},"properties":{"name":"x"}}`,
		`{"id":"` + p + `-deep","event_type":"users.behaviors.CustomEvent","time":1773000007,"user":{"user_id":"` + p + `-u1"},"properties":{"name":"deep","custom_properties":` +
			strings.Repeat(`{"a":`, 100_000) + `1` + strings.Repeat(`}`, 100_000) + `}}`,
	}
}

// PoisonRejected is how many of Poison's events a server must reject (the deep one).
const PoisonRejected = 1

// Batch wraps events in a Currents request body.
func Batch(events ...string) []byte {
	return []byte(`{"events":[` + strings.Join(events, ",") + `]}`)
}
