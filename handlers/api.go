package handlers

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// API serves the open API (/api/v1): bearer tokens of kind api, scopes per route, a rate
// limit per token, and errors as application/problem+json (RFC 9457).
type API struct {
	Handlers *Handlers
	Pipeline *ingest.Pipeline
	// Rate and Burst bound each token's requests (per second, and at once) in this process.
	Rate  float64
	Burst int
	// MaxBody bounds a request body.
	MaxBody int64

	mu       sync.Mutex
	limiters map[int64]*rate.Limiter
	touched  map[int64]time.Time
}

// NewAPI returns the open API allowing perSecond requests a second per token, in bursts of
// twice that.
func NewAPI(h *Handlers, p *ingest.Pipeline, perSecond int) *API {
	return &API{Handlers: h, Pipeline: p, Rate: float64(perSecond), Burst: 2 * perSecond, MaxBody: 8 << 20,
		limiters: map[int64]*rate.Limiter{}, touched: map[int64]time.Time{}}
}

// ProblemDetails is an RFC 9457 problem; Errors lists each invalid field by JSON pointer.
type ProblemDetails struct {
	Type   string           `json:"type"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail"`
	Errors []ingest.Problem `json:"errors,omitempty"`
}

// problem answers with a problem document.
func problem(c echo.Context, status int, detail string, errs ...ingest.Problem) error {
	p := ProblemDetails{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json") // c.JSON keeps it
	return c.JSON(status, p)
}

const (
	tokenKey  = "api_token"
	viewerKey = "api_viewer"
)

// APIViewer is what the request's API token may read of the leads: everything, or what the
// user it acts for may see.
func APIViewer(c echo.Context) store.Viewer {
	v, _ := c.Get(viewerKey).(store.Viewer)
	return v
}

// TokenOf is the API token of a request the API middleware let through.
func TokenOf(c echo.Context) model.APIToken {
	t, _ := c.Get(tokenKey).(model.APIToken)
	return t
}

// Auth is the API's middleware: a valid, unexpired api token (401), the route's scope (403),
// within the token's rate (429 with Retry-After). Every answer carries the rate headers.
func (a *API) Auth(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			bearer, ok := bearerToken(c.Request().Header.Get("Authorization"))
			if !ok {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine"`)
				return problem(c, http.StatusUnauthorized, "Send an API token in the Authorization header: Bearer <token> (Settings › API tokens).")
			}
			tok, err := ingest.Authenticate(c.Request().Context(), a.Handlers.Store, bearer, model.TokenKindAPI)
			var authErr *ingest.AuthError
			switch {
			case errors.As(err, &authErr) && authErr.Expired:
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine", error="invalid_token"`)
				return problem(c, http.StatusUnauthorized, "This API token has expired: create a new one under Settings › API tokens.")
			case errors.As(err, &authErr):
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine", error="invalid_token"`)
				return problem(c, http.StatusUnauthorized, "Unknown or revoked API token.")
			case err != nil:
				return err
			}
			if !a.allow(c, tok) {
				return problem(c, http.StatusTooManyRequests, "Too many requests with this token; wait for the time in Retry-After.")
			}
			if scope != "" && !tok.HasScope(scope) {
				return problem(c, http.StatusForbidden, "This token lacks the "+scope+" scope; create one with it under Settings › API tokens.")
			}
			v := store.Everyone(tok.WorkspaceID)
			if tok.ActsFor != nil {
				v, err = a.Handlers.Store.UserViewer(c.Request().Context(), tok.WorkspaceID, *tok.ActsFor)
				if errors.Is(err, store.ErrNotFound) {
					c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine", error="invalid_token"`)
					return problem(c, http.StatusUnauthorized, "The user this API token acts for is deactivated: create a new token under Settings › API tokens.")
				}
				if err != nil {
					return err
				}
			}
			c.Set(tokenKey, tok)
			c.Set(viewerKey, v)
			a.touch(c, tok)
			return next(c)
		}
	}
}

// allow takes one request from the token's allowance and writes the rate headers
// (draft-ietf-httpapi-ratelimit-headers): the limit per second, what is left, and when the
// allowance is whole again.
func (a *API) allow(c echo.Context, tok model.APIToken) bool {
	a.mu.Lock()
	l := a.limiters[tok.ID]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(a.Rate), a.Burst)
		a.limiters[tok.ID] = l
	}
	a.mu.Unlock()
	now := time.Now()
	r := l.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	ok := delay == 0
	if !ok {
		r.CancelAt(now)
	}
	left := max(0, int(math.Floor(l.TokensAt(now))))
	reset := int(math.Ceil(float64(a.Burst-left) / a.Rate))
	h := c.Response().Header()
	h.Set("RateLimit-Policy", strconv.Itoa(a.Burst)+";w="+strconv.Itoa(int(math.Ceil(float64(a.Burst)/a.Rate))))
	h.Set("RateLimit-Limit", strconv.Itoa(a.Burst))
	h.Set("RateLimit-Remaining", strconv.Itoa(left))
	h.Set("RateLimit-Reset", strconv.Itoa(reset))
	if !ok {
		h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(delay.Seconds())))))
	}
	return ok
}

// touch records the token's use at most once a minute per token and process.
func (a *API) touch(c echo.Context, tok model.APIToken) {
	a.mu.Lock()
	due := time.Since(a.touched[tok.ID]) > time.Minute
	if due {
		a.touched[tok.ID] = time.Now()
	}
	a.mu.Unlock()
	if due {
		if err := a.Handlers.Store.TouchAPIToken(c.Request().Context(), tok.WorkspaceID, tok.ID); err != nil {
			a.Handlers.Log.Warn("recording token use failed", "err", err)
		}
	}
}

// readBody reads a JSON body within the limit; a non-nil error has been answered.
func (a *API) readBody(c echo.Context) ([]byte, bool, error) {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, false, problem(c, http.StatusUnsupportedMediaType, "Send JSON (Content-Type: application/json).")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, a.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, false, problem(c, http.StatusRequestEntityTooLarge, "The body is larger than "+strconv.FormatInt(a.MaxBody>>20, 10)+" MiB.")
	case err != nil:
		return nil, false, problem(c, http.StatusBadRequest, "The request body could not be read.")
	}
	return body, true, nil
}

// PostEvents is POST /api/v1/events: up to 1,000 events stored durably before the 202, each
// once by its id; the events with problems are listed (and not stored).
func (a *API) PostEvents(c echo.Context) error {
	body, ok, err := a.readBody(c)
	if !ok {
		return err
	}
	tok := TokenOf(c)
	res, err := a.Pipeline.Acceptor.AcceptAPI(c.Request().Context(), tok.WorkspaceID, body)
	switch {
	case errors.Is(err, ingest.ErrTooManyEvents):
		return problem(c, http.StatusRequestEntityTooLarge, strings.TrimPrefix(err.Error(), ingest.ErrTooManyEvents.Error()+": "))
	case errors.Is(err, ingest.ErrMalformed):
		return problem(c, http.StatusBadRequest, strings.TrimPrefix(err.Error(), ingest.ErrMalformed.Error()+": "))
	case errors.Is(err, ingest.ErrUnavailable):
		c.Response().Header().Set("Retry-After", "30")
		return problem(c, http.StatusServiceUnavailable, "The events could not be stored now; nothing was kept. Retry later.")
	case err != nil:
		return err
	}
	if res.Received > 0 && res.Stored+res.Duplicates == 0 {
		return problem(c, http.StatusUnprocessableEntity, "No event could be stored: each has problems.", res.Problems...)
	}
	return c.JSON(http.StatusAccepted, res)
}
