// Package events decodes engagement events (Braze Currents) into Peregrine's event model and
// names the activities they become. It is pure: no HTTP, no SQL.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/peregrine-scoring/peregrine/domain/jsonsafe"
)

// SourceBraze marks events that came from Braze Currents.
const SourceBraze = "braze"

// MaxEventBytes is the largest event Braze sends (it drops bigger ones); larger ones are rejected.
const MaxEventBytes = 900 * 1024

// MaxIdentifierBytes bounds the person identifiers an event may carry (user_id,
// external_user_id, device_id): Braze's are far shorter, and identifiers are indexed.
const MaxIdentifierBytes = 512

// ErrNotABatch means the body is not {"events":[...]}. Braze then re-sends events one by one.
var ErrNotABatch = errors.New(`the body must be a JSON object {"events": [...]}`)

// Event is one decoded Currents event. Raw keeps the exact bytes received.
type Event struct {
	ID             string
	Type           string
	Time           time.Time
	UserID         string // Braze user id (REST braze_id)
	ExternalUserID string // the customer's id (REST external_id)
	DeviceID       string
	Timezone       string
	Properties     map[string]json.RawMessage
	Raw            []byte

	propertiesRaw []byte // the properties object exactly as received, when unchanged
}

// Rejected is an event that could not be decoded; the rest of its batch is still accepted.
type Rejected struct {
	Index  int
	Reason string
	Raw    []byte
}

// DecodeBatch splits a Currents body into events, checking each just enough to store it
// (id, event_type, time; user and properties are objects): Properties stay nil, DecodeEvent
// reads the rest when the event is processed. An empty body is a credential check and yields
// no events. A body that is not {"events":[...]} fails as a whole; single malformed
// events are returned as rejected so the good ones can still be stored.
func DecodeBatch(body []byte) ([]Event, []Rejected, error) {
	var good []Event
	var bad []Rejected
	err := ScanBatch(body, func(e Event) error {
		good = append(good, e)
		return nil
	}, func(r Rejected) error {
		bad = append(bad, r)
		return nil
	})
	return good, bad, err
}

// ScanBatch is DecodeBatch handing each event (or rejected event) to a function as it is
// read, so a large batch is never decoded into memory all at once. The body's syntax is
// checked first: a body that is not a batch fails with ErrNotABatch before any event is
// handed over. An error from a function stops the scan and is returned.
//
// Nothing here recurses: the body's syntax is checked iteratively whatever its depth, and an
// event nested deeper than jsonsafe.MaxDepth is rejected on its own. Each event's Raw is made
// storable (no NUL, no lone surrogate, valid UTF-8) and aliases body when nothing changed;
// so may the event's strings. body must therefore stay unchanged (never a reused buffer)
// while anything handed over is in use.
func ScanBatch(body []byte, onEvent func(Event) error, onReject func(Rejected) error) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return ErrNotABatch
	}
	depth, err := jsonsafe.Depth(body)
	if err != nil {
		return fmt.Errorf("%w: the body is not valid JSON (%v)", ErrNotABatch, err)
	}
	// gjson.GetBytes copies the result's text: for the events array that is a second copy of
	// the whole body (32 MiB for the largest). Reading a string that shares body's memory
	// copies nothing; body is not changed while the scan runs.
	list := gjson.Get(unsafe.String(unsafe.SliceData(body), len(body)), "events")
	if !list.IsArray() {
		return ErrNotABatch
	}
	i := 0
	list.ForEach(func(_, item gjson.Result) bool {
		// gjson's Index is the item's offset in body when the value was not unescaped.
		raw := []byte(item.Raw)
		if item.Index > 0 && item.Index+len(item.Raw) <= len(body) && string(body[item.Index:item.Index+len(item.Raw)]) == item.Raw {
			raw = body[item.Index : item.Index+len(item.Raw) : item.Index+len(item.Raw)]
		}
		ev, derr := decodeHead(raw, item, depth > jsonsafe.MaxDepth+2)
		if derr != nil {
			err = onReject(Rejected{Index: i, Reason: derr.Error(), Raw: raw})
		} else {
			err = onEvent(ev)
		}
		i++
		return err == nil
	})
	return err
}

