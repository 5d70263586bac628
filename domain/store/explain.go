package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// NamedValue is a score of a lead or account with its name.
type NamedValue struct {
	ScoreID int64   `db:"score_id"`
	Name    string  `db:"name"`
	Value   float64 `db:"value"`
	IsMain  bool    `db:"is_main"`
}

// LeadScoreValues lists a lead's stored scores, main first.
func (s *Store) LeadScoreValues(ctx context.Context, workspaceID, leadID int64) ([]NamedValue, error) {
	var out []NamedValue
	err := s.db.SelectContext(ctx, &out, `SELECT n.id AS score_id, n.name, n.is_main, COALESCE(CASE WHEN n.is_main
			THEN (SELECT l.main_score FROM leads l WHERE l.workspace_id = $1 AND l.id = $2)
			ELSE (SELECT ls.value FROM lead_scores ls WHERE ls.workspace_id = $1 AND ls.lead_id = $2 AND ls.score_id = n.id) END, 0) AS value
		FROM score_names n WHERE n.workspace_id = $1 ORDER BY n.is_main DESC, n.name`, workspaceID, leadID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read lead scores: %w", err)
	}
	return out, nil
}

// ContributionDetail is a current contribution with the activity that earned it.
type ContributionDetail struct {
	model.Contribution
	ActivityName *string `db:"activity_name"`
}

// LeadContributions lists the points a lead currently holds, per activity, newest first: the
// "why" (lines covering several activities are taken apart).
func (s *Store) LeadContributions(ctx context.Context, workspaceID, leadID int64) ([]ContributionDetail, error) {
	var out []ContributionDetail
	err := s.db.SelectContext(ctx, &out, `SELECT c.*, a.name AS activity_name FROM (
			SELECT lead_id, rule_id, rule_version, activity_id, score_id, min(earned_at) AS earned_at, sum(delta) AS points
			FROM (SELECT l.lead_id, l.rule_id, l.rule_version, l.score_id, COALESCE(u.activity_id, l.activity_id) AS activity_id,
					COALESCE(u.earned_at, l.earned_at) AS earned_at, COALESCE(u.delta, l.delta) AS delta
				FROM score_ledger l LEFT JOIN LATERAL unnest(l.activity_ids, l.earned_ats, l.deltas) AS u(activity_id, earned_at, delta) ON true
				WHERE l.workspace_id = $1 AND l.lead_id = $2 AND l.kind = 'score') x
			GROUP BY lead_id, rule_id, rule_version, activity_id, score_id HAVING abs(sum(delta)) > 1e-9) c
		LEFT JOIN activities a ON a.workspace_id = $1 AND a.id = c.activity_id
		ORDER BY c.earned_at DESC, c.activity_id DESC`, workspaceID, leadID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read contributions: %w", err)
	}
	return out, nil
}

// LeadLedger lists a lead's latest score and label changes.
func (s *Store) LeadLedger(ctx context.Context, workspaceID, leadID int64, limit int) ([]model.LedgerLine, error) {
	var out []model.LedgerLine
	err := s.db.SelectContext(ctx, &out, `SELECT lead_id, id, kind, score_id, label, rule_id, rule_version, activity_id,
			earned_at, delta, before, after, created_at, COALESCE(cardinality(activity_ids), 1) AS activities
		FROM score_ledger WHERE workspace_id = $1 AND lead_id = $2 ORDER BY id DESC, line DESC LIMIT $3`, workspaceID, leadID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read ledger: %w", err)
	}
	return out, nil
}

// AccountRow is an account in the accounts list.
type AccountRow struct {
	WorkspaceID int64          `db:"workspace_id"`
	ID          int64          `db:"id"`
	Domain      string         `db:"domain"`
	Name        string         `db:"name"`
	Industry    string         `db:"industry"`
	Employees   *int           `db:"employees"`
	MainScore   float64        `db:"main_score"`
	Labels      pq.StringArray `db:"labels"`
	People      int            `db:"people"`
	Engaged30   int            `db:"engaged_30d"`
	LastActive  *time.Time     `db:"last_active"`
	Grade       string         `db:"grade"`       // the company's own fit
	Temperature string         `db:"temperature"` // its hottest person's
}

// accountSelect selects accounts aliased a with their counts of people, counting only the
// people that meet cond (the viewer's condition on leads aliased l, with its AND, or "").
func accountSelect(cond string) string {
	return `SELECT a.workspace_id, a.id, a.domain, a.name, a.industry, a.employees, a.main_score, a.labels, a.grade, a.temperature,
		(SELECT count(*) FROM leads l WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id` + cond + `) AS people,
		(SELECT count(*) FROM leads l WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id
			AND l.last_activity_at >= now() - interval '30 days'` + cond + `) AS engaged_30d,
		(SELECT max(l.last_activity_at) FROM leads l WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id` + cond + `) AS last_active
	FROM accounts a `
}

// visibleAccount is the condition, for a restricted viewer, that one of the account's people
// is theirs to see, or "" (with cond as from Viewer.and).
func visibleAccount(cond string) string {
	if cond == "" {
		return ""
	}
	return ` AND EXISTS (SELECT 1 FROM leads l WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id` + cond + `)`
}

