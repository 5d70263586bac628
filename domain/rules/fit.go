package rules

import (
	"math"
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

// Fit sums the points of the grade rules the lead matches and maps them to A–F.
func Fit(rules []GradeRule, profile Profile, account *Account, scale GradeScale, now time.Time) (float64, string) {
	var points float64
	s := &Subject{Now: now, Profile: profile, Account: account}
	for _, r := range rules {
		if r.When.Match(s) {
			points += r.Points
		}
	}
	switch {
	case points >= scale.A:
		return points, "A"
	case points >= scale.B:
		return points, "B"
	case points >= scale.C:
		return points, "C"
	case points >= scale.D:
		return points, "D"
	case points >= scale.E:
		return points, "E"
	}
	return points, "F"
}

// Temperatures, hottest first.
const (
	Hot     = "hot"
	Warm    = "warm"
	Neutral = "neutral"
	Cold    = "cold"
	Frozen  = "frozen"
)

// Engagement summarises a lead's activity for its temperature.
type Engagement struct {
	Last time.Time // newest activity
	// Heat weighs every activity by its recency: 1 today, ½ a week ago, ¼ two weeks ago …
	Heat float64
	// LastWeek and PriorWeekly count activities in the last 7 days and, per week, in the 28
	// days before: their ratio is the trend.
	LastWeek, PriorWeekly float64
}

// HeatHalfLifeDays is how fast engagement cools.
const HeatHalfLifeDays = 7.0

// Engage computes a lead's engagement at now from its activity times.
func Engage(times []time.Time, now time.Time) Engagement {
	var e Engagement
	var prior float64
	for _, t := range times {
		if t.After(now) {
			continue
		}
		if t.After(e.Last) {
			e.Last = t
		}
		age := now.Sub(t).Hours() / 24
		e.Heat += math.Pow(0.5, age/HeatHalfLifeDays)
		switch {
		case age <= 7:
			e.LastWeek++
		case age <= 35:
			prior++
		}
	}
	e.PriorWeekly = prior / 4
	return e
}

// Distribution is where a workspace's active leads stand: heat percentiles.
type Distribution struct {
	P50, P80, P95 float64
}

// Distribute computes the percentiles of the heats of leads active in the last 90 days.
func Distribute(heats []float64) Distribution {
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
	at := func(p float64) float64 { return active[min(len(active)-1, int(p*float64(len(active))))] }
	return Distribution{P50: at(0.50), P80: at(0.80), P95: at(0.95)}
}

// Temperature places a lead among its workspace's leads (docs/rules.md explains it):
//   - frozen: no activity in 90 days;
//   - hot: active in the last 7 days and either in the top 5 % by heat, or in the top 20 %
//     with a rising trend (at least 3 activities this week and twice the weekly average of
//     the 4 weeks before);
//   - warm: top 20 % by heat;
//   - neutral: above the median;
//   - cold: the rest.
func Temperature(e Engagement, d Distribution, now time.Time) string {
	if e.Last.IsZero() || now.Sub(e.Last) > 90*24*time.Hour {
		return Frozen
	}
	activeThisWeek := now.Sub(e.Last) <= 7*24*time.Hour
	rising := e.LastWeek >= 3 && e.LastWeek >= 2*e.PriorWeekly
	switch {
	case activeThisWeek && (e.Heat >= d.P95 || (e.Heat >= d.P80 && rising)):
		return Hot
	case e.Heat >= d.P80:
		return Warm
	case e.Heat > d.P50:
		return Neutral
	}
	return Cold
}
