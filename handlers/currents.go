package handlers

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/segment"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// CurrentsEndpoint receives Braze Currents batches (braze.md §1 and §7): the bearer token
// names the workspace; nothing is acknowledged before it is stored.
type CurrentsEndpoint struct {
	Handlers *Handlers
	Pipeline *ingest.Pipeline
	MaxBody  int64
	// Slots bounds concurrent requests past authentication; a request takes its slot before
	// reading its body, and one that waits too long gets 503 so Braze retries later instead
	// of piling up connections and memory.
	Slots chan struct{}
	// bodies bounds the body bytes held in memory at once, whatever their number: storing a
	// batch takes about three times its size (the body, the payloads handed to the database,
	// the driver's buffer), so eight 32 MiB bodies are read one after another, not together.
	bodies *semaphore.Weighted

	touchMu sync.Mutex
	touched map[int64]time.Time
}

// slotWait is how long a request waits for a slot or for memory before it gets 503.
const slotWait = 5 * time.Second

// NewCurrentsEndpoint sizes the endpoint: concurrency requests at once, and bodies of at most
// max(maxBody, 32 MiB) bytes in memory together.
func NewCurrentsEndpoint(h *Handlers, p *ingest.Pipeline, maxBody int64, concurrency int) *CurrentsEndpoint {
	return &CurrentsEndpoint{Handlers: h, Pipeline: p, MaxBody: maxBody, Slots: make(chan struct{}, concurrency),
		bodies: semaphore.NewWeighted(max(maxBody+1, 32<<20)), touched: map[int64]time.Time{}}
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
	return ce.receive(c, model.TokenKindCurrents, "Braze", ce.storeCurrents)
}

// ReceiveSegment handles Segment's webhook destinations (POST, PUT or PATCH
// /api/segment/events): one message or a batch, signed when the source has a shared secret.
// It shares the Currents endpoint's request slots and memory budget.
func (ce *CurrentsEndpoint) ReceiveSegment(c echo.Context) error {
	return ce.receive(c, model.TokenKindSegment, "Segment", ce.storeSegment)
}

// receive authenticates a machine's bearer token of a kind, waits for a slot, reads the body
// within the limits and hands it to store.
func (ce *CurrentsEndpoint) receive(c echo.Context, kind, page string, save func(echo.Context, model.APIToken, []byte) error) error {
	ctx := c.Request().Context()
	bearer, ok := bearerToken(c.Request().Header.Get("Authorization"))
	if !ok {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine"`)
		return apiError(c, http.StatusUnauthorized, "Missing bearer token: set the token Peregrine generated under Integrations › "+page+".")
	}
	tok, err := ingest.Authenticate(ctx, ce.Handlers.Store, bearer, kind)
	var authErr *ingest.AuthError
	switch {
	case errors.As(err, &authErr):
		ce.Pipeline.Stats.Add(authErr.WorkspaceID, model.MetricRejectedAuth, "", 1)
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine", error="invalid_token"`)
		return apiError(c, http.StatusUnauthorized, "Unknown or revoked token: generate a new one in Peregrine under Integrations › "+page+".")
	case err != nil:
		ce.Handlers.Log.Error("intake: token lookup failed", "kind", kind, "err", err)
		return unavailable(c, "Peregrine cannot reach its database right now; retry later.")
	}
	part := map[string]string{model.TokenKindCurrents: store.PartCurrents, model.TokenKindSegment: store.PartSegment}[kind]
	if off, err := ce.Handlers.Store.PartOff(ctx, tok.WorkspaceID, part); err != nil {
		return unavailable(c, "Peregrine cannot reach its database right now; retry later.")
	} else if off != "" {
		ce.Pipeline.Stats.Add(tok.WorkspaceID, model.MetricRejectedAuth, "", 1)
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine", error="invalid_token"`)
		return apiError(c, http.StatusUnauthorized, page+" intake is switched off for this workspace in Peregrine (Integrations › Overview): nothing is stored until it is switched on again.")
	}
	if c.Request().ContentLength > ce.MaxBody {
		ce.Pipeline.Stats.Add(tok.WorkspaceID, model.MetricRejectedRequest, "", 1)
		return apiError(c, http.StatusRequestEntityTooLarge, tooLarge)
	}

	// The slot comes before the body: a request waiting for its turn leaves its body in the
	// connection, not in memory.
	select {
	case ce.Slots <- struct{}{}:
		defer func() { <-ce.Slots }()
	case <-time.After(slotWait):
		return unavailable(c, "Peregrine is busy storing other batches; retry later.")
	case <-ctx.Done():
		c.Response().Status = 499
		return nil
	}
	body, release, status, msg := ce.readBody(c)
	defer release()
	switch {
	case status == http.StatusServiceUnavailable:
		return unavailable(c, msg)
	case status == 499:
		c.Response().Status = 499
		return nil
	case status != 0:
		if status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge {
			ce.Pipeline.Stats.Add(tok.WorkspaceID, model.MetricRejectedRequest, "", 1)
		}
		return apiError(c, status, msg)
	}
	return save(c, tok, body)
}

