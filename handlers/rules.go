package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// maxRuleJSON bounds a rule sent by the builder; maxImport an imported rules file.
const (
	maxRuleJSON = 256 << 10
	maxImport   = 900 << 10
)

// ShowRulesPage lists the workspace's rules, scores and grade thresholds.
func (h *Handlers) ShowRulesPage(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	// Progress first: if re-scoring is done when we look, the counts read next are final;
	// read the other way round, a job finishing in between would leave stale counts on a page
	// that no longer polls.
	progress, err := h.rescoreProgress(c)
	if err != nil {
		return err
	}
	stored, err := h.Store.ListRules(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	scores, err := h.Store.ListScoreNames(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	scale, err := h.Store.GradeScale(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	v := views.RulesView{CSRF: CSRFToken(c)}
	for i, r := range stored {
		var def rules.Rule
		_ = json.Unmarshal(r.Definition, &def)
		row := views.RuleRow{ID: r.ID, Name: r.Name, Kind: r.Kind, Enabled: r.Enabled, Version: r.Version,
			Matched: r.LeadsMatched, Effect: effectText(def), First: i == 0, Last: i == len(stored)-1, Summary: conditionSummary(&def.When)}
		if def.Label != nil {
			row.Color, row.Emoji, row.LabelName = def.Label.Color, def.Label.Emoji, def.Label.Name
		}
		row.LastMatched = "never"
		if r.LastMatchedAt != nil {
			row.LastMatched = ago(*r.LastMatchedAt)
		}
		v.Rules = append(v.Rules, row)
	}
	for _, s := range scores {
		v.Scores = append(v.Scores, views.ScoreRow{ID: s.ID, Name: s.Name, Rollup: s.Rollup, Main: s.IsMain})
	}
	var g rules.GradeScale
	_ = json.Unmarshal(scale, &g)
	v.Grades = []views.GradeThreshold{{Grade: "A", Min: g.A}, {Grade: "B", Min: g.B}, {Grade: "C", Min: g.C}, {Grade: "D", Min: g.D}, {Grade: "E", Min: g.E}}
	v.Progress = progress
	if v.Bands, err = h.temperatureBands(c); err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.RulesPage(h.chrome(c, "Scoring rules", "rules"), v))
}

// temperatureBands is the bands as set, with the leads in each now.
func (h *Handlers) temperatureBands(c echo.Context) ([]views.TemperatureBand, error) {
	ws := IdentityOf(c).Workspace.ID
	b, err := h.Store.TemperatureBands(c.Request().Context(), ws)
	if err != nil {
		return nil, err
	}
	counts, err := h.Store.TemperatureCounts(c.Request().Context(), ws)
	if err != nil {
		return nil, err
	}
	active, all := 0, 0
	for t, n := range counts {
		all += n
		if t != rules.Frozen {
			active += n
		}
	}
	percent := func(n, of int) int {
		if of == 0 {
			return 0
		}
		return int(math.Round(float64(n) * 100 / float64(of)))
	}
	out := []views.TemperatureBand{
		{Name: rules.Hot, Share: b.Hot, Editable: true}, {Name: rules.Warm, Share: b.Warm, Editable: true},
		{Name: rules.Neutral, Share: b.Neutral, Editable: true}, {Name: rules.Cold, Share: b.Cold()}, {Name: rules.Frozen},
	}
	for i := range out {
		out[i].Leads = counts[out[i].Name]
		out[i].Percent = percent(out[i].Leads, active)
		if out[i].Name == rules.Frozen {
			out[i].Percent = percent(out[i].Leads, all)
		}
	}
	return out, nil
}

// UpdateTemperatureBands saves the shares of active leads per temperature and places every
// lead in the new bands.
func (h *Handlers) UpdateTemperatureBands(c echo.Context) error {
	var vals [3]int
	for i, name := range []string{rules.Hot, rules.Warm, rules.Neutral} {
		v, err := strconv.Atoi(strings.TrimSpace(c.FormValue(name)))
		if err != nil || v < 1 || v > 97 {
			h.flash(c, "error", "Enter a whole percentage from 1 to 97 for "+name+".")
			return c.Redirect(http.StatusSeeOther, "/rules#temperature")
		}
		vals[i] = v
	}
	b := rules.Bands{Hot: vals[0], Warm: vals[1], Neutral: vals[2]}
	if !b.Valid() {
		h.flash(c, "error", "Hot may hold at most half of the active leads, and hot, warm and neutral together must leave some for cold (at most 99 %).")
		return c.Redirect(http.StatusSeeOther, "/rules#temperature")
	}
	if err := h.Store.SetTemperatureBands(c.Request().Context(), IdentityOf(c).Workspace.ID, b, scoring.JobReheat); err != nil {
		return err
	}
	h.flash(c, "success", fmt.Sprintf("Temperature bands saved: hot %d %%, warm %d %%, neutral %d %%, cold %d %% of active leads. Placing every lead now.",
		b.Hot, b.Warm, b.Neutral, b.Cold()))
	return c.Redirect(http.StatusSeeOther, "/rules#temperature")
}

// ShowRescoreProgress renders the re-scoring panel (polled while a job runs).
func (h *Handlers) ShowRescoreProgress(c echo.Context) error {
	p, err := h.rescoreProgress(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.RescoreProgress(p))
}

func (h *Handlers) rescoreProgress(c echo.Context) (views.Progress, error) {
	job, err := h.Store.LatestRescoreJob(c.Request().Context(), IdentityOf(c).Workspace.ID)
	if err != nil || job == nil {
		return views.Progress{}, err
	}
	p := views.Progress{Known: true, Reason: job.Reason, Done: job.Done, Total: job.Total, State: job.State}
	if job.Total > 0 {
		p.Percent = min(100, job.Done*100/job.Total)
	}
	if job.State == "done" {
		p.Percent = 100
		if job.FinishedAt != nil {
			p.When = ago(*job.FinishedAt)
		}
	}
	p.Running = job.State == "queued" || job.State == "running"
	return p, nil
}

// ShowRuleBuilder opens the builder for a new rule (?kind=) or an existing one.
func (h *Handlers) ShowRuleBuilder(c echo.Context) error {
	id := IdentityOf(c)
	v := views.BuilderView{CSRF: CSRFToken(c), Action: "/rules"}
	if c.Param("id") != "" {
		r, err := h.ruleParam(c)
		if err != nil {
			return err
		}
		v.ID, v.Name, v.Action = r.ID, r.Name, fmt.Sprintf("/rules/%d", r.ID)
		v.RuleJSON = string(r.Definition)
	} else {
		v.RuleJSON = newRuleJSON(c.QueryParam("kind"))
	}
	catalog, err := h.catalogJSON(c, id.Workspace.ID)
	if err != nil {
		return err
	}
	v.CatalogJSON = catalog
	title := "New rule"
	if v.ID != 0 {
		title = v.Name
	}
	return Render(c, http.StatusOK, views.BuilderPage(h.chrome(c, title, "rules"), v))
}

func newRuleJSON(kind string) string {
	r := rules.Rule{Kind: rules.KindScore, Enabled: true, When: rules.Group{Combinator: "and", Rules: []rules.Node{
		{Condition: &rules.Condition{Field: "event.name", Operator: "contains", Value: ""}}}}}
	switch kind {
	case rules.KindLabel:
		r.Kind, r.Label = rules.KindLabel, &rules.LabelEffect{Color: "#6366f1"}
		r.When.Rules = append(r.When.Rules, rules.Node{Condition: &rules.Condition{Field: "event.time", Operator: "within_last_days", Value: 30}})
	case rules.KindGrade:
		r.Kind, r.Grade = rules.KindGrade, &rules.GradeEffect{Points: 20}
		r.When.Rules = []rules.Node{{Condition: &rules.Condition{Field: "profile.title", Operator: "contains", Value: ""}}}
	default:
		r.Score = &rules.ScoreEffect{Score: "Lead score", Points: 10, Per: rules.PerEvent}
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// catalog is what the builder offers: fields, operators, suggestions.
type catalog struct {
	Fields     []rules.Field               `json:"fields"`
	Operators  map[string][]rules.Operator `json:"operators"` // by field name
	EventNames []string                    `json:"event_names"`
	EventTypes []string                    `json:"event_types"`
	Properties []model.EventPropertyKey    `json:"properties"`
	Scores     []string                    `json:"scores"`
	Attributes []string                    `json:"attributes"`
}

func (h *Handlers) catalogJSON(c echo.Context, workspaceID int64) (string, error) {
	ctx := c.Request().Context()
	cat := catalog{Fields: rules.Fields, Operators: map[string][]rules.Operator{}, EventTypes: events.SupportedTypes()}
	for _, f := range rules.Fields {
		cat.Operators[f.Name] = rules.OperatorsFor(f)
	}
	templates := events.ActivityNames()
	for _, t := range cat.EventTypes {
		// The fixed part of each activity name, e.g. "[Email campaign engagement] Opened email".
		name := templates[t]
		if i := strings.IndexByte(name, '$'); i > 0 {
			name = strings.TrimSpace(name[:i])
		}
		cat.EventNames = append(cat.EventNames, name)
	}
	seen, err := h.Store.EventNames(ctx, workspaceID, 300)
	if err != nil {
		return "", err
	}
	cat.EventNames = append(cat.EventNames, seen...)
	if cat.Properties, err = h.Store.ListEventPropertyKeys(ctx, workspaceID); err != nil {
		return "", err
	}
	scores, err := h.Store.ListScoreNames(ctx, workspaceID)
	if err != nil {
		return "", err
	}
	for _, s := range scores {
		cat.Scores = append(cat.Scores, s.Name)
	}
	cat.Attributes = []string{"title", "job_title", "industry", "plan", "company"}
	b, err := json.Marshal(cat)
	return string(b), err
}

// problemsJSON is the builder's validation answer.
type problemsJSON struct {
	OK       bool            `json:"ok"`
	Problems []rules.Problem `json:"problems"`
}

// readRule parses a rule sent as JSON, either the whole body or the "definition" form field.
func readRule(c echo.Context) (rules.Rule, error) {
	var raw []byte
	if strings.HasPrefix(c.Request().Header.Get("Content-Type"), "application/json") {
		b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxRuleJSON+1))
		if err != nil {
			return rules.Rule{}, err
		}
		raw = b
	} else {
		raw = []byte(c.FormValue("definition"))
	}
	return parseOneRule(raw)
}

// parseOneRule reads one rule as the export writes it, with the builder's paths and messages.
func parseOneRule(raw []byte) (rules.Rule, error) {
	if len(raw) > maxRuleJSON {
		return rules.Rule{}, &rules.ValidationError{Problems: []rules.Problem{{Message: "This rule is too large (256 KB at most)."}}}
	}
	d, err := rules.ParseDocument(append(append([]byte(`{"format":1,"rules":[`), raw...), ']', '}'))
	if err != nil {
		var ve *rules.ValidationError
		if errors.As(err, &ve) {
			for i := range ve.Problems {
				ve.Problems[i].Path = strings.TrimPrefix(strings.TrimPrefix(ve.Problems[i].Path, "rules[0]"), ".")
			}
			return rules.Rule{}, ve
		}
		return rules.Rule{}, err
	}
	if len(d.Rules) != 1 {
		return rules.Rule{}, &rules.ValidationError{Problems: []rules.Problem{{Message: "Send exactly one rule."}}}
	}
	return d.Rules[0], nil
}

func problemsOf(err error) []rules.Problem {
	var ve *rules.ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	return []rules.Problem{{Message: "This is not a rule Peregrine can read: " + err.Error()}}
}

// ValidateRule checks a rule for the builder's inline messages.
func (h *Handlers) ValidateRule(c echo.Context) error {
	r, err := readRule(c)
	if err != nil {
		return c.JSON(http.StatusUnprocessableEntity, problemsJSON{Problems: problemsOf(err)})
	}
	if _, err := r.Check(); err != nil {
		return c.JSON(http.StatusUnprocessableEntity, problemsJSON{Problems: problemsOf(err)})
	}
	return c.JSON(http.StatusOK, problemsJSON{OK: true, Problems: []rules.Problem{}})
}

// PreviewRule answers what saving the rule would change.
func (h *Handlers) PreviewRule(c echo.Context) error {
	id := IdentityOf(c)
	r, err := readRule(c)
	if err == nil {
		_, err = r.Check()
	}
	if err != nil {
		return c.JSON(http.StatusUnprocessableEntity, problemsJSON{Problems: problemsOf(err)})
	}
	ruleID, _ := strconv.ParseInt(c.QueryParam("id"), 10, 64)
	p, err := h.Pipeline.Scoring.Preview(c.Request().Context(), id.Workspace.ID, ruleID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// SaveRule creates or updates a rule from the builder.
func (h *Handlers) SaveRule(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	var ruleID int64
	if c.Param("id") != "" {
		r, err := h.ruleParam(c)
		if err != nil {
			return err
		}
		ruleID = r.ID
	}
	r, err := readRule(c)
	var def model.RuleDef
	if err == nil {
		def, err = scoring.Def(r)
	}
	if err != nil {
		catalog, cerr := h.catalogJSON(c, id.Workspace.ID)
		if cerr != nil {
			return cerr
		}
		problems, _ := json.Marshal(problemsOf(err))
		v := views.BuilderView{CSRF: CSRFToken(c), ID: ruleID, Name: r.Name, RuleJSON: c.FormValue("definition"),
			CatalogJSON: catalog, ProblemsJSON: string(problems), Action: c.Request().URL.Path,
			Message: "The rule was not saved: fix the fields marked below."}
		if ruleID == 0 {
			v.Action = "/rules"
		}
		return Render(c, http.StatusUnprocessableEntity, views.BuilderPage(h.chrome(c, "Rule", "rules"), v))
	}
	saved, err := h.Store.SaveRule(ctx, id.Workspace.ID, id.User.ID, ruleID, def)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This rule was deleted in the meantime.")
	}
	if err != nil {
		return err
	}
	h.Pipeline.RulesChanged()
	h.flash(c, "success", fmt.Sprintf("Rule “%s” saved (version %d). Re-scoring every lead now.", saved.Name, saved.Version))
	return c.Redirect(http.StatusSeeOther, "/rules")
}

func (h *Handlers) ruleParam(c echo.Context) (model.StoredRule, error) {
	ruleID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.StoredRule{}, echo.NewHTTPError(http.StatusNotFound, "There is no such rule in this workspace.")
	}
	r, err := h.Store.RuleByID(c.Request().Context(), IdentityOf(c).Workspace.ID, ruleID)
	if errors.Is(err, store.ErrNotFound) {
		return r, echo.NewHTTPError(http.StatusNotFound, "There is no such rule in this workspace.")
	}
	return r, err
}

// EnableRule and DisableRule switch a rule.
func (h *Handlers) EnableRule(c echo.Context) error  { return h.switchRule(c, true) }
func (h *Handlers) DisableRule(c echo.Context) error { return h.switchRule(c, false) }

func (h *Handlers) switchRule(c echo.Context, on bool) error {
	r, err := h.ruleParam(c)
	if err != nil {
		return err
	}
	if err := h.Store.SetRuleEnabled(c.Request().Context(), IdentityOf(c).Workspace.ID, r.ID, on); err != nil {
		return err
	}
	h.Pipeline.RulesChanged()
	state := "disabled"
	if on {
		state = "enabled"
	}
	h.flash(c, "success", fmt.Sprintf("“%s” %s. Re-scoring every lead now.", r.Name, state))
	return c.Redirect(http.StatusSeeOther, "/rules")
}

// DuplicateRule saves a disabled copy of a rule, for editing.
func (h *Handlers) DuplicateRule(c echo.Context) error {
	id := IdentityOf(c)
	r, err := h.ruleParam(c)
	if err != nil {
		return err
	}
	var def rules.Rule
	if err := json.Unmarshal(r.Definition, &def); err != nil {
		return err
	}
	def.Name = truncate("Copy of "+def.Name, 200)
	def.Enabled = false
	d, err := scoring.Def(def)
	if err != nil {
		return err
	}
	saved, err := h.Store.SaveRule(c.Request().Context(), id.Workspace.ID, id.User.ID, 0, d)
	if err != nil {
		return err
	}
	h.flash(c, "success", "Duplicated as “"+saved.Name+"”, disabled until you enable it.")
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/rules/%d", saved.ID))
}

// DeleteRule removes a rule; the ledger keeps its versions.
func (h *Handlers) DeleteRule(c echo.Context) error {
	r, err := h.ruleParam(c)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteRule(c.Request().Context(), IdentityOf(c).Workspace.ID, r.ID); err != nil {
		return err
	}
	h.Pipeline.RulesChanged()
	h.flash(c, "success", "Rule “"+r.Name+"” deleted. Re-scoring every lead now.")
	return c.Redirect(http.StatusSeeOther, "/rules")
}

// MoveRule moves a rule up or down the list.
func (h *Handlers) MoveRule(c echo.Context) error {
	r, err := h.ruleParam(c)
	if err != nil {
		return err
	}
	if err := h.Store.MoveRule(c.Request().Context(), IdentityOf(c).Workspace.ID, r.ID, c.FormValue("dir") == "up"); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/rules")
}

// ExportRules downloads the workspace's rules as a JSON file.
func (h *Handlers) ExportRules(c echo.Context) error {
	id := IdentityOf(c)
	stored, err := h.Store.ListRules(c.Request().Context(), id.Workspace.ID)
	if err != nil {
		return err
	}
	var rs []rules.Rule
	for _, r := range stored {
		var def rules.Rule
		if err := json.Unmarshal(r.Definition, &def); err != nil {
			return err
		}
		rs = append(rs, def)
	}
	b, err := rules.Export(rs)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("peregrine-rules-%s-%s.json", id.Workspace.Slug, time.Now().UTC().Format("2006-01-02"))
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "application/json", b)
}

// ImportRules reads a rules file: every rule is checked before any is stored.
func (h *Handlers) ImportRules(c echo.Context) error {
	id := IdentityOf(c)
	var raw []byte
	if fh, err := c.FormFile("file"); err == nil {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		raw, _ = io.ReadAll(io.LimitReader(f, maxImport+1))
	} else {
		raw = []byte(c.FormValue("json"))
	}
	replace := c.FormValue("mode") == "replace"
	fail := func(msg string) error {
		h.flash(c, "error", msg)
		return c.Redirect(http.StatusSeeOther, "/rules#import")
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return fail("Choose a rules file (JSON, exported from Peregrine) to import.")
	}
	if len(raw) > maxImport {
		return fail("This file is too large to be a rules file (900 KB at most).")
	}
	doc, err := rules.ParseDocument(raw)
	if err != nil {
		var lines []string
		for i, p := range problemsOf(err) {
			if i == 5 {
				lines = append(lines, fmt.Sprintf("… and %d more", len(problemsOf(err))-5))
				break
			}
			lines = append(lines, strings.TrimPrefix(p.Path+": ", ": ")+p.Message)
		}
		return fail("Nothing was imported. " + strings.Join(lines, " · "))
	}
	defs, err := scoring.Defs(doc.Rules)
	if err != nil {
		return fail("Nothing was imported: " + err.Error())
	}
	if err := h.Store.ImportRules(c.Request().Context(), id.Workspace.ID, id.User.ID, defs, replace); err != nil {
		return err
	}
	h.Pipeline.RulesChanged()
	verb := "added"
	if replace {
		verb = "imported, replacing the previous rules"
	}
	h.flash(c, "success", fmt.Sprintf("%d rules %s. Re-scoring every lead now.", len(defs), verb))
	return c.Redirect(http.StatusSeeOther, "/rules")
}

// LoadDefaultRules adds the default rule set.
func (h *Handlers) LoadDefaultRules(c echo.Context) error {
	id := IdentityOf(c)
	seed := scoring.NewWorkspaceSeed()
	if err := h.Store.ImportRules(c.Request().Context(), id.Workspace.ID, id.User.ID, seed.Rules, false); err != nil {
		return err
	}
	h.Pipeline.RulesChanged()
	h.flash(c, "success", fmt.Sprintf("%d default rules added. Re-scoring every lead now.", len(seed.Rules)))
	return c.Redirect(http.StatusSeeOther, "/rules")
}

// UpdateScore sets a score's account roll-up and whether it is the main score.
func (h *Handlers) UpdateScore(c echo.Context) error {
	id := IdentityOf(c)
	scoreID, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	rollup := c.FormValue("rollup")
	if rollup != model.RollupSum && rollup != model.RollupMax && rollup != model.RollupDecayedSum && rollup != model.RollupTop3 {
		h.flash(c, "error", "Choose how the score adds up per account: sum, highest, or decayed sum.")
		return c.Redirect(http.StatusSeeOther, "/rules#scores")
	}
	err := h.Store.UpdateScoreName(c.Request().Context(), id.Workspace.ID, scoreID, rollup, c.FormValue("main") == "on")
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such score in this workspace.")
	}
	if err != nil {
		return err
	}
	h.Pipeline.RulesChanged()
	h.flash(c, "success", "Score settings saved.")
	return c.Redirect(http.StatusSeeOther, "/rules#scores")
}

