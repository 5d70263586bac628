package model

import (
	"time"

	"github.com/lib/pq"
)

// SourceWeb marks stored events that came from the website tracker.
const SourceWeb = "web"

// Site is a website a workspace tracks.
type Site struct {
	WorkspaceID    int64          `db:"workspace_id"`
	ID             int64          `db:"id"`
	Key            string         `db:"key"`
	Name           string         `db:"name"`
	Origins        pq.StringArray `db:"origins"`
	RequireConsent bool           `db:"require_consent"`
	HonourDNT      bool           `db:"honour_dnt"`
	ExcludedIPs    pq.StringArray `db:"excluded_ips"`
	RetentionDays  int            `db:"retention_days"`
	LinkDays       int            `db:"link_days"`
	CreatedAt      time.Time      `db:"created_at"`
	// Paused: the workspace switched website tracking off (read by SiteByKey only).
	Paused bool `db:"paused"`
}

// OriginSeen is the last hit from one origin of a site ("check installation").
type OriginSeen struct {
	SiteID    int64     `db:"site_id"`
	Origin    string    `db:"origin"`
	LastHitAt time.Time `db:"last_hit_at"`
	Hits      int64     `db:"hits"`
}

// Visitor is a browser seen by the tracker.
type Visitor struct {
	ID       int64  `db:"id"`
	Key      string `db:"key"`
	LeadID   *int64 `db:"lead_id"`
	Internal bool   `db:"internal"`
}

// VisitorSeen is a browser's hit in a batch being processed.
type VisitorSeen struct {
	Key    string
	SiteID int64
	At     time.Time
}

// Why a browser was tied to a person.
const (
	LinkForm        = "form"
	LinkBrazeLink   = "braze_link"
	LinkTrackedLink = "tracked_link"
	LinkAPI         = "api"
	LinkCLI         = "cli"
	LinkSegment     = "segment"
)

// IdentityLink ties a browser to a lead.
type IdentityLink struct {
	ID             int64  `db:"id"`
	VisitorID      int64  `db:"visitor_id"`
	LeadID         int64  `db:"lead_id"`
	Reason         string `db:"reason"`
	Detail         string `db:"detail"`
	ReplacedLeadID *int64 `db:"replaced_lead_id"`
	// IdentifiedAt is when the identifying hit was sent, by the browser's clock (zero: not
	// known, as for Segment and the API). It orders identifications that reach the server
	// out of order (see Relink).
	IdentifiedAt time.Time `db:"-"`
	// Until is the browser's next standing identification after IdentifiedAt (zero: none).
	// A link with one arrived late: it takes the hits sent up to it, and the browser stays
	// with its current person.
	Until time.Time `db:"-"`
	// Late: an identification older than the browser's current one arrived after it; it took
	// the hits sent between the two, and the browser stayed with ReplacedLeadID.
	Late      bool       `db:"late"`
	CreatedAt time.Time  `db:"created_at"`
	UndoneAt  *time.Time `db:"undone_at"`
	// For the lead page: the other person involved in a conflict, and the activities the
	// browser brought.
	ReplacedEmail string `db:"replaced_email"`
	Activities    int    `db:"activities"`
	VisitorKey    string `db:"visitor_key"`
}

// MovedActivity is an activity that changed hands between a browser and a lead.
type MovedActivity struct {
	ID         int64     `db:"id"`
	OccurredAt time.Time `db:"occurred_at"`
	From       int64     `db:"from_lead"` // the lead it was taken from (0: the browser's)
}

// BrowserLink is a standing identification of a browser: from At (the browser's clock when
// known, else when the link was made) its hits are LeadID's, until its next one.
type BrowserLink struct {
	VisitorID int64     `db:"visitor_id"`
	LeadID    int64     `db:"lead_id"`
	At        time.Time `db:"at"`
	Clocked   bool      `db:"clocked"` // At is the browser's clock, comparable with its hits' times
}

// Relink is what tying a browser to a lead did: the stored activities that became the lead's
// (to be scored), and whether the browser now belongs to the lead. A browser's hits can
// reach the server out of order, so an identification with the browser's time (Since)
// takes the hits the browser sent from then until its next identification (Until, zero:
// none), from whoever they went to; the browser stays with its current person when that
// identification is newer (Current false).
type Relink struct {
	Moved   []MovedActivity
	Current bool
	Since   time.Time // zero: the link takes no one's activities
	Until   time.Time
}

// Takes reports whether a lead's activity of the browser, at t, is the new lead's.
func (r Relink) Takes(t time.Time) bool {
	return !r.Since.IsZero() && !t.Before(r.Since) && (r.Until.IsZero() || t.Before(r.Until))
}

// TrackedLink is a link a rep sends to a lead.
type TrackedLink struct {
	WorkspaceID int64      `db:"workspace_id"`
	ID          int64      `db:"id"`
	Token       string     `db:"token"`
	LeadID      int64      `db:"lead_id"`
	SiteID      int64      `db:"site_id"`
	Target      string     `db:"target"`
	CreatedBy   *int64     `db:"created_by"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   time.Time  `db:"expires_at"`
	Clicks      int        `db:"clicks"`
	LastClickAt *time.Time `db:"last_click_at"`
}
