package views

import "strconv"

// AlertsView is the Alerts page: rules, channels and the latest alerts' deliveries.
type AlertsView struct {
	Rules      []AlertRuleRow
	Channels   []ChannelRow
	Deliveries []DeliveryRow
	NewSecret  string // a webhook's signing secret, shown once after adding it
	Channel    ChannelForm
}

// AlertRuleRow is an alert rule in the list.
type AlertRuleRow struct {
	ID         int64
	Name       string
	Summary    string // "When … tell …"
	Enabled    bool
	LastFired  string
	SentWeek   int
	FoldedWeek int
}

// ChannelRow is a Slack webhook or webhook endpoint.
type ChannelRow struct {
	ID             int64
	Kind           string // Slack or Webhook
	Name           string
	Hint           string // where it goes, without the secret part
	Disabled       bool
	DisabledReason string
	LastSent       string
}

// ChannelForm is the form that adds a channel.
type ChannelForm struct {
	Kind, Name, URL string
	Errors          FormErrors
}

// AlertForm is the alert rule form.
type AlertForm struct {
	ID            int64
	Name          string
	Enabled       bool
	Trigger       string
	Label         string
	Score         string
	Threshold     string
	Grade         string
	ActField      string
	ActOp         string
	ActValue      string
	MinGrade      string
	MinScore      string
	Engaged       string // account_engaged: how many people
	Condition     string // narrowing condition, falcon JSON
	CatalogJSON   string // what the builder offers
	Owner         bool
	Users         map[int64]bool
	Emails        string
	Channels      map[int64]bool
	ThrottleHours string
	Errors        FormErrors

	Triggers     []Option
	LabelNames   []string
	ScoreNames   []string
	People       []Option // users: value is the id
	ChannelOpts  []Option
	ActFields    []Option
	ActOps       []Option
	EmailEnabled bool
}

// Option is a choice of a select or a set of boxes.
type Option struct {
	Value, Label string
	Selected     bool
}

func onOff(enabled bool) string {
	if enabled {
		return "disable"
	}
	return "enable"
}

func alertAction(id int64) string {
	if id == 0 {
		return "/alerts"
	}
	return "/alerts/" + i64(id)
}

func parseID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// MyAlert is an alert rule that can reach the signed-in person, with how they get it.
type MyAlert struct {
	RuleID int64
	Name   string
	Why    string // "names you", "for the leads you own"
	Mode   string // immediate, digest, off
}

// UnsubscribeView is the page of an alert email's unsubscribe link.
type UnsubscribeView struct {
	Action    string
	Rule      string
	Workspace string
	Recipient string
	Message   string // the link does not work: why
	Done      bool
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + count(n)
	}
	return count(n)
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}
