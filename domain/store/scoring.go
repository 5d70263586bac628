package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

// LockScoringLeads locks leads for scoring, in id order so concurrent scorers queue rather
// than deadlock, and returns what scoring reads of them.
//
// The lock is taken by a statement of its own: in READ COMMITTED the next statement sees
// what a scorer that held the lock before us committed (its state and activities). Reading
// the state in the locking statement would give the snapshot from before the wait.
func (t *Tx) LockScoringLeads(ctx context.Context, workspaceID int64, ids []int64) ([]model.ScoringLead, error) {
	if _, err := t.tx.ExecContext(ctx, `SELECT 1 FROM leads WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`,
		workspaceID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to lock leads for scoring: %w", err)
	}
	// Their activity summaries too: a transaction that stores activities for them waits, so
	// what this one reads of their activities and of the queue stays as it was read. Each is
	// probed by key, in id order: for 1,000 of 100,000 leads PostgreSQL chose to scan the
	// narrow table instead (9.4-11.6 ms against 3.9-8.1 ms, EXPLAIN ANALYZE, three runs).
	if _, err := t.tx.ExecContext(ctx, `SELECT 1 FROM (SELECT DISTINCT unnest($2::bigint[]) ORDER BY 1) AS u(id)
		CROSS JOIN LATERAL (SELECT 1 FROM lead_activity x WHERE x.workspace_id = $1 AND x.lead_id = u.id FOR UPDATE) l`,
		workspaceID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to lock leads for scoring: %w", err)
	}
	return t.scoringLeads(ctx, workspaceID, ids)
}

// ScoringLeads reads leads as scoring does, without locking them (for previews).
func (t *Tx) ScoringLeads(ctx context.Context, workspaceID int64, ids []int64) ([]model.ScoringLead, error) {
	return t.scoringLeads(ctx, workspaceID, ids)
}

