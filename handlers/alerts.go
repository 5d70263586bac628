package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/alerts"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

const keyWebhookSecret = "webhook-secret"

// ShowAlertsPage lists alert rules, channels and the latest alerts sent.
func (h *Handlers) ShowAlertsPage(c echo.Context) error {
	return h.renderAlerts(c, http.StatusOK, views.ChannelForm{})
}

func (h *Handlers) renderAlerts(c echo.Context, status int, form views.ChannelForm) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	stored, err := h.Store.ListAlertRules(ctx, ws)
	if err != nil {
		return err
	}
	channels, err := h.Store.ListAlertChannels(ctx, ws)
	if err != nil {
		return err
	}
	deliveries, err := h.Store.ListDeliveries(ctx, ws, 200)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, ch := range channels {
		names[ch.ID] = ch.Name
	}
	loc := userLocation(c)
	v := views.AlertsView{NewSecret: h.takeValue(c, keyWebhookSecret), Channel: form}
	for _, r := range stored {
		row := views.AlertRuleRow{ID: r.ID, Name: r.Name, Enabled: r.Enabled, SentWeek: r.SentWeek, FoldedWeek: r.FoldedWeek, LastFired: "never"}
		if r.LastFiredAt != nil {
			row.LastFired = views.FormatTimeIn(r.LastFiredAt, loc)
		}
		var d alerts.Definition
		if json.Unmarshal(r.Definition, &d) == nil {
			row.Summary = summarize(d, names)
		}
		v.Rules = append(v.Rules, row)
	}
	for _, ch := range channels {
		row := views.ChannelRow{ID: ch.ID, Kind: map[string]string{model.ChannelSlack: "Slack", model.ChannelWebhook: "Webhook"}[ch.Kind],
			Name: ch.Name, Hint: ch.URLHint, Disabled: ch.DisabledAt != nil, DisabledReason: ch.DisabledReason, LastSent: "nothing sent yet"}
		if ch.LastSentAt != nil {
			row.LastSent = "last message " + views.FormatTimeIn(ch.LastSentAt, loc)
		}
		v.Channels = append(v.Channels, row)
	}
	for _, d := range deliveries {
		if d.Kind == model.DeliveryAlert || d.Channel != model.ChannelEmail {
			v.Deliveries = append(v.Deliveries, deliveryRow(d, loc))
		}
	}
	return Render(c, status, views.AlertsPage(h.chrome(c, "Alerts", "alerts"), v))
}

// summarize says an alert rule in a line: when, and whom it tells.
func summarize(d alerts.Definition, channels map[int64]string) string {
	threshold := strconv.FormatFloat(d.Threshold, 'f', -1, 64)
	when := map[string]string{alerts.LabelGained: "a lead gains “" + d.Label + "”", alerts.ScoreCrossed: "a lead's " + d.Score + " crosses " + threshold,
		alerts.BecameHot: "a lead becomes hot", alerts.GradeReached: "a lead reaches grade " + d.Grade, alerts.Activity: "a lead does " + activityText(d.Activity),
		alerts.AccountLabelGained: "an account gains “" + d.Label + "”", alerts.AccountScoreCrossed: "an account's " + d.Score + " crosses " + threshold,
		alerts.AccountEngaged: "an account has " + strconv.Itoa(d.People) + " people active in 7 days"}[d.Trigger]
	var who []string
	if d.Owner {
		who = append(who, "the owner")
	}
	if n := len(d.Users); n == 1 {
		who = append(who, "1 person")
	} else if n > 1 {
		who = append(who, strconv.Itoa(n)+" people")
	}
	who = append(who, d.Emails...)
	for _, id := range d.Channels {
		if name, ok := channels[id]; ok {
			who = append(who, name)
		}
	}
	return "When " + when + " → " + strings.Join(who, ", ")
}

// The activity condition the form offers: one field, contains or equals, a value.
var actFields = []views.Option{{Value: "web.path", Label: "a page whose path"}, {Value: "event.name", Label: "an activity whose name"},
	{Value: "event.type", Label: "a Braze event whose type"}, {Value: "web.form_type", Label: "a form whose type"}}
