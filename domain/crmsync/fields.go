package crmsync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
)

// Kinds of Peregrine values, for offering compatible Salesforce fields.
const (
	KindNumber   = "number"
	KindText     = "text"
	KindURL      = "url"
	KindDateTime = "datetime"
	// KindOwner is a user: written as the Salesforce user's id, found by the owner's email.
	KindOwner = "owner"
)

// PeregrineField is a value Peregrine can write to (or read from) Salesforce.
type PeregrineField struct {
	Key    string // "score:Lead score", "grade", …
	Label  string
	Kind   string
	ToOnly bool // scores, grade, labels, link: Peregrine is the source of truth
	// Suggest is the custom field worth creating in Salesforce for it.
	Suggest string
}

// Catalog lists the mappable fields: one per named score, then the rest.
func Catalog(scores []model.ScoreName) []PeregrineField {
	var out []PeregrineField
	for _, s := range scores {
		api := "Peregrine_" + apiName(s.Name) + "__c"
		out = append(out, PeregrineField{Key: "score:" + s.Name, Label: s.Name, Kind: KindNumber, ToOnly: true, Suggest: api + " (Number 16, 2)"})
	}
	return append(out,
		PeregrineField{Key: "grade", Label: "Fit grade", Kind: KindText, ToOnly: true, Suggest: "Peregrine_Grade__c (Text 1)"},
		PeregrineField{Key: "temperature", Label: "Temperature", Kind: KindText, ToOnly: true, Suggest: "Peregrine_Temperature__c (Text 10)"},
		PeregrineField{Key: "status", Label: "Lead status", Kind: KindText, ToOnly: true, Suggest: "Status (the Lead Status picklist)"},
		PeregrineField{Key: "owner", Label: "Owner (the Salesforce user with the owner's email)", Kind: KindOwner, ToOnly: true, Suggest: "OwnerId (Lead Owner)"},
		PeregrineField{Key: "labels", Label: "Labels (as text)", Kind: KindText, ToOnly: true, Suggest: "Peregrine_Labels__c (Text 255)"},
		PeregrineField{Key: "last_activity_at", Label: "Last activity time", Kind: KindDateTime, ToOnly: true, Suggest: "Peregrine_Last_Activity__c (Date/Time)"},
		PeregrineField{Key: "reasons", Label: "Top reasons", Kind: KindText, ToOnly: true, Suggest: "Peregrine_Reasons__c (Text Area 255)"},
		PeregrineField{Key: "peregrine_url", Label: "Link to the lead in Peregrine", Kind: KindURL, ToOnly: true, Suggest: "Peregrine_URL__c (URL)"},
		PeregrineField{Key: "first_name", Label: "First name", Kind: KindText},
		PeregrineField{Key: "last_name", Label: "Last name", Kind: KindText},
		PeregrineField{Key: "company", Label: "Company", Kind: KindText},
		PeregrineField{Key: "title", Label: "Title", Kind: KindText},
		PeregrineField{Key: "country", Label: "Country", Kind: KindText},
	)
}

func apiName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_")
}

// Compatible reports whether a Salesforce field can take a Peregrine value of kind (and, for
// reading back, give one).
func Compatible(kind string, f salesforce.Field) bool {
	switch kind {
	case KindNumber:
		return f.Type == "double" || f.Type == "currency" || f.Type == "percent" || f.Type == "int"
	case KindURL:
		return f.Type == "url" || f.Type == "string" || f.Type == "textarea"
	case KindDateTime:
		return f.Type == "datetime"
	case KindOwner:
		return f.Type == "reference" && strings.EqualFold(f.Name, "OwnerId")
	}
	return f.Type == "string" || f.Type == "textarea" || f.Type == "picklist"
}

// Payload is the values of one lead for Salesforce, by Salesforce field: empty values are
// left out, so they never overwrite what Salesforce has.
func Payload(l model.PushLead, maps []model.FieldMap, fields map[string]salesforce.Field, leadURL string) map[string]any {
	out := map[string]any{}
	for _, m := range maps {
		if m.Direction == model.FromSalesforce {
			continue
		}
		f, ok := fields[strings.ToLower(m.SalesforceField)]
		if !ok || !f.Updateable {
			continue // vanished or read-only: "Check mapping" says so
		}
		var v any
		switch key := m.PeregrineField; {
		case strings.HasPrefix(key, "score:"):
			if s, ok := l.Scores[strings.TrimPrefix(key, "score:")]; ok {
				if f.Type == "int" {
					v = math.Round(s)
				} else {
					v = math.Round(s*100) / 100
				}
			} else {
				v = 0.0 // a score of nothing is 0, not empty: the lead lost its points
			}
		case key == "grade":
			v = l.Grade
		case key == "temperature":
			v = l.Temperature
		case key == "status":
			v = l.Status
		case key == "owner":
			v = l.OwnerSalesforceID // "" (left out) when the owner has no Salesforce user
		case key == "labels":
			v = strings.Join(l.Labels, "; ")
		case key == "last_activity_at":
			if l.LastActivityAt != nil {
				v = l.LastActivityAt.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		case key == "reasons":
			v = l.Reasons
		case key == "peregrine_url":
			v = leadURL
		case key == "first_name":
			v = l.FirstName
		case key == "last_name":
			v = l.LastName
		case key == "company":
			v = l.Company
		case key == "title":
			v = l.Title
		case key == "country":
			v = l.Country
		}
		if s, ok := v.(string); ok {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if f.Length > 0 && len([]rune(s)) > f.Length {
				s = string([]rune(s)[:f.Length]) // Salesforce would refuse the whole record
			}
			v = s
		}
		if v != nil {
			out[f.Name] = v
		}
	}
	return out
}

// Hash fingerprints the values to write, so unchanged records are not sent again.
func Hash(object string, values map[string]any) string {
	keys := slices.Sorted(maps.Keys(values))
	h := sha256.New()
	fmt.Fprint(h, object)
	for _, k := range keys {
		b, _ := json.Marshal(values[k])
		fmt.Fprintf(h, "\x00%s=%s", k, b)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func parseTime(v any) time.Time {
	s, _ := v.(string)
	t, err := time.Parse("2006-01-02T15:04:05.000-0700", s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339, s)
	}
	return t
}
