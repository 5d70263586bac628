package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
)

// JobMilestoneBackfill finds a new milestone's crossings in the workspace's history; its key
// is the milestone's id. JobAttributionRebuild recomputes every credit after the models'
// settings changed.
const (
	JobMilestoneBackfill  = "milestone-backfill"
	JobAttributionRebuild = "attribution-rebuild"
)

// MilestoneRow is a milestone as the settings page lists it.
type MilestoneRow struct {
	ID           int64           `db:"id"`
	Name         string          `db:"name"`
	Kind         string          `db:"kind"`
	ScoreID      sql.NullInt64   `db:"score_id"`
	ScoreName    sql.NullString  `db:"score_name"`
	Threshold    sql.NullFloat64 `db:"threshold"`
	Value        string          `db:"value"`
	BackfillLead int64           `db:"backfill_lead"`
	BackfilledAt *time.Time      `db:"backfilled_at"`
	CreatedAt    time.Time       `db:"created_at"`
	Crossings    int             `db:"crossings"`
	Leads        int             `db:"leads"`
}

// Milestone is the row as the attribution package knows it.
func (r MilestoneRow) Milestone() attribution.Milestone {
	return attribution.Milestone{ID: r.ID, Name: r.Name, Kind: r.Kind, ScoreID: r.ScoreID.Int64, Threshold: r.Threshold.Float64, Value: r.Value}
}

const milestoneSelect = `SELECT m.id, m.name, m.kind, m.score_id, s.name AS score_name, m.threshold, m.value, m.backfill_lead,
		m.backfilled_at, m.created_at,
		(SELECT count(*) FROM milestone_crossings c WHERE c.workspace_id = m.workspace_id AND c.milestone_id = m.id) AS crossings,
		(SELECT count(DISTINCT c.lead_id) FROM milestone_crossings c WHERE c.workspace_id = m.workspace_id AND c.milestone_id = m.id) AS leads
	FROM milestones m LEFT JOIN score_names s ON s.workspace_id = m.workspace_id AND s.id = m.score_id `

// Milestones lists the workspace's milestones with how many crossings each has.
func (s *Store) Milestones(ctx context.Context, workspaceID int64) ([]MilestoneRow, error) {
	var out []MilestoneRow
	if err := s.db.SelectContext(ctx, &out, milestoneSelect+`WHERE m.workspace_id = $1 ORDER BY m.name, m.id`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to list milestones: %w", err)
	}
	return out, nil
}

// MilestoneByID reads one milestone.
func (s *Store) MilestoneByID(ctx context.Context, workspaceID, id int64) (MilestoneRow, error) {
	var r MilestoneRow
	if err := s.db.GetContext(ctx, &r, milestoneSelect+`WHERE m.workspace_id = $1 AND m.id = $2`, workspaceID, id); err != nil {
		return r, fmt.Errorf("store: unable to read the milestone: %w", notFound(err))
	}
	return r, nil
}

// ErrMilestoneNameTaken: another milestone of the workspace has the name.
var ErrMilestoneNameTaken = errors.New("store: milestone name taken")

