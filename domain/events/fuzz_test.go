package events

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/jsonsafe"
)

// Seeds: Peregrine's own batches, and the inputs that once crashed the server or stalled
// processing (NUL in every field, lone surrogates, invalid UTF-8, deep nesting, long texts).
var fuzzSeeds = []string{
	`{"events":[{"id":"a\u0000","event_type":"users.messages.email.Open\u0000","time":1,"user":{"user_id":"u\u0000","external_user_id":"e\u0000"},"properties":{"email_address":"x\u0000@y.io","campaign_name":"c\u0000","url":"https://x/\u0000"}}]}`,
	`{"events":[{"id":"s","event_type":"users.messages.email.Click","time":1,"properties":{"campaign_name":"\ud800","url":"\udfff x"}}]}`,
	"{\"events\":[{\"id\":\"b\",\"event_type\":\"users.behaviors.CustomEvent\",\"time\":1,\"properties\":{\"name\":\"caf\xe9\xff\"}}]}",
	`{"events":[{"id":"d","event_type":"users.behaviors.CustomEvent","time":1,"properties":{"name":"n","custom_properties":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}}]}`,
	`{"events":[` + strings.Repeat("[", 1000),
	`{"events":[{"id":"w","event_type":"users.messages.whatsapp.InboundReceive","time":1,"properties":{"inbound_phone_number":"+1","message_body":"` + strings.Repeat("長", 3000) + `"}}]}`,
	`{"events":[{"id":"p","event_type":"users.behaviors.Purchase","time":1e10,"properties":{"product_id":"p","price":1e400,"currency":"\u0000"}}]}`,
	`{"events":[{"id":"f","event_type":"users.behaviors.CustomEvent","time":1,"properties":{"name":"n","properties":"{\"a\":\"\\u0000\"}"}}]}`,
}

// FuzzDecodeBatch: whatever the body, decoding never panics, and every event it accepts is
// storable as it is and decodes again when processed.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add(currentstest.Read("mixed-batch.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		good, bad, err := DecodeBatch(body)
		if err != nil {
			return
		}
		for _, r := range bad {
			if r.Reason == "" {
				t.Fatal("a rejected event without a reason")
			}
		}
		for _, ev := range good {
			checkStorable(t, "id", ev.ID)
			checkStorable(t, "event_type", ev.Type)
			if len(ev.ID) > 200 || len(ev.Type) > 200 {
				t.Fatalf("unbounded id or type: %d, %d bytes", len(ev.ID), len(ev.Type))
			}
			checkJSON(t, ev.Raw)
			if _, err := DecodeEvent(ev.Raw); err != nil {
				t.Fatalf("an accepted event does not decode when processed: %v\n%s", err, ev.Raw)
			}
		}
	})
}

// FuzzActivity: whatever one stored event holds, building its activity never panics and
// gives a name, identifiers and properties PostgreSQL can store.
func FuzzActivity(f *testing.F) {
	for _, s := range fuzzSeeds {
		if evs, _, err := DecodeBatch([]byte(s)); err == nil {
			for _, e := range evs {
				f.Add(e.Raw)
			}
		}
	}
	for _, name := range currentstest.Names() {
		evs, _, _ := DecodeBatch(currentstest.Read(name))
		f.Add(evs[0].Raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := DecodeEvent(raw)
		if err != nil {
			return
		}
		for what, s := range map[string]string{"user_id": ev.UserID, "external_user_id": ev.ExternalUserID, "email": ev.Email(), "phone": ev.Phone()} {
			checkStorable(t, what, s)
			if len(s) > MaxIdentifierBytes {
				t.Fatalf("%s of %d bytes", what, len(s))
			}
		}
		a, ok := ev.ToActivity()
		if !ok {
			return
		}
		checkStorable(t, "name", a.Name)
		for what, s := range map[string]string{"campaign": a.CampaignName, "canvas": a.CanvasName, "url": a.URL} {
			checkStorable(t, what, s)
		}
		if len(a.Properties) > 0 {
			checkJSON(t, a.Properties)
		}
	})
}

func checkStorable(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		t.Fatalf("%s %q cannot be stored in PostgreSQL", what, s)
	}
}

// checkJSON: valid, nested at most MaxDepth levels, no escape jsonb refuses.
func checkJSON(t *testing.T, doc []byte) {
	t.Helper()
	if err := jsonsafe.Validate(doc, jsonsafe.MaxDepth); err != nil {
		t.Fatalf("%v: %.200s", err, doc)
	}
	if !utf8.Valid(doc) || string(jsonsafe.Clean(doc)) != string(doc) {
		t.Fatalf("JSON with NUL, lone surrogates or invalid UTF-8: %.200s", doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
}