var actOps = []views.Option{{Value: "contains", Label: "contains"}, {Value: "equals", Label: "is"}}

func activityText(g *rules.Group) string {
	if g == nil || len(g.Rules) != 1 || g.Rules[0].Condition == nil {
		return "a matching activity"
	}
	cd := g.Rules[0].Condition
	for _, f := range actFields {
		if f.Value == cd.Field {
			v, _ := cd.Value.(string)
			return f.Label + " " + map[string]string{"contains": "contains", "equals": "is"}[cd.Operator] + " “" + v + "”"
		}
	}
	return "a matching activity"
}

// ShowAlertForm shows a new or saved alert rule.
func (h *Handlers) ShowAlertForm(c echo.Context) error {
	f := views.AlertForm{Enabled: true, Trigger: alerts.Activity, ActField: "web.path", ActOp: "contains", ThrottleHours: "24", Owner: true}
	if c.Param("id") != "" {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			return echo.ErrNotFound
		}
		r, err := h.Store.AlertRule(c.Request().Context(), IdentityOf(c).Workspace.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return echo.ErrNotFound
		}
		if err != nil {
			return err
		}
		var d alerts.Definition
		if err := json.Unmarshal(r.Definition, &d); err != nil {
			return err
		}
		f = formOf(r.ID, r.Name, r.Enabled, d)
	}
	return h.renderAlertForm(c, http.StatusOK, f)
}

func formOf(id int64, name string, enabled bool, d alerts.Definition) views.AlertForm {
	f := views.AlertForm{ID: id, Name: name, Enabled: enabled, Trigger: d.Trigger, Label: d.Label, Score: d.Score, Grade: d.Grade,
		MinGrade: d.MinGrade, Owner: d.Owner, Emails: strings.Join(d.Emails, ", "), ThrottleHours: strconv.Itoa(d.ThrottleHours),
		Users: map[int64]bool{}, Channels: map[int64]bool{}, ActField: "web.path", ActOp: "contains"}
	if d.Threshold > 0 {
		f.Threshold = strconv.FormatFloat(d.Threshold, 'f', -1, 64)
	}
	if d.People > 0 {
		f.Engaged = strconv.Itoa(d.People)
	}
	if d.Condition != nil {
		b, _ := json.MarshalIndent(d.Condition, "", "  ")
		f.Condition = string(b)
	}
	if d.MinScore != nil {
		f.MinScore = strconv.FormatFloat(*d.MinScore, 'f', -1, 64)
	}
	if g := d.Activity; g != nil && len(g.Rules) == 1 && g.Rules[0].Condition != nil {
		cd := g.Rules[0].Condition
		f.ActField, f.ActOp = cd.Field, cd.Operator
		f.ActValue, _ = cd.Value.(string)
	}
	for _, u := range d.Users {
		f.Users[u] = true
	}
	for _, ch := range d.Channels {
		f.Channels[ch] = true
	}
	return f
}

func (h *Handlers) renderAlertForm(c echo.Context, status int, f views.AlertForm) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, ws)
	if err != nil {
		return err
	}
	users, err := h.Store.ListUsers(ctx, ws)
	if err != nil {
		return err
	}
	channels, err := h.Store.ListAlertChannels(ctx, ws)
	if err != nil {
		return err
	}
	for _, t := range alerts.Triggers {
		f.Triggers = append(f.Triggers, views.Option{Value: t.Value, Label: t.Label})
	}
	seen := map[string]bool{}
	for _, l := range append(slices.Clone(rs.Labels), rs.AccountLabels...) {
		if !seen[l.Name] {
			seen[l.Name] = true
			f.LabelNames = append(f.LabelNames, l.Name)
		}
	}
	for _, s := range rs.Scores {
		f.ScoreNames = append(f.ScoreNames, s.Name)
	}
	for _, u := range users {
		if u.Active {
			f.People = append(f.People, views.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name + " (" + u.Role.Label() + ")"})
		}
	}
	for _, ch := range channels {
		label := ch.Name + " · Slack"
		if ch.Kind == model.ChannelWebhook {
			label = ch.Name + " · webhook"
		}
		f.ChannelOpts = append(f.ChannelOpts, views.Option{Value: strconv.FormatInt(ch.ID, 10), Label: label})
	}
	f.ActFields, f.ActOps, f.EmailEnabled = actFields, actOps, h.Notify.EmailEnabled()
	if f.CatalogJSON, err = h.catalogJSON(c, ws); err != nil {
		return err
	}
	if f.Users == nil {
		f.Users = map[int64]bool{}
	}
	if f.Channels == nil {
		f.Channels = map[int64]bool{}
	}
	title := "New alert"
	if f.ID != 0 {
		title = f.Name
	}
	return Render(c, status, views.AlertFormPage(h.chrome(c, title, "alerts"), f))
}

