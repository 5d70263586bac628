package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/segment"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// SegmentResult summarises one Segment delivery: what was stored, what was a repeat, and
// each message refused with its reason.
type SegmentResult struct {
	Received   int               `json:"received"`
	Stored     int               `json:"stored"`
	Duplicates int               `json:"duplicates"`
	Rejected   []SegmentRejected `json:"rejected,omitempty"`
}

// SegmentRejected is a message refused, by its place in the body.
type SegmentRejected struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	Reason    string `json:"reason"`
}

// AcceptSegment stores a Segment delivery (one message or a batch) durably in one
// transaction, each message once by its messageId; track, identify, page, screen and group
// messages are processed, alias and deletion notices kept but not processed. A malformed
// message is kept aside with its reason (the others are stored); a body that is not a
// message or a batch, or a single malformed message, is ErrMalformed.
func (a *Acceptor) AcceptSegment(ctx context.Context, workspaceID int64, body []byte) (SegmentResult, error) {
	var res SegmentResult
	raws, err := segment.Split(body)
	if err != nil {
		a.Stats.Add(workspaceID, model.MetricRejectedRequest, "", 1)
		return res, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	now := time.Now().UTC()
	w := a.Store.NewInboundWriter(workspaceID, segment.Source)
	defer w.Rollback()
	var stored []model.NewInboundEvent
	perType := map[string]int64{}
	for i, raw := range raws {
		res.Received++
		m, err := segment.Decode(raw, now)
		if err != nil {
			res.Rejected = append(res.Rejected, SegmentRejected{Index: i, MessageID: m.MessageID, Reason: err.Error()})
			if err := w.Reject(ctx, model.NewReject{Reason: fmt.Sprintf("message %d: %s", i, err), Raw: raw}); err != nil {
				return SegmentResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			continue
		}
		state := model.InboundPending
		if m.Type == segment.Alias || m.Type == segment.Delete {
			state = model.InboundIgnored
		}
		perType["segment."+m.Type]++
		stored = append(stored, model.NewInboundEvent{EventID: m.MessageID, EventType: "segment." + m.Type, OccurredAt: m.Time, Payload: raw, State: state})
	}
	if len(raws) == 1 && len(res.Rejected) == 1 {
		a.Stats.Add(workspaceID, model.MetricRejectedEvent, "", 1)
		return res, fmt.Errorf("%w: %s", ErrMalformed, res.Rejected[0].Reason)
	}
	for start := 0; start < len(stored); start += store.InsertChunk {
		if err := w.Add(ctx, stored[start:min(start+store.InsertChunk, len(stored))]); err != nil {
			return SegmentResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if res.Stored, err = w.Commit(ctx); err != nil {
		return SegmentResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	res.Duplicates = res.Received - len(res.Rejected) - res.Stored
	for t, n := range perType {
		a.Stats.Add(workspaceID, model.MetricReceived, t, n)
	}
	a.Stats.Add(workspaceID, model.MetricDuplicate, "", int64(res.Duplicates))
	a.Stats.Add(workspaceID, model.MetricRejectedEvent, "", int64(len(res.Rejected)))
	a.Stats.Batch(workspaceID, res.Received)
	if res.Stored > 0 && a.Stored != nil {
		a.Stored()
	}
	return res, nil
}

// Visitor keys of Segment's ids: they cannot collide with the tracker's (no colon there).
func segmentAnonymous(id string) string { return "seg:a:" + id }
func segmentUser(id string) string      { return "seg:u:" + id }

// decodeSegment turns stored Segment messages into hits of the website's pipeline: a message
// belongs to its anonymousId's visitor (else its userId's), and one carrying both ties the
// anonymous visitor to the user's person once that person is known.
func decodeSegment(rows []model.InboundEvent) (hits []*webHit, others []model.InboundEvent, broken []int64) {
	for _, r := range rows {
		if r.Source != segment.Source {
			others = append(others, r)
			continue
		}
		m, err := segment.Decode([]byte(r.Payload), r.OccurredAt) // the time stored when it arrived
		if err != nil {
			broken = append(broken, r.ID)
			continue
		}
		h := &webHit{row: r, seg: &m}
		h.hit.Type = "segment." + m.Type
		switch {
		case m.AnonymousID != "":
			h.hit.Visitor = segmentAnonymous(string(m.AnonymousID))
			if m.UserID != "" {
				h.partnerKey = segmentUser(string(m.UserID))
			}
		default:
			h.hit.Visitor = segmentUser(string(m.UserID))
		}
		if m.Type == segment.Identify {
			h.email = segment.ProfileOf(m).Email
		}
		hits = append(hits, h)
	}
	return hits, others, broken
}

// segmentIdentity is who a Segment message says its visitor is: the email of an identify,
// else the person its userId's visitor already belongs to.
func segmentIdentity(h *webHit, byEmail map[string]int64, current map[int64]int64) (int64, [2]string) {
	m := h.seg
	if h.email != "" {
		detail := "identify"
		if m.UserID != "" {
			detail += " of userId " + clipID(string(m.UserID))
		}
		return byEmail[h.email], [2]string{model.LinkSegment, detail}
	}
	if h.partner.ID != 0 {
		if lead := current[h.partner.ID]; lead != 0 {
			return lead, [2]string{model.LinkSegment, "userId " + clipID(string(m.UserID))}
		}
	}
	return 0, [2]string{}
}

func clipID(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// segmentActivity is the activity of a track, page or screen message.
func segmentActivity(h *webHit) (model.ActivityRow, bool) {
	return segment.Activity(*h.seg)
}

// traitUpdate is a Segment identify's or group's traits for a person, applied once the
// batch's leads are locked (storePlan).
type traitUpdate struct {
	lead int64
	msg  *segment.Message
}

// applyTraits fills people's profiles from identify traits (non-empty values win, custom
// traits merge into the custom attributes) and their companies from group traits.
func applyTraits(ctx context.Context, tx *store.Tx, ws int64, updates []traitUpdate) error {
	for _, u := range updates {
		var err error
		switch u.msg.Type {
		case segment.Identify:
			p := segment.ProfileOf(*u.msg)
			custom, _ := json.Marshal(p.Custom)
			err = tx.UpdateLeadProfile(ctx, ws, u.lead, model.LeadProfile{FirstName: p.FirstName, LastName: p.LastName, Phone: p.Phone,
				Country: p.Country, Company: p.Company, Title: p.Title, Industry: p.Industry, CompanySize: p.Employees, CustomAttributes: custom})
		case segment.Group:
			acc := segment.AccountOf(*u.msg)
			err = tx.ApplyAccountTraits(ctx, ws, u.lead, strings.TrimSpace(acc.Name), strings.TrimSpace(acc.Industry), acc.Employees)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
