package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/views"
)

// ShowHome is the dashboard for a signed-in person; others go to sign-in or the first-run
// sign-up.
func (h *Handlers) ShowHome(c echo.Context) error {
	if IdentityOf(c) != nil {
		return h.ShowDashboard(c)
	}
	n, err := h.Store.CountWorkspaces(c.Request().Context())
	if err != nil {
		return err
	}
	if n == 0 {
		return c.Redirect(http.StatusSeeOther, "/signup")
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// ShowSignupPage shows "Create your workspace" while sign-up is open.
func (h *Handlers) ShowSignupPage(c echo.Context) error {
	if IdentityOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/leads")
	}
	open, err := h.Workspaces.SignUpOpen(c.Request().Context())
	if err != nil {
		return err
	}
	if !open {
		return echo.NewHTTPError(http.StatusForbidden, workspacesClosedMessage)
	}
	first, err := h.firstRun(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.SignupPage(views.SignupForm{CSRF: CSRFToken(c), FirstRun: first}))
}

const workspacesClosedMessage = "This server admits new people by invitation only. Ask an admin of your workspace to invite you."

func (h *Handlers) firstRun(c echo.Context) (bool, error) {
	n, err := h.Store.CountWorkspaces(c.Request().Context())
	return n == 0, err
}

// SignUp creates a workspace and its admin, then signs the admin in.
func (h *Handlers) SignUp(c echo.Context) error {
	in := workspaces.SignUpInput{
		WorkspaceName: c.FormValue("workspace"),
		Name:          c.FormValue("name"),
		Email:         c.FormValue("email"),
		Password:      c.FormValue("password"),
	}
	ws, u, err := h.Workspaces.SignUp(c.Request().Context(), in)
	if err != nil {
		if errors.Is(err, workspaces.ErrSignUpClosed) {
			return echo.NewHTTPError(http.StatusForbidden, workspacesClosedMessage)
		}
		fe, ok := formErrors(err)
		if !ok {
			return err
		}
		first, ferr := h.firstRun(c)
		if ferr != nil {
			return ferr
		}
		return Render(c, http.StatusUnprocessableEntity, views.SignupPage(views.SignupForm{
			CSRF: CSRFToken(c), Workspace: in.WorkspaceName, Name: in.Name, Email: in.Email,
			Errors: fe, Message: "Please correct the highlighted fields.", FirstRun: first,
		}))
	}
	h.Log.Info("workspace created", "workspace", ws.Slug, "user_id", u.ID)
	if err := h.signIn(c, u); err != nil {
		return err
	}
	h.flash(c, "success", "Welcome to Peregrine! Your workspace "+ws.Name+" is ready. Invite your team under Settings › Users.")
	return redirect(c, "/leads")
}

// ShowLoginPage shows the sign-in form.
func (h *Handlers) ShowLoginPage(c echo.Context) error {
	if IdentityOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	form, err := h.loginForm(c, "", c.QueryParam("next"))
	if err != nil {
		return err
	}
	form.Flashes = h.takeFlashes(c)
	if msg, ok := signedOutMessages[c.QueryParam("signed_out")]; ok {
		form.Flashes = append(form.Flashes, views.Flash{Kind: "info", Message: msg})
	}
	return Render(c, http.StatusOK, views.LoginPage(form))
}

func (h *Handlers) loginForm(c echo.Context, email, next string) (views.LoginForm, error) {
	form := views.LoginForm{CSRF: CSRFToken(c), Email: email, Next: next}
	open, err := h.Workspaces.SignUpOpen(c.Request().Context())
	if open {
		form.SignupURL = "/signup"
	}
	return form, err
}

// Login checks the credentials; failures are counted per email and client address.
func (h *Handlers) Login(c echo.Context) error {
	email, password, next := c.FormValue("email"), c.FormValue("password"), c.FormValue("next")
	u, err := h.Workspaces.Login(c.Request().Context(), email, password, c.RealIP())
	if err == nil {
		if err := h.signIn(c, u); err != nil {
			return err
		}
		return redirect(c, safeNext(next))
	}
	form, ferr := h.loginForm(c, email, next)
	if ferr != nil {
		return ferr
	}
	var throttled *workspaces.ThrottledError
	switch {
	case errors.As(err, &throttled):
		wait := time.Until(throttled.RetryAt).Round(time.Second)
		if wait < time.Second {
			wait = time.Second
		}
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		form.Message = "Too many failed sign-ins from here. For your security, try again in " + humanWait(wait) + "."
		h.Log.Warn("login throttled", "email", workspaces.NormalizeEmail(email), "ip", c.RealIP())
		return Render(c, http.StatusTooManyRequests, views.LoginPage(form))
	case errors.Is(err, workspaces.ErrBadCredentials):
		form.Message = "That email and password do not match an account. Check both and try again."
		return Render(c, http.StatusUnauthorized, views.LoginPage(form))
	}
	return err
}

func humanWait(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int(d.Seconds())) + " seconds"
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}

// Logout ends the session, here and for anyone holding a copy of its cookie.
func (h *Handlers) Logout(c echo.Context) error {
	if err := h.signOut(c); err != nil {
		return err
	}
	return redirect(c, "/login?signed_out=1")
}

// signedOutMessages explains on the sign-in page why the visitor is there (a visitor has no
// stored session to carry a flash).
var signedOutMessages = map[string]string{
	"1":          "You are signed out.",
	"everywhere": "You are signed out on every device.",
	"password":   "Your password was changed. Sign in with the new one.",
}
