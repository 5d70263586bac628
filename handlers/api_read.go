package handlers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// APILead is a lead as the API shows it; Scores and Why only on GET /api/v1/leads/{id}.
type APILead struct {
	ID             int64              `json:"id"`
	Email          string             `json:"email"`
	FirstName      string             `json:"first_name"`
	LastName       string             `json:"last_name"`
	Title          string             `json:"title"`
	Company        string             `json:"company"`
	Phone          string             `json:"phone"`
	Country        string             `json:"country"`
	Owner          APIOwner           `json:"owner"`
	MainScore      float64            `json:"main_score"`
	Grade          string             `json:"grade"`
	Temperature    string             `json:"temperature"`
	Rising         bool               `json:"rising"`
	Labels         []string           `json:"labels"`
	Account        *APIAccountRef     `json:"account"`
	LastActivityAt *time.Time         `json:"last_activity_at"`
	CreatedAt      time.Time          `json:"created_at"`
	Scores         map[string]float64 `json:"scores,omitempty"`
	Why            *[]APIReason       `json:"why,omitempty"` // a pointer: present (maybe empty) on details only
}

// APIOwner is a lead's owner (from Salesforce).
type APIOwner struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// APIAccountRef names a lead's account.
type APIAccountRef struct {
	ID     int64  `json:"id"`
	Domain string `json:"domain"`
}

// APIReason is one contribution to a score: "why this score".
type APIReason struct {
	Score      string    `json:"score"`
	Rule       string    `json:"rule"`
	Points     float64   `json:"points"`
	Activity   string    `json:"activity"`
	ActivityID int64     `json:"activity_id"`
	EarnedAt   time.Time `json:"earned_at"`
}

// APIAccount is an account as the API shows it.
type APIAccount struct {
	ID          int64      `json:"id"`
	Domain      string     `json:"domain"`
	Name        string     `json:"name"`
	Industry    string     `json:"industry"`
	Employees   *int       `json:"employees"`
	MainScore   float64    `json:"main_score"`
	Grade       string     `json:"grade"`
	Temperature string     `json:"temperature"`
	Labels      []string   `json:"labels"`
	People      int        `json:"people"`
	Engaged30   int        `json:"engaged_30d"`
	LastActive  *time.Time `json:"last_active_at"`
}

// APIActivity is an activity of a lead's timeline.
type APIActivity struct {
	ID         int64          `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	Source     string         `json:"source"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Campaign   string         `json:"campaign"`
	Canvas     string         `json:"canvas"`
	URL        string         `json:"url"`
	Properties map[string]any `json:"properties"`
}

// APIPage is a page of a list with the cursor of the next (null at the end).
type APIPage[T any] struct {
	Data       []T     `json:"data"`
	Total      int     `json:"total"`
	NextCursor *string `json:"next_cursor"`
}

func apiLead(l model.Lead) APILead {
	out := APILead{ID: l.ID, Email: l.Email, FirstName: l.FirstName, LastName: l.LastName, Title: l.Title, Company: l.Company, Phone: l.Phone,
		Country: l.Country, Owner: APIOwner{Name: l.OwnerName, Email: l.OwnerEmail}, MainScore: l.MainScore, Grade: l.Grade,
		Temperature: l.Temperature, Rising: l.Rising, Labels: append([]string{}, l.Labels...), LastActivityAt: l.LastActivityAt, CreatedAt: l.CreatedAt}
	if l.AccountID != nil {
		out.Account = &APIAccountRef{ID: *l.AccountID, Domain: deref(l.AccountDomain)}
	}
	return out
}

// apiLimit reads limit (1–200, default 50).
func apiLimit(q url.Values, probs *[]ingest.Problem) int {
	raw := q.Get("limit")
	if raw == "" {
		return 50
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 200 {
		*probs = append(*probs, ingest.Problem{Path: "/query/limit", Message: "a number from 1 to 200"})
		return 50
	}
	return n
}

// cursor is "<snapshot token>.<offset>", base64url; an empty token pages without one.
func encodeCursor(token string, offset int) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte(token + "." + strconv.Itoa(offset)))
	return &s
}

func decodeCursor(raw string) (string, int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", 0, false
	}
	token, off, ok := strings.Cut(string(b), ".")
	n, err := strconv.Atoi(off)
	if !ok || err != nil || n < 0 || n > 10_000_000 {
		return "", 0, false
	}
	return token, n, true
}

