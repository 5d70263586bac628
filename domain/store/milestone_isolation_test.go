package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// milestoneSeed is what seedMilestones gives a tenant: a label milestone with one crossing of
// the tenant's lead, credited to a campaign.
type milestoneSeed struct {
	pool         int64
	status       int64
	source       int64
	milestone    int64
	crossing     store.CrossingRow
	subscription int64
	admin        int64
	lead         int64
}

func seedMilestones(t *testing.T, st *store.Store, db *sql.DB, b tenant) milestoneSeed {
	t.Helper()
	ctx := context.Background()
	id, err := st.CreateMilestone(ctx, b.ws.ID, attribution.Milestone{Name: "b-milestone", Kind: attribution.KindLabel, Value: "b-label"})
	if err != nil {
		t.Fatal(err)
	}
	s := milestoneSeed{milestone: id, admin: b.admin.ID, lead: b.lead.ID}
	at := time.Now().UTC().Truncate(time.Second)
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCrossings(ctx, b.ws.ID, []attribution.Crossing{{MilestoneID: id, LeadID: b.lead.ID, At: at}}); err != nil {
			return err
		}
		rows, err := tx.CrossingsAfter(ctx, b.ws.ID, 0, 10)
		if err != nil || len(rows) != 1 {
			return fmt.Errorf("seeded crossing not read: %v %v", rows, err)
		}
		s.crossing = rows[0]
		credit := attribution.Credit{Dimension: attribution.ByCampaign, Value: "b-campaign", Touches: 1, FirstAt: at}
		for m := range credit.Models {
			credit.Models[m] = 1
		}
		return tx.ReplaceCredits(ctx, b.ws.ID, []int64{s.crossing.ID}, []store.CreditRow{{Crossing: s.crossing, Credit: credit}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddCounters(ctx, []model.Counter{{WorkspaceID: b.ws.ID, Hour: time.Now().Truncate(time.Hour), Metric: model.MetricReceived,
		EventType: "web", Count: 777777}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSegmentSource(ctx, b.ws.ID, []byte("b-sealed"), "bsec"); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `UPDATE leads SET owner_email = 'b-owner@b.example', status = 'b-status' WHERE workspace_id = $1`, b.ws.ID)
	pgtest.Exec(t, db, `INSERT INTO leads (workspace_id, email) VALUES ($1, 'b-only-lead@b.example')`, b.ws.ID)
	if s.pool, err = st.SavePool(ctx, b.ws.ID, 0, "b-pool", []int64{b.admin.ID}); err != nil {
		t.Fatal(err)
	}
	db.QueryRow(`SELECT id FROM lead_statuses WHERE workspace_id = $1 AND NOT is_default LIMIT 1`, b.ws.ID).Scan(&s.status)
	db.QueryRow(`SELECT id FROM lead_sources WHERE workspace_id = $1 LIMIT 1`, b.ws.ID).Scan(&s.source)
	if err := st.SubscribeReport(ctx, store.ReportSubscription{WorkspaceID: b.ws.ID, UserID: b.admin.ID, MilestoneID: id, Dimension: "campaign",
		Model: "linear", Frequency: "weekly", NextAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	subs, err := st.ReportSubscriptions(ctx, b.ws.ID, b.admin.ID)
	if err != nil || len(subs) != 1 {
		t.Fatalf("seeded subscription not read: %v %v", subs, err)
	}
	s.subscription = subs[0].ID
	return s
}

// milestoneIsolationCases are TestWorkspaceIsolation's cases for milestones and attribution.
func milestoneIsolationCases(st *store.Store, wsA int64, b milestoneSeed) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		"Milestones": func() error {
			ms, err := st.Milestones(ctx, wsA)
			for _, m := range ms {
				if m.ID == b.milestone || m.Crossings != 0 {
					return errors.New("listed B's milestone or crossings")
				}
			}
			return err
		},
		"MilestoneByID":   func() error { _, err := st.MilestoneByID(ctx, wsA, b.milestone); return notFound(err) },
		"DeleteMilestone": func() error { return notFound(st.DeleteMilestone(ctx, wsA, b.milestone)) },
		"CreateMilestone": func() error {
			_, err := st.CreateMilestone(ctx, wsA, attribution.Milestone{Name: "b-milestone", Kind: attribution.KindLabel, Value: "x"})
			return err // the same name is free in A
		},
		"AttributionSettings": func() error { _, err := st.AttributionSettings(ctx, wsA); return err },
		"SetAttributionSettings": func() error {
			return st.SetAttributionSettings(ctx, wsA, attribution.Settings{LookbackDays: 30, HalfLifeDays: 3})
		},
		"AttributionReport": func() error {
			r, err := st.AttributionReport(ctx, store.ReportQuery{WorkspaceID: wsA, MilestoneID: b.milestone, Dimension: attribution.ByCampaign,
				From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
			return errors.Join(err, none("credits", len(r.Rows)+r.Crossings))
		},
		"SubscribeReport": func() error {
			// A's admin asking for B's milestone gets nothing scheduled.
			err := st.SubscribeReport(ctx, store.ReportSubscription{WorkspaceID: wsA, UserID: b.admin, MilestoneID: b.milestone, Dimension: "page",
				Model: "first", Frequency: "monthly", NextAt: time.Now()})
			if subs, _ := st.ReportSubscriptions(ctx, wsA, b.admin); len(subs) != 0 {
				return errors.New("scheduled B's report in A")
			}
			return err
		},
		"ReportSubscriptions": func() error {
			subs, err := st.ReportSubscriptions(ctx, wsA, b.admin)
			return errors.Join(err, none("scheduled reports", len(subs)))
		},
		"ReportSubscriptionByID": func() error { _, err := st.ReportSubscriptionByID(ctx, wsA, b.subscription); return notFound(err) },
		"Unsubscribe":            func() error { return notFound(st.Unsubscribe(ctx, wsA, b.admin, b.subscription)) },
		"Dashboard": func() error {
			d, err := st.Dashboard(ctx, store.DashboardScope{WorkspaceID: wsA}, 0, time.Now())
			for _, l := range append(d.NewHot, d.Movers...) {
				if l.ID == b.lead {
					return errors.New("named B's lead")
				}
			}
			return err
		},
		"SegmentSource": func() error {
			src, err := st.SegmentSource(ctx, wsA)
			if err == nil && src.SecretHint == "bsec" {
				return errors.New("read B's Segment source")
			}
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		},
		"SaveSegmentSource": func() error { return st.SaveSegmentSource(ctx, wsA, []byte("a"), "asec") },
		"ReadLeadSettings": func() error {
			ls, err := st.ReadLeadSettings(ctx, wsA)
			for _, p := range ls.Pools {
				if p.ID == b.pool {
					return errors.New("listed B's pool")
				}
			}
			for _, m := range ls.Members {
				if m.UserID == b.admin {
					return errors.New("listed B's pool member")
				}
			}
			return err
		},
		"AddLeadStatus":    func() error { return st.AddLeadStatus(ctx, wsA, "b-status-name") },
		"ChangeLeadStatus": func() error { return notFound(st.ChangeLeadStatus(ctx, wsA, b.status, "delete")) },
		"AddLeadSource":    func() error { return st.AddLeadSource(ctx, wsA, "b-source-name") },
		"DeleteLeadSource": func() error { return notFound(st.DeleteLeadSource(ctx, wsA, b.source)) },
		"DeletePool":       func() error { return notFound(st.DeletePool(ctx, wsA, b.pool)) },
		"SavePool": func() error {
			if _, err := st.SavePool(ctx, wsA, b.pool, "stolen", nil); !errors.Is(err, store.ErrNotFound) {
				return errors.New("renamed B's pool: " + errString(err))
			}
			id, err := st.SavePool(ctx, wsA, 0, "a-pool", []int64{b.admin}) // B's user is not A's: no member
			if err != nil {
				return err
			}
			ls, _ := st.ReadLeadSettings(ctx, wsA)
			for _, m := range ls.Members {
				if m.PoolID == id {
					return errors.New("B's user joined A's pool")
				}
			}
			return nil
		},
		"SaveEntryRule": func() error {
			return st.SaveEntryRule(ctx, wsA, store.EntryRule{Path: store.PathManual, OwnerMode: store.OwnerChoice})
		},
		"AddLead": func() error {
			if _, _, err := st.AddLead(ctx, wsA, store.NewLead{Email: "x@a-new.example", PoolID: b.pool, Path: store.PathManual}); !errors.Is(err, store.ErrPoolEmpty) {
				return errors.New("B's pool gave A a lead's owner: " + errString(err))
			}
			if _, _, err := st.AddLead(ctx, wsA, store.NewLead{Email: "y@a-new.example", OwnerUserID: b.admin, Path: store.PathManual}); !errors.Is(err, store.ErrNotFound) {
				return errors.New("B's user owns A's lead: " + errString(err))
			}
			return nil
		},
		"ChangeLeadOwnerStatus": func() error {
			st1 := "stolen"
			return notFound(st.ChangeLeadOwnerStatus(ctx, wsA, b.lead, &st1, nil, 0, "x"))
		},
		"LeadChanges": func() error {
			ch, err := st.LeadChanges(ctx, wsA, b.lead)
			return errors.Join(err, none("lead changes", len(ch)))
		},
		"LeadsAfter": func() error {
			leads, _, _, _, err := st.LeadsAfter(ctx, store.Everyone(wsA), store.LeadFilter{}, nil, 100)
			for _, l := range leads {
				if l.ID == b.lead {
					return errors.New("listed B's lead")
				}
			}
			return err
		},
		"LeadByEmail": func() error {
			_, err := st.LeadByEmail(ctx, store.Everyone(wsA), "b-only-lead@b.example")
			return notFound(err)
		},
		"PatchLead": func() error {
			title := "stolen"
			return notFound(st.PatchLead(ctx, store.Everyone(wsA), b.lead, store.LeadPatch{Title: &title}))
		},
		"LeadStatuses": func() error {
			list, err := st.LeadStatuses(ctx, wsA)
			for _, v := range list {
				if v == "b-status" {
					return errors.New("listed B's status")
				}
			}
			return err
		},
		"OwnsLeads": func() error {
			owns, err := st.OwnsLeads(ctx, wsA, "b-owner@b.example")
			if owns {
				return errors.New("found B's leads")
			}
			return err
		},
		"PipelineHealth": func() error {
			p, err := st.PipelineHealth(ctx, wsA, time.Now().Add(-48*time.Hour))
			for _, d := range p.Days {
				if d.Count >= 777777 {
					return errors.New("counted B's events")
				}
			}
			return err
		},
		"AttributionLeads": func() error {
			ls, err := st.AttributionLeads(ctx, store.ReportQuery{WorkspaceID: wsA, MilestoneID: b.milestone, Dimension: attribution.ByCampaign,
				From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}, "b-campaign", attribution.Linear)
			return errors.Join(err, none("credited leads", len(ls)))
		},
	}
}

// milestoneTxCases are TestTxIsolation's cases for milestones and attribution.
func milestoneTxCases(t *testing.T, db *sql.DB, ctx context.Context, wsA int64, a, b tenant, d milestoneSeed) map[string]func(tx *store.Tx) error {
	c := d.crossing
	return map[string]func(tx *store.Tx) error{
		"MilestoneDefs": func(tx *store.Tx) error {
			ms, err := tx.MilestoneDefs(ctx, wsA)
			return errors.Join(err, none("milestones", len(ms)))
		},
		"InsertCrossings": func(tx *store.Tx) error {
			return tx.InsertCrossings(ctx, wsA, []attribution.Crossing{{MilestoneID: d.milestone, LeadID: b.lead.ID, At: time.Now()}})
		},
		"CrossingsSince": func(tx *store.Tx) error {
			rows, err := tx.CrossingsSince(ctx, wsA, []int64{b.lead.ID}, []time.Time{c.CrossedAt.Add(-time.Hour)}, 48*time.Hour)
			return errors.Join(err, none("crossings", len(rows)))
		},
		"CrossingsAfter": func(tx *store.Tx) error {
			rows, err := tx.CrossingsAfter(ctx, wsA, 0, 100)
			return errors.Join(err, none("crossings", len(rows)))
		},
		"CrossingsOfLeadRange": func(tx *store.Tx) error {
			rows, err := tx.CrossingsOfLeadRange(ctx, wsA, d.milestone, 0, 1<<62)
			return errors.Join(err, none("crossings", len(rows)))
		},
		"TouchFacts": func(tx *store.Tx) error {
			fs, err := tx.TouchFacts(ctx, wsA, []int64{b.lead.ID}, time.Time{}, time.Now().Add(time.Hour))
			return errors.Join(err, none("touches", len(fs)))
		},
		"ReplaceCredits": func(tx *store.Tx) error {
			return tx.ReplaceCredits(ctx, wsA, []int64{c.ID}, []store.CreditRow{{Crossing: c, Credit: attribution.Credit{Dimension: attribution.ByPage, Value: "x"}}})
		},
		"LedgerSteps": func(tx *store.Tx) error {
			ss, err := tx.LedgerSteps(ctx, wsA, attribution.Milestone{Kind: attribution.KindLabel, Value: "b-label"}, 0, 1<<62)
			return errors.Join(err, none("ledger lines", len(ss)))
		},
		"CrossingsFromLeads": func(tx *store.Tx) error {
			// A's graded lead does not cross B's milestone.
			pgtest.Exec(t, db, `UPDATE leads SET grade = 'A' WHERE workspace_id = $1 AND id = $2`, wsA, a.lead.ID)
			return tx.CrossingsFromLeads(ctx, wsA, attribution.Milestone{ID: d.milestone, Kind: attribution.KindGrade, Value: "F"}, 0, 1<<62)
		},
		"MaxLeadID": func(tx *store.Tx) error {
			id, err := tx.MaxLeadID(ctx, wsA)
			if id == b.lead.ID {
				return errors.New("read B's lead id")
			}
			return err
		},
		"SetMilestoneBackfill": func(tx *store.Tx) error { return tx.SetMilestoneBackfill(ctx, wsA, d.milestone, 99, true) },
		"MilestoneForBackfill": func(tx *store.Tx) error {
			_, err := tx.MilestoneForBackfill(ctx, wsA, d.milestone)
			if !errors.Is(err, store.ErrNotFound) {
				return errors.New("want ErrNotFound, got " + errString(err))
			}
			return nil
		},
		"AttributionSettings": func(tx *store.Tx) error { _, err := tx.AttributionSettings(ctx, wsA); return err },
		"ApplyEntryRules": func(tx *store.Tx) error {
			return tx.ApplyEntryRules(ctx, wsA, map[string]string{b.lead.Email: store.PathCurrents}) // B's lead: not A's to change
		},
		"ApplyAccountTraits": func(tx *store.Tx) error {
			return tx.ApplyAccountTraits(ctx, wsA, b.lead.ID, "stolen", "stolen", nil) // B's lead from A: nothing to change
		},
		"ReportSent": func(tx *store.Tx) error {
			sent, err := tx.ReportSent(ctx, wsA, d.subscription, time.Now(), time.Now().Add(time.Hour))
			if sent {
				return errors.New("moved B's scheduled report")
			}
			return err
		},
	}
}
