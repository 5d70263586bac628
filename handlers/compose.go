package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peregrine-scoring/peregrine/domain/alerts"
	"github.com/peregrine-scoring/peregrine/domain/cards"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// AlertComposer writes alerts when they are sent: an email, a Slack Block Kit message, or a
// webhook's JSON, each with the lead as it is then — who, company, score, grade,
// temperature, the top three reasons and the latest activities, and links to the lead page
// and its Salesforce record.
type AlertComposer struct {
	Store   *store.Store
	Scoring *scoring.Service
	Secrets *secrets.Box
	// BaseURL is where the workspace's links point.
	BaseURL func(ctx context.Context, workspaceID int64) string
}

// alertFacts is what every form of an alert says.
type alertFacts struct {
	ws         model.Workspace
	alert      model.Alert
	lead       model.Lead
	name       string
	leadURL    string
	sfURL      string
	reasons    []views.Reason
	activities []views.Pair
	account    *store.AccountRow // for an account's alert
	card       []views.Pair      // the published card's fields
}

func (a *AlertComposer) facts(ctx context.Context, d model.Delivery, alertID int64) (alertFacts, error) {
	var f alertFacts
	var err error
	if f.ws, err = a.Store.WorkspaceByID(ctx, d.WorkspaceID); err != nil {
		return f, err
	}
	if f.alert, err = a.Store.Alert(ctx, d.WorkspaceID, alertID); err != nil {
		return f, &notify.PermanentError{Err: fmt.Errorf("the alert is gone (its rule was deleted): %w", err)}
	}
	if f.alert.AccountID != 0 {
		return a.accountFacts(ctx, d, f)
	}
	if f.lead, err = a.Store.LeadByID(ctx, d.WorkspaceID, f.alert.LeadID); err != nil {
		return f, &notify.PermanentError{Err: fmt.Errorf("the lead is gone: %w", err)}
	}
	f.name = strings.TrimSpace(f.lead.FirstName + " " + f.lead.LastName)
	if f.name == "" {
		f.name = f.lead.Email
	}
	base := a.BaseURL(ctx, d.WorkspaceID)
	f.leadURL = base + "/leads/" + strconv.FormatInt(f.lead.ID, 10)
	if _, sfID, _, err := a.Store.LeadSalesforceRecord(ctx, d.WorkspaceID, f.lead.ID); err == nil && sfID != "" {
		if conn, err := a.Store.SalesforceConnection(ctx, d.WorkspaceID); err == nil && conn.InstanceURL != "" {
			f.sfURL = strings.TrimRight(conn.InstanceURL, "/") + "/" + sfID
		}
	}
	rs, err := a.Scoring.RuleSet(ctx, d.WorkspaceID)
	if err != nil {
		return f, err
	}
	cells, err := personCard(ctx, a.Store, d.WorkspaceID, rs, f.lead)
	if err != nil {
		return f, err
	}
	f.card = cardFacts(cells)
	contribs, err := a.Store.LeadContributions(ctx, d.WorkspaceID, f.lead.ID)
	if err != nil {
		return f, err
	}
	names, err := a.Store.RuleNames(ctx, d.WorkspaceID)
	if err != nil {
		return f, err
	}
	var main []store.ContributionDetail
	for _, c := range contribs {
		if c.ScoreID == rs.MainScoreID {
			main = append(main, c)
		}
	}
	_, all := reasons(f.lead.MainScore, main, rs, names, time.Now())
	for _, r := range all {
		if r.Points != "+0" && r.Points != "-0" && len(f.reasons) < 3 {
			f.reasons = append(f.reasons, r)
		}
	}
	acts, _, err := a.Store.ListActivities(ctx, d.WorkspaceID, f.lead.ID, store.ActivityFilter{Limit: 3})
	if err != nil {
		return f, err
	}
	for _, act := range acts {
		f.activities = append(f.activities, views.Pair{Label: ago(act.OccurredAt), Value: alerts.ActivityName(act.Name)})
	}
	return f, nil
}

