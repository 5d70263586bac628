package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/views"
)

// ShowWorkspaceSettingsPage shows Settings › Workspace.
func (h *Handlers) ShowWorkspaceSettingsPage(c echo.Context) error {
	ws := IdentityOf(c).Workspace
	return Render(c, http.StatusOK, views.WorkspaceSettingsPage(h.chrome(c, "Workspace settings", "settings-workspace"),
		views.WorkspaceView{Name: ws.Name, Slug: ws.Slug, PublicURL: ws.PublicURL, DefaultURL: h.PublicURL}))
}

// UpdateWorkspaceSettings saves the workspace's name and public URL.
func (h *Handlers) UpdateWorkspaceSettings(c echo.Context) error {
	ws := IdentityOf(c).Workspace
	name, publicURL := c.FormValue("name"), c.FormValue("public_url")
	err := h.Workspaces.UpdateSettings(c.Request().Context(), ws.ID, name, publicURL)
	if fe, ok := formErrors(err); ok {
		return Render(c, http.StatusUnprocessableEntity, views.WorkspaceSettingsPage(h.chrome(c, "Workspace settings", "settings-workspace"),
			views.WorkspaceView{Name: name, Slug: ws.Slug, PublicURL: publicURL, DefaultURL: h.PublicURL, Errors: fe}))
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "Workspace settings saved.")
	return redirect(c, "/settings/workspace")
}

// ShowUsersPage shows Settings › Users.
func (h *Handlers) ShowUsersPage(c echo.Context) error {
	v := views.UsersView{InviteRole: string(model.RoleSales), InviteLink: h.takeValue(c, keyInviteLink)}
	return h.renderUsers(c, http.StatusOK, v)
}

func (h *Handlers) renderUsers(c echo.Context, status int, v views.UsersView) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	users, err := h.Store.ListUsers(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	invs, err := h.Store.ListPendingInvitations(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	v.Roles = roleOptions()
	loc := userLocation(c)
	for _, u := range users {
		v.Users = append(v.Users, views.UserRow{ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role),
			RoleLabel: u.Role.Label(), Active: u.Active, IsSelf: u.ID == id.User.ID, LastLogin: views.FormatTimeIn(u.LastLoginAt, loc)})
	}
	for _, inv := range invs {
		v.Invitations = append(v.Invitations, views.InvitationRow{ID: inv.ID, Email: inv.Email, RoleLabel: inv.Role.Label(),
			Expires: views.FormatTimeIn(&inv.ExpiresAt, loc)})
	}
	return Render(c, status, views.UsersPage(h.chrome(c, "Users", "settings-users"), v))
}

// InviteUser creates an invitation and shows its link once.
func (h *Handlers) InviteUser(c echo.Context) error {
	id := IdentityOf(c)
	email, role := c.FormValue("email"), c.FormValue("role")
	token, inv, err := h.Workspaces.Invite(c.Request().Context(), id.Workspace.ID, id.User, email, model.Role(role))
	if fe, ok := formErrors(err); ok {
		return h.renderUsers(c, http.StatusUnprocessableEntity, views.UsersView{InviteEmail: email, InviteRole: role, Errors: fe})
	}
	if err != nil {
		return err
	}
	link := h.workspaceURL(id.Workspace) + "/join/" + id.Workspace.Slug + "/" + token
	h.putValue(c, keyInviteLink, link)
	if !h.Notify.EmailEnabled() {
		h.flash(c, "success", "Invitation created for "+inv.Email+" as "+inv.Role.Label()+". This server sends no email: pass the link on yourself.")
		return redirect(c, "/settings/users")
	}
	mail := views.InvitationMail{Workspace: id.Workspace.Name, Inviter: id.User.Name, Role: inv.Role.Label(), Link: link,
		Expires: views.FormatTimeIn(&inv.ExpiresAt, userLocation(c))}
	if err := h.queueEmail(c, model.DeliveryInvitation, inv.Email, mail); err != nil {
		return err
	}
	h.flash(c, "success", "Invitation emailed to "+inv.Email+" as "+inv.Role.Label()+". The link is below too, if you would rather pass it on yourself.")
	return redirect(c, "/settings/users")
}

// RevokeInvitation withdraws a pending invitation.
func (h *Handlers) RevokeInvitation(c echo.Context) error {
	invID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	err = h.Workspaces.RevokeInvitation(c.Request().Context(), IdentityOf(c).Workspace.ID, invID)
	if errors.Is(err, workspaces.ErrNotFound) {
		h.flash(c, "error", "That invitation was already used or withdrawn.")
		return redirect(c, "/settings/users")
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "Invitation withdrawn; its link no longer works.")
	return redirect(c, "/settings/users")
}

// ChangeUserRole gives a member another role.
func (h *Handlers) ChangeUserRole(c echo.Context) error {
	return h.changeUser(c, func(ws int64, actor model.User, userID int64) (string, error) {
		role := model.Role(c.FormValue("role"))
		return "Role changed to " + role.Label() + ".", h.Workspaces.ChangeRole(c.Request().Context(), ws, userID, role)
	})
}

// DeactivateUser stops a member from signing in.
func (h *Handlers) DeactivateUser(c echo.Context) error {
	return h.changeUser(c, func(ws int64, actor model.User, userID int64) (string, error) {
		return "User deactivated; they can no longer sign in.", h.Workspaces.SetActive(c.Request().Context(), ws, actor, userID, false)
	})
}

// ActivateUser lets a deactivated member sign in again.
func (h *Handlers) ActivateUser(c echo.Context) error {
	return h.changeUser(c, func(ws int64, actor model.User, userID int64) (string, error) {
		return "User reactivated.", h.Workspaces.SetActive(c.Request().Context(), ws, actor, userID, true)
	})
}

func (h *Handlers) changeUser(c echo.Context, change func(ws int64, actor model.User, userID int64) (string, error)) error {
	id := IdentityOf(c)
	userID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	done, err := change(id.Workspace.ID, id.User, userID)
	var fe workspaces.FieldErrors
	switch {
	case errors.Is(err, workspaces.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "That user is not a member of this workspace.")
	case errors.As(err, &fe):
		h.flash(c, "error", fe["role"])
	case errors.Is(err, workspaces.ErrLastAdmin), errors.Is(err, workspaces.ErrSelf):
		h.flash(c, "error", capitalize(err.Error())+".")
	case err != nil:
		return err
	default:
		h.flash(c, "success", done)
	}
	return redirect(c, "/settings/users")
}
