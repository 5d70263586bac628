package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const leadColumns = `l.workspace_id, l.id, l.email, l.first_name, l.last_name, l.company, l.created_at, l.last_activity_at,
	l.phone, l.country, l.time_zone, l.custom_attributes, l.account_id, l.first_activity_at, l.activity_count, l.updated_at,
	a.domain AS account_domain, l.title, l.owner_name, l.owner_email, l.main_score, l.fit_points, l.grade, l.temperature,
	l.labels, l.rising, l.fit_rules, l.status, l.lead_source, l.owner_user_id`

const leadFrom = ` FROM leads l LEFT JOIN accounts a ON a.workspace_id = l.workspace_id AND a.id = l.account_id `

// CreateLead inserts a lead, or returns ErrDuplicate when the email is already a lead.
func (s *Store) CreateLead(ctx context.Context, l model.Lead) (model.Lead, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `
		INSERT INTO leads (workspace_id, email, first_name, last_name, company, last_activity_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		l.WorkspaceID, l.Email, l.FirstName, l.LastName, l.Company, l.LastActivityAt)
	if isUniqueViolation(err) {
		return l, ErrDuplicate
	}
	if err != nil {
		return l, fmt.Errorf("store: unable to create lead: %w", err)
	}
	return s.LeadByID(ctx, l.WorkspaceID, id)
}

// LeadByID loads one lead of the workspace.
func (s *Store) LeadByID(ctx context.Context, workspaceID, leadID int64) (model.Lead, error) {
	var l model.Lead
	err := s.db.GetContext(ctx, &l, `SELECT `+leadColumns+leadFrom+`WHERE l.workspace_id = $1 AND l.id = $2`, workspaceID, leadID)
	if err != nil {
		return l, fmt.Errorf("store: unable to load lead: %w", notFound(err))
	}
	return l, nil
}

// Lead list orders.
const (
	SortScore       = "score"       // the main score, highest first (the default)
	SortGrade       = "grade"       // A first, then by main score
	SortTemperature = "temperature" // hottest first: heat is stored time-free, so its order holds
	SortActivity    = "activity"    // most recent activity first
)

// CountCap bounds counting: beyond it the list says "more than". Counting a million rows
// would cost more than showing the page.
const CountCap = 2000

// LeadFilter narrows and orders the lead list.
type LeadFilter struct {
	// Search matches email, name or company, case-insensitively.
	Search string
	// Sort is one of the Sort constants; ScoreID sorts by that named score instead.
	Sort    string
	ScoreID int64
	// Labels keeps leads holding all of these labels.
	Labels       []string
	Grades       []string
	Temperatures []string
	MinScore     *float64
	MaxScore     *float64
	AccountID    int64
	Owner        string // owner name or email, contains
	ActiveDays   int    // active within the last N days
	Limit        int
	Offset       int
}

// ListLeads pages through the workspace's leads. Ties break on id so pages never skip or
// repeat a lead. The total is exact up to CountCap; capped reports that it is a lower bound.
func (s *Store) ListLeads(ctx context.Context, v Viewer, f LeadFilter) ([]model.Lead, int, error) {
	leads, total, _, err := s.ListLeadsCapped(ctx, v, f)
	return leads, total, err
}

// ListLeadsCapped is ListLeads that also says whether the total hit CountCap.
func (s *Store) ListLeadsCapped(ctx context.Context, v Viewer, f LeadFilter) ([]model.Lead, int, bool, error) {
	where, args := leadWhere(v, f)
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM (SELECT 1 FROM leads l `+where+
		fmt.Sprintf(` LIMIT %d) capped`, CountCap+1), args...); err != nil {
		return nil, 0, false, fmt.Errorf("store: unable to count leads: %w", err)
	}
	capped := total > CountCap
	if capped {
		total = CountCap
	}
	from, order, args := leadOrder(f, args)
	var leads []model.Lead
	args = append(args, f.Limit, f.Offset)
	err := s.db.SelectContext(ctx, &leads, `SELECT `+leadColumns+from+where+
		fmt.Sprintf(` ORDER BY %s LIMIT $%d OFFSET $%d`, order, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, false, fmt.Errorf("store: unable to list leads: %w", err)
	}
	return leads, total, capped, nil
}

