package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// partNames are the parts' names as the overview shows them.
var partNames = map[string]string{
	store.PartBrazeREST: "Braze REST API", store.PartCurrents: "Braze Currents", store.PartBrazeWriteback: "Braze write-back",
	store.PartWebsite: "Website tracker", store.PartSegment: "Segment", store.PartSalesforce: "Salesforce connection",
	store.PartSalesforcePush: "Salesforce push", store.PartSalesforcePull: "Salesforce pull", store.PartSlack: "Slack",
	store.PartEmail: "Email", store.PartWebhooks: "Webhooks",
}

// partEffects say what switching a part off does.
var partEffects = map[string]string{
	store.PartBrazeREST:      "Lookups of people in Braze wait in their queue.",
	store.PartCurrents:       "Currents batches are refused (401) and Braze keeps retrying them; nothing is stored.",
	store.PartBrazeWriteback: "Changes wait in the write-back outbox and go to Braze when it is on again.",
	store.PartWebsite:        "Hits from the tracker are refused and not stored; the snippet can stay on your pages.",
	store.PartSegment:        "Segment's calls are refused (401); nothing is stored.",
	store.PartSalesforce:     "Nothing is pushed to or pulled from Salesforce; changes wait in the outbox.",
	store.PartSalesforcePush: "Changes wait in the Salesforce outbox and are pushed when it is on again.",
	store.PartSalesforcePull: "Leads are not read back from Salesforce.",
	store.PartSlack:          "Alerts to Slack wait in the delivery queue.",
	store.PartEmail:          "Alert, digest and report emails wait in the delivery queue (invitations and password resets still go).",
	store.PartWebhooks:       "Alerts to webhooks wait in the delivery queue.",
}

// adminParts are the parts only admins switch (their pages are admins').
var adminParts = []string{store.PartSalesforce, store.PartSalesforcePush, store.PartSalesforcePull, store.PartEmail}

// ShowIntegrationsOverview is Integrations › Overview: every part with its light, why, what to
// do, and a switch.
func (h *Handlers) ShowIntegrationsOverview(c echo.Context) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	now := time.Now()
	p, err := h.Store.PipelineHealth(ctx, id.Workspace.ID, now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -13))
	if err != nil {
		return err
	}
	web, segment := sourceTotals(p)
	parts, err := h.integrationParts(c, web, segment, now)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.IntegrationsOverviewPage(h.chrome(c, "Integrations", "integrations"), views.OverviewView{Parts: parts}))
}

// sourceTotals are the website's and Segment's events of the health window.
func sourceTotals(p store.PipelineHealth) (web, segment int) {
	for _, d := range p.Days {
		switch d.Source {
		case "Website":
			web += int(d.Count)
		case "Segment":
			segment += int(d.Count)
		}
	}
	return web, segment
}

// SwitchIntegration turns a part off or on (POST /integrations/switch/:part, on=1 or 0).
func (h *Handlers) SwitchIntegration(c echo.Context) error {
	id := IdentityOf(c)
	part := c.Param("part")
	if _, ok := partNames[part]; !ok {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such integration part.")
	}
	if slices.Contains(adminParts, part) && !id.User.Role.Can(model.PermManageSettings) {
		return echo.NewHTTPError(http.StatusForbidden, "Only admins switch "+partNames[part]+".")
	}
	on := c.FormValue("on")
	if on != "1" && on != "0" {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Say whether to switch it on or off.")
	}
	ctx := c.Request().Context()
	if err := h.Store.SwitchPart(ctx, id.Workspace.ID, part, on == "1", id.User.Name); err != nil {
		return err
	}
	if part == store.PartWebsite && h.Tracker != nil {
		sites, err := h.Store.ListSites(ctx, id.Workspace.ID)
		if err != nil {
			return err
		}
		for _, s := range sites {
			h.Tracker.Collector.Forget(s.Key) // this server refuses hits at once; others within the cache's 10 s
		}
	}
	if on == "1" {
		if q := store.PartQueue(part); q != "" {
			h.Pipeline.WakeQueue(q) // the work that waited was made due
		}
		h.flash(c, "success", partNames[part]+" is on again.")
	} else {
		h.flash(c, "success", partNames[part]+" is switched off. "+partEffects[part]+" Its settings and history are kept.")
	}
	return redirect(c, "/integrations#part-"+part)
}

// integrationParts gives every part its light (green, red, grey) with the reason, and its
// switch; web and segment are the events of the last 14 days.
func (h *Handlers) integrationParts(c echo.Context, web, segment int, now time.Time) ([]views.IntegrationStatus, error) {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	ws := id.Workspace.ID
	lights, err := h.integrationLights(c, web, segment, now)
	if err != nil {
		return nil, err
	}
	more, err := h.outboundLights(c, now)
	if err != nil {
		return nil, err
	}
	lights = append(lights, more...)
	off, err := h.Store.SwitchedOff(ctx, ws)
	if err != nil {
		return nil, err
	}
	loc := userLocation(c)
	var out []views.IntegrationStatus
	for _, part := range store.Parts {
		i := slices.IndexFunc(lights, func(l views.IntegrationStatus) bool { return l.Part == part })
		if i < 0 {
			continue
		}
		l := lights[i]
		l.Name, l.Effect = partNames[part], partEffects[part]
		l.CanSwitch = id.User.Role.Can(model.PermManageSettings) || !slices.Contains(adminParts, part)
		if o, isOff := off[part]; isOff {
			l.Off, l.State = true, "off"
			l.Reason = "Switched off " + views.FormatTimeIn(&o.Since, loc) + byWhom(o.By) + ". " + partEffects[part]
			if l.Waiting, err = h.Store.WaitingFor(ctx, ws, part); err != nil {
				return nil, err
			}
		}
		out = append(out, l)
	}
	return out, nil
}

