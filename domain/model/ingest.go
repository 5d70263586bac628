package model

import (
	"github.com/lib/pq"

	"encoding/json"
	"time"
)

// APIToken is a bearer token for a machine client such as Braze Currents.
type APIToken struct {
	WorkspaceID int64          `db:"workspace_id"`
	ID          int64          `db:"id"`
	Kind        string         `db:"kind"`
	Label       string         `db:"label"`
	TokenHash   []byte         `db:"token_hash"`
	Hint        string         `db:"hint"`
	CreatedBy   *int64         `db:"created_by"`
	CreatedAt   time.Time      `db:"created_at"`
	LastUsedAt  *time.Time     `db:"last_used_at"`
	RevokedAt   *time.Time     `db:"revoked_at"`
	Scopes      pq.StringArray `db:"scopes"`     // what an API token may do
	ExpiresAt   *time.Time     `db:"expires_at"` // nil: never
	// ActsFor is the user whose data access the token has (nil: every lead).
	ActsFor *int64 `db:"acts_for_user_id"`
}

// HasScope reports whether the token grants a scope.
func (t APIToken) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// TokenKindCurrents authenticates Braze Currents batches.
const TokenKindCurrents = "currents"

// TokenKindSegment authenticates Segment webhook deliveries.
const TokenKindSegment = "segment"

// TokenKindAPI authenticates the open API (/api/v1), within its scopes.
const TokenKindAPI = "api"

// Scopes of API tokens.
const (
	ScopeEventsWrite  = "events:write"
	ScopeLeadsRead    = "leads:read"
	ScopeLeadsWrite   = "leads:write"
	ScopeAccountsRead = "accounts:read"
	ScopeRulesRead    = "rules:read"
	ScopeRulesWrite   = "rules:write"
)

// Scopes lists every scope, in the order forms show them.
var Scopes = []string{ScopeEventsWrite, ScopeLeadsRead, ScopeLeadsWrite, ScopeAccountsRead, ScopeRulesRead, ScopeRulesWrite}

// BrazeConnection is a workspace's Braze REST settings; the key stays encrypted.
type BrazeConnection struct {
	WorkspaceID        int64      `db:"workspace_id"`
	RESTEndpoint       string     `db:"rest_endpoint"`
	APIKeyEncrypted    []byte     `db:"api_key_encrypted"`
	APIKeyHint         string     `db:"api_key_hint"`
	UpdatedAt          time.Time  `db:"updated_at"`
	LastTestAt         *time.Time `db:"last_test_at"`
	LastTestOK         *bool      `db:"last_test_ok"`
	LastTestMessage    string     `db:"last_test_message"`
	LookupError        string     `db:"lookup_error"`
	LookupsPausedUntil *time.Time `db:"lookups_paused_until"`
	LastLookupAt       *time.Time `db:"last_lookup_at"`
	LastLookupOK       *bool      `db:"last_lookup_ok"`
	LastLookupMessage  string     `db:"last_lookup_message"`
}

// How a stored event was routed when it arrived.
const (
	InboundPending = "pending" // queued for processing
	InboundIgnored = "ignored" // stored and counted, not scored
)

// NewInboundEvent is an event about to be stored by an endpoint.
type NewInboundEvent struct {
	EventID    string
	EventType  string
	OccurredAt time.Time
	Payload    []byte
	State      string // pending, or ignored for types that are stored but not scored
}

// NewReject is an undecodable event of an accepted batch.
type NewReject struct {
	Reason string
	Raw    []byte
}

// InboundEvent is a stored event claimed for processing.
type InboundEvent struct {
	WorkspaceID int64     `db:"workspace_id"`
	ID          int64     `db:"id"`
	Source      string    `db:"source"`
	EventID     string    `db:"event_id"`
	EventType   string    `db:"event_type"`
	OccurredAt  time.Time `db:"occurred_at"`
	Payload     string    `db:"payload"`
}

// Identity kinds recognise a lead besides their email.
const (
	IdentityBrazeUser  = "braze_user_id"
	IdentityExternalID = "external_id"
	IdentityPhone      = "phone"
)

// Identity links an identifier to a lead.
type Identity struct {
	Kind   string `db:"kind"`
	Value  string `db:"value"`
	LeadID int64  `db:"lead_id"`
}

// ActivityRow is an activity to store.
type ActivityRow struct {
	LeadID         int64 // 0: a browser's activity before its person is known
	VisitorID      int64 // the browser, for web activities
	InboundEventID int64
	OccurredAt     time.Time
	Source         string
	EventType      string
	Name           string
	CampaignID     string
	CampaignName   string
	CanvasID       string
	CanvasName     string
	URL            string
	Properties     json.RawMessage
}

// Activity is a stored activity on a lead's timeline.
type Activity struct {
	WorkspaceID  int64           `db:"workspace_id"`
	ID           int64           `db:"id"`
	LeadID       int64           `db:"lead_id"`
	OccurredAt   time.Time       `db:"occurred_at"`
	Source       string          `db:"source"`
	EventType    string          `db:"event_type"`
	Name         string          `db:"name"`
	CampaignID   string          `db:"campaign_id"`
	CampaignName string          `db:"campaign_name"`
	CanvasID     string          `db:"canvas_id"`
	CanvasName   string          `db:"canvas_name"`
	URL          string          `db:"url"`
	Properties   json.RawMessage `db:"properties"`
}

// Waiting records why an event cannot become an activity yet.
type Waiting struct {
	EventID        int64
	BrazeUserID    string
	ExternalUserID string
	Phone          string
	Reason         string
}

// Braze lookup kinds and states.
const (
	LookupExternalID = "external_id"
	LookupBrazeID    = "braze_id"
	LookupPhone      = "phone"

	LookupPending  = "pending"
	LookupFound    = "found"
	LookupNoEmail  = "no_email"
	LookupNotFound = "not_found"
)

// BrazeLookup is one identifier to resolve through /users/export/ids.
type BrazeLookup struct {
	WorkspaceID int64  `db:"workspace_id"`
	ID          int64  `db:"id"`
	Kind        string `db:"kind"`
	Value       string `db:"value"`
	State       string `db:"state"`
	Attempts    int    `db:"attempts"` // failed claims in a row
	Asked       int    `db:"asked"`    // questions Braze answered
}

// LeadProfile is what a Braze lookup tells about a person.
type LeadProfile struct {
	Email            string
	FirstName        string
	LastName         string
	Phone            string
	Country          string
	TimeZone         string
	Company          string
	Title            string // from a job_title (or title) custom attribute
	Industry         string // from an industry custom attribute
	CompanySize      *int   // from a company_size (or employees) custom attribute
	CustomAttributes json.RawMessage
}

// Counter is an increment of a status-panel metric.
type Counter struct {
	WorkspaceID int64
	Hour        time.Time
	Metric      string
	EventType   string
	Count       int64
}

// Ingest metrics counted per hour.
const (
	MetricReceived        = "received"
	MetricDuplicate       = "duplicate"
	MetricRejectedEvent   = "rejected_event"
	MetricRejectedAuth    = "rejected_auth"
	MetricRejectedRequest = "rejected_request"
	MetricLookupError     = "lookup_error"
	MetricProcessed       = "processed"
	MetricWebIgnored      = "web_ignored" // website hits not stored; the event type is the reason
)
