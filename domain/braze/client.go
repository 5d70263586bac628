// Package braze is a small client for the Braze REST API: the user export by identifier that
// resolves who a Currents event belongs to, and the list of Braze instances.
package braze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/jsonsafe"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
)

// MaxExternalIDs is Braze's cap on external_ids per /users/export/ids request.
const MaxExternalIDs = 50

// MaxTrackAttributes is Braze's cap on attribute objects per /users/track request.
const MaxTrackAttributes = 75

// ExportFields are the profile fields Peregrine asks for, and no more.
var ExportFields = []string{"braze_id", "external_id", "email", "first_name", "last_name", "phone", "country", "time_zone", "custom_attributes"}

// Client calls one Braze REST endpoint with one API key.
type Client struct {
	Endpoint string
	APIKey   string
	HTTP     *http.Client
}

// NewClient returns a client with a 10-second timeout.
func NewClient(endpoint, apiKey string) *Client {
	return &Client{Endpoint: strings.TrimRight(endpoint, "/"), APIKey: apiKey, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// ExportRequest is the body of POST /users/export/ids. Give external_ids (≤50) or exactly one
// of braze_id and phone.
type ExportRequest struct {
	ExternalIDs    []string `json:"external_ids,omitempty"`
	BrazeID        string   `json:"braze_id,omitempty"`
	Phone          string   `json:"phone,omitempty"`
	FieldsToExport []string `json:"fields_to_export"`
}

// User is a Braze user profile as exported.
type User struct {
	ExternalID       string          `json:"external_id"`
	BrazeID          string          `json:"braze_id"`
	Email            string          `json:"email"`
	FirstName        string          `json:"first_name"`
	LastName         string          `json:"last_name"`
	Phone            string          `json:"phone"`
	Country          string          `json:"country"`
	TimeZone         string          `json:"time_zone"`
	CustomAttributes json.RawMessage `json:"custom_attributes"`
}

// RateLimit is what Braze's X-RateLimit-* headers said.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Time
	Known     bool
}

// ExportResponse is Braze's answer.
type ExportResponse struct {
	Message        string   `json:"message"`
	Users          []User   `json:"users"`
	InvalidUserIDs []string `json:"invalid_user_ids"`
	RateLimit      RateLimit
}

// Error is a failed call, with a sentence a marketer can act on.
type Error struct {
	Status    int       // HTTP status; 0 for network and TLS errors
	Message   string    // for people
	Detail    string    // what Braze or the network said
	RetryAt   time.Time // for 429: when the rate limit resets
	RateLimit RateLimit
	// Refused means Peregrine's outbound policy did not let the call out: retrying will not
	// help until the endpoint or the operator's setting changes.
	Refused bool
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Message + " (" + e.Detail + ")"
	}
	return e.Message
}

// Temporary reports whether trying again later may succeed.
func (e *Error) Temporary() bool {
	return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// ExportIDs calls POST /users/export/ids.
func (c *Client) ExportIDs(ctx context.Context, req ExportRequest) (ExportResponse, error) {
	var out ExportResponse
	if len(req.ExternalIDs) > MaxExternalIDs {
		return out, fmt.Errorf("braze: %d external_ids, at most %d per request", len(req.ExternalIDs), MaxExternalIDs)
	}
	rl, err := c.post(ctx, "/users/export/ids", "users.export.ids", req, &out)
	out.RateLimit = rl
	return out, err
}

// TrackResponse is Braze's answer to /users/track: per-object problems in Errors (the other
// objects were processed).
type TrackResponse struct {
	Message             string       `json:"message"`
	AttributesProcessed int          `json:"attributes_processed"`
	Errors              []TrackError `json:"errors"`
	RateLimit           RateLimit
}

// TrackError is one object Braze did not process: which array and position, and why.
type TrackError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}

// Track calls POST /users/track with attribute objects (at most MaxTrackAttributes).
func (c *Client) Track(ctx context.Context, attributes []map[string]any) (TrackResponse, error) {
	var out TrackResponse
	if len(attributes) > MaxTrackAttributes {
		return out, fmt.Errorf("braze: %d attribute objects, at most %d per request", len(attributes), MaxTrackAttributes)
	}
	rl, err := c.post(ctx, "/users/track", "users.track", map[string]any{"attributes": attributes}, &out)
	out.RateLimit = rl
	return out, err
}

