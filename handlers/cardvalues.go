package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/peregrine-scoring/peregrine/domain/cards"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// publishedCard is the fields an object's card shows now: the published layout, or the
// default while none is.
func publishedCard(ctx context.Context, st *store.Store, ws int64, object string) ([]string, error) {
	keys, ok, err := st.PublishedCard(ctx, ws, object)
	if err != nil || ok {
		return keys, err
	}
	return cards.Default(object), nil
}

// cardColumns are a list's columns for a card's fields, sortable where the list sorts.
func cardColumns(object string, keys []string) []views.CardColumn {
	catalog := cards.Catalog(object, nil, nil)
	sorts := map[string]string{"score": store.SortScore, "grade": store.SortGrade, "temperature": store.SortTemperature, "last_activity": store.SortActivity}
	if object == cards.Companies {
		sorts = map[string]string{"score": "", "people": store.AccountSortPeople, "engaged": store.AccountSortEngaged, "last_activity": store.AccountSortActivity}
	}
	out := make([]views.CardColumn, len(keys))
	for i, k := range keys {
		sort, sortable := sorts[k]
		out[i] = views.CardColumn{Key: k, Label: cards.Label(catalog, k), Sortable: sortable, Sort: sort, Num: numericField(k)}
	}
	return out
}

func numericField(key string) bool {
	return key == "score" || strings.HasPrefix(key, "score:") || key == "activities" || key == "people" || key == "engaged" || key == "employees"
}

// needsNamedScores reports whether a card shows a named score (read separately).
func needsNamedScores(keys []string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, "score:") {
			return true
		}
	}
	return false
}

// personCells are a lead's values for a card's fields; named holds its named scores when
// the card shows any.
func personCells(rs *scoring.RuleSet, keys []string, l model.Lead, named map[string]float64) []views.CardValue {
	catalog := cards.Catalog(cards.People, nil, nil)
	out := make([]views.CardValue, 0, len(keys))
	for _, k := range keys {
		v := views.CardValue{Key: k, Label: cards.Label(catalog, k), Num: numericField(k)}
		switch {
		case k == "score":
			v.Kind, v.Text = "score", formatScore(l.MainScore)
		case strings.HasPrefix(k, "score:"):
			v.Kind, v.Text = "score", formatScore(named[strings.TrimPrefix(k, "score:")])
		case k == "grade":
			v.Kind, v.Text = "grade", l.Grade
		case k == "temperature":
			v.Kind, v.Text, v.Rising = "temperature", l.Temperature, l.Rising && l.Temperature != rules.Frozen
		case k == "labels":
			v.Kind = "labels"
			for _, name := range l.Labels {
				v.Chips = append(v.Chips, labelChip(rs, name))
			}
		case k == "company":
			v.Text = l.Company
			if v.Text == "" && l.AccountDomain != nil {
				v.Text = *l.AccountDomain
			}
			if l.AccountID != nil {
				v.Kind, v.Href = "link", "/accounts/"+strconv.FormatInt(*l.AccountID, 10)
			}
		case k == "last_activity":
			v.Kind, v.Text = "muted", "—"
			if l.LastActivityAt != nil {
				v.Text = ago(*l.LastActivityAt)
			}
		case k == "activities":
			v.Text = strconv.Itoa(l.ActivityCount)
		case strings.HasPrefix(k, "custom:"):
			v.Text = customAttribute(l.CustomAttributes, strings.TrimPrefix(k, "custom:"))
		default:
			v.Text = map[string]string{"title": l.Title, "email": l.Email, "phone": l.Phone, "country": l.Country,
				"owner": l.OwnerName, "status": l.Status, "source": l.Source}[k]
		}
		out = append(out, v)
	}
	return out
}

// customAttribute is one custom attribute of a lead as text ("" when absent).
func customAttribute(raw []byte, key string) string {
	var attrs map[string]any
	if json.Unmarshal(raw, &attrs) != nil {
		return ""
	}
	switch v := attrs[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// companyCells are an account's values for a card's fields.
func companyCells(rs *scoring.RuleSet, keys []string, a store.AccountRow) []views.CardValue {
	catalog := cards.Catalog(cards.Companies, nil, nil)
	out := make([]views.CardValue, 0, len(keys))
	for _, k := range keys {
		v := views.CardValue{Key: k, Label: cards.Label(catalog, k), Num: numericField(k)}
		switch k {
		case "score":
			v.Kind, v.Text = "score", formatScore(a.MainScore)
		case "grade":
			v.Kind, v.Text = "grade", a.Grade
		case "temperature":
			v.Kind, v.Text = "temperature", a.Temperature
		case "labels":
			v.Kind = "labels"
			for _, name := range a.Labels {
				v.Chips = append(v.Chips, labelChip(rs, name))
			}
		case "domain":
			v.Text = a.Domain
		case "industry":
			v.Text = a.Industry
		case "employees":
			if a.Employees != nil {
				v.Text = strconv.Itoa(*a.Employees)
			}
		case "people":
			v.Text = views.Count(a.People)
		case "engaged":
			v.Text = views.Count(a.Engaged30)
		case "last_activity":
			v.Kind, v.Text = "muted", "—"
			if a.LastActive != nil {
				v.Text = ago(*a.LastActive)
			}
		}
		out = append(out, v)
	}
	return out
}

// cardFacts are a card's values as label–text pairs, for emails and Slack (empty values and
// labels without chips left out).
func cardFacts(cells []views.CardValue) []views.Pair {
	var out []views.Pair
	for _, c := range cells {
		text := c.Text
		if c.Kind == "labels" {
			var names []string
			for _, ch := range c.Chips {
				names = append(names, ch.Name)
			}
			text = strings.Join(names, ", ")
		}
		if text != "" && text != "—" {
			out = append(out, views.Pair{Label: c.Label, Value: text})
		}
	}
	return out
}

// personCard is a lead's published person card (its header, and its alerts).
func personCard(ctx context.Context, st *store.Store, ws int64, rs *scoring.RuleSet, l model.Lead) ([]views.CardValue, error) {
	card, err := publishedCard(ctx, st, ws, cards.People)
	if err != nil {
		return nil, err
	}
	named, err := namedScoresFor(ctx, st, ws, card, []model.Lead{l})
	if err != nil {
		return nil, err
	}
	return personCells(rs, card, l, named[l.ID]), nil
}

// namedScoresFor reads the named scores of leads when a card shows any.
func namedScoresFor(ctx context.Context, st *store.Store, ws int64, keys []string, leads []model.Lead) (map[int64]map[string]float64, error) {
	if !needsNamedScores(keys) || len(leads) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(leads))
	for i, l := range leads {
		ids[i] = l.ID
	}
	scores, err := st.ScoresOfLeads(ctx, ws, ids)
	if err != nil {
		return nil, fmt.Errorf("card scores: %w", err)
	}
	return scores, nil
}