// scoringLeads reads leads with their accounts, states and stored scores. Rows are scanned by
// hand, as for activities: reflection over 32 columns cost as much as the query.
func (t *Tx) scoringLeads(ctx context.Context, workspaceID int64, ids []int64) ([]model.ScoringLead, error) {
	// Each lead is read with one probe of every table's key, in a subquery per lead: the
	// LIMIT keeps the planner from hashing whole tables for every batch. Joined plainly over
	// "id = ANY", a batch of 1,000 of 20,000 leads ran a parallel scan of leads and hashed
	// accounts: 28-32 ms against 17-20 ms probed (EXPLAIN ANALYZE, four runs each). With a
	// lateral join per table instead, PostgreSQL memoized each one for nothing. Before,
	// lead_activity's hash cost 2.4 s more per 100k leads re-scored, and lead_scores' a scan
	// of the whole table for a chunk of 500 leads.
	rows, err := t.tx.QueryContext(ctx, `
		SELECT r.*, (SELECT id FROM score_names WHERE workspace_id = $1 AND is_main) AS main_id
		FROM (SELECT DISTINCT unnest($2::bigint[])) AS u(id)
		CROSS JOIN LATERAL (
			SELECT l.fit_rules, l.id, l.email, l.first_name, l.last_name, l.title, l.country, l.industry, l.company_size, l.lead_source,
				l.status, l.owner_name, l.owner_email, l.custom_attributes, l.account_id, l.labels,
				x.last_activity_at AS x_last, x.first_activity_at AS x_first, COALESCE(x.activity_count, 0) AS x_count,
				l.last_activity_at, l.first_activity_at, l.activity_count,
				l.grade, l.main_score, l.fit_points, l.heat, l.rising, l.temperature, s.refresh_at,
				a.domain, a.name, a.industry AS account_industry, a.employees,
				s.rules_version, s.profile_hash, s.contributions, sc.ids, sc.vals
			FROM leads l LEFT JOIN accounts a ON a.workspace_id = l.workspace_id AND a.id = l.account_id
			LEFT JOIN lead_scoring_state s ON s.workspace_id = l.workspace_id AND s.lead_id = l.id
			LEFT JOIN lead_activity x ON x.workspace_id = l.workspace_id AND x.lead_id = l.id
			LEFT JOIN LATERAL (SELECT array_agg(score_id) AS ids, array_agg(value) AS vals FROM lead_scores sc
				WHERE sc.workspace_id = l.workspace_id AND sc.lead_id = l.id) sc ON true
			WHERE l.workspace_id = $1 AND l.id = u.id LIMIT 1) r
		ORDER BY r.id`, workspaceID, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read leads for scoring: %w", err)
	}
	defer rows.Close()
	out := make([]model.ScoringLead, 0, len(ids))
	for rows.Next() {
		var l model.ScoringLead
		var labels pq.StringArray
		var fitRules, scoreIDs pq.Int64Array
		var scoreValues pq.Float64Array
		var mainID *int64
		if err := rows.Scan(&fitRules, &l.ID, &l.Email, &l.FirstName, &l.LastName, &l.Title, &l.Country, &l.Industry, &l.CompanySize, &l.LeadSource,
			&l.Status, &l.OwnerName, &l.OwnerEmail, &l.CustomAttributes, &l.AccountID, &labels,
			&l.LastActivityAt, &l.FirstActivityAt, &l.ActivityCount, &l.Shown.LastActivityAt, &l.Shown.FirstActivityAt, &l.Shown.ActivityCount,
			&l.Grade, &l.MainScore, &l.FitPoints, &l.Heat, &l.Rising, &l.Temperature, &l.RefreshAt,
			&l.AccountDomain, &l.AccountName, &l.AccountIndustry, &l.AccountEmployees,
			&l.StateVersion, &l.StateHash, &l.State, &scoreIDs, &scoreValues, &mainID); err != nil {
			return nil, fmt.Errorf("store: unable to read leads for scoring: %w", err)
		}
		l.Labels, l.FitRules = labels, fitRules
		l.Scores = make(map[int64]float64, len(scoreIDs)+1)
		for i, id := range scoreIDs {
			l.Scores[id] = scoreValues[i]
		}
		// The main score is kept on the lead only (migrations/0045).
		if mainID != nil {
			delete(l.Scores, *mainID)
			if l.MainScore != 0 {
				l.Scores[*mainID] = l.MainScore
			}
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read leads for scoring: %w", err)
	}
	return out, nil
}

// ScoringActivity is an activity as scoring reads it.
type ScoringActivity struct {
	ID     int64 `db:"id"`
	LeadID int64 `db:"lead_id"`
	// OccurredAt is in Unix microseconds: parsing text timestamps cost more than scoring.
	OccurredAt   int64  `db:"occurred_at"`
	Source       string `db:"source"`
	EventType    string `db:"event_type"`
	Name         string `db:"name"`
	CampaignID   string `db:"campaign_id"`
	CampaignName string `db:"campaign_name"`
	CanvasID     string `db:"canvas_id"`
	CanvasName   string `db:"canvas_name"`
	URL          string `db:"url"`
	Properties   []byte `db:"properties"`
}

// EachActivityForScoring hands every activity of the leads but those in except (still queued
// for a later pass) to fn, per lead in time order.
// Properties are read only when a rule needs them, and are valid only during the call: the
// caller keeps what it needs (a handful of keys), never every activity's whole document.
// Rows are scanned by hand: this read is the bulk of a re-score, and reflection doubled its
// cost.
func (t *Tx) EachActivityForScoring(ctx context.Context, workspaceID int64, leadIDs, except []int64, withProperties bool, fn func(*ScoringActivity) error) error {
	if except == nil {
		except = []int64{} // <> ALL(NULL) would match nothing
	}
	return t.eachScoringActivity(ctx, withProperties, fn, `FROM activities WHERE workspace_id = $1 AND lead_id = ANY($2) AND id <> ALL($3)`,
		workspaceID, pq.Array(leadIDs), pq.Array(except))
}

// EachActivityForScoringByID hands the activities with the given ids to fn, per lead in time
// order: the new activities of leads scored by appending.
func (t *Tx) EachActivityForScoringByID(ctx context.Context, workspaceID int64, ids []int64, withProperties bool, fn func(*ScoringActivity) error) error {
	return t.eachScoringActivity(ctx, withProperties, fn, `FROM activities WHERE workspace_id = $1 AND id = ANY($2)`,
		workspaceID, pq.Array(ids))
}

// EachMatchingActivityForScoring hands fn the leads' activities that pass filter, per lead
// in time order: after an edit of rules that look at one activity at a time, those are all
// they can match, and the rest of each lead's history is not read.
func (t *Tx) EachMatchingActivityForScoring(ctx context.Context, workspaceID int64, leadIDs []int64, filter rules.ActivityFilter, withProperties bool, fn func(*ScoringActivity) error) error {
	cond, args, err := activityTestsSQL(filter, 3)
	if err != nil {
		return err
	}
	return t.eachScoringActivity(ctx, withProperties, fn, `FROM activities WHERE workspace_id = $1 AND lead_id = ANY($2) AND `+cond,
		append([]any{workspaceID, pq.Array(leadIDs)}, args...)...)
}

// RecentScoringActivities says, per lead, since when its activities are read, and which
// activities to leave out (those already read).
type RecentScoringActivities struct {
	LeadIDs []int64
	Since   []time.Time
	Except  []int64
	// Parts, when set, narrow the read to the activities one of them takes: passing its
	// filter, and no older than its time for the lead (a zero time takes none of the lead's).
	Parts []RecentPart
}

// RecentPart is one reason to read a lead's recent activities (see RecentScoringActivities).
type RecentPart struct {
	Since  []time.Time // per lead, as LeadIDs
	Filter rules.ActivityFilter
}

// EachRecentActivityForScoring hands fn each lead's activities since its time (the history a
// rule can still look at when new activities are appended), per lead in time order. The
// timeline index serves it as one range per lead.
func (t *Tx) EachRecentActivityForScoring(ctx context.Context, workspaceID int64, r RecentScoringActivities, withProperties bool, fn func(*ScoringActivity) error) error {
	if r.Except == nil {
		r.Except = []int64{} // <> ALL(NULL) would match nothing
	}
	since := make([]string, len(r.Since))
	for i, s := range r.Since {
		since[i] = s.UTC().Format(time.RFC3339Nano)
	}
	args := []any{workspaceID, pq.Array(r.LeadIDs), pq.Array(since), pq.Array(r.Except)}
	columns, arrays, passing := "", "", ""
	var taken []string
	for i, p := range r.Parts {
		times := make([]sql.NullString, len(p.Since))
		for j, s := range p.Since {
			times[j] = sql.NullString{String: s.UTC().Format(time.RFC3339Nano), Valid: !s.IsZero()}
		}
		args = append(args, pq.Array(times))
		arrays += fmt.Sprintf(", $%d::timestamptz[]", len(args))
		columns += fmt.Sprintf(", s%d", i)
		cond, more, err := activityTestsSQL(p.Filter, len(args)+1)
		if err != nil {
			return err
		}
		args = append(args, more...)
		taken = append(taken, fmt.Sprintf("a.occurred_at >= u.s%d AND %s", i, cond))
	}
	if len(taken) > 0 {
		passing = " AND (" + strings.Join(taken, " OR ") + ")"
	}
	return t.eachScoringActivity(ctx, withProperties, fn, `FROM unnest($2::bigint[], $3::timestamptz[]`+arrays+`) AS u(lead, since`+columns+`)
		CROSS JOIN LATERAL (SELECT * FROM activities a WHERE a.workspace_id = $1 AND a.lead_id = u.lead AND a.occurred_at >= u.since
			AND a.id <> ALL($4)`+passing+`) AS a`, args...)
}

// eachScoringActivity runs the scoring read over the rows the from clause gives.
func (t *Tx) eachScoringActivity(ctx context.Context, withProperties bool, fn func(*ScoringActivity) error, from string, args ...any) error {
	props := `NULL::bytea`
	if withProperties {
		props = `convert_to(properties::text, 'UTF8')`
	}
	// date_part computes in floating point, which is exact to the microsecond for these
	// dates (checked over 65 years of microsecond times); extract's numeric cost more.
	rows, err := t.tx.QueryContext(ctx, `SELECT id, lead_id, (date_part('epoch', occurred_at) * 1000000)::bigint,
			source, event_type, name, campaign_id, campaign_name, canvas_id, canvas_name, url, `+props+`
		`+from+` ORDER BY lead_id, occurred_at, id`, args...)
	if err != nil {
		return fmt.Errorf("store: unable to read activities for scoring: %w", err)
	}
	defer rows.Close()
	var a ScoringActivity
	for rows.Next() {
		var properties sql.RawBytes
		if err := rows.Scan(&a.ID, &a.LeadID, &a.OccurredAt, &a.Source, &a.EventType, &a.Name, &a.CampaignID, &a.CampaignName,
			&a.CanvasID, &a.CanvasName, &a.URL, &properties); err != nil {
			return fmt.Errorf("store: unable to read activities for scoring: %w", err)
		}
		a.Properties = properties
		if err := fn(&a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: unable to read activities for scoring: %w", err)
	}
	return nil
}

// RuleMatchDelta moves a rule's matched-leads count; Fired also moves its last match time.
type RuleMatchDelta struct {
	RuleID int64
	Delta  int
	Fired  bool
}

// SaveScoring writes what a scoring pass changed: ledger lines, named scores, the leads' sort
// columns and their states. Unchanged rows are not touched.
func (t *Tx) SaveScoring(ctx context.Context, workspaceID int64, w model.ScoringWrite) error {
	if len(w.Ledger) > 0 {
		if err := t.copyLedger(ctx, workspaceID, w.MainScoreID, w.Ledger); err != nil {
			return err
		}
	}
	if len(w.Scores) > 0 {
		var dLead, dScore, sLead, sScore []int64
		var sValue []float64
		for _, r := range w.Scores {
			for sid, v := range r.Scores {
				if sid == w.MainScoreID {
					continue // kept in leads.main_score only (see migrations/0045)
				}
				if v == 0 {
					dLead, dScore = append(dLead, r.LeadID), append(dScore, sid)
				} else {
					sLead, sScore, sValue = append(sLead, r.LeadID), append(sScore, sid), append(sValue, v)
				}
			}
		}
		if len(dLead) > 0 {
			if _, err := t.tx.ExecContext(ctx, `DELETE FROM lead_scores s USING unnest($2::bigint[], $3::bigint[]) AS d(lead_id, score_id)
				WHERE s.workspace_id = $1 AND s.lead_id = d.lead_id AND s.score_id = d.score_id`,
				workspaceID, pq.Array(dLead), pq.Array(dScore)); err != nil {
				return fmt.Errorf("store: unable to clear lead scores: %w", err)
			}
		}
		if len(sLead) > 0 {
			if _, err := t.tx.ExecContext(ctx, `INSERT INTO lead_scores (workspace_id, lead_id, score_id, value)
				SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::float8[])
				ON CONFLICT (workspace_id, score_id, lead_id) DO UPDATE SET value = excluded.value
				WHERE lead_scores.value <> excluded.value`,
				workspaceID, pq.Array(sLead), pq.Array(sScore), pq.Array(sValue)); err != nil {
				return fmt.Errorf("store: unable to write lead scores: %w", err)
			}
		}
	}
	if len(w.Leads) > 0 {
		var ids []int64
		var mains, fits, heats []float64
		var grades, temps, labels, fitRules []string
		var rising []bool
		var counts []int64
		var firsts, lasts []*time.Time
		for _, r := range w.Leads {
			ids = append(ids, r.LeadID)
			mains, fits, heats = append(mains, r.MainScore), append(fits, r.FitPoints), append(heats, r.Heat)
			grades, temps = append(grades, r.Grade), append(temps, r.Temperature)
			labels = append(labels, strings.Join(r.Labels, "\x1f"))
			fitRules = append(fitRules, joinIDs(r.FitRules))
			rising = append(rising, r.Rising)
			counts = append(counts, int64(r.Activity.ActivityCount))
			firsts, lasts = append(firsts, r.Activity.FirstActivityAt), append(lasts, r.Activity.LastActivityAt)
		}
		// "l.id = ANY($2)" makes PostgreSQL probe the batch's leads by key: joined on u.id
		// alone, it hashed every lead of the workspace for a batch of 1,000 (a scan of 20,000
		// leads, 14 ms of the statement's 80 ms; EXPLAIN ANALYZE), and the statement's
		// time for 20,000 passes went from 1,268 to 981 ms (pg_stat_statements).
		if _, err := t.tx.ExecContext(ctx, `UPDATE leads l SET main_score = u.main, fit_points = u.fit, grade = u.grade,
				heat = u.heat, rising = u.rising, temperature = u.temp, labels = string_to_array(u.labels, E'\x1f'),
				hot_since = CASE WHEN u.temp = 'hot' AND l.temperature <> 'hot' THEN now() ELSE l.hot_since END,
				fit_rules = string_to_array(u.fit_rules, ',')::bigint[],
				activity_count = u.n, first_activity_at = u.first, last_activity_at = u.last
			FROM unnest($2::bigint[], $3::float8[], $4::float8[], $5::text[], $6::float8[], $7::bool[], $8::text[], $9::text[], $10::text[],
					$11::int[], $12::timestamptz[], $13::timestamptz[])
				AS u(id, main, fit, grade, heat, rising, temp, labels, fit_rules, n, first, last)
			WHERE l.workspace_id = $1 AND l.id = u.id AND l.id = ANY($2)`,
			workspaceID, pq.Array(ids), pq.Array(mains), pq.Array(fits), pq.Array(grades), pq.Array(heats), pq.Array(rising),
			pq.Array(temps), pq.Array(labels), pq.Array(fitRules), pq.Array(counts), nullTimes(firsts), nullTimes(lasts)); err != nil {
			return fmt.Errorf("store: unable to write lead scoring: %w", err)
		}
	}
	if len(w.States) > 0 {
		if err := t.saveStates(ctx, workspaceID, w.States); err != nil {
			return err
		}
	}
	return nil
}

// CountRuleMatches moves the rules' matched-leads counts and last match times. Every scoring
// transaction of a workspace writes the same few rules' rows, and holds their locks until it
// commits: a caller does this last, so that concurrent scoring transactions (the two scoring
// workers, a re-score's chunks) wait for each other's commit only, not for all their work.
func (t *Tx) CountRuleMatches(ctx context.Context, workspaceID int64, rules []RuleMatchDelta) error {
	if len(rules) > 0 {
		var rids []int64
		var deltas []int64
		var fired []bool
		for _, r := range rules {
			rids, deltas, fired = append(rids, r.RuleID), append(deltas, int64(r.Delta)), append(fired, r.Fired)
		}
		if _, err := t.tx.ExecContext(ctx, `UPDATE rules r SET leads_matched = greatest(0, r.leads_matched + u.delta),
				last_matched_at = CASE WHEN u.fired THEN now() ELSE r.last_matched_at END
			FROM unnest($2::bigint[], $3::bigint[], $4::bool[]) AS u(id, delta, fired)
			WHERE r.workspace_id = $1 AND r.id = u.id`, workspaceID, pq.Array(rids), pq.Array(deltas), pq.Array(fired)); err != nil {
			return fmt.Errorf("store: unable to count rule matches: %w", err)
		}
	}
	return nil
}

// copyLedger writes ledger lines with COPY, in their order, one score_passes row for each
// run of lines of one lead (a pass: its ids follow their order), each line an element of the
// row's arrays. As rows of their own, the 7.5 lines of an incremental pass of one activity
// cost PostgreSQL a tuple, an index entry and a WAL record each: a batch of 1,000 such passes
// took 77–86 ms to write, against 43 ms as 1,000 rows of arrays (migrations/0041). Each row
// also records how the pass moved the main score (mainScoreID; none when 0) and the labels
// it gave, which a week's readers take without unnesting the lines.
func (t *Tx) copyLedger(ctx context.Context, workspaceID, mainScoreID int64, lines []model.LedgerLine) error {
	stmt, err := t.tx.PrepareContext(ctx, pq.CopyIn("score_passes", "workspace_id", "lead_id", "score_ids", "labels", "rule_ids",
		"rule_versions", "activity_ids", "earned_us", "deltas", "befores", "afters", "covers_from", "covers_to",
		"covered_activity_ids", "covered_earned_us", "covered_deltas", "main_score_id", "main_delta", "main_change", "labels_given"))
	if err != nil {
		return fmt.Errorf("store: unable to write score ledger: %w", err)
	}
	defer stmt.Close()
	var lit literals
	for len(lines) > 0 {
		n := 1
		for n < len(lines) && lines[n].LeadID == lines[0].LeadID {
			n++
		}
		if _, err := stmt.ExecContext(ctx, passRow(&lit, workspaceID, mainScoreID, lines[:n])...); err != nil {
			return fmt.Errorf("store: unable to write score ledger: %w", err)
		}
		lines = lines[n:]
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("store: unable to write score ledger: %w", err)
	}
	return nil
}

// passRow is the score_passes row of one lead's lines, its arrays as literals rendered in
// lit (emptied again for the next row).
func passRow(lit *literals, workspaceID, mainScoreID int64, p []model.LedgerLine) []any {
	var covered []model.Covered
	from, to := make([]int, len(p)), make([]int, len(p))
	var mainDelta, mainChange float64
	var given []string
	for i := range p {
		from[i] = len(covered) + 1
		covered = append(covered, p[i].Covers...)
		to[i] = len(covered)
		if p[i].ScoreID != nil && *p[i].ScoreID == mainScoreID {
			mainDelta, mainChange = mainDelta+p[i].Delta, mainChange+p[i].After-p[i].Before
		}
		if p[i].Kind == "label" && p[i].Delta > 0 {
			given = append(given, p[i].Label)
		}
	}
	var main any
	if mainScoreID != 0 {
		main = mainScoreID
	}
	n := len(p)
	lit.add(n, func(b []byte, i int) ([]byte, bool) { return appendNullInt(b, p[i].ScoreID) })
	lit.add(n, func(b []byte, i int) ([]byte, bool) { return appendQuoted(b, p[i].Label), true })
	lit.add(n, intElems(func(i int) int64 { return p[i].RuleID }))
	lit.add(n, intElems(func(i int) int64 { return int64(p[i].RuleVersion) }))
	lit.add(n, func(b []byte, i int) ([]byte, bool) { return appendNullInt(b, p[i].ActivityID) })
	lit.add(n, func(b []byte, i int) ([]byte, bool) {
		if p[i].EarnedAt == nil {
			return b, false
		}
		return appendMicros(b, *p[i].EarnedAt), true
	})
	lit.add(n, floatElems(func(i int) float64 { return p[i].Delta }))
	lit.add(n, floatElems(func(i int) float64 { return p[i].Before }))
	lit.add(n, floatElems(func(i int) float64 { return p[i].After }))
	lit.add(n, intElems(func(i int) int64 { return int64(from[i]) }))
	lit.add(n, intElems(func(i int) int64 { return int64(to[i]) }))
	lit.add(len(covered), intElems(func(i int) int64 { return covered[i].ActivityID }))
	lit.add(len(covered), func(b []byte, i int) ([]byte, bool) { return appendMicros(b, covered[i].EarnedAt), true })
	lit.add(len(covered), floatElems(func(i int) float64 { return covered[i].Delta }))
	lit.add(len(given), func(b []byte, i int) ([]byte, bool) { return appendQuoted(b, given[i]), true })
	a := lit.done()
	return []any{workspaceID, p[0].LeadID, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
		main, mainDelta, mainChange, a[14]}
}

// saveStates writes leads' scoring states. They travel as one bytea, each state a slice of
// it: lib/pq sends a bytea[] as text, each element quoted and hex-encoded into a string that
// is then copied into the message, a sixth of what an incremental pass allocated.
func (t *Tx) saveStates(ctx context.Context, workspaceID int64, states []model.LeadState) error {
	ids, versions, hashes := make([]int64, len(states)), make([]int64, len(states)), make([]int64, len(states))
	starts, lengths := make([]int64, len(states)), make([]int64, len(states))
	refresh := make([]*time.Time, len(states))
	size := 0
	for _, st := range states {
		size += len(st.State)
	}
	all := make([]byte, 0, size)
	for i, st := range states {
		ids[i], versions[i], hashes[i], refresh[i] = st.LeadID, st.RulesVersion, st.ProfileHash, st.RefreshAt
		starts[i], lengths[i] = int64(len(all))+1, int64(len(st.State)) // substring counts from 1
		all = append(all, st.State...)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO lead_scoring_state (workspace_id, lead_id, rules_version, profile_hash, contributions, refresh_at)
		SELECT $1, u.id, u.version, u.hash, substring($5::bytea FROM u.start FOR u.length), u.refresh
		FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $6::int[], $7::int[], $8::timestamptz[]) AS u(id, version, hash, start, length, refresh)
		ON CONFLICT (workspace_id, lead_id) DO UPDATE SET rules_version = excluded.rules_version,
			profile_hash = excluded.profile_hash, contributions = excluded.contributions, refresh_at = excluded.refresh_at`,
		workspaceID, pq.Array(ids), pq.Array(versions), pq.Array(hashes), all, pq.Array(starts), pq.Array(lengths), nullTimes(refresh)); err != nil {
		return fmt.Errorf("store: unable to write scoring state: %w", err)
	}
	return nil
}

// lockAccounts takes accounts in id order, before any of their scores or labels are written
// (docs/work.md).
func (t *Tx) lockAccounts(ctx context.Context, workspaceID int64, ids []int64) error {
	return t.lockRows(ctx, "accounts", workspaceID, ids)
}

// RollupAccounts recomputes the rolled-up scores and main score of accounts from their
// people's scores: sum, max, the sum of the three highest, or a sum where each person's score
// halves every 30 days since their last activity. Nil accountIDs means every account of the
// workspace.
func (t *Tx) RollupAccounts(ctx context.Context, workspaceID int64, accountIDs []int64, mainScoreID int64) error {
	if accountIDs != nil && len(accountIDs) == 0 {
		return nil
	}
	// Two spellings rather than "$2 IS NULL OR …", which would keep the planner from using
	// the account index for the common case of a few accounts.
	scoped := func(col string) string {
		if accountIDs == nil {
			return "true"
		}
		return col + " = ANY($2)"
	}
	args := []any{workspaceID, pq.Array(accountIDs)}
	if accountIDs == nil {
		args = args[:1]
	}
	if err := t.LockAccounts(ctx, workspaceID, accountIDs); err != nil {
		return err
	}
	// Upsert what changed and delete what no longer exists, rather than rewrite every row.
	// The main score's roll-up goes to accounts.main_score, the others' to account_scores
	// (migrations/0045); the people's main score is on the lead.
	if _, err := t.tx.ExecContext(ctx, `WITH scored AS (
			SELECT s.score_id, l.account_id, s.value, l.last_activity_at FROM leads l
			JOIN lead_scores s ON s.workspace_id = l.workspace_id AND s.lead_id = l.id
			WHERE l.workspace_id = $1 AND l.account_id IS NOT NULL AND `+scoped("l.account_id")+` AND s.score_id <> $`+fmt.Sprint(len(args)+1)+`
			UNION ALL
			SELECT $`+fmt.Sprint(len(args)+1)+`, l.account_id, l.main_score, l.last_activity_at FROM leads l
			WHERE l.workspace_id = $1 AND l.account_id IS NOT NULL AND `+scoped("l.account_id")+` AND l.main_score <> 0),
		people AS (
			SELECT s.score_id, s.account_id, n.rollup, s.score_id = $`+fmt.Sprint(len(args)+1)+` AS is_main, s.value, s.last_activity_at,
				row_number() OVER (PARTITION BY s.score_id, s.account_id ORDER BY s.value DESC) AS rank
			FROM scored s JOIN score_names n ON n.workspace_id = $1 AND n.id = s.score_id),
		fresh AS (
			SELECT score_id, account_id, is_main, round((CASE rollup
					WHEN 'max' THEN max(value)
					WHEN 'decayed_sum' THEN sum(value * power(0.5, greatest(0, date_part('epoch', now() - COALESCE(last_activity_at, now()))) / 86400 / 30))
					WHEN 'top3' THEN COALESCE(sum(value) FILTER (WHERE rank <= 3), 0)
					ELSE sum(value) END)::numeric, 2)::float8 AS value
			FROM people GROUP BY score_id, account_id, rollup, is_main),
		gone AS (
			DELETE FROM account_scores a WHERE a.workspace_id = $1 AND `+scoped("a.account_id")+`
			AND NOT EXISTS (SELECT 1 FROM fresh f WHERE NOT f.is_main AND f.score_id = a.score_id AND f.account_id = a.account_id)),
		main AS (
			UPDATE accounts a SET main_score = m.value, updated_at = now()
			FROM (SELECT a2.id, COALESCE(f.value, 0) AS value FROM accounts a2
				LEFT JOIN fresh f ON f.is_main AND f.account_id = a2.id
				WHERE a2.workspace_id = $1 AND `+scoped("a2.id")+`) m
			WHERE a.workspace_id = $1 AND a.id = m.id AND a.main_score <> m.value)
		INSERT INTO account_scores (workspace_id, score_id, account_id, value)
		SELECT $1, score_id, account_id, value FROM fresh WHERE NOT is_main
		ON CONFLICT (workspace_id, score_id, account_id) DO UPDATE SET value = excluded.value
		WHERE account_scores.value <> excluded.value`, append(args, mainScoreID)...); err != nil {
		return fmt.Errorf("store: unable to roll up account scores: %w", err)
	}
	return nil
}

// ClearAccountLabels removes labels from accounts (when no account label rule is left).
func (t *Tx) ClearAccountLabels(ctx context.Context, workspaceID int64) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE accounts SET labels = '{}' WHERE workspace_id = $1 AND labels <> '{}'`, workspaceID); err != nil {
		return fmt.Errorf("store: unable to clear account labels: %w", err)
	}
	return nil
}

// ScoringAccount is what account labels are computed from.
type ScoringAccount struct {
	ID        int64          `db:"id"`
	Domain    string         `db:"domain"`
	Name      string         `db:"name"`
	Industry  string         `db:"industry"`
	Employees *int           `db:"employees"`
	Labels    pq.StringArray `db:"labels"`
	FitPoints float64        `db:"fit_points"`
	Grade     string         `db:"grade"`
	Scores    map[int64]float64
}

// AccountFit is an account's fit points and grade.
type AccountFit struct {
	Points float64
	Grade  string
}

// SetAccountFits stores accounts' fit points and grades.
func (t *Tx) SetAccountFits(ctx context.Context, workspaceID int64, fits map[int64]AccountFit) error {
	if len(fits) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(fits)) // in id order, as accounts are locked
	points, grades := make([]float64, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		points[i], grades[i] = fits[id].Points, fits[id].Grade
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE accounts a SET fit_points = u.points, grade = u.grade
		FROM unnest($2::bigint[], $3::float8[], $4::text[]) AS u(id, points, grade)
		WHERE a.workspace_id = $1 AND a.id = u.id AND a.id = ANY($2)`, workspaceID, pq.Array(ids), pq.Array(points), pq.Array(grades)); err != nil {
		return fmt.Errorf("store: unable to set account fit: %w", err)
	}
	return nil
}

// LockAccounts takes accounts in id order (nil accountIDs: every account of the workspace).
// Every transaction that writes several accounts takes them all this way first, before any
// write (docs/work.md): two transactions then never wait on each other in a circle.
func (t *Tx) LockAccounts(ctx context.Context, workspaceID int64, accountIDs []int64) error {
	if accountIDs != nil {
		// Spelled without "$2 IS NULL OR": locking 785 of 50,000 accounts (a scoring batch
		// does it three times) took 9.5-9.9 ms with it, 5.5-5.7 ms without (EXPLAIN ANALYZE).
		return t.lockAccounts(ctx, workspaceID, accountIDs)
	}
	if _, err := t.tx.ExecContext(ctx, `SELECT 1 FROM accounts WHERE workspace_id = $1 ORDER BY id FOR NO KEY UPDATE`, workspaceID); err != nil {
		return fmt.Errorf("store: unable to lock accounts: %w", err)
	}
	return nil
}

// SetAccountTemperatures gives accounts their hottest person's temperature (nil accountIDs:
// every account of the workspace). floors, when given, holds for each account a temperature
// it has at least (or ""): one of its people the caller just scored has it. Only hotter
// temperatures are then looked for, and an account with a hot person needs no look at all.
func (t *Tx) SetAccountTemperatures(ctx context.Context, workspaceID int64, accountIDs []int64, floors []string) error {
	if accountIDs != nil && len(accountIDs) == 0 {
		return nil
	}
	if floors != nil && len(floors) != len(accountIDs) {
		return fmt.Errorf("store: %d temperature floors for %d accounts", len(floors), len(accountIDs))
	}
	if err := t.LockAccounts(ctx, workspaceID, accountIDs); err != nil {
		return err
	}
	accounts := `(SELECT a2.id, NULL::text AS floor FROM accounts a2 WHERE a2.workspace_id = $1 AND ($2::bigint[] IS NULL OR a2.id = ANY($2)))`
	args := []any{workspaceID, pq.Array(accountIDs)}
	if floors != nil {
		accounts = `unnest($2::bigint[], $3::text[])`
		args = append(args, pq.Array(floors))
	}
	// Hottest first: the account's floor, else one index probe for a person at that
	// temperature, rather than reading every person. CASE tries its branches in order, so a
	// floor spares the probes below it. For a list of accounts the probe is a scalar
	// subquery, which PostgreSQL runs per account: an EXISTS it may turn into a hash of every
	// person of the workspace at that temperature (a scan of the leads: 12.6 ms against
	// 2.9 ms for 513 accounts of a 20,000-lead workspace, and growing with the workspace). For
	// every account, that hash is what it should do.
	probe := `(SELECT true FROM leads l WHERE l.workspace_id = $1 AND l.account_id = f.id AND l.temperature = '%s' LIMIT 1)`
	if accountIDs == nil {
		probe = `EXISTS (SELECT 1 FROM leads l WHERE l.workspace_id = $1 AND l.account_id = f.id AND l.temperature = '%s')`
	}
	level := func(temp string) string {
		return `WHEN f.floor = '` + temp + `' THEN '` + temp + `' WHEN ` + fmt.Sprintf(probe, temp) + ` THEN '` + temp + `' `
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE accounts a SET temperature = t.temp
		FROM (SELECT f.id, CASE `+level("hot")+level("warm")+level("neutral")+level("cold")+` ELSE 'frozen' END AS temp
			FROM `+accounts+` AS f(id, floor)) t
		WHERE a.workspace_id = $1 AND a.id = t.id AND a.temperature <> t.temp`, args...); err != nil {
		return fmt.Errorf("store: unable to set account temperatures: %w", err)
	}
	return nil
}

