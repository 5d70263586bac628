package rules

import (
	"math"
	"math/rand"
	"slices"
	"testing"
	"time"
)

func TestFitGrade(t *testing.T) {
	rules := []GradeRule{
		{ID: 1, Points: 40, When: compile(t, `{"combinator":"and","rules":[{"field":"profile.title","operator":"matches","value":"(?i)head|chief|vp"}]}`)},
		{ID: 2, Points: 30, When: compile(t, `{"combinator":"and","rules":[{"field":"account.employees","operator":">=","value":500}]}`)},
		{ID: 3, Points: 15, When: compile(t, `{"combinator":"and","rules":[{"field":"profile.country","operator":"in","value":["CH","DE","AT"]}]}`)},
		{ID: 4, Points: -50, When: compile(t, `{"combinator":"and","rules":[{"field":"profile.email_domain","operator":"in","value":["gmail.com"]}]}`)},
	}
	s := subject()
	for _, tc := range []struct {
		p     Profile
		a     *Account
		grade string
		pts   float64
	}{
		{s.Profile, s.Account, "A", 85},                                 // head + big account + CH
		{Profile{Title: "Engineer", Country: "CH"}, s.Account, "C", 45}, // big account + CH
		{Profile{Title: "VP Sales"}, nil, "C", 40},
		{Profile{Country: "DE"}, nil, "E", 15},
		{Profile{Email: "x@gmail.com", Country: "CH"}, nil, "F", -35},
	} {
		pts, grade, _ := Fit(rules, tc.p, tc.a, DefaultGradeScale, now)
		if grade != tc.grade || pts != tc.pts {
			t.Errorf("%+v: %v points, grade %s; want %v, %s", tc.p, pts, grade, tc.pts, tc.grade)
		}
	}
	if !DefaultGradeScale.Valid() || (GradeScale{A: 10, B: 20}).Valid() {
		t.Fatal("scale validation")
	}
}

func TestTemperature(t *testing.T) {
	day := 24 * time.Hour
	days := func(ago ...float64) []time.Time {
		var out []time.Time
		for _, a := range ago {
			out = append(out, now.Add(-time.Duration(a*float64(day))))
		}
		return out
	}
	leads := map[string][]time.Time{
		"burst":  days(0.1, 0.5, 1, 1.5, 2, 3), // lots this week
		"steady": days(1, 8, 15, 22, 29),       // weekly
		"fading": days(20, 25, 30, 40),         // a month ago
		"old":    days(100, 120),               // over 90 days
		"riser":  days(0.2, 1, 2, 60),          // new activity after a quiet time
		"none":   nil,
	}
	var heats []float64
	eng := map[string]Engagement{}
	for name, ts := range leads {
		eng[name] = engage(ts, now)
		if name != "old" {
			heats = append(heats, eng[name].Heat)
		}
	}
	// Four active leads, bands 25/25/25/25: one in each.
	d := Distribute(heats, Bands{Hot: 25, Warm: 25, Neutral: 25})
	want := map[string]string{"burst": Hot, "riser": Warm, "steady": Neutral, "fading": Cold, "old": Frozen, "none": Frozen}
	for name, w := range want {
		if got := Temperature(eng[name], d, now); got != w {
			t.Errorf("%s: %s, want %s (heat %.2f, dist %+v)", name, got, w, eng[name].Heat, d)
		}
	}
	// A week of silence cools the hottest lead.
	later := now.Add(14 * day)
	if got := Temperature(engage(leads["burst"], later), d, later); got == Hot {
		t.Errorf("two weeks later still %s", got)
	}
}

// TestBandsHoldTheirShares: over many leads, each band holds its share of the active ones.
func TestBandsHoldTheirShares(t *testing.T) {
	var heats []float64
	for i := 1; i <= 1000; i++ {
		heats = append(heats, float64(i%97)+float64(i)/1000) // distinct, unordered
	}
	for _, b := range []Bands{DefaultBands, {Hot: 5, Warm: 15, Neutral: 40}, {Hot: 50, Warm: 1, Neutral: 1}} {
		d := Distribute(heats, b)
		count := map[string]int{}
		for _, h := range heats {
			count[Temperature(Engagement{Last: now, Heat: h}, d, now)]++
		}
		want := map[string]int{Hot: b.Hot * 10, Warm: b.Warm * 10, Neutral: b.Neutral * 10, Cold: b.Cold() * 10}
		for band, n := range want {
			if count[band] != n {
				t.Errorf("bands %+v: %s holds %d of 1,000, want %d", b, band, count[band], n)
			}
		}
	}
	if !DefaultBands.Valid() || (Bands{Hot: 60, Warm: 20, Neutral: 10}).Valid() || (Bands{Hot: 10, Warm: 0, Neutral: 30}).Valid() ||
		(Bands{Hot: 40, Warm: 30, Neutral: 30}).Valid() {
		t.Fatal("band validation")
	}
}

func TestHotter(t *testing.T) {
	order := []string{"", Frozen, Cold, Neutral, Warm, Hot} // an unknown temperature is coldest
	for i, a := range order {
		for j, b := range order {
			if got := Hotter(a, b); got != (i > j) {
				t.Errorf("Hotter(%q, %q) = %v", a, b, got)
			}
		}
	}
}

// TestTrendCountsTheWeeks: Trend, which visits only the last five weeks of ordered times,
// counts as a plain pass over all of them does, at the weeks' edges too.
func TestTrendCountsTheWeeks(t *testing.T) {
	const day = 24 * time.Hour
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(7))
	edges := []time.Duration{0, 7 * day, 7*day + time.Microsecond, 7*day - time.Microsecond, 35 * day, 35*day + time.Microsecond, 35*day - time.Microsecond, -time.Hour}
	for round := 0; round < 200; round++ {
		var times []time.Time
		for i := rng.Intn(60); i > 0; i-- {
			times = append(times, now.Add(-time.Duration(rng.Int63n(int64(80*day)))))
		}
		for _, ago := range edges[:rng.Intn(len(edges)+1)] {
			times = append(times, now.Add(-ago))
		}
		slices.SortFunc(times, time.Time.Compare)
		var week, prior float64
		for _, tm := range times {
			switch age := now.Sub(tm); {
			case age < 0:
			case age <= 7*day:
				week++
			case age <= 35*day:
				prior++
			}
		}
		if gotWeek, gotPrior := Trend(times, now); gotWeek != week || gotPrior != prior/4 {
			t.Fatalf("round %d: Trend = %v, %v; counted %v, %v", round, gotWeek, gotPrior, week, prior/4)
		}
	}
}

// engage computes a lead's engagement at now from its activity times, in any order, with its
// heat summed over them: the temperature tests' leads (scoring folds heat as each activity
// arrives instead, and counts the trend with Trend).
func engage(times []time.Time, now time.Time) Engagement {
	var e Engagement
	times = slices.SortedFunc(slices.Values(times), time.Time.Compare)
	for _, t := range times {
		if t.After(now) {
			continue
		}
		if t.After(e.Last) {
			e.Last = t
		}
		e.Heat += math.Pow(0.5, now.Sub(t).Hours()/24/HeatHalfLifeDays)
	}
	e.LastWeek, e.PriorWeekly = Trend(times, now)
	return e
}
