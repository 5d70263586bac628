package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// reportChartRows is how many values the chart draws (the table lists them all).
const reportChartRows = 12

// reportQuery is a report's filters as the URL carries them.
type reportQuery struct {
	Milestone  store.MilestoneRow
	Dimension  attribution.Dimension
	Model      attribution.Model
	From, To   time.Time // the first and last day, midnight in the reader's zone
	Compare    bool
	Problems   []string
	Milestones []store.MilestoneRow
}

// store is the query for the store, over [From, To+1 day).
func (q reportQuery) store(ws int64) store.ReportQuery {
	return store.ReportQuery{WorkspaceID: ws, MilestoneID: q.Milestone.ID, Dimension: q.Dimension, From: q.From, To: q.To.AddDate(0, 0, 1)}
}

// previous is the same query over the period of equal length just before.
func (q reportQuery) previous(ws int64) store.ReportQuery {
	days := int(math.Round(q.To.Sub(q.From).Hours()/24)) + 1
	p := q.store(ws)
	p.From, p.To = q.From.AddDate(0, 0, -days), q.From
	return p
}

// values is the query's URL parameters, with changes.
func (q reportQuery) values(set ...string) url.Values {
	v := url.Values{}
	v.Set("milestone", strconv.FormatInt(q.Milestone.ID, 10))
	v.Set("by", string(q.Dimension))
	v.Set("model", q.Model.Key())
	v.Set("from", q.From.Format(time.DateOnly))
	v.Set("to", q.To.Format(time.DateOnly))
	if q.Compare {
		v.Set("compare", "previous")
	}
	for i := 0; i+1 < len(set); i += 2 {
		v.Set(set[i], set[i+1])
	}
	return v
}

// parseReportQuery reads the filters, defaulting what is missing (the first milestone, by
// campaign, linear, the last 90 days in loc); a bad value is named in Problems and replaced by
// its default. ok is false when the workspace has no milestone.
func (h *Handlers) parseReportQuery(ctx context.Context, ws int64, in url.Values, loc *time.Location) (reportQuery, bool, error) {
	ms, err := h.Store.Milestones(ctx, ws)
	if err != nil || len(ms) == 0 {
		return reportQuery{}, false, err
	}
	q := reportQuery{Milestones: ms, Milestone: ms[0], Dimension: attribution.ByCampaign, Model: attribution.Linear}
	if raw := in.Get("milestone"); raw != "" {
		id, _ := strconv.ParseInt(raw, 10, 64)
		found := false
		for _, m := range ms {
			if m.ID == id {
				q.Milestone, found = m, true
			}
		}
		if !found {
			q.Problems = append(q.Problems, "That milestone does not exist (any more); showing “"+q.Milestone.Name+"”.")
		}
	}
	if raw := in.Get("by"); raw != "" {
		if d, ok := attribution.ParseDimension(raw); ok {
			q.Dimension = d
		} else {
			q.Problems = append(q.Problems, "Touches can be grouped by campaign, channel, source or page; showing campaigns.")
		}
	}
	if raw := in.Get("model"); raw != "" {
		if m, ok := attribution.ModelByKey(raw); ok {
			q.Model = m
		} else {
			q.Problems = append(q.Problems, "Unknown model “"+truncate(raw, 20)+"”; showing linear.")
		}
	}
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	q.From, q.To = today.AddDate(0, 0, -89), today
	from, fromErr := parseDay(in.Get("from"), loc, q.From)
	to, toErr := parseDay(in.Get("to"), loc, q.To)
	switch {
	case fromErr != nil || toErr != nil:
		q.Problems = append(q.Problems, "Dates are written like 2026-03-31; showing the last 90 days.")
	case to.Before(from):
		q.Problems = append(q.Problems, "The period ends before it starts; showing the last 90 days.")
	case to.Sub(from) > 3*366*24*time.Hour:
		q.Problems = append(q.Problems, "A report covers at most three years; showing the last 90 days.")
	default:
		q.From, q.To = from, to
	}
	q.Compare = in.Get("compare") == "previous"
	return q, true, nil
}

