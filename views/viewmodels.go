// Package views holds the templ components and the view models they render. Templates never
// touch the database; handlers build these structs.
package views

import "time"

// Chrome is what the application layout needs on every signed-in page.
type Chrome struct {
	Title           string
	Section         string // "leads", "settings"
	CSRF            string
	UserName        string
	UserEmail       string
	RoleLabel       string
	WorkspaceName   string
	CanSettings     bool
	CanIntegrations bool
	Flashes         []Flash
}

// Flash is a one-time message shown at the top of a page.
type Flash struct {
	Kind    string // "success", "error", "info"
	Message string
}

// FormErrors maps a field name to its message.
type FormErrors map[string]string

// SignupForm is the sign-up page's state.
type SignupForm struct {
	CSRF      string
	Workspace string
	Name      string
	Email     string
	Errors    FormErrors
	Message   string
	FirstRun  bool
}

// LoginForm is the login page's state.
type LoginForm struct {
	CSRF      string
	Email     string
	Next      string
	Message   string
	SignupURL string // shown when sign-up is open
	Flashes   []Flash
}

// ForgotForm is the "forgot your password" page's state.
type ForgotForm struct {
	CSRF    string
	Email   string
	Errors  FormErrors
	Sent    bool // the request was taken: the page says what happens next
	EmailOn bool // this server sends email
}

// ResetForm is the page that sets a new password through a reset link.
type ResetForm struct {
	CSRF          string
	Action        string
	WorkspaceName string
	Message       string // the link does not work: why
	Errors        FormErrors
}

// EmailSettingsView is Settings › Email.
type EmailSettingsView struct {
	EmailOn    bool
	Server     string // the mail server and sender address
	TestTo     string
	Deliveries []DeliveryRow
}

// DeliveryRow is a line of the delivery log.
type DeliveryRow struct {
	ID         int64
	When       string
	Kind       string
	Recipient  string
	Subject    string
	State      string // queued, sent, failed
	Attempts   int
	Error      string
	Resendable bool
}

// JoinForm is the invitation acceptance page's state.
type JoinForm struct {
	CSRF          string
	Action        string
	WorkspaceName string
	Email         string
	RoleLabel     string
	Name          string
	Errors        FormErrors
	Message       string // set when the invitation itself is unusable
}

// LeadRow is one line of the lead list.
type LeadRow struct {
	ID           int64
	Name         string
	Email        string
	Company      string
	Title        string
	AccountID    int64
	Activities   int
	LastActivity string
	Score        string
	Grade        string
	Temperature  string
	Labels       []LabelChip
	Owner        string
	Rising       bool        // more activity this week than the weeks before: an arrow, not a band
	Cells        []CardValue // the published lead card's fields, for the list
}

// Paging places a page within a list and links to its neighbours.
type Paging struct {
	Page, Pages      int
	PrevURL, NextURL string
}

// LeadsView is the lead list page.
type LeadsView struct {
	Columns    []CardColumn // the published lead card's fields
	Rows       []LeadRow
	Total      int
	Capped     bool // Total is a lower bound
	Paging     Paging
	Query      string
	Filtered   bool // any filter is set
	CanConnect bool // the viewer may set up integrations
	CanInvite  bool // the viewer may invite people

	Sort            string
	MainScore       string
	ScoreSorts      []FilterOption
	AllLabels       []LabelChip
	Labels          []string
	Grades          []string
	Temps           []string
	Min, Max        string
	Owner           string
	Active          string
	Account         string
	AccountID       int64
	CSVURL          string
	TemperatureHelp string
	// SortLinks are the column headers' links (score, grade, temperature, activity).
	SortLinks map[string]string
	// Problems are filter values that could not be used, by field (min, max), in words.
	Problems map[string]string
	// FilterSummary names the filters in force, for "no lead matches".
	FilterSummary []string
	// WorkspaceSlug is what `peregrine demo --workspace` takes.
	WorkspaceSlug string
}

// UserRow is one member of the workspace on the users page.
type UserRow struct {
	ID        int64
	Name      string
	Email     string
	Role      string
	RoleLabel string
	Active    bool
	IsSelf    bool
	LastLogin string
}

// InvitationRow is a pending invitation.
type InvitationRow struct {
	ID        int64
	Email     string
	RoleLabel string
	Expires   string
}

// RoleOption describes a role in selects.
type RoleOption struct {
	Value, Label, Description string
}

// UsersView is Settings › Users.
type UsersView struct {
	Users       []UserRow
	Invitations []InvitationRow
	Roles       []RoleOption
	InviteEmail string
	InviteRole  string
	Errors      FormErrors
	InviteLink  string // shown once, right after creating an invitation
}

// WorkspaceView is Settings › Workspace.
type WorkspaceView struct {
	Name       string
	Slug       string
	PublicURL  string
	DefaultURL string
	Errors     FormErrors
}

// ErrorView is a friendly error page.
type ErrorView struct {
	Status   int
	Title    string
	Message  string
	SignedIn bool
	Chrome   Chrome // the app's frame, for a signed-in person
}

// FormatTime renders a time for tables, in UTC.
func FormatTime(t *time.Time) string { return FormatTimeIn(t, time.UTC) }

// FormatTimeIn renders a time for tables in a person's time zone, naming the zone.
func FormatTimeIn(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "—"
	}
	return t.In(loc).Format("Jan 2, 2006 15:04 MST")
}

// ProfileView is the signed-in person's own page (/account).
type ProfileView struct {
	Email         string
	RoleLabel     string
	WorkspaceName string
	Errors        FormErrors
	Message       string // why the form was not accepted
	Sessions      []SessionRow
	TimeZone      string   // the person's setting; empty: the browser's
	BrowserZone   string   // what the browser says (the tz cookie)
	Zones         []string // common zones to pick from
	Alerts        []MyAlert
	Digest        string
	QuietFrom     string // local hour, "" for none
	QuietTo       string
}

// SessionRow is a browser where the person is signed in.
type SessionRow struct {
	ID       int64
	Device   string
	IP       string
	LastSeen string
	Started  string
	Current  bool
}
