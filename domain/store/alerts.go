package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const alertRuleSelect = `SELECT r.workspace_id, r.id, r.name, r.enabled, r.definition, r.created_at, r.updated_at,
		(SELECT max(a.created_at) FROM alerts a WHERE a.workspace_id = r.workspace_id AND a.rule_id = r.id AND NOT a.folded) AS last_fired_at,
		(SELECT count(*) FROM alerts a WHERE a.workspace_id = r.workspace_id AND a.rule_id = r.id AND NOT a.folded AND a.created_at > now() - interval '7 days') AS sent_week,
		(SELECT count(*) FROM alerts a WHERE a.workspace_id = r.workspace_id AND a.rule_id = r.id AND a.folded AND a.created_at > now() - interval '7 days') AS folded_week
	FROM alert_rules r `

// SaveAlertRule creates (id 0) or replaces an alert rule and returns its id.
func (s *Store) SaveAlertRule(ctx context.Context, workspaceID, id int64, name string, enabled bool, definition []byte, by int64) (int64, error) {
	var err error
	if id == 0 {
		err = s.db.GetContext(ctx, &id, `INSERT INTO alert_rules (workspace_id, name, enabled, definition, created_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, workspaceID, name, enabled, string(definition), by)
	} else {
		err = s.db.GetContext(ctx, &id, `UPDATE alert_rules SET name = $3, enabled = $4, definition = $5, updated_at = now()
			WHERE workspace_id = $1 AND id = $2 RETURNING id`, workspaceID, id, name, enabled, string(definition))
	}
	if err != nil {
		return 0, fmt.Errorf("store: unable to save the alert rule: %w", notFound(err))
	}
	return id, nil
}

// ListAlertRules lists the workspace's alert rules with what they did in the last week.
func (s *Store) ListAlertRules(ctx context.Context, workspaceID int64) ([]model.AlertRule, error) {
	var out []model.AlertRule
	if err := s.db.SelectContext(ctx, &out, alertRuleSelect+`WHERE r.workspace_id = $1 ORDER BY r.name, r.id`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to list alert rules: %w", err)
	}
	return out, nil
}

// AlertRule reads one alert rule.
func (s *Store) AlertRule(ctx context.Context, workspaceID, id int64) (model.AlertRule, error) {
	var r model.AlertRule
	err := s.db.GetContext(ctx, &r, alertRuleSelect+`WHERE r.workspace_id = $1 AND r.id = $2`, workspaceID, id)
	if err != nil {
		return r, fmt.Errorf("store: unable to read the alert rule: %w", notFound(err))
	}
	return r, nil
}

// SetAlertRuleEnabled switches an alert rule on or off.
func (s *Store) SetAlertRuleEnabled(ctx context.Context, workspaceID, id int64, enabled bool) error {
	return s.one(ctx, `UPDATE alert_rules SET enabled = $3, updated_at = now() WHERE workspace_id = $1 AND id = $2`, "switch the alert rule",
		workspaceID, id, enabled)
}

// DeleteAlertRule removes an alert rule and its alerts (sent deliveries stay in the log).
func (s *Store) DeleteAlertRule(ctx context.Context, workspaceID, id int64) error {
	return s.one(ctx, `DELETE FROM alert_rules WHERE workspace_id = $1 AND id = $2`, "delete the alert rule", workspaceID, id)
}

// one runs a statement that must change exactly one row (ErrNotFound otherwise).
func (s *Store) one(ctx context.Context, q, what string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: unable to %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: unable to %s: %w", what, ErrNotFound)
	}
	return nil
}

// EnabledAlertRules reads the alert rules scoring matches.
func (t *Tx) EnabledAlertRules(ctx context.Context, workspaceID int64) ([]model.AlertRule, error) {
	var out []model.AlertRule
	if err := t.tx.SelectContext(ctx, &out, `SELECT workspace_id, id, name, enabled, definition, created_at, updated_at
		FROM alert_rules WHERE workspace_id = $1 AND enabled ORDER BY id`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to read alert rules: %w", err)
	}
	return out, nil
}

// AlertSentSince reports whether the rule sent the lead an alert since a time (the throttle).
func (t *Tx) AlertSentSince(ctx context.Context, workspaceID, ruleID, leadID int64, since time.Time) (bool, error) {
	var sent bool
	err := t.tx.GetContext(ctx, &sent, `SELECT EXISTS (SELECT 1 FROM alerts WHERE workspace_id = $1 AND rule_id = $2 AND lead_id = $3
		AND NOT folded AND created_at > $4)`, workspaceID, ruleID, leadID, since)
	if err != nil {
		return false, fmt.Errorf("store: unable to check the alert throttle: %w", err)
	}
	return sent, nil
}

// InsertAlert records that a rule matched a lead.
func (t *Tx) InsertAlert(ctx context.Context, a model.Alert) (int64, error) {
	var id int64
	err := t.tx.GetContext(ctx, &id, `INSERT INTO alerts (workspace_id, rule_id, lead_id, reason, folded) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		a.WorkspaceID, a.RuleID, a.LeadID, clipText(a.Reason, 500), a.Folded)
	if err != nil {
		return 0, fmt.Errorf("store: unable to record an alert: %w", err)
	}
	return id, nil
}

// Alert reads an alert with its rule's name.
func (s *Store) Alert(ctx context.Context, workspaceID, id int64) (model.Alert, error) {
	var a model.Alert
	err := s.db.GetContext(ctx, &a, `SELECT a.workspace_id, a.id, a.rule_id, r.name AS rule_name, a.lead_id, a.reason, a.folded, a.created_at
		FROM alerts a JOIN alert_rules r ON r.workspace_id = a.workspace_id AND r.id = a.rule_id WHERE a.workspace_id = $1 AND a.id = $2`, workspaceID, id)
	if err != nil {
		return a, fmt.Errorf("store: unable to read the alert: %w", notFound(err))
	}
	return a, nil
}

// ActiveUsers reads the active users among ids, and those whose email is in emails (a lead's
// owner, matched by address).
func (t *Tx) ActiveUsers(ctx context.Context, workspaceID int64, ids []int64, emails []string) ([]model.User, error) {
	var out []model.User
	err := t.tx.SelectContext(ctx, &out, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 AND active
		AND (id = ANY($2) OR email = ANY($3)) ORDER BY id`, workspaceID, pq.Array(ids), pq.Array(emails))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read alert recipients: %w", err)
	}
	return out, nil
}

const channelColumns = `workspace_id, id, kind, name, url, url_hint, secret, disabled_reason, disabled_at, next_send_at, last_sent_at, created_at`

// CreateAlertChannel stores a Slack webhook or a webhook endpoint (URL and secret sealed).
func (s *Store) CreateAlertChannel(ctx context.Context, c model.AlertChannel) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO alert_channels (workspace_id, kind, name, url, url_hint, secret)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, c.WorkspaceID, c.Kind, c.Name, c.URL, c.URLHint, c.Secret)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, ErrDuplicate
		}
		return 0, fmt.Errorf("store: unable to add the channel: %w", err)
	}
	return id, nil
}

// ListAlertChannels lists the workspace's channels.
func (s *Store) ListAlertChannels(ctx context.Context, workspaceID int64) ([]model.AlertChannel, error) {
	var out []model.AlertChannel
	if err := s.db.SelectContext(ctx, &out, `SELECT `+channelColumns+` FROM alert_channels WHERE workspace_id = $1 ORDER BY name`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to list channels: %w", err)
	}
	return out, nil
}

// AlertChannel reads one channel.
func (s *Store) AlertChannel(ctx context.Context, workspaceID, id int64) (model.AlertChannel, error) {
	var c model.AlertChannel
	err := s.db.GetContext(ctx, &c, `SELECT `+channelColumns+` FROM alert_channels WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err != nil {
		return c, fmt.Errorf("store: unable to read the channel: %w", notFound(err))
	}
	return c, nil
}

// DeleteAlertChannel removes a channel; alert rules naming it no longer send there.
func (s *Store) DeleteAlertChannel(ctx context.Context, workspaceID, id int64) error {
	return s.one(ctx, `DELETE FROM alert_channels WHERE workspace_id = $1 AND id = $2`, "delete the channel", workspaceID, id)
}

// EnableAlertChannel turns a disabled channel back on (after the admin fixed it).
func (s *Store) EnableAlertChannel(ctx context.Context, workspaceID, id int64) error {
	return s.one(ctx, `UPDATE alert_channels SET disabled_reason = '', disabled_at = NULL WHERE workspace_id = $1 AND id = $2`,
		"enable the channel", workspaceID, id)
}

// LiveAlertChannels reads the channels among ids that are not disabled.
func (t *Tx) LiveAlertChannels(ctx context.Context, workspaceID int64, ids []int64) ([]model.AlertChannel, error) {
	var out []model.AlertChannel
	err := t.tx.SelectContext(ctx, &out, `SELECT `+channelColumns+` FROM alert_channels
		WHERE workspace_id = $1 AND id = ANY($2) AND disabled_at IS NULL ORDER BY id`, workspaceID, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read channels: %w", err)
	}
	return out, nil
}

// TakeChannelSlot spaces the messages of a channel: when its next slot has come, it books
// the one after (gap later) and returns the zero time — send now; otherwise it returns when
// the slot comes. The row stays locked until the transaction ends, so senders in other
// processes wait for this one's message and then see the new slot.
func (t *Tx) TakeChannelSlot(ctx context.Context, workspaceID, id int64, gap time.Duration) (time.Time, error) {
	var next time.Time
	var due bool
	err := t.tx.QueryRowxContext(ctx, `SELECT next_send_at, next_send_at <= now() FROM alert_channels WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
		workspaceID, id).Scan(&next, &due)
	if err != nil {
		return next, fmt.Errorf("store: unable to book the channel: %w", notFound(err))
	}
	if !due {
		return next, nil
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE alert_channels SET next_send_at = now() + $3 * interval '1 millisecond'
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, gap.Milliseconds()); err != nil {
		return next, fmt.Errorf("store: unable to book the channel: %w", err)
	}
	return time.Time{}, nil
}

// HoldChannel keeps a channel quiet until a time (Slack's Retry-After).
func (t *Tx) HoldChannel(ctx context.Context, workspaceID, id int64, until time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE alert_channels SET next_send_at = greatest(next_send_at, $3) WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id, until); err != nil {
		return fmt.Errorf("store: unable to hold the channel: %w", err)
	}
	return nil
}

// ChannelSent notes a message that went out on a channel.
func (t *Tx) ChannelSent(ctx context.Context, workspaceID, id int64) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE alert_channels SET last_sent_at = now() WHERE workspace_id = $1 AND id = $2`, workspaceID, id); err != nil {
		return fmt.Errorf("store: unable to note the channel's message: %w", err)
	}
	return nil
}

// DisableAlertChannel turns a channel off with the reason (the other side removed it).
func (t *Tx) DisableAlertChannel(ctx context.Context, workspaceID, id int64, reason string) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE alert_channels SET disabled_reason = $3, disabled_at = now() WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id, clipText(reason, 500)); err != nil {
		return fmt.Errorf("store: unable to disable the channel: %w", err)
	}
	return nil
}

// ChannelOfDelivery reads the channel a delivery goes to (disabled ones too).
func (t *Tx) ChannelOfDelivery(ctx context.Context, workspaceID, id int64) (model.AlertChannel, error) {
	var c model.AlertChannel
	err := t.tx.GetContext(ctx, &c, `SELECT `+channelColumns+` FROM alert_channels WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err != nil {
		return c, fmt.Errorf("store: unable to read the channel: %w", notFound(err))
	}
	return c, nil
}
