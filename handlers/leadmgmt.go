package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

var pathLabels = map[string]string{store.PathManual: "Leads created by hand (Leads › New lead)",
	store.PathAPI:         "Leads created through the API (POST /api/v1/leads and events)",
	store.PathTrackerForm: "Leads from the website tracker's forms",
	store.PathSegment:     "Leads from Segment's identify calls",
	store.PathCurrents:    "New people in Braze Currents"}

// entryPaths are the paths in the order the settings page shows them.
var entryPaths = []string{store.PathManual, store.PathAPI, store.PathTrackerForm, store.PathSegment, store.PathCurrents}

// ShowLeadSettings is Settings › Leads (admins).
func (h *Handlers) ShowLeadSettings(c echo.Context) error {
	return h.renderLeadSettings(c, http.StatusOK, nil)
}

func (h *Handlers) renderLeadSettings(c echo.Context, status int, errs views.FormErrors) error {
	ls, err := h.Store.ReadLeadSettings(c.Request().Context(), IdentityOf(c).Workspace.ID)
	if err != nil {
		return err
	}
	v := views.LeadSettingsView{Errors: errs, SalesAccess: IdentityOf(c).Workspace.SalesAccess}
	for i, st := range ls.Statuses {
		v.Statuses = append(v.Statuses, views.LeadStatusRow{ID: st.ID, Name: st.Name, IsDefault: st.IsDefault, First: i == 0, Last: i == len(ls.Statuses)-1})
	}
	for _, s := range ls.Sources {
		v.Sources = append(v.Sources, views.Option{Value: strconv.FormatInt(s.ID, 10), Label: s.Name})
	}
	for _, u := range ls.Owners {
		v.Users = append(v.Users, views.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name + " (" + u.Role.Label() + ")"})
	}
	for _, p := range ls.Pools {
		pv := views.PoolView{ID: p.ID, Name: p.Name}
		in := map[int64]bool{}
		for _, m := range ls.Members {
			if m.PoolID == p.ID {
				label := m.Name
				if !m.Active {
					label += " (deactivated: skipped)"
				}
				pv.Members = append(pv.Members, views.Option{Value: strconv.FormatInt(m.UserID, 10), Label: label})
				in[m.UserID] = true
			}
		}
		for _, u := range ls.Owners {
			if !in[u.ID] {
				pv.Others = append(pv.Others, views.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name})
			}
		}
		v.Pools = append(v.Pools, pv)
	}
	for _, path := range entryPaths {
		r := ls.Rule(path)
		rv := views.EntryRuleView{Path: path, Label: pathLabels[path], Status: r.Status, Source: r.Source, Mode: r.OwnerMode,
			Owner: idText(r.OwnerUserID), Pool: idText(r.PoolID)}
		rv.Statuses, rv.Sources = statusOptions(ls), sourceOptions(ls)
		rv.Owners = v.Users
		for _, p := range ls.Pools {
			rv.Pools = append(rv.Pools, views.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.Name})
		}
		v.Rules = append(v.Rules, rv)
	}
	return Render(c, status, views.LeadSettingsPage(h.chrome(c, "Lead settings", "settings-leads"), v))
}

