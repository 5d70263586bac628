// Package segment reads what Segment's webhook destinations send (docs: segment.md): single
// messages and batches of the Segment Spec (track, identify, page, screen, group, alias), the
// X-Signature check with the batching caveat, and the activity each message becomes. It is
// pure: no SQL, no HTTP.
package segment

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Source is the activities' and stored events' source name.
const Source = "segment"

// MaxBatch is the most messages one request may carry (Webhooks (Actions) batches up to 4,000).
const MaxBatch = 4000

// Call types.
const (
	Track    = "track"
	Identify = "identify"
	Page     = "page"
	Screen   = "screen"
	Group    = "group"
	Alias    = "alias"
	Delete   = "delete" // a user deletion notice (Classic webhooks)
)

// Message is a Segment Spec message, with the fields Peregrine reads.
type Message struct {
	Type        string          `json:"type"`
	MessageID   string          `json:"messageId"`
	UserID      flexString      `json:"userId"`
	AnonymousID flexString      `json:"anonymousId"`
	PreviousID  flexString      `json:"previousId"`
	GroupID     flexString      `json:"groupId"`
	Event       string          `json:"event"`
	Name        string          `json:"name"`
	Category    string          `json:"category"`
	Properties  json.RawMessage `json:"properties"`
	Traits      json.RawMessage `json:"traits"`
	Timestamp   string          `json:"timestamp"`
	ReceivedAt  string          `json:"receivedAt"`
	Context     struct {
		Page struct {
			URL      string `json:"url"`
			Path     string `json:"path"`
			Title    string `json:"title"`
			Referrer string `json:"referrer"`
		} `json:"page"`
		Campaign  map[string]any  `json:"campaign"`
		Traits    json.RawMessage `json:"traits"`
		UserAgent string          `json:"userAgent"`
	} `json:"context"`

	// Time is when it happened: timestamp, else receivedAt, else the arrival.
	Time time.Time `json:"-"`
}

// flexString reads an id that may come as a string or a number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("must be a string")
	}
	*f = flexString(n.String())
	return nil
}

// Decode reads one message and checks what Peregrine needs of it: a known type, a messageId
// (the key that makes retries harmless), and who it is about. now stands in for a missing
// time. The error says what is wrong in a sentence.
func Decode(raw []byte, now time.Time) (Message, error) {
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("not a Segment message: %s", jsonProblem(err))
	}
	switch m.Type {
	case Track, Identify, Page, Screen, Group, Alias, Delete:
	case "":
		return m, errors.New("the message has no type (track, identify, page, screen, group or alias)")
	default:
		return m, fmt.Errorf("unknown message type %q (expected track, identify, page, screen, group or alias)", clip(m.Type, 40))
	}
	m.MessageID = strings.TrimSpace(m.MessageID)
	switch {
	case m.MessageID == "":
		return m, errors.New("the message has no messageId, which Peregrine needs to store it once")
	case len(m.MessageID) > 200 || !utf8.ValidString(m.MessageID):
		return m, errors.New("the messageId is longer than 200 characters")
	case m.Type != Delete && m.UserID == "" && m.AnonymousID == "":
		return m, errors.New("the message has neither userId nor anonymousId")
	case len(m.UserID) > 200 || len(m.AnonymousID) > 200 || len(m.PreviousID) > 200 || len(m.GroupID) > 200:
		return m, errors.New("an id (userId, anonymousId, previousId or groupId) is longer than 200 characters")
	case m.Type == Track && strings.TrimSpace(m.Event) == "":
		return m, errors.New("a track message needs its event name")
	case m.Type == Group && m.GroupID == "":
		return m, errors.New("a group message needs its groupId")
	}
	m.Time = now
	for _, s := range []string{m.Timestamp, m.ReceivedAt} {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			m.Time = t.UTC()
			break
		}
	}
	return m, nil
}

func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("%s must not be a %s", typeErr.Field, typeErr.Value)
	}
	return err.Error()
}

// Split reads a request body: one message (an object) or a batch (an array of them). It
// returns each message's raw bytes as sent; the error says why the body is neither.
func Split(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("the body is empty; send a Segment message or a batch of them")
	}
	switch body[0] {
	case '{':
		if !json.Valid(body) {
			return nil, errors.New("the body is not valid JSON")
		}
		return []json.RawMessage{body}, nil
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, errors.New("the body is not a valid JSON array of messages")
		}
		if len(list) > MaxBatch {
			return nil, fmt.Errorf("a batch holds at most %d messages; this one has %d", MaxBatch, len(list))
		}
		return list, nil
	}
	return nil, errors.New("the body must be a Segment message (a JSON object) or a batch (a JSON array)")
}

// VerifySignature checks X-Signature, the lowercase hex HMAC-SHA1 of the body keyed with the
// shared secret, in constant time. For a batch it also accepts the signature of the first
// message alone, as JSON.stringify wrote it (compact, keys as sent): Webhooks (Actions) has
// signed batches that way (segment.md §3).
func VerifySignature(secret, body []byte, signature string) bool {
	want, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(want) != sha1.Size {
		return false
	}
	if hmac.Equal(sign(secret, body), want) {
		return true
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return false
	}
	var list []json.RawMessage
	if json.Unmarshal(trimmed, &list) != nil || len(list) == 0 {
		return false
	}
	var first bytes.Buffer
	if json.Compact(&first, list[0]) != nil {
		return false
	}
	return hmac.Equal(sign(secret, first.Bytes()), want)
}

// Sign is the signature Segment sends for a body (tests and the documentation use it).
func Sign(secret, body []byte) string { return hex.EncodeToString(sign(secret, body)) }

func sign(secret, body []byte) []byte {
	mac := hmac.New(sha1.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
