package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/segment"
)

type segmentReply struct {
	status int
	body   string
	result struct {
		Received   int `json:"received"`
		Stored     int `json:"stored"`
		Duplicates int `json:"duplicates"`
		Rejected   []struct {
			Index  int    `json:"index"`
			Reason string `json:"reason"`
		} `json:"rejected"`
		Error string `json:"error"`
	}
}

func postSegment(t *testing.T, base, method, token string, body []byte, signature string) segmentReply {
	t.Helper()
	req, _ := http.NewRequest(method, base+"/api/segment/events", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Segment.io/1.0")
	if signature != "" {
		req.Header.Set("X-Signature", signature)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := segmentReply{status: res.StatusCode, body: string(raw)}
	if err := json.Unmarshal(raw, &r.result); err != nil {
		t.Fatalf("%d: not JSON: %s", res.StatusCode, raw)
	}
	return r
}

// TestSegmentIntake: a marketer connects Segment; every call type arrives singly and in
// batches; history before the identify attaches to the person, traits fill the profile and
// the company; retries store nothing twice; malformed messages are refused with their reason
// while the rest are stored; with a shared secret, unsigned or wrongly signed deliveries get
// 401 and both documented signatures pass.
func TestSegmentIntake(t *testing.T) {
	s := newServer(t, nil)
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	assertStatus(t, ada.post("/integrations/segment/tokens", url.Values{"label": {"Segment prod"}}), http.StatusSeeOther)
	m := newTokenField.FindStringSubmatch(ada.get("/integrations/segment").body)
	if m == nil {
		t.Fatal("the new token is not shown")
	}
	token := m[1]

	if r := postSegment(t, s.URL, http.MethodPost, "", []byte(`{}`), ""); r.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.status)
	}
	if r := postSegment(t, s.URL, http.MethodPost, token+"x", []byte(`{}`), ""); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", r.status)
	}

	// Anonymous browsing, then an identify that names the anonymous visitor.
	track := `{"type":"track","event":"Pricing Page Viewed","anonymousId":"anon-anna-0001","messageId":"m-1","timestamp":"2026-11-20T10:00:00Z",
		"properties":{"plan":"enterprise"},"context":{"page":{"path":"/pricing","url":"https://www.example.com/pricing?utm_source=newsletter"}}}`
	page := `{"type":"page","name":"Pricing","anonymousId":"anon-anna-0001","messageId":"m-2","timestamp":"2026-11-20T10:01:00Z",
		"properties":{"url":"https://www.example.com/pricing","path":"/pricing","title":"Pricing | Example"}}`
	if r := postSegment(t, s.URL, http.MethodPost, token, []byte(track), ""); r.status != http.StatusOK || r.result.Stored != 1 {
		t.Fatalf("track: %d %s", r.status, r.body)
	}
	if r := postSegment(t, s.URL, http.MethodPut, token, []byte(page), ""); r.status != http.StatusOK || r.result.Stored != 1 {
		t.Fatalf("page by PUT: %d %s", r.status, r.body)
	}
	waitFor(t, "the anonymous activities", func() bool {
		return countRows(t, s, `SELECT count(*) FROM activities WHERE source = 'segment' AND lead_id IS NULL`) == 2
	})
	identify := `{"type":"identify","userId":"crm-000482","anonymousId":"anon-anna-0001","messageId":"m-3","timestamp":"2026-11-20T10:05:00Z",
		"traits":{"email":"anna.keller@fjord-ag.example","firstName":"Anna","lastName":"Keller","title":"Head of Operations",
		"company":{"name":"Fjord AG","industry":"Logistics","employee_count":420},"plan":"pro"}}`
	if r := postSegment(t, s.URL, http.MethodPatch, token, []byte(identify), ""); r.status != http.StatusOK {
		t.Fatalf("identify: %d %s", r.status, r.body)
	}
	var lead int64
	waitFor(t, "anna identified with her history", func() bool {
		s.DB.QueryRow(`SELECT id FROM leads WHERE email = 'anna.keller@fjord-ag.example' AND first_name = 'Anna'`).Scan(&lead)
		return lead != 0 && countRows(t, s, `SELECT count(*) FROM activities WHERE lead_id = $1 AND source = 'segment'`, lead) == 2
	})
	var title, company, custom string
	s.DB.QueryRow(`SELECT title, company, custom_attributes->>'plan' FROM leads WHERE id = $1`, lead).Scan(&title, &company, &custom)
	if title != "Head of Operations" || company != "Fjord AG" || custom != "pro" {
		t.Fatalf("traits not applied: %q %q %q", title, company, custom)
	}

	// A batch from another device: userId only, then a group call.
	batch := `[{"type":"track","event":"Demo Requested","userId":"crm-000482","messageId":"m-4","timestamp":"2026-11-21T09:00:00Z"},
		{"type":"screen","name":"Dashboard","userId":"crm-000482","messageId":"m-5","timestamp":"2026-11-21T09:01:00Z"},
		{"type":"group","groupId":"acct-7781","userId":"crm-000482","messageId":"m-6","traits":{"name":"Fjord Logistics AG","industry":"Logistics","employees":"450"}},
		{"type":"alias","previousId":"old-crm-17","userId":"crm-000482","messageId":"m-6b"}]`
	r := postSegment(t, s.URL, http.MethodPost, token, []byte(batch), "")
	if r.status != http.StatusOK || r.result.Received != 4 || r.result.Stored != 4 {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	if n := countRows(t, s, `SELECT count(*) FROM inbound_events WHERE event_type = 'segment.alias' AND state = 'ignored'`); n != 1 {
		t.Fatal("the alias is not kept as stored-not-processed")
	}
	waitFor(t, "the userId's events on anna", func() bool {
		return countRows(t, s, `SELECT count(*) FROM activities WHERE lead_id = $1`, lead) == 4 &&
			countRows(t, s, `SELECT count(*) FROM accounts WHERE name = 'Fjord Logistics AG' AND employees = 450`) == 1
	})
	names := map[string]bool{}
	rows, _ := s.DB.Query(`SELECT name FROM activities WHERE lead_id = $1`, lead)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names[n] = true
	}
	rows.Close()
	for _, want := range []string{"[Segment] Pricing Page Viewed", "[Segment] Viewed Pricing", "[Segment] Demo Requested", "[Segment] Viewed screen Dashboard"} {
		if !names[want] {
			t.Fatalf("no activity %q in %v", want, names)
		}
	}
	// Retries are harmless.
	r = postSegment(t, s.URL, http.MethodPost, token, []byte(batch), "")
	if r.status != http.StatusOK || r.result.Stored != 0 || r.result.Duplicates != 4 {
		t.Fatalf("retry: %s", r.body)
	}
	if page := ada.get("/leads/" + itoa(lead)); !strings.Contains(page.body, "Identified through Segment") {
		t.Fatal("the lead page does not say Segment identified her")
	}

	// Malformed input is refused with the reason; the good messages of a batch are stored.
	for body, want := range map[string]string{`{}`: "has no type", `"hello"`: "must be a Segment message", `[{"type":"track","userId":"u","event":"x"}]`: ""} {
		r := postSegment(t, s.URL, http.MethodPost, token, []byte(body), "")
		if want != "" && (r.status != http.StatusBadRequest || !strings.Contains(r.result.Error, want)) {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
	}
	mixed := `[{"type":"track","event":"Webinar Joined","userId":"crm-000482","messageId":"m-7"},{"type":"track","userId":"crm-000482","messageId":"m-8"}]`
	r = postSegment(t, s.URL, http.MethodPost, token, []byte(mixed), "")
	if r.status != http.StatusOK || r.result.Stored != 1 || len(r.result.Rejected) != 1 || r.result.Rejected[0].Index != 1 ||
		!strings.Contains(r.result.Rejected[0].Reason, "needs its event name") {
		t.Fatalf("mixed batch: %d %s", r.status, r.body)
	}

	// A shared secret: signatures are required and checked.
	secret := "a-long-shared-secret-1234"
	assertStatus(t, ada.post("/integrations/segment/secret", url.Values{"secret": {"short"}}), http.StatusUnprocessableEntity)
	assertStatus(t, ada.post("/integrations/segment/secret", url.Values{"secret": {secret}}), http.StatusSeeOther)
	if n := countRows(t, s, `SELECT count(*) FROM segment_sources WHERE position(convert_to($1, 'UTF8') in secret_enc) > 0`, secret); n != 0 {
		t.Fatal("the secret is stored in the clear")
	}
	one := []byte(`{"type":"track","event":"Signed","userId":"crm-000482","messageId":"m-9"}`)
	if r := postSegment(t, s.URL, http.MethodPost, token, one, ""); r.status != http.StatusUnauthorized || !strings.Contains(r.result.Error, "Missing X-Signature") {
		t.Fatalf("unsigned: %d %s", r.status, r.body)
	}
	if r := postSegment(t, s.URL, http.MethodPost, token, one, segment.Sign([]byte("another-secret-entirely"), one)); r.status != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d", r.status)
	}
	if r := postSegment(t, s.URL, http.MethodPost, token, one, segment.Sign([]byte(secret), one)); r.status != http.StatusOK || r.result.Stored != 1 {
		t.Fatalf("signed: %d %s", r.status, r.body)
	}
	first := `{"type":"track","event":"Batch <signed>","userId":"crm-000482","messageId":"m-10"}`
	signedBatch := []byte(`[` + first + `,{"type":"page","name":"Docs","userId":"crm-000482","messageId":"m-11"}]`)
	if r := postSegment(t, s.URL, http.MethodPost, token, signedBatch, segment.Sign([]byte(secret), []byte(first))); r.status != http.StatusOK || r.result.Stored != 2 {
		t.Fatalf("batch signed over its first message: %d %s", r.status, r.body)
	}
	if page := ada.get("/integrations/segment"); !strings.Contains(page.body, "Signatures checked") {
		t.Fatal("the page does not say signatures are checked")
	}
}
