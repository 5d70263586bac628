// Package cards decides which fields the sales cards show — the lead list's rows, a person's
// page header and alerts, and the companies' rows and header — and in what order. It is pure:
// the store keeps the layouts, the handlers fill the values.
package cards

import (
	"fmt"
	"slices"
	"strings"
)

// The objects a layout is for.
const (
	Leads     = "leads"     // the lead list's rows
	People    = "people"    // a person's page header and the alerts about them
	Companies = "companies" // the accounts list's rows, an account's page header and its alerts
)

// Objects lists them in the order the settings page shows them.
var Objects = []string{Leads, People, Companies}

// ObjectNames are the objects' names as people read them.
var ObjectNames = map[string]string{Leads: "Lead list rows", People: "Person header and alerts", Companies: "Companies (accounts)"}

// MaxFields bounds a layout: a row or header with more would not be read.
const MaxFields = 12

// Field is a value a card can show.
type Field struct {
	Key   string // "score", "score:Product interest", "custom:plan", "grade", …
	Label string
}

// personFields are the fixed fields of leads and people, before named scores and custom
// attributes.
var personFields = []Field{
	{"score", "Score"}, {"grade", "Fit"}, {"temperature", "Temperature"}, {"labels", "Labels"},
	{"company", "Company"}, {"title", "Title"}, {"email", "Email"}, {"phone", "Phone"}, {"country", "Country"},
	{"owner", "Owner"}, {"status", "Status"}, {"source", "Source"}, {"last_activity", "Last activity"}, {"activities", "Activities"},
}

var companyFields = []Field{
	{"score", "Score"}, {"grade", "Fit"}, {"temperature", "Temperature"}, {"labels", "Labels"},
	{"domain", "Domain"}, {"industry", "Industry"}, {"employees", "Employees"}, {"people", "People"},
	{"engaged", "Engaged (30 d)"}, {"last_activity", "Last activity"},
}

// Catalog lists the fields an object's card can show: the fixed ones, then each named score
// but the main one (people), then custom attributes (people).
func Catalog(object string, scores, customKeys []string) []Field {
	if object == Companies {
		return slices.Clone(companyFields)
	}
	out := slices.Clone(personFields)
	for _, s := range scores {
		out = append(out, Field{"score:" + s, s + " (score)"})
	}
	for _, k := range customKeys {
		out = append(out, Field{"custom:" + k, k + " (custom attribute)"})
	}
	return out
}

// Default is what an object's card shows until a layout is published: what the pages showed
// before layouts existed.
func Default(object string) []string {
	switch object {
	case Leads:
		return []string{"score", "grade", "temperature", "labels", "company", "last_activity"}
	case People:
		return []string{"title", "company", "owner", "status"}
	}
	return []string{"score", "grade", "temperature", "people", "engaged", "labels", "last_activity"}
}

// Label names a field, also one no longer in the catalog (a score renamed since).
func Label(catalog []Field, key string) string {
	if i := slices.IndexFunc(catalog, func(f Field) bool { return f.Key == key }); i >= 0 {
		return catalog[i].Label
	}
	_, name, _ := strings.Cut(key, ":")
	if name == "" {
		name = key
	}
	return name
}

// Check validates a layout: known fields, each once, at most MaxFields; the error says what
// to fix.
func Check(object string, keys []string, catalog []Field) error {
	if !slices.Contains(Objects, object) {
		return fmt.Errorf("unknown card %q", object)
	}
	if len(keys) > MaxFields {
		return fmt.Errorf("a card shows at most %d fields; remove %d", MaxFields, len(keys)-MaxFields)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if !slices.ContainsFunc(catalog, func(f Field) bool { return f.Key == k }) {
			return fmt.Errorf("%q is not a field this card can show", k)
		}
		if seen[k] {
			return fmt.Errorf("%s is on the card twice", Label(catalog, k))
		}
		seen[k] = true
	}
	return nil
}

// Move returns keys with the one at i moved by delta (-1 up, +1 down); out of range leaves
// them as they are.
func Move(keys []string, i, delta int) []string {
	j := i + delta
	out := slices.Clone(keys)
	if i < 0 || i >= len(out) || j < 0 || j >= len(out) {
		return out
	}
	out[i], out[j] = out[j], out[i]
	return out
}

// Visible keeps the fields still in the catalog (a published layout may name a score or
// custom attribute that is gone).
func Visible(keys []string, catalog []Field) []string {
	var out []string
	for _, k := range keys {
		if slices.ContainsFunc(catalog, func(f Field) bool { return f.Key == k }) {
			out = append(out, k)
		}
	}
	return out
}
