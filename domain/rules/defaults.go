package rules

import "encoding/json"

// defaultRules is the rule set a new workspace starts from: common B2B buying signals from
// Braze events, a few labels sales asks for, and a fit grade from title and company size.
// Marketers edit it; it only has to be a sensible start.
const defaultRules = `{"format": 1, "rules": [
 {"name": "Email opened", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "event.type", "operator": "equals", "value": "users.messages.email.Open"}]},
  "score": {"score": "Lead score", "points": 1, "per": "event", "cap": 10, "half_life_days": 30}},
 {"name": "Email link clicked", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "event.type", "operator": "equals", "value": "users.messages.email.Click"}]},
  "score": {"score": "Lead score", "points": 5, "per": "event", "cap": 25, "half_life_days": 30}},
 {"name": "Pricing page viewed", "kind": "score", "enabled": true,
  "when": {"combinator": "or", "rules": [
    {"field": "web.path", "operator": "contains", "value": "pricing"},
    {"combinator": "and", "rules": [
      {"field": "event.type", "operator": "equals", "value": "users.behaviors.CustomEvent"},
      {"field": "event.name", "operator": "contains", "value": "pricing"}]}]},
  "score": {"score": "Lead score", "points": 15, "per": "event", "cap": 30, "expire_days": 30}},
 {"name": "Returning visitor: 3+ visits in 7 days", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "event.count", "operator": ">=", "value": 3, "window_days": 7,
    "where": {"combinator": "and", "rules": [{"field": "web.visit_start", "operator": "is_true"}]}}]},
  "score": {"score": "Lead score", "points": 10, "per": "lead", "expire_days": 30}},
 {"name": "Contact or quote form submitted", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "web.form_type", "operator": "in", "value": ["contact", "quote request"]}]},
  "score": {"score": "Lead score", "points": 20, "per": "lead", "expire_days": 90}},
 {"name": "Content downloaded or webinar registered on the website", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "web.form_type", "operator": "in", "value": ["download", "webinar registration"]}]},
  "score": {"score": "Lead score", "points": 10, "per": "event", "cap": 30, "half_life_days": 45}},
 {"name": "Demo requested", "kind": "score", "enabled": true,
  "when": {"combinator": "or", "rules": [
    {"field": "event.name", "operator": "contains", "value": "demo_requested"},
    {"field": "web.form_type", "operator": "equals", "value": "demo request"},
    {"field": "event.property", "property": "message_body", "operator": "matches", "value": "(?i)\\bdemo\\b"}]},
  "score": {"score": "Lead score", "points": 30, "per": "lead", "expire_days": 90}},
 {"name": "Webinar or content engagement", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "event.name", "operator": "in", "value": ["[Custom Event tracked] webinar_registered", "[Custom Event tracked] whitepaper_downloaded"]}]},
  "score": {"score": "Lead score", "points": 10, "per": "event", "cap": 30, "half_life_days": 45}},
 {"name": "Purchase", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "event.type", "operator": "equals", "value": "users.behaviors.Purchase"}]},
  "score": {"score": "Lead score", "points": 50, "per": "lead"}},
 {"name": "Unsubscribed", "kind": "score", "enabled": true,
  "when": {"combinator": "or", "rules": [
    {"field": "event.type", "operator": "equals", "value": "users.messages.email.Unsubscribe"},
    {"combinator": "and", "rules": [
      {"field": "event.type", "operator": "equals", "value": "users.behaviors.subscription.GlobalStateChange"},
      {"field": "event.property", "property": "subscription_status", "operator": "equals", "value": "Unsubscribed"}]}]},
  "score": {"score": "Lead score", "points": -20, "per": "lead"}},
 {"name": "Email bounced", "kind": "score", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "event.type", "operator": "equals", "value": "users.messages.email.Bounce"}]},
  "score": {"score": "Lead score", "points": -50, "per": "lead"}},
 {"name": "Pricing this week", "kind": "label", "enabled": true,
  "when": {"combinator": "and", "rules": [
    {"combinator": "or", "rules": [
      {"field": "web.path", "operator": "contains", "value": "pricing"},
      {"combinator": "and", "rules": [
        {"field": "event.type", "operator": "equals", "value": "users.behaviors.CustomEvent"},
        {"field": "event.name", "operator": "contains", "value": "pricing"}]}]},
    {"field": "event.time", "operator": "within_last_days", "value": 7}]},
  "label": {"name": "Pricing this week", "color": "#f59e0b", "emoji": "💰"}},
 {"name": "Asked for a demo", "kind": "label", "enabled": true,
  "when": {"combinator": "and", "rules": [
    {"combinator": "or", "rules": [
      {"field": "event.name", "operator": "contains", "value": "demo_requested"},
      {"field": "web.form_type", "operator": "equals", "value": "demo request"}]},
    {"field": "event.time", "operator": "within_last_days", "value": 30}]},
  "label": {"name": "Demo requested", "color": "#10b981", "emoji": "📅"}},
 {"name": "Engaged this month", "kind": "label", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "event.count", "operator": ">=", "value": 5, "window_days": 30}]},
  "label": {"name": "Engaged", "color": "#6366f1"}},
 {"name": "Senior title", "kind": "grade", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "profile.title", "operator": "matches", "value": "(?i)\\b(chief|c[emft]o|vp|vice president|head|director|founder)\\b"}]},
  "grade": {"points": 40}},
 {"name": "Company of 200 or more", "kind": "grade", "enabled": true,
  "when": {"combinator": "or", "rules": [
    {"field": "profile.company_size", "operator": ">=", "value": 200},
    {"field": "account.employees", "operator": ">=", "value": 200}]},
  "grade": {"points": 30}},
 {"name": "Company email", "kind": "grade", "enabled": true,
  "when": {"combinator": "and", "rules": [{"field": "account.domain", "operator": "is_not_empty"}]},
  "grade": {"points": 20}}
]}`

// Defaults returns the default rule set, ready to store for a new workspace.
func Defaults() Document {
	d, err := ParseDocument([]byte(defaultRules))
	if err != nil {
		panic("rules: the default rule set is invalid: " + err.Error()) // caught by TestDefaults
	}
	return d
}

// Export writes a rules file.
func Export(rs []Rule) ([]byte, error) {
	return json.MarshalIndent(Document{Format: DocumentFormat, Rules: rs}, "", "  ")
}
