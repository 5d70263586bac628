package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// ErrMalformed means the body as a whole is not a Currents batch (answer 400).
var ErrMalformed = errors.New("malformed batch")

// ErrUnavailable means the batch could not be stored now (answer 503; Braze retries).
var ErrUnavailable = errors.New("storage unavailable")

// Acceptor stores incoming batches durably.
type Acceptor struct {
	Store *store.Store
	Stats *Stats
	// Stored is called after a batch with new events is committed (wakes the workers).
	Stored func()
}

// Result summarises one accepted batch.
type Result struct {
	Received   int `json:"received"`
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
}

// AcceptCurrents decodes and stores a Currents body for the workspace. Supported event types
// are stored pending; other types are stored as ignored (kept, counted, not scored); events
// that do not decode are stored as rejects. Nothing is acknowledged before the commit.
func (a *Acceptor) AcceptCurrents(ctx context.Context, workspaceID int64, body []byte) (Result, error) {
	good, bad, err := events.DecodeBatch(body)
	if err != nil {
		a.Stats.Add(workspaceID, model.MetricRejectedRequest, "", 1)
		return Result{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	res := Result{Received: len(good) + len(bad), Rejected: len(bad)}
	if res.Received == 0 {
		return res, nil // a credential check
	}
	seen := make(map[string]bool, len(good))
	rows := make([]model.NewInboundEvent, 0, len(good))
	perType := map[string]int64{}
	for _, e := range good {
		perType[e.Type]++
		if seen[e.ID] {
			continue // a duplicate inside the batch
		}
		seen[e.ID] = true
		state := model.InboundPending
		if !events.Supported(e.Type) {
			state = model.InboundIgnored
		}
		rows = append(rows, model.NewInboundEvent{EventID: e.ID, EventType: e.Type, OccurredAt: e.Time, Payload: e.Raw, State: state})
	}
	rejects := make([]model.NewReject, len(bad))
	for i, b := range bad {
		rejects[i] = model.NewReject{Reason: fmt.Sprintf("event %d: %s", b.Index, b.Reason), Raw: b.Raw}
	}
	stored, err := a.Store.InsertInboundBatch(ctx, workspaceID, events.SourceBraze, rows, rejects)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	res.Stored = stored
	res.Duplicates = len(good) - stored
	for t, n := range perType {
		a.Stats.Add(workspaceID, model.MetricReceived, t, n)
	}
	a.Stats.Add(workspaceID, model.MetricDuplicate, "", int64(res.Duplicates))
	a.Stats.Add(workspaceID, model.MetricRejectedEvent, "", int64(res.Rejected))
	a.Stats.Batch(workspaceID, res.Received)
	if stored > 0 && a.Stored != nil {
		a.Stored()
	}
	return res, nil
}