// CreateMilestone stores a milestone and queues the back-fill of its history in the same
// transaction (scoring records its crossings from the commit on).
func (s *Store) CreateMilestone(ctx context.Context, workspaceID int64, m attribution.Milestone) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx *Tx) error {
		var score, threshold any
		if m.Kind == attribution.KindScore {
			score, threshold = m.ScoreID, m.Threshold
		}
		if err := tx.tx.GetContext(ctx, &id, `INSERT INTO milestones (workspace_id, name, kind, score_id, threshold, value)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, workspaceID, m.Name, m.Kind, score, threshold, m.Value); err != nil {
			if isUniqueViolation(err) {
				return ErrMilestoneNameTaken
			}
			return fmt.Errorf("store: unable to create the milestone: %w", err)
		}
		return s.EnqueueJob(ctx, tx, workspaceID, JobMilestoneBackfill, fmt.Sprint(id), time.Now())
	})
	return id, err
}

// DeleteMilestone removes a milestone with its crossings and credits.
func (s *Store) DeleteMilestone(ctx context.Context, workspaceID, id int64) error {
	return s.one(ctx, `DELETE FROM milestones WHERE workspace_id = $1 AND id = $2`, "delete the milestone", workspaceID, id)
}

// AttributionSettings reads the workspace's lookback window and time-decay half-life.
func (s *Store) AttributionSettings(ctx context.Context, workspaceID int64) (attribution.Settings, error) {
	return attributionSettings(ctx, s.db, workspaceID)
}

// AttributionSettings reads them inside a transaction.
func (t *Tx) AttributionSettings(ctx context.Context, workspaceID int64) (attribution.Settings, error) {
	return attributionSettings(ctx, t.tx, workspaceID)
}

func attributionSettings(ctx context.Context, q sqlx.QueryerContext, workspaceID int64) (attribution.Settings, error) {
	var st attribution.Settings
	err := q.QueryRowxContext(ctx, `SELECT attribution_lookback_days, attribution_half_life_days FROM workspaces WHERE id = $1`, workspaceID).
		Scan(&st.LookbackDays, &st.HalfLifeDays)
	if err != nil {
		return st, fmt.Errorf("store: unable to read attribution settings: %w", notFound(err))
	}
	return st, nil
}

// SetAttributionSettings stores new settings and, when they changed, queues the recomputation
// of every credit.
func (s *Store) SetAttributionSettings(ctx context.Context, workspaceID int64, st attribution.Settings) error {
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `UPDATE workspaces SET attribution_lookback_days = $2, attribution_half_life_days = $3
			WHERE id = $1 AND (attribution_lookback_days, attribution_half_life_days) IS DISTINCT FROM ($2, $3)`,
			workspaceID, st.LookbackDays, st.HalfLifeDays)
		if err != nil {
			return fmt.Errorf("store: unable to save attribution settings: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.EnqueueJob(ctx, tx, workspaceID, JobAttributionRebuild, "", time.Now())
	})
}

// MilestoneDefs reads the workspace's milestones for scoring.
func (t *Tx) MilestoneDefs(ctx context.Context, workspaceID int64) ([]attribution.Milestone, error) {
	var rows []MilestoneRow
	if err := t.tx.SelectContext(ctx, &rows, `SELECT m.id, m.name, m.kind, m.score_id, m.threshold, m.value FROM milestones m
		WHERE m.workspace_id = $1 ORDER BY m.id`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to read milestones: %w", err)
	}
	out := make([]attribution.Milestone, len(rows))
	for i, r := range rows {
		out[i] = r.Milestone()
	}
	return out, nil
}

// InsertCrossings records crossings; one already recorded (same milestone, lead and time) is
// kept as it is. Each lead's account is read as it is now.
func (t *Tx) InsertCrossings(ctx context.Context, workspaceID int64, cs []attribution.Crossing) error {
	if len(cs) == 0 {
		return nil
	}
	milestones, leads, ats := make([]int64, len(cs)), make([]int64, len(cs)), make([]time.Time, len(cs))
	for i, c := range cs {
		milestones[i], leads[i], ats[i] = c.MilestoneID, c.LeadID, c.At
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO milestone_crossings (workspace_id, milestone_id, lead_id, account_id, crossed_at)
		SELECT $1, u.m, u.l, l.account_id, u.at FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[]) AS u(m, l, at)
		JOIN leads l ON l.workspace_id = $1 AND l.id = u.l
		ON CONFLICT (workspace_id, milestone_id, lead_id, crossed_at) DO NOTHING`,
		workspaceID, pq.Array(milestones), pq.Array(leads), pq.Array(timeStrings(ats))); err != nil {
		return fmt.Errorf("store: unable to record milestone crossings: %w", err)
	}
	return nil
}

// CrossingRow is a recorded crossing with what crediting it needs.
type CrossingRow struct {
	ID          int64     `db:"id"`
	MilestoneID int64     `db:"milestone_id"`
	LeadID      int64     `db:"lead_id"`
	AccountID   *int64    `db:"account_id"`
	CrossedAt   time.Time `db:"crossed_at"`
	LeadCreated time.Time `db:"lead_created"`
}

// CrossingsSince reads the crossings of leads at or after a time per lead (a touch at that
// time may change their credit), at most `within` after it (older touches are outside the
// lookback of later crossings).
func (t *Tx) CrossingsSince(ctx context.Context, workspaceID int64, leadIDs []int64, since []time.Time, within time.Duration) ([]CrossingRow, error) {
	var out []CrossingRow
	if err := t.tx.SelectContext(ctx, &out, `SELECT c.id, c.milestone_id, c.lead_id, c.account_id, c.crossed_at, l.created_at AS lead_created
		FROM unnest($2::bigint[], $3::timestamptz[]) AS u(lead, since)
		JOIN milestone_crossings c ON c.workspace_id = $1 AND c.lead_id = u.lead AND c.crossed_at >= u.since
			AND c.crossed_at <= u.since + make_interval(secs => $4)
		JOIN leads l ON l.workspace_id = $1 AND l.id = c.lead_id
		ORDER BY c.id`, workspaceID, pq.Array(leadIDs), pq.Array(timeStrings(since)), within.Seconds()); err != nil {
		return nil, fmt.Errorf("store: unable to read crossings: %w", err)
	}
	return out, nil
}

