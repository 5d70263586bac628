package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

// DashboardScope is whose leads the dashboard counts: the workspace's, or one owner's (with
// PoolsOf, also the unassigned leads of that user's pools, as a restricted viewer sees).
type DashboardScope struct {
	WorkspaceID int64
	OwnerEmail  string // lower-case; "" for every lead
	PoolsOf     int64
}

// Bucket is a count under a key (a temperature, a grade, a score band).
type Bucket struct {
	Key   string `db:"key"`
	Count int    `db:"count"`
}

// DashLead is a lead the dashboard names.
type DashLead struct {
	ID          int64      `db:"id"`
	Email       string     `db:"email"`
	FirstName   string     `db:"first_name"`
	LastName    string     `db:"last_name"`
	Company     string     `db:"company"`
	MainScore   float64    `db:"main_score"`
	Grade       string     `db:"grade"`
	Temperature string     `db:"temperature"`
	Since       *time.Time `db:"since"`  // turned hot
	Change      float64    `db:"change"` // main score moved by, in the window
}

// DashAccount is an account heating up: its people active in the last 7 days.
type DashAccount struct {
	ID          int64   `db:"id"`
	Domain      string  `db:"domain"`
	Name        string  `db:"name"`
	MainScore   float64 `db:"main_score"`
	Temperature string  `db:"temperature"`
	Active      int     `db:"active"`
}

// Dashboard is the home page's figures.
type Dashboard struct {
	Leads        int
	Temperatures []Bucket
	Grades       []Bucket
	Scores       []Bucket // main score bands: "<0", "0", "10", … "100" (100 and more)
	NewHot       []DashLead
	NewHotCount  int
	Movers       []DashLead
	Accounts     []DashAccount
}

// ownerFilter is the scope's condition on leads aliased l, with its argument at $2.
func (sc DashboardScope) ownerFilter() string {
	switch {
	case sc.OwnerEmail == "":
		return `($2 = '')`
	case sc.PoolsOf != 0:
		return ownLeads("$2", strconv.FormatInt(sc.PoolsOf, 10))
	}
	return `(lower(l.owner_email) = $2)`
}

// Dashboard reads the home page's figures: one pass over the leads for the distributions,
// index ranges for new hot leads and active people, and the last week of the score ledger
// (a BRIN range on its creation time) for the movers. The four reads run at once, each on
// its own connection.
func (s *Store) Dashboard(ctx context.Context, sc DashboardScope, mainScoreID int64, now time.Time) (Dashboard, error) {
	var d Dashboard
	week := now.Add(-7 * 24 * time.Hour)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.distributions(ctx, sc, &d) })
	g.Go(func() error { return s.newHot(ctx, sc, week, &d) })
	g.Go(func() error { return s.movers(ctx, sc, mainScoreID, week, &d) })
	g.Go(func() error {
		if err := s.db.SelectContext(ctx, &d.Accounts, `WITH active AS (
				SELECT l.account_id, count(*) AS active FROM leads l
				WHERE l.workspace_id = $1 AND `+sc.ownerFilter()+` AND l.last_activity_at >= $3 AND l.account_id IS NOT NULL
				GROUP BY l.account_id ORDER BY count(*) DESC, l.account_id LIMIT 6)
			SELECT a.id, a.domain, a.name, a.main_score, a.temperature, x.active
			FROM active x JOIN accounts a ON a.workspace_id = $1 AND a.id = x.account_id
			ORDER BY x.active DESC, a.main_score DESC, a.id`, sc.WorkspaceID, sc.OwnerEmail, week); err != nil {
			return fmt.Errorf("store: unable to read accounts heating up: %w", err)
		}
		return nil
	})
	return d, g.Wait()
}

// movers reads the leads whose main score moved most since a time (both ways), from the
// ledger's passes (each records how it moved the main score, so the week's lines are not
// unnested). Without an owner the 8 are chosen before reading any lead.
func (s *Store) movers(ctx context.Context, sc DashboardScope, mainScoreID int64, since time.Time, d *Dashboard) error {
	top := `ORDER BY abs(sum(g.main_change)) DESC, g.lead_id LIMIT 8`
	if sc.OwnerEmail != "" {
		top = ""
	}
	if err := s.db.SelectContext(ctx, &d.Movers, `WITH moved AS (
			SELECT g.lead_id, sum(g.main_change) AS change FROM score_passes g
			WHERE g.workspace_id = $1 AND g.main_score_id = $4 AND g.created_at >= $3
			GROUP BY g.lead_id HAVING abs(sum(g.main_change)) >= 0.5 `+top+`)
		SELECT l.id, l.email, l.first_name, l.last_name, l.company, l.main_score, l.grade, l.temperature, NULL::timestamptz AS since,
			round(m.change::numeric, 1)::float8 AS change
		FROM moved m JOIN leads l ON l.workspace_id = $1 AND l.id = m.lead_id
		WHERE `+sc.ownerFilter()+`
		ORDER BY abs(m.change) DESC, l.id LIMIT 8`, sc.WorkspaceID, sc.OwnerEmail, since, mainScoreID); err != nil {
		return fmt.Errorf("store: unable to read the biggest movers: %w", err)
	}
	return nil
}

