package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// notFound is nil when err is ErrNotFound, else says what came instead.
func notFound(err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return errors.New("want ErrNotFound, got " + errString(err))
	}
	return nil
}

type tenant struct {
	ws     model.Workspace
	admin  model.User
	member model.User
	inv    model.Invitation
	token  []byte
	lead   model.Lead
	apiTok model.APIToken
	rule   model.StoredRule
}

// anotherLead adds a second lead to a tenant's workspace, for tests that need one beside
// the other.
func anotherLead(t *testing.T, st *store.Store, a tenant) model.Lead {
	t.Helper()
	other, err := st.CreateLead(context.Background(), model.Lead{WorkspaceID: a.ws.ID, Email: "other@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return other
}

// seedTenant creates a workspace with an admin, a second (sales) user who joined by
// invitation, a pending invitation and a lead.
func seedTenant(t *testing.T, st *store.Store, name string) tenant {
	t.Helper()
	ctx := context.Background()
	ws, admin, err := st.CreateWorkspaceWithAdmin(ctx,
		model.Workspace{Slug: "acme", Name: name},
		model.User{Email: name + "-admin@example.com", Name: "Admin " + name, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	joinToken := []byte(name + "-join")
	if _, err := st.CreateInvitation(ctx, model.Invitation{WorkspaceID: ws.ID, Email: name + "-sales@example.com",
		Role: model.RoleSales, TokenHash: joinToken, InvitedBy: admin.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	member, err := st.AcceptInvitation(ctx, ws.ID, joinToken, model.User{Name: "Sales " + name, PasswordHash: "x"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	token := []byte(name + "-pending")
	inv, err := st.CreateInvitation(ctx, model.Invitation{WorkspaceID: ws.ID, Email: name + "-new@example.com",
		Role: model.RoleMarketer, TokenHash: token, InvitedBy: admin.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	lead, err := st.CreateLead(ctx, model.Lead{WorkspaceID: ws.ID, Email: name + "-lead@example.com", FirstName: "Lead"})
	if err != nil {
		t.Fatal(err)
	}
	apiTok, err := st.CreateAPIToken(ctx, model.APIToken{WorkspaceID: ws.ID, Kind: model.TokenKindCurrents, Label: "t", TokenHash: []byte(name + "-api"), Hint: "abcd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveBrazeConnection(ctx, model.BrazeConnection{WorkspaceID: ws.ID, RESTEndpoint: "https://rest.fra-01.braze.eu", APIKeyEncrypted: []byte("k"), APIKeyHint: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertInboundBatch(ctx, ws.ID, "braze", []model.NewInboundEvent{{EventID: name + "-e1", EventType: "users.messages.email.Open",
		OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundPending}}, nil); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.ClaimWork(ctx, store.InboundWork, ws.ID, 10, time.Minute, 7)
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		owned, err := tx.TakeWork(ctx, store.InboundWork, ws.ID, []int64{claimed[0].ID}, 7)
		if err != nil {
			return err
		}
		evs, err := tx.InboundEvents(ctx, ws.ID, owned)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if _, err := tx.AddIdentities(ctx, ws.ID, []model.Identity{{Kind: model.IdentityBrazeUser, Value: name + "-braze", LeadID: lead.ID}}); err != nil {
				return err
			}
			if err := tx.InsertActivities(ctx, ws.ID, []model.ActivityRow{{LeadID: lead.ID, InboundEventID: ev.ID, OccurredAt: time.Now(),
				Source: "braze", EventType: ev.EventType, Name: "[Email campaign engagement] Opened email X"}}); err != nil {
				return err
			}

		}
		return tx.EnqueueLookups(ctx, ws.ID, model.LookupBrazeID, []string{name + "-anon"})
	})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := st.SaveRule(ctx, ws.ID, admin.ID, 0, model.RuleDef{Name: "Opens", Kind: "score", Enabled: true, ScoreName: "Lead score",
		Definition: []byte(`{"name":"Opens","kind":"score","enabled":true,"when":{"combinator":"and","rules":[{"field":"event.name","operator":"contains","value":"open"}]},"score":{"score":"Lead score","points":5,"per":"event"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddEventPropertyKeys(ctx, ws.ID, []model.EventPropertyKey{{Key: name + "-prop", Type: "string"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSalesforceApp(ctx, ws.ID, "https://login.salesforce.com", "v62.0", name+"-key", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSalesforceTokens(ctx, ws.ID, model.SalesforceTokens{Method: model.SalesforceOAuth, AccessTokenEnc: []byte("a"), RefreshTokenEnc: []byte("r"),
		InstanceURL: "https://" + name + ".my.salesforce.com", Username: name + "@sf.example"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSyncSettings(ctx, ws.ID, model.DefaultSyncSettings, []model.FieldMap{{PeregrineField: "grade", SalesforceField: name + "_Grade__c", Direction: model.ToSalesforce}}); err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.FinishPush(ctx, ws.ID, "push", "Lead", []model.SyncOutcome{{LeadID: lead.ID, Outcome: model.SyncCreated, SalesforceID: name + "-sfid", Hash: "h"}},
			3, "", func(int) time.Time { return time.Now() })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tenant{ws: ws, admin: admin, member: member, inv: inv, token: token, lead: lead, apiTok: apiTok, rule: rule}
}

func TestCreateWorkspaceWithAdminPicksFreeSlug(t *testing.T) {
	st := pgtest.NewStore(t)
	a := seedTenant(t, st, "a")
	b := seedTenant(t, st, "b")
	if a.ws.Slug != "acme" || b.ws.Slug != "acme-2" {
		t.Fatalf("slugs = %q, %q; want acme, acme-2", a.ws.Slug, b.ws.Slug)
	}
	if a.admin.Role != model.RoleAdmin || a.admin.WorkspaceID != a.ws.ID {
		t.Fatalf("admin = %+v", a.admin)
	}
}

func TestCreateWorkspaceRollsBackOnBadAdmin(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	// An upper-case email breaks the users CHECK constraint after the workspace row is written.
	_, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "x", Name: "X"},
		model.User{Email: "BAD@EXAMPLE.COM", Name: "n", PasswordHash: "x"})
	if err == nil {
		t.Fatal("want an error")
	}
	n, err := st.CountWorkspaces(ctx)
	if err != nil || n != 0 {
		t.Fatalf("workspaces after failed sign-up = %d, %v; want 0", n, err)
	}
}

func TestLastAdminIsProtected(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	if err := st.SetUserRole(ctx, a.ws.ID, a.admin.ID, model.RoleSales); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("demote last admin: %v, want ErrLastAdmin", err)
	}
	if err := st.SetUserActive(ctx, a.ws.ID, a.admin.ID, false); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("deactivate last admin: %v, want ErrLastAdmin", err)
	}
	if err := st.SetUserRole(ctx, a.ws.ID, a.member.ID, model.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserActive(ctx, a.ws.ID, a.admin.ID, false); err != nil {
		t.Fatalf("deactivate one of two admins: %v", err)
	}
	u, _ := st.UserByID(ctx, a.ws.ID, a.admin.ID)
	if u.Active {
		t.Fatal("user still active")
	}
	cands, err := st.LoginCandidates(ctx, a.admin.Email)
	if err != nil || len(cands) != 0 {
		t.Fatalf("deactivated user is a login candidate: %v %v", cands, err)
	}
}

func TestInvitationCanBeAcceptedOnce(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	u, err := st.AcceptInvitation(ctx, a.ws.ID, a.token, model.User{Name: "New", PasswordHash: "x"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != model.RoleMarketer || u.Email != "a-new@example.com" {
		t.Fatalf("user = %+v", u)
	}
	if _, err := st.AcceptInvitation(ctx, a.ws.ID, a.token, model.User{Name: "Again", PasswordHash: "x"}, time.Now()); !errors.Is(err, store.ErrInvitationUsed) {
		t.Fatalf("second accept: %v", err)
	}
}

func TestExpiredInvitationCreatesNothing(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	_, err := st.AcceptInvitation(ctx, a.ws.ID, a.token, model.User{Name: "Late", PasswordHash: "x"}, time.Now().Add(2*time.Hour))
	if !errors.Is(err, store.ErrInvitationExpired) {
		t.Fatalf("accept after expiry: %v", err)
	}
	users, _ := st.ListUsers(ctx, a.ws.ID)
	if len(users) != 2 {
		t.Fatalf("users = %d, want 2", len(users))
	}
}

func TestInvitationForExistingMemberFails(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	tok := []byte("dup")
	if _, err := st.CreateInvitation(ctx, model.Invitation{WorkspaceID: a.ws.ID, Email: a.member.Email, Role: model.RoleSales,
		TokenHash: tok, InvitedBy: a.admin.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err := st.AcceptInvitation(ctx, a.ws.ID, tok, model.User{Name: "Dup", PasswordHash: "x"}, time.Now())
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("accept for existing member: %v, want ErrDuplicate", err)
	}
	inv, _ := st.InvitationByTokenHash(ctx, a.ws.ID, tok)
	if inv.AcceptedAt != nil {
		t.Fatal("invitation marked accepted although no user was created")
	}
}

func TestLoginFailures(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 3; i++ {
		if err := st.RecordLoginFailure(ctx, "k", now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	n, oldest, err := st.LoginFailuresSince(ctx, "k", now.Add(-time.Minute))
	if err != nil || n != 3 || oldest.Sub(now).Abs() > time.Millisecond {
		t.Fatalf("n=%d oldest=%v err=%v", n, oldest, err)
	}
	if n, _, _ := st.LoginFailuresSince(ctx, "other", now.Add(-time.Minute)); n != 0 {
		t.Fatalf("other key counted %d", n)
	}
	if err := st.ClearLoginFailures(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := st.LoginFailuresSince(ctx, "k", now.Add(-time.Minute)); n != 0 {
		t.Fatalf("after clear: %d", n)
	}
}

func TestListLeadsPagesStably(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	for i := 0; i < 5; i++ {
		if _, err := st.CreateLead(ctx, model.Lead{WorkspaceID: a.ws.ID, Email: string(rune('a'+i)) + "@x.com"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]bool{}
	for off := 0; off < 6; off += 2 {
		page, total, err := st.ListLeads(ctx, store.Everyone(a.ws.ID), store.LeadFilter{Limit: 2, Offset: off})
		if err != nil || total != 6 {
			t.Fatalf("total=%d err=%v", total, err)
		}
		for _, l := range page {
			if seen[l.ID] {
				t.Fatalf("lead %d on two pages", l.ID)
			}
			seen[l.ID] = true
		}
	}
	if len(seen) != 6 {
		t.Fatalf("saw %d leads, want 6", len(seen))
	}
	if _, err := st.CreateLead(ctx, model.Lead{WorkspaceID: a.ws.ID, Email: "a@x.com"}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("duplicate lead: %v", err)
	}
}

// TestWorkspaceIsolation calls every store method as workspace A with the ids, emails and
// tokens of workspace B, and checks that nothing of B is read or changed. A new store method
// must get a case here (or be listed as not tenant-scoped), or this test fails.
func TestWorkspaceIsolation(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	b := seedTenant(t, st, "b")
	wsA := a.ws.ID
	count := func(q string, args ...any) int { return pgtest.Count(t, db, q, args...) }
	// B differs from A wherever a read could confuse them: its own sync settings, grade
	// scale, rules version, event names, queued pushes, a quarantined item and a job.
	bSettings := model.DefaultSyncSettings
	bSettings.ReconcileHours, bSettings.PullEveryMinutes = 7, 33
	bMaps, _ := st.FieldMaps(ctx, b.ws.ID)
	if err := st.SaveSyncSettings(ctx, b.ws.ID, bSettings, bMaps); err != nil {
		t.Fatal(err)
	}
	bScale := `{"A": 99, "B": 98, "C": 97, "D": 96, "E": 95}`
	if err := st.SetGradeScale(ctx, b.ws.ID, []byte(bScale)); err != nil {
		t.Fatal(err)
	}
	aVersion, _ := st.RulesVersion(ctx, wsA)
	pgtest.Exec(t, db, `INSERT INTO event_names (workspace_id, name) VALUES ($1, 'b-only event')`, b.ws.ID)
	if _, err := st.EnqueueAllForSalesforce(ctx, b.ws.ID, false); err != nil {
		t.Fatal(err)
	}
	bOutbox := count(`SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1`, b.ws.ID)
	pgtest.Exec(t, db, `INSERT INTO work_quarantine (workspace_id, queue, item_id, item, attempts, reason)
		VALUES ($1, 'salesforce-push', $2, '{}', 5, 'b-reason')`, b.ws.ID, b.lead.ID+1000)
	if err := st.EnqueueJob(ctx, nil, b.ws.ID, "b-kind", "b-key", time.Now()); err != nil {
		t.Fatal(err)
	}
	var bJob, bLookup int64
	db.QueryRow(`SELECT id FROM jobs WHERE workspace_id = $1 AND kind = 'b-kind'`, b.ws.ID).Scan(&bJob)
	db.QueryRow(`SELECT id FROM braze_lookups WHERE workspace_id = $1`, b.ws.ID).Scan(&bLookup)
	pgtest.Exec(t, db, `UPDATE workspaces SET rules_version = rules_version + 100 WHERE id = $1`, b.ws.ID)
	bVersion, _ := st.RulesVersion(ctx, b.ws.ID)
	if bVersion == aVersion {
		t.Fatal("seed: the workspaces' rules versions should differ")
	}
	bSessionHash := []byte("b-session-token-hash")
	bSession, err := st.NewSession(ctx, model.Session{WorkspaceID: b.ws.ID, UserID: b.admin.ID, TokenHash: bSessionHash,
		Data: []byte("b-data"), ExpiresAt: time.Now().Add(time.Hour), UserAgent: "b-agent", IP: "10.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	bSessionRow := func() string {
		var row string
		db.QueryRow(`SELECT s::text FROM user_sessions s WHERE workspace_id = $1 AND id = $2`, b.ws.ID, bSession).Scan(&row)
		return row
	}
	bSessionWas := bSessionRow()
	bSessionSame := func(what string) error {
		if bSessionRow() != bSessionWas {
			return errors.New(what + " changed B's session")
		}
		return nil
	}

	bWeb := seedWeb(t, st, b)
	var bAccount int64
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		ids, err := tx.UpsertAccounts(ctx, b.ws.ID, []string{"b-corp.example"})
		bAccount = ids["b-corp.example"]
		return err
	}); err != nil {
		t.Fatal(err)
	}
	bConn := func() model.SalesforceConnection { c, _ := st.SalesforceConnection(ctx, b.ws.ID); return c }
	bRun := func() model.SyncRun { r, _ := st.ListSyncRuns(ctx, b.ws.ID, false, 1, 0); return r[0] }
	unchangedB := func(what string) error {
		c := bConn()
		if c.ConsumerKey != "b-key" || c.Username != "b@sf.example" || c.ProblemCode != "" || c.APIUsed != nil || c.APISharePercent != 50 {
			return errors.New(what + " changed B's Salesforce connection")
		}
		return nil
	}
	cases := map[string]func() error{
		"SalesforceConnection": func() error {
			c, err := st.SalesforceConnection(ctx, wsA)
			if c.WorkspaceID != wsA {
				return errors.New("loaded B's connection")
			}
			return err
		},
		"SaveSalesforceApp": func() error {
			if err := st.SaveSalesforceApp(ctx, wsA, "https://test.salesforce.com", "v62.0", "a-key2", nil); err != nil {
				return err
			}
			return unchangedB("SaveSalesforceApp")
		},
		"SaveSalesforceTokens": func() error {
			if err := st.SaveSalesforceTokens(ctx, wsA, model.SalesforceTokens{Method: model.SalesforceOAuth, Username: "x"}); err != nil {
				return err
			}
			return unchangedB("SaveSalesforceTokens")
		},
		"UpdateSalesforceAccess": func() error {
			if err := st.UpdateSalesforceAccess(ctx, wsA, []byte("x"), []byte("y"), "https://x"); err != nil {
				return err
			}
			if bConn().InstanceURL != "https://b.my.salesforce.com" {
				return errors.New("changed B's instance")
			}
			return nil
		},
		"ClearSalesforceProblem": func() error {
			pgtest.Exec(t, db, `UPDATE salesforce_outbox SET run_after = now() + interval '1 hour' WHERE workspace_id = $1`, b.ws.ID)
			pgtest.Exec(t, db, `UPDATE salesforce_connections SET paused_until = now() + interval '1 hour' WHERE workspace_id = $1`, b.ws.ID)
			err := st.ClearSalesforceProblem(ctx, wsA)
			if c := bConn(); c.PausedUntil == nil || count(`SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1 AND run_after <= now()`, b.ws.ID) != 0 {
				return errors.New("resumed B's pushes")
			}
			pgtest.Exec(t, db, `UPDATE salesforce_connections SET paused_until = NULL WHERE workspace_id = $1`, b.ws.ID)
			pgtest.Exec(t, db, `UPDATE salesforce_outbox SET run_after = now() WHERE workspace_id = $1`, b.ws.ID)
			return errors.Join(err, unchangedB("ClearSalesforceProblem"))
		},
		"LeadListPage": func() error {
			page, err := st.LeadListPage(ctx, store.Everyone(wsA), 1, store.LeadFilter{Search: b.lead.Email}, "", 0, 50)
			for _, l := range page.Leads {
				if l.WorkspaceID != wsA {
					return errors.New("listed B's lead")
				}
			}
			return err
		},
		"TemperatureBands": func() error {
			pgtest.Exec(t, db, `UPDATE workspaces SET temperature_bands = '{"hot": 33, "warm": 33, "neutral": 33}' WHERE id = $1`, b.ws.ID)
			got, err := st.TemperatureBands(ctx, wsA)
			if got.Hot == 33 {
				return errors.New("read B's bands")
			}
			return err
		},
		"SetTemperatureBands": func() error {
			before := count(`SELECT count(*) FROM jobs WHERE workspace_id = $1`, b.ws.ID)
			err := st.SetTemperatureBands(ctx, wsA, rules.Bands{Hot: 1, Warm: 1, Neutral: 1}, "reheat")
			if got, _ := st.TemperatureBands(ctx, b.ws.ID); got.Hot == 1 || count(`SELECT count(*) FROM jobs WHERE workspace_id = $1`, b.ws.ID) != before {
				return errors.New("changed B's bands")
			}
			return err
		},
		"TemperatureCounts": func() error {
			counts, err := st.TemperatureCounts(ctx, wsA)
			n := 0
			for _, c := range counts {
				n += c
			}
			if n != count(`SELECT count(*) FROM leads WHERE workspace_id = $1`, wsA) {
				return errors.New("counted B's leads")
			}
			return err
		},
		"PullTargets": func() error {
			m, err := st.PullTargets(ctx, wsA, []string{b.lead.Email})
			if l, ok := m[b.lead.Email]; ok && l.ID == b.lead.ID {
				return errors.New("read B's lead")
			}
			return err
		},
		"SetSalesforceProblem": func() error {
			if err := st.SetSalesforceProblem(ctx, wsA, "x", "x", "x", nil); err != nil {
				return err
			}
			return unchangedB("SetSalesforceProblem")
		},
		"SetSalesforceUsage": func() error {
			if err := st.SetSalesforceUsage(ctx, wsA, 1, 2); err != nil {
				return err
			}
			return unchangedB("SetSalesforceUsage")
		},
		"SetSalesforceShare": func() error {
			if err := st.SetSalesforceShare(ctx, wsA, 10); err != nil {
				return err
			}
			return unchangedB("SetSalesforceShare")
		},
		"DisconnectSalesforce": func() error {
			if err := st.DisconnectSalesforce(ctx, wsA); err != nil {
				return err
			}
			return unchangedB("DisconnectSalesforce")
		},
		"SyncSettings": func() error {
			got, err := st.SyncSettings(ctx, wsA)
			if got.ReconcileHours == 7 || got.PullEveryMinutes == 33 {
				return errors.New("read B's sync settings")
			}
			return err
		},
		"FieldMaps": func() error {
			maps, err := st.FieldMaps(ctx, wsA)
			for _, m := range maps {
				if m.SalesforceField == "b_Grade__c" {
					return errors.New("read B's mapping")
				}
			}
			return err
		},
		"SaveSyncSettings": func() error {
			if err := st.SaveSyncSettings(ctx, wsA, model.DefaultSyncSettings, nil); err != nil {
				return err
			}
			if maps, _ := st.FieldMaps(ctx, b.ws.ID); len(maps) != 1 {
				return errors.New("cleared B's mapping")
			}
			return nil
		},
		"EnqueueAllForSalesforce": func() error {
			if _, err := st.EnqueueAllForSalesforce(ctx, wsA, false); err != nil {
				return err
			}
			if count(`SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1`, b.ws.ID) != bOutbox ||
				count(`SELECT count(*) FROM salesforce_sync_jobs WHERE workspace_id = $1`, b.ws.ID) != 1 {
				return errors.New("queued B's leads")
			}
			return nil
		},
		"SyncProgress": func() error {
			total, waiting, err := st.SyncProgress(ctx, wsA)
			if waiting != count(`SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1`, wsA) ||
				total != count(`SELECT COALESCE((SELECT total FROM salesforce_sync_jobs WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1), 0)`, wsA) {
				return errors.New("counted another workspace's sync")
			}
			return err
		},
		"OutboxItems": func() error {
			items, err := st.OutboxItems(ctx, wsA, []int64{b.lead.ID})
			for _, it := range items {
				if count(`SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1 AND lead_id = $2`, wsA, it.LeadID) != 1 {
					return errors.New("read B's outbox row")
				}
			}
			return err
		},
		"PushData": func() error {
			leads, err := st.PushData(ctx, wsA, "Lead", []int64{b.lead.ID})
			if len(leads) != 0 {
				return errors.New("read B's lead for a push")
			}
			return err
		},
		"ScoringStates": func() error {
			states, err := st.ScoringStates(ctx, wsA, []int64{b.lead.ID})
			if len(states) != 0 {
				return errors.New("read B's scoring state")
			}
			return err
		},
		"ListSyncRuns": func() error {
			runs, err := st.ListSyncRuns(ctx, wsA, false, 50, 0)
			for _, r := range runs {
				if r.ID == bRun().ID {
					return errors.New("listed B's run")
				}
			}
			return err
		},
		"SyncRunRecords": func() error {
			recs, err := st.SyncRunRecords(ctx, wsA, bRun().ID, false)
			if len(recs) != 0 {
				return errors.New("read B's run records")
			}
			return err
		},
		"SyncRunRecordsAfter": func() error {
			recs, err := st.SyncRunRecordsAfter(ctx, wsA, 0)
			for _, id := range recs {
				if id == b.lead.ID {
					return errors.New("read B's records")
				}
			}
			return err
		},
		"RetrySalesforceRecord": func() error {
			pgtest.Exec(t, db, `UPDATE salesforce_outbox SET changed_at = '2001-01-01' WHERE workspace_id = $1`, b.ws.ID)
			_ = st.RetrySalesforceRecord(ctx, wsA, b.lead.ID) // A may hold its own row for this id
			if count(`SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1 AND changed_at > '2001-01-01'`, b.ws.ID) != 0 {
				return errors.New("queued B's lead again")
			}
			return nil
		},
		"ApplySalesforceProfile": func() error {
			if err := st.ApplySalesforceProfile(ctx, wsA, b.lead.ID, map[string]string{"title": "Intruder"}); err != nil {
				return err
			}
			if l, _ := st.LeadByID(ctx, b.ws.ID, b.lead.ID); l.Title != "" {
				return errors.New("changed B's lead")
			}
			return nil
		},
		"PullNow": func() error { return st.PullNow(ctx, wsA) },
		"ScoringBacklog": func() error {
			n, err := st.ScoringBacklog(ctx, wsA)
			if n != 0 {
				return errors.New("counted B's queue")
			}
			return err
		},
		"SavePulled": func() error {
			_, _, err := st.SavePulled(ctx, wsA, "Lead", []model.PulledPerson{{SalesforceID: "x", Email: b.lead.Email, Title: "Pulled"}},
				func(string) string { return "" }, nil, 1, "", nil)
			if l, _ := st.LeadByID(ctx, b.ws.ID, b.lead.ID); l.Title != "" {
				return errors.New("changed B's lead")
			}
			return err
		},
		"LeadSalesforceRecord": func() error {
			_, id, _, err := st.LeadSalesforceRecord(ctx, wsA, b.lead.ID)
			if id != "" {
				return errors.New("read B's record")
			}
			return err
		},
		"ListLeadsCapped": func() error {
			leads, _, _, err := st.ListLeadsCapped(ctx, store.Everyone(wsA), store.LeadFilter{Limit: 100, Search: "b-lead"})
			for _, l := range leads {
				if l.WorkspaceID != wsA {
					return errors.New("listed B's lead")
				}
			}
			return err
		},
		"LeadScoreValues": func() error {
			vs, err := st.LeadScoreValues(ctx, wsA, b.lead.ID)
			for _, v := range vs {
				if v.Value != 0 {
					return errors.New("read B's scores")
				}
			}
			return err
		},
		"LeadContributions": func() error {
			cs, err := st.LeadContributions(ctx, wsA, b.lead.ID)
			if len(cs) != 0 {
				return errors.New("read B's contributions")
			}
			return err
		},
		"LeadLedger": func() error {
			ls, err := st.LeadLedger(ctx, wsA, b.lead.ID, 10)
			if len(ls) != 0 {
				return errors.New("read B's ledger")
			}
			return err
		},
		"ListAccounts": func() error {
			as, _, err := st.ListAccounts(ctx, store.Everyone(wsA), store.AccountFilter{Limit: 50})
			for _, a := range as {
				if a.ID == bAccount {
					return errors.New("listed B's account")
				}
			}
			return err
		},
		"AccountByID": func() error { _, err := st.AccountByID(ctx, store.Everyone(wsA), bAccount); return notFound(err) },
		"AccountScoreValues": func() error {
			_, err := st.AccountScoreValues(ctx, wsA, bAccount)
			return err
		},
		"AccountActivities": func() error {
			acts, err := st.AccountActivities(ctx, store.Everyone(wsA), bAccount, 10, 0)
			if len(acts) != 0 {
				return errors.New("listed B's account activities")
			}
			return err
		},
		"UserByID": func() error { _, err := st.UserByID(ctx, wsA, b.admin.ID); return notFound(err) },
		"UserByEmail": func() error {
			_, err := st.UserByEmail(ctx, wsA, b.admin.Email)
			return notFound(err)
		},
		"ListUsers": func() error {
			users, err := st.ListUsers(ctx, wsA)
			for _, u := range users {
				if u.WorkspaceID != wsA {
					return errors.New("listed a user of B")
				}
			}
			return err
		},
		"RecordLogin": func() error { return notFound(st.RecordLogin(ctx, wsA, b.admin.ID)) },
		"NewSession": func() error {
			_, err := st.NewSession(ctx, model.Session{WorkspaceID: wsA, UserID: b.admin.ID, TokenHash: []byte("a-for-b"), ExpiresAt: time.Now().Add(time.Hour)})
			if err == nil {
				return errors.New("a session of A was made for B's user")
			}
			return nil
		},
		"SessionByToken": func() error { _, err := st.SessionByToken(ctx, wsA, bSessionHash); return notFound(err) },
		"SaveSessionData": func() error {
			return errors.Join(st.SaveSessionData(ctx, wsA, bSession, []byte("a")), bSessionSame("SaveSessionData"))
		},
		"TouchSession": func() error {
			return errors.Join(st.TouchSession(ctx, wsA, bSession, time.Now().Add(48*time.Hour), "a", "a"), bSessionSame("TouchSession"))
		},
		"EndSession": func() error {
			ended, err := st.EndSession(ctx, wsA, b.admin.ID, bSession)
			if ended {
				return errors.New("ended B's session")
			}
			return errors.Join(err, bSessionSame("EndSession"))
		},
		"EndSessionByToken": func() error {
			return errors.Join(st.EndSessionByToken(ctx, wsA, bSessionHash), bSessionSame("EndSessionByToken"))
		},
		"EndUserSessions": func() error {
			n, err := st.EndUserSessions(ctx, wsA, b.admin.ID)
			if n != 0 {
				return fmt.Errorf("ended %d of B's sessions", n)
			}
			return errors.Join(err, bSessionSame("EndUserSessions"))
		},
		"UserSessions": func() error {
			list, err := st.UserSessions(ctx, wsA, b.admin.ID)
			if len(list) != 0 {
				return errors.New("listed B's sessions")
			}
			return err
		},
		"SetUserTimeZone": func() error { return notFound(st.SetUserTimeZone(ctx, wsA, b.admin.ID, "Asia/Tokyo")) },
		"SetUserPassword": func() error {
			return errors.Join(notFound(st.SetUserPassword(ctx, wsA, b.admin.ID, "y")), bSessionSame("SetUserPassword"))
		},
		"SetUserRole":   func() error { return notFound(st.SetUserRole(ctx, wsA, b.member.ID, model.RoleAdmin)) },
		"SetUserActive": func() error { return notFound(st.SetUserActive(ctx, wsA, b.member.ID, false)) },
		"InvitationByTokenHash": func() error {
			_, err := st.InvitationByTokenHash(ctx, wsA, b.token)
			return notFound(err)
		},
		"ListPendingInvitations": func() error {
			invs, err := st.ListPendingInvitations(ctx, wsA)
			for _, inv := range invs {
				if inv.WorkspaceID != wsA {
					return errors.New("listed an invitation of B")
				}
			}
			return err
		},
		"RevokeInvitation": func() error { return notFound(st.RevokeInvitation(ctx, wsA, b.inv.ID)) },
		"AcceptInvitation": func() error {
			_, err := st.AcceptInvitation(ctx, wsA, b.token, model.User{Name: "Intruder", PasswordHash: "x"}, time.Now())
			return notFound(err)
		},
		"CreateInvitation": func() error {
			// Inviting on behalf of B's admin into A must fail: invited_by must be a user of A.
			_, err := st.CreateInvitation(ctx, model.Invitation{WorkspaceID: wsA, Email: "z@example.com", Role: model.RoleSales,
				TokenHash: []byte("z"), InvitedBy: b.admin.ID, ExpiresAt: time.Now().Add(time.Hour)})
			if err == nil {
				return errors.New("invitation accepted an inviter from another workspace")
			}
			return nil
		},
		"ListLeads": func() error {
			leads, total, err := st.ListLeads(ctx, store.Everyone(wsA), store.LeadFilter{Limit: 100})
			for _, l := range leads {
				if l.WorkspaceID != wsA {
					return errors.New("listed a lead of B")
				}
			}
			if total != len(leads) {
				return errors.New("count includes other workspaces")
			}
			return err
		},
		"CreateLead": func() error {
			// The same email may be a lead in both workspaces without touching B's row.
			_, err := st.CreateLead(ctx, model.Lead{WorkspaceID: wsA, Email: b.lead.Email})
			if errors.Is(err, store.ErrDuplicate) {
				return nil // A already has it (the SavePulled case made it): still A's own row
			}
			return err
		},
		"LeadByID": func() error { _, err := st.LeadByID(ctx, wsA, b.lead.ID); return notFound(err) },
		"LeadIdentities": func() error {
			ids, err := st.LeadIdentities(ctx, wsA, b.lead.ID)
			if len(ids) != 0 {
				return errors.New("listed B's identities")
			}
			return err
		},
		"ListActivities": func() error {
			acts, total, err := st.ListActivities(ctx, wsA, b.lead.ID, store.ActivityFilter{Limit: 10})
			if len(acts) != 0 || total != 0 {
				return errors.New("listed B's activities")
			}
			return err
		},
		"ActivityTypes": func() error {
			types, err := st.ActivityTypes(ctx, wsA, b.lead.ID)
			if len(types) != 0 {
				return errors.New("listed B's activity types")
			}
			return err
		},
		"APITokenByHash": func() error { _, err := st.APITokenByHash(ctx, wsA, b.apiTok.TokenHash); return notFound(err) },
		"ListAPITokens": func() error {
			ts, err := st.ListAPITokens(ctx, wsA, model.TokenKindCurrents)
			for _, tk := range ts {
				if tk.WorkspaceID != wsA {
					return errors.New("listed B's token")
				}
			}
			return err
		},
		"RevokeAPIToken": func() error { return notFound(st.RevokeAPIToken(ctx, wsA, b.apiTok.ID)) },
		"TouchAPIToken": func() error {
			if err := st.TouchAPIToken(ctx, wsA, b.apiTok.ID); err != nil {
				return err
			}
			if tk, _ := st.APITokenByHash(ctx, b.ws.ID, b.apiTok.TokenHash); tk.LastUsedAt != nil {
				return errors.New("touched B's token")
			}
			return nil
		},
		"CreateAPIToken": func() error {
			tk, err := st.CreateAPIToken(ctx, model.APIToken{WorkspaceID: wsA, Kind: model.TokenKindCurrents, Label: "x", TokenHash: []byte("a-second"), Hint: "x"})
			if err == nil && tk.WorkspaceID != wsA {
				return errors.New("token created in another workspace")
			}
			return err
		},
		"BrazeConnection": func() error {
			c, err := st.BrazeConnection(ctx, wsA)
			if c.WorkspaceID != wsA {
				return errors.New("loaded another workspace's connection")
			}
			return err
		},
		"SaveBrazeConnection": func() error {
			return st.SaveBrazeConnection(ctx, model.BrazeConnection{WorkspaceID: wsA, RESTEndpoint: "https://rest.iad-01.braze.com", APIKeyEncrypted: []byte("a"), APIKeyHint: "a"})
		},
		"RecordBrazeTest":   func() error { return st.RecordBrazeTest(ctx, wsA, false, "a") },
		"RecordBrazeLookup": func() error { return st.RecordBrazeLookup(ctx, wsA, false, "a") },
		"PauseBrazeLookups": func() error { return st.PauseBrazeLookups(ctx, wsA, "a", time.Now().Add(time.Hour)) },
		"InsertInboundBatch": func() error {
			// The same event id in A is a new event of A, not a duplicate of B's (unless the
			// writer's case below stored it in A already).
			had := count(`SELECT count(*) FROM inbound_events WHERE workspace_id = $1 AND event_id = 'b-e1'`, wsA)
			n, err := st.InsertInboundBatch(ctx, wsA, "braze", []model.NewInboundEvent{{EventID: "b-e1", EventType: "t", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundIgnored}}, nil)
			if n != 1-had {
				return errors.New("event id of B treated as a duplicate in A")
			}
			return err
		},
		"NewInboundWriter": func() error {
			// Across chunks and with a reject (the transaction path): B's event id is new in A,
			// unless the case above stored it in A already; the reject is A's.
			had := count(`SELECT count(*) FROM inbound_events WHERE workspace_id = $1 AND event_id = 'b-e1'`, wsA)
			bRejects := count(`SELECT count(*) FROM inbound_rejects WHERE workspace_id = $1`, b.ws.ID)
			w := st.NewInboundWriter(wsA, "braze")
			defer w.Rollback()
			ev := func(id string) []model.NewInboundEvent {
				return []model.NewInboundEvent{{EventID: id, EventType: "t", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundIgnored}}
			}
			for _, err := range []error{w.Add(ctx, ev("b-e1")), w.Add(ctx, ev("a-w2")), w.Reject(ctx, model.NewReject{Reason: "r", Raw: []byte("x")})} {
				if err != nil {
					return err
				}
			}
			n, err := w.Commit(ctx)
			if n != 2-had {
				return fmt.Errorf("stored %d new events, want %d: B's event id treated as A's", n, 2-had)
			}
			if count(`SELECT count(*) FROM inbound_rejects WHERE workspace_id = $1`, b.ws.ID) != bRejects {
				return errors.New("A's reject stored in B")
			}
			return err
		},
		"IngestStatus": func() error {
			stat, err := st.IngestStatus(ctx, wsA, time.Now().Add(-time.Hour))
			if stat.LastBatchAt != nil && stat.LastBatchEvents == 0 {
				return errors.New("a batch is reported although none was recorded")
			}
			if stat.LookupsPending != 1 {
				return errors.New("lookup counts mix workspaces")
			}
			return err
		},
		"RecordBatch": func() error { return st.RecordBatch(ctx, wsA, time.Now(), 1) },
		"AddCounters": func() error {
			return st.AddCounters(ctx, []model.Counter{{WorkspaceID: wsA, Hour: time.Now().Truncate(time.Hour), Metric: "received", Count: 1}})
		},
		"ListRules": func() error {
			rs, err := st.ListRules(ctx, wsA)
			for _, r := range rs {
				if r.WorkspaceID != wsA {
					return errors.New("listed B's rule")
				}
			}
			return err
		},
		"RuleByID": func() error { _, err := st.RuleByID(ctx, wsA, b.rule.ID); return notFound(err) },
		"RuleNames": func() error {
			names, err := st.RuleNames(ctx, wsA)
			if _, ok := names[b.rule.ID]; ok {
				return errors.New("named B's rule")
			}
			return err
		},
		"SaveRule": func() error {
			_, err := st.SaveRule(ctx, wsA, a.admin.ID, b.rule.ID, model.RuleDef{Name: "x", Kind: "score", Enabled: true, Definition: b.rule.Definition})
			return notFound(err)
		},
		"SetRuleEnabled": func() error {
			if err := st.SetRuleEnabled(ctx, wsA, b.rule.ID, false); err != nil {
				return err
			}
			if r, _ := st.RuleByID(ctx, b.ws.ID, b.rule.ID); !r.Enabled {
				return errors.New("disabled B's rule")
			}
			return nil
		},
		"DeleteRule": func() error { return notFound(st.DeleteRule(ctx, wsA, b.rule.ID)) },
		"MoveRule":   func() error { return notFound(st.MoveRule(ctx, wsA, b.rule.ID, true)) },
		"ImportRules": func() error {
			if err := st.ImportRules(ctx, wsA, a.admin.ID, nil, true); err != nil {
				return err
			}
			if rs, _ := st.ListRules(ctx, b.ws.ID); len(rs) != 1 {
				return errors.New("replacing A's rules touched B's")
			}
			return nil
		},
		"RulesVersion": func() error {
			va, err := st.RulesVersion(ctx, wsA)
			if va == bVersion {
				return errors.New("read B's rules version")
			}
			return err
		},
		"ListScoreNames": func() error {
			names, err := st.ListScoreNames(ctx, wsA)
			bNames, _ := st.ListScoreNames(ctx, b.ws.ID)
			for _, n := range names {
				for _, m := range bNames {
					if n.ID == m.ID {
						return errors.New("listed B's score")
					}
				}
			}
			return err
		},
		"UpdateScoreName": func() error {
			bNames, _ := st.ListScoreNames(ctx, b.ws.ID)
			return notFound(st.UpdateScoreName(ctx, wsA, bNames[0].ID, model.RollupMax, true))
		},
		"GradeScale": func() error {
			scale, err := st.GradeScale(ctx, wsA)
			if strings.Contains(string(scale), "99") {
				return errors.New("read B's grade scale")
			}
			return err
		},
		"SetGradeScale": func() error {
			if err := st.SetGradeScale(ctx, wsA, []byte(`{"A":90,"B":70,"C":50,"D":30,"E":10}`)); err != nil {
				return err
			}
			if scale, _ := st.GradeScale(ctx, b.ws.ID); !strings.Contains(string(scale), "99") {
				return errors.New("changed B's grade scale")
			}
			if v, _ := st.RulesVersion(ctx, b.ws.ID); v != bVersion {
				return errors.New("moved B's rules version")
			}
			return nil
		},
		"RuleSource": func() error {
			src, err := st.RuleSource(ctx, wsA)
			for _, r := range src.Rules {
				if r.WorkspaceID != wsA || r.ID == b.rule.ID {
					return errors.New("read B's rules")
				}
			}
			if strings.Contains(string(src.GradeScale), "99") || src.Version == bVersion {
				return errors.New("read B's scale or version")
			}
			return err
		},
		"LeadNames": func() error {
			names, err := st.LeadNames(ctx, wsA, []int64{b.lead.ID})
			if len(names) != 0 {
				return errors.New("named B's lead")
			}
			return err
		},
		"SeenPropertyKeys": func() error {
			pgtest.Exec(t, db, `INSERT INTO activities (workspace_id, id, lead_id, occurred_at, source, event_type, name, properties)
				VALUES ($1, 880001, $2, now(), 'braze', 't', 'n', '{"b_only_key": 1}')`, b.ws.ID, b.lead.ID)
			keys, err := st.SeenPropertyKeys(ctx, wsA, 100)
			for _, k := range keys {
				if k.Key == "b_only_key" {
					return errors.New("listed a key of B's events")
				}
			}
			return err
		},
		"ListEventPropertyKeys": func() error {
			keys, err := st.ListEventPropertyKeys(ctx, wsA)
			for _, k := range keys {
				if k.Key == "b-prop" {
					return errors.New("listed B's property key")
				}
			}
			return err
		},
		"AddEventPropertyKeys": func() error {
			if err := st.AddEventPropertyKeys(ctx, wsA, []model.EventPropertyKey{{Key: "a-added", Type: "number"}}); err != nil {
				return err
			}
			if keys, _ := st.ListEventPropertyKeys(ctx, b.ws.ID); len(keys) != 1 {
				return errors.New("added to B")
			}
			return nil
		},
		"DeleteEventPropertyKey": func() error { return notFound(st.DeleteEventPropertyKey(ctx, wsA, "b-prop-x")) },
		"EventNames": func() error {
			names, err := st.EventNames(ctx, wsA, 1000)
			if slices.Contains(names, "b-only event") {
				return errors.New("listed B's event name")
			}
			return err
		},
		"LatestRescoreJob": func() error {
			j, err := st.LatestRescoreJob(ctx, wsA)
			if j != nil && j.WorkspaceID != wsA {
				return errors.New("B's job")
			}
			return err
		},
		"ClaimWork": func() error {
			for _, wt := range store.WorkTables {
				items, err := st.ClaimWork(ctx, wt, wsA, 1000, time.Minute, 99)
				if err != nil {
					return err
				}
				for _, it := range items {
					if count(`SELECT count(*) FROM `+wt.Table+` WHERE workspace_id = $1 AND `+wt.Key+` = $2 AND claim = 99`, wsA, it.ID) != 1 {
						return errors.New("claimed an item of B in " + wt.Table)
					}
				}
				if count(`SELECT count(*) FROM `+wt.Table+` WHERE workspace_id = $1 AND claim = 99`, b.ws.ID) != 0 {
					return errors.New("B's items in " + wt.Table + " carry A's claim")
				}
				pgtest.Exec(t, db, `UPDATE `+wt.Table+` SET claim = NULL, run_after = now() WHERE claim = 99`)
			}
			return nil
		},
		"DeferWork": func() error {
			pgtest.Exec(t, db, `UPDATE jobs SET claim = 98 WHERE workspace_id = $1 AND id = $2`, b.ws.ID, bJob)
			if err := st.DeferWork(ctx, nil, store.JobWork, wsA, []int64{bJob}, 98, time.Now().Add(time.Hour), "x", true); err != nil {
				return err
			}
			if count(`SELECT count(*) FROM jobs WHERE workspace_id = $1 AND id = $2 AND claim = 98 AND last_error = ''`, b.ws.ID, bJob) != 1 {
				return errors.New("rescheduled B's job")
			}
			pgtest.Exec(t, db, `UPDATE jobs SET claim = NULL WHERE claim = 98`)
			return nil
		},
		"QuarantineWork": func() error {
			pgtest.Exec(t, db, `UPDATE jobs SET claim = 97 WHERE workspace_id = $1 AND id = $2`, b.ws.ID, bJob)
			if err := st.QuarantineWork(ctx, store.JobWork, wsA, []int64{bJob}, 97, "x"); err != nil {
				return err
			}
			if count(`SELECT count(*) FROM jobs WHERE workspace_id = $1 AND id = $2`, b.ws.ID, bJob) != 1 {
				return errors.New("quarantined B's job")
			}
			pgtest.Exec(t, db, `UPDATE jobs SET claim = NULL WHERE claim = 97`)
			return nil
		},
		"ListQuarantined": func() error {
			items, err := st.ListQuarantined(ctx, wsA, "", 100)
			for _, it := range items {
				if it.Reason == "b-reason" {
					return errors.New("listed B's quarantined item")
				}
			}
			return err
		},
		"DiscardQuarantined": func() error {
			if _, err := st.DiscardQuarantined(ctx, store.OutboxWork, wsA, []int64{b.lead.ID + 1000}, "x"); err != nil {
				return err
			}
			if count(`SELECT count(*) FROM work_quarantine WHERE workspace_id = $1 AND reason = 'b-reason'`, b.ws.ID) != 1 {
				return errors.New("discarded B's item")
			}
			return nil
		},
		"RetryQuarantined": func() error {
			if _, err := st.RetryQuarantined(ctx, store.OutboxWork, wsA, []int64{b.lead.ID + 1000}); err != nil {
				return err
			}
			if count(`SELECT count(*) FROM work_quarantine WHERE workspace_id = $1 AND reason = 'b-reason'`, b.ws.ID) != 1 {
				return errors.New("took B's item out of quarantine")
			}
			return nil
		},
		"EnqueueJob": func() error {
			var before, after time.Time
			db.QueryRow(`SELECT run_after FROM jobs WHERE workspace_id = $1 AND id = $2`, b.ws.ID, bJob).Scan(&before)
			if err := st.EnqueueJob(ctx, nil, wsA, "b-kind", "b-key", time.Now().Add(time.Hour)); err != nil {
				return err
			}
			db.QueryRow(`SELECT run_after FROM jobs WHERE workspace_id = $1 AND id = $2`, b.ws.ID, bJob).Scan(&after)
			if count(`SELECT count(*) FROM jobs WHERE workspace_id = $1 AND kind = 'b-kind'`, wsA) != 1 || !after.Equal(before) {
				return errors.New("B's job stood in for A's, or changed")
			}
			return nil
		},
		"JobsByID": func() error {
			jobs, err := st.JobsByID(ctx, wsA, []int64{bJob})
			if len(jobs) != 0 {
				return errors.New("read B's job")
			}
			return err
		},
		"RunJobsNow": func() error {
			pgtest.Exec(t, db, `UPDATE jobs SET run_after = now() + interval '1 day' WHERE workspace_id = $1 AND id = $2`, b.ws.ID, bJob)
			if err := st.RunJobsNow(ctx, wsA, "b-kind"); err != nil {
				return err
			}
			if count(`SELECT count(*) FROM jobs WHERE workspace_id = $1 AND id = $2 AND run_after > now()`, b.ws.ID, bJob) != 1 {
				return errors.New("made B's job due")
			}
			return nil
		},
		"LookupsByID": func() error {
			ls, err := st.LookupsByID(ctx, wsA, []int64{bLookup})
			if len(ls) != 0 {
				return errors.New("read B's lookup")
			}
			return err
		},
		"RunLookupsNow": func() error {
			pgtest.Exec(t, db, `UPDATE braze_lookups SET run_after = now() + interval '1 day' WHERE workspace_id = $1`, b.ws.ID)
			if err := st.RunLookupsNow(ctx, wsA); err != nil {
				return err
			}
			if count(`SELECT count(*) FROM braze_lookups WHERE workspace_id = $1 AND run_after <= now()`, b.ws.ID) != 0 {
				return errors.New("made B's lookups due")
			}
			return nil
		},
		"UpdateWorkspace": func() error {
			if err := st.UpdateWorkspace(ctx, wsA, "A renamed", ""); err != nil {
				return err
			}
			return nil
		},
	}
	for name, c := range webIsolationCases(t, st, db, wsA, b, bWeb) {
		cases[name] = c
	}
	for name, c := range milestoneIsolationCases(st, wsA, seedMilestones(t, st, db, b)) {
		cases[name] = c
	}
	for name, c := range accessIsolationCases(t, st, db, wsA, b) {
		cases[name] = c
	}
	for name, c := range switchIsolationCases(t, st, db, wsA, b) {
		cases[name] = c
	}
	pgtest.Exec(t, db, `UPDATE leads SET custom_attributes = '{"b_only_attribute": 1}' WHERE workspace_id = $1`, b.ws.ID)
	pgtest.Exec(t, db, `INSERT INTO lead_scores (workspace_id, lead_id, score_id, value) SELECT $1, $2, id, 5 FROM score_names WHERE workspace_id = $1
		ON CONFLICT DO NOTHING`, b.ws.ID, b.lead.ID)
	if pgtest.Count(t, db, `SELECT count(*) FROM lead_scores WHERE workspace_id = $1 AND lead_id = $2`, b.ws.ID, b.lead.ID) == 0 {
		t.Fatal("B's lead has no score to isolate")
	}
	for name, c := range cardIsolationCases(t, st, wsA, b) {
		cases[name] = c
	}
	for name, c := range deliveryIsolationCases(st, wsA, b, seedDeliveries(t, st, b, true)) {
		cases[name] = c
	}
	// Methods that are not scoped to one workspace, and why.
	notTenantScoped := map[string]string{
		"Open": "", "Close": "", "Ping": "", "Migrate": "",
		"CountWorkspaces":          "server-wide: decides whether sign-up is open",
		"CreateWorkspaceWithAdmin": "creates a new tenant",
		"WorkspaceByID":            "loads the tenant itself; callers pass the signed-in workspace",
		"WorkspaceBySlug":          "resolves a tenant from a URL before sign-in (invitation links)",
		"LoginCandidates":          "pre-authentication lookup by email; password checked per row",
		"RecordLoginFailure":       "throttling is keyed by email and client address, not tenant",
		"LoginFailuresSince":       "as above",
		"ClearLoginFailures":       "as above",
		"InTx":                     "opens a transaction; every Tx method takes the workspace (TestTxIsolation)",
		"NextWorkspace":            "the work layer's walk over workspaces with due work; claims are then per workspace",
		"WorkFigures":              "server-wide queue figures for /metrics",
		"SalesforceUsage":          "server-wide API use per workspace for /metrics",
		"WorkspacesToReheat":       "periodic sweep across workspaces; returns workspace ids",
		"WorkspacesToReconcile":    "periodic sweep across workspaces; returns workspace ids",
		"WorkspacesToPull":         "periodic sweep across workspaces; returns workspace ids",
		"WorkspacesToRefresh":      "periodic sweep across workspaces; returns workspace ids",
		"IngestBehind":             "server-wide backlog check for worker priority",
		"DeleteExpiredSessions":    "server-wide hourly sweep of sessions past their expiry (TestSessionRevocation)",
		"DeleteOldListSnapshots":   "server-wide sweep of list snapshots older than an hour (TestLeadPagingOverMovingScores)",
		"DeleteExpiredVisitors":    "server-wide sweep of anonymous browsers past their site's retention (TestVisitorRetention)",
		"UsersDueForDigest":        "server-wide sweep for digests due; returns workspace and user ids (TestClaimDigestSendsEachDigestOnce)",
		"ReportsDue":               "server-wide sweep for scheduled reports due; returns workspace and subscription ids (TestScheduledReportEmail)",
		"SetPoolSize":              "sizes the connection pool", "PoolSize": "",
		"Fingerprint": "test-only digest of a workspace (export_test.go)",
	}
	typ := reflect.TypeOf(st)
	for i := 0; i < typ.NumMethod(); i++ {
		name := typ.Method(i).Name
		_, covered := cases[name]
		_, exempt := notTenantScoped[name]
		if !covered && !exempt {
			t.Errorf("store method %s has no workspace isolation case", name)
		}
	}
	for name, check := range cases {
		t.Run(name, func(t *testing.T) {
			if err := check(); err != nil {
				t.Error(err)
			}
		})
	}

	// B is untouched.
	bAdmin, err := st.UserByID(ctx, b.ws.ID, b.admin.ID)
	if err != nil || bAdmin.Role != model.RoleAdmin || bAdmin.LastLoginAt != nil {
		t.Fatalf("B's admin changed: %+v %v", bAdmin, err)
	}
	bMember, _ := st.UserByID(ctx, b.ws.ID, b.member.ID)
	if bMember.Role != model.RoleSales || !bMember.Active {
		t.Fatalf("B's member changed: %+v", bMember)
	}
	inv, _ := st.InvitationByTokenHash(ctx, b.ws.ID, b.token)
	if inv.RevokedAt != nil || inv.AcceptedAt != nil {
		t.Fatalf("B's invitation changed: %+v", inv)
	}
	users, _ := st.ListUsers(ctx, b.ws.ID)
	if len(users) != 2 {
		t.Fatalf("B has %d users, want 2", len(users))
	}
	wsB, _ := st.WorkspaceByID(ctx, b.ws.ID)
	if wsB.Name != "b" {
		t.Fatalf("B renamed to %q", wsB.Name)
	}
	if tk, _ := st.APITokenByHash(ctx, b.ws.ID, b.apiTok.TokenHash); tk.RevokedAt != nil {
		t.Fatal("B's token revoked")
	}
	if c, _ := st.BrazeConnection(ctx, b.ws.ID); c.RESTEndpoint != "https://rest.fra-01.braze.eu" || c.LookupError != "" {
		t.Fatalf("B's Braze connection changed: %+v", c)
	}
}

// errRollback ends a case's transaction without keeping what it wrote.
var errRollback = errors.New("rolled back on purpose")

// TestTxIsolation calls every transactional method (the workers' and scoring's) as workspace
// A with the ids, identifiers and tokens of workspace B, each in its own transaction rolled
// back afterwards, and checks that nothing of B is returned and — by a digest of all B's rows
// read inside that same transaction — nothing of B changed. A new Tx method must get a case
// here, or this test fails.
func TestTxIsolation(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	b := seedTenant(t, st, "b")
	wsA, wsB := a.ws.ID, b.ws.ID
	ids := seedTxTenant(t, st, db, b)
	bWeb := seedWeb(t, st, b)
	bVersion, _ := st.RulesVersion(ctx, wsB)
	future := time.Now().Add(time.Hour)

	none := func(what string, n int) error {
		if n != 0 {
			return fmt.Errorf("returned %d of B's %s", n, what)
		}
		return nil
	}
	cases := map[string]func(tx *store.Tx) error{
		"InboundEvents": func(tx *store.Tx) error {
			evs, err := tx.InboundEvents(ctx, wsA, []int64{ids.event, ids.waitingEvent})
			return errors.Join(err, none("events", len(evs)))
		},
		"UpsertAccounts": func(tx *store.Tx) error {
			m, err := tx.UpsertAccounts(ctx, wsA, []string{"b-corp.example"})
			if m["b-corp.example"] == ids.account {
				return errors.New("A's upsert returned B's account")
			}
			return err
		},
		"UpsertLeadsByEmail": func(tx *store.Tx) error {
			m, err := tx.UpsertLeadsByEmail(ctx, wsA, []store.LeadSeed{{Email: b.lead.Email}})
			if m[b.lead.Email] == b.lead.ID {
				return errors.New("A's upsert returned B's lead")
			}
			return err
		},
		"MostLeadsPass": func(tx *store.Tx) error {
			most, err := tx.MostLeadsPass(ctx, wsA, []byte(`[{"column":"source","op":"equals","values":["braze"]}]`))
			if most {
				return errors.New("A's sample saw B's leads")
			}
			return err
		},
		"LockLeads":   func(tx *store.Tx) error { return tx.LockLeads(ctx, wsA, []int64{b.lead.ID}) },
		"LockWaiting": func(tx *store.Tx) error { return tx.LockWaiting(ctx, wsA) },
		"ReleaseKnownWaiting": func(tx *store.Tx) error {
			n, err := tx.ReleaseKnownWaiting(ctx, wsA, []int64{ids.waitingEvent})
			return errors.Join(err, none("waiting events", n))
		},
		"AddIdentities": func(tx *store.Tx) error {
			added, err := tx.AddIdentities(ctx, wsA, []model.Identity{{Kind: model.IdentityBrazeUser, Value: "b-braze", LeadID: a.lead.ID}})
			if err == nil && len(added) != 1 {
				return errors.New("B's identity blocked A's identical identifier")
			}
			return err
		},
		"LeadsByIdentity": func(tx *store.Tx) error {
			m, err := tx.LeadsByIdentity(ctx, wsA, model.IdentityBrazeUser, []string{"b-braze", "b-waiting-user"})
			return errors.Join(err, none("identities", len(m)))
		},
		"InsertActivityRows": func(tx *store.Tx) error {
			return tx.InsertActivityRows(ctx, wsA, []model.ActivityRow{{LeadID: b.lead.ID, InboundEventID: ids.event, OccurredAt: time.Now(),
				Source: "braze", EventType: "t", Name: "n"}})
		},
		"AddLeadActivity": func(tx *store.Tx) error {
			return tx.AddLeadActivity(ctx, wsA, []model.ActivityRow{{LeadID: b.lead.ID, InboundEventID: ids.event, OccurredAt: time.Now()}},
				map[int64]int64{b.lead.ID: ids.account})
		},
		"InsertActivities": func(tx *store.Tx) error {
			return tx.InsertActivities(ctx, wsA, []model.ActivityRow{{LeadID: b.lead.ID, InboundEventID: ids.event, OccurredAt: time.Now(),
				Source: "braze", EventType: "t", Name: "n"}})
		},
		"MarkEventsIgnored": func(tx *store.Tx) error { return tx.MarkEventsIgnored(ctx, wsA, []int64{ids.queuedEvent}, "x") },
		"MarkEventsWaiting": func(tx *store.Tx) error {
			return tx.MarkEventsWaiting(ctx, wsA, []model.Waiting{{EventID: ids.queuedEvent, BrazeUserID: "b-waiting-user", Reason: "x"}})
		},
		"ReleaseWaiting": func(tx *store.Tx) error {
			n, err := tx.ReleaseWaiting(ctx, wsA, []model.Identity{{Kind: model.IdentityBrazeUser, Value: "b-waiting-user"}})
			return errors.Join(err, none("waiting events", n))
		},
		"EnqueueLookups": func(tx *store.Tx) error { return tx.EnqueueLookups(ctx, wsA, model.LookupBrazeID, []string{"b-anon"}) },
		"FinishJob":      func(tx *store.Tx) error { return tx.FinishJob(ctx, wsA, ids.job, nil) },
		"FinishLookups": func(tx *store.Tx) error {
			return tx.FinishLookups(ctx, wsA, []store.LookupOutcome{{ID: ids.lookup, State: model.LookupFound}})
		},
		"UpdateLeadProfile": func(tx *store.Tx) error {
			return tx.UpdateLeadProfile(ctx, wsA, b.lead.ID, model.LeadProfile{FirstName: "Hacked"})
		},
		"RulesVersion": func(tx *store.Tx) error {
			v, err := tx.RulesVersion(ctx, wsA)
			if v == bVersion {
				return errors.New("read B's rules version")
			}
			return err
		},
		"RuleSource": func(tx *store.Tx) error {
			src, err := tx.RuleSource(ctx, wsA)
			for _, r := range src.Rules {
				if r.ID == b.rule.ID {
					return errors.New("read B's rule")
				}
			}
			return err
		},
		"EnqueueSalesforce": func(tx *store.Tx) error { return tx.EnqueueSalesforce(ctx, wsA, []int64{b.lead.ID}) },
		"FinishPush": func(tx *store.Tx) error {
			_, err := tx.FinishPush(ctx, wsA, "push", "Lead", []model.SyncOutcome{{LeadID: ids.outboxLead, Outcome: model.SyncFailed, Message: "x", Hash: "x"}},
				1, "", func(int) time.Time { return future })
			if err != nil {
				return err
			}
			_, err = tx.FinishPush(ctx, wsA, "push", "Lead", []model.SyncOutcome{{LeadID: ids.outboxLead, Outcome: model.SyncUpdated, SalesforceID: "x"}},
				1, "", func(int) time.Time { return future })
			return err
		},
		"LockScoringLeads": func(tx *store.Tx) error {
			leads, err := tx.LockScoringLeads(ctx, wsA, []int64{b.lead.ID})
			return errors.Join(err, none("leads", len(leads)))
		},
		"ScoringLeads": func(tx *store.Tx) error {
			leads, err := tx.ScoringLeads(ctx, wsA, []int64{b.lead.ID})
			return errors.Join(err, none("leads", len(leads)))
		},
		"EachActivityForScoring": func(tx *store.Tx) error {
			n := 0
			err := tx.EachActivityForScoring(ctx, wsA, []int64{b.lead.ID}, nil, true, func(*store.ScoringActivity) error { n++; return nil })
			return errors.Join(err, none("activities", n))
		},
		"EachActivityForScoringByID": func(tx *store.Tx) error {
			n := 0
			err := tx.EachActivityForScoringByID(ctx, wsA, []int64{ids.event}, true, func(*store.ScoringActivity) error { n++; return nil })
			return errors.Join(err, none("activities", n))
		},
		"EachMatchingActivityForScoring": func(tx *store.Tx) error {
			n := 0
			every := rules.ActivityFilter{{Column: "source", Op: "begins_with", Values: []string{""}}}
			err := tx.EachMatchingActivityForScoring(ctx, wsA, []int64{b.lead.ID}, every, true, func(*store.ScoringActivity) error { n++; return nil })
			return errors.Join(err, none("activities", n))
		},
		"EachRecentActivityForScoring": func(tx *store.Tx) error {
			n := 0
			err := tx.EachRecentActivityForScoring(ctx, wsA, store.RecentScoringActivities{LeadIDs: []int64{b.lead.ID}, Since: []time.Time{time.Unix(0, 0)}},
				true, func(*store.ScoringActivity) error { n++; return nil })
			return errors.Join(err, none("activities", n))
		},
		"SaveScoring": func(tx *store.Tx) error {
			w := model.ScoringWrite{Leads: []model.LeadScoring{{LeadID: b.lead.ID, MainScore: 99, Grade: "A"}},
				Scores: []model.LeadScoring{{LeadID: b.lead.ID, Scores: map[int64]float64{ids.score: 99}}},
				States: []model.LeadState{{LeadID: b.lead.ID, State: []byte("x")}}}
			return tx.SaveScoring(ctx, wsA, w)
		},
		"CountRuleMatches": func(tx *store.Tx) error {
			return tx.CountRuleMatches(ctx, wsA, []store.RuleMatchDelta{{RuleID: b.rule.ID, Delta: 1, Fired: true}})
		},
		"RollupAccounts":     func(tx *store.Tx) error { return tx.RollupAccounts(ctx, wsA, []int64{ids.account}, ids.score) },
		"ClearAccountLabels": func(tx *store.Tx) error { return tx.ClearAccountLabels(ctx, wsA) },
		"AccountsForLabels": func(tx *store.Tx) error {
			accs, err := tx.AccountsForLabels(ctx, wsA, []int64{ids.account})
			return errors.Join(err, none("accounts", len(accs)))
		},
		"LockAccounts":              func(tx *store.Tx) error { return tx.LockAccounts(ctx, wsA, []int64{ids.account}) },
		"SetAccountTemperatures":    func(tx *store.Tx) error { return tx.SetAccountTemperatures(ctx, wsA, []int64{ids.account}, nil) },
		"SetAccountTemperaturesAll": func(tx *store.Tx) error { return tx.SetAccountTemperatures(ctx, wsA, nil, nil) },
		"SetAccountTemperaturesFloors": func(tx *store.Tx) error {
			return tx.SetAccountTemperatures(ctx, wsA, []int64{ids.account}, []string{"hot"})
		},
		"SetAccountFits": func(tx *store.Tx) error {
			return tx.SetAccountFits(ctx, wsA, map[int64]store.AccountFit{ids.account: {Points: 99, Grade: "A"}})
		},
		"SetAccountProfile": func(tx *store.Tx) error {
			return tx.SetAccountProfile(ctx, wsA, "b-corp.example", "Hacked Inc", "Hacking", 5)
		},
		"SetAccountLabels": func(tx *store.Tx) error {
			return tx.SetAccountLabels(ctx, wsA, map[int64][]string{ids.account: {"hacked"}})
		},
		"ScoringSettings": func(tx *store.Tx) error {
			got, err := tx.ScoringSettings(ctx, wsA)
			if got.Hot == 125 {
				return errors.New("read B's heat scale")
			}
			return err
		},
		"ComputeHeatScale": func(tx *store.Tx) error { _, _, _, err := tx.ComputeHeatScale(ctx, wsA); return err },
		"LeadTemperatures": func(tx *store.Tx) error {
			rows, err := tx.LeadTemperatures(ctx, wsA, 0, 1000)
			for _, r := range rows {
				if r.ID == b.lead.ID {
					return errors.New("read B's temperature")
				}
			}
			return err
		},
		"SetTemperatures": func(tx *store.Tx) error { return tx.SetTemperatures(ctx, wsA, []int64{b.lead.ID}, []string{"hot"}) },
		"LockRescoreJob": func(tx *store.Tx) error {
			j, err := tx.LockRescoreJob(ctx, wsA, ids.rescoreJob)
			if j != nil {
				return errors.New("locked B's re-scoring job")
			}
			return err
		},
		"LeadIDsAfter": func(tx *store.Tx) error {
			got, err := tx.LeadIDsAfter(ctx, wsA, 0, 1000)
			if slices.Contains(got, b.lead.ID) {
				return errors.New("paged over B's leads")
			}
			return err
		},
		"AdvanceRescoreJob": func(tx *store.Tx) error { return tx.AdvanceRescoreJob(ctx, wsA, ids.rescoreJob, 1, 1, true) },
		"ClaimDueLeads": func(tx *store.Tx) error {
			got, err := tx.ClaimDueLeads(ctx, wsA, time.Now(), 1000)
			if slices.Contains(got, b.lead.ID) {
				return errors.New("claimed B's lead")
			}
			return err
		},
		"NoteEventNames": func(tx *store.Tx) error { return tx.NoteEventNames(ctx, wsA, []string{"b-only event"}) },
		"RecentLeadIDs": func(tx *store.Tx) error {
			got, total, err := tx.RecentLeadIDs(ctx, wsA, 1000)
			if slices.Contains(got, b.lead.ID) || total != len(got) {
				return errors.New("listed or counted B's leads")
			}
			return err
		},
		"AddAccountScores": func(tx *store.Tx) error {
			return tx.AddAccountScores(ctx, wsA, []store.AccountDelta{{AccountID: ids.account, ScoreID: ids.score, Delta: 5}}, ids.score)
		},
		"EnqueueScoring": func(tx *store.Tx) error {
			return tx.EnqueueScoring(ctx, wsA, []model.ActivityRow{{LeadID: b.lead.ID, InboundEventID: ids.event}})
		},
		"QueuedForScoring": func(tx *store.Tx) error {
			q, err := tx.QueuedForScoring(ctx, wsA, []int64{b.lead.ID})
			return errors.Join(err, none("queued activities", len(q)))
		},
		"QueuedActivities": func(tx *store.Tx) error {
			q, err := tx.QueuedActivities(ctx, wsA, []int64{ids.event})
			return errors.Join(err, none("queued activities", len(q)))
		},
		"TakeWork": func(tx *store.Tx) error {
			pgtest.Exec(t, db, `UPDATE inbound_queue SET claim = 31 WHERE workspace_id = $1`, wsB)
			defer pgtest.Exec(t, db, `UPDATE inbound_queue SET claim = NULL WHERE claim = 31`)
			taken, err := tx.TakeWork(ctx, store.InboundWork, wsA, []int64{ids.queuedEvent}, 31)
			return errors.Join(err, none("queued events", len(taken)))
		},
		"OwnWork": func(tx *store.Tx) error {
			owned, err := tx.OwnWork(ctx, store.JobWork, wsA, []int64{ids.job}, ids.token)
			return errors.Join(err, none("claimed jobs", len(owned)))
		},
		"DropQuarantined": func(tx *store.Tx) error {
			dropped, err := tx.DropQuarantined(ctx, "salesforce-push", wsA, []int64{ids.quarantined})
			return errors.Join(err, none("quarantined items", len(dropped)))
		},
	}
	for name, c := range webTxCases(ctx, wsA, a, b, bWeb, ids.rescoreJob) {
		cases[name] = c
	}
	for name, c := range milestoneTxCases(t, db, ctx, wsA, a, b, seedMilestones(t, st, db, b)) {
		cases[name] = c
	}
	for name, c := range accessTxCases(ctx, wsA, b) {
		cases[name] = c
	}
	for name, c := range deliveryTxCases(ctx, wsA, a, b, seedDeliveries(t, st, a, false), seedDeliveries(t, st, b, true)) {
		cases[name] = c
	}
	typ := reflect.TypeOf(&store.Tx{})
	for i := 0; i < typ.NumMethod(); i++ {
		name := typ.Method(i).Name
		if _, ok := cases[name]; !ok && name != "Fingerprint" {
			t.Errorf("Tx method %s has no workspace isolation case", name)
		}
	}
	before, err := st.Fingerprint(ctx, wsB)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			err := st.InTx(ctx, func(tx *store.Tx) error {
				if err := call(tx); err != nil {
					return err
				}
				after, err := tx.Fingerprint(ctx, wsB)
				if err != nil {
					return err
				}
				if after != before {
					return fmt.Errorf("B's rows changed:\n%s", diffFingerprints(before, after))
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Error(err)
			}
		})
	}
}

// txTenant is what seedTxTenant adds to a tenant, so every Tx method has something of it to
// reach for.
type txTenant struct {
	event, queuedEvent, waitingEvent, account, score, job, lookup, rescoreJob, outboxLead, quarantined, token int64
}

func seedTxTenant(t *testing.T, st *store.Store, db *sql.DB, b tenant) txTenant {
	ctx := context.Background()
	ws := b.ws.ID
	var x txTenant
	x.token = 4242
	if _, err := st.InsertInboundBatch(ctx, ws, "braze", []model.NewInboundEvent{
		{EventID: "b-queued", EventType: "users.messages.email.Open", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundPending},
		{EventID: "b-waiting", EventType: "users.behaviors.CustomEvent", OccurredAt: time.Now(), Payload: []byte("{}"), State: model.InboundPending}}, nil); err != nil {
		t.Fatal(err)
	}
	row := func(q string, dest any, args ...any) {
		t.Helper()
		if err := db.QueryRow(q, args...).Scan(dest); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	row(`SELECT id FROM inbound_events WHERE workspace_id = $1 AND event_id = 'b-e1'`, &x.event, ws)
	row(`SELECT id FROM inbound_events WHERE workspace_id = $1 AND event_id = 'b-queued'`, &x.queuedEvent, ws)
	row(`SELECT id FROM inbound_events WHERE workspace_id = $1 AND event_id = 'b-waiting'`, &x.waitingEvent, ws)
	err := st.InTx(ctx, func(tx *store.Tx) error {
		accounts, err := tx.UpsertAccounts(ctx, ws, []string{"b-corp.example"})
		x.account = accounts["b-corp.example"]
		if err != nil {
			return err
		}
		if err := tx.MarkEventsWaiting(ctx, ws, []model.Waiting{{EventID: x.waitingEvent, BrazeUserID: "b-waiting-user", Reason: "x"}}); err != nil {
			return err
		}
		if err := tx.SetAccountLabels(ctx, ws, map[int64][]string{x.account: {"b-label"}}); err != nil {
			return err
		}
		return tx.EnqueueScoring(ctx, ws, []model.ActivityRow{{LeadID: b.lead.ID, InboundEventID: x.event}})
	})
	if err != nil {
		t.Fatal(err)
	}
	row(`SELECT id FROM score_names WHERE workspace_id = $1 AND is_main`, &x.score, ws)
	row(`SELECT id FROM braze_lookups WHERE workspace_id = $1`, &x.lookup, ws)
	row(`SELECT id FROM rescore_jobs WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1`, &x.rescoreJob, ws)
	row(`UPDATE jobs SET claim = $2 WHERE workspace_id = $1 AND kind = 'rescore' RETURNING id`, &x.job, ws, x.token)
	row(`INSERT INTO salesforce_outbox (workspace_id, lead_id) VALUES ($1, $2) RETURNING lead_id`, &x.outboxLead, ws, b.lead.ID)
	row(`INSERT INTO work_quarantine (workspace_id, queue, item_id, item, attempts, reason) VALUES ($1, 'salesforce-push', 777, '{}', 5, 'b')
		RETURNING item_id`, &x.quarantined, ws)
	for _, q := range []string{
		`UPDATE leads SET account_id = NULL, temperature = 'cold' WHERE workspace_id = $1`,
		`INSERT INTO lead_scoring_state (workspace_id, lead_id, rules_version, profile_hash, contributions, refresh_at)
			SELECT workspace_id, id, -1, 0, '', now() - interval '1 hour' FROM leads WHERE workspace_id = $1
			ON CONFLICT (workspace_id, lead_id) DO UPDATE SET refresh_at = excluded.refresh_at`,
		`INSERT INTO heat_scales (workspace_id, neutral_floor, warm_floor, hot_floor, population, computed_at) VALUES ($1, 123, 124, 125, 1, now())`,
		`INSERT INTO event_names (workspace_id, name) VALUES ($1, 'b-only event')`,
		`UPDATE workspaces SET rules_version = rules_version + 100 WHERE id = $1`,
	} {
		pgtest.Exec(t, db, q, ws)
	}
	return x
}

// diffFingerprints names the tables whose digest differs.
func diffFingerprints(before, after string) string {
	b, a := strings.Fields(before), strings.Fields(after)
	var out []string
	for i := range b {
		if i < len(a) && a[i] != b[i] {
			out = append(out, b[i]+" → "+a[i])
		}
	}
	return strings.Join(out, "\n")
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
