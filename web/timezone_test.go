package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// TestTimesInThePersonsZone: a lead's timeline reads in the browser's time zone, or in the
// one the person chose on their account page; its filter names event types in words.
func TestTimesInThePersonsZone(t *testing.T) {
	s, ada, acme, _, _ := acmeAndGlobex(t)
	ctx := context.Background()
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, token, currentstest.Read("users.messages.email.Open.json"), nil)
	var leadID int64
	waitFor(t, "the open to become an activity", func() bool {
		return s.DB.QueryRow(`SELECT lead_id FROM activities LIMIT 1`).Scan(&leadID) == nil
	})
	var at time.Time
	if err := s.DB.QueryRow(`SELECT occurred_at FROM activities WHERE lead_id = $1`, leadID).Scan(&at); err != nil {
		t.Fatal(err)
	}
	page := func() string { return ada.get(fmt.Sprintf("/leads/%d", leadID)).body }
	in := func(zone string) string {
		loc, _ := time.LoadLocation(zone)
		return at.In(loc).Format("15:04 MST")
	}
	if p := page(); !strings.Contains(p, in("UTC")) || !strings.Contains(p, "Email campaign engagement · Opened email (1)") ||
		strings.Contains(p, "users.messages.email.Open (") {
		t.Fatalf("default: want %s and a named type filter", in("UTC"))
	}
	// The browser says it is in Tokyo.
	base, _ := url.Parse(s.URL)
	ada.client.Jar.SetCookies(base, []*http.Cookie{{Name: "tz", Value: url.QueryEscape("Asia/Tokyo"), Path: "/"}})
	if p := page(); !strings.Contains(p, in("Asia/Tokyo")) {
		t.Fatalf("browser zone: want %s", in("Asia/Tokyo"))
	}
	// The person's own choice wins; a zone that does not exist is refused with the reason.
	assertStatus(t, ada.post("/profile/time-zone", url.Values{"time_zone": {"America/New_York"}}), http.StatusSeeOther)
	if p := page(); !strings.Contains(p, in("America/New_York")) {
		t.Fatalf("chosen zone: want %s", in("America/New_York"))
	}
	// Other times people read follow the zone too, such as when their sessions started.
	ny, _ := time.LoadLocation("America/New_York")
	if p := ada.get("/profile").body; !strings.Contains(p, time.Now().In(ny).Format("Jan 2, 2006")+" ") || !strings.Contains(p, time.Now().In(ny).Format(" MST")) {
		t.Fatal("session times are not in the chosen zone")
	}
	r := ada.post("/profile/time-zone", url.Values{"time_zone": {"Mars/Olympus_Mons"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Choose a time zone from the list") {
		t.Fatal("an unknown zone is not explained")
	}
	if p := ada.get("/profile").body; !strings.Contains(p, `<option value="America/New_York" selected>`) || !strings.Contains(p, "Your browser's (Asia/Tokyo)") {
		t.Fatal("the profile page does not show the choice and the browser's zone")
	}
}

// TestLeadPageExplainsItsScore: three email opens scored at once make one ledger line, shown
// as such under "Recent changes"; "why this score" still counts each open.
func TestLeadPageExplainsItsScore(t *testing.T) {
	s, ada, acme, _, _ := acmeAndGlobex(t)
	ctx := context.Background()
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	var batch struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(currentstest.Read("users.messages.email.Open.json"), &batch); err != nil || len(batch.Events) != 1 {
		t.Fatalf("fixture: %v", err)
	}
	open := batch.Events[0]
	batch.Events = nil
	for i := 0; i < 3; i++ {
		e := maps.Clone(open)
		e["id"] = fmt.Sprintf("2d1a87cc-ce30-4d8f-9a4e-c19ba1e1d12%d", i)
		e["time"] = open["time"].(float64) + float64(i*60)
		batch.Events = append(batch.Events, e)
	}
	body, _ := json.Marshal(batch)
	postCurrents(t, s.URL, token, body, nil)
	var leadID int64
	waitFor(t, "the opens to score", func() bool {
		return s.DB.QueryRow(`SELECT id FROM leads WHERE workspace_id = $1 AND main_score > 0`, acme.ID).Scan(&leadID) == nil
	})
	page := ada.get(fmt.Sprintf("/leads/%d", leadID)).body
	if !strings.Contains(page, "Recent changes") || !strings.Contains(page, "for 3 activities") || !strings.Contains(page, "Email opened") {
		t.Fatalf("the lead page does not explain the score:\n%s", page)
	}
}
