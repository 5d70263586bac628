package segment

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// Event types of Segment activities (activities.event_type).
const (
	EventTrack  = "segment.track"
	EventPage   = "segment.page"
	EventScreen = "segment.screen"
)

// Activity is the activity a track, page or screen message becomes (docs/activities.md):
// "[Segment] <event>", "[Segment] Viewed <page>", "[Segment] Viewed screen <name>", with the
// message's properties, the page's path and URL, and its UTM campaign, for rules. Identify,
// group and alias messages are not activities (ok false).
func Activity(m Message) (model.ActivityRow, bool) {
	return ActivityAs(m, Source, "Segment")
}

// ActivityAs is Activity for another source of Spec-shaped events (the open API's): names
// start with "[<label>] ", event types with "<source>.".
func ActivityAs(m Message, source, label string) (model.ActivityRow, bool) {
	props := map[string]any{}
	if len(m.Properties) > 0 {
		_ = json.Unmarshal(m.Properties, &props)
	}
	a := model.ActivityRow{OccurredAt: m.Time, Source: source}
	prefix := "[" + label + "] "
	switch m.Type {
	case Track:
		a.EventType, a.Name = source+".track", prefix+clip(strings.TrimSpace(m.Event), 200)
		props["event"] = m.Event
	case Page:
		a.EventType = source + ".page" // named below, once the URL's path is known
	case Screen:
		a.EventType, a.Name = source+".screen", prefix+"Viewed screen "+first(strings.TrimSpace(m.Name), "(unnamed screen)")
	default:
		return a, false
	}
	page := pageURL(m, props)
	if page != "" {
		a.URL = page
		if u, err := url.Parse(page); err == nil {
			props["url"], props["host"] = page, strings.ToLower(u.Host)
			if _, ok := props["path"]; !ok && u.Path != "" {
				props["path"] = u.Path
			}
			for _, k := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
				if v := u.Query().Get(k); v != "" {
					props[k] = v
				}
			}
		}
	}
	if m.Context.Page.Path != "" {
		if _, ok := props["path"]; !ok {
			props["path"] = m.Context.Page.Path
		}
	}
	// context.campaign holds the UTM values analytics.js read (name is utm_campaign).
	for k, v := range m.Context.Campaign {
		key := "utm_" + k
		if k == "name" {
			key = "utm_campaign"
		}
		if s, ok := v.(string); ok && s != "" {
			props[key] = s
		}
	}
	if m.Category != "" {
		props["category"] = m.Category
	}
	if m.Type == Page {
		a.Name = prefix + "Viewed " + pageLabel(m, props)
	}
	a.Properties, _ = json.Marshal(props)
	return a, true
}

// pageLabel names a page: its name, else its title, else its path.
func pageLabel(m Message, props map[string]any) string {
	if n := strings.TrimSpace(m.Name); n != "" {
		return clip(n, 200)
	}
	for _, v := range []any{props["title"], m.Context.Page.Title, props["path"], m.Context.Page.Path} {
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			return clip(strings.TrimSpace(s), 200)
		}
	}
	return "(unnamed page)"
}

func pageURL(m Message, props map[string]any) string {
	if s, ok := props["url"].(string); ok && s != "" {
		return s
	}
	return m.Context.Page.URL
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Profile is what identify traits tell about a person.
type Profile struct {
	Email     string
	FirstName string
	LastName  string
	Title     string
	Phone     string
	Company   string
	Industry  string
	Employees *int
	Country   string
	// Custom holds the other traits (custom attributes for rules).
	Custom map[string]any
}

// reservedTraits are traits Profile reads into its own fields (both spellings Segment
// accepts), kept out of Custom.
var reservedTraits = map[string]bool{"email": true, "name": true, "firstName": true, "first_name": true, "lastName": true,
	"last_name": true, "title": true, "phone": true, "company": true, "address": true, "id": true, "createdAt": true,
	"created_at": true, "username": true, "website": true, "industry": true, "employees": true}

// ProfileOf reads identify traits (traits, else context.traits).
func ProfileOf(m Message) Profile {
	raw := m.Traits
	if len(raw) == 0 {
		raw = m.Context.Traits
	}
	var t map[string]any
	_ = json.Unmarshal(raw, &t)
	p := Profile{Email: events.CleanEmail(str(t["email"])), Title: str(t["title"]), Phone: str(t["phone"]), Custom: map[string]any{}}
	p.FirstName, p.LastName = first(str(t["firstName"]), str(t["first_name"])), first(str(t["lastName"]), str(t["last_name"]))
	if p.FirstName == "" && p.LastName == "" {
		if name := strings.TrimSpace(str(t["name"])); name != "" {
			p.FirstName, p.LastName, _ = strings.Cut(name, " ")
		}
	}
	switch c := t["company"].(type) {
	case string:
		p.Company = c
	case map[string]any:
		p.Company, p.Industry = str(c["name"]), str(c["industry"])
		p.Employees = number(first(str(c["employee_count"]), str(c["employees"])))
	}
	if addr, ok := t["address"].(map[string]any); ok {
		p.Country = str(addr["country"])
	}
	p.Industry = first(p.Industry, str(t["industry"]))
	if p.Employees == nil {
		p.Employees = number(str(t["employees"]))
	}
	for k, v := range t {
		if !reservedTraits[k] && len(k) <= 100 {
			p.Custom[k] = v
		}
	}
	return p
}

// Account is what group traits tell about a company.
type Account struct {
	Name, Industry, Domain string
	Employees              *int
}

// AccountOf reads group traits: the company's name, industry, employees and website (its
// domain names the account, as Peregrine keys accounts).
func AccountOf(m Message) Account {
	var t map[string]any
	_ = json.Unmarshal(m.Traits, &t)
	a := Account{Name: str(t["name"]), Industry: str(t["industry"]), Employees: number(str(t["employees"]))}
	if w := strings.TrimSpace(str(t["website"])); w != "" {
		if !strings.Contains(w, "://") {
			w = "https://" + w
		}
		if u, err := url.Parse(w); err == nil {
			a.Domain = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
		}
	}
	return a
}

// str reads a trait as text: strings as they are, numbers written out.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func number(s string) *int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return nil
	}
	return &n
}