// distributions counts the leads by temperature, grade and band of 10 points.
func (s *Store) distributions(ctx context.Context, sc DashboardScope, d *Dashboard) error {
	var rows []struct {
		Temperature string `db:"temperature"`
		Grade       string `db:"grade"`
		Band        int    `db:"band"`
		Count       int    `db:"count"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT l.temperature, l.grade, LEAST(GREATEST(floor(l.main_score / 10)::int, -1), 10) AS band,
			count(*) AS count
		FROM leads l WHERE l.workspace_id = $1 AND `+sc.ownerFilter()+` GROUP BY 1, 2, 3`, sc.WorkspaceID, sc.OwnerEmail); err != nil {
		return fmt.Errorf("store: unable to count leads: %w", err)
	}
	temps, grades, bands := map[string]int{}, map[string]int{}, map[int]int{}
	for _, r := range rows {
		d.Leads += r.Count
		temps[r.Temperature] += r.Count
		grades[r.Grade] += r.Count
		bands[r.Band] += r.Count
	}
	for _, t := range []string{"hot", "warm", "neutral", "cold", ""} {
		d.Temperatures = append(d.Temperatures, Bucket{Key: t, Count: temps[t]})
	}
	for _, g := range []string{"A", "B", "C", "D", "E", "F", ""} {
		d.Grades = append(d.Grades, Bucket{Key: g, Count: grades[g]})
	}
	for b := -1; b <= 10; b++ {
		key := "<0"
		if b >= 0 {
			key = fmt.Sprint(b * 10)
		}
		d.Scores = append(d.Scores, Bucket{Key: key, Count: bands[b]})
	}
	return nil
}

// newHot reads the leads that turned hot in the last week, the latest first, and their count.
func (s *Store) newHot(ctx context.Context, sc DashboardScope, week time.Time, d *Dashboard) error {
	if err := s.db.GetContext(ctx, &d.NewHotCount, `SELECT count(*) FROM leads l
		WHERE l.workspace_id = $1 AND `+sc.ownerFilter()+` AND l.hot_since >= $3 AND l.temperature = 'hot'`, sc.WorkspaceID, sc.OwnerEmail, week); err != nil {
		return fmt.Errorf("store: unable to count new hot leads: %w", err)
	}
	if err := s.db.SelectContext(ctx, &d.NewHot, `SELECT l.id, l.email, l.first_name, l.last_name, l.company, l.main_score, l.grade,
			l.temperature, l.hot_since AS since, 0::float8 AS change
		FROM leads l WHERE l.workspace_id = $1 AND `+sc.ownerFilter()+` AND l.hot_since >= $3 AND l.temperature = 'hot'
		ORDER BY l.hot_since DESC, l.id DESC LIMIT 8`, sc.WorkspaceID, sc.OwnerEmail, week); err != nil {
		return fmt.Errorf("store: unable to read new hot leads: %w", err)
	}
	return nil
}

// OwnsLeads reports whether any lead of the workspace has the owner (by email).
func (s *Store) OwnsLeads(ctx context.Context, workspaceID int64, ownerEmail string) (bool, error) {
	var ok bool
	if err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM leads WHERE workspace_id = $1 AND lower(owner_email) = lower($2))`,
		workspaceID, ownerEmail); err != nil {
		return false, fmt.Errorf("store: unable to look for owned leads: %w", err)
	}
	return ok, nil
}

// DaySource is a day's events received from one source.
type DaySource struct {
	Day    time.Time `db:"day"`
	Source string    `db:"source"`
	Count  int64     `db:"count"`
}

// PipelineHealth is how events flow: received per day and source, and what waits.
type PipelineHealth struct {
	Days           []DaySource
	Pending        int        // stored events not processed yet
	OldestPending  *time.Time // the oldest of them
	Unscored       int        // activities not scored yet
	OldestUnscored *time.Time
}

// PipelineHealth reads the hourly counters since a time (summed per UTC day) and the queues.
func (s *Store) PipelineHealth(ctx context.Context, workspaceID int64, since time.Time) (PipelineHealth, error) {
	var p PipelineHealth
	if err := s.db.SelectContext(ctx, &p.Days, `SELECT date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day,
			CASE WHEN event_type = 'web' THEN 'Website' WHEN event_type LIKE 'segment.%' THEN 'Segment' ELSE 'Braze' END AS source, sum(count)::bigint AS count
		FROM ingest_counters WHERE workspace_id = $1 AND metric = 'received' AND hour >= $2 GROUP BY 1, 2 ORDER BY 1, 2`,
		workspaceID, since); err != nil {
		return p, fmt.Errorf("store: unable to read events per day: %w", err)
	}
	if err := s.db.QueryRowxContext(ctx, `SELECT (SELECT count(*) FROM inbound_queue WHERE workspace_id = $1),
			(SELECT min(received_at) FROM inbound_queue WHERE workspace_id = $1),
			(SELECT count(*) FROM scoring_queue WHERE workspace_id = $1),
			(SELECT min(queued_at) FROM scoring_queue WHERE workspace_id = $1)`, workspaceID).
		Scan(&p.Pending, &p.OldestPending, &p.Unscored, &p.OldestUnscored); err != nil {
		return p, fmt.Errorf("store: unable to read the queues: %w", err)
	}
	return p, nil
}
