package segment

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The examples of segment.md §1.3, in the documented shapes.
const (
	trackExample = `{"type":"track","event":"Pricing Page Viewed","userId":"crm-000482","anonymousId":"5b2a4f1e-93c7-4d1a-b8e0-7f6c5d4e3a21",
 "messageId":"ajs-next-1732202210-7c1e2d3f","timestamp":"2024-11-21T15:16:50.120Z","sentAt":"2024-11-21T15:16:50.310Z",
 "receivedAt":"2024-11-21T15:16:50.402Z","originalTimestamp":"2024-11-21T15:16:50.028Z","properties":{"plan":"enterprise","seats":50},
 "context":{"ip":"203.0.113.24","userAgent":"Mozilla/5.0","library":{"name":"analytics.js","version":"next-1.70.0"},
  "page":{"path":"/pricing","referrer":"https://www.google.com/","search":"?utm_source=newsletter","title":"Pricing | Example",
   "url":"https://www.example.com/pricing?utm_source=newsletter"},"campaign":{"source":"newsletter"},"locale":"de-CH","timezone":"Europe/Zurich"},
 "integrations":{},"version":2}`
	identifyExample = `{"type":"identify","userId":"crm-000482","anonymousId":"5b2a4f1e-93c7-4d1a-b8e0-7f6c5d4e3a21",
 "traits":{"email":"anna.keller@example.com","firstName":"Anna","company":{"name":"Acme AG"}},
 "messageId":"ajs-next-1732202300-1a2b3c4d","timestamp":"2024-11-21T15:18:20.000Z"}`
	pageExample = `{"type":"page","name":"Pricing","messageId":"ajs-page-1","anonymousId":"5b2a",
 "properties":{"title":"Pricing | Example","url":"https://www.example.com/pricing?utm_campaign=spring","path":"/pricing","referrer":"https://www.google.com/"}}`
	groupExample = `{"type":"group","groupId":"acct-7781","userId":"crm-000482","messageId":"m-group-1",
 "traits":{"name":"Acme AG","industry":"Software","employees":"250","plan":"enterprise","website":"https://www.acme.example"}}`
)

