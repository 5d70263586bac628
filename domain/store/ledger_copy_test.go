package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/migrations"
)

// TestLedgerLinesAreStoredAsWritten: ledger lines go in by COPY, one score_passes row per run
// of one lead's lines, and come back through the score_ledger view as written, in their
// order — NULLs, a label with the characters COPY and array literals escape, times to the
// microsecond, fractional and tiny points, and lines covering several activities next to
// lines of one.
func TestLedgerLinesAreStoredAsWritten(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	other := anotherLead(t, st, a)
	scoreID, activityID := int64(7), int64(42)
	at := time.Date(2026, 11, 27, 18, 4, 43, 123456000, time.UTC)
	lines := []model.LedgerLine{
		{LeadID: a.lead.ID, Kind: "score", ScoreID: &scoreID, RuleID: 3, RuleVersion: 2, ActivityID: &activityID, EarnedAt: &at, Delta: 2.5, Before: 0, After: 2},
		{LeadID: a.lead.ID, Kind: "label", Label: "Hot\tlead \\ \"x\"\n{a,b} NULL", RuleID: 4, RuleVersion: 1, Delta: 1, Before: 0, After: 1},
		{LeadID: a.lead.ID, Kind: "score", ScoreID: &scoreID, RuleID: 5, RuleVersion: 9, EarnedAt: &at, Delta: -0.30000000000000004, Before: 2.5, After: 2.2,
			Covers: []model.Covered{{ActivityID: 1, EarnedAt: at, Delta: 0.1}, {ActivityID: 2, EarnedAt: at.Add(time.Hour), Delta: -0.4}, {ActivityID: 3, EarnedAt: at.Add(-time.Minute), Delta: 1e-7}}},
		{LeadID: a.lead.ID, Kind: "label", Label: "", RuleID: 6, RuleVersion: 1, Delta: -1, Before: 1, After: 0},
		{LeadID: a.lead.ID, Kind: "score", ScoreID: &scoreID, RuleID: 8, RuleVersion: 1, EarnedAt: &at, Delta: 4, Before: 2.2, After: 6.2,
			Covers: []model.Covered{{ActivityID: 4, EarnedAt: at, Delta: 1}, {ActivityID: 5, EarnedAt: at, Delta: 3}}},
		{LeadID: other.ID, Kind: "score", ScoreID: &scoreID, RuleID: 3, RuleVersion: 2, ActivityID: &activityID, EarnedAt: &at, Delta: 1, Before: 0, After: 1},
		{LeadID: a.lead.ID, Kind: "label", Label: "Later", RuleID: 4, RuleVersion: 1, Delta: 1, Before: 0, After: 1},
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SaveScoring(ctx, a.ws.ID, model.ScoringWrite{Ledger: lines, MainScoreID: scoreID})
	}); err != nil {
		t.Fatal(err)
	}
	// One row per run of a lead's lines, each with how it moved the main score (points, and
	// value after minus before) and the labels it gave.
	type passRow struct {
		lead, main   int64
		delta, moved string
		given        []string
	}
	var passes []passRow
	rows, err := db.Query(`SELECT lead_id, main_score_id, round(main_delta::numeric, 6)::text, round(main_change::numeric, 6)::text, labels_given
		FROM score_passes WHERE workspace_id = $1 ORDER BY id`, a.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p passRow
		var given pq.StringArray
		if err := rows.Scan(&p.lead, &p.main, &p.delta, &p.moved, &given); err != nil {
			t.Fatal(err)
		}
		p.given = []string(given)
		passes = append(passes, p)
	}
	rows.Close()
	want := []passRow{
		{a.lead.ID, scoreID, "6.200000", "5.700000", []string{lines[1].Label}}, // a value that decayed moves less than its points
		{other.ID, scoreID, "1.000000", "1.000000", []string{}},
		{a.lead.ID, scoreID, "0.000000", "0.000000", []string{"Later"}},
	}
	if !reflect.DeepEqual(passes, want) {
		t.Fatalf("pass rows:\n got %+v\nwant %+v", passes, want)
	}
	got := readLedger(t, db, a.ws.ID, "id, line")
	if !reflect.DeepEqual(got, lines) {
		t.Fatalf("stored lines differ:\n got %+v\nwant %+v", got, lines)
	}
}

