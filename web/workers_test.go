package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/web"
)

// TestManyWorkersDoNotExhaustThePool: 64 processing and 64 scoring workers on this 2-core
// machine work a backlog of three workspaces to the end — with the pool sized from the
// workers, and with an operator's pool far smaller than the workers (they then take turns
// instead of each holding a connection while waiting for another).
func TestManyWorkersDoNotExhaustThePool(t *testing.T) {
	for _, pool := range []int{0, 26} {
		t.Run(fmt.Sprintf("pool %d", pool), func(t *testing.T) {
			st, db := pgtest.NewStoreAndDB(t)
			ctx := context.Background()
			key, _ := secrets.NewKey()
			box, _ := secrets.NewBox(key)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			p := ingest.New(st, box, log, ingest.Options{})
			events := 0
			for w := 0; w < 3; w++ {
				ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: fmt.Sprintf("w%d", w), Name: "W"},
					model.User{Email: fmt.Sprintf("a%d@w.example", w), Name: "A", PasswordHash: "x"})
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < 10; b++ {
					var evs []string
					for i := 0; i < 100; i++ {
						n := b*100 + i
						evs = append(evs, fmt.Sprintf(`{"id":"e%d","event_type":"users.messages.email.Open","time":%d,"user":{"user_id":"u%d"},"properties":{"email_address":"p%d@co%d.example.com","campaign_name":"C"}}`,
							n, 1773000000+n, n%300, n%300, n%17))
					}
					res, err := p.Acceptor.AcceptCurrents(ctx, ws.ID, []byte(`{"events":[`+strings.Join(evs, ",")+`]}`))
					if err != nil {
						t.Fatal(err)
					}
					events += res.Stored
				}
			}
			deadlocks := func() int {
				return pgtest.Count(t, db, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)
			}
			before := deadlocks()
			workers := web.NewWorkers(st, p, log, web.WorkerOptions{Workers: 64, PoolSize: pool})
			t.Logf("%d goroutines, pool %d", workers.Workers(), st.PoolSize())
			workers.Start(ctx)
			defer workers.Stop()
			// Rules change while events are processed and scored: re-scoring joins in.
			for _, ws := range workspaceIDs(t, db) {
				if err := st.SetGradeScale(ctx, ws, []byte(`{"A":80,"B":60,"C":40,"D":20,"E":10}`)); err != nil {
					t.Fatal(err)
				}
			}
			p.RulesChanged()
			deadline := time.Now().Add(3 * time.Minute) // a hang detector, not a speed target
			for {
				if pgtest.Count(t, db, `SELECT count(*) FROM inbound_queue`)+pgtest.Count(t, db, `SELECT count(*) FROM scoring_queue`)+
					pgtest.Count(t, db, `SELECT count(*) FROM rescore_jobs WHERE state IN ('queued', 'running')`) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the backlog is not worked off: %d events queued, %d activities to score",
						pgtest.Count(t, db, `SELECT count(*) FROM inbound_queue`), pgtest.Count(t, db, `SELECT count(*) FROM scoring_queue`))
				}
				time.Sleep(100 * time.Millisecond)
			}
			if n := pgtest.Count(t, db, `SELECT count(*) FROM activities`); n != events {
				t.Fatalf("%d activities for %d events", n, events)
			}
			if n := pgtest.Count(t, db, `SELECT count(*) FROM work_quarantine`); n != 0 {
				t.Fatalf("%d items set aside under load", n)
			}
			// PostgreSQL reports a backend's counters at most once a second.
			time.Sleep(1100 * time.Millisecond)
			if n := deadlocks() - before; n != 0 {
				t.Fatalf("%d deadlocks between the workers: a lock taken out of order", n)
			}
		})
	}
}

func workspaceIDs(t *testing.T, db *sql.DB) []int64 {
	rows, err := db.Query(`SELECT id FROM workspaces ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}
