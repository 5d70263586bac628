package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

const keyNewToken = "new_token"

// ShowBrazePage shows Integrations › Braze.
func (h *Handlers) ShowBrazePage(c echo.Context) error {
	v := views.BrazeView{NewToken: h.takeValue(c, keyNewToken)}
	return h.renderBraze(c, http.StatusOK, v)
}

func (h *Handlers) renderBraze(c echo.Context, status int, v views.BrazeView) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	conn, err := h.Store.BrazeConnection(ctx, id.Workspace.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if v.Instance == "" {
			v.Instance = "US-01"
		}
	case err != nil:
		return err
	default:
		v.Connected = true
		v.KeyMasked = "••••••" + conn.APIKeyHint
		if v.Instance == "" {
			v.Instance = braze.InstanceOf(conn.RESTEndpoint)
			if v.Instance == "" {
				v.Instance, v.OtherURL = "other", conn.RESTEndpoint
			}
		}
		if conn.LastTestAt != nil {
			v.TestOK, v.TestMessage, v.TestAt = conn.LastTestOK, conn.LastTestMessage, ago(*conn.LastTestAt)
		}
		v.Health = brazeHealth(conn, time.Now(), userLocation(c))
	}
	for _, in := range braze.Instances {
		v.Instances = append(v.Instances, views.InstanceOption{Name: in.Name, Endpoint: in.Endpoint})
	}
	if v.Tokens, err = h.tokenRows(ctx, id.Workspace.ID, model.TokenKindCurrents); err != nil {
		return err
	}
	v.EndpointURL = h.workspaceURL(id.Workspace) + "/api/braze/currents/events"
	if v.SetAside, err = h.setAsideRows(ctx, id.Workspace.ID); err != nil {
		return err
	}
	if v.Status, err = h.statusView(ctx, id.Workspace.ID); err != nil {
		return err
	}
	if v.Writeback.Values == nil {
		if v.Writeback, err = h.writebackView(c, nil, nil, nil); err != nil {
			return err
		}
	}
	return Render(c, status, views.BrazePage(h.chrome(c, "Braze", "integrations"), v))
}

// brazeHealth says how talking to Braze last went: a pause, else the latest of the last test
// and the last lookup.
func brazeHealth(conn model.BrazeConnection, now time.Time, loc *time.Location) views.BrazeHealth {
	if conn.LookupsPausedUntil != nil && conn.LookupsPausedUntil.After(now) {
		return views.BrazeHealth{State: "paused", Label: "Lookups paused", Problem: conn.LookupError,
			When:   "until " + views.FormatTimeIn(conn.LookupsPausedUntil, loc),
			Advice: "Check the REST API key (it needs users.export.ids) and the endpoint, then press Save and test: that resumes lookups."}
	}
	at, ok, msg := conn.LastTestAt, conn.LastTestOK, conn.LastTestMessage
	if conn.LastLookupAt != nil && (at == nil || conn.LastLookupAt.After(*at)) {
		at, ok, msg = conn.LastLookupAt, conn.LastLookupOK, conn.LastLookupMessage
	}
	switch {
	case at == nil || ok == nil:
		return views.BrazeHealth{State: "untested", Label: "REST API saved, not used yet"}
	case *ok:
		return views.BrazeHealth{State: "ok", Label: "REST API working", When: ago(*at)}
	}
	return views.BrazeHealth{State: "failing", Label: "REST API failing", Problem: msg, When: ago(*at),
		Advice: "Peregrine keeps retrying the lookups with backoff and loses nothing. If it lasts, check Braze's status page, the endpoint and this server's network, then press Test connection."}
}