// reportQueryOf reads a report request's filters from its URL.
func (h *Handlers) reportQueryOf(c echo.Context) (reportQuery, bool, error) {
	return h.parseReportQuery(c.Request().Context(), IdentityOf(c).Workspace.ID, c.QueryParams(), userLocation(c))
}

// reportAndPrevious reads the report of the query's period and, when compared, of the one
// before.
func (h *Handlers) reportAndPrevious(c echo.Context, q reportQuery) (store.Report, store.Report, error) {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	var prev store.Report
	r, err := h.Store.AttributionReport(ctx, q.store(ws))
	if err == nil && q.Compare {
		prev, err = h.Store.AttributionReport(ctx, q.previous(ws))
	}
	return r, prev, err
}

// parseDay reads a yyyy-mm-dd day in loc; empty gives the default.
func parseDay(s string, loc *time.Location, def time.Time) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return def, nil
	}
	return time.ParseInLocation(time.DateOnly, s, loc)
}

// ShowReportPage shows the attribution report.
func (h *Handlers) ShowReportPage(c echo.Context) error {
	q, ok, err := h.reportQueryOf(c)
	if err != nil {
		return err
	}
	if !ok {
		return Render(c, http.StatusOK, views.ReportPage(h.chrome(c, "Attribution", "reports"), views.ReportView{NoMilestones: true}))
	}
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	report, prev, err := h.reportAndPrevious(c, q)
	if err != nil {
		return err
	}
	settings, err := h.Store.AttributionSettings(ctx, ws)
	if err != nil {
		return err
	}
	v := reportView(q, report, prev, settings, q.Milestone.ScoreName.String)
	status := http.StatusOK
	if len(q.Problems) > 0 {
		status = http.StatusBadRequest
	}
	return Render(c, status, views.ReportPage(h.chrome(c, "Attribution", "reports"), v))
}

// reportView builds the page's view model.
func reportView(q reportQuery, r, prev store.Report, settings attribution.Settings, scoreName string) views.ReportView {
	v := views.ReportView{Milestone: q.Milestone.Name, Describe: q.Milestone.Milestone().Describe(scoreName),
		Backfilling: q.Milestone.BackfilledAt == nil, Dimension: q.Dimension.Label(), ModelLabel: q.Model.Label(settings.HalfLifeDays),
		From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly), Compare: q.Compare, Problems: q.Problems,
		Totals: totals(r), Prev: totals(prev), Selected: int(q.Model), Lookback: settings.LookbackDays,
		HalfLife: strconv.FormatFloat(settings.HalfLifeDays, 'f', -1, 64),
		CSVURL:   "/reports.csv?" + q.values().Encode(), ShareURL: "/reports?" + q.values().Encode()}
	for _, m := range q.Milestones {
		v.Milestones = append(v.Milestones, views.Option{Value: strconv.FormatInt(m.ID, 10), Label: m.Name, Selected: m.ID == q.Milestone.ID})
	}
	for _, d := range attribution.Dimensions {
		v.Dimensions = append(v.Dimensions, views.Tab{Key: string(d), Label: d.Label(), Active: d == q.Dimension,
			URL: "/reports?" + q.values("by", string(d)).Encode()})
	}
	for _, m := range attribution.Models {
		v.Models = append(v.Models, views.Option{Value: m.Key(), Label: m.Label(settings.HalfLifeDays), Selected: m == q.Model})
		v.ModelHeads = append(v.ModelHeads, modelHead(m))
	}
	if q.Compare {
		p := q.previous(0)
		v.PrevFrom, v.PrevTo = p.From.Format(time.DateOnly), p.To.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	v.Rows, v.Chart = reportRows(q, r, prev)
	if len(r.Rows) > reportChartRows {
		v.TopNote = fmt.Sprintf("The chart shows the top %d of %d; the table lists them all.", reportChartRows, len(r.Rows))
	}
	v.Days, v.DaysMax = dayBars(r.Days, q.From, q.To)
	return v
}

