package attribution

import (
	"strconv"
	"strings"
	"time"
)

// Dimension is what a report groups touches by.
type Dimension string

// The dimensions of the reports.
const (
	ByCampaign Dimension = "campaign" // Braze campaign or Canvas, else the UTM campaign
	ByChannel  Dimension = "channel"  // email, push, SMS, WhatsApp, in-app, content card, web, sales email
	BySource   Dimension = "source"   // UTM source / medium
	ByPage     Dimension = "page"     // the website page's path
)

// Dimensions lists them in the order the report's tabs show them.
var Dimensions = []Dimension{ByCampaign, ByChannel, BySource, ByPage}

// Label is the dimension's name on the page.
func (d Dimension) Label() string {
	switch d {
	case ByCampaign:
		return "Campaign / Canvas"
	case ByChannel:
		return "Channel"
	case BySource:
		return "UTM source / medium"
	default:
		return "Page"
	}
}

// ParseDimension reads a dimension from a URL; ok is false for an unknown one.
func ParseDimension(s string) (Dimension, bool) {
	for _, d := range Dimensions {
		if string(d) == s {
			return d, true
		}
	}
	return "", false
}

// Touch is an activity that can earn credit: it carries a campaign, a Canvas, a channel, UTM
// parameters or a page. Each field is its value in one dimension ("" when it has none).
type Touch struct {
	ActivityID int64
	At         time.Time
	Campaign   string
	Channel    string
	Source     string
	Page       string
}

// Value is the touch's value in a dimension, "" for none.
func (t Touch) Value(d Dimension) string {
	switch d {
	case ByCampaign:
		return t.Campaign
	case ByChannel:
		return t.Channel
	case BySource:
		return t.Source
	default:
		return t.Page
	}
}

// ActivityFacts are what an activity tells about the touch it may be.
type ActivityFacts struct {
	ID                       int64
	At                       time.Time
	EventType                string
	CampaignName, CampaignID string
	CanvasName, CanvasID     string
	Path                     string
	UTMSource, UTMMedium     string
	UTMCampaign              string
}

// channels maps the event type's prefix to its channel.
var channels = []struct{ prefix, channel string }{
	{"users.messages.email.", "Email"},
	{"users.messages.pushnotification.", "Push"},
	{"users.messages.sms.", "SMS"},
	{"users.messages.whatsapp.", "WhatsApp"},
	{"users.messages.inappmessage.", "In-app message"},
	{"users.messages.contentcard.", "Content card"},
	{"web.", "Web"},
	{"sales_email.", "Sales email"},
}

// TouchOf turns an activity into a touch; ok is false for an activity that carries none of a
// touch's dimensions (a purchase, a custom event without campaign).
func TouchOf(a ActivityFacts) (Touch, bool) {
	t := Touch{ActivityID: a.ID, At: a.At, Page: strings.TrimSpace(a.Path)}
	for _, c := range channels {
		if strings.HasPrefix(a.EventType, c.prefix) {
			t.Channel = c.channel
			break
		}
	}
	switch {
	case a.CampaignName != "" || a.CampaignID != "":
		t.Campaign = "Campaign: " + first(a.CampaignName, a.CampaignID)
	case a.CanvasName != "" || a.CanvasID != "":
		t.Campaign = "Canvas: " + first(a.CanvasName, a.CanvasID)
	case a.UTMCampaign != "":
		t.Campaign = "UTM: " + a.UTMCampaign
	}
	if a.UTMSource != "" || a.UTMMedium != "" {
		t.Source = first(a.UTMSource, "(no source)") + " / " + first(a.UTMMedium, "(no medium)")
	}
	return t, t.Campaign != "" || t.Channel != "" || t.Source != "" || t.Page != ""
}

func first(a, b string) string {
	if a = strings.TrimSpace(a); a != "" {
		return a
	}
	return strings.TrimSpace(b)
}

// Credit is what one dimension value earned from one crossing.
type Credit struct {
	Dimension Dimension
	Value     string // "" for touches without a value in the dimension
	Touches   int
	FirstAt   time.Time // its earliest touch
	Models    [NumModels]float64
}

// Credits sums each model's shares of a crossing's touches per dimension value: for every
// dimension, the credits of the crossing's values sum to 1 per model (touches without a
// value in a dimension are credited to "").
func Credits(touches []Touch, crossed, created time.Time, s Settings) []Credit {
	in, w := Weights(touches, crossed, created, s)
	var out []Credit
	for _, d := range Dimensions {
		at := map[string]int{}
		for i, t := range in {
			v := t.Value(d)
			k, seen := at[v]
			if !seen {
				k = len(out)
				at[v] = k
				out = append(out, Credit{Dimension: d, Value: v, FirstAt: t.At})
			}
			out[k].Touches++
			for m := range out[k].Models {
				out[k].Models[m] += w[m][i]
			}
		}
	}
	return out
}

func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Report email frequencies.
const (
	Weekly  = "weekly"
	Monthly = "monthly"
)

// NextReport is when a scheduled report is next sent after now: Mondays (weekly) or the 1st
// of the month (monthly), at 07:00 UTC.
func NextReport(frequency string, now time.Time) time.Time {
	now = now.UTC()
	if frequency == Monthly {
		next := time.Date(now.Year(), now.Month(), 1, 7, 0, 0, 0, time.UTC)
		if !next.After(now) {
			next = next.AddDate(0, 1, 0)
		}
		return next
	}
	days := (int(time.Monday) - int(now.Weekday()) + 7) % 7
	next := time.Date(now.Year(), now.Month(), now.Day()+days, 7, 0, 0, 0, time.UTC)
	if !next.After(now) {
		next = next.AddDate(0, 0, 7)
	}
	return next
}

// ReportPeriod is the period a report sent at `at` covers: the 7 days before (weekly) or the
// previous calendar month (monthly), as [from, to) in UTC days.
func ReportPeriod(frequency string, at time.Time) (from, to time.Time) {
	at = at.UTC()
	day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
	if frequency == Monthly {
		to = time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
		return to.AddDate(0, -1, 0), to
	}
	return day.AddDate(0, 0, -7), day
}
