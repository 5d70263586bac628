package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// ShowDashboard is the home page: the distributions, new hot leads, movers and accounts
// heating up — of the sales user's own leads when Salesforce assigns them some — and for
// admins and marketers the pipeline's health.
func (h *Handlers) ShowDashboard(c echo.Context) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	scope := store.DashboardScope{WorkspaceID: id.Workspace.ID}
	dash := views.DashboardView{Scope: "All leads", CanConnect: id.User.Role.Can(model.PermManageMarketing)}
	if v := id.Viewer(); v.OwnOnly {
		scope.OwnerEmail, scope.PoolsOf = v.Email, v.UserID
		dash.Scope, dash.ScopeNote = "Your leads", "Leads you own and your pools' unassigned leads: this workspace shows sales users only their own leads."
	} else if id.User.Role == model.RoleSales {
		owns, err := h.Store.OwnsLeads(ctx, id.Workspace.ID, id.User.Email)
		if err != nil {
			return err
		}
		if owns {
			scope.OwnerEmail = strings.ToLower(id.User.Email)
			dash.Scope, dash.ScopeNote = "Your leads", "Leads whose Salesforce owner is you."
		} else {
			dash.ScopeNote = "No lead is assigned to you in Salesforce yet, so this is the whole workspace."
		}
	}
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	d, err := h.Store.Dashboard(ctx, scope, rs.MainScoreID, now)
	if err != nil {
		return err
	}
	dashboardFigures(&dash, d, userLocation(c))
	if dash.CanConnect {
		dash.ShowPipeline = true
		if err := h.pipelineHealth(c, &dash, now); err != nil {
			return err
		}
	}
	return Render(c, http.StatusOK, views.DashboardPage(h.chrome(c, "Home", "home"), dash))
}

// temperatureClasses and gradeClasses colour the bars.
var (
	temperatureNames = map[string]string{"hot": "Hot", "warm": "Warm", "neutral": "Neutral", "cold": "Cold", "": "Not scored"}
	gradeNames       = map[string]string{"": "No grade"}
)

