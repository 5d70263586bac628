package web

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/handlers"
	"github.com/peregrine-scoring/peregrine/static"
)

// routes registers every route of Peregrine, grouped by the middleware they need.
func routes(e *echo.Echo, h *handlers.Handlers, cfg *config.Config, log *slog.Logger) {
	e.Use(middleware.RequestID())
	e.Use(requestLogger(log))
	e.Use(middleware.Recover())
	e.Use(securityHeaders(cfg.Secure()))

	// Probes and static files: no session, no CSRF.
	e.GET("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)
	e.StaticFS("/static", static.FS)
	e.GET("/favicon.ico", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg") })

	// Browser pages: bounded form bodies, CSRF (Sec-Fetch-Site, else a token), the session.
	pages := e.Group("",
		middleware.BodyLimit("1M"),
		middleware.CSRFWithConfig(middleware.CSRFConfig{
			TokenLookup:    "form:_csrf,header:X-CSRF-Token",
			CookieName:     "peregrine_csrf",
			CookiePath:     "/",
			CookieHTTPOnly: true,
			CookieSecure:   cfg.Secure(),
			CookieSameSite: http.SameSiteLaxMode,
			ErrorHandler: func(err error, c echo.Context) error {
				return echo.NewHTTPError(http.StatusForbidden, "This form was sent from another site or has expired. Reload the page and try again.")
			},
		}),
		h.LoadIdentity,
	)
	pages.GET("/", h.ShowHome)
	pages.GET("/signup", h.ShowSignupPage)
	pages.POST("/signup", h.SignUp)
	pages.GET("/login", h.ShowLoginPage)
	pages.POST("/login", h.Login)
	pages.POST("/logout", h.Logout)
	pages.GET("/join/:slug/:token", h.ShowJoinPage)
	pages.POST("/join/:slug/:token", h.Join)

	signedIn := pages.Group("", handlers.RequireSignedIn)
	signedIn.GET("/leads", h.ShowLeadsPage, handlers.Require(model.PermViewLeads))

	settings := signedIn.Group("/settings", handlers.Require(model.PermManageSettings))
	settings.GET("", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/settings/workspace") })
	settings.GET("/workspace", h.ShowWorkspaceSettingsPage)
	settings.POST("/workspace", h.UpdateWorkspaceSettings)
	settings.GET("/users", h.ShowUsersPage)
	settings.POST("/users/invite", h.InviteUser)
	settings.POST("/users/:id/role", h.ChangeUserRole)
	settings.POST("/users/:id/deactivate", h.DeactivateUser)
	settings.POST("/users/:id/activate", h.ActivateUser)
	settings.POST("/invitations/:id/revoke", h.RevokeInvitation)
}