// post sends a JSON request and decodes the answer. Any 2xx is success: /users/track answers
// 201, and 202 "queued" during maintenance; permission names what a 403 lacks.
func (c *Client) post(ctx context.Context, path, permission string, req, out any) (RateLimit, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return RateLimit{}, err
	}
	host := hostOf(c.Endpoint)
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return RateLimit{}, &Error{Message: "The Braze REST endpoint " + c.Endpoint + " is not a valid URL.", Detail: err.Error()}
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Authorization", "Bearer "+c.APIKey)
	httpReq.Header.Set("User-Agent", "Peregrine/1 (+lead scoring)")
	res, err := c.HTTP.Do(httpReq)
	if err != nil {
		return RateLimit{}, networkError(host, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return RateLimit{}, networkError(host, err)
	}
	rl := parseRateLimit(res.Header)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return rl, statusError(res, raw, rl, permission)
	}
	if err := jsonsafe.Unmarshal(raw, out); err != nil {
		return rl, &Error{Status: res.StatusCode, Message: "Braze answered with something that is not the expected JSON; check that the REST endpoint is a Braze REST endpoint.", Detail: err.Error()}
	}
	return rl, nil
}

func hostOf(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return endpoint
}

func networkError(host string, err error) *Error {
	var dnsErr *net.DNSError
	var refused *outbound.RefusedError
	msg := "Could not reach Braze at " + host + "."
	switch {
	case errors.As(err, &refused):
		return &Error{Message: refused.Message, Refused: true}
	case errors.As(err, &dnsErr):
		msg = "Could not find the host " + host + "; check the REST endpoint."
	case strings.Contains(err.Error(), "x509") || strings.Contains(err.Error(), "tls"):
		msg = "The TLS connection to " + host + " failed; check the REST endpoint."
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		msg = "Braze at " + host + " did not answer within 10 seconds."
	}
	return &Error{Message: msg, Detail: err.Error()}
}

func statusError(res *http.Response, raw []byte, rl RateLimit, permission string) *Error {
	var body struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &body)
	detail := fmt.Sprintf("HTTP %d", res.StatusCode)
	if body.Message != "" {
		detail += ": " + body.Message
	}
	e := &Error{Status: res.StatusCode, Detail: detail, RateLimit: rl}
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		e.Message = "Braze rejected the API key: the key is invalid or belongs to another Braze instance. Check the key and the REST endpoint."
	case res.StatusCode == http.StatusForbidden:
		e.Message = "The API key lacks the " + permission + " permission (or the Braze account is inactive). In Braze, open Settings › API Keys and give the key " + permission + "."
	case res.StatusCode == http.StatusNotFound:
		e.Message = "Braze answered 404: the REST endpoint looks wrong. Copy the REST Endpoint shown in your Braze dashboard."
	case res.StatusCode == http.StatusTooManyRequests:
		e.RetryAt = rl.Reset
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && e.RetryAt.IsZero() {
			e.RetryAt = time.Now().Add(time.Duration(ra) * time.Second)
		}
		if e.RetryAt.IsZero() {
			e.RetryAt = time.Now().Add(time.Minute)
		}
		e.Message = "Braze is rate limiting this API key; Peregrine waits until " + e.RetryAt.UTC().Format("15:04:05 UTC") + " and continues."
	case res.StatusCode >= 500:
		e.Message = "Braze had a temporary problem; Peregrine will try again."
	default:
		e.Message = "Braze refused the request."
	}
	return e
}

func parseRateLimit(h http.Header) RateLimit {
	var rl RateLimit
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 == nil && err2 == nil && err3 == nil {
		rl = RateLimit{Limit: limit, Remaining: remaining, Reset: time.Unix(reset, 0), Known: true}
	}
	return rl
}

// TestConnection makes a harmless lookup and explains the outcome; when the lookup works it
// also checks users.track (needed to write scores back) with an update of a user that does
// not exist, which creates nobody.
func (c *Client) TestConnection(ctx context.Context) (bool, string) {
	_, err := c.ExportIDs(ctx, ExportRequest{ExternalIDs: []string{"peregrine-connection-test"}, FieldsToExport: []string{"braze_id"}})
	if err != nil {
		var be *Error
		if errors.As(err, &be) {
			return false, be.Message
		}
		return false, err.Error()
	}
	msg := "Connected: Braze accepted the key and it has the users.export.ids permission."
	_, err = c.Track(ctx, []map[string]any{{"external_id": "peregrine-connection-test", "_update_existing_only": true}})
	var be *Error
	switch {
	case err == nil:
		msg += " It also has users.track, so scores can be written back."
	case errors.As(err, &be) && be.Status == http.StatusForbidden:
		msg += " It lacks users.track: to write scores back to Braze, give the key users.track too."
	default:
		msg += " Checking users.track failed: " + err.Error()
	}
	return true, msg
}
