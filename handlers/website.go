package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/views"
)

// ShowWebsitePage shows Integrations › Website.
func (h *Handlers) ShowWebsitePage(c echo.Context) error {
	return h.renderWebsite(c, http.StatusOK, views.SiteForm{HonourDNT: true, RetentionDays: "90", LinkDays: "30"}, 0, nil)
}

// renderWebsite draws the page; a refused form (the new one, or site failedID's) is shown
// with what was entered and its errors.
func (h *Handlers) renderWebsite(c echo.Context, status int, newForm views.SiteForm, failedID int64, failed *views.SiteForm) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace
	sites, err := h.Store.ListSites(ctx, ws.ID)
	if err != nil {
		return err
	}
	seen, err := h.Store.OriginsSeen(ctx, ws.ID)
	if err != nil {
		return err
	}
	loc := userLocation(c)
	v := views.WebsiteView{New: newForm}
	for _, s := range sites {
		sv := views.SiteView{ID: s.ID, Name: s.Name, Key: s.Key, Snippet: website.Snippet(h.workspaceURL(ws), s), Form: siteForm(s)}
		if failed != nil && failedID == s.ID {
			sv.Form = *failed
		}
		for _, o := range s.Origins {
			ov := views.OriginView{Origin: o, IgnoreURL: o + "/?pgr_ignore=1"}
			for _, x := range seen {
				if x.SiteID == s.ID && x.Origin == o {
					ov.Seen, ov.Hits, ov.LastHit = true, x.Hits, ago(x.LastHitAt)+" ("+views.FormatTimeIn(&x.LastHitAt, loc)+")"
				}
			}
			sv.Origins = append(sv.Origins, ov)
		}
		v.Sites = append(v.Sites, sv)
	}
	if err := h.webTraffic(c, &v); err != nil {
		return err
	}
	return Render(c, status, views.WebsitePage(h.chrome(c, "Website", "integrations"), v))
}