// SaveAlert creates or replaces an alert rule from the form.
func (h *Handlers) SaveAlert(c echo.Context) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	var ruleID int64
	if c.Param("id") != "" {
		var err error
		if ruleID, err = strconv.ParseInt(c.Param("id"), 10, 64); err != nil {
			return echo.ErrNotFound
		}
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	name := strings.TrimSpace(form.Get("name"))
	enabled := form.Get("enabled") == "1"
	d, problems := definitionOf(form)
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	scores := map[string]int64{}
	for _, s := range rs.Scores {
		scores[s.Name] = s.ID
	}
	if _, err := alerts.Compile(ruleID, name, d, scores); err != nil {
		var p alerts.Problems
		if !errors.As(err, &p) {
			return err
		}
		for k, v := range p {
			if problems[k] == "" {
				problems[k] = v
			}
		}
	}
	if len(problems) > 0 {
		f := formOf(ruleID, name, enabled, d)
		f.Threshold, f.MinScore, f.ThrottleHours, f.Emails = form.Get("threshold"), form.Get("min_score"), form.Get("throttle_hours"), form.Get("emails")
		f.ActField, f.ActOp, f.ActValue, f.Engaged = form.Get("act_field"), form.Get("act_op"), form.Get("act_value"), form.Get("people")
		f.Condition = form.Get("condition")
		if js := form.Get("condition_json"); js != "" {
			f.Condition = js
		}
		f.Errors = views.FormErrors(problems)
		return h.renderAlertForm(c, http.StatusUnprocessableEntity, f)
	}
	def, _ := json.Marshal(d)
	if _, err := h.Store.SaveAlertRule(ctx, id.Workspace.ID, ruleID, name, enabled, def, id.User.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return echo.ErrNotFound
		}
		return err
	}
	h.flash(c, "success", "Alert “"+name+"” saved. It fires on new activity from now on.")
	return redirect(c, "/alerts")
}