// AccountsForLabels loads accounts with their rolled-up scores.
func (t *Tx) AccountsForLabels(ctx context.Context, workspaceID int64, ids []int64) ([]ScoringAccount, error) {
	var out []ScoringAccount
	if err := t.tx.SelectContext(ctx, &out, `SELECT id, domain, name, industry, employees, labels, fit_points, grade FROM accounts
		WHERE workspace_id = $1 AND ($2::bigint[] IS NULL OR id = ANY($2)) ORDER BY id`, workspaceID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to read accounts: %w", err)
	}
	var scores []struct {
		AccountID int64   `db:"account_id"`
		ScoreID   int64   `db:"score_id"`
		Value     float64 `db:"value"`
	}
	if err := t.tx.SelectContext(ctx, &scores, `SELECT account_id, score_id, value FROM account_score_values
		WHERE workspace_id = $1 AND ($2::bigint[] IS NULL OR account_id = ANY($2))`, workspaceID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to read account scores: %w", err)
	}
	at := map[int64]int{}
	for i := range out {
		at[out[i].ID] = i
		out[i].Scores = map[int64]float64{}
	}
	for _, s := range scores {
		out[at[s.AccountID]].Scores[s.ScoreID] = s.Value
	}
	return out, nil
}

// SetAccountLabels stores account labels.
func (t *Tx) SetAccountLabels(ctx context.Context, workspaceID int64, labels map[int64][]string) error {
	ids := slices.Sorted(maps.Keys(labels))
	if err := t.lockAccounts(ctx, workspaceID, ids); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := t.tx.ExecContext(ctx, `UPDATE accounts SET labels = $3 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, id, pq.Array(labels[id])); err != nil {
			return fmt.Errorf("store: unable to set account labels: %w", err)
		}
	}
	return nil
}

// ScoringSettings is what every scoring pass reads first, in one round trip: the
// workspace's rules version (to check the cached rule set against), its heat scale
// (HeatComputed nil: never placed), the oldest rules version whose re-scoring has not
// finished (queued, running or failed; 0: none), and whether alert rules exist.
type ScoringSettings struct {
	RulesVersion       int64
	Hot, Warm, Neutral float64
	HeatComputed       *time.Time
	Unsettled          int64
	// AlertRules, AccountAlertRules: enabled alert rules (about accounts) exist, so scoring
	// tells alerts (and compares accounts before and after).
	AlertRules, AccountAlertRules bool
	// Milestones: the workspace has milestones, so scoring records crossings.
	Milestones bool
}

// ScoringSettings reads the workspace's scoring settings.
func (t *Tx) ScoringSettings(ctx context.Context, workspaceID int64) (ScoringSettings, error) {
	var s ScoringSettings
	var hot, warm, neutral sql.NullFloat64
	err := t.tx.QueryRowxContext(ctx, `SELECT w.rules_version, h.hot_floor, h.warm_floor, h.neutral_floor, h.computed_at,
			COALESCE((SELECT min(j.rules_version) FROM rescore_jobs j WHERE j.workspace_id = w.id AND j.state IN ('queued', 'running', 'failed')), 0),
			EXISTS (SELECT 1 FROM alert_rules a WHERE a.workspace_id = w.id AND a.enabled),
			EXISTS (SELECT 1 FROM alert_rules a WHERE a.workspace_id = w.id AND a.enabled AND a.definition->>'trigger' LIKE 'account\_%'),
			EXISTS (SELECT 1 FROM milestones m WHERE m.workspace_id = w.id)
		FROM workspaces w LEFT JOIN heat_scales h ON h.workspace_id = w.id WHERE w.id = $1`, workspaceID).
		Scan(&s.RulesVersion, &hot, &warm, &neutral, &s.HeatComputed, &s.Unsettled, &s.AlertRules, &s.AccountAlertRules, &s.Milestones)
	if err != nil {
		return s, fmt.Errorf("store: unable to read scoring settings: %w", notFound(err))
	}
	s.Hot, s.Warm, s.Neutral = hot.Float64, warm.Float64, neutral.Float64
	return s, nil
}

// ComputeHeatScale places the workspace's temperature bands over its leads active in the
// last 90 days, as rules.Distribute does: a band's floor is the heat of the hottest lead
// outside its share (0 when the share holds everyone).
func (t *Tx) ComputeHeatScale(ctx context.Context, workspaceID int64) (hot, warm, neutral float64, err error) {
	row := t.tx.QueryRowxContext(ctx, `
		WITH b AS (SELECT (temperature_bands->>'hot')::int AS hot, (temperature_bands->>'warm')::int AS warm,
				(temperature_bands->>'neutral')::int AS neutral FROM workspaces WHERE id = $1),
		a AS (SELECT heat, row_number() OVER (ORDER BY heat) AS r, count(*) OVER () AS n
			FROM leads WHERE workspace_id = $1 AND heat > 0 AND last_activity_at > now() - interval '90 days'),
		f AS (SELECT
				COALESCE(max(a.heat) FILTER (WHERE a.r = a.n - round(b.hot * a.n / 100.0)), 0) AS hot_floor,
				COALESCE(max(a.heat) FILTER (WHERE a.r = a.n - round((b.hot + b.warm) * a.n / 100.0)), 0) AS warm_floor,
				COALESCE(max(a.heat) FILTER (WHERE a.r = a.n - round((b.hot + b.warm + b.neutral) * a.n / 100.0)), 0) AS neutral_floor,
				count(a.heat) AS population
			FROM b LEFT JOIN a ON true)
		INSERT INTO heat_scales (workspace_id, hot_floor, warm_floor, neutral_floor, population, computed_at)
		SELECT $1, hot_floor, warm_floor, neutral_floor, population, now() FROM f
		ON CONFLICT (workspace_id) DO UPDATE SET hot_floor = excluded.hot_floor, warm_floor = excluded.warm_floor,
			neutral_floor = excluded.neutral_floor, population = excluded.population, computed_at = excluded.computed_at
		RETURNING hot_floor, warm_floor, neutral_floor`, workspaceID)
	if err = row.Scan(&hot, &warm, &neutral); err != nil {
		err = fmt.Errorf("store: unable to compute heat scale: %w", err)
	}
	return
}

// LeadTemperatureRow is what reclassifying a lead's temperature needs.
type LeadTemperatureRow struct {
	ID             int64      `db:"id"`
	Heat           float64    `db:"heat"`
	Rising         bool       `db:"rising"`
	LastActivityAt *time.Time `db:"last_activity_at"`
	Temperature    string     `db:"temperature"`
}

// LeadTemperatures pages through leads in id order.
func (t *Tx) LeadTemperatures(ctx context.Context, workspaceID, afterID int64, limit int) ([]LeadTemperatureRow, error) {
	var out []LeadTemperatureRow
	err := t.tx.SelectContext(ctx, &out, `SELECT id, heat, rising, last_activity_at, temperature FROM leads
		WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3`, workspaceID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read temperatures: %w", err)
	}
	return out, nil
}

// SetTemperatures stores new temperatures.
func (t *Tx) SetTemperatures(ctx context.Context, workspaceID int64, ids []int64, temps []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE leads l SET temperature = u.temp,
			hot_since = CASE WHEN u.temp = 'hot' AND l.temperature <> 'hot' THEN now() ELSE l.hot_since END FROM unnest($2::bigint[], $3::text[]) AS u(id, temp)
		WHERE l.workspace_id = $1 AND l.id = u.id`, workspaceID, pq.Array(ids), pq.Array(temps))
	if err != nil {
		return fmt.Errorf("store: unable to set temperatures: %w", err)
	}
	return nil
}

