package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/crmsync"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

var objectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// ShowSalesforceSyncPage shows what is synced: object, match field, options, field mapping.
func (h *Handlers) ShowSalesforceSyncPage(c echo.Context) error {
	id := IdentityOf(c)
	st, err := h.Store.SyncSettings(c.Request().Context(), id.Workspace.ID)
	if err != nil {
		return err
	}
	maps, err := h.Store.FieldMaps(c.Request().Context(), id.Workspace.ID)
	if err != nil {
		return err
	}
	chosen := map[string]model.FieldMap{}
	for _, m := range maps {
		chosen[m.PeregrineField] = m
	}
	return h.renderSalesforceSync(c, http.StatusOK, st, chosen, views.FormErrors{}, c.QueryParam("check") == "1")
}

func (h *Handlers) renderSalesforceSync(c echo.Context, status int, st model.SyncSettings, chosen map[string]model.FieldMap, errs views.FormErrors, check bool) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	v := views.SalesforceSyncView{Object: st.Object, MatchField: st.MatchField, GetDetails: st.GetDetails, CreateMissing: st.CreateMissing,
		UpdateExisting: st.UpdateExisting, PushOnChange: st.PushOnChange, Placeholder: st.Placeholder, ReconcileHours: st.ReconcileHours, Errors: errs,
		PullEnabled: st.PullEnabled, PullObject: st.PullObject, PullFilterField: st.PullFilterField, PullEvery: st.PullEveryMinutes}
	if st.LastPullAt != nil {
		v.LastPull = ago(*st.LastPullAt)
	}
	sess, _, err := h.Salesforce.Session(ctx, id.Workspace.ID)
	if errors.Is(err, crmsync.ErrNotConnected) {
		return Render(c, status, views.SalesforceSyncPage(h.chrome(c, "Salesforce sync", "integrations"), v))
	}
	if err != nil {
		return err
	}
	v.Connected = true
	if check {
		h.Pipeline.Salesforce.ForgetDescribe(id.Workspace.ID)
	}
	desc, err := sess.DescribeObject(ctx, st.Object)
	_ = h.Salesforce.Record(ctx, id.Workspace.ID, err)
	if err != nil {
		p := salesforce.Explain(err)
		v.DescribeError = fmt.Sprintf("Salesforce could not describe %s: %s %s", st.Object, p.Cause, p.Fix)
	}
	scores, err := h.Store.ListScoreNames(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	existing := map[string]salesforce.Field{}
	for _, f := range desc.Fields {
		existing[strings.ToLower(f.Name)] = f
		if f.IDLookup && (f.Type == "email" || f.Type == "string") {
			v.MatchOptions = append(v.MatchOptions, views.FilterOption{Value: f.Name, Label: f.Label + " (" + f.Name + ")"})
		}
	}
	for _, pf := range crmsync.Catalog(scores) {
		row := views.MappingRow{Key: pf.Key, Label: pf.Label, ToOnly: pf.ToOnly, Direction: model.ToSalesforce}
		if m, ok := chosen[pf.Key]; ok {
			row.Field, row.Direction = m.SalesforceField, m.Direction
			if f, ok := existing[strings.ToLower(m.SalesforceField)]; !ok {
				row.Problem = "This field is gone or hidden from the connected user (field-level security)."
			} else if !f.Updateable && m.Direction != model.FromSalesforce {
				row.Problem = "This field is read-only for the connected user: Peregrine cannot write it."
			}
		}
		for _, f := range desc.Fields {
			if crmsync.Compatible(pf.Kind, f) && (f.Updateable || !pf.ToOnly) && f.Type != "id" {
				row.Options = append(row.Options, views.FilterOption{Value: f.Name, Label: f.Label + " (" + f.Name + ", " + f.Type + ")"})
			}
		}
		row.Error = errs["map:"+pf.Key]
		v.Rows = append(v.Rows, row)
		if pf.Suggest != "" && row.Field == "" {
			api := strings.Fields(pf.Suggest)[0]
			if _, ok := existing[strings.ToLower(api)]; !ok {
				v.Suggestions = append(v.Suggestions, pf.Suggest+" — for "+pf.Label)
			}
		}
	}
	if v.Progress, err = h.syncProgress(c); err != nil {
		return err
	}
	return Render(c, status, views.SalesforceSyncPage(h.chrome(c, "Salesforce sync", "integrations"), v))
}

