package views

// RulesView is the rules list with scores and grade thresholds.
type RulesView struct {
	CSRF     string
	Rules    []RuleRow
	Scores   []ScoreRow
	Grades   []GradeThreshold
	Progress Progress
	Bands    []TemperatureBand
}

// TemperatureBand is a temperature's share of active leads, as set and as it stands.
type TemperatureBand struct {
	Name     string // hot, warm, neutral, cold, frozen
	Share    int    // the share set (percent of active leads); cold is what is left, frozen has none
	Leads    int    // leads in the band now
	Percent  int    // of active leads now (frozen: of all leads)
	Editable bool
}

// RuleRow is one rule in the list.
type RuleRow struct {
	ID          int64
	Name        string
	Kind        string
	Enabled     bool
	Version     int
	Effect      string
	Summary     string
	Color       string
	Emoji       string
	LabelName   string
	Matched     int
	LastMatched string
	First, Last bool
}

// ScoreRow is a named score with its account roll-up.
type ScoreRow struct {
	ID     int64
	Name   string
	Rollup string
	Main   bool
}

// GradeThreshold is the lowest fit points for a grade.
type GradeThreshold struct {
	Grade string
	Min   float64
}

// Progress is the state of the latest re-scoring.
type Progress struct {
	Known   bool
	Running bool
	State   string
	Reason  string
	Done    int
	Total   int
	Percent int
	When    string
}

// BuilderView is the rule builder page. The rule and catalog travel as JSON for the script.
type BuilderView struct {
	CSRF         string
	ID           int64
	Name         string
	Action       string
	RuleJSON     string
	CatalogJSON  string
	ProblemsJSON string
	Message      string
}

// EventPropertiesView is Settings › Event properties.
type EventPropertiesView struct {
	CSRF  string
	Keys  []PropertyRow
	Key   string
	Type  string
	Error string
	Seen  []PropertyRow // keys in the workspace's recent activities that are not listed yet
}

// PropertyRow is one event property key.
type PropertyRow struct {
	Key     string
	Type    string
	Builtin bool
}

// AccountsView is the accounts list.
type AccountsView struct {
	Columns   []CardColumn // the published companies card's fields
	Rows      []AccountRow
	Total     int
	Query     string
	Label     string
	MainScore string
	AllLabels []LabelChip
	Paging    Paging
	CSVURL    string // the same list as a CSV download
	Sort      string // "" is the main score
	SortLinks map[string]string
	Min       string   // main score at least
	Engaged   string   // engaged people at least
	Grades    []string // fit grades filtered on
	Temps     []string // temperatures filtered on
}

// AccountRow is one account in the list.
type AccountRow struct {
	ID          int64
	Domain      string
	Name        string
	Score       string
	People      int
	Engaged     int
	LastActive  string
	Labels      []LabelChip
	Grade       string      // the company's own fit
	Temperature string      // its hottest person's
	Cells       []CardValue // the published companies card's fields
}

// AccountView is an account's page.
type AccountView struct {
	Card        []CardValue // the published companies card
	Grade       string
	Temperature string
	ID          int64
	Domain      string
	Name        string
	Industry    string
	Employees   string
	People      int
	Engaged     int
	Scores      []Pair
	Labels      []LabelChip
	Rows        []LeadRow
	MorePeople  bool
	PeopleURL   string
	Days        []TimelineDay
	Paging      Paging
}

// SalesforceView is Integrations › Salesforce.
type SalesforceView struct {
	Host, MyDomain, Version, ConsumerKey string
	Saved, Connected, Legacy             bool
	Username, OrgID, DisplayName         string
	InstanceURL, ConnectedAt             string
	ProblemCode, ProblemCause            string
	ProblemFix, ProblemAt, PausedUntil   string
	Share, APIUsed, APIMax, APIPercent   int
	APIBudget                            int
	CallbackURL, Scopes                  string
	PasswordUsername                     string
	LegacyOpen                           bool
	Errors                               FormErrors
}

// SalesforceSyncView is Integrations › Salesforce › Sync.
type SalesforceSyncView struct {
	Connected                             bool
	Object, MatchField, Placeholder       string
	GetDetails, CreateMissing             bool
	UpdateExisting, PushOnChange          bool
	ReconcileHours                        int
	MatchOptions                          []FilterOption
	Rows                                  []MappingRow
	Suggestions                           []string
	DescribeError                         string
	Progress                              Progress
	Errors                                FormErrors
	PullEnabled                           bool
	PullObject, PullFilterField, LastPull string
	PullEvery                             int
}

// MappingRow is one Peregrine field and the Salesforce field it maps to.
type MappingRow struct {
	Key, Label, Field, Direction string
	ToOnly                       bool
	Options                      []FilterOption
	Problem, Error               string
}

// SyncLogView is the sync log.
type SyncLogView struct {
	CSRF       string
	FailedOnly bool
	Runs       []SyncRunRow
	RunID      int64
	Records    []SyncRecordRow
	NextURL    string
}

// SyncRunRow is one sync run.
type SyncRunRow struct {
	ID                                       int64
	Kind, When, Error                        string
	Records, Created, Updated, Failed, Calls int
}

// SyncRecordRow is one record's outcome.
type SyncRecordRow struct {
	LeadID                                int64
	Email, Outcome, Message, SalesforceID string
	SalesforceURL                         string
}