// SaveBraze stores the REST key (encrypted) and endpoint, then tests them.
func (h *Handlers) SaveBraze(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	key := strings.TrimSpace(c.FormValue("api_key"))
	instance, otherURL := c.FormValue("instance"), c.FormValue("other_url")
	errs := views.FormErrors{}

	endpoint := ""
	if instance == "other" {
		var msg string
		if endpoint, msg = braze.CheckEndpoint(otherURL, h.Outbound); msg != "" {
			errs["other_url"] = msg
		}
	} else if in, ok := braze.InstanceByName(instance); ok {
		endpoint = in.Endpoint
	} else {
		errs["instance"] = "Choose your Braze instance, or Other to paste the REST endpoint."
	}
	existing, err := h.Store.BrazeConnection(ctx, id.Workspace.ID)
	hasKey := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch {
	case key == "" && !hasKey:
		errs["api_key"] = "Paste the REST API key from Braze (Settings › API Keys)."
	case len(key) > 200 || strings.ContainsAny(key, " \t\r\n"):
		errs["api_key"] = "That does not look like a Braze API key: it has spaces or is too long."
	}
	if len(errs) > 0 {
		return h.renderBraze(c, http.StatusUnprocessableEntity, views.BrazeView{Instance: instance, OtherURL: otherURL, Errors: errs})
	}
	conn := model.BrazeConnection{WorkspaceID: id.Workspace.ID, RESTEndpoint: endpoint,
		APIKeyEncrypted: existing.APIKeyEncrypted, APIKeyHint: existing.APIKeyHint}
	if key != "" {
		if conn.APIKeyEncrypted, err = h.Secrets.Seal([]byte(key), ingest.BrazeKeyContext(id.Workspace.ID)); err != nil {
			return err
		}
		conn.APIKeyHint = key[max(0, len(key)-4):]
	}
	if err := h.Store.SaveBrazeConnection(ctx, conn); err != nil {
		return err
	}
	ok, msg := h.testBraze(ctx, id.Workspace.ID)
	h.flashTest(c, ok, "Saved. "+msg)
	if h.Pipeline != nil {
		if err := h.Pipeline.BrazeKeyChanged(ctx, id.Workspace.ID); err != nil {
			return err
		}
	}
	return redirect(c, "/integrations/braze")
}

// TestBraze runs "Test connection" with the stored key.
func (h *Handlers) TestBraze(c echo.Context) error {
	ok, msg := h.testBraze(c.Request().Context(), IdentityOf(c).Workspace.ID)
	h.flashTest(c, ok, msg)
	return redirect(c, "/integrations/braze")
}

func (h *Handlers) flashTest(c echo.Context, ok bool, msg string) {
	kind := "success"
	if !ok {
		kind = "error"
	}
	h.flash(c, kind, msg)
}

func (h *Handlers) testBraze(ctx context.Context, workspaceID int64) (bool, string) {
	conn, err := h.Store.BrazeConnection(ctx, workspaceID)
	if err != nil {
		return false, "Save a REST API key first."
	}
	key, err := h.Secrets.Open(conn.APIKeyEncrypted, ingest.BrazeKeyContext(workspaceID))
	if err != nil {
		return false, "The stored key cannot be decrypted; paste it again."
	}
	ok, msg := h.Pipeline.NewBrazeClient(conn.RESTEndpoint, string(key)).TestConnection(ctx)
	if err := h.Store.RecordBrazeTest(ctx, workspaceID, ok, msg); err != nil {
		h.Log.Error("recording Braze test", "err", err)
	}
	return ok, msg
}

// CreateCurrentsToken generates a bearer token and shows it once.
func (h *Handlers) CreateCurrentsToken(c echo.Context) error {
	id := IdentityOf(c)
	label := c.FormValue("label")
	token, _, err := ingest.CreateToken(c.Request().Context(), h.Store, id.Workspace.ID, model.TokenKindCurrents, label, &id.User.ID)
	if err != nil {
		if strings.HasPrefix(err.Error(), "give the token a label") {
			return h.renderBraze(c, http.StatusUnprocessableEntity, views.BrazeView{TokenLabel: label, Errors: views.FormErrors{"label": capitalize(err.Error()) + "."}})
		}
		return err
	}
	h.putValue(c, keyNewToken, token)
	h.flash(c, "success", "Token “"+strings.TrimSpace(label)+"” generated. Paste it into the Current in Braze.")
	return redirect(c, "/integrations/braze")
}

// RevokeCurrentsToken stops a token from working at once.
func (h *Handlers) RevokeCurrentsToken(c echo.Context) error {
	return h.revokeMachineToken(c, model.TokenKindCurrents, "/integrations/braze", "Token revoked: Braze requests with it now get 401.")
}

// revokeMachineToken revokes a token of a kind (another kind's id is not found), says so and
// goes back to its page.
func (h *Handlers) revokeMachineToken(c echo.Context, kind, back, done string) error {
	tokenID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	tokens, err := h.Store.ListAPITokens(ctx, ws, kind)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(tokens, func(t model.APIToken) bool { return t.ID == tokenID }) {
		return echo.NewHTTPError(http.StatusNotFound, "That token does not exist.")
	}
	if err := h.Store.RevokeAPIToken(ctx, ws, tokenID); errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "That token is already revoked.")
	} else if err != nil {
		return err
	}
	h.flash(c, "success", done)
	return redirect(c, back)
}

