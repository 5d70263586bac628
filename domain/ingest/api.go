package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/segment"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// SourceAPI is the open API's events' source.
const SourceAPI = "api"

// MaxAPIEvents is the most events one POST /api/v1/events may carry.
const MaxAPIEvents = 1000

// ErrTooManyEvents means a request carries more than MaxAPIEvents (answer 413).
var ErrTooManyEvents = errors.New("too many events")

// APIEvent is an event of the open API (POST /api/v1/events).
type APIEvent struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"` // track, page or identify
	Email       string          `json:"email,omitempty"`
	AnonymousID string          `json:"anonymous_id,omitempty"`
	BrazeID     string          `json:"braze_id,omitempty"`
	ExternalID  string          `json:"external_id,omitempty"`
	Name        string          `json:"name,omitempty"`
	Properties  json.RawMessage `json:"properties,omitempty"`
	URL         string          `json:"url,omitempty"`
	Traits      json.RawMessage `json:"traits,omitempty"`
	Timestamp   string          `json:"timestamp,omitempty"` // RFC 3339
}

// Problem is one thing wrong with a request, at a JSON pointer into its body.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// APIResult is what POST /api/v1/events did.
type APIResult struct {
	Received   int       `json:"received"`
	Stored     int       `json:"stored"`
	Duplicates int       `json:"duplicates"`
	Problems   []Problem `json:"problems"`
}

// checkAPIEvent decodes and checks one event; problems name its fields by JSON pointer.
func checkAPIEvent(raw json.RawMessage, path string) (APIEvent, time.Time, []Problem) {
	var e APIEvent
	var probs []Problem
	add := func(field, msg string) { probs = append(probs, Problem{Path: path + field, Message: msg}) }
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		add("", "not a valid event: "+strings.TrimPrefix(err.Error(), "json: "))
		return e, time.Time{}, probs
	}
	switch {
	case strings.TrimSpace(e.ID) == "":
		add("/id", "give every event an id: sending the same id again stores it once")
	case len(e.ID) > 200:
		add("/id", "at most 200 characters")
	}
	switch e.Type {
	case segment.Track:
		if strings.TrimSpace(e.Name) == "" {
			add("/name", "a track event needs its name, such as “Demo requested”")
		}
	case segment.Page:
		if strings.TrimSpace(e.URL) == "" && strings.TrimSpace(e.Name) == "" {
			add("/url", "a page event needs its url or name")
		}
	case segment.Identify:
		if e.Email == "" {
			add("/email", "an identify event needs the person's email")
		}
	default:
		add("/type", "type must be track, page or identify")
	}
	if e.Email != "" && events.CleanEmail(e.Email) == "" {
		add("/email", "not a valid email address")
	}
	if e.Email == "" && e.AnonymousID == "" && e.BrazeID == "" && e.ExternalID == "" {
		add("", "say who did it: email, anonymous_id, braze_id or external_id")
	}
	for field, v := range map[string]string{"/anonymous_id": e.AnonymousID, "/braze_id": e.BrazeID, "/external_id": e.ExternalID, "/name": e.Name} {
		if len(v) > 200 {
			add(field, "at most 200 characters")
		}
	}
	for field, v := range map[string]json.RawMessage{"/properties": e.Properties, "/traits": e.Traits} {
		if len(v) > 0 && !bytes.Equal(v, []byte("null")) && bytes.TrimSpace(v)[0] != '{' {
			add(field, "must be an object")
		}
	}
	at := time.Now().UTC()
	if e.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		switch {
		case err != nil:
			add("/timestamp", "write the time as RFC 3339, such as 2026-03-31T14:05:00Z")
		case t.After(time.Now().Add(24 * time.Hour)):
			add("/timestamp", "more than a day in the future")
		default:
			at = t.UTC()
		}
	}
	return e, at, probs
}

