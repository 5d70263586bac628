package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/views"
)

// ShowProfilePage shows the signed-in person's account: password, and where they are signed in.
func (h *Handlers) ShowProfilePage(c echo.Context) error {
	return h.renderProfile(c, http.StatusOK, views.ProfileView{})
}

func (h *Handlers) renderProfile(c echo.Context, status int, v views.ProfileView) error {
	id := IdentityOf(c)
	list, err := h.Store.UserSessions(c.Request().Context(), id.Workspace.ID, id.User.ID)
	if err != nil {
		return err
	}
	current := SessionRowID(h.session(c))
	v.Email, v.RoleLabel, v.WorkspaceName = id.User.Email, id.User.Role.Label(), id.Workspace.Name
	v.TimeZone, v.Zones = id.User.TimeZone, commonZones
	v.BrowserZone = browserZone(c)
	if v.TimeZone != "" && !slices.Contains(v.Zones, v.TimeZone) {
		v.Zones = append([]string{v.TimeZone}, v.Zones...)
	}
	if v.Alerts, err = h.myAlerts(c); err != nil {
		return err
	}
	v.Digest = id.User.Digest
	if id.User.QuietFrom != nil && id.User.QuietTo != nil {
		v.QuietFrom, v.QuietTo = strconv.Itoa(*id.User.QuietFrom), strconv.Itoa(*id.User.QuietTo)
	}
	loc := userLocation(c)
	for _, s := range list {
		v.Sessions = append(v.Sessions, views.SessionRow{ID: s.ID, Device: describeDevice(s.UserAgent), IP: s.IP,
			LastSeen: ago(s.LastSeenAt), Started: views.FormatTimeIn(&s.CreatedAt, loc), Current: s.ID == current})
	}
	return Render(c, status, views.ProfilePage(h.chrome(c, "Your account", "account"), v))
}

// ChangePassword sets a new password: every session ends, and this browser is signed in
// again with a new one.
func (h *Handlers) ChangePassword(c echo.Context) error {
	id := IdentityOf(c)
	err := h.Workspaces.ChangePassword(c.Request().Context(), id.User, c.FormValue("current_password"), c.FormValue("new_password"))
	var throttled *workspaces.ThrottledError
	if errors.As(err, &throttled) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(time.Until(throttled.RetryAt).Seconds())+1))
		return h.renderProfile(c, http.StatusTooManyRequests, views.ProfileView{Message: "Too many wrong current passwords. Try again in " +
			humanWait(time.Until(throttled.RetryAt)) + "."})
	}
	if fe, ok := formErrors(err); ok {
		return h.renderProfile(c, http.StatusUnprocessableEntity, views.ProfileView{Errors: fe, Message: "Your password was not changed."})
	}
	if err != nil {
		return err
	}
	h.Log.Info("password changed; sessions ended", "user_id", id.User.ID, "workspace", id.Workspace.Slug)
	if err := h.signIn(c, id.User); err != nil {
		return err
	}
	h.flash(c, "success", "Password changed. You were signed out everywhere else.")
	return redirect(c, "/profile")
}

// EndOtherSession signs out one of the person's other sessions.
func (h *Handlers) EndOtherSession(c echo.Context) error {
	id := IdentityOf(c)
	sid, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || sid <= 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "That is not one of your sessions.")
	}
	if sid == SessionRowID(h.session(c)) {
		return echo.NewHTTPError(http.StatusBadRequest, "To end this session, use Log out.")
	}
	ended, err := h.Store.EndSession(c.Request().Context(), id.Workspace.ID, id.User.ID, sid)
	if err != nil {
		return err
	}
	if !ended {
		return echo.NewHTTPError(http.StatusNotFound, "That session has already ended.")
	}
	h.flash(c, "success", "That device is signed out.")
	return redirect(c, "/profile")
}

// SignOutEverywhere ends every session of the person, this one included.
func (h *Handlers) SignOutEverywhere(c echo.Context) error {
	id := IdentityOf(c)
	n, err := h.Store.EndUserSessions(c.Request().Context(), id.Workspace.ID, id.User.ID)
	if err != nil {
		return err
	}
	h.Log.Info("signed out everywhere", "user_id", id.User.ID, "workspace", id.Workspace.Slug, "sessions", n)
	if err := h.signOut(c); err != nil {
		return err
	}
	return redirect(c, "/login?signed_out=everywhere")
}

// describeDevice names a browser and system from a User-Agent, as a person would say them
// ("Firefox on Linux"); unknown parts are left out.
func describeDevice(ua string) string {
	browser := firstMatch(ua, []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Chromium/", "Chromium"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	})
	system := firstMatch(ua, []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"},
		{"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser != "" && system != "":
		return fmt.Sprintf("%s on %s", browser, system)
	case browser != "":
		return browser
	case system != "":
		return system
	}
	return "Unknown browser"
}

func firstMatch(s string, table []struct{ token, name string }) string {
	for _, t := range table {
		if strings.Contains(s, t.token) {
			return t.name
		}
	}
	return ""
}

// commonZones are the time zones offered on the profile page.
var commonZones = []string{"UTC", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "America/Sao_Paulo",
	"Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Zurich", "Europe/Amsterdam",
	"Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Istanbul", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland"}

// SetTimeZone saves the time zone the person reads times in (empty: the browser's).
func (h *Handlers) SetTimeZone(c echo.Context) error {
	id := IdentityOf(c)
	zone := strings.TrimSpace(c.FormValue("time_zone"))
	if zone != "" {
		if _, err := time.LoadLocation(zone); err != nil || len(zone) > 64 || zone == "Local" {
			return h.renderProfile(c, http.StatusUnprocessableEntity, views.ProfileView{Errors: views.FormErrors{
				"time_zone": "Choose a time zone from the list, e.g. Europe/Zurich."}})
		}
	}
	if err := h.Store.SetUserTimeZone(c.Request().Context(), id.Workspace.ID, id.User.ID, zone); err != nil {
		return err
	}
	h.flash(c, "success", "Time zone saved.")
	return redirect(c, "/profile#time-zone")
}