var now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestDecodeExamples(t *testing.T) {
	m, err := Decode([]byte(trackExample), now)
	if err != nil || m.Type != Track || m.UserID != "crm-000482" || !m.Time.Equal(time.Date(2024, 11, 21, 15, 16, 50, 120e6, time.UTC)) {
		t.Fatalf("track: %+v %v", m, err)
	}
	a, ok := Activity(m)
	var props map[string]any
	json.Unmarshal(a.Properties, &props)
	if !ok || a.Name != "[Segment] Pricing Page Viewed" || a.EventType != EventTrack || a.Source != "segment" ||
		props["plan"] != "enterprise" || props["path"] != "/pricing" || props["utm_source"] != "newsletter" || a.URL == "" {
		t.Fatalf("track activity %+v %v", a, props)
	}

	m, err = Decode([]byte(identifyExample), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Activity(m); ok {
		t.Fatal("an identify became an activity")
	}
	p := ProfileOf(m)
	if p.Email != "anna.keller@example.com" || p.FirstName != "Anna" || p.Company != "Acme AG" {
		t.Fatalf("identify profile %+v", p)
	}

	m, err = Decode([]byte(pageExample), now)
	if err != nil || !m.Time.Equal(now) {
		t.Fatalf("page without time: %+v %v", m, err)
	}
	a, _ = Activity(m)
	json.Unmarshal(a.Properties, &props)
	if a.Name != "[Segment] Viewed Pricing" || a.EventType != EventPage || props["utm_campaign"] != "spring" || props["host"] != "www.example.com" {
		t.Fatalf("page activity %+v %v", a, props)
	}

	m, err = Decode([]byte(groupExample), now)
	if err != nil {
		t.Fatal(err)
	}
	acc := AccountOf(m)
	if acc.Name != "Acme AG" || acc.Domain != "acme.example" || acc.Employees == nil || *acc.Employees != 250 {
		t.Fatalf("group account %+v", acc)
	}

	m, _ = Decode([]byte(`{"type":"screen","name":"Dashboard","userId":42,"messageId":"s1"}`), now)
	if a, ok := Activity(m); !ok || a.Name != "[Segment] Viewed screen Dashboard" || m.UserID != "42" {
		t.Fatalf("screen %+v %+v", a, m)
	}
}

func TestDecodeRefusesWithReasons(t *testing.T) {
	for body, want := range map[string]string{
		`{"type":"track","event":"x","userId":"u"}`:                                                "no messageId",
		`{"type":"track","event":"x","messageId":"m"}`:                                             "neither userId nor anonymousId",
		`{"type":"track","messageId":"m","userId":"u"}`:                                            "needs its event name",
		`{"type":"purchase","messageId":"m","userId":"u"}`:                                         "unknown message type",
		`{"messageId":"m","userId":"u"}`:                                                           "has no type",
		`{"type":"group","messageId":"m","userId":"u"}`:                                            "needs its groupId",
		`{"type":"track","event":"x","messageId":"m","userId":{"a":1}}`:                            "must be a string",
		`{"type":"track","event":"x","messageId":"` + strings.Repeat("m", 201) + `","userId":"u"}`: "longer than 200",
	} {
		if _, err := Decode([]byte(body), now); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

func TestSplit(t *testing.T) {
	if list, err := Split([]byte(" " + trackExample + "\n")); err != nil || len(list) != 1 {
		t.Fatalf("single: %d %v", len(list), err)
	}
	if list, err := Split([]byte("[" + trackExample + "," + pageExample + "]")); err != nil || len(list) != 2 {
		t.Fatalf("batch: %d %v", len(list), err)
	}
	for _, bad := range []string{"", "42", `"x"`, "{", "[1,"} {
		if _, err := Split([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	big := "[" + strings.TrimSuffix(strings.Repeat(`{},`, MaxBatch+1), ",") + "]"
	if _, err := Split([]byte(big)); err == nil || !strings.Contains(err.Error(), "at most 4000") {
		t.Fatalf("oversized batch: %v", err)
	}
}

// The signature covers the raw body; for a batch, Webhooks (Actions) has signed the first
// message alone as JSON.stringify wrote it — both are accepted, nothing else is.
func TestVerifySignature(t *testing.T) {
	secret := []byte("shh-its-a-secret")
	body := []byte(trackExample)
	if !VerifySignature(secret, body, Sign(secret, body)) || !VerifySignature(secret, body, strings.ToUpper(Sign(secret, body))) {
		t.Fatal("a correct signature refused")
	}
	if VerifySignature(secret, body, Sign([]byte("other"), body)) || VerifySignature(secret, body, "") || VerifySignature(secret, body, "zz") {
		t.Fatal("a wrong signature accepted")
	}
	// A batch as JSON.stringify writes it: compact, keys in order, "<" not escaped.
	first := `{"type":"track","event":"a<b","messageId":"m1","userId":"u"}`
	batch := []byte(`[` + first + `,{"type":"page","messageId":"m2","userId":"u"}]`)
	if !VerifySignature(secret, batch, Sign(secret, batch)) {
		t.Fatal("a whole-batch signature refused")
	}
	if !VerifySignature(secret, batch, Sign(secret, []byte(first))) {
		t.Fatal("the first-message signature of a batch refused")
	}
	// Go's encoding/json would write "a\u003cb": that signature must not match.
	goJSON, _ := json.Marshal(map[string]string{"event": "a<b", "messageId": "m1", "type": "track", "userId": "u"})
	if VerifySignature(secret, batch, Sign(secret, goJSON)) {
		t.Fatal("a re-marshalled first message matched")
	}
	if VerifySignature(secret, []byte(first), Sign(secret, []byte(`{"x":1}`))) {
		t.Fatal("a single message accepted with another body's signature")
	}
}

func TestProfileTraits(t *testing.T) {
	m, _ := Decode([]byte(`{"type":"identify","userId":"u","messageId":"i","traits":{"email":"LEE@Example.com","name":"Lee Min Ho",
		"title":"CTO","phone":"+41 44 000 00 00","company":{"name":"Globex","industry":"Energy","employee_count":1200},
		"address":{"country":"CH"},"plan":"pro","seats":12}}`), now)
	p := ProfileOf(m)
	if p.Email != "lee@example.com" || p.FirstName != "Lee" || p.LastName != "Min Ho" || p.Title != "CTO" || p.Company != "Globex" ||
		p.Industry != "Energy" || p.Employees == nil || *p.Employees != 1200 || p.Country != "CH" || p.Custom["plan"] != "pro" || p.Custom["email"] != nil {
		t.Fatalf("profile %+v", p)
	}
}
