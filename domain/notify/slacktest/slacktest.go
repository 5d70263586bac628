// Package slacktest is a strict fake of a Slack incoming webhook (alerts.md §4.1): it takes
// only JSON POSTs with text or blocks within Block Kit's limits (at most 50 blocks, a header
// of at most 150 characters, at most 10 fields of at most 2,000 characters), answers "ok",
// and can be switched to answer as Slack does when a webhook is removed (404 no_service,
// 404 channel_not_found), archived (410), rate limited (429 with Retry-After) or sent a bad
// payload (400 invalid_payload).
package slacktest

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Message is a message the fake accepted.
type Message struct {
	Text   string           `json:"text"`
	Blocks []map[string]any `json:"blocks"`
	At     time.Time        `json:"-"`
}

// Server is a fake Slack webhook; URL is its address.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	messages []Message
	requests []time.Time
	status   int
	answer   string
	limited  int // how many next requests get 429
	wait     int // Retry-After seconds
}

// Start runs a fake webhook until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Answer makes every next request get status and body (0: accept again).
func (s *Server) Answer(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.answer = status, body
}

// Limit answers the next n requests 429 with Retry-After seconds.
func (s *Server) Limit(n, seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited, s.wait = n, seconds
}

// Messages returns the accepted messages.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Requests returns when each request arrived, accepted or not.
func (s *Server) Requests() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.requests = append(s.requests, now)
	fail := func(status int, body string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_method")
		return
	}
	if s.limited > 0 {
		s.limited--
		w.Header().Set("Retry-After", strconv.Itoa(s.wait))
		fail(http.StatusTooManyRequests, "rate_limited")
		return
	}
	if s.status != 0 {
		fail(s.status, s.answer)
		return
	}
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media != "application/json" {
		fail(http.StatusBadRequest, "invalid_payload")
		return
	}
	var m Message
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || (m.Text == "" && len(m.Blocks) == 0) {
		fail(http.StatusBadRequest, "invalid_payload")
		return
	}
	if problem := checkBlocks(m.Blocks); problem != "" {
		fail(http.StatusBadRequest, problem)
		return
	}
	m.At = now
	s.messages = append(s.messages, m)
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok")
}

// checkBlocks applies Block Kit's limits; "" when the blocks pass.
func checkBlocks(blocks []map[string]any) string {
	if len(blocks) > 50 {
		return "invalid_blocks"
	}
	for _, b := range blocks {
		switch b["type"] {
		case "header":
			t, _ := b["text"].(map[string]any)
			if text, _ := t["text"].(string); text == "" || utf8.RuneCountInString(text) > 150 || t["type"] != "plain_text" {
				return "invalid_blocks"
			}
		case "section":
			fields, _ := b["fields"].([]any)
			if len(fields) > 10 {
				return "invalid_blocks"
			}
			for _, f := range fields {
				fm, _ := f.(map[string]any)
				if text, _ := fm["text"].(string); utf8.RuneCountInString(text) > 2000 {
					return "invalid_blocks"
				}
			}
		case "actions", "context", "divider":
		default:
			return "invalid_blocks"
		}
	}
	return ""
}
