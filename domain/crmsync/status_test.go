package crmsync_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/milestones"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// TestPulledStatusCrossesMilestone: a Lead Status pulled from Salesforce crosses a status
// milestone when it becomes the milestone's value, at the record's SystemModstamp, credited
// to the lead's touches before; pulling the same status again crosses nothing.
func TestPulledStatusCrossesMilestone(t *testing.T) {
	e := newEnv(t)
	e.p.Milestones = milestones.NewService(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	known := e.lead("quinn@acme.example", "Quinn", 5)
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		return tx.InsertActivities(e.ctx, e.ws, []model.ActivityRow{{LeadID: known, InboundEventID: 1, OccurredAt: time.Now().Add(-time.Hour),
			Source: "braze", EventType: "users.messages.email.Click", Name: "[Email campaign engagement] Clicked", CampaignName: "Spring"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateMilestone(e.ctx, e.ws, attribution.Milestone{Name: "SQL", Kind: attribution.KindStatus, Value: "Qualified"}); err != nil {
		t.Fatal(err)
	}
	id := e.fake.AddRecord("Lead", map[string]any{"Email": "quinn@acme.example", "LastName": "Q", "Company": "Acme", "Status": "Working"})
	e.enablePull()
	e.pullDue()
	if n := e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND status = 'Working'`, e.ws); n != 1 {
		t.Fatalf("the status was not pulled (%d)", n)
	}
	if n := e.count(`SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1`, e.ws); n != 0 {
		t.Fatal("Working crossed the Qualified milestone")
	}
	e.fake.SetField(id, "Status", "Qualified")
	if err := e.st.PullNow(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	e.pullDue()
	var crossed time.Time
	if err := e.db.QueryRow(`SELECT crossed_at FROM milestone_crossings WHERE workspace_id = $1 AND lead_id = $2`, e.ws, known).Scan(&crossed); err != nil {
		t.Fatal("no crossing: ", err)
	}
	if time.Since(crossed) > time.Minute || time.Since(crossed) < 0 {
		t.Fatalf("crossed at %v", crossed)
	}
	if n := e.count(`SELECT count(*) FROM attribution_credits WHERE workspace_id = $1 AND value = 'Campaign: Spring' AND linear = 1`, e.ws); n != 1 {
		t.Fatal("the crossing is not credited to the lead's click")
	}
	if err := e.st.PullNow(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	e.fake.SetField(id, "Title", "CTO") // a later change that keeps the status
	e.pullDue()
	if n := e.count(`SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1`, e.ws); n != 1 {
		t.Fatalf("%d crossings after a pull that kept the status", n)
	}
}

// TestPushSendsStatus: a lead's status set in Peregrine goes to the mapped Salesforce field,
// and a change made on the lead page follows.
func TestPushSendsStatus(t *testing.T) {
	e := newEnv(t)
	maps, _ := e.st.FieldMaps(e.ctx, e.ws)
	maps = append(maps, model.FieldMap{PeregrineField: "status", SalesforceField: "Status", Direction: model.ToSalesforce})
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, model.DefaultSyncSettings, maps); err != nil {
		t.Fatal(err)
	}
	lead := e.lead("uma@acme.example", "Uma", 12)
	e.exec(`UPDATE leads SET status = 'Working' WHERE id = $1`, lead)
	e.pushAll()
	if got := e.salesforceLead("uma@acme.example").Fields["Status"]; got != "Working" {
		t.Fatalf("Status in Salesforce: %v", got)
	}
	qualified := "Qualified"
	if err := e.st.ChangeLeadOwnerStatus(e.ctx, e.ws, lead, &qualified, nil, 0, "test"); err != nil {
		t.Fatal(err)
	}
	e.pushAll()
	if got := e.salesforceLead("uma@acme.example").Fields["Status"]; got != "Qualified" {
		t.Fatalf("Status after the change: %v", got)
	}
}
