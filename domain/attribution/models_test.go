package attribution

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func day(n float64) time.Time { return t0.Add(time.Duration(n * 24 * float64(time.Hour))) }

func touches(days ...float64) []Touch {
	out := make([]Touch, len(days))
	for i, d := range days {
		out[i] = Touch{ActivityID: int64(i + 1), At: day(d), Channel: "Email"}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func checkWeights(t *testing.T, name string, got []float64, want ...float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d weights, want %d (%v)", name, len(got), len(want), got)
	}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Errorf("%s: weight %d = %.6f, want %.6f (all %v)", name, i, got[i], want[i], got)
		}
	}
}

// Five touches, the lead created at the third: every model on numbers worked by hand.
func TestModelsOnFiveTouches(t *testing.T) {
	in, w := Weights(touches(0, 1, 2, 3, 4), day(4), day(2), DefaultSettings)
	if len(in) != 5 {
		t.Fatalf("%d touches selected", len(in))
	}
	checkWeights(t, "first", w[FirstTouch], 1, 0, 0, 0, 0)
	checkWeights(t, "last", w[LastTouch], 0, 0, 0, 0, 1)
	checkWeights(t, "linear", w[Linear], 0.2, 0.2, 0.2, 0.2, 0.2)
	// 40 first, 40 last, 20 shared by the three between.
	checkWeights(t, "u", w[UShaped], 0.4, 0.2/3, 0.2/3, 0.2/3, 0.4)
	// 30 first, 30 creation (day 2), 30 last, 10 shared by days 1 and 3.
	checkWeights(t, "w", w[WShaped], 0.3, 0.05, 0.3, 0.05, 0.3)
	// Ages 4,3,2,1,0 days, half-life 7: weights 2^(-age/7), normalised.
	var raw [5]float64
	var sum float64
	for i, age := range []float64{4, 3, 2, 1, 0} {
		raw[i] = math.Pow(0.5, age/7)
		sum += raw[i]
	}
	checkWeights(t, "decay", w[TimeDecay], raw[0]/sum, raw[1]/sum, raw[2]/sum, raw[3]/sum, raw[4]/sum)
}

// One touch takes all the credit in every model.
func TestSingleTouchTakesEverything(t *testing.T) {
	_, w := Weights(touches(0), day(1), day(0), DefaultSettings)
	for _, m := range Models {
		checkWeights(t, m.Key(), w[m], 1)
	}
}

// Two touches: the shaped models split 50/50 (no touch between to take the rest).
func TestTwoTouchesSplitShapedModelsEvenly(t *testing.T) {
	_, w := Weights(touches(0, 1), day(1), day(0), DefaultSettings)
	checkWeights(t, "u", w[UShaped], 0.5, 0.5)
	checkWeights(t, "w", w[WShaped], 0.5, 0.5)
	checkWeights(t, "linear", w[Linear], 0.5, 0.5)
}

// Three touches: W-shaped has no touch between its three key touches; each gets a third.
func TestThreeTouchesWShaped(t *testing.T) {
	_, w := Weights(touches(0, 1, 2), day(2), day(0), DefaultSettings)
	checkWeights(t, "w", w[WShaped], 1.0/3, 1.0/3, 1.0/3)
	checkWeights(t, "u", w[UShaped], 0.4, 0.2, 0.4)
}

// Touches after the crossing earn nothing; one at the crossing's instant is its last touch.
func TestTouchesAfterTheCrossingAreLeftOut(t *testing.T) {
	in, w := Weights(touches(0, 2, 3, 5), day(3), day(0), DefaultSettings)
	if len(in) != 3 || in[2].ActivityID != 3 {
		t.Fatalf("selected %+v", in)
	}
	checkWeights(t, "last", w[LastTouch], 0, 0, 1)
}