// dashboardFigures turns the store's figures into the page's charts and rows.
func dashboardFigures(v *views.DashboardView, d store.Dashboard, loc *time.Location) {
	v.Leads, v.NewHotCount = d.Leads, d.NewHotCount
	var labels, classes []string
	var counts []int
	for _, b := range d.Temperatures {
		labels, classes, counts = append(labels, temperatureNames[b.Key]), append(classes, "t-"+orNone(b.Key)), append(counts, b.Count)
	}
	v.Temperatures = views.HBars(labels, classes, counts)
	labels, classes, counts = nil, nil, nil
	for _, b := range d.Grades {
		name := gradeNames[b.Key]
		if name == "" {
			name = "Grade " + b.Key
		}
		labels, classes, counts = append(labels, name), append(classes, "g-"+orNone(strings.ToLower(b.Key))), append(counts, b.Count)
	}
	v.Grades = views.HBars(labels, classes, counts)
	labels, counts = nil, nil
	for _, b := range d.Scores {
		label := b.Key + "–" + bandEnd(b.Key)
		labels, counts = append(labels, b.Key), append(counts, b.Count)
		v.ScoreTable = append(v.ScoreTable, views.Pair{Label: label, Value: views.Count(b.Count)})
	}
	v.Scores = views.Columns(labels, [][]int{counts}, []string{"score"}, 600, 140)
	for i := range v.Scores {
		v.Scores[i].Title = v.ScoreTable[i].Label + ": " + views.Count(counts[i]) + " leads"
	}
	for _, l := range d.NewHot {
		r := dashLead(l)
		r.When = views.FormatTimeIn(l.Since, loc)
		v.NewHot = append(v.NewHot, r)
	}
	for _, l := range d.Movers {
		r := dashLead(l)
		r.Change, r.Up = signed(l.Change), l.Change > 0
		v.Movers = append(v.Movers, r)
	}
	for _, a := range d.Accounts {
		name := a.Name
		if name == "" {
			name = a.Domain
		}
		v.Accounts = append(v.Accounts, views.DashAccountRow{ID: a.ID, Name: name, Domain: a.Domain,
			Score: strconv.FormatFloat(a.MainScore, 'f', -1, 64), Temperature: a.Temperature, Active: a.Active})
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// bandEnd names a score band's upper end.
func bandEnd(key string) string {
	switch key {
	case "<0":
		return "below 0"
	case "100":
		return "and more"
	}
	n, _ := strconv.Atoi(key)
	return strconv.Itoa(n + 9)
}

func dashLead(l store.DashLead) views.DashLeadRow {
	name := strings.TrimSpace(l.FirstName + " " + l.LastName)
	if name == "" {
		name = l.Email
	}
	return views.DashLeadRow{ID: l.ID, Name: name, Company: l.Company, Score: strconv.FormatFloat(l.MainScore, 'f', -1, 64),
		Grade: l.Grade, Temperature: l.Temperature}
}

// pipelineHealth fills the events chart, the processing lag and the integration lights.
func (h *Handlers) pipelineHealth(c echo.Context, v *views.DashboardView, now time.Time) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	today := now.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -13)
	p, err := h.Store.PipelineHealth(ctx, ws, from)
	if err != nil {
		return err
	}
	sources := []string{"Braze", "Website", "Segment"}
	series := map[string][]int{"Braze": make([]int, 14), "Website": make([]int, 14), "Segment": make([]int, 14)}
	var total int64
	for _, d := range p.Days {
		i := int(d.Day.Sub(from).Hours() / 24)
		if i < 0 || i >= 14 || series[d.Source] == nil {
			continue
		}
		total += d.Count
		series[d.Source][i] += int(d.Count)
	}
	if total > 0 {
		labels := make([]string, 14)
		for i := range labels {
			labels[i] = from.AddDate(0, 0, i).Format("Jan 2")
		}
		v.Events = views.Columns(labels, [][]int{series["Braze"], series["Website"], series["Segment"]}, []string{"braze", "web", "segment"}, 600, 140)
		for i := range v.Events {
			var parts []string
			sum := 0
			for _, src := range sources {
				if n := series[src][i]; n > 0 {
					parts = append(parts, views.Count(n)+" from "+src)
					sum += n
				}
			}
			v.Events[i].Title = labels[i] + ": " + strings.Join(parts, ", ")
			if len(parts) == 0 {
				v.Events[i].Title = labels[i] + ": nothing"
			}
			v.EventTable = append(v.EventTable, views.Pair{Label: labels[i], Value: views.Count(sum)})
		}
	}
	web, segmentTotal := sourceTotals(p)
	v.EventsTotal = views.Count(int(total))
	v.Pending, v.Unscored = p.Pending, p.Unscored
	v.Lag, v.LagBad = lagText(p, now)
	v.Integrations, err = h.integrationLights(c, web, segmentTotal, now)
	return err
}

// lagText says how far behind processing and scoring are; bad past five minutes.
func lagText(p store.PipelineHealth, now time.Time) (string, bool) {
	oldest := p.OldestPending
	if p.OldestUnscored != nil && (oldest == nil || p.OldestUnscored.Before(*oldest)) {
		oldest = p.OldestUnscored
	}
	if oldest == nil {
		return "Caught up: every event received is processed and scored.", false
	}
	lag := now.Sub(*oldest)
	text := views.Count(p.Pending) + " events waiting to be processed and " + views.Count(p.Unscored) + " activities to be scored; the oldest arrived " + ago(*oldest) + "."
	return text, lag > 5*time.Minute
}

