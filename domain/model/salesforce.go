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