// decodeHead checks an event enough to store it: the three required keys and the shape of
// user and properties. The processor decodes the rest later (DecodeEvent); this pass keeps
// acknowledgement cheap. Properties stay nil here. checkDepth asks for the event's own depth
// to be measured (only needed when the body as a whole is deeper than an event may be).
func decodeHead(raw []byte, item gjson.Result, checkDepth bool) (Event, error) {
	if len(raw) > MaxEventBytes {
		return Event{}, fmt.Errorf("event is larger than %d bytes", MaxEventBytes)
	}
	if !item.IsObject() {
		return Event{}, errors.New("event is not a JSON object")
	}
	if checkDepth {
		if d, err := jsonsafe.Depth(raw); err != nil || d > jsonsafe.MaxDepth {
			return Event{}, fmt.Errorf("event is nested deeper than %d levels", jsonsafe.MaxDepth)
		}
	}
	if clean := jsonsafe.Clean(raw); &clean[0] != &raw[0] {
		raw, item = clean, gjson.ParseBytes(clean)
	}
	var id, eventType, at string
	var shapeErr error
	item.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "id":
			id = v.Raw
		case "event_type":
			eventType = v.Raw
		case "time":
			at = v.Raw
		case "user", "properties":
			if !v.IsObject() && v.Type != gjson.Null {
				shapeErr = fmt.Errorf("event %q must be an object", key.Str)
				return false
			}
		}
		return true
	})
	if shapeErr != nil {
		return Event{}, shapeErr
	}
	return headOf(raw, json.RawMessage(id), json.RawMessage(eventType), json.RawMessage(at))
}

func headOf(raw, id, eventType, timeRaw json.RawMessage) (Event, error) {
	ev := Event{Raw: raw}
	var ok bool
	if ev.ID, ok = stringValue(id); !ok || strings.TrimSpace(ev.ID) == "" {
		return Event{}, errors.New(`event has no "id" string`)
	}
	if len(ev.ID) > 200 {
		return Event{}, errors.New(`event "id" is longer than 200 characters`)
	}
	if ev.Type, ok = stringValue(eventType); !ok || ev.Type == "" {
		return Event{}, errors.New(`event has no "event_type" string`)
	}
	if len(ev.Type) > 200 {
		return Event{}, errors.New(`event "event_type" is longer than 200 characters`)
	}
	seconds, err := strconv.ParseFloat(string(timeRaw), 64)
	if err != nil || math.IsNaN(seconds) || seconds < 0 || seconds > 1e11 {
		return Event{}, errors.New(`event has no valid "time" (epoch seconds)`)
	}
	ev.Time = time.Unix(int64(seconds), 0).UTC()
	return ev, nil
}

// DecodeEvent decodes one event leniently: unknown keys are ignored, optional keys may be
// missing or null. Only id, event_type and time are required.
func DecodeEvent(raw json.RawMessage) (Event, error) {
	if len(raw) > MaxEventBytes {
		return Event{}, fmt.Errorf("event is larger than %d bytes", MaxEventBytes)
	}
	if err := jsonsafe.Validate(raw, jsonsafe.MaxDepth); err != nil {
		return Event{}, fmt.Errorf("event is not valid JSON: %w", err)
	}
	ev, err := decodeHead(raw, gjson.ParseBytes(raw), false)
	if err != nil {
		return Event{}, err
	}
	item := gjson.ParseBytes(ev.Raw) // cleaned
	var user, props gjson.Result
	item.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "user":
			user = v
		case "properties":
			props = v
		}
		return true
	})
	user.ForEach(func(key, v gjson.Result) bool {
		if v.Type != gjson.String || len(v.Str) > MaxIdentifierBytes {
			return true // an identifier that long is no Braze id: the event stays without it
		}
		switch key.Str {
		case "user_id":
			ev.UserID = v.Str
		case "external_user_id":
			ev.ExternalUserID = v.Str
		case "device_id":
			ev.DeviceID = v.Str
		case "timezone":
			ev.Timezone = v.Str
		}
		return true
	})
	ev.Properties = map[string]json.RawMessage{}
	props.ForEach(func(key, v gjson.Result) bool {
		ev.Properties[key.Str] = json.RawMessage(v.Raw)
		return true
	})
	if props.IsObject() {
		ev.propertiesRaw = []byte(props.Raw)
	}
	if normalizeFlatProperties(ev) {
		ev.propertiesRaw = nil // changed: marshal the map instead
	}
	return ev, nil
}