// definitionOf reads the alert form; problems are the fields it could not read.
func definitionOf(form url.Values) (alerts.Definition, map[string]string) {
	problems := map[string]string{}
	number := func(field string, required bool) *float64 {
		raw := strings.TrimSpace(form.Get(field))
		if raw == "" {
			return nil
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			problems[field] = "Enter a number."
			return nil
		}
		return &v
	}
	d := alerts.Definition{Trigger: form.Get("trigger"), Label: form.Get("label"), Score: form.Get("score"), Grade: form.Get("grade"),
		MinGrade: form.Get("min_grade"), Owner: form.Get("owner") == "1", ThrottleHours: alerts.DefaultThrottleHours}
	if d.Trigger != alerts.LabelGained && d.Trigger != alerts.AccountLabelGained {
		d.Label = ""
	}
	if d.Trigger != alerts.ScoreCrossed && d.Trigger != alerts.AccountScoreCrossed {
		d.Score = ""
	} else if t := number("threshold", true); t != nil {
		d.Threshold = *t
	}
	if d.Trigger == alerts.AccountEngaged {
		if n, err := strconv.Atoi(strings.TrimSpace(form.Get("people"))); err == nil {
			d.People = n
		}
	}
	if d.Trigger != alerts.GradeReached {
		d.Grade = ""
	}
	d.MinScore = number("min_score", false)
	if raw := strings.TrimSpace(form.Get("throttle_hours")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			problems["throttle_hours"] = "Enter a whole number of hours."
		}
		d.ThrottleHours = n
	}
	if d.Trigger == alerts.Activity {
		field, op, value := form.Get("act_field"), form.Get("act_op"), strings.TrimSpace(form.Get("act_value"))
		if value == "" {
			problems["activity"] = "Enter what the activity contains or is, e.g. pricing."
		}
		d.Activity = &rules.Group{Combinator: "and", Rules: []rules.Node{{Condition: &rules.Condition{Field: field, Operator: op, Value: value}}}}
	}
	raw := strings.TrimSpace(form.Get("condition"))
	if js := strings.TrimSpace(form.Get("condition_json")); js != "" { // the form without script
		raw = js
	}
	if raw != "" {
		var g rules.Group
		if err := json.Unmarshal([]byte(raw), &g); err != nil {
			problems["condition"] = "The condition is not JSON a rule's “when” accepts: " + err.Error()
		} else {
			d.Condition = &g
		}
	}
	for _, e := range strings.Split(form.Get("emails"), ",") {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			d.Emails = append(d.Emails, e)
		}
	}
	for _, raw := range form["user"] {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			d.Users = append(d.Users, n)
		}
	}
	for _, raw := range form["channel"] {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			d.Channels = append(d.Channels, n)
		}
	}
	return d, problems
}

// SwitchAlert pauses or resumes an alert rule.
func (h *Handlers) SwitchAlert(c echo.Context) error {
	ruleID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	on := strings.HasSuffix(c.Path(), "/enable")
	err = h.Store.SetAlertRuleEnabled(c.Request().Context(), IdentityOf(c).Workspace.ID, ruleID, on)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", map[bool]string{true: "Alert resumed.", false: "Alert paused: it sends nothing until resumed."}[on])
	return redirect(c, "/alerts")
}

// DeleteAlert removes an alert rule.
func (h *Handlers) DeleteAlert(c echo.Context) error {
	ruleID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	err = h.Store.DeleteAlertRule(c.Request().Context(), IdentityOf(c).Workspace.ID, ruleID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "Alert deleted. What it sent stays in the log.")
	return redirect(c, "/alerts")
}

// AddChannel adds a Slack webhook or a webhook endpoint; a webhook's signing secret is shown
// once.
func (h *Handlers) AddChannel(c echo.Context) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	form := views.ChannelForm{Kind: c.FormValue("kind"), Name: strings.TrimSpace(c.FormValue("channel_name")), URL: strings.TrimSpace(c.FormValue("url")),
		Errors: views.FormErrors{}}
	service := outbound.Slack
	switch form.Kind {
	case model.ChannelSlack:
	case model.ChannelWebhook:
		service = outbound.Public
	default:
		form.Errors["kind"] = "Choose Slack or webhook."
	}
	if form.Name == "" || len(form.Name) > 100 {
		form.Errors["channel_name"] = "Name the channel (up to 100 characters), e.g. #sales-alerts."
	}
	if err := h.Outbound.Check(service, form.URL); err != nil {
		form.Errors["url"] = err.Error()
	}
	if len(form.Errors) > 0 {
		return h.renderAlerts(c, http.StatusUnprocessableEntity, form)
	}
	sealedURL, err := h.Secrets.Seal([]byte(form.URL), notify.ChannelContext(ws, form.Kind))
	if err != nil {
		return err
	}
	ch := model.AlertChannel{WorkspaceID: ws, Kind: form.Kind, Name: form.Name, URL: sealedURL, URLHint: urlHint(form.URL)}
	var shown string
	if form.Kind == model.ChannelWebhook {
		raw, s, err := notify.NewWebhookSecret()
		if err != nil {
			return err
		}
		if ch.Secret, err = h.Secrets.Seal(raw, notify.ChannelContext(ws, form.Kind)+":secret"); err != nil {
			return err
		}
		shown = s
	}
	if _, err := h.Store.CreateAlertChannel(ctx, ch); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			form.Errors["channel_name"] = "A channel has this name already; choose another."
			return h.renderAlerts(c, http.StatusUnprocessableEntity, form)
		}
		return err
	}
	if shown != "" {
		h.putValue(c, keyWebhookSecret, shown)
	}
	h.flash(c, "success", "Channel “"+form.Name+"” added. Send it a test, then choose it in an alert.")
	return redirect(c, "/alerts#channels")
}