func idText(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

func statusOptions(ls store.LeadSettings) []views.Option {
	var out []views.Option
	for _, st := range ls.Statuses {
		out = append(out, views.Option{Value: st.Name, Label: st.Name})
	}
	return out
}

func sourceOptions(ls store.LeadSettings) []views.Option {
	var out []views.Option
	for _, s := range ls.Sources {
		out = append(out, views.Option{Value: s.Name, Label: s.Name})
	}
	return out
}

// settingName reads a status, source or pool name from the form; "" with a message when bad.
func settingName(c echo.Context) (string, string) {
	name := strings.TrimSpace(c.FormValue("name"))
	if name == "" || utf8.RuneCountInString(name) > 60 {
		return "", "Give it a name of 1 to 60 characters."
	}
	return name, ""
}

// SaveSalesAccess sets what the workspace's sales users see: all leads or only their own.
func (h *Handlers) SaveSalesAccess(c echo.Context) error {
	access := c.FormValue("sales_access")
	if access != store.SalesSeeAll && access != store.SalesSeeOwn {
		return h.renderLeadSettings(c, http.StatusUnprocessableEntity, views.FormErrors{"sales_access": "Choose what sales users see."})
	}
	if err := h.Store.SetSalesAccess(c.Request().Context(), IdentityOf(c).Workspace.ID, access); err != nil {
		return err
	}
	msg := "Sales users now see every lead."
	if access == store.SalesSeeOwn {
		msg = "Sales users now see only their own leads and their pools' unassigned leads."
	}
	h.flash(c, "success", msg)
	return redirect(c, "/settings/leads#data-access")
}

// AddLeadStatus adds a status at the end.
func (h *Handlers) AddLeadStatus(c echo.Context) error {
	name, msg := settingName(c)
	if msg == "" {
		if err := h.Store.AddLeadStatus(c.Request().Context(), IdentityOf(c).Workspace.ID, name); errors.Is(err, store.ErrNameTaken) {
			msg = "There is a status with this name already."
		} else if err != nil {
			return err
		}
	}
	if msg != "" {
		return h.renderLeadSettings(c, http.StatusUnprocessableEntity, views.FormErrors{"status": msg})
	}
	h.flash(c, "success", "Status “"+name+"” added.")
	return redirect(c, "/settings/leads#lead-statuses")
}

// ChangeLeadStatus moves, makes default or deletes a status.
func (h *Handlers) ChangeLeadStatus(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	action := c.Param("action")
	if err != nil || !slices.Contains([]string{"up", "down", "default", "delete"}, action) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such status.")
	}
	err = h.Store.ChangeLeadStatus(c.Request().Context(), IdentityOf(c).Workspace.ID, id, action)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "There is no such status.")
	case errors.Is(err, store.ErrDefaultStatus):
		return h.renderLeadSettings(c, http.StatusUnprocessableEntity, views.FormErrors{"status": "Make another status the default before deleting this one."})
	case err != nil:
		return err
	}
	return redirect(c, "/settings/leads#lead-statuses")
}

// AddLeadSource adds a source.
func (h *Handlers) AddLeadSource(c echo.Context) error {
	name, msg := settingName(c)
	if msg != "" {
		return h.renderLeadSettings(c, http.StatusUnprocessableEntity, views.FormErrors{"source": msg})
	}
	if err := h.Store.AddLeadSource(c.Request().Context(), IdentityOf(c).Workspace.ID, name); err != nil {
		return err
	}
	return redirect(c, "/settings/leads#lead-sources")
}

// DeleteLeadSource removes a source from the choices.
func (h *Handlers) DeleteLeadSource(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err == nil {
		err = h.Store.DeleteLeadSource(c.Request().Context(), IdentityOf(c).Workspace.ID, id)
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such source.")
	}
	return redirect(c, "/settings/leads#lead-sources")
}

// SavePool creates a pool (no id) or sets an existing one's members (the form lists them in
// order; an added member comes last).
func (h *Handlers) SavePool(c echo.Context) error {
	name, msg := settingName(c)
	if msg != "" {
		return h.renderLeadSettings(c, http.StatusUnprocessableEntity, views.FormErrors{"pool": msg})
	}
	var id int64
	if raw := c.Param("id"); raw != "" {
		var err error
		if id, err = strconv.ParseInt(raw, 10, 64); err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such pool.")
		}
	}
	form, _ := c.FormParams()
	var members []int64
	for _, raw := range form["member"] {
		if m, err := strconv.ParseInt(raw, 10, 64); err == nil && !slices.Contains(members, m) {
			members = append(members, m)
		}
	}
	return h.storePool(c, id, name, members)
}

func (h *Handlers) storePool(c echo.Context, id int64, name string, members []int64) error {
	_, err := h.Store.SavePool(c.Request().Context(), IdentityOf(c).Workspace.ID, id, name, members)
	switch {
	case errors.Is(err, store.ErrNameTaken):
		return h.renderLeadSettings(c, http.StatusUnprocessableEntity, views.FormErrors{"pool": "There is a pool with this name already."})
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "There is no such pool.")
	case err != nil:
		return err
	}
	return redirect(c, "/settings/leads#pools")
}

