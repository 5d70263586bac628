package handlers

import (
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// CleanInput refuses, with a 400 a person understands, any request to a browser route
// whose path parameters, query or form values hold a NUL or other control character (a form
// value may hold tabs and line breaks) or are not valid UTF-8. PostgreSQL cannot store such
// text, and no person types it: it only ever arrives from broken clients or probes, and
// refusing it here keeps every handler from failing on it later. The one exception is next=,
// the page to return to after signing in: it is never stored, safeNext replaces anything but a
// plain same-site path with "/", and a person following a mangled link can still sign in.
func CleanInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, v := range c.ParamValues() {
			if !cleanText(v, false) {
				return echo.NewHTTPError(http.StatusBadRequest, badTextMessage)
			}
		}
		for name, values := range c.QueryParams() {
			if name == "next" {
				continue
			}
			for _, v := range values {
				if !cleanText(v, false) {
					return echo.NewHTTPError(http.StatusBadRequest, badTextMessage)
				}
			}
		}
		if c.Request().Method == http.MethodPost {
			form, err := c.FormParams()
			if err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "This form could not be read. Reload the page and try again.")
			}
			for name, values := range form {
				if name == "next" {
					continue
				}
				for _, v := range values {
					if !cleanText(v, true) {
						return echo.NewHTTPError(http.StatusBadRequest, badTextMessage)
					}
				}
			}
		}
		return next(c)
	}
}

const badTextMessage = "Part of what was sent holds invisible control characters (such as a NUL byte) or text that is not valid UTF-8. Remove them and try again."

// cleanText: valid UTF-8 without control characters; multiline allows tab, CR and LF.
func cleanText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			if multiline && (r == '\t' || r == '\n' || r == '\r') {
				continue
			}
			return false
		}
	}
	return true
}