// AccountFilter narrows the accounts list.
type AccountFilter struct {
	Search     string
	Label      string
	Grades     []string // fit grades to keep (none: all)
	MinScore   *float64 // main score at least
	MinEngaged int      // people active in 30 days, at least (0: any)
	Temps      []string // temperatures to keep (none: all)
	Sort       string   // "" (main score), AccountSortPeople, AccountSortEngaged, AccountSortActivity
	Limit      int
	Offset     int
}

// Account list orders besides the main score.
const (
	AccountSortPeople   = "people"
	AccountSortEngaged  = "engaged"
	AccountSortActivity = "activity"
)

// ListAccounts pages through the accounts the viewer may see, highest main score first; a
// restricted viewer sees the accounts of their people, counted by their people only.
func (s *Store) ListAccounts(ctx context.Context, v Viewer, f AccountFilter) ([]AccountRow, int, error) {
	search := ""
	if f.Search != "" {
		search = "%" + escapeLike(f.Search) + "%"
	}
	grades, temps := pq.Array(append([]string{}, f.Grades...)), pq.Array(append([]string{}, f.Temps...)) // never NULL
	args := []any{v.WorkspaceID, search, f.Label, grades, temps, f.MinScore, f.MinEngaged}
	cond := v.and(binder(&args))
	where := `WHERE a.workspace_id = $1 AND ($2 = '' OR a.domain LIKE $2 OR lower(a.name) LIKE $2) AND ($3 = '' OR a.labels @> ARRAY[$3])
		AND (cardinality($4::text[]) = 0 OR a.grade = ANY($4)) AND (cardinality($5::text[]) = 0 OR a.temperature = ANY($5))
		AND ($6::float8 IS NULL OR a.main_score >= $6)
		AND ($7::int = 0 OR (SELECT count(*) FROM leads l WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id
			AND l.last_activity_at >= now() - interval '30 days'` + cond + `) >= $7)` + visibleAccount(cond)
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM accounts a `+where, args...); err != nil {
		return nil, 0, fmt.Errorf("store: unable to count accounts: %w", err)
	}
	var out []AccountRow
	order := map[string]string{AccountSortPeople: "people DESC, a.main_score DESC", AccountSortEngaged: "engaged_30d DESC, a.main_score DESC",
		AccountSortActivity: "last_active DESC NULLS LAST"}[f.Sort]
	if order == "" {
		order = "a.main_score DESC"
	}
	arg := binder(&args)
	err := s.db.SelectContext(ctx, &out, accountSelect(cond)+where+` ORDER BY `+order+`, a.id DESC LIMIT `+arg(f.Limit)+` OFFSET `+arg(f.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: unable to list accounts: %w", err)
	}
	return out, total, nil
}

// AccountByID loads one account the viewer may see, with the counts of their people.
func (s *Store) AccountByID(ctx context.Context, v Viewer, id int64) (AccountRow, error) {
	var a AccountRow
	args := []any{v.WorkspaceID, id}
	cond := v.and(binder(&args))
	err := s.db.GetContext(ctx, &a, accountSelect(cond)+`WHERE a.workspace_id = $1 AND a.id = $2`+visibleAccount(cond), args...)
	if err != nil {
		return a, fmt.Errorf("store: unable to load account: %w", notFound(err))
	}
	return a, nil
}

// AccountScoreValues lists an account's rolled-up scores.
func (s *Store) AccountScoreValues(ctx context.Context, workspaceID, accountID int64) ([]NamedValue, error) {
	var out []NamedValue
	err := s.db.SelectContext(ctx, &out, `SELECT n.id AS score_id, n.name, n.is_main, COALESCE(CASE WHEN n.is_main
			THEN (SELECT a.main_score FROM accounts a WHERE a.workspace_id = $1 AND a.id = $2)
			ELSE (SELECT s.value FROM account_scores s WHERE s.workspace_id = $1 AND s.account_id = $2 AND s.score_id = n.id) END, 0) AS value
		FROM score_names n WHERE n.workspace_id = $1 ORDER BY n.is_main DESC, n.name`, workspaceID, accountID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read account scores: %w", err)
	}
	return out, nil
}

// AccountActivities pages through the activities of an account's people the viewer may see,
// newest first.
func (s *Store) AccountActivities(ctx context.Context, v Viewer, accountID int64, limit, offset int) ([]model.Activity, error) {
	var out []model.Activity
	args := []any{v.WorkspaceID, accountID, limit, offset}
	err := s.db.SelectContext(ctx, &out, `SELECT `+activityColumns+` FROM activities
		WHERE workspace_id = $1 AND lead_id IN (SELECT l.id FROM leads l WHERE l.workspace_id = $1 AND l.account_id = $2`+v.and(binder(&args))+`)
		ORDER BY occurred_at DESC, id DESC LIMIT $3 OFFSET $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list account activities: %w", err)
	}
	return out, nil
}

// Base returns the contribution itself.
func (c ContributionDetail) Base() model.Contribution { return c.Contribution }
