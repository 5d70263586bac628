package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/website"
)

var partRow = regexp.MustCompile(`(?s)<li class="part light-(ok|bad|off)" id="part-([a-z_]+)">.*?</li>`)

// overviewLights reads each part's light from the overview page.
func overviewLights(t *testing.T, b *browser) map[string]string {
	t.Helper()
	r := b.get("/integrations")
	assertStatus(t, r, http.StatusOK)
	out := map[string]string{}
	for _, m := range partRow.FindAllStringSubmatch(r.body, -1) {
		out[m[2]] = m[1]
	}
	return out
}

// TestIntegrationSwitches: the overview lists every part with a light; switching Currents,
// Segment and the website off refuses their intake with a sentence (401, 401, 403) and keeps
// their tokens and sites, switching them on takes events again; a marketer cannot switch the
// admins' parts; a bad part or value is refused.
func TestIntegrationSwitches(t *testing.T) {
	s := newServer(t, nil)
	ctx := context.Background()
	ada := s.browser(t)
	signUp(t, ada, "ada@acme.example")
	acme, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	lights := overviewLights(t, ada)
	if len(lights) != len(store.Parts) {
		t.Fatalf("the overview shows %d parts, want %d: %v", len(lights), len(store.Parts), lights)
	}
	if lights[store.PartCurrents] != "off" || lights[store.PartEmail] != "off" {
		t.Fatalf("a fresh workspace: %v", lights)
	}

	currents, _, err := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	if err != nil {
		t.Fatal(err)
	}
	segment, _, err := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindSegment, "Segment", nil)
	if err != nil {
		t.Fatal(err)
	}
	site := newSite(t, s, acme.ID, website.SiteInput{})
	send := func(i int) (int, int, int) {
		batch := []byte(strings.Replace(string(fixture(t, "users.messages.email.Open.json")), `"id": "`, `"id": "sw`+itoa(int64(i)), 1))
		c := postCurrents(t, s.URL, currents, batch, nil)
		g := postSegment(t, s.URL, http.MethodPost, segment, []byte(`{"type":"track","event":"Demo Requested","userId":"u-`+itoa(int64(i))+`","messageId":"sw-`+itoa(int64(i))+`"}`), "")
		w := collect(t, s, hit(site, "visitor-switch000000001", "page", "https://www.acme.example/pricing", nil), nil)
		if c.status == http.StatusUnauthorized && !strings.Contains(c.err, "switched off") {
			t.Fatalf("Currents refused without saying why: %q", c.err)
		}
		if w.status == http.StatusForbidden && !strings.Contains(w.body, "switched off") {
			t.Fatalf("the website refused without saying why: %q", w.body)
		}
		return c.status, g.status, w.status
	}
	if c, g, w := send(1); c != http.StatusOK || g != http.StatusOK || w != http.StatusNoContent {
		t.Fatalf("before switching off: %d %d %d", c, g, w)
	}
	for _, part := range []string{store.PartCurrents, store.PartSegment, store.PartWebsite} {
		assertStatus(t, ada.post("/integrations/switch/"+part, url.Values{"on": {"0"}}), http.StatusSeeOther)
	}
	stored := countRows(t, s, `SELECT count(*) FROM inbound_events WHERE workspace_id = $1`, acme.ID)
	if c, g, w := send(2); c != http.StatusUnauthorized || g != http.StatusUnauthorized || w != http.StatusForbidden {
		t.Fatalf("switched off: %d %d %d", c, g, w)
	}
	if n := countRows(t, s, `SELECT count(*) FROM inbound_events WHERE workspace_id = $1`, acme.ID); n != stored {
		t.Fatalf("%d events stored while switched off", n-stored)
	}
	lights = overviewLights(t, ada)
	page := ada.get("/integrations").body
	if lights[store.PartCurrents] != "off" || !strings.Contains(page, "Switched off") || !strings.Contains(page, `aria-checked="false"`) {
		t.Fatalf("the overview does not show the switch:\n%.3000s", page)
	}
	for _, part := range []string{store.PartCurrents, store.PartSegment, store.PartWebsite} {
		assertStatus(t, ada.post("/integrations/switch/"+part, url.Values{"on": {"1"}}), http.StatusSeeOther)
	}
	if c, g, w := send(3); c != http.StatusOK || g != http.StatusOK || w != http.StatusNoContent {
		t.Fatalf("switched on again (the same tokens and site): %d %d %d", c, g, w)
	}

	assertStatus(t, ada.post("/integrations/switch/nonsense", url.Values{"on": {"0"}}), http.StatusNotFound)
	assertStatus(t, ada.post("/integrations/switch/slack", url.Values{"on": {"maybe"}}), http.StatusUnprocessableEntity)
	link := invite(t, ada, "mo@acme.example", "marketer")
	mo := s.browser(t)
	assertStatus(t, mo.post(link.Path, url.Values{"name": {"Mo"}, "password": {password}}), http.StatusSeeOther)
	assertStatus(t, mo.post("/integrations/switch/salesforce_push", url.Values{"on": {"0"}}), http.StatusForbidden)
	assertStatus(t, mo.post("/integrations/switch/slack", url.Values{"on": {"0"}}), http.StatusSeeOther)
	if off, _ := s.Store.PartOff(ctx, acme.ID, store.PartSalesforcePush, store.PartSlack); off != store.PartSlack {
		t.Fatalf("switched off: %q", off)
	}
}
