// Package tracker is the website tracker's domain: what the script sends (a hit), which hits
// are ignored and why (bots, privacy settings), what kind of form was submitted and whether
// it identifies the person, and the activity a hit becomes. It knows nothing of HTTP or SQL.
package tracker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBody is the largest collect request accepted (a beacon's quota is 64 KiB for all of a
// page's pending beacons; a hit is far smaller).
const MaxBody = 16 << 10

// Hit types the script sends.
const (
	TypePage     = "page"     // a page view (also single-page-app navigation)
	TypeLeave    = "leave"    // the page was hidden: time spent on it
	TypeForm     = "form"     // a form was submitted
	TypeTrack    = "track"    // peregrine('track', name, props)
	TypeIdentify = "identify" // peregrine('identify', {email}), or ids from the landing URL
)

// Hit is one event from the tracker, as it is stored in the inbound queue.
type Hit struct {
	Site     string          `json:"s"`
	Visitor  string          `json:"v"`
	ID       string          `json:"e"`
	Type     string          `json:"t"`
	URL      string          `json:"u"`
	Referrer string          `json:"r,omitempty"`
	Title    string          `json:"ti,omitempty"`
	At       int64           `json:"ts,omitempty"` // the browser's clock, ms since the epoch
	NewVisit bool            `json:"nv,omitempty"` // first page of a visit (30 minutes without a hit)
	Consent  bool            `json:"c,omitempty"`  // the visitor gave consent on a site that asks for it
	Duration int64           `json:"d,omitempty"`  // leave: ms the page was visible
	Name     string          `json:"n,omitempty"`  // track: the event name
	Props    json.RawMessage `json:"p,omitempty"`  // track: properties
	Form     *Form           `json:"f,omitempty"`
	Identify *Identify       `json:"id,omitempty"`

	// Received is the server's time of arrival, set by the endpoint (the browser's clock is
	// only trusted when it is close to it).
	Received time.Time `json:"rt"`
}

// Identify is who the hit says the visitor is.
type Identify struct {
	Email    string `json:"email,omitempty"`
	BrazeID  string `json:"braze_id,omitempty"`
	BrUserID string `json:"br_user_id,omitempty"`
	Link     string `json:"link,omitempty"` // a tracked link's token (pgr_l)
}

var (
	// visitor and event ids are what the script makes: 16 to 64 URL-safe characters.
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	// ErrMalformed wraps every reason a body is refused.
	ErrMalformed = errors.New("malformed hit")
)

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Decode reads and checks a hit. It returns a reason a person understands when the body is
// not one the script sends.
func Decode(body []byte) (Hit, error) {
	var h Hit
	if len(body) > MaxBody {
		return h, bad("the body is larger than %d bytes", MaxBody)
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, bad("the body is not a JSON hit: %v", err)
	}
	return h, h.validate()
}

func (h *Hit) validate() error {
	switch {
	case h.Site == "":
		return bad("s (the site key) is missing")
	case !idPattern.MatchString(h.Visitor):
		return bad("v (the visitor id) must be 16 to 64 letters, digits, - or _")
	case !idPattern.MatchString(h.ID):
		return bad("e (the event id) must be 16 to 64 letters, digits, - or _")
	}
	switch h.Type {
	case TypePage, TypeLeave, TypeForm, TypeTrack, TypeIdentify:
	default:
		return bad("t must be one of page, leave, form, track, identify")
	}
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("u must be the page's absolute http(s) URL")
	}
	for field, v := range map[string]string{"u": h.URL, "r": h.Referrer, "ti": h.Title, "n": h.Name} {
		if !utf8.ValidString(v) || len(v) > 4096 {
			return bad("%s must be valid text of at most 4096 bytes", field)
		}
	}
	if h.Type == TypeTrack && strings.TrimSpace(h.Name) == "" {
		return bad("a track hit needs n, the event name")
	}
	if h.Type == TypeForm && h.Form == nil {
		return bad("a form hit needs f, the form")
	}
	if h.Type == TypeIdentify && (h.Identify == nil || *h.Identify == (Identify{})) {
		return bad("an identify hit needs id with an email, braze_id, br_user_id or link")
	}
	if len(h.Props) > 0 && h.Props[0] != '{' {
		return bad("p (properties) must be a JSON object")
	}
	if h.Duration < 0 || h.Duration > 24*3600*1000 {
		return bad("d (time on page) must be between 0 and 24 hours in milliseconds")
	}
	if h.Form != nil && len(h.Form.Fields) > 200 {
		return bad("a form of more than 200 fields")
	}
	return nil
}

// OccurredAt is when the hit happened: the browser's clock when it is within a day of the
// server's (a wrong clock must not place a visit in another year), else the arrival time.
func (h Hit) OccurredAt() time.Time {
	if h.At > 0 {
		t := time.UnixMilli(h.At).UTC()
		if d := t.Sub(h.Received); d < 10*time.Minute && d > -24*time.Hour {
			return t
		}
	}
	return h.Received.UTC()
}

// Origin is the scheme and host of the hit's page.
func (h Hit) Origin() string {
	u, err := url.Parse(h.URL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}