// The lookback's edge is inclusive: a touch exactly 90 days before counts, one a second
// earlier does not.
func TestLookbackEdge(t *testing.T) {
	crossed := day(100)
	edge := crossed.Add(-90 * 24 * time.Hour)
	in, w := Weights([]Touch{
		{ActivityID: 1, At: edge.Add(-time.Second)},
		{ActivityID: 2, At: edge},
		{ActivityID: 3, At: crossed},
	}, crossed, day(0), DefaultSettings)
	if len(in) != 2 || in[0].ActivityID != 2 {
		t.Fatalf("selected %+v", in)
	}
	checkWeights(t, "first", w[FirstTouch], 1, 0)
	short := Settings{LookbackDays: 30, HalfLifeDays: 7}
	if in, _ := Weights(touches(0, 50, 70), day(71), day(0), short); len(in) != 2 {
		t.Errorf("30-day lookback kept %d touches, want 2", len(in))
	}
}

// Touches at the same instant are ordered by activity id, so the first and last are fixed.
func TestTiesOrderByActivity(t *testing.T) {
	in, w := Weights([]Touch{{ActivityID: 9, At: day(1)}, {ActivityID: 4, At: day(1)}, {ActivityID: 7, At: day(1)}}, day(1), day(0), DefaultSettings)
	if in[0].ActivityID != 4 || in[2].ActivityID != 9 {
		t.Fatalf("order %+v", in)
	}
	checkWeights(t, "first", w[FirstTouch], 1, 0, 0)
	checkWeights(t, "decay", w[TimeDecay], 1.0/3, 1.0/3, 1.0/3)
}

// W-shaped's creation touch: the first touch at or after the lead was created; when that is
// the last touch (or there is none), the middle one.
func TestWShapedCreationTouch(t *testing.T) {
	_, w := Weights(touches(0, 1, 2, 3, 4, 5), day(5), day(0.5), DefaultSettings)
	checkWeights(t, "created day 0.5", w[WShaped], 0.3, 0.3, 0.1/3, 0.1/3, 0.1/3, 0.3)
	_, w = Weights(touches(0, 1, 2, 3, 4, 5), day(5), day(9), DefaultSettings)
	checkWeights(t, "created after", w[WShaped], 0.3, 0.1/3, 0.1/3, 0.3, 0.1/3, 0.3)
}

// The half-life is a setting: a touch one half-life older weighs half.
func TestTimeDecayHalfLife(t *testing.T) {
	_, w := Weights(touches(0, 14), day(14), day(0), Settings{LookbackDays: 90, HalfLifeDays: 14})
	checkWeights(t, "decay", w[TimeDecay], 1.0/3, 2.0/3)
}

func TestNoTouchesNoCredit(t *testing.T) {
	in, w := Weights(nil, day(1), day(0), DefaultSettings)
	if in != nil || w[Linear] != nil {
		t.Fatalf("credit without touches: %v %v", in, w)
	}
	if c := Credits(touches(5), day(1), day(0), DefaultSettings); len(c) != 0 {
		t.Fatalf("credits for a touch after the crossing: %+v", c)
	}
}

// Credits per dimension value sum each model's shares; each dimension sums to 1.
func TestCreditsPerDimension(t *testing.T) {
	ts := []Touch{
		{ActivityID: 1, At: day(0), Campaign: "Campaign: Spring", Channel: "Email"},
		{ActivityID: 2, At: day(1), Channel: "Web", Page: "/pricing", Source: "google / cpc"},
		{ActivityID: 3, At: day(2), Campaign: "Campaign: Spring", Channel: "Email"},
	}
	credits := Credits(ts, day(2), day(0), DefaultSettings)
	sums := map[Dimension]float64{}
	byKey := map[string]Credit{}
	for _, c := range credits {
		sums[c.Dimension] += c.Models[Linear]
		byKey[string(c.Dimension)+"|"+c.Value] = c
	}
	for _, d := range Dimensions {
		if !near(sums[d], 1) {
			t.Errorf("%s: linear credits sum to %v", d, sums[d])
		}
	}
	spring := byKey["campaign|Campaign: Spring"]
	if spring.Touches != 2 || !near(spring.Models[Linear], 2.0/3) || !near(spring.Models[UShaped], 0.8) || !spring.FirstAt.Equal(day(0)) {
		t.Errorf("Spring: %+v", spring)
	}
	if none := byKey["campaign|"]; !near(none.Models[FirstTouch], 0) || !near(none.Models[UShaped], 0.2) {
		t.Errorf("no campaign: %+v", none)
	}
	if web := byKey["channel|Web"]; !near(web.Models[LastTouch], 0) || !near(web.Models[Linear], 1.0/3) {
		t.Errorf("web: %+v", web)
	}
}

