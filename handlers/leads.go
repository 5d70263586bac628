package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/cards"
	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

const (
	leadsPerPage      = 50
	activitiesPerPage = 50
	maxSearchLength   = 200
)

func pageParam(c echo.Context) int {
	page, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || page < 1 {
		return 1
	}
	return min(page, maxPage)
}

// maxPage bounds page numbers so the offset stays far from overflowing (a page past the last
// shows the empty last page, not an error).
const maxPage = 1_000_000

// paging places page among total items shown perPage at a time; link makes a page's URL.
func paging(page, total, perPage int, link func(int) string) views.Paging {
	p := views.Paging{Page: page, Pages: (total + perPage - 1) / perPage}
	if page > 1 {
		p.PrevURL = link(page - 1)
	}
	if page < p.Pages {
		p.NextURL = link(page + 1)
	}
	return p
}

func leadName(l model.Lead) string {
	if name := strings.TrimSpace(l.FirstName + " " + l.LastName); name != "" {
		return name
	}
	return l.Email
}

// scoreBound reads a score filter; text that is not a number is left out (scoreProblems says
// why beside the field).
func scoreBound(raw string, keep url.Values, name string) *float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	keep.Set(name, strings.TrimSpace(raw))
	return &v
}

// scoreProblems explains score filters that were left out or cannot match.
func scoreProblems(c echo.Context, f store.LeadFilter) map[string]string {
	out := map[string]string{}
	for _, name := range []string{"min", "max"} {
		if raw := strings.TrimSpace(c.QueryParam(name)); raw != "" && scoreBound(raw, url.Values{}, name) == nil {
			out[name] = fmt.Sprintf("“%s” is not a number, so it was left out. Enter a score such as 40.", truncate(raw, 40))
		}
	}
	if f.MinScore != nil && f.MaxScore != nil && *f.MinScore > *f.MaxScore {
		out["max"] = "The highest score is below the lowest, so no lead can match."
	}
	return out
}

// filterSummary names the filters in force, as a person would say them.
func filterSummary(f store.LeadFilter, account string) []string {
	var out []string
	if f.Search != "" {
		out = append(out, "“"+f.Search+"”")
	}
	if len(f.Grades) > 0 {
		out = append(out, "grade "+strings.Join(f.Grades, " or "))
	}
	if len(f.Temperatures) > 0 {
		out = append(out, strings.Join(f.Temperatures, " or "))
	}
	for _, l := range f.Labels {
		out = append(out, "label “"+l+"”")
	}
	switch {
	case f.MinScore != nil && f.MaxScore != nil:
		out = append(out, fmt.Sprintf("score %s to %s", formatScore(*f.MinScore), formatScore(*f.MaxScore)))
	case f.MinScore != nil:
		out = append(out, "score at least "+formatScore(*f.MinScore))
	case f.MaxScore != nil:
		out = append(out, "score at most "+formatScore(*f.MaxScore))
	}
	if f.Owner != "" {
		out = append(out, "owner “"+f.Owner+"”")
	}
	if f.ActiveDays > 0 {
		out = append(out, fmt.Sprintf("active in the last %d days", f.ActiveDays))
	}
	if account != "" {
		out = append(out, "at "+account)
	}
	return out
}

// sortLinks are a list's column header links: the same filters, another order (the default
// order needs no sort parameter).
func sortLinks(path string, keep url.Values, defaultSort string, sorts ...string) map[string]string {
	out := map[string]string{}
	for _, sort := range append([]string{defaultSort}, sorts...) {
		q := cloneValues(keep)
		q.Del("sort")
		q.Del("page")
		if sort != defaultSort {
			q.Set("sort", sort)
		}
		out[sort] = path + "?" + q.Encode()
	}
	return out
}

