package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestClaimDigestSendsEachDigestOnce: a person's digest is claimed once per due time. A second
// claim from what was read before the first (a stale sweep's job, or two runs at once, the
// second waiting on the row) claims nothing; so does a claim when the digest is not due.
func TestClaimDigestSendsEachDigestOnce(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	zone := ""
	for _, z := range []string{"UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Auckland", "Europe/Berlin", "Asia/Kolkata"} {
		if loc, err := time.LoadLocation(z); err == nil && time.Now().In(loc).Hour() >= 9 {
			zone = z
			break
		}
	}
	if zone == "" {
		t.Fatal("no zone past 09:00")
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE users SET digest = 'off' WHERE workspace_id = $1 AND id <> $2`, a.ws.ID, a.admin.ID)
	exec(`UPDATE users SET time_zone = $3 WHERE workspace_id = $1 AND id = $2`, a.ws.ID, a.admin.ID, zone)
	claim := func(last *time.Time, at time.Time) bool {
		t.Helper()
		var claimed bool
		if err := st.InTx(ctx, func(tx *store.Tx) (err error) {
			claimed, err = tx.ClaimDigest(ctx, a.ws.ID, a.admin.ID, last, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return claimed
	}
	due := func() int {
		t.Helper()
		d, err := st.UsersDueForDigest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(d)
	}
	if due() != 1 {
		t.Fatal("the admin's digest is not due")
	}

	// Two runs read "never sent"; the second waits on the row and then claims nothing.
	first := time.Now().Truncate(time.Microsecond)
	second := make(chan bool, 1)
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if ok, err := tx.ClaimDigest(ctx, a.ws.ID, a.admin.ID, nil, first); !ok || err != nil {
			return errors.Join(err, errors.New("the first run claimed nothing"))
		}
		go func() { second <- claim(nil, first.Add(time.Millisecond)) }()
		for waiting := 0; waiting == 0; {
			if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE users SET last_digest_at%'`).Scan(&waiting); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if <-second {
		t.Fatal("two runs at once both claimed the digest")
	}
	var noted time.Time
	db.QueryRow(`SELECT last_digest_at FROM users WHERE workspace_id = $1 AND id = $2`, a.ws.ID, a.admin.ID).Scan(&noted)
	if !noted.Equal(first) || due() != 0 {
		t.Fatalf("noted %v, want %v; %d digests due", noted, first, due())
	}
	// A stale job, even one that read the new time: not due until tomorrow's 08:00.
	if claim(nil, time.Now()) || claim(&noted, time.Now()) {
		t.Fatal("a digest claimed twice on one day")
	}
	// A day later it is due again, from the time it was last sent.
	exec(`UPDATE users SET last_digest_at = last_digest_at - interval '1 day' WHERE workspace_id = $1 AND id = $2`, a.ws.ID, a.admin.ID)
	yesterday := noted.Add(-24 * time.Hour)
	if due() != 1 || claim(&noted, time.Now()) || !claim(&yesterday, time.Now()) {
		t.Fatal("the next day's digest: claimed from a stale read, or not claimed")
	}
}

// TestDigestMovesReadsOneSnapshot: the digest's lists are read as of one moment. Scoring that
// commits between its reads (here: a person gaining 10 points, with their account) shows in
// none of them; the next digest sees it in both.
func TestDigestMovesReadsOneSnapshot(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	var account, mainScore int64
	if err := db.QueryRow(`INSERT INTO accounts (workspace_id, domain, name) VALUES ($1, 'acme.example', 'Acme') RETURNING id`, a.ws.ID).Scan(&account); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `UPDATE leads SET account_id = $3 WHERE workspace_id = $1 AND id = $2`, a.ws.ID, a.lead.ID, account)
	if err := db.QueryRow(`SELECT id FROM score_names WHERE workspace_id = $1 AND is_main`, a.ws.ID).Scan(&mainScore); err != nil {
		t.Fatal(err)
	}
	scored := func() {
		pgtest.Exec(t, db, `INSERT INTO score_passes (workspace_id, lead_id, score_ids, labels, rule_ids, rule_versions, activity_ids,
				earned_us, deltas, befores, afters, covers_from, covers_to, covered_activity_ids, covered_earned_us, covered_deltas,
				main_score_id, main_delta, main_change)
			VALUES ($1, $2, ARRAY[$3::bigint], '{""}', '{1}', '{1}', '{NULL}', '{NULL}', '{10}', '{0}', '{10}', '{1}', '{0}', '{}', '{}', '{}', $3, 10, 10)`, a.ws.ID, a.lead.ID, mainScore)
	}
	t.Cleanup(func() { store.SetDigestBetweenReads(nil) })
	store.SetDigestBetweenReads(scored)
	_, movers, _, accounts, err := st.DigestMoves(ctx, store.Everyone(a.ws.ID), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(movers) != 0 || len(accounts) != 0 {
		t.Errorf("points scored after the digest's first read show: movers %v, accounts %v", movers, accounts)
	}
	store.SetDigestBetweenReads(nil)
	_, movers, _, accounts, err = st.DigestMoves(ctx, store.Everyone(a.ws.ID), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(movers) != 1 || movers[0].LeadID != a.lead.ID || movers[0].Value != 10 || len(accounts) != 1 || accounts[0].LeadID != account {
		t.Errorf("the next digest: movers %v, accounts %v; want the lead and its account, 10 points", movers, accounts)
	}
}