// leadOrder is the FROM clause and ORDER BY of the filter's sort, with args extended.
func leadOrder(f LeadFilter, args []any) (from, order string, _ []any) {
	order, from = `l.main_score DESC, l.id DESC`, leadFrom
	switch {
	case f.ScoreID != 0:
		args = append(args, f.ScoreID)
		// sv.value is the lead's value of the score, which the order and the keyset read; the
		// main score is kept on the lead only (migrations/0045).
		from += fmt.Sprintf(`LEFT JOIN lead_scores ls ON ls.workspace_id = l.workspace_id AND ls.lead_id = l.id AND ls.score_id = $%[1]d
			CROSS JOIN LATERAL (SELECT CASE WHEN $%[1]d = (SELECT id FROM score_names WHERE workspace_id = $1 AND is_main)
				THEN l.main_score ELSE COALESCE(ls.value, 0) END AS value) sv `, len(args))
		order = `sv.value DESC, l.id DESC`
	case f.Sort == SortGrade:
		order = `l.grade, l.main_score DESC, l.id DESC`
	case f.Sort == SortTemperature:
		order = `l.heat DESC, l.id DESC`
	case f.Sort == SortActivity:
		order = `l.last_activity_at DESC NULLS LAST, l.id DESC`
	}
	return from, order, args
}

// leadWhere is the WHERE clause of the filter for the viewer, with its arguments.
func leadWhere(v Viewer, f LeadFilter) (string, []any) {
	args := []any{v.WorkspaceID}
	where := `WHERE l.workspace_id = $1` + v.and(binder(&args))
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND " + strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args)))
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		// lead_search holds "email first last company" lower-cased, with a trigram index.
		add(`l.id IN (SELECT lead_id FROM lead_search WHERE workspace_id = $1 AND text LIKE $?)`, "%"+escapeLike(strings.ToLower(q))+"%")
	}
	if len(f.Labels) > 0 {
		add(`l.labels @> $?`, pq.Array(f.Labels))
	}
	if len(f.Grades) > 0 {
		add(`l.grade = ANY($?)`, pq.Array(f.Grades))
	}
	if len(f.Temperatures) > 0 {
		add(`l.temperature = ANY($?)`, pq.Array(f.Temperatures))
	}
	if f.MinScore != nil {
		add(`l.main_score >= $?`, *f.MinScore)
	}
	if f.MaxScore != nil {
		add(`l.main_score <= $?`, *f.MaxScore)
	}
	if f.AccountID != 0 {
		add(`l.account_id = $?`, f.AccountID)
	}
	if o := strings.TrimSpace(f.Owner); o != "" {
		add(`(lower(l.owner_name) LIKE $? OR l.owner_email LIKE $?)`, "%"+escapeLike(strings.ToLower(o))+"%")
	}
	if f.ActiveDays > 0 {
		add(`l.last_activity_at >= now() - make_interval(days => $?)`, f.ActiveDays)
	}
	return where, args
}