// urlHint shows where a channel goes without its secret part: the host (and for Slack the
// workspace part of the path).
func urlHint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// ChannelAction tests, removes or turns back on a channel.
func (h *Handlers) ChannelAction(c echo.Context) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	chID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	ch, err := h.Store.AlertChannel(ctx, id.Workspace.ID, chID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	switch {
	case strings.HasSuffix(c.Path(), "/delete"):
		err = h.Store.DeleteAlertChannel(ctx, id.Workspace.ID, chID)
		h.flash(c, "success", "Channel “"+ch.Name+"” removed; alerts naming it no longer send there.")
	case strings.HasSuffix(c.Path(), "/enable"):
		err = h.Store.EnableAlertChannel(ctx, id.Workspace.ID, chID)
		h.flash(c, "success", "Channel “"+ch.Name+"” is back on.")
	default:
		err = h.Store.InTx(ctx, func(tx *store.Tx) error {
			return h.Notify.QueueTest(ctx, tx, id.Workspace.ID, &id.User.ID, ch, testBody(ch, id.Workspace.Name, id.User.Name))
		})
		h.Notify.Queued()
		h.flash(c, "success", "Test message queued for “"+ch.Name+"”; the log below says how it went.")
	}
	if err != nil {
		return err
	}
	return redirect(c, "/alerts#channels")
}

// testBody is a channel's test message.
func testBody(ch model.AlertChannel, workspace, sender string) []byte {
	if ch.Kind == model.ChannelSlack {
		b, _ := json.Marshal(map[string]any{"text": "Peregrine test message for " + workspace,
			"blocks": []map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn",
				"text": slackEscape(sender) + " sent this test from Peregrine. Alerts of " + slackEscape(workspace) + " will arrive here."}}}})
		return b
	}
	b, _ := json.Marshal(map[string]any{"type": "test", "timestamp": nowRFC3339(), "data": map[string]any{"workspace": workspace, "sent_by": sender}})
	return b
}

// myAlerts lists the alert rules that can reach a user (those telling the owner, and those
// naming them) with how the user gets each.
func (h *Handlers) myAlerts(c echo.Context) ([]views.MyAlert, error) {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	stored, err := h.Store.ListAlertRules(ctx, id.Workspace.ID)
	if err != nil {
		return nil, err
	}
	modes, err := h.Store.AlertModesOf(ctx, id.Workspace.ID, id.User.ID)
	if err != nil {
		return nil, err
	}
	var out []views.MyAlert
	for _, r := range stored {
		var d alerts.Definition
		if json.Unmarshal(r.Definition, &d) != nil || !r.Enabled {
			continue
		}
		why := ""
		switch {
		case slices.Contains(d.Users, id.User.ID):
			why = "names you"
		case d.Owner:
			why = "for the leads you own"
		default:
			continue
		}
		mode := modes[r.ID]
		if mode == "" {
			mode = model.AlertImmediate
		}
		out = append(out, views.MyAlert{RuleID: r.ID, Name: r.Name, Why: why, Mode: mode})
	}
	return out, nil
}

