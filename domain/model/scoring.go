package model

import (
	"encoding/json"
	"time"
)

// RuleDef is a rule as stored: its whole JSON plus the columns lists sort and filter by.
type RuleDef struct {
	Name       string
	Kind       string
	Enabled    bool
	Definition json.RawMessage // the rules.Rule JSON
	ScoreName  string          // the score a score rule changes, created when new
	// ActivityFilter is what one of a lead's activities must look like for a score rule to
	// match (rules.ActivityFilter JSON); nil when nothing can be derived.
	ActivityFilter json.RawMessage
}

// StoredRule is a rule of a workspace.
type StoredRule struct {
	WorkspaceID int64 `db:"workspace_id"`
	ID          int64 `db:"id"`
	Version     int   `db:"version"`
	// MatchVersion is the version since which the rule matches the same activities and
	// shares its points out the same way (only points, expiry or half-life changed since).
	MatchVersion  int             `db:"match_version"`
	Position      int             `db:"position"`
	Name          string          `db:"name"`
	Kind          string          `db:"kind"`
	Enabled       bool            `db:"enabled"`
	Definition    json.RawMessage `db:"definition"`
	CreatedAt     time.Time       `db:"created_at"`
	UpdatedAt     time.Time       `db:"updated_at"`
	LastMatchedAt *time.Time      `db:"last_matched_at"`
	LeadsMatched  int             `db:"leads_matched"`
}

// ScoreName is a named score of a workspace.
type ScoreName struct {
	ID     int64  `db:"id"`
	Name   string `db:"name"`
	Rollup string `db:"rollup"` // sum, max, decayed_sum or top3
	IsMain bool   `db:"is_main"`
}

// Account roll-ups.
const (
	RollupSum        = "sum"
	RollupMax        = "max"
	RollupDecayedSum = "decayed_sum"
	RollupTop3       = "top3" // the three highest people
)

// EventPropertyKey is an event property the rule builder offers.
type EventPropertyKey struct {
	Key     string `db:"key"`
	Type    string `db:"type"`
	Builtin bool   `db:"builtin"`
}

// RescoreJob re-applies the rules to every lead after a rule change.
type RescoreJob struct {
	WorkspaceID  int64  `db:"workspace_id"`
	ID           int64  `db:"id"`
	State        string `db:"state"`
	Reason       string `db:"reason"`
	RulesVersion int64  `db:"rules_version"`
	Total        int    `db:"total"`
	Done         int    `db:"done"`
	AfterLeadID  int64  `db:"after_lead_id"`
	// LeadFilter limits the job to leads with a matching activity (rules.ActivityFilter
	// JSON); nil: every lead.
	LeadFilter []byte     `db:"lead_filter"`
	Error      string     `db:"error"`
	CreatedAt  time.Time  `db:"created_at"`
	StartedAt  *time.Time `db:"started_at"`
	FinishedAt *time.Time `db:"finished_at"`
}

// ScoringLead is what scoring reads of a lead: its profile, account and stored results.
type ScoringLead struct {
	ID               int64    `db:"id"`
	Email            string   `db:"email"`
	FirstName        string   `db:"first_name"`
	LastName         string   `db:"last_name"`
	Title            string   `db:"title"`
	Country          string   `db:"country"`
	Industry         string   `db:"industry"`
	CompanySize      *int     `db:"company_size"`
	LeadSource       string   `db:"lead_source"`
	Status           string   `db:"status"`
	OwnerName        string   `db:"owner_name"`
	OwnerEmail       string   `db:"owner_email"`
	CustomAttributes []byte   `db:"custom_attributes"`
	AccountID        *int64   `db:"account_id"`
	AccountDomain    *string  `db:"account_domain"`
	AccountName      *string  `db:"account_name"`
	AccountIndustry  *string  `db:"account_industry"`
	AccountEmployees *int     `db:"account_employees"`
	Labels           []string `db:"-"`
	// The exact activity summary (lead_activity), as the activities are stored; Shown is the
	// copy on the lead's row, which scoring brings up to date.
	LastActivityAt  *time.Time `db:"last_activity_at"`
	FirstActivityAt *time.Time `db:"first_activity_at"`
	ActivityCount   int        `db:"activity_count"` // how much history scoring reads
	Shown           ActivitySummary
	Grade           string     `db:"grade"`
	MainScore       float64    `db:"main_score"`
	FitPoints       float64    `db:"fit_points"`
	FitRules        []int64    `db:"-"` // the grade rules it matched when last scored
	Heat            float64    `db:"heat"`
	Rising          bool       `db:"rising"`
	Temperature     string     `db:"temperature"`
	RefreshAt       *time.Time `db:"refresh_at"`
	// The stored scoring state (lead_scoring_state), empty when the lead was never scored.
	StateVersion *int64 `db:"state_version"`
	StateHash    *int64 `db:"state_hash"`
	State        []byte `db:"state"`
	// Scores are the stored lead_scores by score id.
	Scores map[int64]float64 `db:"-"`
}

