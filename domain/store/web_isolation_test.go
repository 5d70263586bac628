package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// webSeed is a tenant's website data: a site, a browser tied to its lead by a form (with an
// anonymous activity of another browser), a blocked pair and a tracked link.
type webSeed struct {
	site           model.Site
	visitor, other int64
	link           int64
	tracked        model.TrackedLink
}

func seedWeb(t *testing.T, st *store.Store, b tenant) webSeed {
	t.Helper()
	ctx := context.Background()
	ws := b.ws.ID
	var w webSeed
	var err error
	w.site, err = st.CreateSite(ctx, model.Site{WorkspaceID: ws, Key: fmt.Sprintf("ps_%d_key-of-%s", ws, b.ws.Name), Name: "site " + b.ws.Name,
		Origins: []string{"https://" + b.ws.Name + ".example"}, ExcludedIPs: []string{}, RetentionDays: 90, LinkDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		vs, err := tx.UpsertVisitors(ctx, ws, []model.VisitorSeen{{Key: b.ws.Name + "-browser", SiteID: w.site.ID, At: time.Now()},
			{Key: b.ws.Name + "-other", SiteID: w.site.ID, At: time.Now()}})
		if err != nil {
			return err
		}
		w.visitor, w.other = vs[b.ws.Name+"-browser"].ID, vs[b.ws.Name+"-other"].ID
		if err := tx.InsertActivityRows(ctx, ws, []model.ActivityRow{{VisitorID: w.other, InboundEventID: 900000 + ws,
			OccurredAt: time.Now(), Source: "web", EventType: "web.page_view", Name: "[Website] Visited /"}}); err != nil {
			return err
		}
		if _, err := tx.LinkVisitor(ctx, ws, model.IdentityLink{VisitorID: w.visitor, LeadID: b.lead.ID, Reason: model.LinkForm}); err != nil {
			return err
		}
		return tx.NoteOriginHits(ctx, ws, []model.OriginSeen{{SiteID: w.site.ID, Origin: "https://" + b.ws.Name + ".example", LastHitAt: time.Now(), Hits: 1}})
	})
	if err != nil {
		t.Fatal(err)
	}
	links, err := st.IdentityLinksOfLead(ctx, ws, b.lead.ID)
	if err != nil || len(links) != 1 {
		t.Fatalf("seed link: %v %v", links, err)
	}
	w.link = links[0].ID
	w.tracked, err = st.CreateTrackedLink(ctx, model.TrackedLink{WorkspaceID: ws, Token: fmt.Sprintf("%d-%s-token", ws, b.ws.Name),
		LeadID: b.lead.ID, SiteID: w.site.ID, Target: "https://" + b.ws.Name + ".example/x", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// webIsolationCases are TestWorkspaceIsolation's cases for sites, links and identity links:
// called as A with B's ids, keys and tokens.
func webIsolationCases(t *testing.T, st *store.Store, db *sql.DB, wsA int64, b tenant, w webSeed) map[string]func() error {
	ctx := context.Background()
	count := func(q string, args ...any) int { return pgtest.Count(t, db, q, args...) }
	return map[string]func() error{
		"CreateSite": func() error {
			s, err := st.CreateSite(ctx, model.Site{WorkspaceID: wsA, Key: w.site.Key, Name: "A's", Origins: []string{"https://a.example"},
				ExcludedIPs: []string{}, RetentionDays: 90, LinkDays: 30})
			if err != nil {
				return err // B's key must not stand in A's way: keys are unique per workspace
			}
			return st.DeleteSite(ctx, wsA, s.ID) // the other cases look for B's key as A
		},
		"UpdateSite": func() error {
			s := w.site
			s.WorkspaceID, s.Name = wsA, "renamed by A"
			return notFound(st.UpdateSite(ctx, s))
		},
		"DeleteSite": func() error { return notFound(st.DeleteSite(ctx, wsA, w.site.ID)) },
		"ListSites": func() error {
			sites, err := st.ListSites(ctx, wsA)
			for _, s := range sites {
				if s.ID == w.site.ID {
					return errors.New("listed B's site")
				}
			}
			return err
		},
		"SiteByID":  func() error { _, err := st.SiteByID(ctx, wsA, w.site.ID); return notFound(err) },
		"SiteByKey": func() error { _, err := st.SiteByKey(ctx, wsA, w.site.Key); return notFound(err) },
		"OriginsSeen": func() error {
			seen, err := st.OriginsSeen(ctx, wsA)
			for _, o := range seen {
				if o.SiteID == w.site.ID {
					return errors.New("listed B's origins")
				}
			}
			return err
		},
		"CreateTrackedLink": func() error {
			_, err := st.CreateTrackedLink(ctx, model.TrackedLink{WorkspaceID: wsA, Token: "a-token", LeadID: b.lead.ID, SiteID: w.site.ID,
				Target: "https://a.example", ExpiresAt: time.Now().Add(time.Hour)})
			if err == nil {
				return errors.New("A made a link for B's lead on B's site")
			}
			return nil
		},
		"TrackedLinksOfLead": func() error {
			links, err := st.TrackedLinksOfLead(ctx, wsA, b.lead.ID)
			if len(links) != 0 {
				return errors.New("listed B's links")
			}
			return err
		},
		"TrackedLinkByToken": func() error { _, err := st.TrackedLinkByToken(ctx, wsA, w.tracked.Token); return notFound(err) },
		"CountLinkClick": func() error {
			if err := st.CountLinkClick(ctx, wsA, w.tracked.ID); err != nil {
				return err
			}
			if count(`SELECT clicks FROM tracked_links WHERE workspace_id = $1 AND id = $2`, b.ws.ID, w.tracked.ID) != 0 {
				return errors.New("counted a click on B's link")
			}
			return nil
		},
		"IdentityLinksOfLead": func() error {
			links, err := st.IdentityLinksOfLead(ctx, wsA, b.lead.ID)
			if len(links) != 0 {
				return errors.New("listed B's identity links")
			}
			return err
		},
		"InsertInboundGroups": func() error {
			n, err := st.InsertInboundGroups(ctx, model.SourceWeb, map[int64][]model.NewInboundEvent{wsA: {{EventID: "b-web-event",
				EventType: "web.page", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundPending}}})
			if err == nil && n[wsA] != 1 {
				return errors.New("B's event id kept A's event out")
			}
			return err
		},
	}
}

// webTxCases are TestTxIsolation's cases for the website's transactional methods.
func webTxCases(ctx context.Context, wsA int64, a, b tenant, w webSeed, rescoreJob int64) map[string]func(tx *store.Tx) error {
	return map[string]func(tx *store.Tx) error{
		"UpsertVisitors": func(tx *store.Tx) error {
			vs, err := tx.UpsertVisitors(ctx, wsA, []model.VisitorSeen{{Key: b.ws.Name + "-browser", SiteID: w.site.ID, At: time.Now()}})
			if vs[b.ws.Name+"-browser"].ID == w.visitor {
				return errors.New("A's browser is B's")
			}
			return err
		},
		"MarkVisitorInternal": func(tx *store.Tx) error { return tx.MarkVisitorInternal(ctx, wsA, w.visitor) },
		"StaffEmails": func(tx *store.Tx) error {
			m, err := tx.StaffEmails(ctx, wsA, []string{b.admin.Email})
			if len(m) != 0 {
				return errors.New("B's admin is A's staff")
			}
			return err
		},
		"LinkBlocked": func(tx *store.Tx) error {
			_, err := tx.LinkBlocked(ctx, wsA, w.visitor, b.lead.ID)
			return err
		},
		"LinkVisitor": func(tx *store.Tx) error {
			r, err := tx.LinkVisitor(ctx, wsA, model.IdentityLink{VisitorID: w.other, LeadID: a.lead.ID, Reason: model.LinkForm})
			if len(r.Moved) != 0 {
				return errors.New("moved B's activities")
			}
			return err
		},
		"LinkVisitor, a late identification": func(tx *store.Tx) error {
			r, err := tx.LinkVisitor(ctx, wsA, model.IdentityLink{VisitorID: w.visitor, LeadID: a.lead.ID, Reason: model.LinkAPI,
				ReplacedLeadID: &b.lead.ID, IdentifiedAt: time.Now().Add(-time.Hour), Until: time.Now().Add(-time.Minute)})
			if len(r.Moved) != 0 {
				return errors.New("took B's activities")
			}
			return err
		},
		"ScoreAgainNow": func(tx *store.Tx) error { return tx.ScoreAgainNow(ctx, wsA, []int64{b.lead.ID}) },
		"StandingLinks": func(tx *store.Tx) error {
			links, err := tx.StandingLinks(ctx, wsA, []int64{w.visitor})
			if len(links) != 0 {
				return errors.New("listed B's browser's identifications")
			}
			return err
		},
		"UndoIdentityLink": func(tx *store.Tx) error {
			_, _, err := tx.UndoIdentityLink(ctx, wsA, w.link, nil)
			if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("undid B's link, or failed otherwise: %v", err)
			}
			return nil
		},
		"RecountLeadActivity": func(tx *store.Tx) error { return tx.RecountLeadActivity(ctx, wsA, []int64{b.lead.ID}) },
		"NoteOriginHits": func(tx *store.Tx) error {
			return tx.NoteOriginHits(ctx, wsA, []model.OriginSeen{{SiteID: w.site.ID, Origin: "https://b.example", LastHitAt: time.Now(), Hits: 5}})
		},
		"LeadIDsMatchingAfter": func(tx *store.Tx) error {
			ids, err := tx.LeadIDsMatchingAfter(ctx, wsA, []byte(`[{"column":"source","op":"equals","values":["braze","web"]}]`), 0, 1000)
			for _, id := range ids {
				if id == b.lead.ID {
					return errors.New("paged B's lead")
				}
			}
			return err
		},
		"CountTargetedRescore": func(tx *store.Tx) error {
			_, err := tx.CountTargetedRescore(ctx, wsA, rescoreJob, []byte(`[{"column":"source","op":"equals","values":["braze"]}]`))
			return err
		},
		"LinkedLead": func(tx *store.Tx) error {
			lead, err := tx.LinkedLead(ctx, wsA, w.tracked.Token)
			if lead != 0 {
				return errors.New("A's token lookup found B's lead")
			}
			return err
		},
	}
}