// UpdateGradeScale stores grade thresholds.
func (h *Handlers) UpdateGradeScale(c echo.Context) error {
	id := IdentityOf(c)
	var vals [5]float64
	for i, g := range []string{"A", "B", "C", "D", "E"} {
		v, err := strconv.ParseFloat(strings.TrimSpace(c.FormValue(g)), 64)
		if err != nil || v < -10000 || v > 10000 {
			h.flash(c, "error", "Enter a number of fit points for grade "+g+".")
			return c.Redirect(http.StatusSeeOther, "/rules#grades")
		}
		vals[i] = v
	}
	scale := rules.GradeScale{A: vals[0], B: vals[1], C: vals[2], D: vals[3], E: vals[4]}
	if !scale.Valid() {
		h.flash(c, "error", "Each grade needs more fit points than the next: A above B, B above C, and so on.")
		return c.Redirect(http.StatusSeeOther, "/rules#grades")
	}
	b, _ := json.Marshal(map[string]float64{"A": scale.A, "B": scale.B, "C": scale.C, "D": scale.D, "E": scale.E})
	if err := h.Store.SetGradeScale(c.Request().Context(), id.Workspace.ID, b); err != nil {
		return err
	}
	h.Pipeline.RulesChanged()
	h.flash(c, "success", "Grade thresholds saved. Re-grading every lead now.")
	return c.Redirect(http.StatusSeeOther, "/rules#grades")
}

