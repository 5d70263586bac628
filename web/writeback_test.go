package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// trackCalls are the fake's /users/track requests that write (not the connection test's).
func trackCalls(fake *brazetest.Server) []brazetest.Call {
	var out []brazetest.Call
	for _, c := range fake.Calls() {
		if c.Path == "/users/track" && c.Status == http.StatusCreated && c.Attributes[0]["external_id"] != "peregrine-connection-test" {
			out = append(out, c)
		}
	}
	return out
}

// TestScoresWrittenBackToBraze: with write-back on, a lead's score, labels, grade and
// temperature land on its Braze profile as custom attributes, by external_id, only those that
// changed, never creating a user; a refused object is shown per lead; a key without
// users.track is explained.
func TestScoresWrittenBackToBraze(t *testing.T) {
	s := newServer(t, map[string]string{"PEREGRINE_ALLOW_PRIVATE_HOSTS": "true", "PEREGRINE_OPEN_SIGNUP": "true"})
	fake := brazetest.New(t, "abcd-1234-secret-key-9f3a")
	fake.AddUser(brazetest.User{ExternalID: "cust-1001", BrazeID: "6a01c3e5f7a9b1d3e5f7a901", Email: "nora.lindqvist@fjordsoft.example.com"})
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	assertStatus(t, ada.post("/integrations/braze", url.Values{"api_key": {"abcd-1234-secret-key-9f3a"}, "instance": {"other"}, "other_url": {fake.URL}}), http.StatusSeeOther)
	if page := ada.get("/integrations/braze").body; !strings.Contains(page, "It also has users.track") || !strings.Contains(page, "Write scores back to Braze") {
		t.Fatal("the test does not say whether the key can write back, or the section is missing")
	}
	ctx := context.Background()
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	names, _ := s.Store.ListScoreNames(ctx, acme.ID)
	main := fmt.Sprintf("score:%d", names[0].ID)
	form := url.Values{"enabled": {"1"}, "on": {main, "labels", "grade", "temperature"}, "attr_" + main: {"pg_lead_score"},
		"attr_labels": {"pg_labels"}, "attr_grade": {"pg_grade"}, "attr_temperature": {"pg_temperature"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("attr_grade", "pg_lead_score")
	assertStatus(t, ada.post("/integrations/braze/writeback", bad), http.StatusUnprocessableEntity)
	assertStatus(t, ada.post("/integrations/braze/writeback", form), http.StatusSeeOther)

	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, token, opensAt(t, 0, 1, time.Now().Unix()-60), nil)
	waitFor(t, "the write-back", func() bool { return len(trackCalls(fake)) == 1 })
	call := trackCalls(fake)[0]
	obj := call.Attributes[0]
	if obj["external_id"] != "cust-1001" || obj["_update_existing_only"] != true || obj["pg_lead_score"] == nil || obj["pg_grade"] == nil ||
		obj["pg_temperature"] == nil || obj["pg_labels"] == nil {
		t.Fatalf("first write: %v", obj)
	}
	var nora brazetest.User
	for _, u := range fake.Users() {
		if u.ExternalID == "cust-1001" {
			nora = u
		}
	}
	if nora.CustomAttributes["pg_lead_score"] != obj["pg_lead_score"] {
		t.Fatalf("Braze profile: %v", nora.CustomAttributes)
	}
	// Another open moves the score only: only the score is sent.
	postCurrents(t, s.URL, token, opensAt(t, 1, 1, time.Now().Unix()-50), nil)
	waitFor(t, "the second write-back", func() bool { return len(trackCalls(fake)) == 2 })
	second := trackCalls(fake)[1].Attributes[0]
	if _, sent := second["pg_grade"]; sent || second["pg_lead_score"] == nil {
		t.Fatalf("unchanged values were sent again: %v", second)
	}
	users := len(fake.Users())

	// Braze refuses Nora's object: the page lists it. A key without users.track is explained.
	fake.TrackErrorFor("cust-1001", "provided external_id is blacklisted and disallowed")
	postCurrents(t, s.URL, token, opensAt(t, 2, 1, time.Now().Unix()-40), nil)
	waitFor(t, "the refusal", func() bool { return strings.Contains(ada.get("/integrations/braze").body, "blacklisted") })
	fake.LackTrack(true)
	postCurrents(t, s.URL, token, opensAt(t, 3, 1, time.Now().Unix()-30), nil)
	waitFor(t, "the permission problem", func() bool {
		return strings.Contains(ada.get("/integrations/braze").body, "lacks the users.track permission")
	})
	if len(fake.Users()) != users {
		t.Fatal("the write-back created a Braze user")
	}
}
