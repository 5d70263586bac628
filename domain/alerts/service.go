package alerts

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Service matches alert rules against what scoring changed and queues the alerts.
type Service struct {
	Store  *store.Store
	Notify *notify.Service
	Log    *slog.Logger
	Now    func() time.Time
}

// Detect is scoring's hook for new activity (a re-score after a rule edit alerts nobody). In
// the scoring transaction it matches the workspace's enabled alert rules; each match is
// recorded, and unless the rule alerted the lead within its window, queued for every
// recipient: the owner (the user whose email is the lead's owner's), named users, addresses
// and channels. scores maps the workspace's score names to ids.
func (s *Service) Detect(ctx context.Context, tx *store.Tx, workspaceID int64, scores map[string]int64, changes []Change) error {
	if len(changes) == 0 {
		return nil
	}
	stored, err := tx.EnabledAlertRules(ctx, workspaceID)
	if err != nil || len(stored) == 0 {
		return err
	}
	var rules []*Rule
	for _, r := range stored {
		var d Definition
		if err := json.Unmarshal(r.Definition, &d); err != nil {
			s.Log.Warn("alert rule unreadable", "workspace", workspaceID, "rule", r.ID, "error", err)
			continue
		}
		c, err := Compile(r.ID, r.Name, d, scores)
		if err != nil {
			s.Log.Warn("alert rule skipped", "workspace", workspaceID, "rule", r.ID, "error", err)
			continue
		}
		rules = append(rules, c)
	}
	queued := false
	for _, c := range changes {
		for _, r := range rules {
			reason, ok := r.Match(c)
			if !ok {
				continue
			}
			sent, err := s.fire(ctx, tx, workspaceID, r, c, reason)
			if err != nil {
				return err
			}
			queued = queued || sent
		}
	}
	if queued {
		s.Notify.Queued()
	}
	return nil
}

// fire records one match and queues its deliveries unless the throttle folds it.
func (s *Service) fire(ctx context.Context, tx *store.Tx, ws int64, r *Rule, c Change, reason string) (bool, error) {
	recent, err := tx.AlertSentSince(ctx, ws, r.ID, c.LeadID, s.Now().Add(-r.Throttle()))
	if err != nil {
		return false, err
	}
	id, err := tx.InsertAlert(ctx, model.Alert{WorkspaceID: ws, RuleID: r.ID, LeadID: c.LeadID, Reason: reason, Folded: recent})
	if err != nil || recent {
		return false, err
	}
	var owners []string
	if r.Def.Owner && c.OwnerEmail != "" {
		owners = []string{c.OwnerEmail}
	}
	users, err := tx.ActiveUsers(ctx, ws, r.Def.Users, owners)
	if err != nil {
		return false, err
	}
	var emails []string
	for _, u := range users {
		emails = append(emails, u.Email)
	}
	emails = append(emails, r.Def.Emails...)
	slices.Sort(emails)
	subject := c.Name + " — " + reason + " · " + r.Name
	for _, e := range slices.Compact(emails) {
		if err := s.Notify.QueueAlert(ctx, tx, ws, id, subject, e, nil); err != nil {
			return false, err
		}
	}
	channels, err := tx.LiveAlertChannels(ctx, ws, r.Def.Channels)
	if err != nil {
		return false, err
	}
	for i := range channels {
		if err := s.Notify.QueueAlert(ctx, tx, ws, id, subject, "", &channels[i]); err != nil {
			return false, err
		}
	}
	return len(emails)+len(channels) > 0, nil
}
