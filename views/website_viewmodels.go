package views

// WebsiteView is Integrations › Website: the workspace's tracked sites.
type WebsiteView struct {
	Sites []SiteView
	// New is the add-a-site form (kept with its errors when it was refused).
	New SiteForm
	// Ignored counts hits not stored in the last 7 days, by reason; Received those stored.
	Ignored  []BarRow
	Received int64
	// ScriptKB is the tracker's gzipped size, shown to reassure about page weight.
	ScriptKB string
}

// SiteView is one tracked site.
type SiteView struct {
	ID      int64
	Name    string
	Key     string
	Snippet string
	Origins []OriginView
	Form    SiteForm
}

// OriginView is the installation check of one allowed origin.
type OriginView struct {
	Origin    string
	Seen      bool
	LastHit   string
	Hits      int64
	IgnoreURL string // opens the site with ?pgr_ignore=1: this browser stops being tracked
}

// SiteForm is a site's settings as entered.
type SiteForm struct {
	Name           string
	Origins        string // one per line
	ExcludedIPs    string // one per line
	RequireConsent bool
	HonourDNT      bool
	RetentionDays  string
	LinkDays       string
	Errors         FormErrors
}

// apiHint explains the tracker's JavaScript API in one sentence.
const apiHint = "Then call peregrine('identify', {email}) when you know who the visitor is, peregrine('track', 'Name', {…}) " +
	"to send your own events, and peregrine('consent', true) from your consent banner."

// KnownBy is one way the lead's identity was learnt, for "How we know this person".
type KnownBy struct {
	LinkID   int64 // an identity link that can be undone; 0 for Braze identifiers
	Reason   string
	Detail   string
	When     string
	Browser  string // a short form of the browser's id
	Acts     int
	Undone   string // when it was undone, if it was
	Conflict string // the other person involved, when this browser changed hands
	CanUndo  bool
}

// TrackedLinkRow is a rep's tracked link on the lead page.
type TrackedLinkRow struct {
	URL     string
	Target  string
	Clicks  int
	Expires string
	Expired bool
}

// SegmentView is Integrations › Segment.
type SegmentView struct {
	EndpointURL string
	Tokens      []TokenRow
	NewToken    string
	TokenLabel  string
	HasSecret   bool
	SecretHint  string
	Counts      []Pair // messages received in 24 hours, by type
	Errors      FormErrors
}