// webTraffic fills the last week's stored and ignored hits.
func (h *Handlers) webTraffic(c echo.Context, v *views.WebsiteView) error {
	st, err := h.Store.IngestStatus(c.Request().Context(), IdentityOf(c).Workspace.ID, time.Now().Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	var most int64
	for _, n := range st.Counts {
		switch {
		case n.Metric == model.MetricReceived && n.EventType == "web":
			v.Received += n.Count
		case n.Metric == model.MetricWebIgnored:
			v.Ignored = append(v.Ignored, views.BarRow{Label: n.EventType, Value: n.Count})
			most = max(most, n.Count)
		}
	}
	sort.Slice(v.Ignored, func(i, j int) bool { return v.Ignored[i].Value > v.Ignored[j].Value })
	for i := range v.Ignored {
		v.Ignored[i].Percent = int(v.Ignored[i].Value * 100 / most)
	}
	_, gz := h.Tracker.ScriptSize()
	v.ScriptKB = fmt.Sprintf("%.1f KB", float64(gz)/1024)
	return nil
}

func siteForm(s model.Site) views.SiteForm {
	return views.SiteForm{Name: s.Name, Origins: strings.Join(s.Origins, "\n"), ExcludedIPs: strings.Join(s.ExcludedIPs, "\n"),
		RequireConsent: s.RequireConsent, HonourDNT: s.HonourDNT, RetentionDays: strconv.Itoa(s.RetentionDays), LinkDays: strconv.Itoa(s.LinkDays)}
}

// siteInput reads a site form; a number that is not one is reported under its field.
func siteInput(c echo.Context) (website.SiteInput, views.SiteForm, views.FormErrors) {
	f := views.SiteForm{Name: c.FormValue("name"), Origins: c.FormValue("origins"), ExcludedIPs: c.FormValue("excluded_ips"),
		RequireConsent: c.FormValue("require_consent") == "on", HonourDNT: c.FormValue("honour_dnt") == "on",
		RetentionDays: strings.TrimSpace(c.FormValue("retention_days")), LinkDays: strings.TrimSpace(c.FormValue("link_days"))}
	in := website.SiteInput{Name: f.Name, Origins: lines(f.Origins), ExcludedIPs: lines(f.ExcludedIPs),
		RequireConsent: f.RequireConsent, HonourDNT: f.HonourDNT}
	fe := views.FormErrors{}
	var err error
	if in.RetentionDays, err = strconv.Atoi(f.RetentionDays); err != nil {
		fe["retention_days"] = "Enter a number of days, e.g. 90."
	}
	if in.LinkDays, err = strconv.Atoi(f.LinkDays); err != nil {
		fe["link_days"] = "Enter a number of days, e.g. 30."
	}
	return in, f, fe
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// CreateSite handles POST /integrations/website/sites.
func (h *Handlers) CreateSite(c echo.Context) error {
	in, f, fe := siteInput(c)
	if len(fe) == 0 {
		site, err := h.Website.CreateSite(c.Request().Context(), IdentityOf(c).Workspace.ID, in)
		var ie *website.InputError
		switch {
		case errors.As(err, &ie):
			fe[ie.Field] = ie.Message
		case err != nil:
			return err
		default:
			h.flash(c, "success", "“"+site.Name+"” added. Paste its snippet into your pages.")
			return c.Redirect(http.StatusSeeOther, "/integrations/website#site-"+strconv.FormatInt(site.ID, 10))
		}
	}
	f.Errors = fe
	return h.renderWebsite(c, http.StatusUnprocessableEntity, f, 0, nil)
}

// UpdateSite handles POST /integrations/website/sites/:id.
func (h *Handlers) UpdateSite(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such site.")
	}
	in, f, fe := siteInput(c)
	if len(fe) == 0 {
		site, err := h.Website.UpdateSite(c.Request().Context(), IdentityOf(c).Workspace.ID, id, in)
		var ie *website.InputError
		switch {
		case errors.As(err, &ie):
			fe[ie.Field] = ie.Message
		case errors.Is(err, store.ErrNotFound):
			return echo.NewHTTPError(http.StatusNotFound, "No such site.")
		case err != nil:
			return err
		default:
			h.Tracker.Collector.Forget(site.Key)
			h.flash(c, "success", "Settings of “"+site.Name+"” saved.")
			return c.Redirect(http.StatusSeeOther, "/integrations/website#site-"+strconv.FormatInt(site.ID, 10))
		}
	}
	f.Errors = fe
	return h.renderWebsite(c, http.StatusUnprocessableEntity, views.SiteForm{HonourDNT: true, RetentionDays: "90", LinkDays: "30"}, id, &f)
}

// DeleteSite handles POST /integrations/website/sites/:id/delete.
func (h *Handlers) DeleteSite(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such site.")
	}
	ws := IdentityOf(c).Workspace.ID
	site, err := h.Store.SiteByID(c.Request().Context(), ws, id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No such site.")
	}
	if err != nil {
		return err
	}
	if err := h.Store.DeleteSite(c.Request().Context(), ws, id); err != nil {
		return err
	}
	h.Tracker.Collector.Forget(site.Key)
	h.flash(c, "success", "“"+site.Name+"” deleted; its snippet no longer records anything.")
	return c.Redirect(http.StatusSeeOther, "/integrations/website")
}

// reasonLabels say how a browser came to be a person's.
var reasonLabels = map[string]string{
	model.LinkForm:        "Filled in",
	model.LinkBrazeLink:   "Opened a",
	model.LinkTrackedLink: "Opened a",
	model.LinkAPI:         "Identified by your site's code:",
	model.LinkCLI:         "Linked by an operator:",
	model.LinkSegment:     "Identified through Segment:",
}