// WorkspacesToReheat lists workspaces whose heat percentiles are older than maxAge and that
// had activity since.
func (s *Store) WorkspacesToReheat(ctx context.Context, maxAge time.Duration) ([]int64, error) {
	var out []int64
	err := s.db.SelectContext(ctx, &out, `SELECT i.workspace_id FROM ingest_status i
		LEFT JOIN heat_scales h ON h.workspace_id = i.workspace_id
		WHERE h.computed_at IS NULL OR (h.computed_at < now() - $1::interval AND i.last_batch_at > h.computed_at)
			-- grown a lot since (a new workspace filling up): place its leads anew now
			OR (h.computed_at < now() - interval '30 seconds' AND (SELECT count(*) FROM leads l
				WHERE l.workspace_id = h.workspace_id AND l.heat > 0) > 2 * h.population + 20)`,
		fmt.Sprintf("%d seconds", int(maxAge.Seconds())))
	if err != nil {
		return nil, fmt.Errorf("store: unable to list workspaces to reheat: %w", err)
	}
	return out, nil
}

// LockRescoreJob locks a re-scoring job (nil: there is none).
func (t *Tx) LockRescoreJob(ctx context.Context, workspaceID, id int64) (*model.RescoreJob, error) {
	var j model.RescoreJob
	err := t.tx.GetContext(ctx, &j, `SELECT * FROM rescore_jobs WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id)
	if err != nil {
		if notFound(err) == ErrNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("store: unable to load re-scoring job: %w", err)
	}
	return &j, nil
}

// LeadIDsAfter pages through a workspace's lead ids.
func (t *Tx) LeadIDsAfter(ctx context.Context, workspaceID, afterID int64, limit int) ([]int64, error) {
	var out []int64
	if err := t.tx.SelectContext(ctx, &out, `SELECT id FROM leads WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		workspaceID, afterID, limit); err != nil {
		return nil, fmt.Errorf("store: unable to page leads: %w", err)
	}
	return out, nil
}