// integrationLights gives each integration a green, red or grey light with its reason.
func (h *Handlers) integrationLights(c echo.Context, webTotal, segmentEvents int, now time.Time) ([]views.IntegrationStatus, error) {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	var out []views.IntegrationStatus
	conn, err := h.Store.BrazeConnection(ctx, ws)
	switch {
	case errors.Is(err, store.ErrNotFound):
		out = append(out, views.IntegrationStatus{Part: store.PartBrazeREST, Name: "Braze REST API", State: "off", Reason: "Not connected: add the REST API key to look people up.", URL: "/integrations/braze"})
	case err != nil:
		return nil, err
	default:
		health := brazeHealth(conn, now, userLocation(c))
		state := "ok"
		if health.State == "failing" || health.State == "paused" {
			state = "bad"
		}
		out = append(out, views.IntegrationStatus{Part: store.PartBrazeREST, Name: "Braze REST API", State: state, Reason: strings.TrimSpace(health.Label + " " + health.When + " " + health.Problem), URL: "/integrations/braze"})
	}
	tokens, err := h.Store.ListAPITokens(ctx, ws, model.TokenKindCurrents)
	if err != nil {
		return nil, err
	}
	status, err := h.Store.IngestStatus(ctx, ws, now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	out = append(out, currentsLight(tokens, status.LastBatchAt, now))
	sites, err := h.Store.ListSites(ctx, ws)
	if err != nil {
		return nil, err
	}
	switch {
	case len(sites) == 0:
		out = append(out, views.IntegrationStatus{Part: store.PartWebsite, Name: "Website tracker", State: "off", Reason: "No site yet: add your site and paste the snippet.", URL: "/integrations/website"})
	case webTotal == 0:
		out = append(out, views.IntegrationStatus{Part: store.PartWebsite, Name: "Website tracker", State: "bad", Reason: "No visit received in 14 days: check the snippet is on your pages.", URL: "/integrations/website"})
	default:
		out = append(out, views.IntegrationStatus{Part: store.PartWebsite, Name: "Website tracker", State: "ok", Reason: views.Count(webTotal) + " hits in 14 days on " + views.Count(len(sites)) + " site(s).", URL: "/integrations/website"})
	}
	segTokens, err := h.Store.ListAPITokens(ctx, ws, model.TokenKindSegment)
	if err != nil {
		return nil, err
	}
	out = append(out, segmentLight(segTokens, segmentEvents))
	sf, err := h.Store.SalesforceConnection(ctx, ws)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !sf.Connected()):
		out = append(out, views.IntegrationStatus{Part: store.PartSalesforce, Name: "Salesforce", State: "off", Reason: "Not connected.", URL: "/integrations/salesforce"})
	case err != nil:
		return nil, err
	case sf.ProblemCode != "":
		out = append(out, views.IntegrationStatus{Part: store.PartSalesforce, Name: "Salesforce", State: "bad", Reason: strings.TrimSpace(sf.ProblemCause + " " + sf.ProblemFix), URL: "/integrations/salesforce"})
	default:
		out = append(out, views.IntegrationStatus{Part: store.PartSalesforce, Name: "Salesforce", State: "ok", Reason: "Connected as " + sf.Username + ".", URL: "/integrations/salesforce"})
	}
	if h.Notify != nil && h.Notify.EmailEnabled() {
		out = append(out, views.IntegrationStatus{Part: store.PartEmail, Name: "Email", State: "ok", Reason: "An SMTP server is set: alerts, digests and invitations are mailed.", URL: "/settings/email"})
	} else {
		out = append(out, views.IntegrationStatus{Part: store.PartEmail, Name: "Email", State: "off", Reason: "No SMTP server (PEREGRINE_SMTP_URL): nothing is mailed.", URL: "/settings/email"})
	}
	return out, nil
}

// currentsLight: no token is grey; a token without a batch in a day is red.
func currentsLight(tokens []model.APIToken, last *time.Time, now time.Time) views.IntegrationStatus {
	active := 0
	for _, t := range tokens {
		if t.RevokedAt == nil {
			active++
		}
	}
	s := views.IntegrationStatus{Part: store.PartCurrents, Name: "Braze Currents", URL: "/integrations/braze"}
	switch {
	case active == 0:
		s.State, s.Reason = "off", "No Currents token: create one and add Peregrine as a Currents connector in Braze."
	case last == nil:
		s.State, s.Reason = "bad", "A token exists but no batch arrived yet: check the Currents connector in Braze."
	case now.Sub(*last) > 24*time.Hour:
		s.State, s.Reason = "bad", "The last batch arrived "+ago(*last)+": check the Currents connector in Braze."
	default:
		s.State, s.Reason = "ok", "The last batch arrived "+ago(*last)+"."
	}
	return s
}

// segmentLight: no token is grey; a token without messages in 14 days is red.
func segmentLight(tokens []model.APIToken, received int) views.IntegrationStatus {
	s := views.IntegrationStatus{Part: store.PartSegment, Name: "Segment", URL: "/integrations/segment"}
	active := 0
	for _, t := range tokens {
		if t.RevokedAt == nil {
			active++
		}
	}
	switch {
	case active == 0:
		s.State, s.Reason = "off", "Not connected: generate a token and add Peregrine as a webhook destination in Segment."
	case received == 0:
		s.State, s.Reason = "bad", "A token exists but no message arrived in 14 days: check the destination in Segment."
	default:
		s.State, s.Reason = "ok", views.Count(received)+" messages in 14 days."
	}
	return s
}
