package model

import "time"

// Salesforce authentication methods.
const (
	SalesforceOAuth    = "oauth"
	SalesforcePassword = "password"
)

// SalesforceConnection is a workspace's Salesforce settings and tokens (encrypted).
type SalesforceConnection struct {
	WorkspaceID       int64      `db:"workspace_id"`
	LoginHost         string     `db:"login_host"`
	APIVersion        string     `db:"api_version"`
	ConsumerKey       string     `db:"consumer_key"`
	ConsumerSecretEnc []byte     `db:"consumer_secret_enc"`
	AuthMethod        *string    `db:"auth_method"`
	AccessTokenEnc    []byte     `db:"access_token_enc"`
	RefreshTokenEnc   []byte     `db:"refresh_token_enc"`
	PasswordUsername  string     `db:"password_username"`
	PasswordEnc       []byte     `db:"password_enc"`
	InstanceURL       string     `db:"instance_url"`
	IdentityURL       string     `db:"identity_url"`
	Username          string     `db:"username"`
	DisplayName       string     `db:"display_name"`
	OrgID             string     `db:"org_id"`
	ConnectedAt       *time.Time `db:"connected_at"`
	ProblemCode       string     `db:"problem_code"`
	ProblemCause      string     `db:"problem_cause"`
	ProblemFix        string     `db:"problem_fix"`
	ProblemAt         *time.Time `db:"problem_at"`
	PausedUntil       *time.Time `db:"paused_until"`
	APIUsed           *int       `db:"api_used"`
	APIMax            *int       `db:"api_max"`
	APIUsageAt        *time.Time `db:"api_usage_at"`
	APISharePercent   int        `db:"api_share_percent"`
	UpdatedAt         time.Time  `db:"updated_at"`
}

// Connected reports whether tokens are stored.
func (c SalesforceConnection) Connected() bool {
	return c.AuthMethod != nil && len(c.AccessTokenEnc) > 0
}

// SalesforceTokens is what a successful sign-in stores.
type SalesforceTokens struct {
	Method           string
	AccessTokenEnc   []byte
	RefreshTokenEnc  []byte // nil for the password flow
	PasswordUsername string
	PasswordEnc      []byte
	InstanceURL      string
	IdentityURL      string
	Username         string
	DisplayName      string
	OrgID            string
}

// SyncSettings say what is synced with Salesforce.
type SyncSettings struct {
	Object          string     `db:"object"`
	MatchField      string     `db:"match_field"`
	GetDetails      bool       `db:"get_details"`
	CreateMissing   bool       `db:"create_missing"`
	UpdateExisting  bool       `db:"update_existing"`
	PushOnChange    bool       `db:"push_on_change"`
	Placeholder     string     `db:"placeholder"`
	ReconcileHours  int        `db:"reconcile_hours"`
	LastReconcileAt *time.Time `db:"last_reconcile_at"`
	// Pull imports Leads or Contacts changed since PullSince.
	PullEnabled      bool       `db:"pull_enabled"`
	PullObject       string     `db:"pull_object"`
	PullFilterField  string     `db:"pull_filter_field"`
	PullEveryMinutes int        `db:"pull_every_minutes"`
	PullSince        *time.Time `db:"pull_since"`
	PullSinceID      string     `db:"pull_since_id"` // the last record read at PullSince
	LastPullAt       *time.Time `db:"last_pull_at"`
}

// DefaultSyncSettings is what a workspace starts with: Leads by email, create and update.
var DefaultSyncSettings = SyncSettings{Object: "Lead", MatchField: "Email", GetDetails: true, CreateMissing: true,
	UpdateExisting: true, PushOnChange: true, Placeholder: "[not provided]", ReconcileHours: 2, PullObject: "Lead", PullEveryMinutes: 15}

// PulledPerson is a Lead or Contact read from Salesforce. Empty values (nil Employees) are
// not written.
type PulledPerson struct {
	SalesforceID, Email, FirstName, LastName, Title, Company, Industry, Country, OwnerName, OwnerEmail string
	Status                                                                                             string // Lead Status, when the object has one
	Employees                                                                                          *int
	Modified                                                                                           time.Time // SystemModstamp
}

// PullMark is how far a pull has read: records are read in (SystemModstamp, Id) order.
type PullMark struct {
	At time.Time
	ID string
}

