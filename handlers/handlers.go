// Package handlers turns HTTP requests into domain calls and renders view models. One file per
// area; GET handlers are named Show…Page, POST handlers with a verb.
package handlers

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/crmsync"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/website"
	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/views"
)

// Handlers holds the services the pages use.
type Handlers struct {
	Workspaces *workspaces.Service
	Store      *store.Store
	Sessions   sessions.Store
	// PublicURL is the server-wide address, used when a workspace has not set its own.
	PublicURL string
	Log       *slog.Logger
	Secrets   *secrets.Box
	Pipeline  *ingest.Pipeline
	// Salesforce keeps workspaces connected to Salesforce.
	Salesforce *crmsync.Service
	// Outbound says which hosts integrations may call; forms check against it on save.
	Outbound outbound.Policy
	// Website keeps tracked sites, tracked links and identity links.
	Website *website.Service
	// Tracker serves the website tracker (its script size and site cache are used by pages).
	Tracker *TrackerEndpoint
	// Notify sends email (invitations, password resets, tests) and keeps the delivery log.
	Notify *notify.Service
}

// Render writes a templ component with a status. It renders into a buffer first, so a failing
// template becomes a clean error page instead of half a page.
func Render(c echo.Context, status int, component templ.Component) error {
	var buf bytes.Buffer
	if err := component.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// CSRFToken is the token forms carry for clients that do not send Sec-Fetch-Site.
func CSRFToken(c echo.Context) string {
	token, _ := c.Get("csrf").(string)
	return token
}

// chrome builds the layout's view model and takes the pending flash messages.
func (h *Handlers) chrome(c echo.Context, title, section string) views.Chrome {
	ch := BaseChrome(c, title)
	ch.Section, ch.Flashes = section, h.takeFlashes(c)
	return ch
}

// BaseChrome is the app's frame for the signed-in person, without flashes (an error page
// leaves them for the next page).
func BaseChrome(c echo.Context, title string) views.Chrome {
	ch := views.Chrome{Title: title, CSRF: CSRFToken(c)}
	if id := IdentityOf(c); id != nil {
		ch.UserName, ch.UserEmail, ch.RoleLabel, ch.WorkspaceName = id.User.Name, id.User.Email, id.User.Role.Label(), id.Workspace.Name
		ch.CanSettings = id.User.Role.Can(model.PermManageSettings)
		ch.CanIntegrations = id.User.Role.Can(model.PermManageMarketing)
	}
	return ch
}

// workspaceURL is where links for this workspace point.
func (h *Handlers) workspaceURL(ws model.Workspace) string {
	if ws.PublicURL != "" {
		return ws.PublicURL
	}
	return h.PublicURL
}

// formErrors converts domain field errors for a view; other errors are returned as they are.
func formErrors(err error) (views.FormErrors, bool) {
	var fe workspaces.FieldErrors
	if errors.As(err, &fe) {
		return views.FormErrors(fe), true
	}
	return nil, false
}

func roleOptions() []views.RoleOption {
	var out []views.RoleOption
	for _, r := range model.Roles {
		out = append(out, views.RoleOption{Value: string(r), Label: r.Label(), Description: r.Describe()})
	}
	return out
}

// redirect answers a POST with 303 See Other, so a reload does not submit again.
func redirect(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}