// CrossingsAfter reads a page of the workspace's crossings in id order, for rebuilds and
// tests.
func (t *Tx) CrossingsAfter(ctx context.Context, workspaceID, afterID int64, limit int) ([]CrossingRow, error) {
	var out []CrossingRow
	if err := t.tx.SelectContext(ctx, &out, `SELECT c.id, c.milestone_id, c.lead_id, c.account_id, c.crossed_at, l.created_at AS lead_created
		FROM milestone_crossings c JOIN leads l ON l.workspace_id = c.workspace_id AND l.id = c.lead_id
		WHERE c.workspace_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3`, workspaceID, afterID, limit); err != nil {
		return nil, fmt.Errorf("store: unable to read crossings: %w", err)
	}
	return out, nil
}

// TouchFacts reads what the leads' activities between two instants tell about touches, per
// lead, in time order.
func (t *Tx) TouchFacts(ctx context.Context, workspaceID int64, leadIDs []int64, from, to time.Time) (map[int64][]attribution.ActivityFacts, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT lead_id, id, occurred_at, event_type, campaign_name, campaign_id, canvas_name, canvas_id,
			COALESCE(properties->>'path', ''), COALESCE(properties->>'utm_source', ''), COALESCE(properties->>'utm_medium', ''),
			COALESCE(properties->>'utm_campaign', '')
		FROM activities WHERE workspace_id = $1 AND lead_id = ANY($2) AND occurred_at >= $3 AND occurred_at <= $4
		ORDER BY lead_id, occurred_at, id`, workspaceID, pq.Array(leadIDs), from, to)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read touches: %w", err)
	}
	defer rows.Close()
	out := map[int64][]attribution.ActivityFacts{}
	for rows.Next() {
		var lead int64
		var a attribution.ActivityFacts
		if err := rows.Scan(&lead, &a.ID, &a.At, &a.EventType, &a.CampaignName, &a.CampaignID, &a.CanvasName, &a.CanvasID,
			&a.Path, &a.UTMSource, &a.UTMMedium, &a.UTMCampaign); err != nil {
			return nil, fmt.Errorf("store: unable to read touches: %w", err)
		}
		out[lead] = append(out[lead], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read touches: %w", err)
	}
	return out, nil
}

// CreditRow is one crossing's credit for one dimension value.
type CreditRow struct {
	Crossing CrossingRow
	attribution.Credit
}

// ReplaceCredits replaces the credits of crossings with new ones (crossings without touches
// keep none).
func (t *Tx) ReplaceCredits(ctx context.Context, workspaceID int64, crossingIDs []int64, credits []CreditRow) error {
	if len(crossingIDs) == 0 {
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM attribution_credits WHERE workspace_id = $1 AND crossing_id = ANY($2)`,
		workspaceID, pq.Array(crossingIDs)); err != nil {
		return fmt.Errorf("store: unable to replace credits: %w", err)
	}
	if len(credits) == 0 {
		return nil
	}
	n := len(credits)
	ids, milestones, leads := make([]int64, n), make([]int64, n), make([]int64, n)
	accounts := make([]sql.NullInt64, n)
	dims, values := make([]string, n), make([]string, n)
	crossed, firsts := make([]time.Time, n), make([]time.Time, n)
	touches := make([]int64, n)
	var models [attribution.NumModels][]float64
	for m := range models {
		models[m] = make([]float64, n)
	}
	for i, c := range credits {
		ids[i], milestones[i], leads[i] = c.Crossing.ID, c.Crossing.MilestoneID, c.Crossing.LeadID
		if c.Crossing.AccountID != nil {
			accounts[i] = sql.NullInt64{Int64: *c.Crossing.AccountID, Valid: true}
		}
		dims[i], values[i], crossed[i], firsts[i], touches[i] = string(c.Dimension), c.Value, c.Crossing.CrossedAt, c.FirstAt, int64(c.Touches)
		for m := range models {
			models[m][i] = c.Models[m]
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO attribution_credits (workspace_id, crossing_id, dimension, value, milestone_id, lead_id,
			account_id, crossed_at, touches, first_touch_at, first_touch, last_touch, linear, u_shaped, w_shaped, time_decay)
		SELECT $1, u.* FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::timestamptz[],
			$9::int[], $10::timestamptz[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], $15::float8[], $16::float8[])
			AS u(crossing, dim, value, milestone, lead, account, crossed, touches, first, f, l, li, us, ws, td)
		WHERE EXISTS (SELECT 1 FROM milestone_crossings c WHERE c.workspace_id = $1 AND c.id = u.crossing)`,
		workspaceID, pq.Array(ids), pq.Array(dims), pq.Array(values), pq.Array(milestones), pq.Array(leads), pq.Array(nullInts(accounts)),
		pq.Array(timeStrings(crossed)), pq.Array(touches), pq.Array(timeStrings(firsts)), pq.Array(models[0]), pq.Array(models[1]), pq.Array(models[2]),
		pq.Array(models[3]), pq.Array(models[4]), pq.Array(models[5])); err != nil {
		return fmt.Errorf("store: unable to store credits: %w", err)
	}
	return nil
}

// nullInts turns nullable ids into what pq.Array writes as NULL.
func nullInts(v []sql.NullInt64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		if x.Valid {
			out[i] = x.Int64
		}
	}
	return out
}

// LedgerSteps reads, for back-fill, the ledger lines a score or label milestone is crossed
// by, of leads after afterLead up to throughLead, in lead and ledger order; covering lines
// come with their activities' points and times.
func (t *Tx) LedgerSteps(ctx context.Context, workspaceID int64, m attribution.Milestone, afterLead, throughLead int64) ([]attribution.LedgerStep, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT lead_id, created_at, COALESCE(score_id, 0), label, before, after,
			COALESCE(earned_at, created_at), COALESCE(to_json(earned_ats)::text, '[]'), COALESCE(deltas, '{}')
		FROM score_ledger
		WHERE workspace_id = $1 AND lead_id > $2 AND lead_id <= $3
			AND (($4 = 'score' AND kind = 'score' AND score_id = $5) OR ($4 = 'label' AND kind = 'label' AND lower(label) = lower($6)))
		ORDER BY lead_id, id, line`, workspaceID, afterLead, throughLead, m.Kind, m.ScoreID, m.Value)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the ledger: %w", err)
	}
	defer rows.Close()
	var out []attribution.LedgerStep
	for rows.Next() {
		var s attribution.LedgerStep
		var ats []time.Time
		var atsJSON []byte
		var deltas []float64
		if err := rows.Scan(&s.LeadID, &s.Pass, &s.ScoreID, &s.Label, &s.Before, &s.After, &s.At, &atsJSON, pq.Array(&deltas)); err != nil {
			return nil, fmt.Errorf("store: unable to read the ledger: %w", err)
		}
		if err := json.Unmarshal(atsJSON, &ats); err != nil {
			return nil, fmt.Errorf("store: unable to read the ledger's times: %w", err)
		}
		for i := range ats {
			if i < len(deltas) {
				s.Covers = append(s.Covers, attribution.CoveredPoints{At: ats[i], Points: deltas[i]})
			}
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the ledger: %w", err)
	}
	return out, nil
}

