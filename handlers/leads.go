package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

const leadsPerPage = 50

// ShowLeadsPage lists the workspace's leads.
func (h *Handlers) ShowLeadsPage(c echo.Context) error {
	id := IdentityOf(c)
	page, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || page < 1 {
		page = 1
	}
	leads, total, err := h.Store.ListLeads(c.Request().Context(), id.Workspace.ID, store.LeadFilter{Limit: leadsPerPage, Offset: (page - 1) * leadsPerPage})
	if err != nil {
		return err
	}
	v := views.LeadsView{Total: total, Page: page, Pages: (total + leadsPerPage - 1) / leadsPerPage,
		CanConnect: id.User.Role.Can(model.PermManageMarketing), CanInvite: id.User.Role.Can(model.PermManageSettings)}
	for _, l := range leads {
		name := strings.TrimSpace(l.FirstName + " " + l.LastName)
		if name == "" {
			name = l.Email
		}
		v.Rows = append(v.Rows, views.LeadRow{Name: name, Email: l.Email, Company: l.Company, LastActivity: views.FormatTime(l.LastActivityAt)})
	}
	if page > 1 {
		v.PrevURL = "/leads?page=" + strconv.Itoa(page-1)
	}
	if page < v.Pages {
		v.NextURL = "/leads?page=" + strconv.Itoa(page+1)
	}
	return Render(c, http.StatusOK, views.LeadsPage(h.chrome(c, "Leads", "leads"), v))
}
