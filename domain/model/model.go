// Package model holds the plain data types shared by the domain, the store and the handlers.
package model

import (
	"strings"
	"time"

	"github.com/lib/pq"
)

// Role decides what a user may see and change.
type Role string

// The three roles of a workspace.
const (
	RoleAdmin    Role = "admin"
	RoleMarketer Role = "marketer"
	RoleSales    Role = "sales"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleMarketer, RoleSales}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleMarketer || r == RoleSales
}

// Label is the role's name as people read it.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Admin"
	case RoleMarketer:
		return "Marketer"
	case RoleSales:
		return "Sales"
	}
	return string(r)
}

// Describe says in one sentence what the role may do.
func (r Role) Describe() string {
	switch r {
	case RoleAdmin:
		return "Everything, including users and workspace settings."
	case RoleMarketer:
		return "Integrations and scoring rules, plus the lead lists."
	case RoleSales:
		return "Lead and account lists and lead pages."
	}
	return ""
}

// Permission names something a role may do.
type Permission int

// Permissions checked by the web layer.
const (
	PermViewLeads Permission = iota
	PermManageMarketing
	PermManageSettings
)

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	switch p {
	case PermViewLeads:
		return r.Valid()
	case PermManageMarketing:
		return r == RoleAdmin || r == RoleMarketer
	case PermManageSettings:
		return r == RoleAdmin
	}
	return false
}

// Workspace is a tenant: one company using Peregrine.
type Workspace struct {
	ID        int64     `db:"id"`
	Slug      string    `db:"slug"`
	Name      string    `db:"name"`
	PublicURL string    `db:"public_url"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
	// SalesAccess is what its sales users see: "all" leads or only their "own".
	SalesAccess string `db:"sales_access"`
}

// User is a person who signs in to a workspace.
type User struct {
	WorkspaceID  int64      `db:"workspace_id"`
	ID           int64      `db:"id"`
	Email        string     `db:"email"`
	Name         string     `db:"name"`
	Role         Role       `db:"role"`
	PasswordHash string     `db:"password_hash"`
	Active       bool       `db:"active"`
	CreatedAt    time.Time  `db:"created_at"`
	LastLoginAt  *time.Time `db:"last_login_at"`
	TimeZone     string     `db:"time_zone"` // IANA name; empty: the browser's
	// Digest is daily, weekly or off; QuietFrom/QuietTo are local hours in which alerts by
	// email wait (nil: none).
	Digest       string     `db:"digest"`
	QuietFrom    *int       `db:"quiet_from"`
	QuietTo      *int       `db:"quiet_to"`
	LastDigestAt *time.Time `db:"last_digest_at"`
}

// Alert delivery modes a person chooses per alert rule.
const (
	AlertImmediate = "immediate"
	AlertDigest    = "digest"
	AlertOff       = "off"
)

// Session is a signed-in browser. The browser holds the token; only its keyed hash is
// stored. Data holds the session's sealed one-time values and flashes.
type Session struct {
	WorkspaceID int64     `db:"workspace_id"`
	ID          int64     `db:"id"`
	UserID      int64     `db:"user_id"`
	TokenHash   []byte    `db:"token_hash"`
	Data        []byte    `db:"data"`
	CreatedAt   time.Time `db:"created_at"`
	LastSeenAt  time.Time `db:"last_seen_at"`
	ExpiresAt   time.Time `db:"expires_at"`
	UserAgent   string    `db:"user_agent"`
	IP          string    `db:"ip"`
}

// Invitation lets a person join a workspace with a given role.
type Invitation struct {
	WorkspaceID int64      `db:"workspace_id"`
	ID          int64      `db:"id"`
	Email       string     `db:"email"`
	Role        Role       `db:"role"`
	TokenHash   []byte     `db:"token_hash"`
	InvitedBy   int64      `db:"invited_by"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   time.Time  `db:"expires_at"`
	AcceptedAt  *time.Time `db:"accepted_at"`
	RevokedAt   *time.Time `db:"revoked_at"`
}

// Pending reports whether the invitation can still be accepted at now.
func (i Invitation) Pending(now time.Time) bool {
	return i.AcceptedAt == nil && i.RevokedAt == nil && now.Before(i.ExpiresAt)
}

// Lead is a person sales may contact.
type Lead struct {
	WorkspaceID    int64      `db:"workspace_id"`
	ID             int64      `db:"id"`
	Email          string     `db:"email"`
	FirstName      string     `db:"first_name"`
	LastName       string     `db:"last_name"`
	Company        string     `db:"company"`
	CreatedAt      time.Time  `db:"created_at"`
	LastActivityAt *time.Time `db:"last_activity_at"`

	Phone            string     `db:"phone"`
	Country          string     `db:"country"`
	TimeZone         string     `db:"time_zone"`
	CustomAttributes []byte     `db:"custom_attributes"`
	AccountID        *int64     `db:"account_id"`
	FirstActivityAt  *time.Time `db:"first_activity_at"`
	ActivityCount    int        `db:"activity_count"`
	UpdatedAt        time.Time  `db:"updated_at"`
	// AccountDomain is the company domain of the lead's account, when listed with it.
	AccountDomain *string `db:"account_domain"`

	Title       string         `db:"title"`
	OwnerName   string         `db:"owner_name"`
	OwnerEmail  string         `db:"owner_email"`
	MainScore   float64        `db:"main_score"`
	FitPoints   float64        `db:"fit_points"`
	Grade       string         `db:"grade"`
	Temperature string         `db:"temperature"`
	Labels      pq.StringArray `db:"labels"`
	FitRules    pq.Int64Array  `db:"fit_rules"` // the grade rules that gave it fit points
	Rising      bool           `db:"rising"`
	Status      string         `db:"status"`        // its lead status (set in Peregrine or pulled from Salesforce)
	Source      string         `db:"lead_source"`   // where it came from
	OwnerUserID *int64         `db:"owner_user_id"` // the Peregrine user who owns it
}