// accountFacts describes an account's alert: the company, its rolled-up score, fit, its people
// and those active lately, and a link to the account page.
func (a *AlertComposer) accountFacts(ctx context.Context, d model.Delivery, f alertFacts) (alertFacts, error) {
	acc, err := a.Store.AccountByID(ctx, store.Everyone(d.WorkspaceID), f.alert.AccountID)
	if err != nil {
		return f, &notify.PermanentError{Err: fmt.Errorf("the account is gone: %w", err)}
	}
	f.name = acc.Name
	if f.name == "" {
		f.name = acc.Domain
	}
	f.account = &acc
	f.leadURL = a.BaseURL(ctx, d.WorkspaceID) + "/accounts/" + strconv.FormatInt(acc.ID, 10)
	f.lead = model.Lead{Company: acc.Domain, MainScore: acc.MainScore}
	f.lead.Grade, f.lead.Temperature = acc.Grade, acc.Temperature
	f.activities = []views.Pair{{Label: "people", Value: strconv.Itoa(acc.People) + " in Peregrine, " + strconv.Itoa(acc.Engaged30) + " active in 30 days"}}
	rs, err := a.Scoring.RuleSet(ctx, d.WorkspaceID)
	if err != nil {
		return f, err
	}
	card, err := publishedCard(ctx, a.Store, d.WorkspaceID, cards.Companies)
	if err != nil {
		return f, err
	}
	f.card = cardFacts(companyCells(rs, card, acc))
	return f, nil
}

func (f alertFacts) mail() views.AlertMail {
	return views.AlertMail{Workspace: f.ws.Name, Rule: f.alert.RuleName, Reason: f.alert.Reason, Name: f.name, Email: f.lead.Email,
		Company: f.company(), Score: formatScore(f.lead.MainScore), Grade: f.lead.Grade, Temperature: f.lead.Temperature,
		Reasons: f.reasons, Activities: f.activities, LeadURL: f.leadURL, SalesforceURL: f.sfURL, Account: f.account != nil, Facts: f.card}
}

func (f alertFacts) company() string {
	if f.lead.Company != "" {
		return f.lead.Company
	}
	if _, domain, ok := strings.Cut(f.lead.Email, "@"); ok {
		return domain
	}
	return ""
}

// AlertEmail is the alert as an email, with a link (and List-Unsubscribe headers, RFC 8058)
// that stops this rule's alerts for the recipient.
func (a *AlertComposer) AlertEmail(ctx context.Context, d model.Delivery, alertID, userID int64) (notify.Email, error) {
	f, err := a.facts(ctx, d, alertID)
	if err != nil {
		return notify.Email{}, err
	}
	m := f.mail()
	token, err := UnsubscribeToken(a.Secrets, d.WorkspaceID, Unsubscription{UserID: userID, Email: d.Recipient, RuleID: f.alert.RuleID})
	if err != nil {
		return notify.Email{}, err
	}
	m.UnsubscribeURL = a.BaseURL(ctx, d.WorkspaceID) + "/unsubscribe/" + f.ws.Slug + "/" + token
	e, err := views.EmailOf(ctx, d.Recipient, f.ws.Name, m)
	e.Headers = map[string]string{"List-Unsubscribe": "<" + m.UnsubscribeURL + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
	return e, err
}

// Unsubscription is what an unsubscribe link stops: a user's alerts of a rule, or an
// address's (UserID 0).
type Unsubscription struct {
	UserID int64  `json:"u,omitempty"`
	Email  string `json:"e,omitempty"`
	RuleID int64  `json:"r"`
}

// UnsubscribeToken seals an unsubscription into a link token: it cannot be forged or moved to
// another workspace, and needs no sign-in.
func UnsubscribeToken(box *secrets.Box, workspaceID int64, u Unsubscription) (string, error) {
	if u.UserID != 0 {
		u.Email = ""
	}
	plain, _ := json.Marshal(u)
	sealed, err := box.Seal(plain, unsubscribeContext(workspaceID))
	return base64.RawURLEncoding.EncodeToString(sealed), err
}

// OpenUnsubscribeToken reads a token UnsubscribeToken made.
func OpenUnsubscribeToken(box *secrets.Box, workspaceID int64, token string) (Unsubscription, error) {
	var u Unsubscription
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return u, err
	}
	plain, err := box.Open(raw, unsubscribeContext(workspaceID))
	if err != nil {
		return u, err
	}
	return u, json.Unmarshal(plain, &u)
}

func unsubscribeContext(workspaceID int64) string {
	return "workspace:" + strconv.FormatInt(workspaceID, 10) + ":unsubscribe"
}

// Slack Block Kit limits (alerts.md §4.1).
const (
	slackHeaderMax = 150
	slackFieldMax  = 2000
)

