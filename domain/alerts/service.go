package alerts

import (
	"context"
	"encoding/json"
	"log/slog"
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
func (s *Service) Detect(ctx context.Context, tx *store.Tx, workspaceID int64, scores map[string]int64, changes []Change, accounts []AccountChange) error {
	if len(changes) == 0 && len(accounts) == 0 {
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
	for _, r := range rules {
		for _, c := range changes {
			if reason, ok := r.Match(c); ok {
				sent, err := s.fire(ctx, tx, workspaceID, r, subject{leadID: c.LeadID, name: c.Name, ownerEmail: c.OwnerEmail}, reason)
				if err != nil {
					return err
				}
				queued = queued || sent
			}
		}
		for _, c := range accounts {
			if reason, ok := r.MatchAccount(c); ok {
				sent, err := s.fire(ctx, tx, workspaceID, r, subject{accountID: c.AccountID, name: c.Name}, reason)
				if err != nil {
					return err
				}
				queued = queued || sent
			}
		}
	}
	if queued {
		s.Notify.Queued()
	}
	return nil
}

// fire records one match and queues its deliveries, unless the throttle folds it (then the
// people it names find it counted in their digest). Each person gets it as they chose for
// the rule: at once (by email, after their quiet hours), in their digest, or not at all.
func (s *Service) fire(ctx context.Context, tx *store.Tx, ws int64, r *Rule, c subject, reason string) (bool, error) {
	var recent bool
	var err error
	if c.leadID != 0 {
		recent, err = tx.AlertSentSince(ctx, ws, r.ID, c.leadID, s.Now().Add(-r.Throttle()))
	} else {
		recent, err = tx.AccountAlertSentSince(ctx, ws, r.ID, c.accountID, s.Now().Add(-r.Throttle()))
	}
	if err != nil {
		return false, err
	}
	id, err := tx.InsertAlert(ctx, model.Alert{WorkspaceID: ws, RuleID: r.ID, LeadID: c.leadID, AccountID: c.accountID, Reason: reason, Folded: recent})
	if err != nil {
		return false, err
	}
	var owners []string
	if r.Def.Owner && c.ownerEmail != "" {
		owners = []string{c.ownerEmail}
	}
	users, err := tx.ActiveUsers(ctx, ws, r.Def.Users, owners)
	if err != nil {
		return false, err
	}
	// A sales user kept to their own leads is not told about another's lead.
	if users, err = tx.MaySee(ctx, ws, users, c.leadID, c.accountID); err != nil {
		return false, err
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	modes, err := tx.AlertModes(ctx, ws, r.ID, ids)
	if err != nil {
		return false, err
	}
	var digest []int64
	var now []model.User
	for _, u := range users {
		switch modes[u.ID] {
		case model.AlertOff:
		case model.AlertDigest:
			digest = append(digest, u.ID)
		default:
			if recent {
				digest = append(digest, u.ID) // held back: counted in the digest
			} else {
				now = append(now, u)
			}
		}
	}
	if err := tx.AddDigestItems(ctx, ws, id, digest); err != nil || recent {
		return false, err
	}
	title := c.name + " — " + reason + " · " + r.Name
	queued := 0
	seen := map[string]bool{}
	for _, u := range now {
		seen[u.Email] = true
		if err := s.Notify.QueueAlert(ctx, tx, ws, id, title, notify.AlertTo{Email: u.Email, UserID: u.ID, After: quietUntil(u, s.Now())}); err != nil {
			return false, err
		}
		queued++
	}
	for _, e := range r.Def.Emails {
		if !seen[e] {
			seen[e] = true
			if err := s.Notify.QueueAlert(ctx, tx, ws, id, title, notify.AlertTo{Email: e}); err != nil {
				return false, err
			}
			queued++
		}
	}
	channels, err := tx.LiveAlertChannels(ctx, ws, r.Def.Channels)
	if err != nil {
		return false, err
	}
	for i := range channels {
		if err := s.Notify.QueueAlert(ctx, tx, ws, id, title, notify.AlertTo{Channel: &channels[i]}); err != nil {
			return false, err
		}
		queued++
	}
	return queued > 0, nil
}

// subject is what an alert is about: a lead (with its owner's email) or an account.
type subject struct {
	leadID, accountID int64
	name, ownerEmail  string
}

// quietUntil is when a person's quiet hours end, if now is in them (nil otherwise).
func quietUntil(u model.User, now time.Time) *time.Time {
	if u.QuietFrom == nil || u.QuietTo == nil || *u.QuietFrom == *u.QuietTo {
		return nil
	}
	loc, err := time.LoadLocation(u.TimeZone)
	if u.TimeZone == "" || err != nil {
		loc = time.UTC
	}
	local := now.In(loc)
	from, to, h := *u.QuietFrom, *u.QuietTo, local.Hour()
	quiet := from < to && h >= from && h < to || from > to && (h >= from || h < to)
	if !quiet {
		return nil
	}
	end := time.Date(local.Year(), local.Month(), local.Day(), to, 0, 0, 0, loc)
	if !end.After(local) {
		end = end.AddDate(0, 0, 1)
	}
	return &end
}
