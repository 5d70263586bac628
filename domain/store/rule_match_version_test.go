package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestRuleMatchVersion: an edit of a score rule's points, expiry or half-life keeps its match
// version; one of its conditions, score, "per" or cap moves it to the new version.
func TestRuleMatchVersion(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	def := func(when, score string) model.RuleDef {
		return model.RuleDef{Name: "Opens", Kind: "score", Enabled: true, ScoreName: "Lead score",
			Definition: []byte(fmt.Sprintf(`{"name": "Opens", "kind": "score", "enabled": true, "when": %s, "score": %s}`, when, score))}
	}
	opens := `{"combinator": "and", "rules": [{"field": "event.type", "operator": "equals", "value": "users.messages.email.Open"}]}`
	clicks := `{"combinator": "and", "rules": [{"field": "event.type", "operator": "equals", "value": "users.messages.email.Click"}]}`
	saved, err := st.SaveRule(ctx, a.ws.ID, a.admin.ID, 0, def(opens, `{"score": "Lead score", "points": 1, "per": "event", "cap": 10}`))
	if err != nil || saved.Version != 1 || saved.MatchVersion != 1 {
		t.Fatalf("a new rule: version %d, match version %d (%v)", saved.Version, saved.MatchVersion, err)
	}
	steps := []struct {
		why         string
		when, score string
		kept        bool
	}{
		{"points", opens, `{"score": "Lead score", "points": 2, "per": "event", "cap": 10}`, true},
		{"expiry and half-life", opens, `{"score": "Lead score", "points": 2, "per": "event", "cap": 10, "expire_days": 30, "half_life_days": 7}`, true},
		{"conditions", clicks, `{"score": "Lead score", "points": 2, "per": "event", "cap": 10, "expire_days": 30, "half_life_days": 7}`, false},
		{"cap", clicks, `{"score": "Lead score", "points": 2, "per": "event", "cap": 20, "expire_days": 30, "half_life_days": 7}`, false},
		{"per", clicks, `{"score": "Lead score", "points": 2, "per": "lead", "expire_days": 30, "half_life_days": 7}`, false},
		{"score", clicks, `{"score": "Fit", "points": 2, "per": "lead", "expire_days": 30, "half_life_days": 7}`, false},
		{"points again", clicks, `{"score": "Fit", "points": 3, "per": "lead", "expire_days": 30, "half_life_days": 7}`, true},
	}
	for _, s := range steps {
		before := saved
		if saved, err = st.SaveRule(ctx, a.ws.ID, a.admin.ID, saved.ID, def(s.when, s.score)); err != nil {
			t.Fatal(err)
		}
		want := saved.Version
		if s.kept {
			want = before.MatchVersion
		}
		if saved.Version != before.Version+1 || saved.MatchVersion != want {
			t.Fatalf("%s: version %d → %d, match version %d → %d, want %d", s.why, before.Version, saved.Version, before.MatchVersion, saved.MatchVersion, want)
		}
	}
}
