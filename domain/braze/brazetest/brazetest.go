// Package brazetest is an in-process Braze REST server for tests. It is as strict as Braze's
// documented /users/export/ids contract: bearer key, JSON body with known keys only, at most
// 50 external_ids, one single-identifier key, fields_to_export required and valid, rate-limit
// headers on every answer, and switches for the error answers Braze gives. It also takes
// /users/track attribute objects (alerts.md): users.track permission, at most 75 objects, one
// identifier each, _update_existing_only honoured (without it an unknown external_id creates
// a profile, as in Braze), 201 with per-object errors.
package brazetest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

var validFields = map[string]bool{}

func init() {
	for _, f := range []string{"braze_id", "external_id", "user_aliases", "created_at", "random_bucket", "first_name", "last_name",
		"email", "phone", "dob", "gender", "home_city", "country", "language", "time_zone", "last_coordinates", "email_subscribe",
		"push_subscribe", "push_tokens", "attributed_campaign", "attributed_source", "attributed_adgroup", "attributed_ad",
		"custom_attributes", "custom_events", "purchases", "total_revenue", "campaigns_received", "canvases_received",
		"cards_clicked", "apps", "devices", "uninstalled_at", "push_opted_in_at"} {
		validFields[f] = true
	}
}

// User is a profile the fake knows. Empty fields are left out of answers, as Braze does.
type User struct {
	BrazeID, ExternalID, Email, FirstName, LastName, Phone, Country, TimeZone string
	CustomAttributes                                                          map[string]any
}

// Call is one request the fake received.
type Call struct {
	Path           string
	ExternalIDs    []string
	BrazeID        string
	Phone          string
	FieldsToExport []string
	Objects        int              // /users/track: attribute objects
	Attributes     []map[string]any // /users/track: the objects as sent
	Status         int
}

// Server is the fake.
type Server struct {
	*httptest.Server
	Key string

	mu          sync.Mutex
	users       []User
	calls       []Call
	failNext    []int // statuses to answer, one per upcoming request
	lacksPerm   bool
	lacksTrack  bool
	trackErrors map[string]string // identifier → per-object error
	limit       int               // requests per window
	used        int
	windowStart time.Time
}

// New starts a fake Braze with an API key that has users.export.ids.
func New(t testing.TB, key string) *Server {
	s := &Server{Key: key, limit: 250, windowStart: time.Now()}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// AddUser makes a profile known.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, u)
}

// FailNext answers the next requests with these statuses (401, 403, 429, 500, 503 …).
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, statuses...)
}

// LackPermission makes the key lack users.export.ids (403 Access Denied).
func (s *Server) LackPermission(lacks bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lacksPerm = lacks
}

// LackTrack makes the key lack users.track (403 on /users/track).
func (s *Server) LackTrack(lacks bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lacksTrack = lacks
}

// TrackErrorFor makes /users/track report a per-object error for the user with this
// external_id or braze_id (the other objects are processed).
func (s *Server) TrackErrorFor(id, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trackErrors == nil {
		s.trackErrors = map[string]string{}
	}
	s.trackErrors[id] = message
}

// Users returns the profiles the fake knows, with the attributes written to them.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]User(nil), s.users...)
}

// SetRateLimit sets how many requests a one-minute window allows.
func (s *Server) SetRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.used, s.windowStart = perMinute, 0, time.Now()
}