// PullTarget is the lead a pulled Salesforce record is compared with.
type PullTarget struct {
	ID            int64     `db:"id"`
	Email         string    `db:"email"`
	FirstName     string    `db:"first_name"`
	LastName      string    `db:"last_name"`
	Company       string    `db:"company"`
	Title         string    `db:"title"`
	Country       string    `db:"country"`
	Industry      string    `db:"industry"`
	CompanySize   *int      `db:"company_size"`
	AccountDomain *string   `db:"account_domain"`
	UpdatedAt     time.Time `db:"updated_at"`
}

// Field mapping directions.
const (
	ToSalesforce   = "to_salesforce"
	FromSalesforce = "from_salesforce"
	BothWays       = "both"
)

// FieldMap maps a Peregrine field to a Salesforce field.
type FieldMap struct {
	PeregrineField  string `db:"peregrine_field"`
	SalesforceField string `db:"salesforce_field"`
	Direction       string `db:"direction"`
}

// OutboxItem is a lead waiting to be pushed, claimed until the lease ends.
type OutboxItem struct {
	LeadID    int64     `db:"lead_id"`
	ChangedAt time.Time `db:"changed_at"`
	Attempts  int       `db:"attempts"`
}

// PushLead is what a push reads of a lead.
type PushLead struct {
	ID          int64  `db:"id"`
	Email       string `db:"email"`
	FirstName   string `db:"first_name"`
	LastName    string `db:"last_name"`
	Company     string `db:"company"`
	Title       string `db:"title"`
	Country     string `db:"country"`
	Grade       string `db:"grade"`
	Temperature string `db:"temperature"`
	Status      string `db:"status"` // the lead status set in Peregrine (Settings › Lead settings)
	// OwnerEmail is the email of the owner given in Peregrine ("" when none was, or the owner
	// came from Salesforce); OwnerSalesforceID the active Salesforce user found with it.
	OwnerEmail        string     `db:"owner_email"`
	OwnerSalesforceID string     `db:"-"`
	MainScore         float64    `db:"main_score"`
	LastActivityAt    *time.Time `db:"last_activity_at"`
	AccountDomain     *string    `db:"account_domain"`
	UpdatedAt         time.Time  `db:"updated_at"`
	Labels            []string   `db:"-"`
	Scores            map[string]float64
	Reasons           string
	// What is known of its Salesforce record.
	SalesforceID string `db:"salesforce_id"`
	ContactID    string `db:"contact_id"` // set once the Lead was converted
	PushedHash   string `db:"pushed_hash"`
	FailedHash   string `db:"failed_hash"`
}

// Sync outcomes of one record.
const (
	SyncCreated   = "created"
	SyncUpdated   = "updated"
	SyncUnchanged = "unchanged"
	SyncFailed    = "failed"
	SyncRetrying  = "retrying"
	SyncImported  = "imported" // pull: a new lead
	SyncEnriched  = "enriched" // pull: an existing lead's profile
	SyncSkipped   = "skipped"  // push: not written, for the reason in the message
)

// SyncOutcome is what happened to one lead in a run.
type SyncOutcome struct {
	LeadID       int64
	Outcome      string
	SalesforceID string
	Message      string
	Hash         string // the values written (created/updated) or refused (failed)
	ContactID    string // the Contact a converted Lead became, written instead of it
	Unlink       bool   // forget the lead's record (deleted in Salesforce, not replaced)
	Retry        bool   // leave in the outbox for another try
	Attempts     int
	ChangedAt    time.Time // the claim's changed_at: a newer change keeps the row
}

// SyncRun is a sync log entry.
type SyncRun struct {
	ID         int64      `db:"id"`
	Kind       string     `db:"kind"`
	StartedAt  time.Time  `db:"started_at"`
	FinishedAt *time.Time `db:"finished_at"`
	Records    int        `db:"records"`
	Created    int        `db:"created"`
	Updated    int        `db:"updated"`
	Failed     int        `db:"failed"`
	APICalls   int        `db:"api_calls"`
	Error      string     `db:"error"`
}

// SyncRecord is one lead's outcome in a run.
type SyncRecord struct {
	LeadID       int64  `db:"lead_id"`
	Email        string `db:"email"`
	Outcome      string `db:"outcome"`
	SalesforceID string `db:"salesforce_id"`
	Message      string `db:"message"`
}
