package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
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
	return page
}

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

// ShowLeadsPage lists the workspace's leads, newest activity first, with search.
func (h *Handlers) ShowLeadsPage(c echo.Context) error {
	id := IdentityOf(c)
	page := pageParam(c)
	query := strings.TrimSpace(c.QueryParam("q"))
	if len(query) > maxSearchLength {
		query = query[:maxSearchLength]
	}
	leads, total, err := h.Store.ListLeads(c.Request().Context(), id.Workspace.ID,
		store.LeadFilter{Search: query, Limit: leadsPerPage, Offset: (page - 1) * leadsPerPage})
	if err != nil {
		return err
	}
	v := views.LeadsView{Total: total, Query: query,
		CanConnect: id.User.Role.Can(model.PermManageMarketing), CanInvite: id.User.Role.Can(model.PermManageSettings)}
	for _, l := range leads {
		company := l.Company
		if company == "" && l.AccountDomain != nil {
			company = *l.AccountDomain
		}
		v.Rows = append(v.Rows, views.LeadRow{ID: l.ID, Name: leadName(l), Email: l.Email, Company: company,
			Activities: l.ActivityCount, LastActivity: views.FormatTime(l.LastActivityAt)})
	}
	v.Paging = paging(page, total, leadsPerPage, func(p int) string {
		q := url.Values{"page": {strconv.Itoa(p)}}
		if query != "" {
			q.Set("q", query)
		}
		return "/leads?" + q.Encode()
	})
	return Render(c, http.StatusOK, views.LeadsPage(h.chrome(c, "Leads", "leads"), v))
}

var identityLabels = map[string]string{
	model.IdentityBrazeUser:  "Braze user id",
	model.IdentityExternalID: "External id",
	model.IdentityPhone:      "Phone",
}

// ShowLeadPage shows a lead's profile and activity timeline.
func (h *Handlers) ShowLeadPage(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	leadID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	}
	l, err := h.Store.LeadByID(ctx, id.Workspace.ID, leadID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	}
	if err != nil {
		return err
	}
	filter := c.QueryParam("type")
	page := pageParam(c)
	acts, total, err := h.Store.ListActivities(ctx, id.Workspace.ID, leadID,
		store.ActivityFilter{EventType: filter, Limit: activitiesPerPage, Offset: (page - 1) * activitiesPerPage})
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
	v := views.LeadView{ID: l.ID, Name: leadName(l), Email: l.Email, Company: l.Company, Country: l.Country, TimeZone: l.TimeZone,
		Phone: l.Phone, FirstSeen: views.FormatTime(l.FirstActivityAt), LastSeen: views.FormatTime(l.LastActivityAt),
		Activities: l.ActivityCount, Filter: filter, Total: total}
	if l.AccountDomain != nil {
		v.Account = *l.AccountDomain
	}
	for _, i := range idents {
		v.Identities = append(v.Identities, views.Pair{Label: identityLabels[i.Kind], Value: i.Value})
	}
	v.Attributes = attributePairs(l.CustomAttributes)
	v.Filters = append(v.Filters, views.FilterOption{Value: "", Label: "All activity"})
	for _, t := range types {
		v.Filters = append(v.Filters, views.FilterOption{Value: t.EventType, Label: fmt.Sprintf("%s (%d)", t.EventType, t.Count), Count: t.Count})
	}
	v.Days = timeline(acts)
	v.Paging = paging(page, total, activitiesPerPage, func(p int) string {
		q := url.Values{"page": {strconv.Itoa(p)}}
		if filter != "" {
			q.Set("type", filter)
		}
		return fmt.Sprintf("/leads/%d?%s", leadID, q.Encode())
	})
	return Render(c, http.StatusOK, views.LeadPage(h.chrome(c, v.Name, "leads"), v))
}

// timeline groups activities (already newest first) by UTC day.
func timeline(acts []model.Activity) []views.TimelineDay {
	var days []views.TimelineDay
	for _, a := range acts {
		day := a.OccurredAt.UTC().Format("Monday, January 2, 2006")
		if len(days) == 0 || days[len(days)-1].Day != day {
			days = append(days, views.TimelineDay{Day: day})
		}
		item := views.TimelineItem{Time: a.OccurredAt.UTC().Format("15:04 UTC"), Name: a.Name, Type: a.EventType, Source: a.Source,
			Tone: toneOf(a.EventType)}
		item.Category, item.Title = splitCategory(a.Name)
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

// splitCategory separates "[Category] rest" for display; names stay whole in the data.
func splitCategory(name string) (string, string) {
	if strings.HasPrefix(name, "[") {
		if end := strings.Index(name, "] "); end > 0 {
			return name[1:end], name[end+2:]
		}
	}
	return "", name
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
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []views.Pair
	for _, k := range keys {
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
