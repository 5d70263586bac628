package scoring

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// touchKinds are activities carrying campaigns, channels, UTM parameters and pages.
func touchActivity(rng *rand.Rand, lead, id int64, at time.Time) model.ActivityRow {
	campaigns := []string{"Spring launch", "Webinar invite", "Pricing nurture"}
	a := model.ActivityRow{LeadID: lead, InboundEventID: id, OccurredAt: at, Source: "braze"}
	switch rng.Intn(5) {
	case 0:
		a.EventType, a.CampaignName = "users.messages.email.Open", campaigns[rng.Intn(3)]
		a.Name = "[Email campaign engagement] Opened email " + a.CampaignName
	case 1:
		a.EventType, a.CanvasName = "users.messages.pushnotification.Open", "Onboarding"
		a.Name = "[Push notification engagement] Clicked on notification Onboarding"
	case 2:
		a.EventType, a.Name = eventKinds[2].typ, eventKinds[2].name // pricing_page_viewed, no campaign: not a touch
	case 3:
		a.EventType, a.Name = eventKinds[3].typ, eventKinds[3].name
	default:
		path := []string{"/pricing", "/blog/scoring", "/demo"}[rng.Intn(3)]
		a.Source, a.EventType, a.Name = "web", "web.page_view", "[Website] Visited "+path
		props := map[string]any{"path": path}
		if rng.Intn(2) == 0 {
			props["utm_source"], props["utm_medium"] = "google", "cpc"
		}
		a.Properties, _ = json.Marshal(props)
	}
	return a
}

// creditsSnapshot lists every credit row, rounded, in a fixed order.
func (e *env) creditsSnapshot() string {
	e.t.Helper()
	rows, err := e.db.Query(`SELECT c.milestone_id, c.lead_id, c.crossed_at, a.dimension, a.value, a.touches, a.first_touch_at,
			round(a.first_touch::numeric, 9), round(a.last_touch::numeric, 9), round(a.linear::numeric, 9),
			round(a.u_shaped::numeric, 9), round(a.w_shaped::numeric, 9), round(a.time_decay::numeric, 9)
		FROM attribution_credits a JOIN milestone_crossings c ON c.workspace_id = a.workspace_id AND c.id = a.crossing_id
		WHERE a.workspace_id = $1 ORDER BY 1, 2, 3, 4, 5`, e.ws)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var m, l, touches int64
		var at, first time.Time
		var dim, value, f, la, li, u, w, d string
		if err := rows.Scan(&m, &l, &at, &dim, &value, &touches, &first, &f, &la, &li, &u, &w, &d); err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %d %s %s %q %d %s %s %s %s %s %s %s\n", m, l, at.UTC().Format(time.RFC3339Nano), dim, value, touches,
			first.UTC().Format(time.RFC3339Nano), f, la, li, u, w, d)
	}
	return b.String()
}