func totals(r store.Report) views.ReportTotals {
	return views.ReportTotals{Crossings: r.Crossings, Leads: r.Leads, Accounts: r.Accounts, Credited: r.Credited}
}

// modelHead is a model's short column head.
func modelHead(m attribution.Model) string {
	return [...]string{"First touch", "Last touch", "Linear", "U-shaped", "W-shaped", "Time decay"}[m]
}

// reportRows are the table's lines, ranked by the chosen model, and the chart's data.
func reportRows(q reportQuery, r, prev store.Report) ([]views.ReportRowView, views.ReportChart) {
	rows := append([]store.ReportRow(nil), r.Rows...)
	sortByModel(rows, q.Model)
	before := map[string]float64{}
	for _, p := range prev.Rows {
		before[p.Value] = p.Credit[q.Model]
	}
	top := 0.0
	if len(rows) > 0 {
		top = rows[0].Credit[q.Model]
	}
	chart := views.ReportChart{Model: modelHead(q.Model), Period: q.From.Format(time.DateOnly) + " – " + q.To.Format(time.DateOnly)}
	if q.Compare {
		p := q.previous(0)
		chart.Before = p.From.Format(time.DateOnly) + " – " + p.To.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	out := make([]views.ReportRowView, 0, len(rows))
	for i, x := range rows {
		label := valueLabel(q.Dimension, x.Value)
		row := views.ReportRowView{Value: label, Leads: x.Leads, Accounts: x.Accounts, Crossings: x.Crossings, Touches: x.Touches,
			Selected: credit(x.Credit[q.Model]), MedianDays: strconv.FormatFloat(x.MedianDays, 'f', 1, 64),
			URL: "/reports/leads?" + q.values("value", x.Value).Encode()}
		for _, m := range attribution.Models {
			row.Credits = append(row.Credits, credit(x.Credit[m]))
		}
		if top > 0 {
			row.Share = 100 * x.Credit[q.Model] / top
		}
		if q.Compare {
			b := before[x.Value]
			row.Prev, row.Delta = credit(b), signed(x.Credit[q.Model]-b)
			row.Up, row.Down = x.Credit[q.Model] > b+0.05, x.Credit[q.Model] < b-0.05
		}
		out = append(out, row)
		if i < reportChartRows {
			chart.Labels = append(chart.Labels, label)
			chart.Current = append(chart.Current, round1(x.Credit[q.Model]))
			if q.Compare {
				chart.Previous = append(chart.Previous, round1(before[x.Value]))
			}
		}
	}
	return out, chart
}

// sortByModel ranks rows by the model's credit, largest first, then by value.
func sortByModel(rows []store.ReportRow, m attribution.Model) {
	slices.SortStableFunc(rows, func(a, b store.ReportRow) int {
		if c := cmp.Compare(b.Credit[m], a.Credit[m]); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
}

// valueLabel shows a dimension value, naming the touches without one.
func valueLabel(d attribution.Dimension, v string) string {
	if v != "" {
		return v
	}
	switch d {
	case attribution.ByCampaign:
		return "(no campaign)"
	case attribution.ByChannel:
		return "(no channel)"
	case attribution.BySource:
		return "(no UTM source)"
	}
	return "(not a page)"
}

func credit(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func signed(v float64) string {
	s := credit(v)
	if v >= 0.05 {
		return "+" + s
	}
	if s == "-0.0" {
		return "0.0"
	}
	return s
}

// dayBars lays the days of [from, to] out as bars of a 600×120 chart.
func dayBars(days []store.DayCount, from, to time.Time) ([]views.DayBar, int) {
	counts := map[string]int{}
	top := 0
	for _, d := range days {
		k := d.Day.In(from.Location()).Format(time.DateOnly)
		counts[k] += d.Count
		top = max(top, counts[k])
	}
	if top == 0 {
		return nil, 0
	}
	n := int(math.Round(to.Sub(from).Hours()/24)) + 1
	step := 600.0 / float64(n)
	out := make([]views.DayBar, 0, n)
	for i := 0; i < n; i++ {
		day := from.AddDate(0, 0, i).Format(time.DateOnly)
		cnt := counts[day]
		h := 110 * float64(cnt) / float64(top)
		out = append(out, views.DayBar{Day: day, Count: cnt, X: float64(i) * step, Y: 120 - h, H: h,
			Title: day + ": " + views.Count(cnt) + " crossings"})
	}
	return out, top
}

// ExportReportCSV downloads the report as shown, every model's credit and, when compared,
// the previous period's.
func (h *Handlers) ExportReportCSV(c echo.Context) error {
	q, ok, err := h.reportQueryOf(c)
	if err != nil {
		return err
	}
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "There is no milestone to report on yet. Create one under Reports › Milestones.")
	}
	if len(q.Problems) > 0 {
		return echo.NewHTTPError(http.StatusBadRequest, strings.Join(q.Problems, " "))
	}
	r, prev, err := h.reportAndPrevious(c, q)
	if err != nil {
		return err
	}
	header := []string{string(q.Dimension), "leads", "accounts", "crossings touched", "touches"}
	for _, m := range attribution.Models {
		header = append(header, m.Key()+" credit")
	}
	header = append(header, "median days first touch to crossing")
	if q.Compare {
		header = append(header, "previous period "+q.Model.Key()+" credit")
	}
	rows, _ := reportRows(q, r, prev)
	lines := make([][]string, 0, len(rows))
	for _, x := range rows {
		line := []string{x.Value, strconv.Itoa(x.Leads), strconv.Itoa(x.Accounts), strconv.Itoa(x.Crossings), strconv.Itoa(x.Touches)}
		line = append(line, x.Credits...)
		line = append(line, x.MedianDays)
		if q.Compare {
			line = append(line, x.Prev)
		}
		lines = append(lines, line)
	}
	name := "attribution-" + slugify(q.Milestone.Name) + "-" + string(q.Dimension)
	return streamCSV(c, name, header, func(offset, limit int) ([][]string, error) {
		if offset >= len(lines) {
			return nil, nil
		}
		return lines[offset:min(offset+limit, len(lines))], nil
	})
}

// slugify keeps letters and digits of a name for a file name.
func slugify(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// ShowCreditedLeads is the drill-down: the leads whose crossings one value was credited for.
func (h *Handlers) ShowCreditedLeads(c echo.Context) error {
	q, ok, err := h.reportQueryOf(c)
	if err != nil {
		return err
	}
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "There is no milestone to report on yet.")
	}
	if len(q.Problems) > 0 {
		return echo.NewHTTPError(http.StatusBadRequest, strings.Join(q.Problems, " "))
	}
	value := c.QueryParam("value")
	leads, err := h.Store.AttributionLeads(c.Request().Context(), q.store(IdentityOf(c).Workspace.ID), value, q.Model)
	if err != nil {
		return err
	}
	loc := userLocation(c)
	v := views.CreditedLeadsView{Value: valueLabel(q.Dimension, value), Dimension: q.Dimension.Label(), Milestone: q.Milestone.Name,
		Model: modelHead(q.Model), Period: "from " + q.From.Format(time.DateOnly) + " to " + q.To.Format(time.DateOnly),
		BackURL: "/reports?" + q.values().Encode()}
	for _, l := range leads {
		name := strings.TrimSpace(l.FirstName + " " + l.LastName)
		if name == "" {
			name = l.Email
		}
		v.Leads = append(v.Leads, views.CreditedLeadRow{ID: l.LeadID, Name: name, Email: l.Email, Company: l.Company,
			Score: strconv.FormatFloat(l.MainScore, 'f', -1, 64), Grade: l.Grade, Temperature: l.Temperature,
			CrossedAt: views.FormatTimeIn(&l.CrossedAt, loc), Touches: l.Touches, Credit: strconv.FormatFloat(l.Credit*100, 'f', 0, 64) + "%"})
	}
	return Render(c, http.StatusOK, views.CreditedLeadsPage(h.chrome(c, v.Value, "reports"), v))
}

// ShowMilestonesPage lists milestones with the new-milestone form and the settings.
func (h *Handlers) ShowMilestonesPage(c echo.Context) error {
	return h.renderMilestones(c, http.StatusOK, views.MilestoneForm{}, nil, nil)
}

func (h *Handlers) renderMilestones(c echo.Context, status int, form views.MilestoneForm, settings *views.MilestonesView, errs views.FormErrors) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	ms, err := h.Store.Milestones(ctx, ws)
	if err != nil {
		return err
	}
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, ws)
	if err != nil {
		return err
	}
	st, err := h.Store.AttributionSettings(ctx, ws)
	if err != nil {
		return err
	}
	v := views.MilestonesView{Form: form, Errors: errs, Lookback: strconv.Itoa(st.LookbackDays), HalfLife: strconv.FormatFloat(st.HalfLifeDays, 'f', -1, 64)}
	if settings != nil {
		v.Lookback, v.HalfLife = settings.Lookback, settings.HalfLife
	}
	for _, sc := range rs.Scores {
		v.Scores = append(v.Scores, views.Option{Value: strconv.FormatInt(sc.ID, 10), Label: sc.Name})
	}
	for _, l := range rs.Labels {
		v.Labels = append(v.Labels, l.Name)
	}
	if v.Statuses, err = h.Store.LeadStatuses(ctx, ws); err != nil {
		return err
	}
	subs, err := h.Store.ReportSubscriptions(ctx, ws, IdentityOf(c).User.ID)
	if err != nil {
		return err
	}
	loc := userLocation(c)
	for _, sub := range subs {
		r := views.ScheduledReport{ID: sub.ID, When: views.FormatTimeIn(&sub.NextAt, loc), Last: "not yet"}
		dim, _ := attribution.ParseDimension(sub.Dimension)
		model, _ := attribution.ModelByKey(sub.Model)
		r.What = sub.Milestone + " by " + strings.ToLower(dim.Label()) + ", " + modelHead(model) + ", " + sub.Frequency
		if sub.LastSentAt != nil {
			r.Last = views.FormatTimeIn(sub.LastSentAt, loc)
		}
		v.Scheduled = append(v.Scheduled, r)
	}
	for _, m := range ms {
		row := views.MilestoneRowView{ID: m.ID, Name: m.Name, Describe: m.Milestone().Describe(m.ScoreName.String), Crossings: m.Crossings,
			Leads: m.Leads, ReportURL: "/reports?milestone=" + strconv.FormatInt(m.ID, 10)}
		if m.BackfilledAt == nil {
			row.Backfill = "Reading your history… leads up to #" + strconv.FormatInt(m.BackfillLead, 10) + " done"
		}
		v.Milestones = append(v.Milestones, row)
	}
	return Render(c, status, views.MilestonesPage(h.chrome(c, "Milestones", "reports"), v))
}