// activityFilterSQL turns a rules.ActivityFilter (JSON) into a condition on activities, with
// its arguments numbered from next. Columns and operators come from a fixed list; values are
// parameters.
func activityFilterSQL(filter []byte, next int) (string, []any, error) {
	var f rules.ActivityFilter
	if err := json.Unmarshal(filter, &f); err != nil || len(f) == 0 {
		return "", nil, fmt.Errorf("store: unreadable activity filter %q", filter)
	}
	return activityTestsSQL(f, next)
}

// activityTestsSQL is activityFilterSQL for a filter at hand.
func activityTestsSQL(f rules.ActivityFilter, next int) (string, []any, error) {
	if len(f) == 0 {
		return "", nil, errors.New("store: empty activity filter")
	}
	columns := map[string]bool{"event_type": true, "name": true, "source": true}
	var terms []string
	var args []any
	for _, t := range f {
		if !columns[t.Column] {
			return "", nil, fmt.Errorf("store: activity filter on unknown column %q", t.Column)
		}
		for _, v := range t.Values {
			switch t.Op {
			case "equals":
				args = append(args, v)
				terms = append(terms, fmt.Sprintf("lower(%s) = $%d", t.Column, next+len(args)-1))
			case "contains", "begins_with":
				pattern := escapeLike(v) + "%"
				if t.Op == "contains" {
					pattern = "%" + pattern
				}
				args = append(args, pattern)
				terms = append(terms, fmt.Sprintf("lower(%s) LIKE $%d", t.Column, next+len(args)-1))
			default:
				return "", nil, fmt.Errorf("store: activity filter with unknown operator %q", t.Op)
			}
		}
	}
	return "(" + strings.Join(terms, " OR ") + ")", args, nil
}