// ShowBrazeStatus renders the status panel alone, for its periodic refresh.
func (h *Handlers) ShowBrazeStatus(c echo.Context) error {
	v, err := h.statusView(c.Request().Context(), IdentityOf(c).Workspace.ID)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.BrazeStatus(v))
}

func (h *Handlers) statusView(ctx context.Context, workspaceID int64) (views.StatusView, error) {
	now := time.Now()
	r, err := ingest.Status(ctx, h.Store, workspaceID, now)
	if err != nil {
		return views.StatusView{}, err
	}
	v := views.StatusView{Warnings: r.Warnings, UnusedTypes: r.UnusedTypes, UpdatedAt: now.UTC().Format("15:04:05 UTC")}
	if r.LastBatchAt == nil {
		v.LastBatch = "No batch received yet. Launch the Current in Braze; the first batch shows up here within minutes."
	} else {
		v.LastBatch = fmt.Sprintf("Last batch %s, with %s.", ago(*r.LastBatchAt), plural(r.LastBatchEvents, "event"))
	}
	tone := func(n int64, bad string) string {
		if n > 0 {
			return bad
		}
		return ""
	}
	// Processing (stored → activity) and identity (who is this?) are separate waits: say which.
	lag, lagHint := "up to date", "Every stored event became an activity or waits for its person (below)."
	if r.Pending > 0 {
		lag, lagHint = r.Lag.Round(time.Second).String(), views.Count(r.Pending)+" stored events not processed yet."
	}
	waitingHint := "Events of people Peregrine cannot name yet: they wait for a Braze lookup to find their email, then count."
	if r.Waiting == 0 {
		waitingHint = ""
	}
	n64 := func(n int64) string { return views.Count(int(n)) }
	v.Figures = []views.Figure{
		{Label: "received (24 h)", Value: n64(r.Received), Tone: tone(r.Received, "good")},
		{Label: "became activities", Value: n64(r.Processed)},
		{Label: "duplicates ignored", Value: n64(r.Duplicates), Hint: "Braze delivers at least once; repeats of an event id are dropped."},
		{Label: "waiting for identity", Value: views.Count(r.Waiting), Tone: tone(int64(r.Waiting), "warn"), Hint: waitingHint},
		{Label: "processing lag", Value: lag, Hint: lagHint},
		{Label: "rejected: auth", Value: n64(r.RejectedAuth), Tone: tone(r.RejectedAuth, "bad"), Hint: "Requests with an unknown or revoked token."},
		{Label: "rejected: malformed", Value: n64(r.RejectedRequests + r.RejectedEvents), Tone: tone(r.RejectedRequests+r.RejectedEvents, "bad"), Hint: "Bodies that were not a Currents batch, and single events that could not be read."},
		{Label: "Braze lookup errors", Value: n64(r.LookupErrors), Tone: tone(r.LookupErrors, "bad"), Hint: "Failed calls to Braze in 24 hours; the lookups are retried."},
	}
	var top int64 = 1
	for _, t := range r.PerType {
		top = max(top, t.Count)
	}
	for _, t := range r.PerType {
		row := views.BarRow{Label: t.EventType, Value: t.Count, Percent: int(t.Count * 100 / top), Muted: !t.Used}
		if !t.Used {
			row.Note = "stored, not used for scoring"
		}
		v.Types = append(v.Types, row)
	}
	top = 1
	for _, n := range r.WaitingReasons {
		top = max(top, int64(n))
	}
	for reason, n := range r.WaitingReasons {
		v.Waiting = append(v.Waiting, views.BarRow{Label: capitalize(reason), Value: int64(n), Percent: int(int64(n) * 100 / top)})
	}
	if r.LookupsPending > 0 {
		v.Waiting = append(v.Waiting, views.BarRow{Label: "Braze lookups queued", Value: int64(r.LookupsPending), Percent: 100, Muted: true,
			Note: "people whose email Peregrine is asking Braze for; their events wait until the answer comes"})
	}
	if r.LookupsUnknown > 0 {
		v.Waiting = append(v.Waiting, views.BarRow{Label: "Braze users without an email yet (asked again later)", Value: int64(r.LookupsUnknown), Percent: 100, Muted: true})
	}
	return v, nil
}

