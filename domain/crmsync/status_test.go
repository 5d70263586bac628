package crmsync_test

import (
	"io"
	"log/slog"
	"strings"
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

// TestPushSendsOwner: with the owner mapped to OwnerId, a lead given to a Peregrine user is
// given in Salesforce to the active Salesforce user with that email (and Owner.Email reads
// back as that user's); an owner with no Salesforce user, an inactive one or two users with
// the address is reported on the lead's push and the owner is not sent — never guessed.
func TestPushSendsOwner(t *testing.T) {
	e := newEnv(t)
	maps, _ := e.st.FieldMaps(e.ctx, e.ws)
	maps = append(maps, model.FieldMap{PeregrineField: "owner", SalesforceField: "OwnerId", Direction: model.ToSalesforce})
	if err := e.st.SaveSyncSettings(e.ctx, e.ws, model.DefaultSyncSettings, maps); err != nil {
		t.Fatal(err)
	}
	users := map[string]int64{}
	for _, name := range []string{"sam", "kim", "lou", "dee"} {
		var id int64
		if err := e.db.QueryRow(`INSERT INTO users (workspace_id, email, name, role, password_hash) VALUES ($1, $2, $3, 'sales', 'x') RETURNING id`,
			e.ws, name+"@acme.example", name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		users[name] = id
	}
	samSF := e.fake.AddUser("Sam@Acme.example", "Sam Seller", true)
	e.fake.AddUser("lou@acme.example", "Lou Left", false) // inactive
	e.fake.AddUser("dee@acme.example", "Dee One", true)
	e.fake.AddUser("dee@acme.example", "Dee Two", true)
	leads := map[string]int64{}
	for _, name := range []string{"sam", "kim", "lou", "dee"} {
		email := "lead-of-" + name + "@prospect.example"
		leads[name] = e.lead(email, "Pat", 10)
		owner := users[name]
		if err := e.st.ChangeLeadOwnerStatus(e.ctx, e.ws, leads[name], nil, &owner, 0, "test"); err != nil {
			t.Fatal(err)
		}
	}
	e.pushAll()
	rec := e.salesforceLead("lead-of-sam@prospect.example")
	if rec.Fields["OwnerId"] != samSF {
		t.Fatalf("Sam's lead is owned by %v in Salesforce, want %s", rec.Fields["OwnerId"], samSF)
	}
	if o, _ := rec.Fields["Owner"].(map[string]any); o["Name"] != "Sam Seller" {
		t.Fatalf("Owner relationship: %v", rec.Fields["Owner"])
	}
	outs, _ := e.st.SyncRunRecords(e.ctx, e.ws, e.lastRun().ID, false)
	msgs := map[int64]string{}
	for _, o := range outs {
		msgs[o.LeadID] = o.Message
	}
	for name, want := range map[string]string{"kim": "The owner kim@acme.example has no active Salesforce user", "lou": "The owner lou@acme.example has no active Salesforce user",
		"dee": "2 active Salesforce users have the owner's email dee@acme.example"} {
		if !strings.Contains(msgs[leads[name]], want) {
			t.Errorf("%s's lead: %q, want %q", name, msgs[leads[name]], want)
		}
		if got := e.salesforceLead("lead-of-" + name + "@prospect.example").Fields["OwnerId"]; got != nil {
			t.Errorf("%s's lead got an owner in Salesforce: %v", name, got)
		}
	}
	if strings.Contains(msgs[leads["sam"]], "owner") {
		t.Errorf("Sam's lead reported: %q", msgs[leads["sam"]])
	}
	// A new owner follows; taking the owner away sends nothing (Salesforce keeps its owner).
	kimSF := e.fake.AddUser("kim@acme.example", "Kim Closer", true)
	kim := users["kim"]
	if err := e.st.ChangeLeadOwnerStatus(e.ctx, e.ws, leads["sam"], nil, &kim, 0, "test"); err != nil {
		t.Fatal(err)
	}
	e.pushAll()
	if got := e.salesforceLead("lead-of-sam@prospect.example").Fields["OwnerId"]; got != kimSF {
		t.Fatalf("after the change the owner is %v, want %s", got, kimSF)
	}
	nobody := int64(0)
	if err := e.st.ChangeLeadOwnerStatus(e.ctx, e.ws, leads["sam"], nil, &nobody, 0, "test"); err != nil {
		t.Fatal(err)
	}
	e.pushAll()
	if got := e.salesforceLead("lead-of-sam@prospect.example").Fields["OwnerId"]; got != kimSF {
		t.Fatalf("without an owner in Peregrine, Salesforce's owner became %v", got)
	}
}

// TestSwitchedOffPushKeepsItsOutbox: with the Salesforce push switched off, changed leads
// wait in the outbox (nothing reaches Salesforce, no attempt counted); switching it on pushes
// them at once.
func TestSwitchedOffPushKeepsItsOutbox(t *testing.T) {
	e := newEnv(t)
	if err := e.st.SwitchPart(e.ctx, e.ws, store.PartSalesforcePush, false, "Ada"); err != nil {
		t.Fatal(err)
	}
	e.lead("uma@acme.example", "Uma", 12)
	e.lead("vic@acme.example", "Vic", 20)
	e.pushAll()
	if n := len(e.fake.Records("Lead")); n != 0 {
		t.Fatalf("%d Leads written while the push is off", n)
	}
	if n, err := e.st.WaitingFor(e.ctx, e.ws, store.PartSalesforcePush); err != nil || n != 2 {
		t.Fatalf("waiting: %d %v", n, err)
	}
	if n := e.count(`SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1 AND attempts = 0`, e.ws); n != 2 {
		t.Fatalf("%d outbox items without a counted attempt", n)
	}
	if err := e.st.SwitchPart(e.ctx, e.ws, store.PartSalesforcePush, true, "Ada"); err != nil {
		t.Fatal(err)
	}
	e.pushAll()
	if n := len(e.fake.Records("Lead")); n != 2 {
		t.Fatalf("%d Leads after switching the push on", n)
	}
}