// LeadIdentities lists the identifiers known for a lead.
func (s *Store) LeadIdentities(ctx context.Context, workspaceID, leadID int64) ([]model.Identity, error) {
	var ids []model.Identity
	err := s.db.SelectContext(ctx, &ids, `
		SELECT kind, value, lead_id FROM lead_identities WHERE workspace_id = $1 AND lead_id = $2 ORDER BY kind, value`,
		workspaceID, leadID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list identities: %w", err)
	}
	return ids, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// LeadNames gives the workspace's leads' names (their email when they have none) by id.
func (s *Store) LeadNames(ctx context.Context, workspaceID int64, ids []int64) (map[int64]string, error) {
	var rows []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, COALESCE(NULLIF(trim(first_name || ' ' || last_name), ''), email) AS name
		FROM leads WHERE workspace_id = $1 AND id = ANY($2)`, workspaceID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to read lead names: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// LeadByEmail loads the lead with an email (stored lower-case) that the viewer may read.
func (s *Store) LeadByEmail(ctx context.Context, v Viewer, email string) (model.Lead, error) {
	var l model.Lead
	args := []any{v.WorkspaceID, email}
	err := s.db.GetContext(ctx, &l, `SELECT `+leadColumns+leadFrom+`WHERE l.workspace_id = $1 AND l.email = $2`+v.and(binder(&args)), args...)
	if err != nil {
		return l, fmt.Errorf("store: unable to load lead: %w", notFound(err))
	}
	return l, nil
}

// LeadPatch is a change of a lead's profile, owner or status: nil fields stay as they are.
type LeadPatch struct {
	FirstName, LastName, Title, Company, Phone, Country *string
	OwnerName, OwnerEmail, Status                       *string
}

// PatchLead changes a lead's fields; the lead is scored again (rules read its profile) and
// queued for Salesforce. ErrNotFound when the viewer has no such lead.
func (s *Store) PatchLead(ctx context.Context, v Viewer, leadID int64, p LeadPatch) error {
	workspaceID := v.WorkspaceID
	return s.InTx(ctx, func(tx *Tx) error {
		args := []any{workspaceID, leadID, p.FirstName, p.LastName, p.Title, p.Company, p.Phone, p.Country, p.OwnerName, p.OwnerEmail, p.Status}
		res, err := tx.tx.ExecContext(ctx, `UPDATE leads l SET first_name = COALESCE($3, first_name), last_name = COALESCE($4, last_name),
				title = COALESCE($5, title), company = COALESCE($6, company), phone = COALESCE($7, phone), country = COALESCE($8, country),
				owner_name = COALESCE($9, owner_name), owner_email = COALESCE(lower($10), owner_email), status = COALESCE($11, status),
				updated_at = now()
			WHERE l.workspace_id = $1 AND l.id = $2`+v.and(binder(&args)), args...)
		if err != nil {
			return fmt.Errorf("store: unable to change the lead: %w", err)
		}
		if err := expectOneRow(res); err != nil {
			return err
		}
		if err := scoreAgain(ctx, tx.tx, `l.workspace_id = $1 AND l.id = $2`, workspaceID, leadID); err != nil {
			return err
		}
		return tx.EnqueueSalesforce(ctx, workspaceID, []int64{leadID})
	})
}

// LeadCursor is where a page of the lead list ends: the last lead's sort values (as text,
// A then B; A empty for a lead without activity under the activity sort) and id.
type LeadCursor struct {
	A, B string
	Null bool // A is NULL (the activity sort's leads without activity, last)
	ID   int64
}

// keyset is a sort's key columns and the condition "after the cursor" in its order.
func keyset(f LeadFilter, c *LeadCursor, arg func(any) string) (a, b, after string) {
	switch {
	case f.ScoreID != 0:
		a, b = `sv.value`, `NULL`
	case f.Sort == SortGrade:
		a, b = `l.grade`, `l.main_score`
	case f.Sort == SortTemperature:
		a, b = `l.heat`, `NULL`
	case f.Sort == SortActivity:
		a, b = `l.last_activity_at`, `NULL`
	default:
		a, b = `l.main_score`, `NULL`
	}
	if c == nil {
		return a, b, ""
	}
	id := arg(c.ID)
	switch {
	case f.Sort == SortGrade && f.ScoreID == 0:
		g, s := arg(c.A), arg(c.B)
		after = fmt.Sprintf(`(l.grade > %s OR (l.grade = %s AND (l.main_score, l.id) < (%s::float8, %s)))`, g, g, s, id)
	case f.Sort == SortActivity && f.ScoreID == 0 && c.Null:
		after = fmt.Sprintf(`(l.last_activity_at IS NULL AND l.id < %s)`, id)
	case f.Sort == SortActivity && f.ScoreID == 0:
		t := arg(c.A)
		after = fmt.Sprintf(`(l.last_activity_at < %s::timestamptz OR (l.last_activity_at = %s::timestamptz AND l.id < %s) OR l.last_activity_at IS NULL)`, t, t, id)
	default:
		after = fmt.Sprintf(`(%s, l.id) < (%s::float8, %s)`, a, arg(c.A), id)
	}
	return a, b, after
}

// LeadsAfter pages through the filtered lead list by position: the leads after the cursor
// (nil: from the start), at most limit, each with the cursor that follows it, and the total
// (exact up to CountCap). A page reads an index range, however deep it is; a lead whose sort
// value moves between two reads may be seen twice or not at all.
func (s *Store) LeadsAfter(ctx context.Context, v Viewer, f LeadFilter, after *LeadCursor, limit int) ([]model.Lead, []LeadCursor, int, bool, error) {
	where, args := leadWhere(v, f)
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM (SELECT 1 FROM leads l `+where+
		fmt.Sprintf(` LIMIT %d) capped`, CountCap+1), args...); err != nil {
		return nil, nil, 0, false, fmt.Errorf("store: unable to count leads: %w", err)
	}
	capped := total > CountCap
	total = min(total, CountCap)
	from, order, args := leadOrder(f, args)
	arg := binder(&args)
	a, b, cond := keyset(f, after, arg)
	if cond != "" {
		where += " AND " + cond
	}
	var rows []struct {
		model.Lead
		KA *string `db:"k_a"`
		KB *string `db:"k_b"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+leadColumns+`, (`+a+`)::text AS k_a, (`+b+`)::text AS k_b`+from+where+
		` ORDER BY `+order+` LIMIT `+arg(limit), args...); err != nil {
		return nil, nil, 0, false, fmt.Errorf("store: unable to list leads: %w", err)
	}
	leads, cursors := make([]model.Lead, len(rows)), make([]LeadCursor, len(rows))
	for i, r := range rows {
		leads[i] = r.Lead
		c := LeadCursor{ID: r.ID, Null: r.KA == nil}
		if r.KA != nil {
			c.A = *r.KA
		}
		if r.KB != nil {
			c.B = *r.KB
		}
		cursors[i] = c
	}
	return leads, cursors, total, capped, nil
}