// normalizeFlatProperties accepts the flat-schema form, where a custom event's or purchase's
// properties arrive as a JSON-encoded string in properties.properties.
func normalizeFlatProperties(ev Event) bool {
	target := ""
	switch ev.Type {
	case "users.behaviors.CustomEvent":
		target = "custom_properties"
	case "users.behaviors.Purchase":
		target = "purchase_properties"
	default:
		return false
	}
	if v, ok := ev.Properties[target]; ok && !isNull(v) {
		return false
	}
	s, ok := stringValue(ev.Properties["properties"])
	if !ok {
		return false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &obj) == nil {
		ev.Properties[target] = json.RawMessage(s)
		return true
	}
	return false
}

// Prop returns a property rendered as text: strings as they are, numbers exactly as sent
// (1188.0 stays 1188.0), booleans as true/false. Missing, null and blank give "", false.
func (e Event) Prop(key string) (string, bool) {
	return scalarText(e.Properties[key])
}

func scalarText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return "", false
	}
	switch raw[0] {
	case '"':
		s, ok := stringValue(raw)
		s = strings.TrimSpace(s)
		return s, ok && s != ""
	case '{', '[':
		return "", false
	}
	return string(raw), true
}

func stringValue(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// Email returns the person's email address carried by the event, trimmed and lower-cased.
// Values a Braze field transformation produced ([REDACTED], SHA-256 hashes) are not addresses.
func (e Event) Email() string {
	if s, ok := stringValue(e.Properties["email_address"]); ok && CleanEmail(s) != "" {
		return CleanEmail(s)
	}
	if channel, _ := e.Prop("channel"); strings.EqualFold(channel, "email") {
		s, _ := stringValue(e.Properties["channel_identifier"])
		return CleanEmail(s)
	}
	return ""
}

// CleanEmail trims and lower-cases an address, and returns "" for anything that is not one,
// including the values Braze field transformations produce ([REDACTED], SHA-256 hashes).
func CleanEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "[redacted]" || sha256Hex.MatchString(s) || len(s) > 254 {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, " \t<>,;\"\uFFFD") ||
		strings.ContainsFunc(s, unicode.IsControl) {
		return ""
	}
	return s
}

// Phone returns the person's phone number carried by the event, in E.164 form.
func (e Event) Phone() string {
	for _, key := range []string{"user_phone_number", "to_phone_number", "phone_number"} {
		if p := cleanPhone(e.Properties[key]); p != "" {
			return p
		}
	}
	if channel, _ := e.Prop("channel"); channel != "" && !strings.EqualFold(channel, "email") {
		return cleanPhone(e.Properties["channel_identifier"])
	}
	return ""
}

func cleanPhone(raw json.RawMessage) string {
	s, ok := stringValue(raw)
	if !ok {
		return ""
	}
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return ""
		}
	}
	p := b.String()
	if !strings.HasPrefix(p, "+") || len(p) < 8 || len(p) > 16 || sha256Hex.MatchString(s) {
		return ""
	}
	return p
}
