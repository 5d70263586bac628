package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenAPIDocument is the open API's OpenAPI 3.1 document (handlers/openapi.json). Tests
// check every route under /api/v1 is in it and every answer matches it.
//
//go:embed openapi.json
var OpenAPIDocument []byte

// ShowOpenAPI serves the OpenAPI document (public: it holds no workspace data).
func ShowOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/json", OpenAPIDocument)
}

// apiDocsPage renders the document with Redoc (vendored under static/vendor/redoc, pinned in
// package.json; no CDN).
const apiDocsPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference · Peregrine</title><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head>
<body><redoc spec-url="/api/v1/openapi.json" hide-download-button="false"></redoc>
<noscript><p>The API reference needs JavaScript; the OpenAPI document is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript>
<script type="module" src="/static/vendor/redoc/redoc.standalone.js"></script></body></html>`

// ShowAPIDocs renders the API reference. Redoc styles itself with inline style elements, so
// this page alone allows them.
func ShowAPIDocs(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "+
		"script-src 'self'; worker-src 'self' blob:; font-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	return c.HTML(http.StatusOK, apiDocsPage)
}
