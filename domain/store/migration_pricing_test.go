package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/migrations"
)

// TestPricingRuleMigration replays migration 0017 on workspaces whose pricing rules are the
// old defaults (matching any activity named "pricing"): those get the new conditions, a new
// version and a re-scoring job; a workspace that edited its rule keeps it.
func TestPricingRuleMigration(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	seed := scoring.NewWorkspaceSeed()
	old, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "old", Name: "Old"}, model.User{Email: "a@old.example", Name: "A", PasswordHash: "x"}, seed)
	if err != nil {
		t.Fatal(err)
	}
	edited, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "edited", Name: "Edited"}, model.User{Email: "a@edited.example", Name: "A", PasswordHash: "x"}, seed)
	if err != nil {
		t.Fatal(err)
	}
	// Both workspaces go back to the rules as shipped before; the second then edits its score rule.
	pgtest.Exec(t, db, `UPDATE rules SET definition = jsonb_set(definition, '{when}', '{"combinator": "and", "rules": [{"field": "event.name", "operator": "contains", "value": "pricing"}]}')
		WHERE name = 'Pricing page viewed'`)
	pgtest.Exec(t, db, `UPDATE rules SET definition = jsonb_set(definition, '{when}', '{"combinator": "and", "rules": [{"field": "event.name", "operator": "contains", "value": "pricing"}, {"field": "event.time", "operator": "within_last_days", "value": 7}]}')
		WHERE name = 'Pricing this week'`)
	pgtest.Exec(t, db, `UPDATE rules SET definition = jsonb_set(definition, '{when,rules,0,value}', '"pricing-page"') WHERE workspace_id = $1 AND name = 'Pricing page viewed'`, edited.ID)
	jobsBefore := pgtest.Count(t, db, `SELECT count(*) FROM rescore_jobs WHERE workspace_id = $1`, old.ID)

	sql, err := migrations.FS.ReadFile("0017_pricing_rule_web.sql")
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := db.Begin()
	if _, err := tx.Exec(string(sql)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	want := map[string]rules.Group{}
	for _, r := range rules.Defaults().Rules {
		want[r.Name] = r.When
	}
	check := func(ws int64, name string, migrated bool) {
		t.Helper()
		stored, _ := st.ListRules(ctx, ws)
		for _, r := range stored {
			if r.Name != name {
				continue
			}
			var got rules.Rule
			json.Unmarshal(r.Definition, &got)
			if same := reflect.DeepEqual(got.When, want[name]); same != migrated {
				t.Errorf("workspace %d, %s: migrated %v, want %v (%s)", ws, name, same, migrated, r.Definition)
			}
			if migrated && (r.Version != 2 || pgtest.Count(t, db, `SELECT count(*) FROM rule_versions WHERE workspace_id = $1 AND rule_id = $2 AND version = 2`, ws, r.ID) != 1) {
				t.Errorf("workspace %d, %s: version %d without its history", ws, name, r.Version)
			}
		}
	}
	check(old.ID, "Pricing page viewed", true)
	check(old.ID, "Pricing this week", true)
	check(edited.ID, "Pricing page viewed", false)
	if n := pgtest.Count(t, db, `SELECT count(*) FROM rescore_jobs WHERE workspace_id = $1 AND state = 'queued'`, old.ID); n != 1 || jobsBefore > 1 {
		t.Fatalf("%d re-scoring jobs queued", n)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM jobs j JOIN rescore_jobs r ON r.workspace_id = j.workspace_id AND r.id::text = j.key
		WHERE j.workspace_id = $1 AND j.kind = 'rescore' AND r.state = 'queued'`, old.ID); n != 1 {
		t.Fatalf("the re-scoring job is not on the work queue: %d", n)
	}
}
