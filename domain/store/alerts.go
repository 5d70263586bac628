package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
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
	return t.alertSentSince(ctx, "lead_id", workspaceID, ruleID, leadID, since)
}

// AccountAlertSentSince reports whether the rule sent an alert about the account since a time.
func (t *Tx) AccountAlertSentSince(ctx context.Context, workspaceID, ruleID, accountID int64, since time.Time) (bool, error) {
	return t.alertSentSince(ctx, "account_id", workspaceID, ruleID, accountID, since)
}

// alertSentSince checks the throttle of a lead's or an account's alerts (column is a constant).
func (t *Tx) alertSentSince(ctx context.Context, column string, workspaceID, ruleID, id int64, since time.Time) (bool, error) {
	var sent bool
	err := t.tx.GetContext(ctx, &sent, `SELECT EXISTS (SELECT 1 FROM alerts WHERE workspace_id = $1 AND rule_id = $2 AND `+column+` = $3
		AND NOT folded AND created_at > $4)`, workspaceID, ruleID, id, since)
	if err != nil {
		return false, fmt.Errorf("store: unable to check the alert throttle: %w", err)
	}
	return sent, nil
}

// InsertAlert records that a rule matched a lead.
func (t *Tx) InsertAlert(ctx context.Context, a model.Alert) (int64, error) {
	var id int64
	err := t.tx.GetContext(ctx, &id, `INSERT INTO alerts (workspace_id, rule_id, lead_id, account_id, reason, folded)
		VALUES ($1, $2, NULLIF($3, 0), NULLIF($4, 0), $5, $6) RETURNING id`,
		a.WorkspaceID, a.RuleID, a.LeadID, a.AccountID, clipText(a.Reason, 500), a.Folded)
	if err != nil {
		return 0, fmt.Errorf("store: unable to record an alert: %w", err)
	}
	return id, nil
}

// Alert reads an alert with its rule's name.
func (s *Store) Alert(ctx context.Context, workspaceID, id int64) (model.Alert, error) {
	var a model.Alert
	err := s.db.GetContext(ctx, &a, `SELECT a.workspace_id, a.id, a.rule_id, r.name AS rule_name, COALESCE(a.lead_id, 0) AS lead_id,
			COALESCE(a.account_id, 0) AS account_id, a.reason, a.folded, a.created_at
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

// MaySee keeps, of the users, those who may see the lead (or, for an account, one of its
// people): everyone but sales users of a workspace that keeps them to their own leads, who
// must own the lead or share its pool while it is unassigned.
func (t *Tx) MaySee(ctx context.Context, workspaceID int64, users []model.User, leadID, accountID int64) ([]model.User, error) {
	if len(users) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	var ok []int64
	err := t.tx.SelectContext(ctx, &ok, `SELECT u.id FROM users u JOIN workspaces w ON w.id = u.workspace_id
		WHERE u.workspace_id = $1 AND u.id = ANY($2) AND (u.role <> 'sales' OR w.sales_access = '`+SalesSeeAll+`' OR EXISTS (
			SELECT 1 FROM leads l WHERE l.workspace_id = $1 AND (l.id = $3 OR l.account_id = $4) AND `+ownLeads("lower(u.email)", "u.id")+`))`,
		workspaceID, pq.Array(ids), leadID, accountID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to check who may see the alert: %w", err)
	}
	var out []model.User
	for _, u := range users {
		if slices.Contains(ok, u.ID) {
			out = append(out, u)
		}
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

// AlertModes reads how users get an alert rule (users without a choice are absent: at once).
func (t *Tx) AlertModes(ctx context.Context, workspaceID, ruleID int64, userIDs []int64) (map[int64]string, error) {
	var rows []struct {
		UserID int64  `db:"user_id"`
		Mode   string `db:"mode"`
	}
	err := t.tx.SelectContext(ctx, &rows, `SELECT user_id, mode FROM alert_preferences WHERE workspace_id = $1 AND rule_id = $2 AND user_id = ANY($3)`,
		workspaceID, ruleID, pq.Array(userIDs))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read alert preferences: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.UserID] = r.Mode
	}
	return out, nil
}

// AddDigestItems puts an alert in the next digest of users.
func (t *Tx) AddDigestItems(ctx context.Context, workspaceID, alertID int64, userIDs []int64) error {
	if len(userIDs) == 0 {
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO digest_items (workspace_id, user_id, alert_id) SELECT $1, u, $2 FROM unnest($3::bigint[]) u
		ON CONFLICT DO NOTHING`, workspaceID, alertID, pq.Array(userIDs)); err != nil {
		return fmt.Errorf("store: unable to add to digests: %w", err)
	}
	return nil
}

