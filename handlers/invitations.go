package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/views"
)

// invitationStatus maps an unusable invitation to its HTTP status.
func invitationStatus(err error) (int, bool) {
	switch {
	case errors.Is(err, workspaces.ErrInvitationUnknown):
		return http.StatusNotFound, true
	case errors.Is(err, workspaces.ErrInvitationExpired), errors.Is(err, workspaces.ErrInvitationUsed):
		return http.StatusGone, true
	}
	return 0, false
}

// ShowJoinPage shows the form that accepts an invitation.
func (h *Handlers) ShowJoinPage(c echo.Context) error {
	slug, token := c.Param("slug"), c.Param("token")
	ws, inv, err := h.Workspaces.Invitation(c.Request().Context(), slug, token)
	form := views.JoinForm{CSRF: CSRFToken(c), Action: c.Request().URL.Path, WorkspaceName: ws.Name}
	if status, ok := invitationStatus(err); ok {
		form.Message = capitalize(err.Error()) + "."
		return Render(c, status, views.JoinPage(form))
	}
	if err != nil {
		return err
	}
	form.Email, form.RoleLabel = inv.Email, inv.Role.Label()
	return Render(c, http.StatusOK, views.JoinPage(form))
}

// Join creates the invited person's account and signs them in.
func (h *Handlers) Join(c echo.Context) error {
	slug, token := c.Param("slug"), c.Param("token")
	name, password := c.FormValue("name"), c.FormValue("password")
	ctx := c.Request().Context()
	u, err := h.Workspaces.AcceptInvitation(ctx, slug, token, name, password)
	if err == nil {
		if err := h.signIn(c, u); err != nil {
			return err
		}
		h.flash(c, "success", "Welcome aboard, "+u.Name+"!")
		return redirect(c, "/leads")
	}
	ws, inv, _ := h.Workspaces.Invitation(ctx, slug, token)
	form := views.JoinForm{CSRF: CSRFToken(c), Action: c.Request().URL.Path, WorkspaceName: ws.Name,
		Email: inv.Email, RoleLabel: inv.Role.Label(), Name: name}
	if status, ok := invitationStatus(err); ok {
		form.Message = capitalize(err.Error()) + "."
		return Render(c, status, views.JoinPage(form))
	}
	fe, ok := formErrors(err)
	if !ok {
		return err
	}
	form.Errors = fe
	return Render(c, http.StatusUnprocessableEntity, views.JoinPage(form))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