// Delivery channels and kinds (deliveries.channel, deliveries.kind).
const (
	ChannelEmail = "email"

	DeliveryInvitation    = "invitation"
	DeliveryPasswordReset = "password_reset"
	DeliveryTest          = "test"
	DeliveryDigest        = "digest"
	DeliveryReport        = "report" // a scheduled attribution report
)

// Delivery states.
const (
	DeliveryQueued = "queued"
	DeliverySent   = "sent"
	DeliveryFailed = "failed"
)

// Delivery is one message Peregrine sends, as its log shows it; Message is sealed.
type Delivery struct {
	WorkspaceID int64      `db:"workspace_id"`
	ID          int64      `db:"id"`
	Channel     string     `db:"channel"`
	Kind        string     `db:"kind"`
	Recipient   string     `db:"recipient"`
	Subject     string     `db:"subject"`
	Message     []byte     `db:"message"`
	State       string     `db:"state"`
	Attempts    int        `db:"attempts"`
	Error       string     `db:"error"`
	CreatedBy   *int64     `db:"created_by"`
	CreatedAt   time.Time  `db:"created_at"`
	FinishedAt  *time.Time `db:"finished_at"`
	ChannelID   *int64     `db:"channel_id"` // the alert channel (Slack, webhook)
	AlertID     *int64     `db:"alert_id"`
	RunAfter    *time.Time `db:"-"` // when queued: not before (quiet hours)
}

// PasswordReset is a single-use link to set a new password; only its token's hash is kept.
type PasswordReset struct {
	WorkspaceID int64      `db:"workspace_id"`
	ID          int64      `db:"id"`
	UserID      int64      `db:"user_id"`
	TokenHash   []byte     `db:"token_hash"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   time.Time  `db:"expires_at"`
	UsedAt      *time.Time `db:"used_at"`
}

// AlertRule is an alert rule as stored; Definition is alerts.Definition as JSON.
type AlertRule struct {
	WorkspaceID int64      `db:"workspace_id"`
	ID          int64      `db:"id"`
	Name        string     `db:"name"`
	Enabled     bool       `db:"enabled"`
	Definition  []byte     `db:"definition"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
	LastFiredAt *time.Time `db:"last_fired_at"`
	SentWeek    int        `db:"sent_week"`   // alerts sent in the last 7 days
	FoldedWeek  int        `db:"folded_week"` // matches folded by the throttle in the last 7 days
}

// Alert channel kinds.
const (
	ChannelSlack   = "slack"
	ChannelWebhook = "webhook"
	DeliveryAlert  = "alert"
)

// AlertChannel is a Slack incoming webhook or a webhook endpoint; URL and Secret are sealed.
type AlertChannel struct {
	WorkspaceID    int64      `db:"workspace_id"`
	ID             int64      `db:"id"`
	Kind           string     `db:"kind"`
	Name           string     `db:"name"`
	URL            []byte     `db:"url"`
	URLHint        string     `db:"url_hint"`
	Secret         []byte     `db:"secret"`
	DisabledReason string     `db:"disabled_reason"`
	DisabledAt     *time.Time `db:"disabled_at"`
	NextSendAt     time.Time  `db:"next_send_at"`
	LastSentAt     *time.Time `db:"last_sent_at"`
	CreatedAt      time.Time  `db:"created_at"`
}

// Alert is one time an alert rule matched a lead.
type Alert struct {
	WorkspaceID int64     `db:"workspace_id"`
	ID          int64     `db:"id"`
	RuleID      int64     `db:"rule_id"`
	RuleName    string    `db:"rule_name"`
	LeadID      int64     `db:"lead_id"`    // 0 for an account's alert
	AccountID   int64     `db:"account_id"` // 0 for a lead's alert
	Reason      string    `db:"reason"`
	Folded      bool      `db:"folded"`
	CreatedAt   time.Time `db:"created_at"`
}

// SplitActivityName separates an activity name's bracketed source, "[Website] Visited
// /pricing" → "Website", "Visited /pricing"; a name without one has no category.
func SplitActivityName(name string) (category, rest string) {
	if strings.HasPrefix(name, "[") {
		if end := strings.Index(name, "] "); end > 0 {
			return name[1:end], name[end+2:]
		}
	}
	return "", name
}