// effectText says in a few words what a rule does.
func effectText(r rules.Rule) string {
	switch {
	case r.Score != nil:
		s := r.Score
		per := "once per lead"
		if s.Per == rules.PerEvent {
			per = "per event"
			if s.Cap > 0 {
				per += fmt.Sprintf(", up to %s", num(s.Cap))
			}
		}
		text := fmt.Sprintf("%+g %s %s", s.Points, s.Score, per)
		if s.ExpireDays > 0 {
			text += fmt.Sprintf(" · expires after %d days", s.ExpireDays)
		}
		if s.HalfLifeDays > 0 {
			text += fmt.Sprintf(" · half-life %s days", num(s.HalfLifeDays))
		}
		return text
	case r.Label != nil:
		if r.Label.On == rules.OnAccount {
			return "Account label"
		}
		return "Label"
	case r.Grade != nil:
		return fmt.Sprintf("%+g fit points", r.Grade.Points)
	}
	return ""
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// conditionSummary renders conditions as one readable line.
func conditionSummary(g *rules.Group) string {
	parts := make([]string, 0, len(g.Rules))
	for _, n := range g.Rules {
		switch {
		case n.Group != nil:
			parts = append(parts, "("+conditionSummary(n.Group)+")")
		case n.Condition != nil:
			parts = append(parts, conditionText(n.Condition))
		}
	}
	joiner := " and "
	if g.Combinator == "or" {
		joiner = " or "
	}
	s := strings.Join(parts, joiner)
	if g.Not {
		s = "not (" + s + ")"
	}
	return truncate(s, 240)
}

func conditionText(c *rules.Condition) string {
	f, _ := rules.FieldByName(c.Field)
	label := strings.ToLower(f.Label)
	switch {
	case c.Property != "":
		label = "property " + c.Property
	case c.Attribute != "":
		label = "attribute " + c.Attribute
	case c.Score != "":
		label = "account " + c.Score
	}
	if c.Field == "event.count" {
		s := fmt.Sprintf("%s %v events in %d days", c.Operator, c.Value, c.WindowDays)
		if c.Where != nil {
			s += " where " + conditionSummary(c.Where)
		}
		return s
	}
	op := c.Operator
	for _, o := range rules.Operators {
		if o.Name == c.Operator {
			op = o.Label
		}
	}
	if c.Value == nil {
		return label + " " + op
	}
	if c.Operator == "within_last_days" {
		return fmt.Sprintf("%s within the last %v days", label, c.Value)
	}
	if c.Operator == "more_than_days_ago" {
		return fmt.Sprintf("%s more than %v days ago", label, c.Value)
	}
	var v string
	switch x := c.Value.(type) {
	case []any:
		items := make([]string, len(x))
		for i, it := range x {
			items[i] = fmt.Sprint(it)
		}
		v = strings.Join(items, ", ")
	default:
		v = fmt.Sprint(x)
	}
	return fmt.Sprintf("%s %s “%s”", label, op, v)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// ShowEventPropertiesPage lists the event property keys offered by the builder.
func (h *Handlers) ShowEventPropertiesPage(c echo.Context) error {
	return h.renderEventProperties(c, http.StatusOK, "", "", "")
}

func (h *Handlers) renderEventProperties(c echo.Context, status int, key, typ, errMsg string) error {
	keys, err := h.Store.ListEventPropertyKeys(c.Request().Context(), IdentityOf(c).Workspace.ID)
	if err != nil {
		return err
	}
	v := views.EventPropertiesView{CSRF: CSRFToken(c), Key: key, Type: typ, Error: errMsg}
	for _, k := range keys {
		v.Keys = append(v.Keys, views.PropertyRow{Key: k.Key, Type: k.Type, Builtin: k.Builtin})
	}
	sort.SliceStable(v.Keys, func(i, j int) bool { return v.Keys[i].Builtin && !v.Keys[j].Builtin })
	seen, err := h.Store.SeenPropertyKeys(c.Request().Context(), IdentityOf(c).Workspace.ID, 40)
	if err != nil {
		return err
	}
	for _, k := range seen {
		if !slices.ContainsFunc(keys, func(l model.EventPropertyKey) bool { return l.Key == k.Key }) {
			v.Seen = append(v.Seen, views.PropertyRow{Key: k.Key, Type: k.Type})
		}
	}
	return Render(c, status, views.EventPropertiesPage(h.chrome(c, "Event properties", "event-properties"), v))
}

// AddEventProperty adds a key to the builder's list.
func (h *Handlers) AddEventProperty(c echo.Context) error {
	key := strings.TrimSpace(c.FormValue("key"))
	typ := c.FormValue("type")
	switch {
	case key == "" || len(key) > 100:
		return h.renderEventProperties(c, http.StatusUnprocessableEntity, key, typ, "Enter the property key as Braze sends it (1 to 100 characters), e.g. plan or seats.")
	case strings.ContainsAny(key, " \t\n\"'<>"):
		return h.renderEventProperties(c, http.StatusUnprocessableEntity, key, typ, "A property key has no spaces or quotes; use the key exactly as in the event, e.g. plan_name.")
	case typ != "string" && typ != "number" && typ != "boolean" && typ != "date":
		return h.renderEventProperties(c, http.StatusUnprocessableEntity, key, typ, "Choose the kind of value: text, number, yes/no or date.")
	}
	if err := h.Store.AddEventPropertyKeys(c.Request().Context(), IdentityOf(c).Workspace.ID, []model.EventPropertyKey{{Key: key, Type: typ}}); err != nil {
		return err
	}
	h.flash(c, "success", "“"+key+"” is now offered in the rule builder.")
	return c.Redirect(http.StatusSeeOther, "/settings/event-properties")
}

// DeleteEventProperty removes a key the user added.
func (h *Handlers) DeleteEventProperty(c echo.Context) error {
	key := c.FormValue("key")
	err := h.Store.DeleteEventPropertyKey(c.Request().Context(), IdentityOf(c).Workspace.ID, key)
	if errors.Is(err, store.ErrNotFound) {
		h.flash(c, "error", "Built-in keys stay; only keys you added can be removed.")
		return c.Redirect(http.StatusSeeOther, "/settings/event-properties")
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "“"+key+"” removed from the list. Rules that use it keep working.")
	return c.Redirect(http.StatusSeeOther, "/settings/event-properties")
}