// CrossingsFromLeads back-fills a grade or status milestone from the leads of a range, which
// the ledger does not date: a lead at the grade or better crossed when it was created (grades
// follow the profile); a lead with the status crossed when it was last changed — unless a
// crossing is recorded already.
func (t *Tx) CrossingsFromLeads(ctx context.Context, workspaceID int64, m attribution.Milestone, afterLead, throughLead int64) error {
	match, at := `l.grade <> '' AND l.grade <= $5`, `l.created_at`
	if m.Kind == attribution.KindStatus {
		match, at = `lower(l.status) = lower($5)`, `l.updated_at`
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO milestone_crossings (workspace_id, milestone_id, lead_id, account_id, crossed_at)
		SELECT l.workspace_id, $2, l.id, l.account_id, `+at+` FROM leads l
		WHERE l.workspace_id = $1 AND l.id > $3 AND l.id <= $4 AND `+match+`
			AND EXISTS (SELECT 1 FROM milestones m WHERE m.workspace_id = $1 AND m.id = $2)
			AND NOT EXISTS (SELECT 1 FROM milestone_crossings c WHERE c.workspace_id = $1 AND c.milestone_id = $2 AND c.lead_id = l.id)
		ON CONFLICT DO NOTHING`, workspaceID, m.ID, afterLead, throughLead, m.Value); err != nil {
		return fmt.Errorf("store: unable to back-fill crossings from leads: %w", err)
	}
	return nil
}

// MaxLeadID is the workspace's highest lead id (back-fill walks leads up to it in ranges).
func (t *Tx) MaxLeadID(ctx context.Context, workspaceID int64) (int64, error) {
	var id int64
	if err := t.tx.GetContext(ctx, &id, `SELECT COALESCE(max(id), 0) FROM leads WHERE workspace_id = $1`, workspaceID); err != nil {
		return 0, fmt.Errorf("store: unable to read leads: %w", err)
	}
	return id, nil
}

// SetMilestoneBackfill records the back-fill's progress; done marks it finished.
func (t *Tx) SetMilestoneBackfill(ctx context.Context, workspaceID, id, throughLead int64, done bool) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE milestones SET backfill_lead = $3, backfilled_at = CASE WHEN $4 THEN now() END
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, throughLead, done); err != nil {
		return fmt.Errorf("store: unable to record back-fill progress: %w", err)
	}
	return nil
}

// MilestoneForBackfill reads a milestone in the back-fill's transaction; ErrNotFound when it
// was deleted meanwhile.
func (t *Tx) MilestoneForBackfill(ctx context.Context, workspaceID, id int64) (MilestoneRow, error) {
	var r MilestoneRow
	if err := t.tx.GetContext(ctx, &r, `SELECT id, name, kind, score_id, threshold, value, backfill_lead, backfilled_at, created_at
		FROM milestones WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id); err != nil {
		return r, fmt.Errorf("store: unable to read the milestone: %w", notFound(err))
	}
	return r, nil
}

