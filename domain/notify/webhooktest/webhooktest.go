// Package webhooktest is a webhook receiver that checks Standard Webhooks 1.0 signatures the
// way a careful receiver does: webhook-id, webhook-timestamp within five minutes, and a
// webhook-signature whose v1 HMAC-SHA256 of "id.timestamp.body" matches the whsec_ secret
// (compared in constant time); it keeps each message once per webhook-id, and can be told
// to fail.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is a verified message.
type Message struct {
	ID   string
	Body []byte
	At   time.Time // when it arrived
}

// Server receives webhooks; Secret must be set (whsec_…) before messages arrive.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	secret    []byte
	messages  []Message
	seen      map[string]int // webhook-id → times received
	refused   []string       // why requests were refused
	statuses  []int          // answers to give next, in order
	onReceive func()
}

// OnReceive sets a function run as a verified message arrives, before the answer (a test's
// way to break the sender mid-delivery); nil removes it.
func (s *Server) OnReceive(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onReceive = fn
}

// Start runs a receiver until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{seen: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetSecret sets the whsec_ secret the receiver verifies with.
func (s *Server) SetSecret(whsec string) error {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	if err != nil || !strings.HasPrefix(whsec, "whsec_") {
		return fmt.Errorf("not a whsec_ secret: %q", whsec)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = raw
	return nil
}

// Answer queues statuses for the next verified requests (then 200 again).
func (s *Server) Answer(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = append(s.statuses, statuses...)
}

// Messages returns the verified messages, each webhook-id once.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Seen is how many verified requests carried a webhook-id (retries included).
func (s *Server) Seen(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

// Refused lists why requests were refused.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse := func(why string) {
		s.refused = append(s.refused, why)
		http.Error(w, why, http.StatusUnauthorized)
	}
	id, stamp, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	ts, err := strconv.ParseInt(stamp, 10, 64)
	switch {
	case id == "" || err != nil || sigs == "":
		refuse("missing webhook headers")
		return
	case time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute:
		refuse("timestamp outside the tolerance")
		return
	case r.Header.Get("Content-Type") != "application/json":
		refuse("not JSON")
		return
	}
	mac := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	ok := false
	for _, sig := range strings.Fields(sigs) {
		version, value, _ := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(value)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		refuse("bad signature")
		return
	}
	s.seen[id]++
	if s.onReceive != nil {
		s.onReceive()
	}
	if len(s.statuses) > 0 {
		status := s.statuses[0]
		s.statuses = s.statuses[1:]
		if status >= 300 {
			http.Error(w, "failing on purpose", status)
			return
		}
	}
	if s.seen[id] == 1 || !s.delivered(id) {
		s.messages = append(s.messages, Message{ID: id, Body: body, At: time.Now()})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) delivered(id string) bool {
	for _, m := range s.messages {
		if m.ID == id {
			return true
		}
	}
	return false
}
