package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Value keys of the write-back's attribute map (besides "score:<id>").
const (
	WritebackLabels      = "labels"
	WritebackGrade       = "grade"
	WritebackTemperature = "temperature"
)

// Writeback writes leads' scores, labels, grade and temperature into Braze as custom
// attributes (POST /users/track), from the braze-writeback queue: up to 75 leads a request,
// only the attributes whose value changed since the last write (Braze bills data points),
// by external_id or braze_id with _update_existing_only, so Peregrine never creates a Braze
// user. Objects Braze refuses are recorded per lead; a rate limit waits for its reset; a
// missing permission waits and is shown on the Braze page.
type Writeback struct {
	Store     *store.Store
	Secrets   *secrets.Box
	NewClient func(endpoint, apiKey string) *braze.Client
	Log       *slog.Logger
}

// Push is the braze-writeback queue's handler.
func (w *Writeback) Push(ctx context.Context, b *queue.Batch) error {
	ws, ids := b.Workspace, b.IDs()
	settings, err := w.Store.BrazeWritebackSettings(ctx, ws)
	if err != nil {
		return err
	}
	var attrs map[string]string
	_ = json.Unmarshal(settings.Attributes, &attrs)
	if !settings.Enabled || len(attrs) == 0 {
		return w.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DoneWriteback(ctx, ws, ids) }) // turned off meanwhile
	}
	if part, err := w.Store.PartOff(ctx, ws, store.PartBrazeWriteback); err != nil || part != "" {
		if err != nil {
			return err
		}
		return b.Later(ctx, nil, ids, time.Now().Add(24*time.Hour), store.SwitchedOffWhy(part)) // the outbox keeps every change
	}
	conn, err := w.Store.BrazeConnection(ctx, ws)
	if errors.Is(err, store.ErrNotFound) {
		return b.Later(ctx, nil, ids, time.Now().Add(30*time.Minute), "no Braze API key")
	}
	if err != nil {
		return err
	}
	key, err := w.Secrets.Open(conn.APIKeyEncrypted, BrazeKeyContext(ws))
	if err != nil {
		return b.Later(ctx, nil, ids, time.Now().Add(30*time.Minute), "the Braze key cannot be decrypted")
	}
	client := w.NewClient(conn.RESTEndpoint, string(key))
	return w.Store.InTx(ctx, func(tx *store.Tx) error {
		owned, err := b.Own(ctx, tx)
		if err != nil || len(owned) == 0 {
			return err
		}
		leads, err := tx.WritebackLeads(ctx, ws, owned)
		if err != nil {
			return err
		}
		return w.write(ctx, tx, b, client, attrs, leads, owned)
	})
}

// write sends the leads' changed attributes and records the outcome.
func (w *Writeback) write(ctx context.Context, tx *store.Tx, b *queue.Batch, client *braze.Client, attrs map[string]string, leads []store.WritebackLead, owned []int64) error {
	ws := b.Workspace
	written, problems := map[int64][]byte{}, map[int64]string{}
	var objects []map[string]any
	var objectLead []int64
	next := map[int64]map[string]any{}
	for _, l := range leads {
		values := writebackValues(l, attrs)
		var before map[string]any
		_ = json.Unmarshal(l.Written, &before)
		obj := map[string]any{"_update_existing_only": true}
		changed := 0
		for name, v := range values {
			if old, ok := before[name]; !ok || !reflect.DeepEqual(old, v) {
				obj[name] = v
				changed++
			}
		}
		switch {
		case changed == 0:
			continue
		case l.ExternalID != "":
			obj["external_id"] = l.ExternalID
		case l.BrazeID != "":
			obj["braze_id"] = l.BrazeID
		default:
			problems[l.LeadID] = "no Braze external_id or braze_id: this lead did not come from Braze"
			continue
		}
		objects, objectLead = append(objects, obj), append(objectLead, l.LeadID)
		next[l.LeadID] = values
	}
	requests := 0
	if len(objects) > 0 {
		requests = 1
		resp, err := client.Track(ctx, objects)
		var be *braze.Error
		switch {
		case errors.As(err, &be) && be.Status == http.StatusTooManyRequests:
			return b.Later(ctx, tx, owned, be.RetryAt, "Braze rate limit")
		case errors.As(err, &be) && (be.Status == http.StatusForbidden || be.Status == http.StatusUnauthorized || be.Refused):
			if err := tx.NoteWriteback(ctx, ws, 1, 0, be.Message); err != nil {
				return err
			}
			return b.Later(ctx, tx, owned, time.Now().Add(30*time.Minute), be.Message)
		case err != nil:
			if errors.As(err, &be) {
				_ = tx.NoteWriteback(ctx, ws, 1, 0, be.Message)
			}
			return b.Retry(ctx, tx, owned, err)
		}
		refused := map[int]string{}
		for _, e := range resp.Errors {
			if e.InputArray == "attributes" && e.Index >= 0 && e.Index < len(objects) {
				refused[e.Index] = e.Type
			}
		}
		for i, lead := range objectLead {
			if why, ok := refused[i]; ok {
				problems[lead] = "Braze refused it: " + why
				continue
			}
			written[lead], _ = json.Marshal(next[lead])
		}
		if len(refused) > 0 {
			w.Log.Warn("Braze refused some attribute objects", "workspace", ws, "refused", len(refused), "of", len(objects))
		}
	}
	if err := tx.BrazeWritten(ctx, ws, written, problems); err != nil {
		return err
	}
	if requests > 0 {
		if err := tx.NoteWriteback(ctx, ws, requests, len(written), ""); err != nil {
			return err
		}
	}
	return tx.DoneWriteback(ctx, ws, owned)
}

// writebackValues are a lead's values under the chosen attribute names: scores as numbers,
// labels as an array (Braze arrays hold up to 25 by default), grade and temperature as text
// (null when unknown).
func writebackValues(l store.WritebackLead, attrs map[string]string) map[string]any {
	var scores map[string]float64
	_ = json.Unmarshal(l.Scores, &scores)
	out := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(attrs)) {
		name := attrs[key]
		switch {
		case key == WritebackLabels:
			labels := []any{}
			for _, x := range l.Labels[:min(len(l.Labels), 25)] {
				labels = append(labels, x)
			}
			out[name] = labels
		case key == WritebackGrade:
			out[name] = textOrNil(l.Grade)
		case key == WritebackTemperature:
			out[name] = textOrNil(l.Temperature)
		case len(key) > 6 && key[:6] == "score:":
			if _, err := strconv.ParseInt(key[6:], 10, 64); err == nil {
				out[name] = scores[key[6:]]
			}
		}
	}
	return out
}

func textOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