// leadListQuery reads the lead list's filters and order from the query string. Unknown
// values are ignored rather than refused: these are links people share and bookmark.
func leadListQuery(c echo.Context) (store.LeadFilter, url.Values) {
	q := c.QueryParams()
	keep := url.Values{}
	f := store.LeadFilter{Sort: store.SortScore}
	if s := strings.TrimSpace(q.Get("q")); s != "" {
		f.Search = truncate(s, maxSearchLength)
		keep.Set("q", f.Search)
	}
	switch sort := q.Get("sort"); {
	case sort == store.SortGrade || sort == store.SortTemperature || sort == store.SortActivity:
		f.Sort = sort
		keep.Set("sort", sort)
	case strings.HasPrefix(sort, "score:"):
		if id, err := strconv.ParseInt(strings.TrimPrefix(sort, "score:"), 10, 64); err == nil {
			f.ScoreID = id
			keep.Set("sort", sort)
		}
	}
	for _, l := range q["label"] {
		if l = strings.TrimSpace(l); l != "" && len(f.Labels) < 10 {
			f.Labels = append(f.Labels, truncate(l, 60))
			keep.Add("label", l)
		}
	}
	for _, g := range q["grade"] {
		if len(g) == 1 && strings.Contains("ABCDEF", g) {
			f.Grades = append(f.Grades, g)
			keep.Add("grade", g)
		}
	}
	for _, t := range q["temp"] {
		if slices.Contains(temperatures, t) {
			f.Temperatures = append(f.Temperatures, t)
			keep.Add("temp", t)
		}
	}
	f.MinScore, f.MaxScore = scoreBound(q.Get("min"), keep, "min"), scoreBound(q.Get("max"), keep, "max")
	if id, err := strconv.ParseInt(q.Get("account"), 10, 64); err == nil && id > 0 {
		f.AccountID = id
		keep.Set("account", q.Get("account"))
	}
	if o := strings.TrimSpace(q.Get("owner")); o != "" {
		f.Owner = truncate(o, 200)
		keep.Set("owner", f.Owner)
	}
	if d, err := strconv.Atoi(q.Get("active")); err == nil && d > 0 && d <= 3650 {
		f.ActiveDays = d
		keep.Set("active", q.Get("active"))
	}
	return f, keep
}

var temperatures = []string{"hot", "warm", "neutral", "cold", "frozen"}

// ShowLeadsPage lists the workspace's leads by the main score, with sort and filters.
func (h *Handlers) ShowLeadsPage(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	page := pageParam(c)
	f, keep := leadListQuery(c)
	list, err := h.Store.LeadListPage(ctx, id.Viewer(), id.User.ID, f, c.QueryParam("snap"), (page-1)*leadsPerPage, leadsPerPage)
	if err != nil {
		return err
	}
	if last := max(1, (list.Total+leadsPerPage-1)/leadsPerPage); page > last {
		// Past the end (an old link, a list that shrank): the last page, never an empty one.
		page = last
		if list, err = h.Store.LeadListPage(ctx, id.Viewer(), id.User.ID, f, list.Token, (page-1)*leadsPerPage, leadsPerPage); err != nil {
			return err
		}
	}
	leads, total, capped := list.Leads, list.Total, list.Capped
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	v := views.LeadsView{Total: total, Capped: capped, Query: f.Search, Filtered: len(keep) > 0 && !(len(keep) == 1 && keep.Has("sort")),
		CanConnect: id.User.Role.Can(model.PermManageMarketing), CanInvite: id.User.Role.Can(model.PermManageSettings),
		Sort: keep.Get("sort"), Grades: f.Grades, Temps: f.Temperatures, Labels: f.Labels, Owner: f.Owner,
		Min: keep.Get("min"), Max: keep.Get("max"), Active: keep.Get("active"), TemperatureHelp: TemperatureHelp}
	if v.Sort == "" {
		v.Sort = store.SortScore
	}
	for _, sc := range rs.Scores {
		if !sc.IsMain {
			v.ScoreSorts = append(v.ScoreSorts, views.FilterOption{Value: fmt.Sprintf("score:%d", sc.ID), Label: "Score: " + sc.Name})
		} else {
			v.MainScore = sc.Name
		}
	}
	for _, l := range rs.Labels {
		v.AllLabels = append(v.AllLabels, labelChip(rs, l.Name))
	}
	if f.AccountID != 0 {
		if a, err := h.Store.AccountByID(ctx, id.Viewer(), f.AccountID); err == nil {
			v.Account, v.AccountID = a.Domain, a.ID
		}
	}
	v.SortLinks = sortLinks("/leads", keep, store.SortScore, store.SortGrade, store.SortTemperature, store.SortActivity)
	v.Problems, v.FilterSummary = scoreProblems(c, f), filterSummary(f, v.Account)
	v.WorkspaceSlug = id.Workspace.Slug
	card, err := publishedCard(ctx, h.Store, id.Workspace.ID, cards.Leads)
	if err != nil {
		return err
	}
	named, err := namedScoresFor(ctx, h.Store, id.Workspace.ID, card, leads)
	if err != nil {
		return err
	}
	v.Columns = cardColumns(cards.Leads, card)
	for _, l := range leads {
		row := leadRow(rs, l)
		row.Cells = personCells(rs, card, l, named[l.ID])
		v.Rows = append(v.Rows, row)
	}
	v.Paging = paging(page, total, leadsPerPage, func(p int) string {
		q := cloneValues(keep)
		q.Set("page", strconv.Itoa(p))
		if list.Token != "" {
			q.Set("snap", list.Token)
		}
		return "/leads?" + q.Encode()
	})
	v.CSVURL = "/leads.csv?" + keep.Encode()
	return Render(c, http.StatusOK, views.LeadsPage(h.chrome(c, "Leads", "leads"), v))
}