// SetAlertMode records how a user gets an alert rule.
func (s *Store) SetAlertMode(ctx context.Context, workspaceID, userID, ruleID int64, mode string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO alert_preferences (workspace_id, user_id, rule_id, mode)
		SELECT $1, $2, r.id, $4 FROM alert_rules r WHERE r.workspace_id = $1 AND r.id = $3
		ON CONFLICT (workspace_id, user_id, rule_id) DO UPDATE SET mode = excluded.mode`, workspaceID, userID, ruleID, mode)
	if err != nil {
		return fmt.Errorf("store: unable to save the alert preference: %w", err)
	}
	return nil
}

// AlertModesOf reads a user's choices, by rule.
func (s *Store) AlertModesOf(ctx context.Context, workspaceID, userID int64) (map[int64]string, error) {
	var rows []struct {
		RuleID int64  `db:"rule_id"`
		Mode   string `db:"mode"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT rule_id, mode FROM alert_preferences WHERE workspace_id = $1 AND user_id = $2`,
		workspaceID, userID); err != nil {
		return nil, fmt.Errorf("store: unable to read alert preferences: %w", err)
	}
	out := map[int64]string{}
	for _, r := range rows {
		out[r.RuleID] = r.Mode
	}
	return out, nil
}

// SetDigestSettings saves a user's digest frequency and quiet hours (nil: none).
func (s *Store) SetDigestSettings(ctx context.Context, workspaceID, userID int64, digest string, quietFrom, quietTo *int) error {
	return s.one(ctx, `UPDATE users SET digest = $3, quiet_from = $4, quiet_to = $5 WHERE workspace_id = $1 AND id = $2`,
		"save the digest settings", workspaceID, userID, digest, quietFrom, quietTo)
}

// DueDigest is a user whose digest time has come.
type DueDigest struct {
	WorkspaceID int64 `db:"workspace_id"`
	UserID      int64 `db:"id"`
}

// dueDigests selects the workspace and id of the active users matching a condition on
// users u whose digest time (08:00 in their time zone, UTC without one; Mondays for a weekly
// digest) has come since their last one.
func dueDigests(users string) string {
	return `SELECT workspace_id, id FROM (
			SELECT workspace_id, id, digest, last_digest_at, tz,
				(date_trunc('day', now() AT TIME ZONE tz) + interval '8 hours') AT TIME ZONE tz AS due
			FROM (SELECT u.*, CASE WHEN u.time_zone <> '' AND EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = u.time_zone)
					THEN u.time_zone ELSE 'UTC' END AS tz
				FROM users u WHERE u.active AND u.digest <> 'off' AND ` + users + `) u) d
		WHERE now() >= due AND (last_digest_at IS NULL OR last_digest_at < due)
			AND (digest = 'daily' OR extract(isodow FROM now() AT TIME ZONE tz) = 1)`
}

// UsersDueForDigest lists, across workspaces, the users whose digest time has come.
func (s *Store) UsersDueForDigest(ctx context.Context) ([]DueDigest, error) {
	var out []DueDigest
	if err := s.db.SelectContext(ctx, &out, dueDigests("true")+` ORDER BY workspace_id, id`); err != nil {
		return nil, fmt.Errorf("store: unable to find due digests: %w", err)
	}
	return out, nil
}

// DigestAlert is an alert listed in a digest.
type DigestAlert struct {
	RuleName  string    `db:"rule_name"`
	LeadID    int64     `db:"lead_id"`
	AccountID int64     `db:"account_id"`
	LeadName  string    `db:"lead_name"`
	Reason    string    `db:"reason"`
	Folded    bool      `db:"folded"`
	At        time.Time `db:"created_at"`
}

// DigestAlerts reads the alerts waiting for a user's digest, oldest first.
func (s *Store) DigestAlerts(ctx context.Context, workspaceID, userID int64) ([]DigestAlert, error) {
	var out []DigestAlert
	err := s.db.SelectContext(ctx, &out, `SELECT r.name AS rule_name, COALESCE(a.lead_id, 0) AS lead_id, COALESCE(a.account_id, 0) AS account_id,
			COALESCE(NULLIF(trim(l.first_name || ' ' || l.last_name), ''), l.email, NULLIF(c.name, ''), c.domain) AS lead_name,
			a.reason, a.folded, a.created_at
		FROM digest_items i JOIN alerts a ON a.workspace_id = i.workspace_id AND a.id = i.alert_id
		JOIN alert_rules r ON r.workspace_id = a.workspace_id AND r.id = a.rule_id
		LEFT JOIN leads l ON l.workspace_id = a.workspace_id AND l.id = a.lead_id
		LEFT JOIN accounts c ON c.workspace_id = a.workspace_id AND c.id = a.account_id
		WHERE i.workspace_id = $1 AND i.user_id = $2 ORDER BY a.created_at, a.id`, workspaceID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the digest's alerts: %w", err)
	}
	return out, nil
}

// DigestLead is a lead a digest names, with a figure (points moved, a label).
type DigestLead struct {
	LeadID int64   `db:"lead_id"`
	Name   string  `db:"name"`
	What   string  `db:"what"`
	Value  float64 `db:"value"`
}

// DigestMoves reads what changed among the leads the viewer may see since a time, for a
// digest: leads that gained labels, the five biggest main-score movers, the hottest leads
// active since, and the three accounts whose (visible) people's scores rose most. The four
// lists are read in one snapshot, so scoring that commits meanwhile cannot show an account's
// gain without its person's.
func (s *Store) DigestMoves(ctx context.Context, v Viewer, since time.Time) (labels, movers, hot, accounts []DigestLead, err error) {
	err = s.inSnapshot(ctx, func(tx *sqlx.Tx) error {
		labels, movers, hot, accounts, err = digestMoves(ctx, tx, v, since)
		return err
	})
	return
}

// digestBetweenReads, when set (by tests), runs after DigestMoves's first read.
var digestBetweenReads func()

func digestMoves(ctx context.Context, q sqlx.QueryerContext, v Viewer, since time.Time) (labels, movers, hot, accounts []DigestLead, err error) {
	name := `COALESCE(NULLIF(trim(l.first_name || ' ' || l.last_name), ''), l.email)`
	// Each query binds the workspace and the time, then the viewer's values.
	args := func() ([]any, string) {
		a := []any{v.WorkspaceID, since}
		return a, v.and(binder(&a))
	}
	a, cond := args()
	if err = sqlx.SelectContext(ctx, q, &labels, `SELECT l.id AS lead_id, `+name+` AS name, g.label AS what, 0::float8 AS value
		FROM (SELECT DISTINCT ON (p.lead_id, g.label) p.lead_id, g.label, p.id FROM score_passes p CROSS JOIN LATERAL unnest(p.labels_given) AS g(label)
			WHERE p.workspace_id = $1 AND p.created_at >= $2 AND p.labels_given <> '{}' ORDER BY p.lead_id, g.label, p.id) g
		JOIN leads l ON l.workspace_id = $1 AND l.id = g.lead_id AND g.label = ANY(l.labels)`+cond+`
		ORDER BY g.id DESC LIMIT 10`, a...); err != nil {
		return
	}
	if digestBetweenReads != nil {
		digestBetweenReads()
	}
	a, cond = args()
	if err = sqlx.SelectContext(ctx, q, &movers, `SELECT l.id AS lead_id, `+name+` AS name, '' AS what, m.moved AS value
		FROM (SELECT s.lead_id, sum(s.main_delta) AS moved FROM score_passes s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.main_score_id AND n.is_main
			WHERE s.workspace_id = $1 AND s.created_at >= $2 GROUP BY s.lead_id HAVING sum(s.main_delta) >= 1) m
		JOIN leads l ON l.workspace_id = $1 AND l.id = m.lead_id`+cond+` ORDER BY m.moved DESC, l.id LIMIT 5`, a...); err != nil {
		return
	}
	a, cond = args()
	if err = sqlx.SelectContext(ctx, q, &hot, `SELECT l.id AS lead_id, `+name+` AS name, l.grade AS what, l.main_score AS value FROM leads l
		WHERE l.workspace_id = $1 AND l.temperature = 'hot' AND l.last_activity_at >= $2`+cond+` ORDER BY l.heat DESC, l.id LIMIT 5`, a...); err != nil {
		return
	}
	a, cond = args()
	err = sqlx.SelectContext(ctx, q, &accounts, `SELECT a.id AS lead_id, COALESCE(NULLIF(a.name, ''), a.domain) AS name, '' AS what, m.moved AS value
		FROM (SELECT l.account_id, sum(s.main_delta) AS moved FROM score_passes s
			JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.main_score_id AND n.is_main
			JOIN leads l ON l.workspace_id = s.workspace_id AND l.id = s.lead_id
			WHERE s.workspace_id = $1 AND s.created_at >= $2 AND l.account_id IS NOT NULL`+cond+`
			GROUP BY l.account_id HAVING sum(s.main_delta) >= 1) m
		JOIN accounts a ON a.workspace_id = $1 AND a.id = m.account_id ORDER BY m.moved DESC, a.id LIMIT 3`, a...)
	if err != nil {
		err = fmt.Errorf("store: unable to read the digest's moves: %w", err)
	}
	return
}

// ClaimDigest notes that a person's digest goes out at `at`, in the transaction that queues
// it, and empties their digest items; it reports false, changing nothing, when the digest is
// no longer due or its last time is not `last` (read when the digest was gathered). A job
// queued by a sweep that read before the previous digest was noted, or two runs at once,
// then send nothing twice: the update rechecks last_digest_at on the row it locks.
func (t *Tx) ClaimDigest(ctx context.Context, workspaceID, userID int64, last *time.Time, at time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE users SET last_digest_at = $4
		WHERE workspace_id = $1 AND id = $2 AND last_digest_at IS NOT DISTINCT FROM $3
			AND (workspace_id, id) IN (`+dueDigests(`u.workspace_id = $1 AND u.id = $2`)+`)`, workspaceID, userID, last, at)
	if err != nil {
		return false, fmt.Errorf("store: unable to note the digest: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM digest_items WHERE workspace_id = $1 AND user_id = $2 AND created_at <= $3`,
		workspaceID, userID, at); err != nil {
		return false, fmt.Errorf("store: unable to empty the digest: %w", err)
	}
	return true, nil
}

