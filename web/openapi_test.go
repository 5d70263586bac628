package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/peregrine-scoring/peregrine/handlers"
)

var (
	apiDocOnce   sync.Once
	apiDocRouter routers.Router
	apiDocErr    error
)

// apiRouter loads and validates the OpenAPI document once.
func apiRouter(t *testing.T) routers.Router {
	t.Helper()
	apiDocOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(handlers.OpenAPIDocument)
		if err != nil {
			apiDocErr = err
			return
		}
		if apiDocErr = doc.Validate(context.Background()); apiDocErr != nil {
			return
		}
		apiDocRouter, apiDocErr = gorillamux.NewRouter(doc)
	})
	if apiDocErr != nil {
		t.Fatal("the OpenAPI document is not valid: ", apiDocErr)
	}
	return apiDocRouter
}

// checkAgainstDocument fails the test when an answer of the API is not what the OpenAPI
// document says: an undocumented route or status, a body or header off its schema.
func checkAgainstDocument(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	route, params, err := apiRouter(t).FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s answered %d off the OpenAPI document: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
}

// TestEveryAPIRouteIsDocumented: a route under /api/v1 that the OpenAPI document lacks fails.
func TestEveryAPIRouteIsDocumented(t *testing.T) {
	s := newServer(t, nil)
	router := apiRouter(t)
	n := 0
	for _, r := range s.Echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/openapi.json" {
			continue
		}
		n++
		path := r.Path
		for _, part := range strings.Split(path, "/") {
			if strings.HasPrefix(part, ":") {
				path = strings.Replace(path, part, "1", 1)
			}
		}
		req, _ := http.NewRequest(r.Method, "http://example.test"+path, nil)
		if _, _, err := router.FindRoute(req); err != nil {
			t.Errorf("%s %s is served but not in the OpenAPI document", r.Method, r.Path)
		}
	}
	if n < 12 {
		t.Fatalf("only %d API routes found", n)
	}
	res, err := http.Get(s.URL + "/api/v1/openapi.json")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the document is not served: %v", err)
	}
	res.Body.Close()
	page, err := http.Get(s.URL + "/api/docs")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(raw), `spec-url="/api/v1/openapi.json"`) || !strings.Contains(string(raw), "/static/vendor/redoc/redoc.standalone.js") {
		t.Fatalf("the reference page: %s", raw)
	}
}