func byWhom(name string) string {
	if name == "" {
		return ""
	}
	return " by " + name
}

// outboundLights are the lights of the parts that send: Braze write-back, the Salesforce push
// and pull, Slack and webhooks.
func (h *Handlers) outboundLights(c echo.Context, now time.Time) ([]views.IntegrationStatus, error) {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	wb, err := h.Store.BrazeWritebackSettings(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := []views.IntegrationStatus{writebackLight(wb, now)}
	sf, err := h.salesforceLights(c)
	if err != nil {
		return nil, err
	}
	out = append(out, sf...)
	channels, err := h.Store.ListAlertChannels(ctx, ws)
	if err != nil {
		return nil, err
	}
	out = append(out, channelLight(store.PartSlack, model.ChannelSlack, "Slack channel", channels),
		channelLight(store.PartWebhooks, model.ChannelWebhook, "webhook", channels))
	return out, nil
}

// writebackLight: not set up is grey; an error in the last day is red.
func writebackLight(wb store.BrazeWriteback, now time.Time) views.IntegrationStatus {
	s := views.IntegrationStatus{Part: store.PartBrazeWriteback, URL: "/integrations/braze#writeback"}
	switch {
	case !wb.Enabled:
		s.State, s.Reason = "off", "Not set up: choose the scores and labels to write to Braze attributes."
	case wb.LastErrorAt != nil && now.Sub(*wb.LastErrorAt) < 24*time.Hour && (wb.LastSentAt == nil || wb.LastErrorAt.After(*wb.LastSentAt)):
		s.State, s.Reason = "bad", "Braze refused the last write "+ago(*wb.LastErrorAt)+": "+wb.LastError
	case wb.LastSentAt != nil:
		s.State, s.Reason = "ok", "Last write "+ago(*wb.LastSentAt)+"; "+views.Count(int(wb.SentLeads))+" leads written in all."
	default:
		s.State, s.Reason = "ok", "On: nothing to write yet."
	}
	return s
}

// salesforceLights are the push's and the pull's lights: grey while not connected or not set
// up, red while Salesforce pauses the sync or the last push had failures.
func (h *Handlers) salesforceLights(c echo.Context) ([]views.IntegrationStatus, error) {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	push := views.IntegrationStatus{Part: store.PartSalesforcePush, URL: "/integrations/salesforce/sync"}
	pull := views.IntegrationStatus{Part: store.PartSalesforcePull, URL: "/integrations/salesforce/sync#pull"}
	conn, err := h.Store.SalesforceConnection(ctx, ws)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !conn.Connected()) {
		push.State, push.Reason = "off", "Salesforce is not connected."
		pull.State, pull.Reason = "off", "Salesforce is not connected."
		return []views.IntegrationStatus{push, pull}, nil
	}
	if err != nil {
		return nil, err
	}
	settings, err := h.Store.SyncSettings(ctx, ws)
	if err != nil {
		return nil, err
	}
	_, waiting, err := h.Store.SyncProgress(ctx, ws)
	if err != nil {
		return nil, err
	}
	failed, err := h.Store.ListSyncRuns(ctx, ws, true, 1, 0)
	if err != nil {
		return nil, err
	}
	switch {
	case conn.ProblemCode != "":
		push.State, push.Reason = "bad", strings.TrimSpace(conn.ProblemCause+" "+conn.ProblemFix)
	case len(failed) > 0 && time.Since(failed[0].StartedAt) < 24*time.Hour:
		push.State, push.Reason = "bad", "Salesforce refused records in the push "+ago(failed[0].StartedAt)+": see the sync log."
	default:
		push.State, push.Reason = "ok", views.Count(waiting)+" changes waiting in the outbox."
	}
	switch {
	case !settings.PullEnabled:
		pull.State, pull.Reason = "off", "Not set up: read Leads or Contacts back from Salesforce."
	case settings.LastPullAt == nil:
		pull.State, pull.Reason = "ok", "On: the first pull is due."
	default:
		pull.State, pull.Reason = "ok", "Last pull "+ago(*settings.LastPullAt)+"."
	}
	return []views.IntegrationStatus{push, pull}, nil
}

// channelLight: no channel of the kind is grey; a channel disabled after failures is red.
func channelLight(part, kind, noun string, channels []model.AlertChannel) views.IntegrationStatus {
	s := views.IntegrationStatus{Part: part, URL: "/alerts#channels"}
	n := 0
	for _, ch := range channels {
		if ch.Kind != kind {
			continue
		}
		n++
		if ch.DisabledAt != nil && s.State != "bad" {
			s.State, s.Reason = "bad", "“"+ch.Name+"” was turned off: "+ch.DisabledReason+" Check it under Alerts and turn it on again."
		}
	}
	switch {
	case n == 0:
		s.State, s.Reason = "off", "No "+noun+" yet: add one under Alerts to send alerts there."
	case s.State == "":
		s.State, s.Reason = "ok", views.Count(n)+" "+noun+"(s) ready for alerts."
	}
	return s
}
