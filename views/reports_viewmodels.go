package views

// Tab is a link among sibling views of a page.
type Tab struct {
	Key, Label, URL string
	Active          bool
}

// ReportView is the attribution report at /reports.
type ReportView struct {
	NoMilestones bool
	Milestones   []Option
	Milestone    string // its name
	Describe     string // what crossing it means
	Backfilling  bool   // history is still being read
	Dimensions   []Tab
	Dimension    string // its label
	Models       []Option
	ModelLabel   string
	From, To     string // yyyy-mm-dd, in the reader's time zone
	Compare      bool
	PrevFrom     string
	PrevTo       string
	Problems     []string
	Totals       ReportTotals
	Prev         ReportTotals
	Rows         []ReportRowView
	ModelHeads   []string // the six models' short names, for the table
	Selected     int      // the chosen model's column
	Chart        ReportChart
	Days         []DayBar
	DaysMax      int
	CSVURL       string
	ShareURL     string
	Lookback     int
	HalfLife     string
	TopNote      string // when rows were left out of the chart
	MilestoneID  string
	DimensionKey string
	ModelKey     string
}

// ReportTotals are a period's crossings.
type ReportTotals struct {
	Crossings, Leads, Accounts, Credited int
}

// ReportRowView is one dimension value's line.
type ReportRowView struct {
	Value      string
	URL        string // drill-down to its leads
	Leads      int
	Accounts   int
	Crossings  int
	Touches    int
	Credits    []string // per model, in ModelHeads order
	Selected   string
	Prev       string // the previous period's credit of the chosen model, when compared
	Delta      string
	Up, Down   bool
	MedianDays string
	Share      float64 // of the largest credit, 0–100, for the inline bar
}

// ReportChart is what static/js/reports.js draws with Chart.js (the table is its text
// alternative).
type ReportChart struct {
	Labels   []string  `json:"labels"`
	Current  []float64 `json:"current"`
	Previous []float64 `json:"previous,omitempty"`
	Model    string    `json:"model"`
	Period   string    `json:"period"`
	Before   string    `json:"before,omitempty"`
}

// DayBar is one day of the crossings-per-day chart.
type DayBar struct {
	Day    string
	Count  int
	X, H   float64
	Y      float64
	Title  string
	Weekly bool // a tick under the day
}

// CreditedLeadsView is the drill-down of one dimension value.
type CreditedLeadsView struct {
	Value     string
	Dimension string
	Milestone string
	Model     string
	Period    string
	BackURL   string
	Leads     []CreditedLeadRow
}

// CreditedLeadRow is one lead of a drill-down.
type CreditedLeadRow struct {
	ID          int64
	Name        string
	Email       string
	Company     string
	Score       string
	Grade       string
	Temperature string
	CrossedAt   string
	Touches     int
	Credit      string
}

// MilestonesView is the milestones and attribution settings page.
type MilestonesView struct {
	Milestones []MilestoneRowView
	Form       MilestoneForm
	Scores     []Option
	Labels     []string
	Statuses   []string // Salesforce lead statuses seen
	Lookback   string
	HalfLife   string
	Errors     FormErrors
	Scheduled  []ScheduledReport
}

// ScheduledReport is one of the person's report emails.
type ScheduledReport struct {
	ID               int64
	What, When, Last string
}

// MilestoneRowView is one milestone of the list.
type MilestoneRowView struct {
	ID        int64
	Name      string
	Describe  string
	Crossings int
	Leads     int
	Backfill  string // "" when done, else where it stands
	ReportURL string
}

// MilestoneForm is the new-milestone form.
type MilestoneForm struct {
	Name, Kind, Score, Threshold, Label, Grade, Status string
	Errors                                             FormErrors
}

// DashboardView is the home page.
type DashboardView struct {
	Scope        string // whose leads: "All leads", "Your leads"
	ScopeNote    string
	Leads        int
	Temperatures []HBar
	Grades       []HBar
	Scores       []Column
	ScoreTable   []Pair
	NewHot       []DashLeadRow
	NewHotCount  int
	Movers       []DashLeadRow
	Accounts     []DashAccountRow
	ShowPipeline bool
	Events       []Column
	EventTable   []Pair
	EventsTotal  string
	Lag          string
	LagBad       bool
	Pending      int
	Unscored     int
	Integrations []IntegrationStatus
	CanConnect   bool
	HasReports   bool
}

// DashLeadRow is a lead named on the dashboard.
type DashLeadRow struct {
	ID          int64
	Name        string
	Company     string
	Score       string
	Grade       string
	Temperature string
	When        string
	Change      string
	Up          bool
}

// DashAccountRow is an account heating up.
type DashAccountRow struct {
	ID          int64
	Name        string
	Domain      string
	Score       string
	Temperature string
	Active      int
}

// IntegrationStatus is one integration's light: ok (green), bad (red) or off (grey), with
// why and where to act.
type IntegrationStatus struct {
	Name, State, Reason, URL string
	// The overview's: the part's key, what switching it off does, whether this user may, whether
	// it is off, and the work waiting for it.
	Part, Effect   string
	CanSwitch, Off bool
	Waiting        int
}