// RemovePoolMember takes a member out of a pool (the others keep their order).
func (h *Handlers) RemovePoolMember(c echo.Context) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	id, err1 := strconv.ParseInt(c.Param("id"), 10, 64)
	user, err2 := strconv.ParseInt(c.Param("user"), 10, 64)
	ls, err := h.Store.ReadLeadSettings(ctx, ws)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ls.Pools, func(p store.NamedID) bool { return p.ID == id })
	if err1 != nil || err2 != nil || i < 0 {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such pool.")
	}
	var members []int64
	for _, m := range ls.Members {
		if m.PoolID == id && m.UserID != user {
			members = append(members, m.UserID)
		}
	}
	return h.storePool(c, id, ls.Pools[i].Name, members)
}

// DeletePool removes a pool.
func (h *Handlers) DeletePool(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err == nil {
		err = h.Store.DeletePool(c.Request().Context(), IdentityOf(c).Workspace.ID, id)
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such pool.")
	}
	h.flash(c, "success", "Pool deleted.")
	return redirect(c, "/settings/leads#pools")
}

// SaveEntryRule stores how an entry path creates leads.
func (h *Handlers) SaveEntryRule(c echo.Context) error {
	path := c.Param("path")
	if !slices.Contains(entryPaths, path) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such entry path.")
	}
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	ls, err := h.Store.ReadLeadSettings(ctx, ws)
	if err != nil {
		return err
	}
	r := store.EntryRule{Path: path, Status: c.FormValue("status"), Source: c.FormValue("source"), OwnerMode: c.FormValue("mode")}
	problem := ""
	switch r.OwnerMode {
	case store.OwnerUser:
		id, _ := strconv.ParseInt(c.FormValue("owner"), 10, 64)
		if !slices.ContainsFunc(ls.Owners, func(u model.User) bool { return u.ID == id }) {
			problem = "Choose the user who owns these leads."
		}
		r.OwnerUserID = &id
	case store.OwnerPool:
		id, _ := strconv.ParseInt(c.FormValue("pool"), 10, 64)
		if !slices.ContainsFunc(ls.Pools, func(p store.NamedID) bool { return p.ID == id }) {
			problem = "Choose the pool that shares these leads."
		}
		r.PoolID = &id
	case store.OwnerChoice, store.OwnerNone:
	default:
		problem = "Choose who owns new leads."
	}
	if r.Status != "" && !slices.ContainsFunc(ls.Statuses, func(s store.LeadStatus) bool { return s.Name == r.Status }) {
		problem = "Choose one of the statuses."
	}
	if problem != "" {
		return h.renderLeadSettings(c, http.StatusUnprocessableEntity, views.FormErrors{"rule": problem, "pool": problem})
	}
	if err := h.Store.SaveEntryRule(ctx, ws, r); err != nil {
		return err
	}
	h.flash(c, "success", "Saved: "+strings.ToLower(pathLabels[path][:1])+pathLabels[path][1:]+" follow the new rule.")
	return redirect(c, "/settings/leads")
}

// ShowNewLead is the new-lead form (every role that sees leads).
func (h *Handlers) ShowNewLead(c echo.Context) error {
	return h.renderNewLead(c, http.StatusOK, views.NewLeadView{})
}

func (h *Handlers) renderNewLead(c echo.Context, status int, v views.NewLeadView) error {
	ls, err := h.Store.ReadLeadSettings(c.Request().Context(), IdentityOf(c).Workspace.ID)
	if err != nil {
		return err
	}
	r := ls.Rule(store.PathManual)
	if v.Errors == nil {
		v.Status, v.Source = r.Status, r.Source
		if v.Status == "" {
			for _, st := range ls.Statuses {
				if st.IsDefault {
					v.Status = st.Name
				}
			}
		}
	}
	v.Statuses, v.Sources, v.OwnerMode = statusOptions(ls), sourceOptions(ls), r.OwnerMode
	for _, u := range ls.Owners {
		v.Owners = append(v.Owners, views.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name})
	}
	v.OwnerNote = ownerNote(ls, r)
	return Render(c, status, views.NewLeadPage(h.chrome(c, "New lead", "leads"), v))
}