// TestLargePassesAreCompressedWithLZ4: a pass whose lines cover a long history is larger than
// PostgreSQL's 2 KB threshold; it is stored compressed with lz4 (migration 0042), not pglz,
// and reads back as written.
func TestLargePassesAreCompressedWithLZ4(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	scoreID := int64(7)
	at := time.Date(2026, 11, 28, 3, 40, 0, 0, time.UTC)
	var lines []model.LedgerLine
	for r := int64(0); r < 30; r++ {
		l := model.LedgerLine{LeadID: a.lead.ID, Kind: "score", ScoreID: &scoreID, RuleID: 100 + r, RuleVersion: 1, EarnedAt: &at, Delta: 5, After: 5}
		for c := int64(0); c < 10; c++ {
			l.Covers = append(l.Covers, model.Covered{ActivityID: r*1000 + c, EarnedAt: at.Add(time.Duration(c) * time.Hour), Delta: 0.5})
		}
		lines = append(lines, l)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SaveScoring(ctx, a.ws.ID, model.ScoringWrite{Ledger: lines, MainScoreID: scoreID})
	}); err != nil {
		t.Fatal(err)
	}
	var method sql.NullString
	var raw, stored int
	if err := db.QueryRow(`SELECT pg_column_compression(covered_activity_ids), octet_length(covered_activity_ids::text) + octet_length(covered_earned_us::text),
			pg_column_size(covered_activity_ids) + pg_column_size(covered_earned_us)
		FROM score_passes WHERE workspace_id = $1`, a.ws.ID).Scan(&method, &raw, &stored); err != nil {
		t.Fatal(err)
	}
	if method.String != "lz4" || stored >= raw {
		t.Fatalf("covered activities stored %d bytes for %d of text, compressed with %q, want lz4", stored, raw, method.String)
	}
	if got := readLedger(t, db, a.ws.ID, "id, line"); !reflect.DeepEqual(got, lines) {
		t.Fatalf("stored lines differ:\n got %+v\nwant %+v", got, lines)
	}
}

