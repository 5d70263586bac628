package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/peregrine-scoring/peregrine/domain/jsonsafe"
)

// APIError is a REST error: the first element of Salesforce's error array, with the status.
type APIError struct {
	Status  int
	Code    string   `json:"errorCode"`
	Message string   `json:"message"`
	Fields  []string `json:"fields"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("salesforce: %s: %s (HTTP %d)", e.Code, e.Message, e.Status)
}

func restError(status int, body []byte) error {
	var list []APIError
	if json.Unmarshal(body, &list) == nil && len(list) > 0 && list[0].Code != "" {
		e := list[0]
		e.Status = status
		return &e
	}
	code := "UNKNOWN_EXCEPTION"
	if status == http.StatusServiceUnavailable || status == http.StatusBadGateway {
		code = "SERVER_UNAVAILABLE"
	}
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf("Salesforce answered HTTP %d.", status)}
}

// Usage is what Sforce-Limit-Info said: API calls used of the org's daily allowance.
type Usage struct{ Used, Max int }

var apiUsage = regexp.MustCompile(`(?:^|[;,\s])api-usage=(\d+)/(\d+)`)

// ParseLimitInfo reads "api-usage=51/15000; api-bursts=1/750" leniently.
func ParseLimitInfo(h string) (Usage, bool) {
	m := apiUsage.FindStringSubmatch(h)
	if m == nil {
		return Usage{}, false
	}
	used, _ := strconv.Atoi(m[1])
	max, _ := strconv.Atoi(m[2])
	return Usage{Used: used, Max: max}, max > 0
}

// Session makes REST calls for one connection: on a 401 INVALID_SESSION_ID it renews the
// access token once — with the refresh token, or for the username-password flow by signing
// in again — keeps the instance URL each token answer gives, and reports API usage.
type Session struct {
	Client     *Client
	App        App
	APIVersion string
	// RefreshToken renews the access token (web server flow). Salesforce may rotate it: a new
	// one replaces it and is told to OnToken.
	RefreshToken string
	// Renew signs in again when there is no refresh token (username-password flow); nil with
	// no refresh token makes a 401 final.
	Renew func(ctx context.Context) (Token, error)
	// OnToken is told of every new token (to store it and its instance URL).
	OnToken func(Token)
	// OnUsage is told of every Sforce-Limit-Info.
	OnUsage func(Usage)

	mu    sync.Mutex
	token Token
	calls int
}

// NewSession starts a session with a stored token.
func NewSession(c *Client, app App, version string, t Token, refreshToken string) *Session {
	return &Session{Client: c, App: app, APIVersion: version, token: t, RefreshToken: refreshToken}
}

// Calls counts the REST calls made, token calls excluded.
func (s *Session) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Do calls path (below /services/data/<version>, or an absolute /services path) with an
// optional JSON body and decodes a JSON answer into out.
func (s *Session) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	status, err := s.do(ctx, method, path, body, out)
	var apiErr *APIError
	if err == nil || !asAPIError(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		return status, err
	}
	var t Token
	var rerr error
	switch {
	case s.RefreshToken != "":
		t, rerr = s.Client.Refresh(ctx, s.App, s.RefreshToken)
	case s.Renew != nil:
		t, rerr = s.Renew(ctx)
	default:
		return status, err
	}
	if rerr != nil {
		return 0, rerr
	}
	s.mu.Lock()
	s.token = t
	if t.RefreshToken != "" {
		s.RefreshToken = t.RefreshToken
	}
	s.mu.Unlock()
	if s.OnToken != nil {
		s.OnToken(t)
	}
	return s.do(ctx, method, path, body, out)
}

func asAPIError(err error, target **APIError) bool {
	e, ok := err.(*APIError)
	if ok {
		*target = e
	}
	return ok
}

func (s *Session) do(ctx context.Context, method, path string, body, out any) (int, error) {
	s.mu.Lock()
	t := s.token
	s.calls++
	s.mu.Unlock()
	if !strings.HasPrefix(path, "/services/") {
		path = "/services/data/" + s.APIVersion + path
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(t.InstanceURL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+t.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sforce-Call-Options", "client=Peregrine")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.Client.HTTP.Do(req)
	if err != nil {
		return 0, &NetworkError{Err: err}
	}
	defer res.Body.Close()
	if u, ok := ParseLimitInfo(res.Header.Get("Sforce-Limit-Info")); ok && s.OnUsage != nil {
		s.OnUsage(u)
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if res.StatusCode >= 400 {
		return res.StatusCode, restError(res.StatusCode, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := jsonsafe.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("salesforce: unreadable answer to %s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// Field is one field of an object's describe.
type Field struct {
	Name       string `json:"name"`
	Label      string `json:"label"`
	Type       string `json:"type"`
	Length     int    `json:"length"`
	Createable bool   `json:"createable"`
	Updateable bool   `json:"updateable"`
	Nillable   bool   `json:"nillable"`
	IDLookup   bool   `json:"idLookup"`
	ExternalID bool   `json:"externalId"`
	Custom     bool   `json:"custom"`
	Defaulted  bool   `json:"defaultedOnCreate"`
}

// Describe is an object's metadata as the connected user sees it (fields hidden from the
// user by field-level security are left out).
type Describe struct {
	Name       string  `json:"name"`
	Label      string  `json:"label"`
	Custom     bool    `json:"custom"`
	Createable bool    `json:"createable"`
	Updateable bool    `json:"updateable"`
	Queryable  bool    `json:"queryable"`
	Fields     []Field `json:"fields"`
}

// Field finds a field by API name, case-insensitively as Salesforce does.
func (d Describe) Field(name string) (Field, bool) {
	for _, f := range d.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

// DescribeObject reads an object's describe.
func (s *Session) DescribeObject(ctx context.Context, object string) (Describe, error) {
	var d Describe
	_, err := s.Do(ctx, http.MethodGet, "/sobjects/"+object+"/describe", nil, &d)
	return d, err
}

// QueryAll runs a SOQL query and follows nextRecordsUrl to the end.
func (s *Session) QueryAll(ctx context.Context, soql string) ([]map[string]any, error) {
	var out []map[string]any
	path := "/query?q=" + url.QueryEscape(soql)
	for {
		var page struct {
			Done           bool             `json:"done"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
			Records        []map[string]any `json:"records"`
		}
		if _, err := s.Do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return out, err
		}
		out = append(out, page.Records...)
		if page.Done || page.NextRecordsURL == "" {
			return out, nil
		}
		path = page.NextRecordsURL
	}
}