// Contribution is a lead's current points from one rule version for one activity: the sum
// of its ledger lines.
type Contribution struct {
	LeadID      int64     `db:"lead_id"`
	RuleID      int64     `db:"rule_id"`
	RuleVersion int       `db:"rule_version"`
	ActivityID  int64     `db:"activity_id"`
	ScoreID     int64     `db:"score_id"`
	EarnedAt    time.Time `db:"earned_at"`
	Points      float64   `db:"points"`
}

// LedgerLine is one change of a lead's score or label.
type LedgerLine struct {
	LeadID      int64      `db:"lead_id"`
	ID          int64      `db:"id"`
	Kind        string     `db:"kind"` // score or label
	ScoreID     *int64     `db:"score_id"`
	Label       string     `db:"label"`
	RuleID      int64      `db:"rule_id"`
	RuleVersion int        `db:"rule_version"`
	ActivityID  *int64     `db:"activity_id"`
	EarnedAt    *time.Time `db:"earned_at"`
	Delta       float64    `db:"delta"`
	Before      float64    `db:"before"`
	After       float64    `db:"after"`
	CreatedAt   time.Time  `db:"created_at"`
	// Covers lists, for a line of several activities' points (ActivityID nil), each
	// activity's; Activities is how many activities a read line covers.
	Covers     []Covered `db:"-"`
	Activities int       `db:"activities"`
}

// Covered is one activity's points within a ledger line covering several.
type Covered struct {
	ActivityID int64
	EarnedAt   time.Time
	Delta      float64
}

// LeadScoring is what scoring stores for a lead.
type LeadScoring struct {
	LeadID      int64
	Scores      map[int64]float64 // by score id; missing means 0
	MainScore   float64
	FitPoints   float64
	Grade       string
	FitRules    []int64 // the grade rules matched, in rule order
	Heat        float64
	Rising      bool
	Temperature string
	Labels      []string
	RefreshAt   *time.Time
	Activity    ActivitySummary // copied onto the lead's row with the rest
}

// ActivitySummary is how many activities a lead has, and when its first and last were.
type ActivitySummary struct {
	ActivityCount   int
	FirstActivityAt *time.Time
	LastActivityAt  *time.Time
}

// ScoringWrite is what one scoring pass stores: only what changed.
type ScoringWrite struct {
	Leads  []LeadScoring // leads whose sort columns or activity summary changed (their RefreshAt is not written: see States)
	Scores []LeadScoring // leads' named scores that changed: the new value, 0 where the lead no longer has it
	States []LeadState   // leads whose contributions, rules version, profile or refresh time changed
	Ledger []LedgerLine
	// MainScoreID is the workspace's main score: each pass's ledger row records how it moved
	// it, for the readers of a week of moves (dashboard, digest).
	MainScoreID int64
}

// LeadState is a lead's stored scoring state.
type LeadState struct {
	LeadID       int64
	RulesVersion int64
	ProfileHash  int64
	State        []byte
	RefreshAt    *time.Time // the next time the lead's scoring changes by itself; nil: never
}

// WorkspaceSeed is what a new workspace starts with.
type WorkspaceSeed struct {
	Rules        []RuleDef
	PropertyKeys []EventPropertyKey
}
