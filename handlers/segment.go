package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// segmentTypeNames name the stored message types on the page.
var segmentTypeNames = map[string]string{"segment.track": "track", "segment.identify": "identify", "segment.page": "page",
	"segment.screen": "screen", "segment.group": "group", "segment.alias": "alias (kept, not processed)", "segment.delete": "deletion notices (kept)"}

// ShowSegmentPage shows Integrations › Segment.
func (h *Handlers) ShowSegmentPage(c echo.Context) error {
	return h.renderSegment(c, http.StatusOK, views.SegmentView{})
}

func (h *Handlers) renderSegment(c echo.Context, status int, v views.SegmentView) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	var err error
	if v.Tokens, err = h.tokenRows(ctx, id.Workspace.ID, model.TokenKindSegment); err != nil {
		return err
	}
	v.NewToken = h.takeValue(c, keyNewToken)
	v.EndpointURL = h.workspaceURL(id.Workspace) + "/api/segment/events"
	src, err := h.Store.SegmentSource(ctx, id.Workspace.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	v.HasSecret, v.SecretHint = src.SecretEnc != nil, src.SecretHint
	st, err := h.Store.IngestStatus(ctx, id.Workspace.ID, time.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	for _, m := range st.Counts {
		if m.Metric == model.MetricReceived && strings.HasPrefix(m.EventType, "segment.") {
			v.Counts = append(v.Counts, views.Pair{Label: segmentTypeNames[m.EventType], Value: views.Count(int(m.Count))})
		}
	}
	return Render(c, status, views.SegmentPage(h.chrome(c, "Segment", "integrations"), v))
}

// CreateSegmentToken makes a bearer token for the Segment destination, shown once.
func (h *Handlers) CreateSegmentToken(c echo.Context) error {
	id := IdentityOf(c)
	label := c.FormValue("label")
	token, _, err := ingest.CreateToken(c.Request().Context(), h.Store, id.Workspace.ID, model.TokenKindSegment, label, &id.User.ID)
	if err != nil {
		if strings.HasPrefix(err.Error(), "give the token a label") {
			return h.renderSegment(c, http.StatusUnprocessableEntity, views.SegmentView{TokenLabel: label, Errors: views.FormErrors{"label": capitalize(err.Error()) + "."}})
		}
		return err
	}
	if err := h.ensureSegmentSource(c.Request().Context(), id.Workspace.ID); err != nil {
		return err
	}
	h.putValue(c, keyNewToken, token)
	h.flash(c, "success", "Token “"+strings.TrimSpace(label)+"” generated. Put it in the destination's Authorization header: Bearer and the token.")
	return redirect(c, "/integrations/segment")
}

// ensureSegmentSource creates the workspace's Segment source (without a secret) if it has none.
func (h *Handlers) ensureSegmentSource(ctx context.Context, ws int64) error {
	if _, err := h.Store.SegmentSource(ctx, ws); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return h.Store.SaveSegmentSource(ctx, ws, nil, "")
}

// RevokeSegmentToken stops a Segment token at once.
func (h *Handlers) RevokeSegmentToken(c echo.Context) error {
	return h.revokeMachineToken(c, model.TokenKindSegment, "/integrations/segment", "Token revoked: Segment requests with it now get 401.")
}

// SaveSegmentSecret stores the shared secret, sealed; from then on unsigned or wrongly signed
// deliveries get 401.
func (h *Handlers) SaveSegmentSecret(c echo.Context) error {
	ws := IdentityOf(c).Workspace.ID
	secret := c.FormValue("secret")
	if n := utf8.RuneCountInString(secret); n < 16 || n > 200 || strings.TrimSpace(secret) != secret {
		return h.renderSegment(c, http.StatusUnprocessableEntity, views.SegmentView{Errors: views.FormErrors{
			"secret": "Use a secret of 16 to 200 characters, without spaces at either end, and set the same one in Segment."}})
	}
	sealed, err := h.Secrets.Seal([]byte(secret), SegmentSecretContext(ws))
	if err != nil {
		return err
	}
	if err := h.Store.SaveSegmentSource(c.Request().Context(), ws, sealed, secret[len(secret)-4:]); err != nil {
		return err
	}
	h.flash(c, "success", "Shared secret saved: Peregrine now refuses deliveries without a matching X-Signature.")
	return redirect(c, "/integrations/segment")
}

// RemoveSegmentSecret stops checking signatures.
func (h *Handlers) RemoveSegmentSecret(c echo.Context) error {
	if err := h.Store.SaveSegmentSource(c.Request().Context(), IdentityOf(c).Workspace.ID, nil, ""); err != nil {
		return err
	}
	h.flash(c, "success", "Shared secret removed: the bearer token alone authenticates Segment now.")
	return redirect(c, "/integrations/segment")
}