// TemperatureHelp explains temperature in the UI (docs/rules.md has the long form).
const TemperatureHelp = "Temperature ranks the leads active in the last 90 days by recent engagement: each activity counts 1 today, " +
	"½ a week ago, ¼ two weeks ago… By default the top 10 % are hot, the next 20 % warm, the next 30 % neutral and the rest cold " +
	"(Scoring › Rules sets the shares). No activity for 90 days: frozen. ↑ marks a lead whose activity is rising this week."

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func labelChip(rs *scoring.RuleSet, name string) views.LabelChip {
	chip := views.LabelChip{Name: name, Color: "#64748b"}
	if st, ok := rs.LabelStyle(name); ok {
		chip.Color, chip.Emoji = st.Color, st.Emoji
	}
	return chip
}

func leadRow(rs *scoring.RuleSet, l model.Lead) views.LeadRow {
	company := l.Company
	if company == "" && l.AccountDomain != nil {
		company = *l.AccountDomain
	}
	row := views.LeadRow{ID: l.ID, Name: leadName(l), Email: l.Email, Company: company, Title: l.Title,
		Activities: l.ActivityCount, LastActivity: views.FormatTime(l.LastActivityAt), Score: formatScore(l.MainScore),
		Grade: l.Grade, Temperature: l.Temperature, Owner: l.OwnerName, Rising: l.Rising && l.Temperature != rules.Frozen}
	if l.AccountID != nil {
		row.AccountID = *l.AccountID
	}
	if l.LastActivityAt != nil {
		row.LastActivity = ago(*l.LastActivityAt)
	}
	for _, name := range l.Labels {
		row.Labels = append(row.Labels, labelChip(rs, name))
	}
	return row
}

func formatScore(v float64) string {
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
}