// leadFilterOf reads the lead list's filters and sorts, strictly: every bad value is a problem.
func leadFilterOf(q url.Values) (store.LeadFilter, []ingest.Problem) {
	var probs []ingest.Problem
	bad := func(param, msg string) { probs = append(probs, ingest.Problem{Path: "/query/" + param, Message: msg}) }
	f := store.LeadFilter{Sort: store.SortScore, Search: truncate(strings.TrimSpace(q.Get("q")), maxSearchLength)}
	switch sort := q.Get("sort"); {
	case sort == "" || sort == store.SortScore:
	case sort == store.SortGrade || sort == store.SortTemperature || sort == store.SortActivity:
		f.Sort = sort
	case strings.HasPrefix(sort, "score:"):
		id, err := strconv.ParseInt(strings.TrimPrefix(sort, "score:"), 10, 64)
		if err != nil {
			bad("sort", "score:<id> needs a score id")
		}
		f.ScoreID = id
	default:
		bad("sort", "one of score, grade, temperature, activity or score:<id>")
	}
	f.Labels = q["label"]
	for _, g := range q["grade"] {
		if len(g) != 1 || !strings.Contains("ABCDEF", g) {
			bad("grade", "a grade from A to F")
		}
		f.Grades = append(f.Grades, g)
	}
	for _, t := range q["temp"] {
		if !slices.Contains(temperatures, t) {
			bad("temp", "one of "+strings.Join(temperatures, ", "))
		}
		f.Temperatures = append(f.Temperatures, t)
	}
	for _, b := range []struct {
		name string
		dst  **float64
	}{{"min", &f.MinScore}, {"max", &f.MaxScore}} {
		if raw := q.Get(b.name); raw != "" {
			v, err := strconv.ParseFloat(raw, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				bad(b.name, "a number")
				continue
			}
			*b.dst = &v
		}
	}
	if raw := q.Get("account"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			bad("account", "an account id")
		}
		f.AccountID = id
	}
	f.Owner = truncate(strings.TrimSpace(q.Get("owner")), 200)
	if raw := q.Get("active"); raw != "" {
		d, err := strconv.Atoi(raw)
		if err != nil || d < 1 || d > 3650 {
			bad("active", "a number of days from 1 to 3650")
		}
		f.ActiveDays = d
	}
	return f, probs
}

// APILeadPage is a page of leads: the total is exact up to 2,000 (total_capped says more).
type APILeadPage struct {
	APIPage[APILead]
	TotalCapped bool `json:"total_capped"`
}

// ListLeads is GET /api/v1/leads: the lead list's filters and sorts, paged by position (the
// cursor names the last lead's place in the order), so every page reads one index range.
func (a *API) ListLeads(c echo.Context) error {
	q := c.QueryParams()
	f, probs := leadFilterOf(q)
	limit := apiLimit(q, &probs)
	var after *store.LeadCursor
	if raw := q.Get("cursor"); raw != "" {
		var cur store.LeadCursor
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil || json.Unmarshal(b, &cur) != nil || cur.ID <= 0 {
			probs = append(probs, ingest.Problem{Path: "/query/cursor", Message: "not a cursor this API gave"})
		}
		after = &cur
	}
	if len(probs) > 0 {
		return problem(c, http.StatusBadRequest, "Some query parameters are not valid.", probs...)
	}
	leads, cursors, total, capped, err := a.Handlers.Store.LeadsAfter(c.Request().Context(), APIViewer(c), f, after, limit+1)
	if err != nil {
		return err
	}
	out := APILeadPage{APIPage: APIPage[APILead]{Data: []APILead{}, Total: total}, TotalCapped: capped}
	for i, l := range leads {
		if i == limit {
			b, _ := json.Marshal(cursors[limit-1])
			next := base64.RawURLEncoding.EncodeToString(b)
			out.NextCursor = &next
			break
		}
		out.Data = append(out.Data, apiLead(l))
	}
	return c.JSON(http.StatusOK, out)
}

