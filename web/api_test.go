package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

type apiReply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func callAPI(t *testing.T, base, method, path, token string, body any) apiReply {
	t.Helper()
	return callAPIWith(t, base, method, path, token, body, nil)
}

// callAPIWith calls the API with extra headers and checks the answer against the OpenAPI
// document.
func callAPIWith(t *testing.T, base, method, path, token string, body any, headers map[string]string) apiReply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := apiReply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	if res.StatusCode >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%s %s: %d answered %q, not a problem document: %s", method, path, res.StatusCode, res.Header.Get("Content-Type"), raw)
	}
	if res.StatusCode != http.StatusNotFound || !strings.Contains(path, "nothing-here") {
		checkAgainstDocument(t, req, res, raw)
	}
	return r
}

// TestAPIEventsAndTokens: an admin makes a scoped, expiring token in Settings › API tokens;
// events with an email, an anonymous id identified later and an external id are stored once
// by their id (202, per-event problems listed), become "[API] …" activities of the right
// people; wrong, revoked, expired and under-scoped tokens, bad bodies, too many events and
// too many requests get the documented problem answers.
func TestAPIEventsAndTokens(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", "PEREGRINE_API_RATE": "5"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	ctx := context.Background()
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")

	// The form explains what is missing; then a token with one scope.
	r := ada.post("/settings/api-tokens", url.Values{"label": {"CI"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Choose at least one scope") {
		t.Fatal("a token without scopes is not explained")
	}
	assertStatus(t, ada.post("/settings/api-tokens", url.Values{"label": {"CI"}, "scopes": {"events:write"},
		"expires": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}}), http.StatusSeeOther)
	m := newTokenField.FindStringSubmatch(ada.get("/settings/api-tokens").body)
	if m == nil {
		t.Fatal("the new token is not shown")
	}
	token := m[1]
	if strings.Contains(ada.get("/settings/api-tokens").body, token) {
		t.Fatal("the token is shown twice")
	}

	// Authentication and scopes.
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", "", map[string]any{"events": []any{}}); r.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.status)
	}
	currents, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", currents, map[string]any{"events": []any{}}); r.status != http.StatusUnauthorized {
		t.Fatalf("a Currents token on the API: %d", r.status)
	}
	past := time.Now().Add(-time.Hour)
	expired, _, err := ingest.CreateAPIToken(ctx, s.Store, acme.ID, ingest.APITokenSpec{Label: "old", Scopes: []string{"events:write"}})
	if err != nil {
		t.Fatal(err)
	}
	s.DB.Exec(`UPDATE api_tokens SET expires_at = $1 WHERE label = 'old'`, past)
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", expired, map[string]any{"events": []any{}}); r.status != http.StatusUnauthorized ||
		!strings.Contains(fmt.Sprint(r.body["detail"]), "expired") {
		t.Fatalf("expired token: %d %s", r.status, r.raw)
	}
	reader, _, _ := ingest.CreateAPIToken(ctx, s.Store, acme.ID, ingest.APITokenSpec{Label: "reader", Scopes: []string{"leads:read"}})
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", reader, map[string]any{"events": []any{}}); r.status != http.StatusForbidden ||
		!strings.Contains(fmt.Sprint(r.body["detail"]), "events:write") {
		t.Fatalf("missing scope: %d %s", r.status, r.raw)
	}

	// Events: an email's, an anonymous visitor's later identified, and one with problems.
	now := time.Now().UTC().Truncate(time.Second)
	batch := map[string]any{"events": []any{
		map[string]any{"id": "e-1", "type": "track", "email": "Lena@Northwind.example", "name": "Webinar attended",
			"properties": map[string]any{"webinar": "Scoring 101"}, "timestamp": now.Add(-2 * time.Hour).Format(time.RFC3339)},
		map[string]any{"id": "e-2", "type": "page", "anonymous_id": "visitor-42", "url": "https://www.example.com/pricing?utm_source=ads",
			"timestamp": now.Add(-time.Hour).Format(time.RFC3339)},
		map[string]any{"id": "e-3", "type": "track", "email": "lena@northwind.example", "timestamp": "yesterday"},
	}}
	a := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, batch)
	if a.status != http.StatusAccepted || a.body["stored"] != 2.0 {
		t.Fatalf("events: %d %s", a.status, a.raw)
	}
	probs := fmt.Sprint(a.body["problems"])
	if !strings.Contains(probs, "/events/2/name") || !strings.Contains(probs, "/events/2/timestamp") {
		t.Fatalf("problems: %s", probs)
	}
	if a.header.Get("RateLimit-Limit") != "10" || a.header.Get("RateLimit-Remaining") == "" {
		t.Fatalf("rate headers: %v", a.header)
	}
	a = callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, map[string]any{"events": []any{
		map[string]any{"id": "e-4", "type": "identify", "email": "lena@northwind.example", "anonymous_id": "visitor-42",
			"traits": map[string]any{"first_name": "Lena", "title": "VP Sales"}}}})
	if a.status != http.StatusAccepted {
		t.Fatalf("identify: %d %s", a.status, a.raw)
	}
	var lead int64
	waitFor(t, "lena's events", func() bool {
		s.DB.QueryRow(`SELECT id FROM leads WHERE email = 'lena@northwind.example' AND first_name = 'Lena' AND title = 'VP Sales'`).Scan(&lead)
		return lead != 0 && countRows(t, s, `SELECT count(*) FROM activities WHERE lead_id = $1 AND source = 'api'`, lead) == 2
	})
	if n := countRows(t, s, `SELECT count(*) FROM activities WHERE lead_id = $1 AND name IN ('[API] Webinar attended', '[API] Viewed /pricing')`, lead); n != 2 {
		t.Fatalf("%d activities named as documented", n)
	}
	// The same ids again: nothing stored twice.
	a = callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, batch)
	if a.status != http.StatusAccepted || a.body["stored"] != 0.0 || a.body["duplicates"] != 2.0 {
		t.Fatalf("retry: %s", a.raw)
	}
	// Bad bodies.
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, `{"event": []}`); r.status != http.StatusBadRequest {
		t.Fatalf("no events array: %d", r.status)
	}
	many := make([]any, ingest.MaxAPIEvents+1)
	for i := range many {
		many[i] = map[string]any{"id": fmt.Sprint("m", i), "type": "track", "email": "x@y.example", "name": "n"}
	}
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, map[string]any{"events": many}); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("too many events: %d", r.status)
	}
	a = callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, map[string]any{"events": []any{map[string]any{"id": "z", "type": "purchase"}}})
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.raw, "/events/0/type") {
		t.Fatalf("all invalid: %d %s", a.status, a.raw)
	}
	// The rate limit: 5 a second in bursts of 10; a quick run of 30 meets 429 with Retry-After.
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, map[string]any{"events": []any{}})
		limited = r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != ""
	}
	if !limited {
		t.Fatal("30 requests at once were never limited")
	}
	// Revoked.
	var id int64
	s.DB.QueryRow(`SELECT id FROM api_tokens WHERE label = 'CI'`).Scan(&id)
	assertStatus(t, ada.post(fmt.Sprintf("/settings/api-tokens/%d/revoke", id), nil), http.StatusSeeOther)
	if r := callAPI(t, s.URL, http.MethodPost, "/api/v1/events", token, map[string]any{"events": []any{}}); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked: %d", r.status)
	}
	// Unknown API routes answer problem documents too.
	if r := callAPI(t, s.URL, http.MethodGet, "/api/v1/nothing-here", reader, nil); r.status != http.StatusNotFound {
		t.Fatalf("unknown route: %d", r.status)
	}
}