// CreateMilestone validates and stores a milestone; its history is back-filled by a job.
func (h *Handlers) CreateMilestone(c echo.Context) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	f := views.MilestoneForm{Name: strings.TrimSpace(c.FormValue("name")), Kind: c.FormValue("kind"), Score: c.FormValue("score"),
		Threshold: strings.TrimSpace(c.FormValue("threshold")), Label: strings.TrimSpace(c.FormValue("label")), Grade: c.FormValue("grade"),
		Status: strings.TrimSpace(c.FormValue("status")),
		Errors: views.FormErrors{}}
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, ws)
	if err != nil {
		return err
	}
	scores := map[int64]bool{}
	for _, sc := range rs.Scores {
		scores[sc.ID] = true
	}
	m := attribution.Milestone{Name: f.Name, Kind: f.Kind}
	field := "kind"
	switch f.Kind {
	case attribution.KindScore:
		m.ScoreID, _ = strconv.ParseInt(f.Score, 10, 64)
		field = "score"
		if f.Threshold != "" {
			if m.Threshold, err = strconv.ParseFloat(f.Threshold, 64); err != nil {
				f.Errors["threshold"] = "The threshold must be a number, such as 60."
			}
		}
		if m.ScoreID != 0 && scores[m.ScoreID] {
			field = "threshold"
		}
	case attribution.KindLabel:
		m.Value, field = f.Label, "label"
	case attribution.KindGrade:
		m.Value, field = f.Grade, "grade"
	case attribution.KindStatus:
		m.Value, field = f.Status, "status"
	}
	if len(f.Errors) == 0 {
		if err := m.Validate(scores); err != nil {
			if strings.TrimSpace(m.Name) == "" || len(m.Name) > 120 {
				field = "name"
			}
			f.Errors[field] = err.Error()
		}
	}
	if len(f.Errors) > 0 {
		return h.renderMilestones(c, http.StatusUnprocessableEntity, f, nil, nil)
	}
	id, err := h.Store.CreateMilestone(ctx, ws, m)
	if errors.Is(err, store.ErrMilestoneNameTaken) {
		f.Errors["name"] = "Another milestone has this name; choose another."
		return h.renderMilestones(c, http.StatusUnprocessableEntity, f, nil, nil)
	}
	if err != nil {
		return err
	}
	h.Pipeline.JobQueued()
	h.flash(c, "success", "Milestone “"+m.Name+"” created. Peregrine is reading your history for its past crossings; new ones are recorded as they happen.")
	return c.Redirect(http.StatusSeeOther, "/reports?milestone="+strconv.FormatInt(id, 10))
}

