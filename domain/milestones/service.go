// Package milestones records leads crossing a workspace's milestones and keeps attribution
// credits current: live inside the scoring transaction, for history by a back-fill job, and
// after a settings change by a rebuild job. The models themselves are in domain/attribution.
package milestones

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Service records crossings and credits them.
type Service struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// BackfillLeads is how many lead ids one back-fill transaction covers.
	BackfillLeads int64
}

// NewService returns a service with defaults.
func NewService(st *store.Store, log *slog.Logger) *Service {
	return &Service{Store: st, Log: log, Now: time.Now, BackfillLeads: 5000}
}

// Pass is what one scoring pass did to a lead.
type Pass struct {
	LeadID    int64
	AccountID *int64
	// Ledger is the lines the pass wrote for the lead.
	Ledger                  []model.LedgerLine
	GradeBefore, GradeAfter string
	// Latest is the time of the lead's latest new activity, or the scoring's time without.
	Latest time.Time
	// NewSince is the time of the lead's oldest new activity (nil: no new activity, as in a
	// re-score): crossings from then on may have gained a touch.
	NewSince *time.Time
}

// Record is scoring's hook, in the scoring transaction: it records the crossings the passes
// make and re-credits the crossings their new activities may touch.
func (s *Service) Record(ctx context.Context, tx *store.Tx, workspaceID int64, passes []Pass) error {
	ms, err := tx.MilestoneDefs(ctx, workspaceID)
	if err != nil || len(ms) == 0 {
		return err
	}
	crossings := Crossings(ms, passes)
	if err := tx.InsertCrossings(ctx, workspaceID, crossings); err != nil {
		return err
	}
	since := map[int64]time.Time{}
	earliest := func(lead int64, t time.Time) {
		if old, ok := since[lead]; !ok || t.Before(old) {
			since[lead] = t
		}
	}
	for _, c := range crossings {
		earliest(c.LeadID, c.At)
	}
	for _, p := range passes {
		if p.NewSince != nil {
			earliest(p.LeadID, *p.NewSince)
		}
	}
	if len(since) == 0 {
		return nil
	}
	settings, err := tx.AttributionSettings(ctx, workspaceID)
	if err != nil {
		return err
	}
	leads, times := make([]int64, 0, len(since)), make([]time.Time, 0, len(since))
	for id, t := range since {
		leads, times = append(leads, id), append(times, t)
	}
	rows, err := tx.CrossingsSince(ctx, workspaceID, leads, times, lookback(settings))
	if err != nil {
		return err
	}
	return Credit(ctx, tx, workspaceID, settings, rows)
}

// RecordStatuses is the Salesforce pull's hook, in the pull's transaction: a lead whose
// pulled status becomes a status milestone's value crosses it at the record's modification
// time, and is credited.
func (s *Service) RecordStatuses(ctx context.Context, tx *store.Tx, workspaceID int64, changes []store.StatusChange) error {
	ms, err := tx.MilestoneDefs(ctx, workspaceID)
	if err != nil {
		return err
	}
	var crossings []attribution.Crossing
	for _, m := range ms {
		for _, c := range changes {
			if m.StatusCrossed(c.Before, c.After) {
				crossings = append(crossings, attribution.Crossing{MilestoneID: m.ID, LeadID: c.LeadID, At: c.At})
			}
		}
	}
	if len(crossings) == 0 {
		return nil
	}
	if err := tx.InsertCrossings(ctx, workspaceID, crossings); err != nil {
		return err
	}
	settings, err := tx.AttributionSettings(ctx, workspaceID)
	if err != nil {
		return err
	}
	leads, times := make([]int64, len(crossings)), make([]time.Time, len(crossings))
	for i, c := range crossings {
		leads[i], times[i] = c.LeadID, c.At
	}
	rows, err := tx.CrossingsSince(ctx, workspaceID, leads, times, lookback(settings))
	if err != nil {
		return err
	}
	return Credit(ctx, tx, workspaceID, settings, rows)
}

// Crossings finds what the passes cross: score and label milestones from the ledger lines
// the pass wrote (as history back-fill reads them), grades from before and after.
func Crossings(ms []attribution.Milestone, passes []Pass) []attribution.Crossing {
	var out []attribution.Crossing
	for _, m := range ms {
		for _, p := range passes {
			var found []attribution.Crossing
			if m.Kind == attribution.KindStatus {
				continue // crossed on the Salesforce pull
			}
			if m.Kind == attribution.KindGrade {
				if m.Crossed(attribution.Change{GradeBefore: p.GradeBefore, GradeAfter: p.GradeAfter}) {
					found = []attribution.Crossing{{MilestoneID: m.ID, LeadID: p.LeadID, At: p.Latest}}
				}
			} else {
				found = attribution.FromLedger(m, Steps(p.LeadID, p.Ledger))
			}
			for _, c := range found {
				c.AccountID = p.AccountID
				out = append(out, c)
			}
		}
	}
	return out
}