// LeadIDsMatchingAfter pages through the leads with an activity passing filter (a targeted
// re-scoring job's leads).
func (t *Tx) LeadIDsMatchingAfter(ctx context.Context, workspaceID int64, filter []byte, afterID int64, limit int) ([]int64, error) {
	cond, args, err := activityFilterSQL(filter, 4)
	if err != nil {
		return nil, err
	}
	var out []int64
	if err := t.tx.SelectContext(ctx, &out, `SELECT DISTINCT lead_id FROM activities
		WHERE workspace_id = $1 AND lead_id > $2 AND `+cond+` ORDER BY lead_id LIMIT $3`,
		append([]any{workspaceID, afterID, limit}, args...)...); err != nil {
		return nil, fmt.Errorf("store: unable to page matching leads: %w", err)
	}
	return out, nil
}

// CountTargetedRescore sets a targeted re-scoring job's total, counted once when it starts,
// and reports whether it stays targeted: when more than half the leads pass its filter,
// paging through every lead costs less than finding them, so the filter is dropped.
//
// Most edits are of rules most leads can match (an email open, a page visit): a sample of
// leads says so at once, where counting them reads every matching activity (1.1 s at
// 100,000 leads). A wrong guess costs only time: either way every lead that can match is
// scored.
func (t *Tx) CountTargetedRescore(ctx context.Context, workspaceID, id int64, filter []byte) (bool, error) {
	most, err := t.mostLeadsPass(ctx, workspaceID, filter)
	if err != nil {
		return false, err
	}
	if most {
		_, err := t.tx.ExecContext(ctx, `UPDATE rescore_jobs SET lead_filter = NULL,
				total = (SELECT count(*) FROM leads WHERE workspace_id = $1)
			WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		if err != nil {
			return false, fmt.Errorf("store: unable to count the re-scoring's leads: %w", err)
		}
		return false, nil
	}
	cond, args, err := activityFilterSQL(filter, 3)
	if err != nil {
		return false, err
	}
	var targeted bool
	if err := t.tx.GetContext(ctx, &targeted, `UPDATE rescore_jobs j SET
			total = CASE WHEN m.n * 2 > a.n THEN a.n ELSE m.n END,
			lead_filter = CASE WHEN m.n * 2 > a.n THEN NULL ELSE j.lead_filter END
		FROM (SELECT count(DISTINCT lead_id) AS n FROM activities WHERE workspace_id = $1 AND lead_id IS NOT NULL AND `+cond+`) m,
			(SELECT count(*) AS n FROM leads WHERE workspace_id = $1) a
		WHERE j.workspace_id = $1 AND j.id = $2 RETURNING j.lead_filter IS NOT NULL`,
		append([]any{workspaceID, id}, args...)...); err != nil && notFound(err) != ErrNotFound {
		return false, fmt.Errorf("store: unable to count the re-scoring's leads: %w", err)
	}
	return targeted, nil
}

// leadSample is how many leads mostLeadsPass looks at: with 400, a filter that half the leads
// pass shows 60 % in about one sample in 30,000.
const leadSample = 400

// mostLeadsPass tells whether clearly most of a workspace's leads (60 % of a random sample of
// leadSample) have an activity passing filter. A workspace with fewer leads than the sample
// answers no: counting them exactly costs little.
func (t *Tx) mostLeadsPass(ctx context.Context, workspaceID int64, filter []byte) (bool, error) {
	cond, args, err := activityFilterSQL(filter, 3)
	if err != nil {
		return false, err
	}
	var most bool
	if err := t.tx.GetContext(ctx, &most, `SELECT count(*) = $2 AND
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM activities WHERE workspace_id = $1 AND lead_id = l.id AND `+cond+`)) * 10 > count(*) * 6
		FROM (SELECT id FROM leads WHERE workspace_id = $1 ORDER BY random() LIMIT $2) l`,
		append([]any{workspaceID, leadSample}, args...)...); err != nil {
		return false, fmt.Errorf("store: unable to sample the re-scoring's leads: %w", err)
	}
	return most, nil
}

// AdvanceRescoreJob records progress; finished marks the job done.
func (t *Tx) AdvanceRescoreJob(ctx context.Context, workspaceID, id, afterLeadID int64, scored int, finished bool) error {
	state := "running"
	if finished {
		state = "done"
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE rescore_jobs SET state = $3, after_lead_id = $4, done = done + $5,
			total = greatest(total, done + $5), started_at = COALESCE(started_at, now()),
			finished_at = CASE WHEN $3 = 'done' THEN now() END
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, state, afterLeadID, scored)
	if err != nil {
		return fmt.Errorf("store: unable to record re-scoring progress: %w", err)
	}
	return nil
}

// scoreAgain asks for the leads a condition on leads l picks to be scored again now (their
// profile, status or company changed): their state's refresh time becomes now, and a lead
// never scored gets a placeholder state no rules version matches (rules_version -1). Rows are
// taken in id order, the order scoring writes states in (docs/work.md), so the two cannot
// deadlock.
func scoreAgain(ctx context.Context, ex sqlx.ExecerContext, where string, args ...any) error {
	if _, err := ex.ExecContext(ctx, `INSERT INTO lead_scoring_state (workspace_id, lead_id, rules_version, profile_hash, contributions, refresh_at)
		SELECT l.workspace_id, l.id, -1, 0, '', now() FROM leads l WHERE `+where+` ORDER BY l.id
		ON CONFLICT (workspace_id, lead_id) DO UPDATE SET refresh_at = now()`, args...); err != nil {
		return fmt.Errorf("store: unable to queue leads for scoring: %w", err)
	}
	return nil
}

// ClaimDueLeads locks up to limit leads of a workspace whose stored scoring has aged
// (refresh_at passed), skipping those another transaction holds.
func (t *Tx) ClaimDueLeads(ctx context.Context, workspaceID int64, now time.Time, limit int) ([]int64, error) {
	var ids []int64
	if err := t.tx.SelectContext(ctx, &ids, `SELECT l.id FROM lead_scoring_state s
		JOIN leads l ON l.workspace_id = s.workspace_id AND l.id = s.lead_id
		WHERE s.workspace_id = $1 AND s.refresh_at <= $2
		ORDER BY s.lead_id LIMIT $3 FOR UPDATE OF l SKIP LOCKED`, workspaceID, now, limit); err != nil {
		return nil, fmt.Errorf("store: unable to claim due leads: %w", err)
	}
	return ids, nil
}

// WorkspacesToRefresh lists workspaces with leads whose stored scoring has aged.
func (s *Store) WorkspacesToRefresh(ctx context.Context, now time.Time) ([]int64, error) {
	var out []int64
	if err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT workspace_id FROM lead_scoring_state WHERE refresh_at <= $1`, now); err != nil {
		return nil, fmt.Errorf("store: unable to list workspaces to refresh: %w", err)
	}
	return out, nil
}