// AcceptAPI stores the events of a POST /api/v1/events body durably in one transaction, each
// once by its id; an event with problems is kept aside and listed (the others are stored).
// A body that is not {"events": [...]} is ErrMalformed (with its problems);
// more than MaxAPIEvents is ErrTooManyEvents.
func (a *Acceptor) AcceptAPI(ctx context.Context, workspaceID int64, body []byte) (APIResult, error) {
	var req struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Events == nil {
		a.Stats.Add(workspaceID, model.MetricRejectedRequest, "", 1)
		return APIResult{}, fmt.Errorf("%w: the body must be a JSON object with an events array", ErrMalformed)
	}
	if len(req.Events) > MaxAPIEvents {
		return APIResult{}, fmt.Errorf("%w: at most %d events per request; this one has %d", ErrTooManyEvents, MaxAPIEvents, len(req.Events))
	}
	res := APIResult{Received: len(req.Events), Problems: []Problem{}}
	w := a.Store.NewInboundWriter(workspaceID, SourceAPI)
	defer w.Rollback()
	var stored []model.NewInboundEvent
	rejected := 0
	for i, raw := range req.Events {
		e, at, probs := checkAPIEvent(raw, fmt.Sprintf("/events/%d", i))
		if len(probs) > 0 {
			rejected++
			res.Problems = append(res.Problems, probs...)
			if err := w.Reject(ctx, model.NewReject{Reason: probs[0].Path + ": " + probs[0].Message, Raw: raw}); err != nil {
				return APIResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			continue
		}
		stored = append(stored, model.NewInboundEvent{EventID: e.ID, EventType: "api." + e.Type, OccurredAt: at, Payload: raw, State: model.InboundPending})
	}
	for start := 0; start < len(stored); start += store.InsertChunk {
		if err := w.Add(ctx, stored[start:min(start+store.InsertChunk, len(stored))]); err != nil {
			return APIResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	var err error
	if res.Stored, err = w.Commit(ctx); err != nil {
		return APIResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	res.Duplicates = res.Received - rejected - res.Stored
	a.Stats.Add(workspaceID, model.MetricReceived, "api", int64(len(stored)))
	a.Stats.Add(workspaceID, model.MetricRejectedEvent, "", int64(rejected))
	a.Stats.Batch(workspaceID, res.Received)
	if res.Stored > 0 && a.Stored != nil {
		a.Stored()
	}
	return res, nil
}

// decodeAPI turns stored API events into hits of the website's pipeline, as Segment's are:
// a message of the Spec's shape, its visitor (the anonymous id's, else one for the email, the
// Braze id or the external id), and the Braze identifiers to find an id-only person by.
func decodeAPI(rows []model.InboundEvent) (hits []*webHit, others []model.InboundEvent, broken []int64) {
	for _, r := range rows {
		if r.Source != SourceAPI {
			others = append(others, r)
			continue
		}
		var e APIEvent
		if err := json.Unmarshal([]byte(r.Payload), &e); err != nil {
			broken = append(broken, r.ID)
			continue
		}
		m := segment.Message{Type: e.Type, MessageID: e.ID, Event: e.Name, Name: e.Name, Properties: e.Properties, Traits: e.Traits, Time: r.OccurredAt}
		m.Context.Page.URL = e.URL
		h := &webHit{row: r, seg: &m, api: &e, email: events.CleanEmail(e.Email)}
		h.hit.Type = "api." + e.Type
		switch {
		case e.AnonymousID != "":
			h.hit.Visitor = "api:a:" + e.AnonymousID
		case h.email != "":
			h.hit.Visitor = "api:e:" + h.email
		case e.BrazeID != "":
			h.hit.Visitor = "api:b:" + e.BrazeID
		default:
			h.hit.Visitor = "api:x:" + e.ExternalID
		}
		hits = append(hits, h)
	}
	return hits, others, broken
}

// apiIdentity is who an API event is about: its email's person, else the person a Braze id or
// external id is known as; an id Peregrine does not know yet waits for Braze to tell.
func apiIdentity(ctx context.Context, tx *store.Tx, ws int64, h *webHit, byEmail map[string]int64, current map[int64]int64) (int64, [2]string, *webWait, error) {
	e := h.api
	if h.email != "" {
		return byEmail[h.email], [2]string{model.LinkAPI, "the open API (" + e.Type + " event)"}, nil, nil
	}
	if lead := current[h.visitor.ID]; lead != 0 || (e.BrazeID == "" && e.ExternalID == "") {
		return lead, [2]string{}, nil, nil
	}
	kind, value := model.IdentityBrazeUser, e.BrazeID
	if value == "" {
		kind, value = model.IdentityExternalID, e.ExternalID
	}
	known, err := tx.LeadsByIdentity(ctx, ws, kind, []string{value})
	if err != nil || known[value] != 0 {
		return known[value], [2]string{model.LinkAPI, "the open API (" + kind + ")"}, nil, err
	}
	w := webWait{model.Waiting{EventID: h.row.ID, Reason: WaitLookup}}
	if kind == model.IdentityBrazeUser {
		w.BrazeUserID = value
	} else {
		w.ExternalUserID = value
	}
	return 0, [2]string{}, &w, nil
}
