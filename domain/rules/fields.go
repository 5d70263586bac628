package rules

// Type is the kind of value a field holds; it decides the operators offered.
type Type string

// Field value types.
const (
	String Type = "string"
	Number Type = "number"
	Bool   Type = "boolean"
	Date   Type = "date"
	// Dynamic is an event property or custom attribute: typed by the operator chosen.
	Dynamic Type = "dynamic"
	// Count is event.count: a number of events matching a nested group.
	Count Type = "count"
)

// Field is one thing a condition can test.
type Field struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Group string `json:"group"` // the builder's grouped list
	Type  Type   `json:"type"`
	// Needs names the extra key the condition must carry (property, attribute, score).
	Needs string `json:"needs,omitempty"`
	// EventLevel fields describe one event and are allowed inside event.count's where.
	EventLevel bool `json:"event_level,omitempty"`
	// Property is the activity property a website field reads; such fields match only
	// activities from the website tracker and tracked links.
	Property string `json:"-"`
}

// Fields lists every field, in the order the builder shows them.
var Fields = []Field{
	{Name: "event.name", Label: "Event name", Group: "Custom event", Type: String, EventLevel: true},
	{Name: "event.type", Label: "Braze event type", Group: "Custom event", Type: String, EventLevel: true},
	{Name: "event.source", Label: "Source", Group: "Custom event", Type: String, EventLevel: true},
	{Name: "event.time", Label: "Event time", Group: "Custom event", Type: Date, EventLevel: true},
	{Name: "event.property", Label: "Event property", Group: "Event property", Type: Dynamic, Needs: "property", EventLevel: true},
	{Name: "event.count", Label: "Number of events", Group: "Event count", Type: Count},
	{Name: "web.path", Label: "Page path", Group: "Website", Type: String, EventLevel: true, Property: "path"},
	{Name: "web.url", Label: "Page URL", Group: "Website", Type: String, EventLevel: true, Property: "url"},
	{Name: "web.title", Label: "Page title", Group: "Website", Type: String, EventLevel: true, Property: "title"},
	{Name: "web.referrer", Label: "Referrer", Group: "Website", Type: String, EventLevel: true, Property: "referrer"},
	{Name: "web.utm_source", Label: "UTM source", Group: "Website", Type: String, EventLevel: true, Property: "utm_source"},
	{Name: "web.utm_medium", Label: "UTM medium", Group: "Website", Type: String, EventLevel: true, Property: "utm_medium"},
	{Name: "web.utm_campaign", Label: "UTM campaign", Group: "Website", Type: String, EventLevel: true, Property: "utm_campaign"},
	{Name: "web.form_type", Label: "Form type", Group: "Website", Type: String, EventLevel: true, Property: "form_type"},
	{Name: "web.time_on_page", Label: "Time on page (seconds)", Group: "Website", Type: Number, EventLevel: true, Property: "time_on_page"},
	{Name: "web.visit_start", Label: "Starts a visit", Group: "Website", Type: Bool, EventLevel: true, Property: "visit_start"},
	{Name: "profile.email", Label: "Email", Group: "Profile", Type: String},
	{Name: "profile.email_domain", Label: "Email domain", Group: "Profile", Type: String},
	{Name: "profile.first_name", Label: "First name", Group: "Profile", Type: String},
	{Name: "profile.last_name", Label: "Last name", Group: "Profile", Type: String},
	{Name: "profile.title", Label: "Job title", Group: "Profile", Type: String},
	{Name: "profile.country", Label: "Country", Group: "Profile", Type: String},
	{Name: "profile.industry", Label: "Industry", Group: "Profile", Type: String},
	{Name: "profile.company_size", Label: "Company size", Group: "Profile", Type: Number},
	{Name: "profile.lead_source", Label: "Lead source", Group: "Profile", Type: String},
	{Name: "profile.status", Label: "Status", Group: "Profile", Type: String},
	{Name: "profile.owner", Label: "Owner (name or email)", Group: "Profile", Type: String},
	{Name: "profile.attribute", Label: "Custom attribute", Group: "Profile", Type: Dynamic, Needs: "attribute"},
	{Name: "account.domain", Label: "Account domain", Group: "Account", Type: String},
	{Name: "account.name", Label: "Account name", Group: "Account", Type: String},
	{Name: "account.industry", Label: "Account industry", Group: "Account", Type: String},
	{Name: "account.employees", Label: "Employees", Group: "Account", Type: Number},
	{Name: "account.score", Label: "Account score", Group: "Account", Type: Number, Needs: "score"},
}

var fieldsByName = func() map[string]Field {
	m := make(map[string]Field, len(Fields))
	for _, f := range Fields {
		m[f.Name] = f
	}
	return m
}()

// FieldByName finds a field.
func FieldByName(name string) (Field, bool) {
	f, ok := fieldsByName[name]
	return f, ok
}

// Operator is a comparison a condition applies.
type Operator struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Arity: 0 takes no value, 1 one value, 2 a [low, high] pair, -1 a list.
	Arity int `json:"arity"`
	// On is the value type the operator compares.
	On Type `json:"on"`
}

// Operators by the type they compare. Strings compare case-insensitively (people write
// "Pricing" and "pricing" for the same page); matches is a regular expression, (?i) to ignore case.
var Operators = []Operator{
	{"equals", "equals", 1, String},
	{"not_equals", "does not equal", 1, String},
	{"contains", "contains", 1, String},
	{"not_contains", "does not contain", 1, String},
	{"begins_with", "begins with", 1, String},
	{"ends_with", "ends with", 1, String},
	{"in", "is one of", -1, String},
	{"not_in", "is not one of", -1, String},
	{"matches", "matches regex", 1, String},
	{"is_empty", "is empty", 0, String},
	{"is_not_empty", "is not empty", 0, String},
	{"=", "=", 1, Number},
	{"!=", "≠", 1, Number},
	{"<", "<", 1, Number},
	{"<=", "≤", 1, Number},
	{">", ">", 1, Number},
	{">=", "≥", 1, Number},
	{"between", "between", 2, Number},
	{"is_true", "is true", 0, Bool},
	{"is_false", "is false", 0, Bool},
	{"before", "before", 1, Date},
	{"after", "after", 1, Date},
	{"within_last_days", "within the last N days", 1, Date},
	{"more_than_days_ago", "more than N days ago", 1, Date},
}

var operatorsByName = func() map[string]Operator {
	m := make(map[string]Operator, len(Operators))
	for _, o := range Operators {
		m[o.Name] = o
	}
	return m
}()

// countOperators compare the number of matching events.
var countOperators = map[string]bool{">=": true, "<=": true, "=": true}

// OperatorsFor lists the operators that fit a field, for the builder.
func OperatorsFor(f Field) []Operator {
	var out []Operator
	for _, o := range Operators {
		switch {
		case f.Type == Count && countOperators[o.Name]:
			out = append(out, o)
		case f.Type == Dynamic:
			out = append(out, o)
		case o.On == f.Type:
			out = append(out, o)
		}
	}
	return out
}