func TestTouchOf(t *testing.T) {
	cases := []struct {
		in   ActivityFacts
		want Touch
		ok   bool
	}{
		{ActivityFacts{EventType: "users.messages.email.Open", CampaignName: "Spring"}, Touch{Campaign: "Campaign: Spring", Channel: "Email"}, true},
		{ActivityFacts{EventType: "users.messages.pushnotification.Open", CanvasID: "cv-1"}, Touch{Campaign: "Canvas: cv-1", Channel: "Push"}, true},
		{ActivityFacts{EventType: "users.canvas.Entry", CanvasName: "Onboarding"}, Touch{Campaign: "Canvas: Onboarding"}, true},
		{ActivityFacts{EventType: "web.page_view", Path: "/pricing", UTMSource: "google", UTMCampaign: "brand"}, Touch{Campaign: "UTM: brand", Channel: "Web", Source: "google / (no medium)", Page: "/pricing"}, true},
		{ActivityFacts{EventType: "users.behaviors.Purchase"}, Touch{}, false},
		{ActivityFacts{EventType: "users.behaviors.CustomEvent"}, Touch{}, false},
	}
	for _, c := range cases {
		got, ok := TouchOf(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("TouchOf(%+v) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestMilestoneCrossing(t *testing.T) {
	mql := Milestone{ID: 1, Kind: KindScore, ScoreID: 7, Threshold: 60}
	for _, c := range []struct {
		before, after float64
		want          bool
	}{{59, 60, true}, {0, 100, true}, {60, 70, false}, {70, 50, false}, {10, 59.9, false}} {
		got := mql.Crossed(Change{ScoresBefore: map[int64]float64{7: c.before}, ScoresAfter: map[int64]float64{7: c.after}})
		if got != c.want {
			t.Errorf("score %v→%v crossed = %v", c.before, c.after, got)
		}
	}
	hot := Milestone{Kind: KindLabel, Value: "Pricing interest"}
	if !hot.Crossed(Change{LabelsAfter: []string{"pricing interest"}}) || hot.Crossed(Change{LabelsBefore: []string{"Pricing interest"}, LabelsAfter: []string{"Pricing interest"}}) {
		t.Error("label milestone")
	}
	b := Milestone{Kind: KindGrade, Value: "B"}
	for _, c := range []struct {
		before, after string
		want          bool
	}{{"C", "B", true}, {"", "A", true}, {"B", "A", false}, {"A", "C", false}, {"D", "C", false}} {
		if got := b.Crossed(Change{GradeBefore: c.before, GradeAfter: c.after}); got != c.want {
			t.Errorf("grade %q→%q crossed = %v", c.before, c.after, got)
		}
	}
}

func TestStatusCrossed(t *testing.T) {
	q := Milestone{Kind: KindStatus, Value: "Qualified"}
	if !q.StatusCrossed("Working", "qualified") || !q.StatusCrossed("", "Qualified") || q.StatusCrossed("Qualified", "QUALIFIED") || q.StatusCrossed("Qualified", "Converted") {
		t.Fatal("status crossing")
	}
	if (Milestone{Kind: KindLabel, Value: "Qualified"}).StatusCrossed("", "Qualified") {
		t.Fatal("a label milestone crossed by a status")
	}
}

// History back-fill finds the crossing inside a line covering several activities and judges
// a pass as a whole.
func TestFromLedger(t *testing.T) {
	mql := Milestone{ID: 3, Kind: KindScore, ScoreID: 7, Threshold: 60}
	steps := []LedgerStep{
		{LeadID: 1, Pass: day(0), ScoreID: 7, Before: 0, After: 80, At: day(0), Covers: []CoveredPoints{{day(0), 30}, {day(1), 30}, {day(2), 20}}},
		{LeadID: 1, Pass: day(10), ScoreID: 7, Before: 80, After: 40, At: day(10)},
		{LeadID: 1, Pass: day(11), ScoreID: 8, Before: 0, After: 90, At: day(11)},
		{LeadID: 1, Pass: day(12), ScoreID: 7, Before: 40, After: 65, At: day(12)},
		// A re-score taking points back and giving new ones: above before, above after.
		{LeadID: 1, Pass: day(20), ScoreID: 7, Before: 65, After: 0, At: day(3)},
		{LeadID: 1, Pass: day(20), ScoreID: 7, Before: 0, After: 70, At: day(4)},
		{LeadID: 1, Pass: day(21), Label: "Hot", Before: 0, After: 1, At: day(13)},
		// Another lead, one pass below then above via a dip.
		{LeadID: 2, Pass: day(30), ScoreID: 7, Before: 50, After: 10, At: day(5)},
		{LeadID: 2, Pass: day(30), ScoreID: 7, Before: 10, After: 61, At: day(6)},
	}
	got := FromLedger(mql, steps)
	if len(got) != 3 || !got[0].At.Equal(day(1)) || !got[1].At.Equal(day(12)) || got[2].LeadID != 2 || !got[2].At.Equal(day(6)) {
		t.Fatalf("crossings %+v", got)
	}
	if got := FromLedger(Milestone{Kind: KindLabel, Value: "hot"}, steps); len(got) != 1 || !got[0].At.Equal(day(13)) {
		t.Fatalf("label crossings %+v", got)
	}
}

func TestMilestoneValidate(t *testing.T) {
	scores := map[int64]bool{7: true}
	for _, c := range []struct {
		m  Milestone
		ok bool
	}{
		{Milestone{Name: "MQL", Kind: KindScore, ScoreID: 7, Threshold: 60}, true},
		{Milestone{Name: "MQL", Kind: KindScore, ScoreID: 8, Threshold: 60}, false},
		{Milestone{Name: "MQL", Kind: KindScore, ScoreID: 7, Threshold: 0}, false},
		{Milestone{Name: "", Kind: KindLabel, Value: "Hot"}, false},
		{Milestone{Name: "Hot", Kind: KindLabel, Value: " "}, false},
		{Milestone{Name: "Fit", Kind: KindGrade, Value: "B"}, true},
		{Milestone{Name: "Fit", Kind: KindGrade, Value: "F"}, false},
		{Milestone{Name: "SQL", Kind: KindStatus, Value: "Qualified"}, true},
		{Milestone{Name: "SQL", Kind: KindStatus, Value: ""}, false},
		{Milestone{Name: "X", Kind: "stage", Value: "Won"}, false},
	} {
		if err := c.m.Validate(scores); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.m, err)
		}
	}
}

func TestReportSchedule(t *testing.T) {
	wed := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // a Wednesday
	if got := NextReport(Weekly, wed); !got.Equal(time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("weekly after Wednesday: %v", got)
	}
	mon := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	if got := NextReport(Weekly, mon); !got.Equal(mon.AddDate(0, 0, 7)) {
		t.Errorf("weekly at its own time: %v", got)
	}
	if got := NextReport(Monthly, wed); !got.Equal(time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("monthly: %v", got)
	}
	if got := NextReport(Monthly, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2027, 1, 1, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("monthly over the year's end: %v", got)
	}
	from, to := ReportPeriod(Weekly, mon)
	if !from.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("weekly period %v – %v", from, to)
	}
	from, to = ReportPeriod(Monthly, time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC))
	if !from.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("monthly period %v – %v", from, to)
	}
}