// storeCurrents stores a Currents batch and answers Braze.
func (ce *CurrentsEndpoint) storeCurrents(c echo.Context, tok model.APIToken, body []byte) error {
	ctx := c.Request().Context()
	res, err := ce.Pipeline.Acceptor.AcceptCurrents(ctx, tok.WorkspaceID, body)
	if err != nil {
		return ce.storeFailed(c, tok, err)
	}
	ce.touch(tok)
	return c.JSON(http.StatusOK, res)
}

// storeFailed answers a failed store: 400 for a malformed body, 503 (retry) otherwise.
func (ce *CurrentsEndpoint) storeFailed(c echo.Context, tok model.APIToken, err error) error {
	switch {
	case errors.Is(err, ingest.ErrMalformed):
		return apiError(c, http.StatusBadRequest, strings.TrimPrefix(err.Error(), ingest.ErrMalformed.Error()+": "))
	case c.Request().Context().Err() != nil:
		// The client gave up; the transaction rolled back, so nothing was acknowledged or kept.
		ce.Handlers.Log.Info("intake: client went away before the batch was stored", "workspace", tok.WorkspaceID)
		c.Response().Status = 499 // "client closed request": nobody is left to answer
		return nil
	}
	ce.Handlers.Log.Error("intake: storing batch failed", "workspace", tok.WorkspaceID, "kind", tok.Kind, "err", err)
	return unavailable(c, "Peregrine could not store the batch; nothing was kept, retry later.")
}

// storeSegment checks the signature when the source has a shared secret, stores the messages
// and answers Segment: 200 once stored (with the messages refused, if any), 400 for a body
// or single message that cannot be a Segment message, 401 for a missing or wrong signature.
func (ce *CurrentsEndpoint) storeSegment(c echo.Context, tok model.APIToken, body []byte) error {
	ctx := c.Request().Context()
	src, err := ce.Handlers.Store.SegmentSource(ctx, tok.WorkspaceID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		ce.Handlers.Log.Error("segment: reading the source failed", "err", err)
		return unavailable(c, "Peregrine cannot reach its database right now; retry later.")
	case src.SecretEnc != nil:
		secret, err := ce.Handlers.Secrets.Open(src.SecretEnc, SegmentSecretContext(tok.WorkspaceID))
		if err != nil {
			ce.Handlers.Log.Error("segment: the shared secret cannot be opened", "workspace", tok.WorkspaceID)
			return unavailable(c, "Peregrine cannot check signatures right now; retry later.")
		}
		sig := c.Request().Header.Get("X-Signature")
		if sig == "" || !segment.VerifySignature(secret, body, sig) {
			ce.Pipeline.Stats.Add(tok.WorkspaceID, model.MetricRejectedAuth, "", 1)
			msg := "The X-Signature header does not match the body: check the shared secret in Segment and in Peregrine (Integrations › Segment)."
			if sig == "" {
				msg = "Missing X-Signature: this source has a shared secret, so Segment must sign what it sends (set the same secret in the destination's settings)."
			}
			return apiError(c, http.StatusUnauthorized, msg)
		}
	}
	res, err := ce.Pipeline.Acceptor.AcceptSegment(ctx, tok.WorkspaceID, body)
	if err != nil {
		return ce.storeFailed(c, tok, err)
	}
	ce.touch(tok)
	return c.JSON(http.StatusOK, res)
}