// AccountSnapshot is an account as account alert rules compare it before and after scoring.
type AccountSnapshot struct {
	ID      int64
	Name    string
	Labels  []string
	Scores  map[int64]float64
	Engaged int // people active in the last 7 days
}

// AccountSnapshots reads accounts' labels, rolled-up scores and people active in 7 days.
func (t *Tx) AccountSnapshots(ctx context.Context, workspaceID int64, ids []int64) (map[int64]AccountSnapshot, error) {
	var rows []struct {
		ID      int64          `db:"id"`
		Name    string         `db:"name"`
		Labels  pq.StringArray `db:"labels"`
		Scores  []byte         `db:"scores"`
		Engaged int            `db:"engaged"`
	}
	err := t.tx.SelectContext(ctx, &rows, `SELECT a.id, COALESCE(NULLIF(a.name, ''), a.domain) AS name, a.labels,
			COALESCE((SELECT jsonb_object_agg(s.score_id::text, s.value) FROM account_score_values s WHERE s.workspace_id = a.workspace_id AND s.account_id = a.id), '{}') AS scores,
			(SELECT count(*) FROM leads l WHERE l.workspace_id = a.workspace_id AND l.account_id = a.id AND l.last_activity_at >= now() - interval '7 days') AS engaged
		FROM accounts a WHERE a.workspace_id = $1 AND a.id = ANY($2)`, workspaceID, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read accounts for alerts: %w", err)
	}
	out := make(map[int64]AccountSnapshot, len(rows))
	for _, r := range rows {
		snap := AccountSnapshot{ID: r.ID, Name: r.Name, Labels: r.Labels, Engaged: r.Engaged, Scores: map[int64]float64{}}
		var raw map[string]float64
		_ = json.Unmarshal(r.Scores, &raw)
		for k, v := range raw {
			var id int64
			fmt.Sscan(k, &id)
			snap.Scores[id] = v
		}
		out[r.ID] = snap
	}
	return out, nil
}
