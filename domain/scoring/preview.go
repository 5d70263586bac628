package scoring

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// PreviewSample bounds how many leads a preview scores: the most recently active ones; and
// previewBudget how long a preview may take from its start — it scores another chunk only
// while the time spent plus one chunk as slow as the slowest so far stays within it (the
// first chunk always), so the builder answers within a second on any workspace. The result
// says when it is a sample, and of how many.
const PreviewSample = 5000

var previewBudget = 900 * time.Millisecond

// previewRuleID stands for a rule not saved yet.
const previewRuleID = -1

// Preview tells what saving a rule would do, without saving it.
type Preview struct {
	Kind     string
	Examined int // leads scored
	Total    int // leads in the workspace
	Matching int // leads the rule matches now
	Gain     int // leads gaining the label, points or a better grade
	Lose     int // leads losing the label, points or a worse grade
	// Note explains changes the rule's own wording does not (an edited rule replaces the
	// points its saved version gave).
	Note     string
	Examples []PreviewExample
}

// PreviewExample is one lead and what the rule changes for it.
type PreviewExample struct {
	LeadID        int64
	URL           string // the lead's or account's page
	Email         string // or the account's domain
	Name          string
	Before, After string
	Matches       bool
}

// Preview scores a sample of leads with the rule added (ruleID 0) or replacing rule ruleID,
// and compares with what is stored.
func (s *Service) Preview(ctx context.Context, workspaceID, ruleID int64, rule rules.Rule) (Preview, error) {
	began := time.Now()
	out := Preview{Kind: rule.Kind}
	if _, err := rule.Check(); err != nil {
		return out, err
	}
	current, err := s.RuleSet(ctx, workspaceID)
	if err != nil {
		return out, err
	}
	stored, err := s.Store.ListRules(ctx, workspaceID)
	if err != nil {
		return out, err
	}
	scores := append([]model.ScoreName(nil), current.Scores...)
	if rule.Kind == rules.KindScore {
		if _, ok := current.scoreIDs[rule.Score.Score]; !ok {
			scores = append(scores, model.ScoreName{ID: previewRuleID, Name: rule.Score.Score, IsMain: len(scores) == 0})
		}
	}
	rule.Enabled = true
	def, _ := json.Marshal(rule)
	id := ruleID
	if id == 0 {
		id = previewRuleID
	}
	var set []model.StoredRule
	replaced := false
	for _, r := range stored {
		if r.ID == ruleID {
			r.Definition, r.Enabled, r.Version = def, true, r.Version+1
			r.MatchVersion = r.Version // the preview does not know what changed: nothing is re-priced
			replaced = true
		}
		set = append(set, r)
	}
	if !replaced {
		set = append(set, model.StoredRule{ID: id, Version: 1, Enabled: true, Definition: def})
	}
	scale, err := s.Store.GradeScale(ctx, workspaceID)
	if err != nil {
		return out, err
	}
	next, _ := Build(-1, set, scores, scale)
	scoreID := int64(0)
	if rule.Kind == rules.KindScore {
		for _, sc := range scores {
			if sc.Name == rule.Score.Score {
				scoreID = sc.ID
			}
		}
	}
	now := s.Now()
	type change struct {
		ex   PreviewExample
		size float64
	}
	var changes, matches []change
	if rule.Kind == rules.KindLabel && rule.Label.On == rules.OnAccount {
		return s.previewAccountLabel(ctx, workspaceID, next, rule, now)
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		ids, total, err := tx.RecentLeadIDs(ctx, workspaceID, PreviewSample)
		if err != nil {
			return err
		}
		out.Total = total
		settings, err := tx.ScoringSettings(ctx, workspaceID)
		if err != nil {
			return err
		}
		hot, warm, neutral := settings.Hot, settings.Warm, settings.Neutral
		var slowest time.Duration
		for start := 0; start < len(ids) && (start == 0 || time.Since(began)+slowest <= previewBudget); start += 500 {
			chunkBegan := time.Now()
			chunk := ids[start:min(start+500, len(ids))]
			out.Examined += len(chunk)
			leads, err := tx.ScoringLeads(ctx, workspaceID, chunk)
			if err != nil {
				return err
			}
			states, _, err := loadStates(ctx, tx, workspaceID, next, leads, noAppending, nil, now)
			if err != nil {
				return err
			}
			for _, st := range states {
				// Before and after are both scored now, so time passing (decay, expiry) since the
				// lead was last scored is not mistaken for the rule's doing.
				o0 := current.Score(st, HeatScale{Hot: hot, Warm: warm, Neutral: neutral}, now)
				o := next.Score(st, HeatScale{Hot: hot, Warm: warm, Neutral: neutral}, now)
				ex := PreviewExample{LeadID: st.Lead.ID, URL: fmt.Sprintf("/leads/%d", st.Lead.ID), Email: st.Lead.Email,
					Name: strings.TrimSpace(st.Lead.FirstName + " " + st.Lead.LastName)}
				var size float64
				switch rule.Kind {
				case rules.KindScore:
					_, ex.Matches = slices.BinarySearch(o.Matched, id)
					before, after := math.Round(o0.Scoring.Scores[scoreID]), math.Round(o.Scoring.Scores[scoreID])
					ex.Before, ex.After = formatPoints(before), formatPoints(after)
					size = after - before // whole points, as people read them
				case rules.KindLabel:
					had := slices.Contains(o0.Scoring.Labels, rule.Label.Name)
					ex.Matches = slices.Contains(o.Scoring.Labels, rule.Label.Name)
					ex.Before, ex.After = yesNo(had), yesNo(ex.Matches)
					size = b2f(ex.Matches) - b2f(had)
				case rules.KindGrade:
					c, _ := rule.Check()
					p, a := Profile(st.Lead)
					ex.Matches = c.Match(&rules.Subject{Now: now, Profile: p, Account: a})
					ex.Before, ex.After = st.Lead.Grade, o.Scoring.Grade
					size = float64(strings.Compare(st.Lead.Grade, o.Scoring.Grade)) // A < B: a better grade is a gain
				}
				if ex.Matches {
					out.Matching++
					matches = append(matches, change{ex, 0})
				}
				switch {
				case size > 1e-9:
					out.Gain++
				case size < -1e-9:
					out.Lose++
				}
				if math.Abs(size) > 1e-9 {
					changes = append(changes, change{ex, size})
				}
			}
			slowest = max(slowest, time.Since(chunkBegan))
		}
		return nil
	})
	sort.SliceStable(changes, func(i, j int) bool { return math.Abs(changes[i].size) > math.Abs(changes[j].size) })
	// Examples of both sides first — the biggest gains and the biggest losses — then the rest.
	var gains, losses []change
	for _, c := range changes {
		if c.size > 0 {
			gains = append(gains, c)
		} else {
			losses = append(losses, c)
		}
	}
	picked := append(append(gains[:min(5, len(gains))], losses[:min(5, len(losses))]...), changes...)
	if ruleID != 0 && out.Lose > 0 {
		out.Note = "Saving replaces the rule's current version: leads it gave more than this version would lose the difference."
	}
	for _, c := range append(picked, matches...) {
		if len(out.Examples) == 10 {
			break
		}
		dup := false
		for _, e := range out.Examples {
			dup = dup || e.LeadID == c.ex.LeadID
		}
		if !dup {
			out.Examples = append(out.Examples, c.ex)
		}
	}
	return out, err
}