// maxSuggestedName bounds the activity names kept as suggestions: the name is the table's key,
// and a longer one (an inbound SMS or WhatsApp message quoted whole) is no name to build a
// rule on. The activity itself keeps its name whole.
const maxSuggestedName = 300

// NoteEventNames remembers activity names for the rule builder's suggestions.
func (t *Tx) NoteEventNames(ctx context.Context, workspaceID int64, names []string) error {
	names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return len(n) > maxSuggestedName })
	if len(names) == 0 {
		return nil
	}
	// Names noted within the hour are left alone without touching their row: an upsert would
	// lock it, and every batch of a busy workspace carries the same names.
	_, err := t.tx.ExecContext(ctx, `INSERT INTO event_names (workspace_id, name)
		SELECT $1, n FROM unnest($2::text[]) AS n
		WHERE NOT EXISTS (SELECT 1 FROM event_names e WHERE e.workspace_id = $1 AND e.name = n AND e.last_seen_at > now() - interval '1 hour')
		ORDER BY n
		ON CONFLICT (workspace_id, name) DO UPDATE SET last_seen_at = now()
		WHERE event_names.last_seen_at < now() - interval '1 hour'`, workspaceID, pq.Array(names))
	if err != nil {
		return fmt.Errorf("store: unable to note event names: %w", err)
	}
	return nil
}