// DeleteMilestone removes a milestone with its crossings.
func (h *Handlers) DeleteMilestone(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such milestone.")
	}
	if err := h.Store.DeleteMilestone(c.Request().Context(), IdentityOf(c).Workspace.ID, id); errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such milestone (it may have been deleted already).")
	} else if err != nil {
		return err
	}
	h.flash(c, "success", "Milestone deleted.")
	return c.Redirect(http.StatusSeeOther, "/reports/milestones")
}

// SaveAttributionSettings stores the lookback window and half-life; credits are recomputed
// by a job when they changed.
func (h *Handlers) SaveAttributionSettings(c echo.Context) error {
	form := views.MilestonesView{Lookback: strings.TrimSpace(c.FormValue("lookback_days")), HalfLife: strings.TrimSpace(c.FormValue("half_life_days"))}
	errs := views.FormErrors{}
	lookback, err := strconv.Atoi(form.Lookback)
	if err != nil || lookback < 1 || lookback > 730 {
		errs["lookback_days"] = "Enter a whole number of days from 1 to 730."
	}
	half, err := strconv.ParseFloat(form.HalfLife, 64)
	if err != nil || math.IsNaN(half) || half < 0.5 || half > 365 {
		errs["half_life_days"] = "Enter a number of days from 0.5 to 365."
	}
	if len(errs) > 0 {
		return h.renderMilestones(c, http.StatusUnprocessableEntity, views.MilestoneForm{}, &form, errs)
	}
	if err := h.Store.SetAttributionSettings(c.Request().Context(), IdentityOf(c).Workspace.ID,
		attribution.Settings{LookbackDays: lookback, HalfLifeDays: half}); err != nil {
		return err
	}
	h.Pipeline.JobQueued()
	h.flash(c, "success", "Settings saved. Reports are recomputed with them in the background.")
	return c.Redirect(http.StatusSeeOther, "/reports/milestones")
}

