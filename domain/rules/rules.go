// Package rules is the condition language of the falcon rule engine: rules are open JSON
// (groups shaped like react-querybuilder's, nested without limit), validated with messages a
// marketer can act on, compiled once, and evaluated against a lead, its events and an
// injected clock. It is pure: no HTTP, no SQL.
//
// A group:     {"combinator": "and"|"or", "not": false, "rules": [group or condition, …]}
// A condition: {"field": "event.property", "property": "plan", "operator": "equals", "value": "pro"}
// Event counts nest a group: {"field": "event.count", "window_days": 30, "operator": ">=",
// "value": 3, "where": {…group on event fields…}}
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/peregrine-scoring/peregrine/domain/jsonsafe"
)

// Group combines conditions and groups with AND or OR, optionally negated.
type Group struct {
	Combinator string `json:"combinator"`
	Not        bool   `json:"not,omitempty"`
	Rules      []Node `json:"rules"`
}

// Condition tests one field of the lead, its account or an event.
type Condition struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value,omitempty"`
	// Property names the event property for event.property.
	Property string `json:"property,omitempty"`
	// Attribute names the custom attribute for profile.attribute.
	Attribute string `json:"attribute,omitempty"`
	// Score names the rolled-up score for account.score.
	Score string `json:"score,omitempty"`
	// WindowDays and Where shape event.count: events matching Where within the last N days.
	WindowDays int    `json:"window_days,omitempty"`
	Where      *Group `json:"where,omitempty"`
}

// Node is a group or a condition inside a group.
type Node struct {
	Group     *Group
	Condition *Condition
}

// UnmarshalJSON tells a group (it has "combinator" or "rules") from a condition.
func (n *Node) UnmarshalJSON(b []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return errors.New("each entry of rules must be an object: a group or a condition")
	}
	_, hasComb := probe["combinator"]
	_, hasRules := probe["rules"]
	if hasComb || hasRules {
		var g Group
		if err := strictUnmarshal(b, &g); err != nil {
			return err
		}
		n.Group = &g
		return nil
	}
	var c Condition
	if err := strictUnmarshal(b, &c); err != nil {
		return err
	}
	n.Condition = &c
	return nil
}

// MarshalJSON writes whichever the node holds.
func (n Node) MarshalJSON() ([]byte, error) {
	if n.Group != nil {
		return json.Marshal(n.Group)
	}
	return json.Marshal(n.Condition)
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a valid group or condition: %v", err)
	}
	return nil
}

// Parse reads a group from JSON. It checks the shape only; Compile checks the meaning.
func Parse(b []byte) (*Group, error) {
	var g Group
	if err := jsonsafe.Validate(b, jsonsafe.MaxDepth); err != nil {
		return nil, fmt.Errorf("not a valid group: %v", err)
	}
	if err := strictUnmarshal(b, &g); err != nil {
		return nil, err
	}
	return &g, nil
}
