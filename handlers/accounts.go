package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/cards"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

const accountsPerPage = 50

// ShowAccountsPage lists accounts by their main score.
func (h *Handlers) ShowAccountsPage(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	page := pageParam(c)
	f := accountListQuery(c)
	f.Limit, f.Offset = accountsPerPage, (page-1)*accountsPerPage
	rows, total, err := h.Store.ListAccounts(ctx, id.Viewer(), f)
	if err != nil {
		return err
	}
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	v := views.AccountsView{Total: total, Query: f.Search, Label: f.Label}
	for _, sc := range rs.Scores {
		if sc.IsMain {
			v.MainScore = sc.Name
		}
	}
	for _, l := range rs.AccountLabels {
		v.AllLabels = append(v.AllLabels, labelChip(rs, l.Name))
	}
	card, err := publishedCard(ctx, h.Store, id.Workspace.ID, cards.Companies)
	if err != nil {
		return err
	}
	v.Columns = cardColumns(cards.Companies, card)
	for _, a := range rows {
		row := views.AccountRow{Cells: companyCells(rs, card, a), ID: a.ID, Domain: a.Domain, Name: a.Name, Score: formatScore(a.MainScore), People: a.People,
			Engaged: a.Engaged30, LastActive: "—", Grade: a.Grade, Temperature: a.Temperature}
		if a.LastActive != nil {
			row.LastActive = ago(*a.LastActive)
		}
		for _, l := range a.Labels {
			row.Labels = append(row.Labels, labelChip(rs, l))
		}
		v.Rows = append(v.Rows, row)
	}
	keep := url.Values{}
	if f.Search != "" {
		keep.Set("q", f.Search)
	}
	if f.Label != "" {
		keep.Set("label", f.Label)
	}
	if f.Sort != "" {
		keep.Set("sort", f.Sort)
	}
	keep["grade"], keep["temp"] = f.Grades, f.Temps
	if f.MinScore != nil {
		keep.Set("min", formatScore(*f.MinScore))
		v.Min = formatScore(*f.MinScore)
	}
	if f.MinEngaged > 0 {
		keep.Set("engaged", strconv.Itoa(f.MinEngaged))
		v.Engaged = strconv.Itoa(f.MinEngaged)
	}
	v.Grades, v.Temps = f.Grades, f.Temps
	v.Sort = f.Sort
	v.SortLinks = sortLinks("/accounts", keep, "", store.AccountSortPeople, store.AccountSortEngaged, store.AccountSortActivity)
	v.Paging = paging(page, total, accountsPerPage, func(p int) string {
		q := cloneValues(keep)
		q.Set("page", strconv.Itoa(p))
		return "/accounts?" + q.Encode()
	})
	v.CSVURL = "/accounts.csv?" + keep.Encode()
	return Render(c, http.StatusOK, views.AccountsPage(h.chrome(c, "Accounts", "accounts"), v))
}

// ExportAccountsCSV downloads the filtered account list as CSV, in the list's order.
func (h *Handlers) ExportAccountsCSV(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	f := accountListQuery(c)
	base := h.workspaceURL(id.Workspace)
	header := []string{"domain", "name", "industry", "employees", "main_score", "labels", "people", "engaged_30d", "last_active_at", "peregrine_url"}
	return streamCSV(c, "accounts", header, func(offset, limit int) ([][]string, error) {
		f.Offset, f.Limit = offset, limit
		accounts, _, err := h.Store.ListAccounts(ctx, id.Viewer(), f)
		rows := make([][]string, 0, len(accounts))
		for _, a := range accounts {
			employees := ""
			if a.Employees != nil {
				employees = strconv.Itoa(*a.Employees)
			}
			rows = append(rows, []string{a.Domain, a.Name, a.Industry, employees, formatScore(a.MainScore), strings.Join(a.Labels, "; "),
				strconv.Itoa(a.People), strconv.Itoa(a.Engaged30), csvTime(a.LastActive), fmt.Sprintf("%s/accounts/%d", base, a.ID)})
		}
		return rows, err
	})
}

