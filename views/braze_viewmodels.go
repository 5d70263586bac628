package views

// InstanceOption is a Braze instance in the endpoint select.
type InstanceOption struct {
	Name, Endpoint string
}

// TokenRow is a Currents token in the list.
type TokenRow struct {
	ID       int64
	Label    string
	Hint     string
	Created  string
	LastUsed string
	Revoked  bool
}

// BrazeView is Integrations › Braze.
type BrazeView struct {
	Connected   bool
	KeyMasked   string
	Instance    string // instance name, or "other"
	OtherURL    string
	Instances   []InstanceOption
	Errors      FormErrors
	TestOK      *bool
	TestMessage string
	TestAt      string
	Tokens      []TokenRow
	NewToken    string // shown once, right after it was generated
	EndpointURL string
	TokenLabel  string
	Status      StatusView
	SetAside    []SetAsideRow // work that kept failing, quarantined
	Health      BrazeHealth
	Writeback   WritebackView
}

// WritebackView is the "Write scores back to Braze" section.
type WritebackView struct {
	Enabled   bool
	Values    []WritebackValue
	LastSent  string
	SentLeads int64
	Requests  int64
	LastError string
	ErrorAt   string
	Refused   []Pair // lead email → why Braze refused it
	Errors    FormErrors
}

// WritebackValue is one value that can go to Braze, and the attribute it goes to.
type WritebackValue struct {
	Key, Label, Attribute string
	On                    bool
}

// BrazeHealth is the last real result of talking to Braze — a test or a lookup, whichever
// came last — for the header's pill and the problem card.
type BrazeHealth struct {
	State   string // "ok", "failing", "paused", "untested"
	Label   string // the pill's words
	Problem string // what went wrong, in Braze's words
	When    string // when, "5 minutes ago"
	Advice  string
}

// SetAsideRow is one quarantined item: what it is, where it failed and why.
type SetAsideRow struct {
	Queue     string // the queue's name, sent back by Retry and Discard
	QueueName string // in words
	ID        int64
	What      string
	Reason    string
	Attempts  int
	When      string
}

// BarRow is one bar of a horizontal bar chart.
type BarRow struct {
	Label   string
	Value   int64
	Percent int
	Muted   bool
	Note    string
}

// Figure is a labelled number on the status panel.
type Figure struct {
	Label string
	Value string
	Tone  string // "", "good", "warn", "bad"
	Hint  string
}

// StatusView is the self-refreshing Currents status panel.
type StatusView struct {
	LastBatch   string
	Figures     []Figure
	Types       []BarRow
	UnusedTypes []string
	Waiting     []BarRow
	Warnings    []string
	UpdatedAt   string
}

// LeadsSearch is the lead list's search state.
type LeadsSearch struct {
	Query string
}

// LeadView is a lead's page.
type LeadView struct {
	Card       []CardValue // the published person card, in the header
	Assign     AssignView
	Fit        FitView
	ID         int64
	Name       string
	Email      string
	Company    string
	Account    string
	Country    string
	TimeZone   string
	Phone      string
	FirstSeen  string
	LastSeen   string
	Activities int
	Identities []Pair
	Attributes []Pair
	Days       []TimelineDay
	Filters    []FilterOption
	Filter     string
	Sources    []FilterOption
	Source     string
	Total      int
	Paging     Paging

	Title           string
	Owner           string
	AccountID       int64
	Grade           string
	FitPoints       string
	FitRuleIDs      []int64
	Temperature     string
	Rising          bool
	TemperatureHelp string
	Labels          []LabelChip
	Scores          []ScoreCard
	Ledger          []LedgerRow

	SalesforceObject, SalesforceID   string
	SalesforceURL, SalesforceFailure string
	// KnownBy says how each identifier and browser came to be this person's.
	KnownBy []KnownBy
	// Links are the lead's tracked links; CanLink says a site exists to link to.
	Links     []TrackedLinkRow
	CanLink   bool
	LinkError string
	LinkValue string
	NewLink   string
}

// LabelChip is a label as shown: name, colour and emoji.
type LabelChip struct {
	Name, Color, Emoji string
}

// ScoreCard is one named score of a lead with its trend and reasons.
type ScoreCard struct {
	Name    string
	Value   string
	Main    bool
	Trend   []float64
	Spark   string // SVG polyline points
	Reasons []Reason
}

// Reason is one rule's share of a score.
type Reason struct {
	Rule     string
	RuleID   int64
	Points   string
	Up       bool
	Events   int
	Examples []Pair // when → activity
}

// LedgerRow is one recent change of a score or label.
type LedgerRow struct {
	When    string
	What    string
	Rule    string
	Version int
	Up      bool
}

// Pair is a labelled value.
type Pair struct {
	Label, Value string
}

// FilterOption is a choice of the timeline filter.
type FilterOption struct {
	Value, Label string
	Count        int64
}

// TimelineDay groups a day's activities.
type TimelineDay struct {
	Day   string
	Items []TimelineItem
}

// TimelineItem is one activity on the timeline.
type TimelineItem struct {
	Time     string
	Name     string
	Category string // the [bracketed] prefix of the name
	Title    string // the name without it
	Type     string
	Source   string
	Context  string // campaign or Canvas
	URL      string // only http(s) links
	Tone     string
	Person   string // on an account's timeline: who did it
	LeadID   int64
}

// FitView explains a lead's grade: the grade rules and the points each gave, and the scale.
type FitView struct {
	Points     string
	Rules      []FitRule
	Thresholds []GradeThreshold
}

// FitRule is a grade rule and whether the lead meets it.
type FitRule struct {
	Name   string
	Points string // "+40"
	Met    bool
}

func count64(n int64) string { return count(int(n)) }

// AssignView is the lead page's status and owner form, with the changes logged.
type AssignView struct {
	Status   string
	Source   string
	OwnerID  string
	Statuses []Option
	Owners   []Option
	Changes  []Pair // when and by whom: what changed
	Error    string
}
