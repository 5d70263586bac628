package store

import (
	"context"
	"fmt"
	"time"
)

// JobReportEmail mails one scheduled report (key: the subscription's id); SweepReports
// finds the due ones.
const JobReportEmail = "report-email"

// ReportSubscription is a person's scheduled attribution report.
type ReportSubscription struct {
	WorkspaceID int64      `db:"workspace_id"`
	ID          int64      `db:"id"`
	UserID      int64      `db:"user_id"`
	MilestoneID int64      `db:"milestone_id"`
	Milestone   string     `db:"milestone"`
	Dimension   string     `db:"dimension"`
	Model       string     `db:"model"`
	Frequency   string     `db:"frequency"`
	NextAt      time.Time  `db:"next_at"`
	LastSentAt  *time.Time `db:"last_sent_at"`
}

const subscriptionSelect = `SELECT s.workspace_id, s.id, s.user_id, s.milestone_id, m.name AS milestone, s.dimension, s.model, s.frequency,
		s.next_at, s.last_sent_at
	FROM report_subscriptions s JOIN milestones m ON m.workspace_id = s.workspace_id AND m.id = s.milestone_id `

// SubscribeReport stores a person's scheduled report; asking again for the same report and
// frequency keeps the one there is.
func (s *Store) SubscribeReport(ctx context.Context, r ReportSubscription) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO report_subscriptions (workspace_id, user_id, milestone_id, dimension, model, frequency, next_at)
		SELECT $1, $2, m.id, $4, $5, $6, $7 FROM milestones m WHERE m.workspace_id = $1 AND m.id = $3
		ON CONFLICT (workspace_id, user_id, milestone_id, dimension, model, frequency) DO NOTHING`,
		r.WorkspaceID, r.UserID, r.MilestoneID, r.Dimension, r.Model, r.Frequency, r.NextAt); err != nil {
		return fmt.Errorf("store: unable to schedule the report: %w", err)
	}
	return nil
}

// ReportSubscriptions lists a person's scheduled reports.
func (s *Store) ReportSubscriptions(ctx context.Context, workspaceID, userID int64) ([]ReportSubscription, error) {
	var out []ReportSubscription
	if err := s.db.SelectContext(ctx, &out, subscriptionSelect+`WHERE s.workspace_id = $1 AND s.user_id = $2 ORDER BY s.id`, workspaceID, userID); err != nil {
		return nil, fmt.Errorf("store: unable to list scheduled reports: %w", err)
	}
	return out, nil
}

// ReportSubscriptionByID reads one scheduled report.
func (s *Store) ReportSubscriptionByID(ctx context.Context, workspaceID, id int64) (ReportSubscription, error) {
	var r ReportSubscription
	if err := s.db.GetContext(ctx, &r, subscriptionSelect+`WHERE s.workspace_id = $1 AND s.id = $2`, workspaceID, id); err != nil {
		return r, fmt.Errorf("store: unable to read the scheduled report: %w", notFound(err))
	}
	return r, nil
}

// Unsubscribe removes one of a person's scheduled reports.
func (s *Store) Unsubscribe(ctx context.Context, workspaceID, userID, id int64) error {
	return s.one(ctx, `DELETE FROM report_subscriptions WHERE workspace_id = $1 AND user_id = $2 AND id = $3`, "remove the scheduled report",
		workspaceID, userID, id)
}

// DueReport names a scheduled report whose time has come.
type DueReport struct {
	WorkspaceID int64 `db:"workspace_id"`
	ID          int64 `db:"id"`
}

// ReportsDue finds the scheduled reports due, across workspaces (the sweep queues a job for
// each in its workspace).
func (s *Store) ReportsDue(ctx context.Context, now time.Time) ([]DueReport, error) {
	var out []DueReport
	if err := s.db.SelectContext(ctx, &out, `SELECT workspace_id, id FROM report_subscriptions WHERE next_at <= $1 ORDER BY workspace_id, id`, now); err != nil {
		return nil, fmt.Errorf("store: unable to find due reports: %w", err)
	}
	return out, nil
}

// ReportSent moves a scheduled report to its next time, in the transaction that queued its
// email; false when it was not due (sent already by a run before).
func (t *Tx) ReportSent(ctx context.Context, workspaceID, id int64, now, next time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE report_subscriptions SET next_at = $4, last_sent_at = $3
		WHERE workspace_id = $1 AND id = $2 AND next_at <= $3`, workspaceID, id, now, next)
	if err != nil {
		return false, fmt.Errorf("store: unable to record the report sent: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