// SubscribeReport schedules the report as shown (its milestone, dimension and model) by email
// to the signed-in person, weekly or monthly.
func (h *Handlers) SubscribeReport(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read; reload the page and try again.")
	}
	q, ok, err := h.parseReportQuery(c.Request().Context(), IdentityOf(c).Workspace.ID, form, userLocation(c))
	if err != nil {
		return err
	}
	freq := c.FormValue("frequency")
	if !ok || (freq != attribution.Weekly && freq != attribution.Monthly) {
		return echo.NewHTTPError(http.StatusBadRequest, "Choose weekly or monthly for a report of one of your milestones.")
	}
	id := IdentityOf(c)
	if err := h.Store.SubscribeReport(c.Request().Context(), store.ReportSubscription{WorkspaceID: id.Workspace.ID, UserID: id.User.ID,
		MilestoneID: q.Milestone.ID, Dimension: string(q.Dimension), Model: q.Model.Key(), Frequency: freq,
		NextAt: attribution.NextReport(freq, time.Now())}); err != nil {
		return err
	}
	msg := "You will get this report by email every " + map[string]string{attribution.Weekly: "Monday", attribution.Monthly: "1st of the month"}[freq] + "."
	if h.Notify == nil || !h.Notify.EmailEnabled() {
		msg += " This server has no email server set yet (PEREGRINE_SMTP_URL): reports wait until it has."
	}
	h.flash(c, "success", msg)
	return c.Redirect(http.StatusSeeOther, "/reports?"+q.values().Encode())
}