// RecentLeadIDs lists the most recently active leads (for previews on a sample).
func (t *Tx) RecentLeadIDs(ctx context.Context, workspaceID int64, limit int) ([]int64, int, error) {
	var ids []int64
	if err := t.tx.SelectContext(ctx, &ids, `SELECT id FROM leads WHERE workspace_id = $1
		ORDER BY last_activity_at DESC NULLS LAST, id DESC LIMIT $2`, workspaceID, limit); err != nil {
		return nil, 0, fmt.Errorf("store: unable to list recent leads: %w", err)
	}
	var total int
	if err := t.tx.GetContext(ctx, &total, `SELECT count(*) FROM leads WHERE workspace_id = $1`, workspaceID); err != nil {
		return nil, 0, fmt.Errorf("store: unable to count leads: %w", err)
	}
	return ids, total, nil
}

// AccountDelta moves one rolled-up score of an account.
type AccountDelta struct {
	AccountID, ScoreID int64
	Delta              float64
}

// AddAccountScores adds score differences to accounts' "sum" roll-ups, and keeps their main
// score in step.
func (t *Tx) AddAccountScores(ctx context.Context, workspaceID int64, deltas []AccountDelta, mainScoreID int64) error {
	if len(deltas) == 0 {
		return nil
	}
	var all, accs, scores, mains []int64
	var ds, mainDs []float64
	for _, d := range deltas {
		all = append(all, d.AccountID)
		if d.ScoreID == mainScoreID {
			mains, mainDs = append(mains, d.AccountID), append(mainDs, d.Delta)
		} else {
			accs, scores, ds = append(accs, d.AccountID), append(scores, d.ScoreID), append(ds, d.Delta)
		}
	}
	if err := t.lockAccounts(ctx, workspaceID, all); err != nil {
		return err
	}
	if len(accs) > 0 {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO account_scores (workspace_id, account_id, score_id, value)
			SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::float8[])
			ON CONFLICT (workspace_id, score_id, account_id) DO UPDATE SET value = round((account_scores.value + excluded.value)::numeric, 2)::float8`,
			workspaceID, pq.Array(accs), pq.Array(scores), pq.Array(ds)); err != nil {
			return fmt.Errorf("store: unable to add to account scores: %w", err)
		}
	}
	if len(mains) == 0 {
		return nil
	}
	// The main score is kept in accounts.main_score only (see migrations/0045); an account
	// appears once per batch (the caller sums its deltas). Probed by key (see SaveScoring).
	if _, err := t.tx.ExecContext(ctx, `UPDATE accounts a SET main_score = round((a.main_score + u.delta)::numeric, 2)::float8, updated_at = now()
		FROM unnest($2::bigint[], $3::float8[]) AS u(id, delta) WHERE a.workspace_id = $1 AND a.id = u.id AND a.id = ANY($2)`,
		workspaceID, pq.Array(mains), pq.Array(mainDs)); err != nil {
		return fmt.Errorf("store: unable to update account scores: %w", err)
	}
	return nil
}

// EnqueueScoring queues new activities for the scoring workers.
func (t *Tx) EnqueueScoring(ctx context.Context, workspaceID int64, activities []model.ActivityRow) error {
	if len(activities) == 0 {
		return nil
	}
	ids, leads := make([]int64, 0, len(activities)), make([]int64, 0, len(activities))
	for _, a := range activities {
		if a.LeadID != 0 { // a browser's activity is scored once its person is known
			ids, leads = append(ids, a.InboundEventID), append(leads, a.LeadID)
		}
	}
	// An activity still queued that changed hands (a late identification, model.Relink) is
	// queued for its new lead.
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO scoring_queue (workspace_id, activity_id, lead_id)
		SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])
		ON CONFLICT (workspace_id, activity_id) DO UPDATE SET lead_id = excluded.lead_id WHERE scoring_queue.lead_id <> excluded.lead_id`,
		workspaceID, pq.Array(ids), pq.Array(leads)); err != nil {
		return fmt.Errorf("store: unable to queue scoring: %w", err)
	}
	return nil
}

// QueuedActivity is an activity waiting to be scored.
type QueuedActivity struct {
	WorkspaceID int64 `db:"workspace_id"`
	ActivityID  int64 `db:"activity_id"`
	LeadID      int64 `db:"lead_id"`
}

// QueuedForScoring lists, per lead, the activities still in the scoring queue (those this
// transaction took are gone from it): processed, but not yet seen by a scoring pass.
func (t *Tx) QueuedForScoring(ctx context.Context, workspaceID int64, leadIDs []int64) (map[int64][]int64, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT lead_id, activity_id FROM scoring_queue WHERE workspace_id = $1 AND lead_id = ANY($2)
		ORDER BY lead_id, activity_id`, workspaceID, pq.Array(leadIDs))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the scoring queue: %w", err)
	}
	defer rows.Close()
	out := map[int64][]int64{}
	for rows.Next() {
		var lead, activity int64
		if err := rows.Scan(&lead, &activity); err != nil {
			return nil, fmt.Errorf("store: unable to read the scoring queue: %w", err)
		}
		out[lead] = append(out[lead], activity)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the scoring queue: %w", err)
	}
	return out, nil
}

// QueuedActivities reads the activities a scorer took off the queue, with their leads.
func (t *Tx) QueuedActivities(ctx context.Context, workspaceID int64, ids []int64) ([]QueuedActivity, error) {
	var out []QueuedActivity
	if err := t.tx.SelectContext(ctx, &out, `SELECT workspace_id, id AS activity_id, lead_id FROM activities
		WHERE workspace_id = $1 AND id = ANY($2) AND lead_id IS NOT NULL ORDER BY id`, workspaceID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to read queued activities: %w", err)
	}
	return out, nil
}

// ScoringBacklog counts activities waiting to be scored.
func (s *Store) ScoringBacklog(ctx context.Context, workspaceID int64) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM scoring_queue WHERE workspace_id = $1`, workspaceID); err != nil {
		return 0, fmt.Errorf("store: unable to count the scoring queue: %w", err)
	}
	return n, nil
}

// joinIDs writes ids for string_to_array(…, ',')::bigint[] (an empty string is no ids).
func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}