// Quote makes a SOQL string literal.
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// RecordError is one record's failure in a collection write.
type RecordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// RecordResult is one record's outcome in a collection write, in input order.
type RecordResult struct {
	ID      string        `json:"id"`
	Success bool          `json:"success"`
	Errors  []RecordError `json:"errors"`
	Created bool          `json:"created"`
}

// MaxCollection is the most records one sObject Collections call takes.
const MaxCollection = 200

// WriteRecords creates (records without "Id") or updates (with) records of one object in
// calls of at most 200, allOrNone false: each record succeeds or fails on its own. Results
// come in input order. A failed call ends the writing with its error.
func (s *Session) WriteRecords(ctx context.Context, object string, create bool, records []map[string]any) ([]RecordResult, error) {
	out := make([]RecordResult, 0, len(records))
	for start := 0; start < len(records); start += MaxCollection {
		part := records[start:min(start+MaxCollection, len(records))]
		results, err := s.writeCollection(ctx, object, create, part)
		if err != nil {
			return nil, err
		}
		out = append(out, results...)
	}
	return out, nil
}

// writeCollection is one sObject Collections call.
func (s *Session) writeCollection(ctx context.Context, object string, create bool, records []map[string]any) ([]RecordResult, error) {
	body := map[string]any{"allOrNone": false, "records": withType(object, records)}
	method := http.MethodPatch
	if create {
		method = http.MethodPost
	}
	var out []RecordResult
	if _, err := s.Do(ctx, method, "/composite/sobjects", body, &out); err != nil {
		return nil, err
	}
	if len(out) != len(records) {
		return nil, fmt.Errorf("salesforce: %d results for %d records", len(out), len(records))
	}
	return out, nil
}

func withType(object string, records []map[string]any) []map[string]any {
	out := make([]map[string]any, len(records))
	for i, r := range records {
		m := make(map[string]any, len(r)+1)
		for k, v := range r {
			m[k] = v
		}
		m["attributes"] = map[string]string{"type": object}
		out[i] = m
	}
	return out
}