// webIdentity fills the lead page's "How we know this person" and tracked links.
func (h *Handlers) webIdentity(c echo.Context, leadID int64, v *views.LeadView) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	links, err := h.Store.IdentityLinksOfLead(ctx, id.Workspace.ID, leadID)
	if err != nil {
		return err
	}
	loc := userLocation(c)
	canUndo := id.User.Role.Can(model.PermManageMarketing)
	for _, l := range links {
		k := views.KnownBy{LinkID: l.ID, Reason: reasonLabels[l.Reason], Detail: l.Detail, When: views.FormatTimeIn(&l.CreatedAt, loc),
			Browser: shortKey(l.VisitorKey), Acts: l.Activities, CanUndo: canUndo && l.LeadID == leadID}
		if l.UndoneAt != nil {
			k.Undone = views.FormatTimeIn(l.UndoneAt, loc)
		}
		switch {
		case l.LeadID != leadID && l.Late:
			k.Reason, k.Detail = "This browser was also identified as someone else, by a hit that arrived late:", l.ReplacedEmail+" ("+l.Detail+")"
			k.Conflict = "What the browser sent before it was identified as this person is theirs; the browser stays with this person."
		case l.LeadID != leadID:
			k.Reason, k.Detail = "This browser was identified as someone else:", l.ReplacedEmail+" ("+l.Detail+")"
			k.Conflict = "Their activity since then is theirs; what this browser did before stays here."
		case l.Late:
			k.Conflict = "This hit arrived late: the browser was identified as " + l.ReplacedEmail +
				" afterwards and stays theirs; what it sent in between is this person's. Undo if this was a mistake."
		case l.ReplacedLeadID != nil:
			k.Conflict = "This browser was " + l.ReplacedEmail + "'s before: their earlier activity stays with them. Undo if this was a mistake."
		}
		v.KnownBy = append(v.KnownBy, k)
	}
	sites, err := h.Store.ListSites(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	v.CanLink = len(sites) > 0
	tracked, err := h.Store.TrackedLinksOfLead(ctx, id.Workspace.ID, leadID)
	if err != nil {
		return err
	}
	base := h.workspaceURL(id.Workspace)
	for _, t := range tracked {
		row := views.TrackedLinkRow{URL: base + "/l/" + t.Token, Target: t.Target, Clicks: t.Clicks,
			Expires: "expires " + views.FormatTimeIn(&t.ExpiresAt, loc), Expired: !t.ExpiresAt.After(time.Now())}
		if row.Expired {
			row.Expires = "expired " + views.FormatTimeIn(&t.ExpiresAt, loc)
		}
		v.Links = append(v.Links, row)
	}
	return nil
}

func shortKey(k string) string {
	if len(k) > 8 {
		return "…" + k[len(k)-6:]
	}
	return k
}

// CreateTrackedLink handles POST /leads/:id/links.
func (h *Handlers) CreateTrackedLink(c echo.Context) error {
	leadID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	}
	id := IdentityOf(c)
	if ok, err := h.Store.CanSeeLead(c.Request().Context(), id.Viewer(), leadID); err != nil {
		return err
	} else if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	}
	link, err := h.Website.CreateLink(c.Request().Context(), id.Workspace.ID, leadID, c.FormValue("target"), &id.User.ID)
	var ie *website.InputError
	switch {
	case errors.As(err, &ie):
		return h.showLead(c, http.StatusUnprocessableEntity, func(v *views.LeadView) { v.LinkError, v.LinkValue = ie.Message, c.FormValue("target") })
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "There is no such lead in this workspace.")
	case err != nil:
		return err
	}
	h.flash(c, "success", "Tracked link created: send it to this person only.")
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/leads/%d?link=%s#tracked-links", leadID, link.Token))
}

// UndoIdentityLink handles POST /leads/:id/known-by/:link/undo.
func (h *Handlers) UndoIdentityLink(c echo.Context) error {
	leadID, err1 := strconv.ParseInt(c.Param("id"), 10, 64)
	linkID, err2 := strconv.ParseInt(c.Param("link"), 10, 64)
	if err1 != nil || err2 != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such identification.")
	}
	id := IdentityOf(c)
	back, err := h.Website.Unmerge(c.Request().Context(), id.Workspace.ID, linkID, &id.User.ID)
	switch {
	case errors.Is(err, website.ErrLinkUndone):
		h.flash(c, "info", "That identification was already undone.")
	case err != nil:
		return err
	case back != 0:
		h.flash(c, "success", "Undone: the browser's activity went back to the person it belonged to before; both were scored again.")
	default:
		h.flash(c, "success", "Undone: the browser's activity is anonymous again and this lead was scored again. It will not be linked again automatically.")
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/leads/%d#known-by", leadID))
}
