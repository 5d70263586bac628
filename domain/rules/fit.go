package rules

import (
	"math"
	"slices"
	"sort"
	"time"
)

// GradeRule adds fit points when a lead's profile or account matches (no event conditions).
type GradeRule struct {
	ID     int64
	Points float64
	When   *Compiled
}

// GradeScale holds the lowest fit points for grades A to E; anything lower is F.
type GradeScale struct {
	A, B, C, D, E float64
}

// DefaultGradeScale is the scale new workspaces start with.
var DefaultGradeScale = GradeScale{A: 80, B: 60, C: 40, D: 20, E: 10}

// Valid reports whether the thresholds go down from A to E.
func (g GradeScale) Valid() bool { return g.A > g.B && g.B > g.C && g.C > g.D && g.D > g.E }

// Fit sums the points of the grade rules the lead matches and maps them to A–F; it also
// returns the ids of those rules.
func Fit(rules []GradeRule, profile Profile, account *Account, scale GradeScale, now time.Time) (float64, string, []int64) {
	var points float64
	var matched []int64
	s := &Subject{Now: now, Profile: profile, Account: account}
	for _, r := range rules {
		if r.When.Match(s) {
			points += r.Points
			matched = append(matched, r.ID)
		}
	}
	return points, scale.Grade(points), matched
}

// Grade is the grade fit points earn.
func (scale GradeScale) Grade(points float64) string {
	switch {
	case points >= scale.A:
		return "A"
	case points >= scale.B:
		return "B"
	case points >= scale.C:
		return "C"
	case points >= scale.D:
		return "D"
	case points >= scale.E:
		return "E"
	}
	return "F"
}

// Temperatures, hottest first.
const (
	Hot     = "hot"
	Warm    = "warm"
	Neutral = "neutral"
	Cold    = "cold"
	Frozen  = "frozen"
)

// temperatureOrder lists the temperatures coldest first (an unknown one is colder still).
var temperatureOrder = []string{Frozen, Cold, Neutral, Warm, Hot}

// Hotter reports whether temperature a is hotter than b.
func Hotter(a, b string) bool {
	return slices.Index(temperatureOrder, a) > slices.Index(temperatureOrder, b)
}

// Engagement summarises a lead's activity for its temperature.
type Engagement struct {
	Last time.Time // newest activity
	// Heat weighs every activity by its recency: 1 today, ½ a week ago, ¼ two weeks ago …
	Heat float64
	// LastWeek and PriorWeekly count activities in the last 7 days and, per week, in the 28
	// days before: their ratio is the trend.
	LastWeek, PriorWeekly float64
}

// FrozenAfter is how long after its last activity a lead turns frozen.
const FrozenAfter = 90 * 24 * time.Hour

// HeatHalfLifeDays is how fast engagement cools.
const HeatHalfLifeDays = 7.0

// Trend counts the activities (times in time order) of the 7 days before now and, per week, of
// the 28 days before those. Only the times of the last 35 days are visited, which a scoring
// pass of a lead with a long history needs.
func Trend(times []time.Time, now time.Time) (lastWeek, priorWeekly float64) {
	weekAgo, fiveWeeksAgo := now.Add(-7*24*time.Hour), now.Add(-35*24*time.Hour)
	from, _ := slices.BinarySearchFunc(times, fiveWeeksAgo, time.Time.Compare)
	var prior float64
	for _, t := range times[from:] {
		switch {
		case t.After(now):
			return lastWeek, prior / 4
		case !t.Before(weekAgo):
			lastWeek++
		default:
			prior++
		}
	}
	return lastWeek, prior / 4
}

// Bands are the shares (percent) of a workspace's active leads — active in the last 90 days
// — per temperature, hottest first; the rest is cold.
type Bands struct {
	Hot     int `json:"hot"`
	Warm    int `json:"warm"`
	Neutral int `json:"neutral"`
}

// DefaultBands: the top 10 % hot, the next 20 % warm, the next 30 % neutral, 40 % cold.
var DefaultBands = Bands{Hot: 10, Warm: 20, Neutral: 30}

// Cold is the share left for cold.
func (b Bands) Cold() int { return 100 - b.Hot - b.Warm - b.Neutral }

// Valid: every band holds some leads (at least 1 %), hot at most half, and cold is left.
func (b Bands) Valid() bool {
	return b.Hot >= 1 && b.Hot <= 50 && b.Warm >= 1 && b.Neutral >= 1 && b.Cold() >= 1
}

// Distribution holds the lowest heat of each band among a workspace's active leads.
type Distribution struct {
	Hot, Warm, Neutral float64
}

// Distribute places the bands over the heats of active leads (heat > 0): a lead is in a band
// when its heat is above the band's floor, so the hottest share% of leads are (ties at the
// floor fall to the band below).
func Distribute(heats []float64, b Bands) Distribution {
	var active []float64
	for _, h := range heats {
		if h > 0 {
			active = append(active, h)
		}
	}
	if len(active) == 0 {
		return Distribution{}
	}
	sort.Float64s(active)
	// floor is the heat of the hottest lead outside the hottest share% (0: everyone is in).
	floor := func(share int) float64 {
		k := int(math.Round(float64(share) / 100 * float64(len(active))))
		if k >= len(active) {
			return 0
		}
		return active[len(active)-k-1]
	}
	return Distribution{Hot: floor(b.Hot), Warm: floor(b.Hot + b.Warm), Neutral: floor(b.Hot + b.Warm + b.Neutral)}
}

// Temperature places a lead among its workspace's active leads (docs/rules.md explains it):
// frozen after 90 days without activity, else hot, warm or neutral from the band floors
// down, and cold below. A rising trend does not change the band: lists show it as an arrow.
func Temperature(e Engagement, d Distribution, now time.Time) string {
	if e.Last.IsZero() || now.Sub(e.Last) > FrozenAfter {
		return Frozen
	}
	switch {
	case e.Heat > d.Hot:
		return Hot
	case e.Heat > d.Warm:
		return Warm
	case e.Heat > d.Neutral:
		return Neutral
	}
	return Cold
}
