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
// that do not decode are stored as rejects. Events are stored as they are decoded, a chunk at
// a time, in one transaction: nothing is acknowledged before the commit, and a large batch
// never has all its decoded events in memory.
func (a *Acceptor) AcceptCurrents(ctx context.Context, workspaceID int64, body []byte) (Result, error) {
	w := a.Store.NewInboundWriter(workspaceID, events.SourceBraze)
	defer w.Rollback()
	var res Result
	perType := map[string]int64{}
	chunk := make([]model.NewInboundEvent, 0, min(store.InsertChunk, 64))
	flush := func() error {
		err := w.Add(ctx, chunk)
		chunk = chunk[:0]
		return err
	}
	err := events.ScanBatch(body, func(e events.Event) error {
		res.Received++
		perType[e.Type]++
		state := model.InboundPending
		if !events.Supported(e.Type) {
			state = model.InboundIgnored
		}
		chunk = append(chunk, model.NewInboundEvent{EventID: e.ID, EventType: e.Type, OccurredAt: e.Time, Payload: e.Raw, State: state})
		if len(chunk) == store.InsertChunk {
			return flush()
		}
		return nil
	}, func(b events.Rejected) error {
		res.Received++
		res.Rejected++
		return w.Reject(ctx, model.NewReject{Reason: fmt.Sprintf("event %d: %s", b.Index, b.Reason), Raw: b.Raw})
	})
	if errors.Is(err, events.ErrNotABatch) {
		a.Stats.Add(workspaceID, model.MetricRejectedRequest, "", 1)
		return Result{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err == nil {
		err = flush()
	}
	if err == nil {
		res.Stored, err = w.Commit(ctx)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if res.Received == 0 {
		return res, nil // a credential check
	}
	// Repeats of an event id, in this batch or stored before, were not stored again.
	res.Duplicates = res.Received - res.Rejected - res.Stored
	for t, n := range perType {
		a.Stats.Add(workspaceID, model.MetricReceived, t, n)
	}
	a.Stats.Add(workspaceID, model.MetricDuplicate, "", int64(res.Duplicates))
	a.Stats.Add(workspaceID, model.MetricRejectedEvent, "", int64(res.Rejected))
	a.Stats.Batch(workspaceID, res.Received)
	if res.Stored > 0 && a.Stored != nil {
		a.Stored()
	}
	return res, nil
}