// ExportLeadsCSV downloads the filtered lead list as CSV, in the list's order.
func (h *Handlers) ExportLeadsCSV(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	f, _ := leadListQuery(c)
	base := h.workspaceURL(id.Workspace)
	header := []string{"email", "first_name", "last_name", "company", "title", "account", "main_score", "grade", "temperature", "labels",
		"activities", "last_activity_at", "owner", "peregrine_url"}
	return streamCSV(c, "leads", header, func(offset, limit int) ([][]string, error) {
		f.Offset, f.Limit = offset, limit
		leads, _, err := h.Store.ListLeads(ctx, id.Viewer(), f)
		rows := make([][]string, 0, len(leads))
		for _, l := range leads {
			rows = append(rows, []string{l.Email, l.FirstName, l.LastName, l.Company, l.Title, deref(l.AccountDomain),
				formatScore(l.MainScore), l.Grade, l.Temperature, strings.Join(l.Labels, "; "), strconv.Itoa(l.ActivityCount),
				csvTime(l.LastActivityAt), l.OwnerName, fmt.Sprintf("%s/leads/%d", base, l.ID)})
		}
		return rows, err
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// csvTime writes a time as RFC 3339 in UTC, or nothing.
func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

var identityLabels = map[string]string{
	model.IdentityBrazeUser:  "Braze user id",
	model.IdentityExternalID: "External id",
	model.IdentityPhone:      "Phone",
}

// ShowLeadPage shows a lead's profile, scores and why, labels, grade, temperature and
// activity timeline.
func (h *Handlers) ShowLeadPage(c echo.Context) error { return h.showLead(c, http.StatusOK, nil) }

// showLead renders a lead page; adjust, when given, changes the view (a refused form).
func (h *Handlers) showLead(c echo.Context, status int, adjust func(*views.LeadView)) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	leadID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	}
	l, err := h.Store.LeadFor(ctx, id.Viewer(), leadID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	}
	if err != nil {
		return err
	}
	filter, source := c.QueryParam("type"), c.QueryParam("source")
	page := pageParam(c)
	acts, total, err := h.Store.ListActivities(ctx, id.Workspace.ID, leadID,
		store.ActivityFilter{EventType: filter, Source: source, Limit: activitiesPerPage, Offset: (page - 1) * activitiesPerPage})
	if err != nil {
		return err
	}
	types, err := h.Store.ActivityTypes(ctx, id.Workspace.ID, leadID)
	if err != nil {
		return err
	}
	idents, err := h.Store.LeadIdentities(ctx, id.Workspace.ID, leadID)
	if err != nil {
		return err
	}
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	loc := userLocation(c)
	v := views.LeadView{ID: l.ID, Name: leadName(l), Email: l.Email, Company: l.Company, Country: l.Country, TimeZone: l.TimeZone,
		Phone: l.Phone, FirstSeen: views.FormatTimeIn(l.FirstActivityAt, loc), LastSeen: views.FormatTimeIn(l.LastActivityAt, loc),
		Activities: l.ActivityCount, Filter: filter, Source: source, Total: total, Title: l.Title, Owner: l.OwnerName,
		Grade: l.Grade, FitPoints: formatScore(l.FitPoints), FitRuleIDs: l.FitRules, Temperature: l.Temperature, Rising: l.Rising,
		TemperatureHelp: TemperatureHelp}
	if v.Card, err = personCard(ctx, h.Store, id.Workspace.ID, rs, l); err != nil {
		return err
	}
	if l.AccountDomain != nil {
		v.Account = *l.AccountDomain
	}
	if l.AccountID != nil {
		v.AccountID = *l.AccountID
	}
	for _, name := range l.Labels {
		v.Labels = append(v.Labels, labelChip(rs, name))
	}
	if err := h.explainScores(c, rs, &v); err != nil {
		return err
	}
	if object, sfID, failure, err := h.Store.LeadSalesforceRecord(ctx, id.Workspace.ID, leadID); err == nil && (sfID != "" || failure != "") {
		if conn, err := h.Store.SalesforceConnection(ctx, id.Workspace.ID); err == nil && conn.InstanceURL != "" && sfID != "" {
			v.SalesforceURL = strings.TrimRight(conn.InstanceURL, "/") + "/" + sfID
		}
		v.SalesforceObject, v.SalesforceID, v.SalesforceFailure = object, sfID, failure
	}
	for _, i := range idents {
		v.Identities = append(v.Identities, views.Pair{Label: identityLabels[i.Kind], Value: i.Value})
	}
	v.Attributes = attributePairs(l.CustomAttributes)
	v.Filters = append(v.Filters, views.FilterOption{Value: "", Label: "All types"})
	sources := map[string]int64{}
	for _, t := range types {
		v.Filters = append(v.Filters, views.FilterOption{Value: t.EventType, Label: fmt.Sprintf("%s (%s)", events.TypeName(t.EventType), views.Count(int(t.Count))), Count: t.Count})
		sources[t.Metric] += t.Count
	}
	v.Sources = append(v.Sources, views.FilterOption{Value: "", Label: "All sources"})
	for _, src := range slices.Sorted(maps.Keys(sources)) {
		v.Sources = append(v.Sources, views.FilterOption{Value: src, Label: fmt.Sprintf("%s (%s)", src, views.Count(int(sources[src]))), Count: sources[src]})
	}
	v.Days = timeline(acts, loc)
	v.Paging = paging(page, total, activitiesPerPage, func(p int) string {
		q := url.Values{"page": {strconv.Itoa(p)}}
		if filter != "" {
			q.Set("type", filter)
		}
		if source != "" {
			q.Set("source", source)
		}
		return fmt.Sprintf("/leads/%d?%s", leadID, q.Encode())
	})
	if err := h.webIdentity(c, leadID, &v); err != nil {
		return err
	}
	if err := h.assignView(c, l, &v.Assign); err != nil {
		return err
	}
	if token := c.QueryParam("link"); token != "" {
		for _, l := range v.Links {
			if strings.HasSuffix(l.URL, "/l/"+token) {
				v.NewLink = l.URL
			}
		}
	}
	if adjust != nil {
		adjust(&v)
	}
	return Render(c, status, views.LeadPage(h.chrome(c, v.Name, "leads"), v))
}

// explainFit lists the workspace's grade rules — met ones first with the points they gave —
// and the grade scale, so a person sees why the lead has its grade.
func explainFit(rs *scoring.RuleSet, names map[int64]string, met []int64, points string) views.FitView {
	v := views.FitView{Points: points}
	var unmet []views.FitRule
	for _, g := range rs.Grades {
		r := views.FitRule{Name: names[g.ID], Points: fmt.Sprintf("%+d", int(math.Round(g.Points))), Met: slices.Contains(met, g.ID)}
		if r.Met {
			v.Rules = append(v.Rules, r)
		} else {
			unmet = append(unmet, r)
		}
	}
	v.Rules = append(v.Rules, unmet...)
	s := rs.Scale
	v.Thresholds = []views.GradeThreshold{{Grade: "A", Min: s.A}, {Grade: "B", Min: s.B}, {Grade: "C", Min: s.C}, {Grade: "D", Min: s.D}, {Grade: "E", Min: s.E}}
	return v
}

// explainScores fills each score with its trend over 30 days and the rules and activities
// behind it, and the latest ledger changes.
func (h *Handlers) explainScores(c echo.Context, rs *scoring.RuleSet, v *views.LeadView) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	values, err := h.Store.LeadScoreValues(ctx, ws, v.ID)
	if err != nil {
		return err
	}
	contribs, err := h.Store.LeadContributions(ctx, ws, v.ID)
	if err != nil {
		return err
	}
	names, err := h.Store.RuleNames(ctx, ws)
	if err != nil {
		return err
	}
	v.Fit = explainFit(rs, names, v.FitRuleIDs, v.FitPoints)
	now := time.Now()
	for _, sv := range values {
		card := views.ScoreCard{Name: sv.Name, Main: sv.IsMain}
		var mine []store.ContributionDetail
		for _, cd := range contribs {
			if cd.ScoreID == sv.ScoreID {
				mine = append(mine, cd)
			}
		}
		card.Trend = scoring.Trend(mine, rs, now, 30)
		card.Spark = sparkline(card.Trend, 160, 36)
		card.Value, card.Reasons = reasons(sv.Value, mine, rs, names, now)
		v.Scores = append(v.Scores, card)
	}
	ledger, err := h.Store.LeadLedger(ctx, ws, v.ID, 12)
	if err != nil {
		return err
	}
	for _, l := range ledger {
		ch := views.LedgerRow{When: ago(l.CreatedAt), Rule: names[l.RuleID], Version: l.RuleVersion}
		if l.Kind == "label" {
			ch.What = "label “" + l.Label + "” removed"
			if l.Delta > 0 {
				ch.What = "label “" + l.Label + "” given"
			}
		} else {
			score := ""
			if l.ScoreID != nil {
				score = rs.ScoreName(*l.ScoreID)
			}
			// The rule's points, and where the score stood after them, in whole points.
			ch.What = fmt.Sprintf("%+d %s, now %s", int(math.Round(l.Delta)), score, formatScore(l.After))
			if l.Activities > 1 {
				ch.What = fmt.Sprintf("%+d %s for %d activities, now %s", int(math.Round(l.Delta)), score, l.Activities, formatScore(l.After))
			}
			ch.Up = l.Delta > 0
		}
		v.Ledger = append(v.Ledger, ch)
	}
	return nil
}