// ownerNote says who will own a lead the creator does not assign.
func ownerNote(ls store.LeadSettings, r store.EntryRule) string {
	switch r.OwnerMode {
	case store.OwnerUser:
		for _, u := range ls.Owners {
			if r.OwnerUserID != nil && u.ID == *r.OwnerUserID {
				return u.Name + " (Settings › Leads)."
			}
		}
	case store.OwnerPool:
		for _, p := range ls.Pools {
			if r.PoolID != nil && p.ID == *r.PoolID {
				return "the next member of the pool “" + p.Name + "”, in turn."
			}
		}
	case store.OwnerChoice:
		return "the person you choose."
	}
	return "nobody (Settings › Leads decides)."
}

// CreateLeadFromForm creates a lead by hand, owned as the manual entry rule says.
func (h *Handlers) CreateLeadFromForm(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	v := views.NewLeadView{Email: strings.TrimSpace(c.FormValue("email")), FirstName: strings.TrimSpace(c.FormValue("first_name")),
		LastName: strings.TrimSpace(c.FormValue("last_name")), Title: strings.TrimSpace(c.FormValue("title")), Company: strings.TrimSpace(c.FormValue("company")),
		Phone: strings.TrimSpace(c.FormValue("phone")), Status: c.FormValue("status"), Source: c.FormValue("source"),
		NewSource: strings.TrimSpace(c.FormValue("new_source")), Owner: c.FormValue("owner"), Errors: views.FormErrors{}}
	ls, err := h.Store.ReadLeadSettings(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	rule := ls.Rule(store.PathManual)
	if v.Status == "" { // not chosen: the path's default
		v.Status = rule.Status
	}
	if v.Source == "" && v.NewSource == "" {
		v.Source = rule.Source
	}
	n, errs := newLeadOf(ls, rule, v)
	if len(errs) > 0 {
		v.Errors = errs
		return h.renderNewLead(c, http.StatusUnprocessableEntity, v)
	}
	if v.NewSource != "" {
		if err := h.Store.AddLeadSource(ctx, id.Workspace.ID, v.NewSource); err != nil {
			return err
		}
	}
	n.ByUserID, n.ByName, n.Path = id.User.ID, id.User.Name, store.PathManual
	leadID, _, err := h.Store.AddLead(ctx, id.Workspace.ID, n)
	switch {
	case errors.Is(err, store.ErrLeadExists):
		v.Errors["email"] = "A lead with this email exists already: find it in the lead list."
		return h.renderNewLead(c, http.StatusConflict, v)
	case errors.Is(err, store.ErrPoolEmpty):
		v.Errors["owner"] = "The pool new leads go to has no active member: add one under Settings › Leads."
		return h.renderNewLead(c, http.StatusUnprocessableEntity, v)
	case err != nil:
		return err
	}
	return h.afterLeadChange(c, leadID, "Lead created.", "")
}

// newLeadOf checks a new lead's fields against the settings and the entry rule; errors by
// field name.
func newLeadOf(ls store.LeadSettings, r store.EntryRule, v views.NewLeadView) (store.NewLead, views.FormErrors) {
	errs := views.FormErrors{}
	n := store.NewLead{Email: events.CleanEmail(v.Email), FirstName: v.FirstName, LastName: v.LastName, Title: v.Title, Company: v.Company,
		Phone: v.Phone, Status: v.Status, Source: v.Source}
	if n.Email == "" {
		errs["email"] = "Enter the person's email address, like ana@company.com."
	}
	for field, val := range map[string]string{"first_name": v.FirstName, "last_name": v.LastName, "title": v.Title, "company": v.Company, "phone": v.Phone} {
		if utf8.RuneCountInString(val) > 200 {
			errs[field] = "At most 200 characters."
		}
	}
	if n.Status != "" && !slices.ContainsFunc(ls.Statuses, func(s store.LeadStatus) bool { return s.Name == n.Status }) {
		errs["status"] = "Choose one of the statuses."
	}
	if v.NewSource != "" {
		if utf8.RuneCountInString(v.NewSource) > 60 {
			errs["new_source"] = "At most 60 characters."
		}
		n.Source = v.NewSource
	} else if n.Source != "" && !slices.ContainsFunc(ls.Sources, func(s store.NamedID) bool { return s.Name == n.Source }) {
		errs["new_source"] = "Choose a source, or name a new one."
	}
	switch r.OwnerMode {
	case store.OwnerChoice:
		if v.Owner != "" {
			owner, _ := strconv.ParseInt(v.Owner, 10, 64)
			if !slices.ContainsFunc(ls.Owners, func(u model.User) bool { return u.ID == owner }) {
				errs["owner"] = "Choose an owner from the list (active sales users and admins)."
			}
			n.OwnerUserID = owner
		}
	case store.OwnerUser:
		if r.OwnerUserID != nil {
			n.OwnerUserID = *r.OwnerUserID
		}
	case store.OwnerPool:
		if r.PoolID != nil {
			n.PoolID = *r.PoolID
		}
	}
	return n, errs
}

// afterLeadChange goes to the lead's page — or, when the lead now belongs to someone else and
// the workspace keeps sales users to their own leads, back to the list with a word on why.
func (h *Handlers) afterLeadChange(c echo.Context, leadID int64, done, anchor string) error {
	ok, err := h.Store.CanSeeLead(c.Request().Context(), IdentityOf(c).Viewer(), leadID)
	if err != nil {
		return err
	}
	if !ok {
		h.flash(c, "success", done+" The lead belongs to someone else now, so it is not in your list (sales users see only their own leads here).")
		return redirect(c, "/leads")
	}
	h.flash(c, "success", done)
	return redirect(c, "/leads/"+strconv.FormatInt(leadID, 10)+anchor)
}

// assignView fills the lead page's status and owner form and the changes logged.
func (h *Handlers) assignView(c echo.Context, l model.Lead, a *views.AssignView) error {
	ctx := c.Request().Context()
	ls, err := h.Store.ReadLeadSettings(ctx, l.WorkspaceID)
	if err != nil {
		return err
	}
	a.Status, a.Source, a.OwnerID, a.Statuses = l.Status, l.Source, idText(l.OwnerUserID), statusOptions(ls)
	if l.Status != "" && !slices.ContainsFunc(ls.Statuses, func(s store.LeadStatus) bool { return s.Name == l.Status }) {
		a.Statuses = append(a.Statuses, views.Option{Value: l.Status, Label: l.Status + " (from Salesforce)"})
	}
	for _, u := range ls.Owners {
		a.Owners = append(a.Owners, views.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name})
	}
	changes, err := h.Store.LeadChanges(ctx, l.WorkspaceID, l.ID)
	if err != nil {
		return err
	}
	loc := userLocation(c)
	for _, ch := range changes {
		who := ch.ByName
		if who == "" {
			who = "the API"
		}
		a.Changes = append(a.Changes, views.Pair{Label: views.FormatTimeIn(&ch.CreatedAt, loc) + " · " + who, Value: ch.Detail})
	}
	return nil
}