// AlertSlack is the alert as a Slack Block Kit message.
func (a *AlertComposer) AlertSlack(ctx context.Context, d model.Delivery, alertID int64) ([]byte, error) {
	f, err := a.facts(ctx, d, alertID)
	if err != nil {
		return nil, err
	}
	m := f.mail()
	text := func(s string) map[string]any {
		return map[string]any{"type": "mrkdwn", "text": clipRunes(s, slackFieldMax)}
	}
	// Slack shows at most 10 fields in a section: the card's first seven and the score's three.
	var fields []map[string]any
	for i, p := range m.CardFacts() {
		if i < 7 {
			fields = append(fields, text("*"+slackEscape(p.Label)+"*\n"+slackEscape(p.Value)))
		}
	}
	fields = append(fields, text("*Score*\n"+m.Score), text("*Grade*\n"+views.OrDash(m.Grade)), text("*Temperature*\n"+views.OrDash(m.Temperature)))
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": clipRunes(m.Headline(), slackHeaderMax)}},
		{"type": "section", "text": text(slackEscape(m.Rule) + " · " + slackEscape(m.Email)), "fields": fields},
	}
	if len(m.Reasons) > 0 {
		var b strings.Builder
		b.WriteString("*Why this score*")
		for _, r := range m.Reasons {
			fmt.Fprintf(&b, "\n%s %s", r.Points, slackEscape(r.Rule))
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": text(b.String())})
	}
	if len(m.Activities) > 0 {
		var b strings.Builder
		b.WriteString("*Latest activity*")
		for _, p := range m.Activities {
			fmt.Fprintf(&b, "\n%s — %s", p.Label, slackEscape(p.Value))
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": text(b.String())})
	}
	buttons := []map[string]any{{"type": "button", "text": map[string]any{"type": "plain_text", "text": m.OpenLabel()}, "url": m.LeadURL, "style": "primary"}}
	if m.SalesforceURL != "" {
		buttons = append(buttons, map[string]any{"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open in Salesforce"}, "url": m.SalesforceURL})
	}
	blocks = append(blocks, map[string]any{"type": "actions", "elements": buttons})
	return json.Marshal(map[string]any{"text": m.Subject(), "blocks": blocks})
}

// AlertWebhook is the alert as a webhook's JSON: {type, timestamp, data} (docs/webhooks.md).
func (a *AlertComposer) AlertWebhook(ctx context.Context, d model.Delivery, alertID int64) ([]byte, error) {
	f, err := a.facts(ctx, d, alertID)
	if err != nil {
		return nil, err
	}
	labels := []string(f.lead.Labels)
	if labels == nil {
		labels = []string{}
	}
	alert := map[string]any{"id": f.alert.ID, "rule_id": f.alert.RuleID, "rule": f.alert.RuleName, "reason": f.alert.Reason,
		"at": f.alert.CreatedAt.UTC().Format(time.RFC3339)}
	if acc := f.account; acc != nil {
		accLabels := []string(acc.Labels)
		if accLabels == nil {
			accLabels = []string{}
		}
		return json.Marshal(map[string]any{"type": "account.alert", "timestamp": time.Now().UTC().Format(time.RFC3339),
			"data": map[string]any{"alert": alert, "account": map[string]any{"id": acc.ID, "domain": acc.Domain, "name": acc.Name,
				"main_score": acc.MainScore, "grade": acc.Grade, "temperature": acc.Temperature, "labels": accLabels, "people": acc.People,
				"active_30d": acc.Engaged30, "url": f.leadURL}}})
	}
	return json.Marshal(map[string]any{
		"type":      "lead.alert",
		"timestamp": time.Now().UTC().Format(time.RFC3339),
		"data": map[string]any{
			"alert": map[string]any{"id": f.alert.ID, "rule_id": f.alert.RuleID, "rule": f.alert.RuleName, "reason": f.alert.Reason,
				"at": f.alert.CreatedAt.UTC().Format(time.RFC3339)},
			"lead": map[string]any{"id": f.lead.ID, "email": f.lead.Email, "name": f.name, "company": f.company(), "title": f.lead.Title,
				"main_score": f.lead.MainScore, "grade": f.lead.Grade, "temperature": f.lead.Temperature, "labels": labels,
				"url": f.leadURL, "salesforce_url": f.sfURL},
		},
	})
}

func clipRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// slackEscape escapes what Slack's mrkdwn reads as markup (&, <, >): a lead's name must not
// become a link or a mention.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