// ago says how long ago a moment was, for people.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 7*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return t.UTC().Format("Jan 2, 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// writebackView fills the "Write scores back to Braze" section: every named score, labels,
// grade and temperature, with the attribute names chosen (pg_… by default).
func (h *Handlers) writebackView(c echo.Context, errs views.FormErrors, form map[string]string, on map[string]bool) (views.WritebackView, error) {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	settings, err := h.Store.BrazeWritebackSettings(ctx, ws)
	if err != nil {
		return views.WritebackView{}, err
	}
	names, err := h.Store.ListScoreNames(ctx, ws)
	if err != nil {
		return views.WritebackView{}, err
	}
	var chosen map[string]string
	_ = json.Unmarshal(settings.Attributes, &chosen)
	v := views.WritebackView{Enabled: settings.Enabled, SentLeads: settings.SentLeads, Requests: settings.Requests, LastError: settings.LastError, Errors: errs}
	loc := userLocation(c)
	if settings.LastSentAt != nil {
		v.LastSent = views.FormatTimeIn(settings.LastSentAt, loc)
	}
	if settings.LastErrorAt != nil {
		v.ErrorAt = views.FormatTimeIn(settings.LastErrorAt, loc)
	}
	add := func(key, label, def string) {
		attr, ok := chosen[key]
		if form != nil {
			attr, ok = form[key], on[key]
		} else if !ok {
			attr = def
		}
		v.Values = append(v.Values, views.WritebackValue{Key: key, Label: label, Attribute: attr, On: ok})
	}
	for _, n := range names {
		def := "pg_" + attributeName(n.Name)
		if n.IsMain {
			def = "pg_lead_score"
		}
		add("score:"+strconv.FormatInt(n.ID, 10), n.Name, def)
	}
	add(ingest.WritebackLabels, "Labels (as an array)", "pg_labels")
	add(ingest.WritebackGrade, "Fit grade", "pg_grade")
	add(ingest.WritebackTemperature, "Temperature", "pg_temperature")
	refused, err := h.Store.WritebackErrors(ctx, ws, 10)
	for _, r := range refused {
		v.Refused = append(v.Refused, views.Pair{Label: r.Email, Value: r.Error})
	}
	return v, err
}

// attributeName makes a custom attribute name from a score's name: lower case, underscores.
func attributeName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

var attributePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,99}$`)

// SaveWriteback saves which values go back to Braze and under which attributes.
func (h *Handlers) SaveWriteback(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	on, attrs, chosen := map[string]bool{}, map[string]string{}, map[string]string{}
	for _, key := range form["on"] {
		on[key] = true
	}
	errs := views.FormErrors{}
	seen := map[string]string{}
	for key, values := range form {
		if !strings.HasPrefix(key, "attr_") {
			continue
		}
		value := strings.TrimSpace(values[0])
		attrs[strings.TrimPrefix(key, "attr_")] = value
		if !on[strings.TrimPrefix(key, "attr_")] {
			continue
		}
		switch {
		case !attributePattern.MatchString(value):
			errs[key] = "Use letters, digits and _ (up to 100), e.g. pg_lead_score."
		case seen[value] != "":
			errs[key] = "Two values cannot share the attribute " + value + "."
		}
		seen[value] = key
		chosen[strings.TrimPrefix(key, "attr_")] = value
	}
	enabled := form.Get("enabled") == "1"
	if enabled && len(chosen) == 0 {
		errs["enabled"] = "Choose at least one value to write."
	}
	if len(errs) > 0 {
		v := views.BrazeView{}
		if v.Writeback, err = h.writebackView(c, errs, attrs, on); err != nil {
			return err
		}
		if msg := errs["enabled"]; msg != "" {
			v.Writeback.LastError = msg
		}
		return h.renderBraze(c, http.StatusUnprocessableEntity, v)
	}
	if err := h.Store.SaveBrazeWriteback(c.Request().Context(), IdentityOf(c).Workspace.ID, enabled, chosen); err != nil {
		return err
	}
	h.Pipeline.WritebackChanged()
	h.flash(c, "success", map[bool]string{true: "Scores will be written back to Braze as they change.", false: "Write-back is off."}[enabled])
	return redirect(c, "/integrations/braze#writeback")
}

// tokenRows lists the workspace's machine tokens of a kind for a page.
func (h *Handlers) tokenRows(ctx context.Context, ws int64, kind string) ([]views.TokenRow, error) {
	tokens, err := h.Store.ListAPITokens(ctx, ws, kind)
	if err != nil {
		return nil, err
	}
	var out []views.TokenRow
	for _, t := range tokens {
		row := views.TokenRow{ID: t.ID, Label: t.Label, Hint: t.Hint, Created: ago(t.CreatedAt), LastUsed: "never", Revoked: t.RevokedAt != nil}
		if t.LastUsedAt != nil {
			row.LastUsed = ago(*t.LastUsedAt)
		}
		out = append(out, row)
	}
	return out, nil
}