// AssignLead changes a lead's status and owner from its page (logged).
func (h *Handlers) AssignLead(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	leadID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	}
	ls, err := h.Store.ReadLeadSettings(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	status := c.FormValue("status")
	owner, ownerErr := strconv.ParseInt(c.FormValue("owner"), 10, 64)
	l, err := h.Store.LeadFor(ctx, id.Viewer(), leadID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	} else if err != nil {
		return err
	}
	problem := ""
	if status != "" && status != l.Status && !slices.ContainsFunc(ls.Statuses, func(s store.LeadStatus) bool { return s.Name == status }) {
		problem = "Choose one of the statuses."
	}
	if ownerErr != nil || (owner != 0 && !slices.ContainsFunc(ls.Owners, func(u model.User) bool { return u.ID == owner })) {
		problem = "Choose an owner from the list (active sales users and admins)."
	}
	if problem != "" {
		return h.showLead(c, http.StatusUnprocessableEntity, func(v *views.LeadView) { v.Assign.Error = problem })
	}
	var st *string
	if status != "" {
		st = &status
	}
	if err := h.Store.ChangeLeadOwnerStatus(ctx, id.Workspace.ID, leadID, st, &owner, id.User.ID, id.User.Name); err != nil {
		return err
	}
	return h.afterLeadChange(c, leadID, "Saved.", "#assign")
}
