package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

const accountsPerPage = 50

// ShowAccountsPage lists accounts by their main score.
func (h *Handlers) ShowAccountsPage(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	page := pageParam(c)
	f := store.AccountFilter{Search: strings.ToLower(truncate(strings.TrimSpace(c.QueryParam("q")), maxSearchLength)),
		Label: truncate(strings.TrimSpace(c.QueryParam("label")), 60), Limit: accountsPerPage, Offset: (page - 1) * accountsPerPage}
	rows, total, err := h.Store.ListAccounts(ctx, id.Workspace.ID, f)
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
	for _, a := range rows {
		row := views.AccountRow{ID: a.ID, Domain: a.Domain, Name: a.Name, Score: formatScore(a.MainScore), People: a.People,
			Engaged: a.Engaged30, LastActive: "—"}
		if a.LastActive != nil {
			row.LastActive = ago(*a.LastActive)
		}
		for _, l := range a.Labels {
			row.Labels = append(row.Labels, labelChip(rs, l))
		}
		v.Rows = append(v.Rows, row)
	}
	v.Paging = paging(page, total, accountsPerPage, func(p int) string {
		q := url.Values{"page": {strconv.Itoa(p)}}
		if f.Search != "" {
			q.Set("q", f.Search)
		}
		if f.Label != "" {
			q.Set("label", f.Label)
		}
		return "/accounts?" + q.Encode()
	})
	return Render(c, http.StatusOK, views.AccountsPage(h.chrome(c, "Accounts", "accounts"), v))
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
	a, err := h.Store.AccountByID(ctx, id.Workspace.ID, accountID)
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
	people, total, err := h.Store.ListLeads(ctx, id.Workspace.ID, store.LeadFilter{AccountID: accountID, Sort: store.SortScore, Limit: 25})
	if err != nil {
		return err
	}
	page := pageParam(c)
	acts, err := h.Store.AccountActivities(ctx, id.Workspace.ID, accountID, activitiesPerPage+1, (page-1)*activitiesPerPage)
	if err != nil {
		return err
	}
	v := views.AccountView{ID: a.ID, Domain: a.Domain, Name: a.Name, Industry: a.Industry, People: a.People, Engaged: a.Engaged30,
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
	v.Days = timeline(acts)
	return Render(c, http.StatusOK, views.AccountPage(h.chrome(c, a.Domain, "accounts"), v))
}