func (e *env) crossingsSnapshot() string {
	e.t.Helper()
	rows, err := e.db.Query(`SELECT milestone_id, lead_id, crossed_at FROM milestone_crossings WHERE workspace_id = $1 ORDER BY 1, 2, 3`, e.ws)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var m, l int64
		var at time.Time
		rows.Scan(&m, &l, &at)
		fmt.Fprintf(&b, "%d %d %s\n", m, l, at.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}

// TestAttributionKeptCurrentEqualsRecomputation sends touches in random order and batches
// (some arriving after their lead crossed, with older times), edits a rule so crossings move,
// and then recomputes from scratch: crossings back-filled from the ledger equal those scoring
// recorded, and credits rebuilt from the activities equal those kept current.
func TestAttributionKeptCurrentEqualsRecomputation(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(30)
	names, _ := e.st.ListScoreNames(e.ctx, e.ws)
	var mainScore int64
	for _, n := range names {
		if n.IsMain {
			mainScore = n.ID
		}
	}
	mql, err := e.st.CreateMilestone(e.ctx, e.ws, attribution.Milestone{Name: "MQL", Kind: attribution.KindScore, ScoreID: mainScore, Threshold: 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateMilestone(e.ctx, e.ws, attribution.Milestone{Name: "Pricing", Kind: attribution.KindLabel, Value: "Pricing this week"}); err != nil {
		t.Fatal(err)
	}
	e.rescoreAll() // the back-fills: no history yet

	rng := rand.New(rand.NewSource(11))
	var acts []model.ActivityRow
	for i := 0; i < 500; i++ {
		acts = append(acts, touchActivity(rng, ids[rng.Intn(len(ids))], int64(i+1), e.now.Add(-time.Duration(rng.Intn(40*24))*time.Hour)))
	}
	rng.Shuffle(len(acts), func(i, j int) { acts[i], acts[j] = acts[j], acts[i] })
	for start := 0; start < len(acts); start += 23 {
		e.ingest(acts[start:min(start+23, len(acts))])
	}
	before := e.count(`SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1 AND milestone_id = $2`, e.ws, mql)
	if before < 5 || e.count(`SELECT count(*) FROM attribution_credits WHERE workspace_id = $1`, e.ws) == 0 {
		t.Fatalf("too few crossings to test: %d", before)
	}

	// An edit raising the pricing rule's points carries more leads over the MQL line.
	stored, _ := e.st.ListRules(e.ctx, e.ws)
	for _, sr := range stored {
		if sr.Name != "Pricing page viewed" {
			continue
		}
		var r rules.Rule
		json.Unmarshal(sr.Definition, &r)
		r.Score.Points, r.Score.Cap = 30, 0
		def, err := Def(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.SaveRule(e.ctx, e.ws, 0, sr.ID, def); err != nil {
			t.Fatal(err)
		}
	}
	e.rescoreAll()
	after := e.count(`SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1 AND milestone_id = $2`, e.ws, mql)
	if after <= before {
		t.Fatalf("the edit moved no crossing: %d before, %d after", before, after)
	}
	// Late touches: older activities of leads that crossed already.
	var late []model.ActivityRow
	for i := 0; i < 60; i++ {
		late = append(late, touchActivity(rng, ids[rng.Intn(len(ids))], int64(1000+i), e.now.Add(-time.Duration(rng.Intn(40*24))*time.Hour)))
	}
	e.ingest(late[:30])
	e.ingest(late[30:])

	kept, crossings := e.creditsSnapshot(), e.crossingsSnapshot()
	t.Logf("%d MQL crossings before the edit, %d after; %d credit rows", before, after, strings.Count(kept, "\n"))

	// From scratch: crossings from the ledger by the back-fill, credits from the activities.
	e.exec(`DELETE FROM milestone_crossings WHERE workspace_id = $1`, e.ws)
	e.exec(`UPDATE milestones SET backfill_lead = 0, backfilled_at = NULL WHERE workspace_id = $1`, e.ws)
	err = e.st.InTx(e.ctx, func(tx *store.Tx) error {
		for _, id := range []string{fmt.Sprint(mql), fmt.Sprint(mql + 1)} {
			if err := e.st.EnqueueJob(e.ctx, tx, e.ws, store.JobMilestoneBackfill, id, e.now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	if got := e.crossingsSnapshot(); got != crossings {
		t.Fatalf("back-filled crossings differ from recorded ones\nrecorded:\n%s\nback-filled:\n%s", crossings, got)
	}
	if got := e.creditsSnapshot(); got != kept {
		t.Fatalf("credits recomputed from scratch differ from those kept current\nkept:\n%s\nrecomputed:\n%s", kept, got)
	}
	// And a rebuild (the settings' job) changes nothing either.
	if err := e.st.EnqueueJob(e.ctx, nil, e.ws, store.JobAttributionRebuild, "", e.now); err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	if got := e.creditsSnapshot(); got != kept {
		t.Fatal("a rebuild changed the credits")
	}
	// Every crossing with touches has, per dimension, credits summing to one per model.
	if n := e.count(`SELECT count(*) FROM (SELECT crossing_id, dimension FROM attribution_credits WHERE workspace_id = $1
			GROUP BY 1, 2 HAVING abs(sum(linear) - 1) > 1e-9 OR abs(sum(u_shaped) - 1) > 1e-9 OR abs(sum(time_decay) - 1) > 1e-9) s`, e.ws); n != 0 {
		t.Fatalf("%d crossing dimensions do not sum to 1", n)
	}
}

// TestGradeAndStatusMilestonesBackfillFromLeads: grades and Salesforce statuses are not in the
// ledger; a new milestone gives each lead already there a crossing (grade: when the lead was
// created; status: when it last changed), once.
func TestGradeAndStatusMilestonesBackfillFromLeads(t *testing.T) {
	e := newEnv(t)
	ids := e.leads(20)
	e.exec(`UPDATE leads SET grade = (ARRAY['A','B','C','D'])[1 + id % 4], status = CASE WHEN id % 5 = 0 THEN 'qualified' ELSE 'Working' END
		WHERE workspace_id = $1`, e.ws)
	want := map[string]int{"B": e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND grade IN ('A', 'B')`, e.ws),
		"status": e.count(`SELECT count(*) FROM leads WHERE workspace_id = $1 AND status = 'qualified'`, e.ws)}
	if want["B"] == 0 || want["status"] == 0 || want["status"] == len(ids) {
		t.Fatalf("seed %v", want)
	}
	fit, err := e.st.CreateMilestone(e.ctx, e.ws, attribution.Milestone{Name: "Good fit", Kind: attribution.KindGrade, Value: "B"})
	if err != nil {
		t.Fatal(err)
	}
	sql, err := e.st.CreateMilestone(e.ctx, e.ws, attribution.Milestone{Name: "SQL", Kind: attribution.KindStatus, Value: "Qualified"})
	if err != nil {
		t.Fatal(err)
	}
	e.rescoreAll()
	e.rescoreAll()
	for m, n := range map[int64]int{fit: want["B"], sql: want["status"]} {
		if got := e.count(`SELECT count(*) FROM milestone_crossings WHERE workspace_id = $1 AND milestone_id = $2`, e.ws, m); got != n {
			t.Fatalf("milestone %d: %d crossings, want %d", m, got, n)
		}
	}
	if n := e.count(`SELECT count(*) FROM milestones WHERE workspace_id = $1 AND backfilled_at IS NULL`, e.ws); n != 0 {
		t.Fatalf("%d back-fills unfinished", n)
	}
}
