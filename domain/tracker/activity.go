package tracker

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// Sources of web activities (the activity's source column).
const (
	SourceWeb        = "web"         // the tracker on the workspace's site
	SourceSalesEmail = "sales_email" // a rep's tracked link
)

// Event types of web activities (the activity's event_type column).
const (
	EventPageView   = "web.page_view"
	EventPageLeave  = "web.page_leave"
	EventFormSubmit = "web.form_submit"
	EventCustom     = "web.custom"
	EventLinkClick  = "sales_email.link_click"
)

// MinReadMillis is the shortest time on a page worth an activity: shorter visits are page
// views already counted, not reading.
const MinReadMillis = 10_000

// URL parameters the tracker and links use to identify, removed from stored URLs so a
// timeline never carries an identifier.
var identifyingParams = []string{"braze_id", "br_user_id", "pgr_l", "pgr_ignore"}

// Activity is the activity a hit becomes, without its lead; ok is false for hits that are
// not activities (identify, a short leave).
func Activity(h Hit) (model.ActivityRow, bool) {
	page := pageOf(h.URL)
	props := map[string]any{"site": h.Site, "url": page.url, "path": page.path, "host": page.host}
	for k, v := range map[string]string{"title": clip(h.Title, 300), "referrer": stripIdentifiers(h.Referrer)} {
		if v != "" {
			props[k] = v
		}
	}
	for k, v := range page.utm {
		props[k] = v
	}
	a := model.ActivityRow{OccurredAt: h.OccurredAt(), Source: SourceWeb, URL: page.url}
	switch h.Type {
	case TypePage:
		a.EventType, a.Name = EventPageView, "[Website] Visited "+pageLabel(h.Title, page.path)
		if h.NewVisit {
			props["visit_start"] = true
		}
	case TypeLeave:
		if h.Duration < MinReadMillis {
			return a, false
		}
		a.EventType, a.Name = EventPageLeave, "[Website] Read "+pageLabel(h.Title, page.path)
		props["time_on_page"] = h.Duration / 1000
	case TypeForm:
		res := AnalyzeForm(*h.Form)
		a.EventType = EventFormSubmit
		if res.Type != "" {
			a.Name = "[Website] Submitted the " + res.Type + " form on " + page.path
			props["form_type"] = res.Type
		} else {
			a.Name = "[Website] Submitted a form on " + page.path
		}
		for k, v := range map[string]string{"form_id": h.Form.ID, "form_name": h.Form.Name, "form_submit": h.Form.Submit} {
			if v = clip(v, 200); v != "" {
				props[k] = v
			}
		}
	case TypeTrack:
		a.EventType, a.Name = EventCustom, "[Website] "+clip(strings.TrimSpace(h.Name), 200)
		var custom map[string]any
		if json.Unmarshal(h.Props, &custom) == nil && len(custom) > 0 {
			props["custom_properties"] = custom
		}
	default:
		return a, false
	}
	a.Properties, _ = json.Marshal(props)
	return a, true
}

// LinkClickActivity is a rep's tracked link opened by its lead, landing on the hit's page.
func LinkClickActivity(h Hit) model.ActivityRow {
	page := pageOf(h.URL)
	props, _ := json.Marshal(map[string]any{"site": h.Site, "url": page.url, "path": page.path, "host": page.host, "tracked_link": true})
	return model.ActivityRow{OccurredAt: h.OccurredAt(), Source: SourceSalesEmail, EventType: EventLinkClick, URL: page.url,
		Name: "[Sales email] Clicked a tracked link to " + page.path, Properties: props}
}

// PagePath is the path of a page URL, as activities name it.
func PagePath(raw string) string { return pageOf(raw).path }

type page struct {
	url, path, host string
	utm             map[string]string
}

// pageOf splits a page URL into what activities keep: the URL without identifying
// parameters or fragment, its path, host and UTM parameters.
func pageOf(raw string) page {
	u, err := url.Parse(raw)
	if err != nil {
		return page{url: clip(raw, 2000), path: "/"}
	}
	p := page{host: strings.ToLower(u.Host), path: u.EscapedPath(), utm: map[string]string{}}
	if p.path == "" {
		p.path = "/"
	}
	q := u.Query()
	for _, k := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
		if v := clip(strings.TrimSpace(q.Get(k)), 200); v != "" {
			p.utm[k] = v
		}
	}
	u.Fragment, u.RawFragment = "", ""
	p.url = clip(stripIdentifiers(u.String()), 2000)
	return p
}

// stripIdentifiers removes the identifying parameters from a URL.
func stripIdentifiers(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return raw
	}
	q := u.Query()
	removed := false
	for _, k := range identifyingParams {
		if q.Has(k) {
			q.Del(k)
			removed = true
		}
	}
	if removed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// pageLabel names a page by its title and path: "Pricing — Acme (/pricing)".
func pageLabel(title, path string) string {
	title = strings.Join(strings.Fields(title), " ")
	if title == "" {
		return path
	}
	return clip(title, 120) + " (" + path + ")"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