// GetLead is GET /api/v1/leads/{id} (and GET /api/v1/leads/by-email?email=): the lead with
// every named score and the contributions behind them.
func (a *API) GetLead(c echo.Context) error {
	ctx := c.Request().Context()
	var l model.Lead
	var err error
	if c.Path() == "/api/v1/leads/by-email" {
		email := events.CleanEmail(c.QueryParam("email"))
		if email == "" {
			return problem(c, http.StatusBadRequest, "Give a valid email address.", ingest.Problem{Path: "/query/email", Message: "a valid email address"})
		}
		l, err = a.Handlers.Store.LeadByEmail(ctx, APIViewer(c), email)
	} else {
		id, perr := strconv.ParseInt(c.Param("id"), 10, 64)
		if perr != nil {
			return problem(c, http.StatusNotFound, "There is no such lead.")
		}
		l, err = a.Handlers.Store.LeadFor(ctx, APIViewer(c), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return problem(c, http.StatusNotFound, "There is no such lead.")
	}
	if err != nil {
		return err
	}
	return a.leadDetail(c, l)
}

func (a *API) leadDetail(c echo.Context, l model.Lead) error {
	ctx := c.Request().Context()
	ws := TokenOf(c).WorkspaceID
	out := apiLead(l)
	values, err := a.Handlers.Store.LeadScoreValues(ctx, ws, l.ID)
	if err != nil {
		return err
	}
	out.Scores = map[string]float64{}
	names := map[int64]string{}
	for _, v := range values {
		out.Scores[v.Name], names[v.ScoreID] = v.Value, v.Name
	}
	contribs, err := a.Handlers.Store.LeadContributions(ctx, ws, l.ID)
	if err != nil {
		return err
	}
	rules, err := a.Handlers.Store.RuleNames(ctx, ws)
	if err != nil {
		return err
	}
	why := []APIReason{}
	out.Why = &why
	for _, cd := range contribs {
		r := APIReason{Score: names[cd.ScoreID], Rule: rules[cd.RuleID], Points: cd.Points, ActivityID: cd.ActivityID, EarnedAt: cd.EarnedAt}
		if cd.ActivityName != nil {
			r.Activity = *cd.ActivityName
		}
		why = append(why, r)
	}
	out.Why = &why
	return c.JSON(http.StatusOK, out)
}

// ListActivities is GET /api/v1/activities?lead=: a lead's timeline, newest first.
func (a *API) ListActivities(c echo.Context) error {
	q := c.QueryParams()
	var probs []ingest.Problem
	lead, err := strconv.ParseInt(q.Get("lead"), 10, 64)
	if err != nil || lead <= 0 {
		probs = append(probs, ingest.Problem{Path: "/query/lead", Message: "the lead's id"})
	}
	limit := apiLimit(q, &probs)
	offset := 0
	if raw := q.Get("cursor"); raw != "" {
		var ok bool
		if _, offset, ok = decodeCursor(raw); !ok {
			probs = append(probs, ingest.Problem{Path: "/query/cursor", Message: "not a cursor this API gave"})
		}
	}
	if len(probs) > 0 {
		return problem(c, http.StatusBadRequest, "Some query parameters are not valid.", probs...)
	}
	ctx := c.Request().Context()
	ws := TokenOf(c).WorkspaceID
	if ok, err := a.Handlers.Store.CanSeeLead(ctx, APIViewer(c), lead); err == nil && !ok {
		return problem(c, http.StatusNotFound, "There is no such lead.")
	} else if err != nil {
		return err
	}
	acts, total, err := a.Handlers.Store.ListActivities(ctx, ws, lead, store.ActivityFilter{Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := APIPage[APIActivity]{Data: []APIActivity{}, Total: total}
	for _, x := range acts {
		props := map[string]any{}
		_ = json.Unmarshal(x.Properties, &props)
		out.Data = append(out.Data, APIActivity{ID: x.ID, OccurredAt: x.OccurredAt, Source: x.Source, Type: x.EventType, Name: x.Name,
			Campaign: x.CampaignName, Canvas: x.CanvasName, URL: x.URL, Properties: props})
	}
	if offset+len(acts) < total {
		out.NextCursor = encodeCursor("", offset+len(acts))
	}
	return c.JSON(http.StatusOK, out)
}

func apiAccount(a store.AccountRow) APIAccount {
	return APIAccount{ID: a.ID, Domain: a.Domain, Name: a.Name, Industry: a.Industry, Employees: a.Employees, MainScore: a.MainScore,
		Grade: a.Grade, Temperature: a.Temperature, Labels: append([]string{}, a.Labels...), People: a.People, Engaged30: a.Engaged30,
		LastActive: a.LastActive}
}

// ListAccounts is GET /api/v1/accounts: by main score (or sort=people|engaged|activity), with
// the list's filters.
func (a *API) ListAccounts(c echo.Context) error {
	q := c.QueryParams()
	var probs []ingest.Problem
	f := store.AccountFilter{Search: strings.ToLower(truncate(strings.TrimSpace(q.Get("q")), maxSearchLength)), Label: q.Get("label")}
	switch s := q.Get("sort"); s {
	case "", "score":
	case store.AccountSortPeople, store.AccountSortEngaged, store.AccountSortActivity:
		f.Sort = s
	default:
		probs = append(probs, ingest.Problem{Path: "/query/sort", Message: "one of score, people, engaged or activity"})
	}
	for _, g := range q["grade"] {
		if len(g) != 1 || !strings.Contains("ABCDEF", g) {
			probs = append(probs, ingest.Problem{Path: "/query/grade", Message: "a grade from A to F"})
		}
		f.Grades = append(f.Grades, g)
	}
	f.Limit = apiLimit(q, &probs)
	if raw := q.Get("cursor"); raw != "" {
		var ok bool
		if _, f.Offset, ok = decodeCursor(raw); !ok {
			probs = append(probs, ingest.Problem{Path: "/query/cursor", Message: "not a cursor this API gave"})
		}
	}
	if len(probs) > 0 {
		return problem(c, http.StatusBadRequest, "Some query parameters are not valid.", probs...)
	}
	rows, total, err := a.Handlers.Store.ListAccounts(c.Request().Context(), APIViewer(c), f)
	if err != nil {
		return err
	}
	out := APIPage[APIAccount]{Data: []APIAccount{}, Total: total}
	for _, r := range rows {
		out.Data = append(out.Data, apiAccount(r))
	}
	if f.Offset+len(rows) < total {
		out.NextCursor = encodeCursor("", f.Offset+len(rows))
	}
	return c.JSON(http.StatusOK, out)
}

// GetAccount is GET /api/v1/accounts/{id}.
func (a *API) GetAccount(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return problem(c, http.StatusNotFound, "There is no such account.")
	}
	row, err := a.Handlers.Store.AccountByID(c.Request().Context(), APIViewer(c), id)
	if errors.Is(err, store.ErrNotFound) {
		return problem(c, http.StatusNotFound, "There is no such account.")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiAccount(row))
}

// PatchLead is PATCH /api/v1/leads/{id}: profile fields, owner and status; the lead is scored
// again. Unknown fields and bad values are 422 with their paths.
func (a *API) PatchLead(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return problem(c, http.StatusNotFound, "There is no such lead.")
	}
	body, ok, err := a.readBody(c)
	if !ok {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return problem(c, http.StatusBadRequest, "The body must be a JSON object of the fields to change.")
	}
	var p store.LeadPatch
	fields := map[string]**string{"first_name": &p.FirstName, "last_name": &p.LastName, "title": &p.Title, "company": &p.Company,
		"phone": &p.Phone, "country": &p.Country, "owner_name": &p.OwnerName, "owner_email": &p.OwnerEmail, "status": &p.Status}
	var probs []ingest.Problem
	for k, v := range raw {
		dst, known := fields[k]
		var s string
		switch {
		case !known:
			probs = append(probs, ingest.Problem{Path: "/" + k, Message: "not a field that can be changed (first_name, last_name, title, company, phone, country, owner_name, owner_email, status)"})
		case json.Unmarshal(v, &s) != nil:
			probs = append(probs, ingest.Problem{Path: "/" + k, Message: "must be a string"})
		case len(s) > 200:
			probs = append(probs, ingest.Problem{Path: "/" + k, Message: "at most 200 characters"})
		case k == "owner_email" && s != "" && events.CleanEmail(s) == "":
			probs = append(probs, ingest.Problem{Path: "/" + k, Message: "not a valid email address"})
		default:
			s = strings.TrimSpace(s)
			*dst = &s
		}
	}
	if len(probs) > 0 {
		return problem(c, http.StatusUnprocessableEntity, "Some fields cannot be changed that way.", probs...)
	}
	ctx := c.Request().Context()
	ws := TokenOf(c).WorkspaceID
	if err := a.Handlers.Store.PatchLead(ctx, APIViewer(c), id, p); errors.Is(err, store.ErrNotFound) {
		return problem(c, http.StatusNotFound, "There is no such lead.")
	} else if err != nil {
		return err
	}
	// Its refresh time is now: a refresh job scores it again in the background.
	if err := a.Handlers.Store.EnqueueJob(ctx, nil, ws, scoring.JobRefresh, "", time.Now()); err != nil {
		return err
	}
	a.Pipeline.JobQueued()
	l, err := a.Handlers.Store.LeadByID(ctx, ws, id)
	if err != nil {
		return err
	}
	return a.leadDetail(c, l)
}

// CreateLead is POST /api/v1/leads: a lead with status, source and owner as the API's entry
// rule says (Settings › Leads); when the rule lets the creator choose, owner_email names the
// owner (an active sales user or admin).
func (a *API) CreateLead(c echo.Context) error {
	body, ok, err := a.readBody(c)
	if !ok {
		return err
	}
	var in struct {
		Email, FirstName, LastName, Title, Company, Phone, Status, Source, OwnerEmail string
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return problem(c, http.StatusBadRequest, "The body must be a JSON object describing the lead.")
	}
	var probs []ingest.Problem
	fields := map[string]*string{"email": &in.Email, "first_name": &in.FirstName, "last_name": &in.LastName, "title": &in.Title,
		"company": &in.Company, "phone": &in.Phone, "status": &in.Status, "source": &in.Source, "owner_email": &in.OwnerEmail}
	for k, v := range raw {
		dst, known := fields[k]
		if !known {
			probs = append(probs, ingest.Problem{Path: "/" + k, Message: "not a field of a new lead"})
			continue
		}
		if json.Unmarshal(v, dst) != nil {
			probs = append(probs, ingest.Problem{Path: "/" + k, Message: "must be a string"})
		}
		*dst = strings.TrimSpace(*dst)
	}
	ctx := c.Request().Context()
	ws := TokenOf(c).WorkspaceID
	ls, err := a.Handlers.Store.ReadLeadSettings(ctx, ws)
	if err != nil {
		return err
	}
	rule := ls.Rule(store.PathAPI)
	if in.Status == "" {
		in.Status = rule.Status
	}
	if in.Source == "" {
		in.Source = rule.Source
	}
	form := views.NewLeadView{Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, Title: in.Title, Company: in.Company,
		Phone: in.Phone, Status: in.Status, Source: in.Source}
	if in.OwnerEmail != "" {
		if rule.OwnerMode != store.OwnerChoice {
			probs = append(probs, ingest.Problem{Path: "/owner_email", Message: "new leads from the API are owned as Settings › Leads says; the creator cannot choose"})
		}
		for _, u := range ls.Owners {
			if strings.EqualFold(u.Email, in.OwnerEmail) {
				form.Owner = strconv.FormatInt(u.ID, 10)
			}
		}
		if form.Owner == "" {
			probs = append(probs, ingest.Problem{Path: "/owner_email", Message: "not an active sales user or admin of this workspace"})
		}
	}
	n, errs := newLeadOf(ls, rule, form)
	for field, msg := range errs {
		path := "/" + field
		if field == "new_source" {
			path = "/source"
		}
		probs = append(probs, ingest.Problem{Path: path, Message: msg})
	}
	if len(probs) > 0 {
		return problem(c, http.StatusUnprocessableEntity, "The lead cannot be created that way; nothing was created.", probs...)
	}
	n.ByName, n.Path = "API token “"+TokenOf(c).Label+"”", store.PathAPI
	id, _, err := a.Handlers.Store.AddLead(ctx, ws, n)
	switch {
	case errors.Is(err, store.ErrLeadExists):
		return problem(c, http.StatusConflict, "A lead with this email exists already.")
	case errors.Is(err, store.ErrPoolEmpty):
		return problem(c, http.StatusUnprocessableEntity, "The pool new API leads go to has no active member (Settings › Leads).")
	case err != nil:
		return err
	}
	l, err := a.Handlers.Store.LeadByID(ctx, ws, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/leads/"+strconv.FormatInt(id, 10))
	return c.JSON(http.StatusCreated, apiLead(l))
}