// accountListQuery reads the accounts list's search and label filter.
func accountListQuery(c echo.Context) store.AccountFilter {
	f := store.AccountFilter{Search: strings.ToLower(truncate(strings.TrimSpace(c.QueryParam("q")), maxSearchLength)),
		Label: truncate(strings.TrimSpace(c.QueryParam("label")), 60)}
	if s := c.QueryParam("sort"); s == store.AccountSortPeople || s == store.AccountSortEngaged || s == store.AccountSortActivity {
		f.Sort = s
	}
	for _, g := range c.QueryParams()["grade"] {
		if len(g) == 1 && strings.Contains("ABCDEF", g) && !slices.Contains(f.Grades, g) {
			f.Grades = append(f.Grades, g)
		}
	}
	f.MinScore = scoreBound(c.QueryParam("min"), url.Values{}, "min")
	if n, err := strconv.Atoi(strings.TrimSpace(c.QueryParam("engaged"))); err == nil && n > 0 && n <= 100000 {
		f.MinEngaged = n
	}
	for _, t := range c.QueryParams()["temp"] {
		if slices.Contains(temperatures, t) && !slices.Contains(f.Temps, t) {
			f.Temps = append(f.Temps, t)
		}
	}
	return f
}

// ShowAccountPage shows an account: its scores and labels, its people ranked by score, and
// its timeline.
func (h *Handlers) ShowAccountPage(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	accountID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such account in this workspace.")
	}
	a, err := h.Store.AccountByID(ctx, id.Viewer(), accountID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such account in this workspace.")
	}
	if err != nil {
		return err
	}
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	scores, err := h.Store.AccountScoreValues(ctx, id.Workspace.ID, accountID)
	if err != nil {
		return err
	}
	people, total, err := h.Store.ListLeads(ctx, id.Viewer(), store.LeadFilter{AccountID: accountID, Sort: store.SortScore, Limit: 25})
	if err != nil {
		return err
	}
	page := pageParam(c)
	acts, err := h.Store.AccountActivities(ctx, id.Viewer(), accountID, activitiesPerPage+1, (page-1)*activitiesPerPage)
	if err != nil {
		return err
	}
	card, err := publishedCard(ctx, h.Store, id.Workspace.ID, cards.Companies)
	if err != nil {
		return err
	}
	v := views.AccountView{Card: companyCells(rs, card, a), ID: a.ID, Domain: a.Domain, Name: a.Name, Industry: a.Industry, People: a.People, Engaged: a.Engaged30,
		Grade: a.Grade, Temperature: a.Temperature,
		MorePeople: total > len(people), PeopleURL: fmt.Sprintf("/leads?account=%d", a.ID)}
	if a.Employees != nil {
		v.Employees = strconv.Itoa(*a.Employees)
	}
	for _, s := range scores {
		v.Scores = append(v.Scores, views.Pair{Label: s.Name, Value: formatScore(s.Value)})
	}
	for _, l := range a.Labels {
		v.Labels = append(v.Labels, labelChip(rs, l))
	}
	for _, l := range people {
		v.Rows = append(v.Rows, leadRow(rs, l))
	}
	v.Paging = views.Paging{Page: page, Pages: page}
	if len(acts) > activitiesPerPage {
		acts = acts[:activitiesPerPage]
		v.Paging.Pages = page + 1
		v.Paging.NextURL = fmt.Sprintf("/accounts/%d?page=%d", a.ID, page+1)
	}
	if page > 1 {
		v.Paging.PrevURL = fmt.Sprintf("/accounts/%d?page=%d", a.ID, page-1)
	}
	v.Days = timeline(acts, userLocation(c))
	// An account's timeline says who did what.
	var ids []int64
	for _, a := range acts {
		ids = append(ids, a.LeadID)
	}
	names, err := h.Store.LeadNames(ctx, id.Workspace.ID, ids)
	if err != nil {
		return err
	}
	for d := range v.Days {
		for i := range v.Days[d].Items {
			it := &v.Days[d].Items[i]
			it.Person = names[it.LeadID]
		}
	}
	return Render(c, http.StatusOK, views.AccountPage(h.chrome(c, a.Domain, "accounts"), v))
}