// UnsubscribeReport stops one of the signed-in person's scheduled reports.
func (h *Handlers) UnsubscribeReport(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such scheduled report.")
	}
	who := IdentityOf(c)
	if err := h.Store.Unsubscribe(c.Request().Context(), who.Workspace.ID, who.User.ID, id); errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such scheduled report (it may have been stopped already).")
	} else if err != nil {
		return err
	}
	h.flash(c, "success", "Scheduled report stopped.")
	return c.Redirect(http.StatusSeeOther, "/reports/milestones")
}

// ReportMailOf builds a scheduled report's email for the period that just ended, compared
// with the period before. base is the workspace's address for links.
func ReportMailOf(ctx context.Context, st *store.Store, sub store.ReportSubscription, person, workspace, base string, now time.Time) (views.ReportMail, error) {
	m, err := st.MilestoneByID(ctx, sub.WorkspaceID, sub.MilestoneID)
	if err != nil {
		return views.ReportMail{}, err
	}
	dim, _ := attribution.ParseDimension(sub.Dimension)
	model, _ := attribution.ModelByKey(sub.Model)
	from, to := attribution.ReportPeriod(sub.Frequency, now)
	q := reportQuery{Milestone: m, Dimension: dim, Model: model, From: from, To: to.AddDate(0, 0, -1), Compare: true}
	r, err := st.AttributionReport(ctx, q.store(sub.WorkspaceID))
	if err != nil {
		return views.ReportMail{}, err
	}
	prev, err := st.AttributionReport(ctx, q.previous(sub.WorkspaceID))
	if err != nil {
		return views.ReportMail{}, err
	}
	rows, _ := reportRows(q, r, prev)
	mail := views.ReportMail{Workspace: workspace, Person: person, Milestone: m.Name, Dimension: dim.Label(), Model: modelHead(model),
		Period: "from " + from.Format(time.DateOnly) + " to " + q.To.Format(time.DateOnly), Crossings: r.Crossings, Leads: r.Leads,
		Accounts: r.Accounts, PrevCrossings: prev.Crossings, Link: base + "/reports?" + q.values().Encode(), ManageLink: base + "/reports/milestones"}
	for i, x := range rows {
		if i == 10 {
			mail.More = len(rows) - 10
			break
		}
		mail.Rows = append(mail.Rows, views.ReportMailRow{Value: x.Value, Credit: x.Selected, Delta: x.Delta, Leads: x.Leads})
	}
	return mail, nil
}