// previewAccountLabel evaluates an account label rule against the workspace's accounts (up
// to PreviewSample, highest score first) with their rolled-up scores.
func (s *Service) previewAccountLabel(ctx context.Context, workspaceID int64, next *RuleSet, rule rules.Rule, now time.Time) (Preview, error) {
	out := Preview{Kind: rule.Kind}
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		accounts, err := tx.AccountsForLabels(ctx, workspaceID, nil)
		if err != nil {
			return err
		}
		sort.SliceStable(accounts, func(i, j int) bool {
			return accounts[i].Scores[next.MainScoreID] > accounts[j].Scores[next.MainScoreID]
		})
		out.Total = len(accounts)
		accounts = accounts[:min(len(accounts), PreviewSample)]
		out.Examined = len(accounts)
		var changed, matching []PreviewExample
		for _, a := range accounts {
			has := slices.Contains(AccountLabels(next, a, now), rule.Label.Name)
			had := slices.Contains(a.Labels, rule.Label.Name)
			ex := PreviewExample{URL: fmt.Sprintf("/accounts/%d", a.ID), Email: a.Domain, Name: a.Name, Before: yesNo(had), After: yesNo(has), Matches: has}
			if has {
				out.Matching++
				matching = append(matching, ex)
			}
			switch {
			case has && !had:
				out.Gain++
				changed = append(changed, ex)
			case had && !has:
				out.Lose++
				changed = append(changed, ex)
			}
		}
		for _, ex := range append(changed, matching...) {
			if len(out.Examples) < 10 && !slices.ContainsFunc(out.Examples, func(e PreviewExample) bool { return e.URL == ex.URL }) {
				out.Examples = append(out.Examples, ex)
			}
		}
		return nil
	})
	return out, err
}

func yesNo(b bool) string {
	if b {
		return "has it"
	}
	return "—"
}

func formatPoints(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(strconvFormat(v), "0"), ".")
}