// readLedger reads a workspace's ledger lines from score_ledger (the view, or the table it
// replaced), in the order they were written: by order, a list of its columns.
func readLedger(t *testing.T, db *sql.DB, ws int64, order string) []model.LedgerLine {
	t.Helper()
	rows, err := db.Query(`SELECT lead_id, kind, score_id, label, rule_id, rule_version, activity_id, earned_at, delta, before, after,
			COALESCE(to_json(activity_ids)::text, 'null'), COALESCE(to_json(earned_ats)::text, 'null'), COALESCE(to_json(deltas)::text, 'null')
		FROM score_ledger WHERE workspace_id = $1 ORDER BY `+order, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []model.LedgerLine
	for rows.Next() {
		var l model.LedgerLine
		var ids, times, deltas string
		if err := rows.Scan(&l.LeadID, &l.Kind, &l.ScoreID, &l.Label, &l.RuleID, &l.RuleVersion, &l.ActivityID, &l.EarnedAt, &l.Delta, &l.Before, &l.After, &ids, &times, &deltas); err != nil {
			t.Fatal(err)
		}
		var cids []int64
		var ctimes []time.Time
		var cdeltas []float64
		for _, c := range []struct {
			text string
			into any
		}{{ids, &cids}, {times, &ctimes}, {deltas, &cdeltas}} {
			if err := json.Unmarshal([]byte(c.text), c.into); err != nil {
				t.Fatal(err)
			}
		}
		for i := range cids {
			l.Covers = append(l.Covers, model.Covered{ActivityID: cids[i], EarnedAt: ctimes[i].UTC(), Delta: cdeltas[i]})
		}
		if l.EarnedAt != nil {
			u := l.EarnedAt.UTC()
			l.EarnedAt = &u
		}
		got = append(got, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLedgerMigratesToPasses replays migration 0041 on ledger lines in the table it replaced:
// the lines of one lead written at one time become one pass, and the view lists them as they
// were, covered activities included.
func TestLedgerMigratesToPasses(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	a := seedTenant(t, st, "a")
	b := seedTenant(t, st, "b")
	// The ledger as migrations 0003, 0019 and 0035 left it.
	pgtest.Exec(t, db, `DROP VIEW score_ledger`)
	pgtest.Exec(t, db, `DROP TABLE score_passes`)
	pgtest.Exec(t, db, `CREATE TABLE score_ledger (
		workspace_id bigint NOT NULL, id bigint GENERATED ALWAYS AS IDENTITY, lead_id bigint NOT NULL,
		kind text NOT NULL CHECK (kind IN ('score', 'label')), score_id bigint, label text NOT NULL DEFAULT '',
		rule_id bigint NOT NULL, rule_version integer NOT NULL, activity_id bigint, earned_at timestamptz,
		delta double precision NOT NULL, before double precision NOT NULL, after double precision NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now(), activity_ids bigint[], earned_ats timestamptz[], deltas double precision[],
		PRIMARY KEY (workspace_id, lead_id, id))`)
	// Each workspace's main score, whose moves each pass records.
	mainOf := func(ws int64) int64 {
		t.Helper()
		if pgtest.Count(t, db, `SELECT count(*) FROM score_names WHERE workspace_id = $1 AND is_main`, ws) == 0 {
			pgtest.Exec(t, db, `INSERT INTO score_names (workspace_id, name, is_main) VALUES ($1, 'Main', true)`, ws)
		}
		return int64(pgtest.Count(t, db, `SELECT id FROM score_names WHERE workspace_id = $1 AND is_main`, ws))
	}
	mainA, mainB := mainOf(a.ws.ID), mainOf(b.ws.ID)
	first, second := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	// insert writes one old line; covered activities earn a point each a day apart.
	insert := func(ws, lead int64, created time.Time, kind string, score any, label string, rule int64, activity any, delta float64, covers ...int64) {
		t.Helper()
		var ids, ats, deltas any
		if len(covers) > 0 {
			var times []string
			var points []float64
			for i := range covers {
				times, points = append(times, first.AddDate(0, 0, -i).Format(time.RFC3339)), append(points, float64(i+1)/3)
			}
			ids, ats, deltas = pq.Array(covers), pq.Array(times), pq.Array(points)
		}
		pgtest.Exec(t, db, `INSERT INTO score_ledger (workspace_id, lead_id, created_at, kind, score_id, label, rule_id, rule_version,
				activity_id, earned_at, delta, before, after, activity_ids, earned_ats, deltas)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $3, $9, 0, $9, $10, $11::timestamptz[], $12)`,
			ws, lead, created, kind, score, label, rule, activity, delta, ids, ats, deltas)
	}
	insert(a.ws.ID, a.lead.ID, first, "score", mainA, "", 1, 100, 5)
	insert(b.ws.ID, b.lead.ID, first, "score", 9, "", 1, nil, 3, 200, 201)
	insert(a.ws.ID, a.lead.ID, first, "score", mainA, "", 2, nil, 3, 101, 102, 103)
	insert(a.ws.ID, a.lead.ID, first, "label", nil, "Hot, \"really\"", 3, nil, 1)
	insert(a.ws.ID, a.lead.ID, second, "score", mainA, "", 2, nil, 4, 104, 105)
	insert(a.ws.ID, a.lead.ID, second, "score", 8, "", 4, 106, -2)
	insert(a.ws.ID, a.lead.ID, second, "score", 8, "", 5, nil, 1, 107, 108, 109)
	wantA, wantB := readLedger(t, db, a.ws.ID, "id"), readLedger(t, db, b.ws.ID, "id")
	if len(wantA) != 6 || len(wantB) != 1 || len(wantA[1].Covers) != 3 {
		t.Fatalf("old lines read %d and %d, %+v", len(wantA), len(wantB), wantA)
	}

	migration, err := migrations.FS.ReadFile("0041_score_passes.sql")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, string(migration))
	for _, c := range []struct {
		ws      int64
		want    []model.LedgerLine
		passes  int
		summary []string
	}{
		{a.ws.ID, wantA, 2, []string{fmt.Sprintf(`%d 8 8 {"Hot, \"really\""}`, mainA), fmt.Sprintf("%d 4 4 {}", mainA)}},
		{b.ws.ID, wantB, 1, []string{fmt.Sprintf("%d 0 0 {}", mainB)}},
	} {
		if n := pgtest.Count(t, db, `SELECT count(*) FROM score_passes WHERE workspace_id = $1`, c.ws); n != c.passes {
			t.Errorf("workspace %d: %d passes, want %d", c.ws, n, c.passes)
		}
		var summary []string
		rows, err := db.Query(`SELECT format('%s %s %s %s', main_score_id, main_delta, main_change, labels_given) FROM score_passes
			WHERE workspace_id = $1 ORDER BY id`, c.ws)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			rows.Scan(&line)
			summary = append(summary, line)
		}
		rows.Close()
		if fmt.Sprint(summary) != fmt.Sprint(c.summary) {
			t.Errorf("workspace %d: passes record main moves and labels %q, want %q", c.ws, summary, c.summary)
		}
		if got := readLedger(t, db, c.ws, "id, line"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("workspace %d: migrated lines differ:\n got %+v\nwant %+v", c.ws, got, c.want)
		}
	}
}