// Calls returns the accepted and refused requests so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"message": message, "errors": []string{message}})
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path != "/users/export/ids" && r.URL.Path != "/users/track" {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		fail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Key {
		fail(w, http.StatusUnauthorized, "Invalid API key: "+r.Header.Get("Authorization"))
		return
	}
	// Rate limit window and headers, on every authenticated answer.
	if time.Since(s.windowStart) >= time.Minute {
		s.windowStart, s.used = time.Now(), 0
	}
	reset := s.windowStart.Add(time.Minute)
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if s.used >= s.limit {
		w.Header().Set("X-RateLimit-Remaining", "0")
		fail(w, http.StatusTooManyRequests, "API rate limit exceeded")
		return
	}
	s.used++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.limit-s.used))

	if len(s.failNext) > 0 {
		status := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.calls = append(s.calls, Call{Path: r.URL.Path, Status: status})
		if status == http.StatusTooManyRequests {
			w.Header().Set("X-RateLimit-Remaining", "0")
		}
		fail(w, status, http.StatusText(status))
		return
	}
	if r.URL.Path == "/users/track" {
		s.track(w, r)
		return
	}
	if s.lacksPerm {
		s.calls = append(s.calls, Call{Path: r.URL.Path, Status: http.StatusForbidden})
		fail(w, http.StatusForbidden, "Access Denied")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	var req map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	call := Call{Path: r.URL.Path}
	single := 0
	for key, raw := range req {
		var err error
		switch key {
		case "external_ids":
			err = json.Unmarshal(raw, &call.ExternalIDs)
		case "braze_id":
			err = json.Unmarshal(raw, &call.BrazeID)
			single++
		case "phone":
			err = json.Unmarshal(raw, &call.Phone)
			single++
		case "email_address", "device_id":
			single++
		case "fields_to_export":
			err = json.Unmarshal(raw, &call.FieldsToExport)
		case "user_aliases":
		default:
			fail(w, http.StatusBadRequest, "unknown key "+key)
			return
		}
		if err != nil {
			fail(w, http.StatusBadRequest, fmt.Sprintf("%s has the wrong type", key))
			return
		}
	}
	switch {
	case len(call.ExternalIDs) > 50:
		fail(w, http.StatusBadRequest, "max number of external_ids and aliases per request was exceeded")
		return
	case single > 1 || (single == 1 && len(call.ExternalIDs) > 0 && call.Phone != ""):
		fail(w, http.StatusBadRequest, "only one of device_id, email_address, phone may be given")
		return
	case len(call.ExternalIDs) == 0 && single == 0:
		fail(w, http.StatusBadRequest, "no identifier given")
		return
	case len(call.FieldsToExport) == 0:
		fail(w, http.StatusBadRequest, "fields_to_export is required")
		return
	}
	for _, f := range call.FieldsToExport {
		if !validFields[f] {
			fail(w, http.StatusBadRequest, "invalid field in fields_to_export: "+f)
			return
		}
	}
	call.Status = http.StatusOK
	s.calls = append(s.calls, call)

	var users []map[string]any
	var invalid []string
	for _, id := range call.ExternalIDs {
		if u, ok := s.find(func(u User) bool { return u.ExternalID == id }); ok {
			users = append(users, export(u, call.FieldsToExport))
		} else {
			invalid = append(invalid, id)
		}
	}
	if call.BrazeID != "" {
		if u, ok := s.find(func(u User) bool { return u.BrazeID == call.BrazeID }); ok {
			users = append(users, export(u, call.FieldsToExport))
		} else {
			invalid = append(invalid, call.BrazeID)
		}
	}
	if call.Phone != "" {
		if u, ok := s.find(func(u User) bool { return u.Phone == call.Phone }); ok {
			users = append(users, export(u, call.FieldsToExport))
		}
	}
	resp := map[string]any{"message": "success", "users": users}
	if users == nil {
		resp["users"] = []any{}
	}
	if len(invalid) > 0 {
		resp["invalid_user_ids"] = invalid
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) find(match func(User) bool) (User, bool) {
	for _, u := range s.users {
		if match(u) {
			return u, true
		}
	}
	return User{}, false
}

func export(u User, fields []string) map[string]any {
	all := map[string]any{"braze_id": u.BrazeID, "external_id": u.ExternalID, "email": u.Email, "first_name": u.FirstName,
		"last_name": u.LastName, "phone": u.Phone, "country": u.Country, "time_zone": u.TimeZone}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := all[f]; ok && v != "" {
			out[f] = v
		}
		if f == "custom_attributes" && len(u.CustomAttributes) > 0 {
			out[f] = u.CustomAttributes
		}
	}
	return out
}

// track answers /users/track (the caller holds the lock and checked key and rate limit).
func (s *Server) track(w http.ResponseWriter, r *http.Request) {
	call := Call{Path: r.URL.Path}
	if s.lacksTrack {
		call.Status = http.StatusForbidden
		s.calls = append(s.calls, call)
		fail(w, http.StatusForbidden, "Access Denied")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	var req map[string][]map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	for key, objects := range req {
		if key != "attributes" && key != "events" && key != "purchases" {
			fail(w, http.StatusBadRequest, "unknown key "+key)
			return
		}
		if len(objects) > 75 {
			fail(w, http.StatusBadRequest, "Max Input Length Exceeded")
			return
		}
	}
	attrs := req["attributes"]
	call.Objects, call.Attributes, call.Status = len(attrs), attrs, http.StatusCreated
	var errs []map[string]any
	processed := 0
	for i, obj := range attrs {
		ids := 0
		var id string
		for _, k := range []string{"external_id", "braze_id", "user_alias", "email", "phone"} {
			if v, ok := obj[k]; ok {
				ids++
				if str, ok := v.(string); ok && id == "" {
					id = str
				}
			}
		}
		if ids == 0 || ids > 1 && !(obj["email"] != nil && obj["phone"] != nil && ids == 2) {
			errs = append(errs, map[string]any{"type": "exactly one identifier is required", "input_array": "attributes", "index": i})
			continue
		}
		if msg, bad := s.trackErrors[id]; bad {
			errs = append(errs, map[string]any{"type": msg, "input_array": "attributes", "index": i})
			continue
		}
		at := -1
		for j, u := range s.users {
			if id != "" && (u.ExternalID == id || u.BrazeID == id) {
				at = j
			}
		}
		if at < 0 {
			if only, _ := obj["_update_existing_only"].(bool); only || obj["external_id"] == nil {
				processed++ // nothing to update, nobody created
				continue
			}
			s.users = append(s.users, User{ExternalID: id})
			at = len(s.users) - 1
		}
		if s.users[at].CustomAttributes == nil {
			s.users[at].CustomAttributes = map[string]any{}
		}
		for k, v := range obj {
			switch k {
			case "external_id", "braze_id", "user_alias", "email", "phone", "_update_existing_only":
			default:
				if v == nil {
					delete(s.users[at].CustomAttributes, k)
				} else {
					s.users[at].CustomAttributes[k] = v
				}
			}
		}
		processed++
	}
	s.calls = append(s.calls, call)
	resp := map[string]any{"message": "success", "attributes_processed": processed}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	writeJSON(w, http.StatusCreated, resp)
}
