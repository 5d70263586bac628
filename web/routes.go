package web

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/handlers"
	"github.com/peregrine-scoring/peregrine/static"
)

// endpoints are the machine-facing handlers.
type endpoints struct {
	currents *handlers.CurrentsEndpoint
	tracker  *handlers.TrackerEndpoint
	api      *handlers.API
}

// routes registers every route of Peregrine, grouped by the middleware they need.
func routes(e *echo.Echo, h *handlers.Handlers, ep endpoints, metrics *Metrics, cfg *config.Config, log *slog.Logger) {
	currents, tracker, api := ep.currents, ep.tracker, ep.api
	// Beacons from visitors need no request id (they are not logged).
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Skipper: func(c echo.Context) bool { return c.Path() == "/t/collect" }}))
	e.Use(requestLogger(log))
	e.Use(middleware.Recover())
	e.Use(securityHeaders(cfg.Secure()))

	// Probes and static files: no session, no CSRF.
	e.GET("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)
	e.StaticFS("/static", static.FS)
	// Machine endpoints: bearer tokens, no session, no CSRF; they answer JSON.
	e.POST("/api/braze/currents/events", currents.Receive, metrics.countCurrents)
	// Segment's Webhooks (Classic) post; Webhooks (Actions) may be set to PUT or PATCH.
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
		e.Add(method, "/api/segment/events", currents.ReceiveSegment)
	}
	// The open API: API tokens with scopes, no session, no CSRF; problem+json errors.
	e.GET("/api/v1/openapi.json", handlers.ShowOpenAPI)
	e.GET("/api/docs", handlers.ShowAPIDocs)
	e.POST("/api/v1/events", api.PostEvents, api.Auth(model.ScopeEventsWrite))
	e.GET("/api/v1/leads", api.ListLeads, api.Auth(model.ScopeLeadsRead))
	e.POST("/api/v1/leads", api.CreateLead, api.Auth(model.ScopeLeadsWrite))
	e.GET("/api/v1/leads/by-email", api.GetLead, api.Auth(model.ScopeLeadsRead))
	e.GET("/api/v1/leads/:id", api.GetLead, api.Auth(model.ScopeLeadsRead))
	e.PATCH("/api/v1/leads/:id", api.PatchLead, api.Auth(model.ScopeLeadsWrite))
	e.GET("/api/v1/activities", api.ListActivities, api.Auth(model.ScopeLeadsRead))
	e.GET("/api/v1/accounts", api.ListAccounts, api.Auth(model.ScopeAccountsRead))
	e.GET("/api/v1/accounts/:id", api.GetAccount, api.Auth(model.ScopeAccountsRead))
	e.GET("/api/v1/rules", api.ListRules, api.Auth(model.ScopeRulesRead))
	e.POST("/api/v1/rules", api.CreateRule, api.Auth(model.ScopeRulesWrite))
	e.POST("/api/v1/rules/preview", api.PreviewRule, api.Auth(model.ScopeRulesRead))
	e.GET("/api/v1/rules/:id", api.GetRule, api.Auth(model.ScopeRulesRead))
	e.PUT("/api/v1/rules/:id", api.ReplaceRule, api.Auth(model.ScopeRulesWrite))
	e.DELETE("/api/v1/rules/:id", api.DeleteRule, api.Auth(model.ScopeRulesWrite))

	// The website tracker: its script and the endpoint its hits go to, called from customers'
	// pages (the site key and allowed origins stand in for a token; no cookie is read).
	e.GET("/t.js", tracker.Script)
	e.GET("/t/:version", tracker.Script)
	e.POST("/t/collect", tracker.Collect, middleware.BodyLimit("64K"))
	e.HEAD("/t/collect", tracker.Head)
	e.OPTIONS("/t/collect", tracker.CollectPreflight)
	// Prometheus, only with PEREGRINE_METRICS_TOKEN (or on --metrics-addr, see serve).
	e.GET("/metrics", metrics.protected(cfg.MetricsToken))

	// Tracked links: the session, when there is one, tells a rep's own click from the lead's.
	e.GET("/l/:token", tracker.FollowLink, h.LoadIdentity)
	e.GET("/favicon.ico", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg") })

	// Browser pages: bounded form bodies, CSRF (Sec-Fetch-Site, else a token), the session.
	// Middleware is attached per route, not with Group.Use, which would answer unknown URLs
	// through the group's chain (a redirect to sign in) instead of the 404 page.
	csrf := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     "peregrine_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   cfg.Secure(),
		CookieSameSite: http.SameSiteLaxMode,
		// A sibling subdomain (same-site, not same-origin) can plant the token cookie this
		// check compares with: a browser that says so is refused, token or not.
		AllowSecFetchSiteFunc: func(c echo.Context) (bool, error) {
			return false, echo.NewHTTPError(http.StatusForbidden, "This form was sent from another site. Open Peregrine at its own address and try again.")
		},
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "This form was sent from another site or has expired. Reload the page and try again.")
		},
	})
	page := []echo.MiddlewareFunc{middleware.BodyLimit("1M"), csrf, handlers.CleanInput, h.LoadIdentity}
	signedIn := slices.Concat(page, []echo.MiddlewareFunc{handlers.RequireSignedIn})
	viewer := slices.Concat(signedIn, []echo.MiddlewareFunc{handlers.Require(model.PermViewLeads)})
	admin := slices.Concat(signedIn, []echo.MiddlewareFunc{handlers.Require(model.PermManageSettings)})

	e.GET("/", h.ShowHome, page...)
	e.GET("/signup", h.ShowSignupPage, page...)
	e.POST("/signup", h.SignUp, page...)
	e.GET("/login", h.ShowLoginPage, page...)
	e.POST("/login", h.Login, page...)
	e.POST("/logout", h.Logout, page...)
	e.GET("/forgot-password", h.ShowForgotPasswordPage, page...)
	e.POST("/forgot-password", h.ForgotPassword, page...)
	e.GET("/reset-password/:slug/:token", h.ShowResetPasswordPage, page...)
	e.POST("/reset-password/:slug/:token", h.ResetPassword, page...)
	e.GET("/unsubscribe/:slug/:token", h.ShowUnsubscribe, page...)
	// One-click unsubscribe (RFC 8058) comes from mail providers, without session or form
	// token: the sealed link is the key.
	e.POST("/unsubscribe/:slug/:token", h.Unsubscribe, middleware.BodyLimit("4K"), handlers.CleanInput)
	e.GET("/join/:slug/:token", h.ShowJoinPage, page...)
	e.POST("/join/:slug/:token", h.Join, page...)

	// Every signed-in person's own account: password and sessions.
	e.GET("/profile", h.ShowProfilePage, signedIn...)
	e.POST("/profile/password", h.ChangePassword, signedIn...)
	e.POST("/profile/time-zone", h.SetTimeZone, signedIn...)
	e.POST("/profile/alerts", h.SaveMyAlerts, signedIn...)
	e.POST("/profile/sessions/end-all", h.SignOutEverywhere, signedIn...)
	e.POST("/profile/sessions/:id/end", h.EndOtherSession, signedIn...)

	e.GET("/leads", h.ShowLeadsPage, viewer...)
	e.GET("/leads.csv", h.ExportLeadsCSV, viewer...)
	e.GET("/accounts.csv", h.ExportAccountsCSV, viewer...)
	e.GET("/leads/new", h.ShowNewLead, viewer...)
	e.POST("/leads", h.CreateLeadFromForm, viewer...)
	e.GET("/leads/:id", h.ShowLeadPage, viewer...)
	e.POST("/leads/:id/assign", h.AssignLead, viewer...)
	e.POST("/leads/:id/links", h.CreateTrackedLink, viewer...)
	e.GET("/accounts", h.ShowAccountsPage, viewer...)
	e.GET("/accounts/:id", h.ShowAccountPage, viewer...)

	marketing := slices.Concat(signedIn, []echo.MiddlewareFunc{handlers.Require(model.PermManageMarketing)})
	e.GET("/integrations", h.ShowIntegrationsOverview, marketing...)
	e.POST("/integrations/switch/:part", h.SwitchIntegration, marketing...)
	e.GET("/integrations/braze", h.ShowBrazePage, marketing...)
	e.POST("/integrations/braze", h.SaveBraze, marketing...)
	e.POST("/integrations/braze/test", h.TestBraze, marketing...)
	e.POST("/integrations/braze/writeback", h.SaveWriteback, marketing...)
	e.GET("/integrations/braze/status", h.ShowBrazeStatus, marketing...)
	e.POST("/integrations/braze/tokens", h.CreateCurrentsToken, marketing...)
	e.POST("/integrations/braze/tokens/:id/revoke", h.RevokeCurrentsToken, marketing...)
	e.POST("/integrations/braze/set-aside/retry", h.RetrySetAside, marketing...)
	e.POST("/integrations/braze/set-aside/discard", h.DiscardSetAside, marketing...)

	e.POST("/leads/:id/known-by/:link/undo", h.UndoIdentityLink, marketing...)
	e.GET("/integrations/segment", h.ShowSegmentPage, marketing...)
	e.POST("/integrations/segment/tokens", h.CreateSegmentToken, marketing...)
	e.POST("/integrations/segment/tokens/:id/revoke", h.RevokeSegmentToken, marketing...)
	e.POST("/integrations/segment/secret", h.SaveSegmentSecret, marketing...)
	e.POST("/integrations/segment/secret/remove", h.RemoveSegmentSecret, marketing...)
	e.GET("/integrations/website", h.ShowWebsitePage, marketing...)
	e.POST("/integrations/website/sites", h.CreateSite, marketing...)
	e.POST("/integrations/website/sites/:id", h.UpdateSite, marketing...)
	e.POST("/integrations/website/sites/:id/delete", h.DeleteSite, marketing...)

	e.GET("/rules", h.ShowRulesPage, marketing...)
	e.GET("/rules/progress", h.ShowRescoreProgress, marketing...)
	e.GET("/rules/new", h.ShowRuleBuilder, marketing...)
	e.POST("/rules", h.SaveRule, marketing...)
	e.POST("/rules/validate", h.ValidateRule, marketing...)
	e.POST("/rules/preview", h.PreviewRule, marketing...)
	e.GET("/rules/export", h.ExportRules, marketing...)
	e.POST("/rules/import", h.ImportRules, marketing...)
	e.POST("/rules/defaults", h.LoadDefaultRules, marketing...)
	e.POST("/rules/grades", h.UpdateGradeScale, marketing...)
	e.POST("/rules/temperature", h.UpdateTemperatureBands, marketing...)
	e.POST("/rules/scores/:id", h.UpdateScore, marketing...)
	e.GET("/rules/:id", h.ShowRuleBuilder, marketing...)
	e.POST("/rules/:id", h.SaveRule, marketing...)
	e.POST("/rules/:id/enable", h.EnableRule, marketing...)
	e.POST("/rules/:id/disable", h.DisableRule, marketing...)
	e.POST("/rules/:id/duplicate", h.DuplicateRule, marketing...)
	e.POST("/rules/:id/delete", h.DeleteRule, marketing...)
	e.POST("/rules/:id/move", h.MoveRule, marketing...)
	e.GET("/alerts", h.ShowAlertsPage, marketing...)
	e.GET("/alerts/new", h.ShowAlertForm, marketing...)
	e.POST("/alerts", h.SaveAlert, marketing...)
	e.POST("/alerts/channels", h.AddChannel, marketing...)
	e.POST("/alerts/channels/:id/test", h.ChannelAction, marketing...)
	e.POST("/alerts/channels/:id/delete", h.ChannelAction, marketing...)
	e.POST("/alerts/channels/:id/enable", h.ChannelAction, marketing...)
	e.POST("/alerts/deliveries/:id/resend", h.ResendDelivery, marketing...)
	e.GET("/alerts/:id", h.ShowAlertForm, marketing...)
	e.POST("/alerts/:id", h.SaveAlert, marketing...)
	e.POST("/alerts/:id/enable", h.SwitchAlert, marketing...)
	e.POST("/alerts/:id/disable", h.SwitchAlert, marketing...)
	e.POST("/alerts/:id/delete", h.DeleteAlert, marketing...)
	e.GET("/reports", h.ShowReportPage, marketing...)
	e.GET("/reports.csv", h.ExportReportCSV, marketing...)
	e.GET("/reports/leads", h.ShowCreditedLeads, marketing...)
	e.GET("/reports/milestones", h.ShowMilestonesPage, marketing...)
	e.POST("/reports/milestones", h.CreateMilestone, marketing...)
	e.POST("/reports/milestones/:id/delete", h.DeleteMilestone, marketing...)
	e.POST("/reports/settings", h.SaveAttributionSettings, marketing...)
	e.POST("/reports/subscriptions", h.SubscribeReport, marketing...)
	e.POST("/reports/subscriptions/:id/delete", h.UnsubscribeReport, marketing...)
	e.GET("/settings/event-properties", h.ShowEventPropertiesPage, marketing...)
	e.POST("/settings/event-properties", h.AddEventProperty, marketing...)
	e.POST("/settings/event-properties/delete", h.DeleteEventProperty, marketing...)

	// Salesforce is connected by admins; Salesforce sends the browser back to the callback.
	e.GET("/integrations/salesforce", h.ShowSalesforcePage, admin...)
	e.POST("/integrations/salesforce", h.SaveSalesforceApp, admin...)
	// A GET: it only starts the round trip; the callback checks the state kept in the session.
	e.GET("/integrations/salesforce/connect", h.ConnectSalesforce, admin...)
	e.POST("/integrations/salesforce/password", h.ConnectSalesforcePassword, admin...)
	e.POST("/integrations/salesforce/check", h.CheckSalesforce, admin...)
	e.POST("/integrations/salesforce/disconnect", h.DisconnectSalesforce, admin...)
	e.POST("/integrations/salesforce/share", h.SaveSalesforceShare, admin...)
	e.GET("/salesforce/oauth2/callback", h.SalesforceCallback, admin...)
	e.GET("/integrations/salesforce/sync", h.ShowSalesforceSyncPage, admin...)
	e.POST("/integrations/salesforce/sync", h.SaveSalesforceSync, admin...)
	e.POST("/integrations/salesforce/sync-now", h.SyncSalesforceNow, admin...)
	e.GET("/integrations/salesforce/sync/progress", h.ShowSyncProgress, admin...)
	e.POST("/integrations/salesforce/pull-now", h.PullSalesforceNow, admin...)
	e.GET("/integrations/salesforce/log", h.ShowSalesforceLogPage, admin...)
	e.POST("/integrations/salesforce/retry/:lead", h.RetrySalesforceRecord, admin...)

	e.GET("/settings", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/settings/workspace") }, admin...)
	e.GET("/settings/workspace", h.ShowWorkspaceSettingsPage, admin...)
	e.POST("/settings/workspace", h.UpdateWorkspaceSettings, admin...)
	e.GET("/settings/users", h.ShowUsersPage, admin...)
	e.POST("/settings/users/invite", h.InviteUser, admin...)
	e.POST("/settings/users/:id/role", h.ChangeUserRole, admin...)
	e.POST("/settings/users/:id/deactivate", h.DeactivateUser, admin...)
	e.POST("/settings/users/:id/activate", h.ActivateUser, admin...)
	e.POST("/settings/invitations/:id/revoke", h.RevokeInvitation, admin...)
	e.GET("/settings/leads", h.ShowLeadSettings, admin...)
	e.POST("/settings/leads/statuses", h.AddLeadStatus, admin...)
	e.POST("/settings/leads/statuses/:id/:action", h.ChangeLeadStatus, admin...)
	e.POST("/settings/leads/sources", h.AddLeadSource, admin...)
	e.POST("/settings/leads/sources/:id/delete", h.DeleteLeadSource, admin...)
	e.POST("/settings/leads/pools", h.SavePool, admin...)
	e.POST("/settings/leads/pools/:id", h.SavePool, admin...)
	e.POST("/settings/leads/pools/:id/remove/:user", h.RemovePoolMember, admin...)
	e.POST("/settings/leads/pools/:id/delete", h.DeletePool, admin...)
	e.POST("/settings/leads/rules/:path", h.SaveEntryRule, admin...)
	e.POST("/settings/leads/access", h.SaveSalesAccess, admin...)
	e.GET("/settings/cards", h.ShowCardLayouts, admin...)
	e.POST("/settings/cards/:object", h.SaveCardLayout, admin...)
	e.POST("/settings/cards/:object/publish", h.PublishCardLayout, admin...)
	e.POST("/settings/cards/:object/discard", h.DiscardCardLayout, admin...)
	e.GET("/settings/api-tokens", h.ShowAPITokensPage, admin...)
	e.POST("/settings/api-tokens", h.CreateAPIToken, admin...)
	e.POST("/settings/api-tokens/:id/revoke", h.RevokeAPIToken, admin...)
	e.GET("/settings/email", h.ShowEmailSettingsPage, admin...)
	e.POST("/settings/email/test", h.SendTestEmail, admin...)
	e.POST("/settings/email/deliveries/:id/resend", h.ResendDelivery, admin...)
}