// reasons groups a score's contributions by rule, biggest first, in whole points that add up
// to the score shown (returned with them).
func reasons(total float64, contribs []store.ContributionDetail, rs *scoring.RuleSet, names map[int64]string, now time.Time) (string, []views.Reason) {
	byRule := map[int64]*views.Reason{}
	var order []int64
	points := map[int64]float64{}
	for _, cd := range contribs {
		r := byRule[cd.RuleID]
		if r == nil {
			r = &views.Reason{Rule: names[cd.RuleID], RuleID: cd.RuleID}
			byRule[cd.RuleID] = r
			order = append(order, cd.RuleID)
		}
		points[cd.RuleID] += scoring.ValueNow(cd.Contribution, rs, now)
		r.Events++
		if len(r.Examples) < 3 && cd.ActivityName != nil {
			r.Examples = append(r.Examples, views.Pair{Label: ago(cd.EarnedAt), Value: *cd.ActivityName})
		}
	}
	parts := make([]float64, len(order))
	for i, id := range order {
		parts[i] = points[id]
	}
	whole, rounded := scoring.WholePoints(total, parts)
	out := make([]views.Reason, 0, len(order))
	for i, id := range order {
		r := byRule[id]
		r.Points = fmt.Sprintf("%+d", rounded[i])
		r.Up = rounded[i] >= 0
		out = append(out, *r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return math.Abs(points[out[i].RuleID]) > math.Abs(points[out[j].RuleID])
	})
	return strconv.Itoa(whole), out
}

