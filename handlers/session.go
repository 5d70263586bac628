package handlers

import (
	"encoding/gob"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// SessionName is the cookie that carries the signed-in session.
const SessionName = "peregrine_session"

const (
	keyUserID      = "uid"
	keyWorkspaceID = "wid"
	keyInviteLink  = "invite_link"
	identityKey    = "identity"
)

func init() { gob.Register(views.Flash{}) }

// Identity is the signed-in user and their workspace, loaded fresh on every request.
type Identity struct {
	User      model.User
	Workspace model.Workspace
}

// Viewer is what the signed-in user may read of the workspace's leads (every store read of
// leads, accounts and activities for a page goes through it).
func (id *Identity) Viewer() store.Viewer { return store.ViewerOf(id.User, id.Workspace.SalesAccess) }

// IdentityOf returns the signed-in identity, or nil.
func IdentityOf(c echo.Context) *Identity {
	id, _ := c.Get(identityKey).(*Identity)
	return id
}

func (h *Handlers) session(c echo.Context) *sessions.Session {
	// A cookie signed with an old key decodes to an error and a new empty session: a logout.
	s, _ := h.Sessions.Get(c.Request(), SessionName)
	return s
}

// LoadIdentity reads the session and, when it names an active user, puts the user and the
// workspace into the request. Deactivated users lose access at their next request.
func (h *Handlers) LoadIdentity(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.SetRequest(withClientIP(c.Request(), c.RealIP()))
		s, err := h.Sessions.Get(c.Request(), SessionName)
		if err != nil {
			return err
		}
		uid, _ := s.Values[keyUserID].(int64)
		wid, _ := s.Values[keyWorkspaceID].(int64)
		if uid == 0 || wid == 0 {
			return next(c)
		}
		ctx := c.Request().Context()
		u, err := h.Store.UserByID(ctx, wid, uid)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
			delete(s.Values, keyUserID)
			delete(s.Values, keyWorkspaceID)
			_ = s.Save(c.Request(), c.Response())
			return next(c)
		}
		if err != nil {
			return err
		}
		ws, err := h.Store.WorkspaceByID(ctx, wid)
		if err != nil {
			return err
		}
		c.Set(identityKey, &Identity{User: u, Workspace: ws})
		return next(c)
	}
}

// RequireSignedIn sends visitors without a session to the login page and back afterwards.
func RequireSignedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if IdentityOf(c) != nil {
			return next(c)
		}
		target := "/login"
		if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
			target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// Require answers 403 unless the signed-in user's role grants p.
func Require(p model.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := IdentityOf(c)
			if id == nil || !id.User.Role.Can(p) {
				return echo.NewHTTPError(http.StatusForbidden, "Your role does not give access to this page. Ask an admin of your workspace if you need it.")
			}
			return next(c)
		}
	}
}

// signIn starts a new session for u: a new stored session and cookie, whatever the browser
// held before (IsNew asks the store for a fresh token).
func (h *Handlers) signIn(c echo.Context, u model.User) error {
	s := h.session(c)
	for k := range s.Values {
		delete(s.Values, k)
	}
	s.Values[keyUserID] = u.ID
	s.Values[keyWorkspaceID] = u.WorkspaceID
	s.IsNew = true
	return s.Save(c.Request(), c.Response())
}

// signOut ends the request's session: its row and its cookie.
func (h *Handlers) signOut(c echo.Context) error {
	s := h.session(c)
	for k := range s.Values {
		delete(s.Values, k)
	}
	return s.Save(c.Request(), c.Response())
}

func (h *Handlers) flash(c echo.Context, kind, message string) {
	s := h.session(c)
	s.AddFlash(views.Flash{Kind: kind, Message: message})
	_ = s.Save(c.Request(), c.Response())
}

func (h *Handlers) takeFlashes(c echo.Context) []views.Flash {
	s := h.session(c)
	raw := s.Flashes()
	if len(raw) == 0 {
		return nil
	}
	_ = s.Save(c.Request(), c.Response())
	out := make([]views.Flash, 0, len(raw))
	for _, f := range raw {
		if fl, ok := f.(views.Flash); ok {
			out = append(out, fl)
		}
	}
	return out
}

// takeValue reads a one-time session value, such as an invitation link shown once.
func (h *Handlers) takeValue(c echo.Context, key string) string {
	s := h.session(c)
	v, _ := s.Values[key].(string)
	if v != "" {
		delete(s.Values, key)
		_ = s.Save(c.Request(), c.Response())
	}
	return v
}

func (h *Handlers) putValue(c echo.Context, key, value string) {
	s := h.session(c)
	s.Values[key] = value
	_ = s.Save(c.Request(), c.Response())
}

// safeNext keeps post-login redirects on this site: next must be a path on this server
// ("/leads?x=1"), else "/". Browsers forgive a lot in a Location header — they drop tabs and
// newlines, read a backslash as a slash, and treat "//host" as another site — so anything
// with a control character or backslash is refused outright, and the path is checked both as
// written and decoded.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || !plainPath(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !plainPath(u.Path) ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(u.Path, "//") || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}

// plainPath: no control character, space, backslash or invalid UTF-8.
func plainPath(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' || unicode.IsSpace(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
