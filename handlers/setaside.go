package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// queueNames says in words where an item failed.
var queueNames = map[string]string{
	store.InboundWork.Queue: "turning the event into an activity",
	store.ScoringWork.Queue: "scoring the activity",
	store.LookupWork.Queue:  "asking Braze who this is",
	store.OutboxWork.Queue:  "pushing the lead to Salesforce",
	store.JobWork.Queue:     "a background job",
}

// setAsideRows lists the workspace's quarantined work for the Set aside card.
func (h *Handlers) setAsideRows(ctx context.Context, workspaceID int64) ([]views.SetAsideRow, error) {
	items, err := h.Store.ListQuarantined(ctx, workspaceID, "", 100)
	if err != nil {
		return nil, err
	}
	rows := make([]views.SetAsideRow, len(items))
	for i, it := range items {
		what := it.What
		if what == "" {
			what = fmt.Sprintf("item %d", it.ItemID)
		}
		rows[i] = views.SetAsideRow{Queue: it.Queue, QueueName: queueNames[it.Queue], ID: it.ItemID, What: what,
			Reason: it.Reason, Attempts: it.Attempts, When: ago(it.QuarantinedAt)}
	}
	return rows, nil
}

// RetrySetAside puts one set-aside item (queue and id), or all of them, back to work.
func (h *Handlers) RetrySetAside(c echo.Context) error {
	ctx, ws := c.Request().Context(), IdentityOf(c).Workspace.ID
	targets, err := h.setAsideTargets(ctx, ws, c.FormValue("queue"), c.FormValue("id"))
	if err != nil {
		return err
	}
	total := 0
	for t, ids := range targets {
		n, err := h.Store.RetryQuarantined(ctx, t, ws, ids)
		if err != nil {
			return err
		}
		total += n
		if h.Pipeline != nil && h.Pipeline.Wake != nil {
			h.Pipeline.Wake(t.Queue)
		}
	}
	h.flash(c, "success", fmt.Sprintf("%s back at work.", capitalize(plural(total, "item"))))
	return redirect(c, "/integrations/braze#set-aside")
}

// DiscardSetAside drops one set-aside item for good.
func (h *Handlers) DiscardSetAside(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	if c.FormValue("id") == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "Choose the item to discard.")
	}
	targets, err := h.setAsideTargets(ctx, id.Workspace.ID, c.FormValue("queue"), c.FormValue("id"))
	if err != nil {
		return err
	}
	total := 0
	for t, ids := range targets {
		n, err := h.Store.DiscardQuarantined(ctx, t, id.Workspace.ID, ids, "discarded by "+id.User.Name+" after it kept failing")
		if err != nil {
			return err
		}
		total += n
	}
	if total == 0 {
		h.flash(c, "error", "That item is no longer set aside: nothing was discarded.")
	} else {
		h.flash(c, "success", "Discarded.")
	}
	return redirect(c, "/integrations/braze#set-aside")
}

// setAsideTargets reads which items a form means: one (queue and id) or, without an id, all.
func (h *Handlers) setAsideTargets(ctx context.Context, ws int64, queue, rawID string) (map[store.WorkTable][]int64, error) {
	out := map[store.WorkTable][]int64{}
	if rawID != "" {
		t, ok := store.WorkTableOf(queue)
		id, err := strconv.ParseInt(rawID, 10, 64)
		if !ok || err != nil || id <= 0 {
			return nil, echo.NewHTTPError(http.StatusBadRequest, "That item is not one Peregrine set aside.")
		}
		out[t] = []int64{id}
		return out, nil
	}
	items, err := h.Store.ListQuarantined(ctx, ws, "", 10000)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if t, ok := store.WorkTableOf(it.Queue); ok {
			out[t] = append(out[t], it.ItemID)
		}
	}
	return out, nil
}
