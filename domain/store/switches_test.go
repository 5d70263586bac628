package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// switchIsolationCases: B switched Slack off; A's switches neither read nor change B's.
func switchIsolationCases(t *testing.T, st *store.Store, db *sql.DB, wsA int64, b tenant) map[string]func() error {
	ctx := context.Background()
	if err := st.SwitchPart(ctx, b.ws.ID, store.PartSlack, false, "B"); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `INSERT INTO deliveries (workspace_id, kind, channel, recipient, subject, message)
		VALUES ($1, 'alert', 'slack', '#b', 'b', '\x00')`, b.ws.ID)
	pgtest.Exec(t, db, `INSERT INTO delivery_queue (workspace_id, delivery_id, run_after, last_error)
		SELECT $1, max(id), now() + interval '1 day', $2 FROM deliveries WHERE workspace_id = $1`, b.ws.ID, store.SwitchedOffWhy(store.PartSlack))
	bOff := func() error {
		if off, _ := st.PartOff(ctx, b.ws.ID, store.PartSlack); off != store.PartSlack {
			return errors.New("B's Slack switch changed")
		}
		return nil
	}
	return map[string]func() error{
		"SwitchedOff": func() error {
			off, err := st.SwitchedOff(ctx, wsA)
			if len(off) != 0 {
				return errors.New("read B's switches")
			}
			return err
		},
		"PartOff": func() error {
			off, err := st.PartOff(ctx, wsA, store.PartSlack)
			if off != "" {
				return errors.New("B's switch applies to A")
			}
			return err
		},
		"SwitchPart": func() error {
			if err := st.SwitchPart(ctx, wsA, store.PartSlack, true, "A"); err != nil {
				return err
			}
			if err := bOff(); err != nil {
				return err
			}
			if n := pgtest.Count(t, db, `SELECT count(*) FROM delivery_queue WHERE workspace_id = $1 AND run_after <= now() AND last_error = $2`,
				b.ws.ID, store.SwitchedOffWhy(store.PartSlack)); n != 0 {
				return errors.New("made B's waiting deliveries due")
			}
			return nil
		},
		"WaitingFor": func() error {
			n, err := st.WaitingFor(ctx, wsA, store.PartSlack)
			if n != 0 {
				return errors.New("counted B's waiting deliveries")
			}
			return err
		},
	}
}
