package store_test

import (
	"context"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestChangesAskForScoring: every change scoring reads — a profile from Braze, a value pulled
// or mapped from Salesforce, a status, an edit by hand — makes the lead due for scoring now
// (a never-scored lead gets a placeholder state), and a pull that changes nothing does not.
func TestChangesAskForScoring(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	ws, lead := a.ws.ID, a.lead.ID
	due := func() int {
		return pgtest.Count(t, db, `SELECT count(*) FROM lead_scoring_state WHERE workspace_id = $1 AND lead_id = $2
			AND rules_version = -1 AND refresh_at <= now()`, ws, lead)
	}
	pull := func(title string) error {
		_, _, err := st.SavePulled(ctx, ws, "Lead", []model.PulledPerson{{SalesforceID: "00Q1", Email: a.lead.Email, Title: title}},
			func(string) string { return "" }, nil, 1, "", nil)
		return err
	}
	status, title := "Working", "Head of Growth"
	changes := []struct {
		name   string
		change func() error
	}{
		{"Braze profile", func() error {
			return st.InTx(ctx, func(tx *store.Tx) error {
				return tx.UpdateLeadProfile(ctx, ws, lead, model.LeadProfile{Title: "VP Marketing"})
			})
		}},
		{"Salesforce pull", func() error { return pull("CTO") }},
		{"Salesforce mapping", func() error {
			return st.ApplySalesforceProfile(ctx, ws, lead, map[string]string{"title": "CEO"})
		}},
		{"status", func() error { return st.ChangeLeadOwnerStatus(ctx, ws, lead, &status, nil, a.admin.ID, "Admin") }},
		{"edit", func() error { return st.PatchLead(ctx, store.Everyone(ws), lead, store.LeadPatch{Title: &title}) }},
	}
	for _, c := range changes {
		pgtest.Exec(t, db, `DELETE FROM lead_scoring_state WHERE workspace_id = $1`, ws)
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := due(); n != 1 {
			t.Fatalf("%s: the lead has %d placeholder states due, want 1", c.name, n)
		}
	}
	if err := pull("Pulled"); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `DELETE FROM lead_scoring_state WHERE workspace_id = $1`, ws)
	if err := pull("Pulled"); err != nil {
		t.Fatal(err)
	}
	if n := due(); n != 0 {
		t.Fatal("a pull that changed nothing asked for scoring")
	}
}