// SaveMyAlerts saves how the signed-in person gets each alert, their digest and quiet hours.
func (h *Handlers) SaveMyAlerts(c echo.Context) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	mine, err := h.myAlerts(c)
	if err != nil {
		return err
	}
	for _, a := range mine {
		mode := c.FormValue("mode_" + strconv.FormatInt(a.RuleID, 10))
		if mode != model.AlertImmediate && mode != model.AlertDigest && mode != model.AlertOff {
			continue
		}
		if err := h.Store.SetAlertMode(ctx, id.Workspace.ID, id.User.ID, a.RuleID, mode); err != nil {
			return err
		}
	}
	digest := c.FormValue("digest")
	if digest != "daily" && digest != "weekly" && digest != "off" {
		return h.renderProfile(c, http.StatusUnprocessableEntity, views.ProfileView{Errors: views.FormErrors{"digest": "Choose daily, weekly or off."}})
	}
	hour := func(name string) (*int, bool) {
		raw := c.FormValue(name)
		if raw == "" {
			return nil, true
		}
		n, err := strconv.Atoi(raw)
		return &n, err == nil && n >= 0 && n <= 23
	}
	from, okFrom := hour("quiet_from")
	to, okTo := hour("quiet_to")
	if !okFrom || !okTo || (from == nil) != (to == nil) {
		return h.renderProfile(c, http.StatusUnprocessableEntity, views.ProfileView{Errors: views.FormErrors{"quiet": "Choose both ends of your quiet hours, or neither."}})
	}
	if err := h.Store.SetDigestSettings(ctx, id.Workspace.ID, id.User.ID, digest, from, to); err != nil {
		return err
	}
	h.flash(c, "success", "Your alert settings are saved.")
	return redirect(c, "/profile#alerts")
}

// ShowUnsubscribe asks to confirm stopping an alert rule's emails (a link in every alert).
func (h *Handlers) ShowUnsubscribe(c echo.Context) error {
	v, status := h.unsubscription(c)
	return Render(c, status, views.UnsubscribePage(v.UnsubscribeView))
}

// Unsubscribe stops an alert rule's emails for the link's recipient: a user's choice becomes
// "off", an address is taken off the rule. It also answers mail clients' one-click
// unsubscribe (RFC 8058), so it needs no session or form token: the link is the key.
func (h *Handlers) Unsubscribe(c echo.Context) error {
	v, status := h.unsubscription(c)
	if status != http.StatusOK {
		return Render(c, status, views.UnsubscribePage(v.UnsubscribeView))
	}
	ctx := c.Request().Context()
	if v.u.UserID != 0 {
		if err := h.Store.SetAlertMode(ctx, v.ws.ID, v.u.UserID, v.u.RuleID, model.AlertOff); err != nil {
			return err
		}
	} else {
		r, err := h.Store.AlertRule(ctx, v.ws.ID, v.u.RuleID)
		if err != nil {
			return err
		}
		var d alerts.Definition
		if err := json.Unmarshal(r.Definition, &d); err != nil {
			return err
		}
		d.Emails = slices.DeleteFunc(d.Emails, func(e string) bool { return e == v.u.Email })
		def, _ := json.Marshal(d)
		if _, err := h.Store.SaveAlertRule(ctx, v.ws.ID, r.ID, r.Name, r.Enabled, def, 0); err != nil {
			return err
		}
	}
	v.Done = true
	return Render(c, http.StatusOK, views.UnsubscribePage(v.UnsubscribeView))
}

type unsubscription struct {
	views.UnsubscribeView
	ws model.Workspace
	u  Unsubscription
}

func (h *Handlers) unsubscription(c echo.Context) (unsubscription, int) {
	ctx := c.Request().Context()
	v := unsubscription{UnsubscribeView: views.UnsubscribeView{Action: c.Request().URL.Path}}
	ws, err := h.Store.WorkspaceBySlug(ctx, c.Param("slug"))
	if err == nil {
		v.u, err = OpenUnsubscribeToken(h.Secrets, ws.ID, c.Param("token"))
	}
	var r model.AlertRule
	if err == nil {
		r, err = h.Store.AlertRule(ctx, ws.ID, v.u.RuleID)
	}
	if err != nil {
		v.Message = "This unsubscribe link is not valid, or its alert was deleted: nothing more comes from it."
		return v, http.StatusNotFound
	}
	v.ws, v.Rule, v.Workspace, v.Recipient = ws, r.Name, ws.Name, v.u.Email
	if v.u.UserID != 0 {
		if u, err := h.Store.UserByID(ctx, ws.ID, v.u.UserID); err == nil {
			v.Recipient = u.Email
		}
	}
	return v, http.StatusOK
}