// sparkline draws values as an SVG polyline's points within w×h.
func sparkline(values []float64, w, h float64) string {
	if len(values) < 2 {
		return ""
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi == lo {
		hi = lo + 1
	}
	var b strings.Builder
	for i, v := range values {
		x := float64(i) * w / float64(len(values)-1)
		y := h - 2 - (v-lo)/(hi-lo)*(h-4)
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	return strings.TrimSpace(b.String())
}

// timeline groups activities (already newest first) by UTC day.
func timeline(acts []model.Activity, loc *time.Location) []views.TimelineDay {
	var days []views.TimelineDay
	for _, a := range acts {
		at := a.OccurredAt.In(loc)
		day := at.Format("Monday, January 2, 2006")
		if len(days) == 0 || days[len(days)-1].Day != day {
			days = append(days, views.TimelineDay{Day: day})
		}
		item := views.TimelineItem{Time: at.Format("15:04 MST"), Name: a.Name, Type: a.EventType, Source: a.Source,
			Tone: toneOf(a.EventType), LeadID: a.LeadID}
		item.Category, item.Title = model.SplitActivityName(a.Name)
		switch {
		case a.CampaignName != "":
			item.Context = "Campaign: " + a.CampaignName
		case a.CanvasName != "":
			item.Context = "Canvas: " + a.CanvasName
		}
		if u, err := url.Parse(a.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			item.URL = a.URL
		}
		days[len(days)-1].Items = append(days[len(days)-1].Items, item)
	}
	return days
}

func toneOf(eventType string) string {
	switch {
	case strings.Contains(eventType, "Bounce") || strings.Contains(eventType, "Unsubscribe"):
		return "negative"
	case strings.Contains(eventType, "Purchase"):
		return "money"
	case strings.Contains(eventType, "Click") || strings.Contains(eventType, "InboundReceive") || strings.Contains(eventType, "CustomEvent"):
		return "strong"
	}
	return "neutral"
}

// attributePairs lists a lead's Braze custom attributes as text, sorted by name.
func attributePairs(raw []byte) []views.Pair {
	var attrs map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &attrs) != nil {
		return nil
	}
	var out []views.Pair
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		var val string
		switch x := attrs[k].(type) {
		case string:
			val = x
		case nil:
			continue
		default:
			b, _ := json.Marshal(x)
			val = string(b)
		}
		out = append(out, views.Pair{Label: k, Value: val})
	}
	return out
}

// userLocation is the time zone the signed-in person reads times in: their own setting, else
// their browser's (the tz cookie app.js keeps), else UTC.
func userLocation(c echo.Context) *time.Location {
	var names []string
	if id := IdentityOf(c); id != nil {
		names = append(names, id.User.TimeZone)
	}
	names = append(names, browserZone(c))
	for _, name := range names {
		if name == "" || len(name) > 64 || name == "Local" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.UTC
}

// browserZone is the time zone the browser reported (the tz cookie app.js keeps), if valid.
func browserZone(c echo.Context) string {
	ck, err := c.Cookie("tz")
	if err != nil {
		return ""
	}
	zone, err := url.QueryUnescape(ck.Value)
	if err != nil || zone == "" || len(zone) > 64 || zone == "Local" {
		return ""
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return ""
	}
	return zone
}
