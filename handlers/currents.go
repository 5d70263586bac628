package handlers

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// CurrentsEndpoint receives Braze Currents batches (braze.md §1 and §7): the bearer token
// names the workspace; nothing is acknowledged before it is stored.
type CurrentsEndpoint struct {
	Handlers *Handlers
	Pipeline *ingest.Pipeline
	MaxBody  int64
	// Slots bounds concurrent stores; a request that waits too long gets 503 so Braze retries
	// later instead of piling up connections.
	Slots chan struct{}

	touchMu sync.Mutex
	touched map[int64]time.Time
}

// NewCurrentsEndpoint sizes the endpoint.
func NewCurrentsEndpoint(h *Handlers, p *ingest.Pipeline, maxBody int64, concurrency int) *CurrentsEndpoint {
	return &CurrentsEndpoint{Handlers: h, Pipeline: p, MaxBody: maxBody, Slots: make(chan struct{}, concurrency), touched: map[int64]time.Time{}}
}

func apiError(c echo.Context, status int, message string) error {
	return c.JSON(status, map[string]string{"error": message})
}

func unavailable(c echo.Context, message string) error {
	c.Response().Header().Set("Retry-After", "30")
	return apiError(c, http.StatusServiceUnavailable, message)
}

// Receive handles POST /api/braze/currents/events.
func (ce *CurrentsEndpoint) Receive(c echo.Context) error {
	ctx := c.Request().Context()
	bearer, ok := bearerToken(c.Request().Header.Get("Authorization"))
	if !ok {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine"`)
		return apiError(c, http.StatusUnauthorized, "Missing bearer token: set the token Peregrine generated in the Current's settings.")
	}
	tok, err := ingest.Authenticate(ctx, ce.Handlers.Store, bearer, model.TokenKindCurrents)
	var authErr *ingest.AuthError
	switch {
	case errors.As(err, &authErr):
		ce.Pipeline.Stats.Add(authErr.WorkspaceID, model.MetricRejectedAuth, "", 1)
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine", error="invalid_token"`)
		return apiError(c, http.StatusUnauthorized, "Unknown or revoked token: generate a new one in Peregrine under Integrations › Braze.")
	case err != nil:
		ce.Handlers.Log.Error("currents: token lookup failed", "err", err)
		return unavailable(c, "Peregrine cannot reach its database right now; retry later.")
	}

	body, status, msg := ce.readBody(c)
	if status != 0 {
		if status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge {
			ce.Pipeline.Stats.Add(tok.WorkspaceID, model.MetricRejectedRequest, "", 1)
		}
		return apiError(c, status, msg)
	}

	select {
	case ce.Slots <- struct{}{}:
		defer func() { <-ce.Slots }()
	case <-time.After(5 * time.Second):
		return unavailable(c, "Peregrine is busy storing other batches; retry later.")
	case <-ctx.Done():
		c.Response().Status = 499
		return nil
	}
	res, err := ce.Pipeline.Acceptor.AcceptCurrents(ctx, tok.WorkspaceID, body)
	switch {
	case errors.Is(err, ingest.ErrMalformed):
		return apiError(c, http.StatusBadRequest, strings.TrimPrefix(err.Error(), ingest.ErrMalformed.Error()+": "))
	case err != nil && ctx.Err() != nil:
		// The client gave up; the transaction rolled back, so nothing was acknowledged or kept.
		ce.Handlers.Log.Info("currents: client went away before the batch was stored", "workspace", tok.WorkspaceID)
		c.Response().Status = 499 // "client closed request": nobody is left to answer
		return nil
	case err != nil:
		ce.Handlers.Log.Error("currents: storing batch failed", "workspace", tok.WorkspaceID, "err", err)
		return unavailable(c, "Peregrine could not store the batch; nothing was kept, retry later.")
	}
	ce.touch(tok)
	return c.JSON(http.StatusOK, res)
}

// readBody reads the body within the size limit, un-gzipping it when asked. A non-zero
// status means the request is refused with msg.
func (ce *CurrentsEndpoint) readBody(c echo.Context) ([]byte, int, string) {
	r := c.Request()
	tooBig := func() ([]byte, int, string) {
		return nil, http.StatusRequestEntityTooLarge, "The batch is larger than this server accepts; send smaller batches."
	}
	if r.ContentLength > ce.MaxBody {
		return tooBig()
	}
	var reader io.Reader = http.MaxBytesReader(c.Response(), r.Body, ce.MaxBody)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(reader)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tooBig()
			}
			return nil, http.StatusBadRequest, "The body says it is gzip-compressed but is not valid gzip."
		}
		defer gz.Close()
		reader = gz
	default:
		return nil, http.StatusUnsupportedMediaType, "Content-Encoding " + enc + " is not supported; send plain or gzip-compressed JSON."
	}
	// The decompressed size is bounded too, so a small gzip bomb cannot fill memory.
	body, err := io.ReadAll(io.LimitReader(reader, ce.MaxBody+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || int64(len(body)) > ce.MaxBody:
		return tooBig()
	case err != nil && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)):
		return nil, http.StatusBadRequest, "The gzip-compressed body is damaged."
	case err != nil:
		return nil, http.StatusBadRequest, "The request body could not be read."
	}
	return body, 0, ""
}

func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// touch records token use at most once a minute per token and process.
func (ce *CurrentsEndpoint) touch(tok model.APIToken) {
	ce.touchMu.Lock()
	last := ce.touched[tok.ID]
	due := time.Since(last) > time.Minute
	if due {
		ce.touched[tok.ID] = time.Now()
	}
	ce.touchMu.Unlock()
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ce.Handlers.Store.TouchAPIToken(ctx, tok.WorkspaceID, tok.ID); err != nil {
		ce.Handlers.Log.Warn("recording token use failed", "err", err)
	}
}
