package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// BenchmarkLedgerWrite writes the ledger of scoring passes alone, as SaveScoring does, into
// a ledger that already holds a first scoring of 20,000 leads: 20 batches of 1,000 passes, each
// pass of eight lines (one a label) of one activity each, as an incremental pass of one
// activity writes, then of ten activities each, as a burst does. It prints the time, this
// process's CPU and PostgreSQL's per pass (run it with PGTEST_FSYNC=on).
func BenchmarkLedgerWrite(b *testing.B) {
	st, db := pgtest.NewStoreAndDB(b)
	ctx := context.Background()
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "acme", Name: "Acme"},
		model.User{Email: "ada@acme.com", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		b.Fatal(err)
	}
	const leads, batch = 20_000, 1_000
	now := time.Now().UTC()
	var activity int64
	// pass is one lead's lines: rules score lines covering `covers` activities each, and a label.
	pass := func(lead int64, rules, covers int) []model.LedgerLine {
		var out []model.LedgerLine
		for r := 0; r < rules; r++ {
			score := int64(1 + r%3)
			l := model.LedgerLine{LeadID: lead, Kind: "score", ScoreID: &score, RuleID: int64(100 + r), RuleVersion: 1,
				EarnedAt: &now, Delta: float64(r%7) + 0.5, Before: 10, After: 10 + float64(r%7) + 0.5}
			for c := 0; c < covers; c++ {
				activity++
				l.Covers = append(l.Covers, model.Covered{ActivityID: activity, EarnedAt: now.Add(time.Duration(c) * time.Second), Delta: 1.5})
			}
			if covers == 1 {
				l.ActivityID, l.Covers = &l.Covers[0].ActivityID, nil
			}
			out = append(out, l)
		}
		return append(out, model.LedgerLine{LeadID: lead, Kind: "label", Label: "Hot", RuleID: 99, RuleVersion: 1, EarnedAt: &now, Delta: 1, After: 1})
	}
	write := func(lines []model.LedgerLine) {
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.SaveScoring(ctx, ws.ID, model.ScoringWrite{Ledger: lines})
		}); err != nil {
			b.Fatal(err)
		}
	}
	for first := int64(1); first <= leads; first += batch {
		var lines []model.LedgerLine
		for lead := first; lead < first+batch; lead++ {
			lines = append(lines, pass(lead, 30, 2)...)
		}
		write(lines)
	}
	pgtest.Exec(b, db, `VACUUM ANALYZE`)
	b.ResetTimer()
	for _, covers := range []int{1, 10} {
		goCPU, pgCPU, start := pgtest.ProcessCPU(b), pgtest.ServerCPU(b, db), time.Now()
		for k := 0; k < 20; k++ {
			var lines []model.LedgerLine
			for i := 0; i < batch; i++ {
				lines = append(lines, pass(int64(1+(k*7919+i*104729)%leads), 7, covers)...)
			}
			write(lines)
		}
		took, n := time.Since(start), float64(20*batch)
		goCPU, pgCPU = pgtest.ProcessCPU(b)-goCPU, pgtest.ServerCPU(b, db)-pgCPU
		fmt.Printf("ledger of 20,000 passes of 8 lines, %d activities a line: %.1f ms a batch of 1,000, Go CPU %.1f µs a pass, PostgreSQL CPU %.1f µs\n",
			covers, float64(took.Microseconds())/20/1000, float64(goCPU.Microseconds())/n, float64(pgCPU.Microseconds())/n)
	}
}