// Steps turns one pass's ledger lines into the steps FromLedger reads.
func Steps(leadID int64, lines []model.LedgerLine) []attribution.LedgerStep {
	out := make([]attribution.LedgerStep, 0, len(lines))
	for _, l := range lines {
		st := attribution.LedgerStep{LeadID: leadID, Label: l.Label, Before: l.Before, After: l.After}
		if l.ScoreID != nil {
			st.ScoreID = *l.ScoreID
		}
		if l.EarnedAt != nil {
			st.At = *l.EarnedAt
		}
		for _, c := range l.Covers {
			st.Covers = append(st.Covers, attribution.CoveredPoints{At: c.EarnedAt, Points: c.Delta})
		}
		out = append(out, st)
	}
	return out
}

// lookback is the settings' window as a duration.
func lookback(s attribution.Settings) time.Duration {
	return time.Duration(s.LookbackDays) * 24 * time.Hour
}

// Credit recomputes the credits of crossings from their leads' touches and replaces the
// stored ones.
func Credit(ctx context.Context, tx *store.Tx, workspaceID int64, settings attribution.Settings, crossings []store.CrossingRow) error {
	if len(crossings) == 0 {
		return nil
	}
	from, to := crossings[0].CrossedAt, crossings[0].CrossedAt
	var leads []int64
	seen := map[int64]bool{}
	ids := make([]int64, len(crossings))
	for i, c := range crossings {
		ids[i] = c.ID
		if c.CrossedAt.Before(from) {
			from = c.CrossedAt
		}
		if c.CrossedAt.After(to) {
			to = c.CrossedAt
		}
		if !seen[c.LeadID] {
			seen[c.LeadID] = true
			leads = append(leads, c.LeadID)
		}
	}
	facts, err := tx.TouchFacts(ctx, workspaceID, leads, from.Add(-lookback(settings)), to)
	if err != nil {
		return err
	}
	touches := map[int64][]attribution.Touch{}
	for lead, list := range facts {
		for _, a := range list {
			if t, ok := attribution.TouchOf(a); ok {
				touches[lead] = append(touches[lead], t)
			}
		}
	}
	var rows []store.CreditRow
	for _, c := range crossings {
		for _, cr := range attribution.Credits(touches[c.LeadID], c.CrossedAt, c.LeadCreated, settings) {
			rows = append(rows, store.CreditRow{Crossing: c, Credit: cr})
		}
	}
	return tx.ReplaceCredits(ctx, workspaceID, ids, rows)
}

// Backfill is the back-fill job: it finds a milestone's crossings in the history of one range
// of leads per transaction, credits them, and records how far it got; it runs again until
// every lead is read. A deleted milestone ends it.
func (s *Service) Backfill(ctx context.Context, job store.Job) (time.Time, error) {
	id, err := strconv.ParseInt(job.Key, 10, 64)
	if err != nil {
		return time.Time{}, nil // not a milestone id: nothing to do
	}
	more := false
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		row, err := tx.MilestoneForBackfill(ctx, job.WorkspaceID, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && row.BackfilledAt != nil) {
			return nil
		}
		if err != nil {
			return err
		}
		last, err := tx.MaxLeadID(ctx, job.WorkspaceID)
		if err != nil {
			return err
		}
		after := row.BackfillLead
		through := min(after+s.BackfillLeads, last)
		if err := s.backfillRange(ctx, tx, job.WorkspaceID, row.Milestone(), after, through); err != nil {
			return err
		}
		more = through < last
		return tx.SetMilestoneBackfill(ctx, job.WorkspaceID, id, through, !more)
	})
	if err != nil || !more {
		return time.Time{}, err
	}
	return s.Now(), nil
}

// backfillRange records and credits a milestone's crossings among the leads with ids in
// (after, through].
func (s *Service) backfillRange(ctx context.Context, tx *store.Tx, ws int64, m attribution.Milestone, after, through int64) error {
	switch m.Kind {
	case attribution.KindGrade, attribution.KindStatus:
		if err := tx.CrossingsFromLeads(ctx, ws, m, after, through); err != nil {
			return err
		}
	default:
		steps, err := tx.LedgerSteps(ctx, ws, m, after, through)
		if err != nil {
			return err
		}
		if err := tx.InsertCrossings(ctx, ws, attribution.FromLedger(m, steps)); err != nil {
			return err
		}
	}
	rows, err := tx.CrossingsOfLeadRange(ctx, ws, m.ID, after, through)
	if err != nil {
		return err
	}
	settings, err := tx.AttributionSettings(ctx, ws)
	if err != nil {
		return err
	}
	return Credit(ctx, tx, ws, settings, rows)
}

// Rebuild is the rebuild job: it recomputes the credits of every crossing of the workspace,
// a page per transaction (safe to run again from the start after a crash).
func (s *Service) Rebuild(ctx context.Context, job store.Job) (time.Time, error) {
	var after int64
	for {
		n := 0
		err := s.Store.InTx(ctx, func(tx *store.Tx) error {
			rows, err := tx.CrossingsAfter(ctx, job.WorkspaceID, after, 2000)
			if err != nil || len(rows) == 0 {
				return err
			}
			n, after = len(rows), rows[len(rows)-1].ID
			settings, err := tx.AttributionSettings(ctx, job.WorkspaceID)
			if err != nil {
				return err
			}
			return Credit(ctx, tx, job.WorkspaceID, settings, rows)
		})
		if err != nil || n == 0 {
			return time.Time{}, err
		}
	}
}