// SaveSalesforceSync validates and stores the sync settings and mapping.
func (h *Handlers) SaveSalesforceSync(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	st := model.SyncSettings{Object: strings.TrimSpace(c.FormValue("object")), MatchField: strings.TrimSpace(c.FormValue("match_field")),
		GetDetails: c.FormValue("get_details") == "on", CreateMissing: c.FormValue("create_missing") == "on",
		UpdateExisting: c.FormValue("update_existing") == "on", PushOnChange: c.FormValue("push_on_change") == "on",
		Placeholder: strings.TrimSpace(c.FormValue("placeholder")), PullEnabled: c.FormValue("pull_enabled") == "on",
		PullObject: c.FormValue("pull_object"), PullFilterField: strings.TrimSpace(c.FormValue("pull_filter_field"))}
	st.PullEveryMinutes, _ = strconv.Atoi(c.FormValue("pull_every"))
	if c.FormValue("pull_object") == "" {
		st.PullObject = "Lead"
	}
	if c.FormValue("pull_every") == "" {
		st.PullEveryMinutes = 15
	}
	if st.Object == "custom" {
		st.Object = strings.TrimSpace(c.FormValue("custom_object"))
	}
	st.ReconcileHours, _ = strconv.Atoi(c.FormValue("reconcile_hours"))
	errs := views.FormErrors{}
	chosen := map[string]model.FieldMap{}
	for _, key := range c.Request().Form["map_key"] {
		field := strings.TrimSpace(c.FormValue("map_field:" + key))
		if field == "" {
			continue
		}
		dir := c.FormValue("map_dir:" + key)
		if dir != model.ToSalesforce && dir != model.FromSalesforce && dir != model.BothWays {
			dir = model.ToSalesforce
		}
		chosen[key] = model.FieldMap{PeregrineField: key, SalesforceField: field, Direction: dir}
	}
	if !objectName.MatchString(st.Object) {
		errs["object"] = "Choose Lead or Contact, or type a custom object's API name such as Prospect__c."
	}
	if st.Placeholder == "" || len(st.Placeholder) > 80 {
		errs["placeholder"] = "Enter a placeholder of 1 to 80 characters for required names Salesforce needs, e.g. [not provided]."
	}
	if st.ReconcileHours < 1 || st.ReconcileHours > 168 {
		errs["reconcile_hours"] = "Reconcile every 1 to 168 hours."
	}
	if st.PullObject != "Lead" && st.PullObject != "Contact" {
		errs["pull_object"] = "Pull Leads or Contacts."
	}
	if st.PullEveryMinutes < 1 || st.PullEveryMinutes > 1440 {
		errs["pull_every"] = "Pull every 1 to 1,440 minutes."
	}
	if st.PullFilterField != "" && !objectName.MatchString(st.PullFilterField) {
		errs["pull_filter_field"] = "Enter the API name of a checkbox field, like Sync_to_Peregrine__c, or leave it empty."
	}
	sess, _, err := h.Salesforce.Session(ctx, id.Workspace.ID)
	if errors.Is(err, crmsync.ErrNotConnected) {
		h.flash(c, "error", "Connect with Salesforce first: the mapping is checked against your org.")
		return redirect(c, "/integrations/salesforce")
	}
	if err != nil {
		return err
	}
	if len(errs) == 0 {
		desc, err := sess.DescribeObject(ctx, st.Object)
		var ae *salesforce.APIError
		switch {
		case errors.As(err, &ae) && ae.Code == "NOT_FOUND":
			errs["object"] = fmt.Sprintf("Salesforce has no object %s that the connected user can see.", st.Object)
		case err != nil:
			p := salesforce.Explain(err)
			errs["object"] = p.Cause + " " + p.Fix
		default:
			scores, err := h.Store.ListScoreNames(ctx, id.Workspace.ID)
			if err != nil {
				return err
			}
			h.checkMapping(st, desc, crmsync.Catalog(scores), chosen, errs)
		}
		if st.PullEnabled && st.PullFilterField != "" && errs["pull_filter_field"] == "" {
			pd, err := sess.DescribeObject(ctx, st.PullObject)
			if f, ok := pd.Field(st.PullFilterField); err == nil && (!ok || f.Type != "boolean") {
				errs["pull_filter_field"] = fmt.Sprintf("%s has no checkbox field %s the connected user can see.", st.PullObject, st.PullFilterField)
			}
		}
	}
	if len(errs) > 0 {
		return h.renderSalesforceSync(c, http.StatusUnprocessableEntity, st, chosen, errs, false)
	}
	maps := make([]model.FieldMap, 0, len(chosen))
	for _, m := range chosen {
		maps = append(maps, m)
	}
	if err := h.Store.SaveSyncSettings(ctx, id.Workspace.ID, st, maps); err != nil {
		return err
	}
	h.Pipeline.Salesforce.ForgetDescribe(id.Workspace.ID)
	h.flash(c, "success", fmt.Sprintf("Saved: %d fields mapped on %s. Press “Sync now” to push every lead, or let changes flow.", len(maps), st.Object))
	return redirect(c, "/integrations/salesforce/sync")
}