// SegmentSecretContext binds a workspace's Segment shared secret when sealed.
func SegmentSecretContext(workspaceID int64) string {
	return "workspace:" + strconv.FormatInt(workspaceID, 10) + ":segment_secret"
}

const tooLarge = "The batch is larger than this server accepts; send smaller batches."

// readBody reads the body within the size limit, un-gzipping it when asked, and reserves the
// memory it takes from the endpoint's budget as it grows. release gives the memory back. A
// non-zero status means the request is refused with msg (499: the client went away).
func (ce *CurrentsEndpoint) readBody(c echo.Context) (body []byte, release func(), status int, msg string) {
	r := c.Request()
	var reserved int64
	release = func() {
		if reserved > 0 {
			ce.bodies.Release(reserved)
			reserved = 0
		}
	}
	reserve := func(n int64) error {
		ctx, cancel := context.WithTimeout(r.Context(), slotWait)
		defer cancel()
		if err := ce.bodies.Acquire(ctx, n); err != nil {
			return err
		}
		reserved += n
		return nil
	}
	var reader io.Reader = http.MaxBytesReader(c.Response(), r.Body, ce.MaxBody)
	gzipped := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gzipped = true
	default:
		return nil, release, http.StatusUnsupportedMediaType, "Content-Encoding " + enc + " is not supported; send plain or gzip-compressed JSON."
	}
	if gzipped {
		gz, err := gzip.NewReader(reader)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, release, http.StatusRequestEntityTooLarge, tooLarge
			}
			return nil, release, http.StatusBadRequest, "The body says it is gzip-compressed but is not valid gzip."
		}
		defer gz.Close()
		reader = gz
	}
	sizeHint := int64(-1)
	if !gzipped {
		sizeHint = r.ContentLength
	}
	// The decompressed size is bounded too, so a small gzip bomb cannot fill memory.
	body, err := readReserving(reader, ce.MaxBody, sizeHint, reserve)
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errTooLarge) || errors.As(err, &mbe):
		return nil, release, http.StatusRequestEntityTooLarge, tooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return nil, release, http.StatusServiceUnavailable, "Peregrine is busy storing other large batches; retry later."
	case r.Context().Err() != nil:
		return nil, release, 499, ""
	case err != nil && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)):
		return nil, release, http.StatusBadRequest, "The gzip-compressed body is damaged."
	case err != nil:
		return nil, release, http.StatusBadRequest, "The request body could not be read."
	}
	return body, release, 0, ""
}

var errTooLarge = errors.New("body too large")

// readReserving reads r to its end, at most limit bytes, reserving each growth of its buffer
// first. A known size is reserved and allocated once; otherwise the buffer grows in steps.
func readReserving(r io.Reader, limit, sizeHint int64, reserve func(int64) error) ([]byte, error) {
	capacity := int64(64 << 10)
	if sizeHint >= 0 {
		capacity = sizeHint + 1 // +1 to see the end without growing
	}
	capacity = min(capacity, limit+1)
	if err := reserve(capacity); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, capacity)
	for {
		if int64(len(buf)) > limit {
			return nil, errTooLarge
		}
		if len(buf) == cap(buf) {
			grow := min(max(int64(cap(buf)), 1<<20), limit+1-int64(cap(buf)))
			if grow <= 0 {
				return nil, errTooLarge
			}
			if err := reserve(grow); err != nil {
				return nil, err
			}
			buf = append(buf, make([]byte, grow)...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
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
