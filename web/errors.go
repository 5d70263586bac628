package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/handlers"
	"github.com/peregrine-scoring/peregrine/views"
)

// errorHandler renders every error as a friendly page (or JSON for API clients), and never
// shows internal error text to the visitor.
//
// Routes nobody registered run no route middleware, so the identity is loaded here when it is
// missing: a signed-in person's 404 page then leads back to their leads, not to sign-in.
func errorHandler(log *slog.Logger, loadIdentity echo.MiddlewareFunc) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status := http.StatusInternalServerError
		message := ""
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
			if m, ok := he.Message.(string); ok {
				message = m
			}
		}
		if status >= 500 {
			log.Error("request failed", "err", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			message = ""
		}
		title, fallback := describe(status)
		if message == "" || strings.EqualFold(message, http.StatusText(status)) {
			message = fallback
		}
		if strings.HasPrefix(c.Request().URL.Path, "/api/v1/") {
			c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
			_ = c.JSON(status, handlers.ProblemDetails{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: message})
			return
		}
		if wantsJSON(c) {
			_ = c.JSON(status, map[string]string{"error": message})
			return
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		if handlers.IdentityOf(c) == nil && loadIdentity != nil && status < 500 {
			_ = loadIdentity(func(echo.Context) error { return nil })(c)
		}
		view := views.ErrorView{Status: status, Title: title, Message: message, SignedIn: handlers.IdentityOf(c) != nil,
			Chrome: handlers.BaseChrome(c, title)}
		if rerr := handlers.Render(c, status, views.ErrorPage(view)); rerr != nil {
			_ = c.String(status, title+": "+message)
		}
	}
}

func describe(status int) (title, message string) {
	switch status {
	case http.StatusBadRequest:
		return "That request did not make sense", "Something in the request was malformed. Go back and try again."
	case http.StatusForbidden:
		return "You don't have access to this page", "Your role does not give access to this page. Ask an admin of your workspace if you need it."
	case http.StatusNotFound:
		return "Page not found", "We looked everywhere, but this page does not exist. Check the address or go back."
	case http.StatusMethodNotAllowed:
		return "Not available this way", "This address does not accept that kind of request."
	case http.StatusRequestEntityTooLarge:
		return "That was too much", "The form you sent is larger than we accept."
	case http.StatusTooManyRequests:
		return "Slow down a little", "Too many requests in a short time. Wait a moment and try again."
	case http.StatusServiceUnavailable:
		return "Peregrine is briefly unavailable", "The database is not answering right now. Try again in a minute."
	}
	if status >= 500 {
		return "Something went wrong on our side", "The error was logged. Try again; if it keeps happening, tell your admin the time it happened."
	}
	return http.StatusText(status), http.StatusText(status)
}

func wantsJSON(c echo.Context) bool {
	r := c.Request()
	return strings.HasPrefix(r.URL.Path, "/api/") ||
		(strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html"))
}
