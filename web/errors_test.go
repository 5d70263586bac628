package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// An unexpected error becomes a friendly 500 page that does not leak the internal message.
func TestInternalErrorsAreHidden(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	e.GET("/boom", func(c echo.Context) error { return errors.New("pq: password authentication failed for user secret") })
	e.GET("/api/boom", func(c echo.Context) error { return errors.New("internal detail") })

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "pq:") ||
		!strings.Contains(rec.Body.String(), "Something went wrong on our side") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/boom", nil))
	if rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || strings.Contains(rec.Body.String(), "internal detail") {
		t.Fatalf("api: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}