// checkMapping validates the match field and every mapped pair against the describe.
func (h *Handlers) checkMapping(st model.SyncSettings, desc salesforce.Describe, catalog []crmsync.PeregrineField, chosen map[string]model.FieldMap, errs views.FormErrors) {
	if f, ok := desc.Field(st.MatchField); !ok || !f.IDLookup {
		errs["match_field"] = fmt.Sprintf("%s has no field %s usable to find records by email.", st.Object, st.MatchField)
	}
	kinds := map[string]crmsync.PeregrineField{}
	for _, pf := range catalog {
		kinds[pf.Key] = pf
	}
	used := map[string]string{}
	for key, m := range chosen {
		pf, ok := kinds[key]
		if !ok {
			delete(chosen, key)
			continue
		}
		f, ok := desc.Field(m.SalesforceField)
		switch {
		case !ok:
			errs["map:"+key] = fmt.Sprintf("%s has no field %s the connected user can see.", st.Object, m.SalesforceField)
		case pf.ToOnly && m.Direction != model.ToSalesforce:
			errs["map:"+key] = pf.Label + " comes from Peregrine: it can only go to Salesforce."
		case m.Direction != model.FromSalesforce && !f.Updateable:
			errs["map:"+key] = f.Name + " is read-only for the connected user."
		case !crmsync.Compatible(pf.Kind, f):
			errs["map:"+key] = fmt.Sprintf("%s is a %s field; %s needs a %s field.", f.Name, f.Type, pf.Label, pf.Kind)
		case used[strings.ToLower(f.Name)] != "":
			errs["map:"+key] = f.Name + " is already mapped to " + used[strings.ToLower(f.Name)] + "."
		}
		used[strings.ToLower(f.Name)] = pf.Label
	}
}

// SyncSalesforceNow queues every lead for a push.
func (h *Handlers) SyncSalesforceNow(c echo.Context) error {
	n, err := h.Store.EnqueueAllForSalesforce(c.Request().Context(), IdentityOf(c).Workspace.ID, false)
	if err != nil {
		return err
	}
	h.flash(c, "success", fmt.Sprintf("Syncing %d leads. Unchanged records cost no API call.", n))
	return redirect(c, "/integrations/salesforce/sync")
}

// ShowSalesforceLogPage lists sync runs, newest first, optionally failures only.
func (h *Handlers) ShowSalesforceLogPage(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	failed := c.QueryParam("failed") == "1"
	page := pageParam(c)
	runs, err := h.Store.ListSyncRuns(ctx, id.Workspace.ID, failed, 51, (page-1)*50)
	if err != nil {
		return err
	}
	v := views.SyncLogView{FailedOnly: failed, CSRF: CSRFToken(c)}
	if len(runs) > 50 {
		runs = runs[:50]
		v.NextURL = fmt.Sprintf("/integrations/salesforce/log?page=%d&failed=%s", page+1, map[bool]string{true: "1", false: ""}[failed])
	}
	for _, r := range runs {
		v.Runs = append(v.Runs, views.SyncRunRow{ID: r.ID, Kind: r.Kind, When: ago(r.StartedAt), Records: r.Records, Created: r.Created,
			Updated: r.Updated, Failed: r.Failed, Calls: r.APICalls, Error: r.Error})
	}
	if runID, err := strconv.ParseInt(c.QueryParam("run"), 10, 64); err == nil {
		recs, err := h.Store.SyncRunRecords(ctx, id.Workspace.ID, runID, failed)
		if err != nil {
			return err
		}
		v.RunID = runID
		conn, _ := h.Store.SalesforceConnection(ctx, id.Workspace.ID)
		for _, r := range recs {
			row := views.SyncRecordRow{LeadID: r.LeadID, Email: r.Email, Outcome: r.Outcome, Message: r.Message, SalesforceID: r.SalesforceID}
			if r.SalesforceID != "" && conn.InstanceURL != "" {
				row.SalesforceURL = strings.TrimRight(conn.InstanceURL, "/") + "/" + r.SalesforceID
			}
			v.Records = append(v.Records, row)
		}
	}
	return Render(c, http.StatusOK, views.SalesforceLogPage(h.chrome(c, "Salesforce sync log", "integrations"), v))
}

// RetrySalesforceRecord queues a failed record again.
func (h *Handlers) RetrySalesforceRecord(c echo.Context) error {
	leadID, _ := strconv.ParseInt(c.Param("lead"), 10, 64)
	err := h.Store.RetrySalesforceRecord(c.Request().Context(), IdentityOf(c).Workspace.ID, leadID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such record to retry.")
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "Queued: the record is sent again within seconds.")
	return redirect(c, "/integrations/salesforce/log")
}

// PullSalesforceNow makes the pull run at once.
func (h *Handlers) PullSalesforceNow(c echo.Context) error {
	if err := h.Store.PullNow(c.Request().Context(), IdentityOf(c).Workspace.ID); err != nil {
		return err
	}
	h.flash(c, "success", "Pulling changed records from Salesforce now; the sync log shows the run.")
	return redirect(c, "/integrations/salesforce/sync")
}

func (h *Handlers) syncProgress(c echo.Context) (views.Progress, error) {
	total, waiting, err := h.Store.SyncProgress(c.Request().Context(), IdentityOf(c).Workspace.ID)
	if err != nil || total == 0 {
		return views.Progress{}, err
	}
	done := max(0, total-waiting)
	return views.Progress{Known: true, Running: waiting > 0, Total: total, Done: done, Percent: done * 100 / total}, nil
}

// ShowSyncProgress renders the "Sync now" progress (polled while it runs).
func (h *Handlers) ShowSyncProgress(c echo.Context) error {
	p, err := h.syncProgress(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.SyncProgress(p))
}