// CrossingsOfLeadRange reads a milestone's crossings of a range of leads (to credit after a
// back-fill step).
func (t *Tx) CrossingsOfLeadRange(ctx context.Context, workspaceID, milestoneID, afterLead, throughLead int64) ([]CrossingRow, error) {
	var out []CrossingRow
	if err := t.tx.SelectContext(ctx, &out, `SELECT c.id, c.milestone_id, c.lead_id, c.account_id, c.crossed_at, l.created_at AS lead_created
		FROM milestone_crossings c JOIN leads l ON l.workspace_id = c.workspace_id AND l.id = c.lead_id
		WHERE c.workspace_id = $1 AND c.milestone_id = $2 AND c.lead_id > $3 AND c.lead_id <= $4 ORDER BY c.id`,
		workspaceID, milestoneID, afterLead, throughLead); err != nil {
		return nil, fmt.Errorf("store: unable to read crossings: %w", err)
	}
	return out, nil
}

// timeStrings renders times for a timestamptz[] parameter.
func timeStrings(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// ReportQuery picks the crossings a report reads: one milestone, crossed in [From, To).
type ReportQuery struct {
	WorkspaceID int64
	MilestoneID int64
	Dimension   attribution.Dimension
	From, To    time.Time
}

// ReportRow is one dimension value's line of an attribution report.
type ReportRow struct {
	Value     string
	Leads     int // leads whose crossings it touched
	Accounts  int // their accounts
	Crossings int // crossings it touched
	Touches   int
	Credit    [attribution.NumModels]float64 // credited crossings per model
	// MedianDays is the median time from its first touch to the crossing, in days.
	MedianDays float64
}

// DayCount is a day's number of crossings.
type DayCount struct {
	Day   time.Time
	Count int
}

// Report is an attribution report: totals of the period and a row per dimension value.
type Report struct {
	Crossings, Leads, Accounts int
	Credited                   int // crossings with at least one touch in the lookback
	Rows                       []ReportRow
	Days                       []DayCount
}

// modelColumns are the credit columns, in attribution.Models order.
var modelColumns = [attribution.NumModels]string{"first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay"}

// AttributionReport sums the credits of a period's crossings per dimension value (one index
// range of attribution_credits), with the period's totals and crossings per day.
func (s *Store) AttributionReport(ctx context.Context, q ReportQuery) (Report, error) {
	var r Report
	err := s.db.QueryRowxContext(ctx, `SELECT count(*), count(DISTINCT lead_id), count(DISTINCT account_id),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM attribution_credits a WHERE a.workspace_id = c.workspace_id AND a.crossing_id = c.id))
		FROM milestone_crossings c WHERE c.workspace_id = $1 AND c.milestone_id = $2 AND c.crossed_at >= $3 AND c.crossed_at < $4`,
		q.WorkspaceID, q.MilestoneID, q.From, q.To).Scan(&r.Crossings, &r.Leads, &r.Accounts, &r.Credited)
	if err != nil {
		return r, fmt.Errorf("store: unable to read the report's totals: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT value, count(DISTINCT lead_id), count(DISTINCT account_id), count(*), sum(touches),
			sum(first_touch), sum(last_touch), sum(linear), sum(u_shaped), sum(w_shaped), sum(time_decay),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM crossed_at - first_touch_at) / 86400)
		FROM attribution_credits
		WHERE workspace_id = $1 AND milestone_id = $2 AND dimension = $3 AND crossed_at >= $4 AND crossed_at < $5
		GROUP BY value ORDER BY sum(linear) DESC, value`, q.WorkspaceID, q.MilestoneID, string(q.Dimension), q.From, q.To)
	if err != nil {
		return r, fmt.Errorf("store: unable to read the report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x ReportRow
		c := &x.Credit
		if err := rows.Scan(&x.Value, &x.Leads, &x.Accounts, &x.Crossings, &x.Touches, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &x.MedianDays); err != nil {
			return r, fmt.Errorf("store: unable to read the report: %w", err)
		}
		r.Rows = append(r.Rows, x)
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("store: unable to read the report: %w", err)
	}
	if err := s.db.SelectContext(ctx, &r.Days, `SELECT date_trunc('day', crossed_at) AS day, count(*) AS count FROM milestone_crossings
		WHERE workspace_id = $1 AND milestone_id = $2 AND crossed_at >= $3 AND crossed_at < $4 GROUP BY 1 ORDER BY 1`,
		q.WorkspaceID, q.MilestoneID, q.From, q.To); err != nil {
		return r, fmt.Errorf("store: unable to read crossings per day: %w", err)
	}
	return r, nil
}

// CreditedLead is a lead whose crossing a dimension value was credited for.
type CreditedLead struct {
	LeadID      int64     `db:"lead_id"`
	Email       string    `db:"email"`
	FirstName   string    `db:"first_name"`
	LastName    string    `db:"last_name"`
	Company     string    `db:"company"`
	MainScore   float64   `db:"main_score"`
	Grade       string    `db:"grade"`
	Temperature string    `db:"temperature"`
	CrossedAt   time.Time `db:"crossed_at"`
	Touches     int       `db:"touches"`
	Credit      float64   `db:"credit"`
}

// AttributionLeads lists the leads whose crossings in the period a dimension value touched,
// with the credit the model gave it, largest first (at most 500).
func (s *Store) AttributionLeads(ctx context.Context, q ReportQuery, value string, m attribution.Model) ([]CreditedLead, error) {
	var out []CreditedLead
	if err := s.db.SelectContext(ctx, &out, `SELECT l.id AS lead_id, l.email, l.first_name, l.last_name, l.company, l.main_score, l.grade,
			l.temperature, a.crossed_at, a.touches, a.`+modelColumns[m]+` AS credit
		FROM attribution_credits a JOIN leads l ON l.workspace_id = a.workspace_id AND l.id = a.lead_id
		WHERE a.workspace_id = $1 AND a.milestone_id = $2 AND a.dimension = $3 AND a.crossed_at >= $4 AND a.crossed_at < $5 AND a.value = $6
		ORDER BY credit DESC, a.crossed_at DESC, l.id LIMIT 500`,
		q.WorkspaceID, q.MilestoneID, string(q.Dimension), q.From, q.To, value); err != nil {
		return nil, fmt.Errorf("store: unable to read credited leads: %w", err)
	}
	return out, nil
}

// LeadStatuses lists the Salesforce lead statuses the workspace's leads have (at most 50, the
// most common first), for the milestone form.
func (s *Store) LeadStatuses(ctx context.Context, workspaceID int64) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, `SELECT status FROM leads WHERE workspace_id = $1 AND status <> ''
		GROUP BY status ORDER BY count(*) DESC, status LIMIT 50`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to list lead statuses: %w", err)
	}
	return out, nil
}
