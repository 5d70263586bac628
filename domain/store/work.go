package store

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// WorkTable describes a queue table of the work layer (migration 0005): workspace_id, a
// bigint key, and the work columns attempts, run_after, claim and last_error. The names are
// constants of this package, never input, so the statements below may splice them in.
type WorkTable struct {
	Queue string // the queue's name: in work_quarantine, logs and metrics
	Table string
	Key   string // the item's bigint key within its workspace
	Order string // the order items are claimed in
	Since string // when an item was queued, for the age of the oldest
	// Group, when set, is a column whose items are best handled together: a claim takes the
	// first items in order and, with them, the next due items of the same groups (up to
	// groupClaimFactor times as many again), so that one pass handles each group once. The
	// Key must grow in the Order (the table's index on (workspace_id, Group, Key) walks a
	// group in it).
	Group string
}

// groupClaimFactor bounds a grouped claim: the batch's first items, then at most this many
// times as many again from their groups.
const groupClaimFactor = 19

// The queue tables.
var (
	InboundWork = WorkTable{Queue: "inbound", Table: "inbound_queue", Key: "event_row_id", Order: "event_row_id", Since: "received_at"}
	// ScoringWork is grouped by lead: a lead's activities queued together are scored in one
	// pass, which costs about what one activity costs (migration 0037).
	ScoringWork = WorkTable{Queue: "scoring", Table: "scoring_queue", Key: "activity_id", Order: "activity_id", Since: "queued_at", Group: "lead_id"}
	LookupWork  = WorkTable{Queue: "braze-lookup", Table: "braze_lookups", Key: "id", Order: "run_after", Since: "run_after"}
	OutboxWork  = WorkTable{Queue: "salesforce-push", Table: "salesforce_outbox", Key: "lead_id", Order: "run_after", Since: "changed_at"}
	JobWork     = WorkTable{Queue: "jobs", Table: "jobs", Key: "id", Order: "run_after", Since: "run_after"}
	// DeliveryWork: emails (and, with alerts, Slack messages and webhooks) to send.
	DeliveryWork = WorkTable{Queue: "deliveries", Table: "delivery_queue", Key: "delivery_id", Order: "run_after", Since: "queued_at"}
	// WritebackWork: leads whose values go back into Braze (/users/track).
	WritebackWork = WorkTable{Queue: "braze-writeback", Table: "braze_outbox", Key: "lead_id", Order: "run_after", Since: "changed_at"}
)

// WorkTables lists every queue table.
var WorkTables = []WorkTable{InboundWork, ScoringWork, LookupWork, OutboxWork, JobWork, DeliveryWork, WritebackWork}

// WorkItem is a claimed item.
type WorkItem struct {
	ID       int64 `db:"id"`
	Attempts int   `db:"attempts"`
}

// NextWorkspace returns the first workspace after `after` that has due work in t (items whose
// run_after has come), going round to the start once: claims serve workspaces in turn, so a
// large backlog of one never delays another. The walk visits each workspace that has rows in
// t once, by index (a loose scan), whatever the number of rows.
func (s *Store) NextWorkspace(ctx context.Context, t WorkTable, after int64) (int64, bool, error) {
	query := fmt.Sprintf(`WITH RECURSIVE ws AS (
			(SELECT workspace_id FROM %[1]s WHERE workspace_id > $1 ORDER BY workspace_id LIMIT 1)
			UNION ALL
			SELECT (SELECT x.workspace_id FROM %[1]s x WHERE x.workspace_id > ws.workspace_id ORDER BY x.workspace_id LIMIT 1)
			FROM ws WHERE ws.workspace_id IS NOT NULL)
		SELECT workspace_id FROM ws WHERE workspace_id IS NOT NULL
			AND EXISTS (SELECT 1 FROM %[1]s d WHERE d.workspace_id = ws.workspace_id AND d.run_after <= now())
		LIMIT 1`, t.Table)
	for _, from := range []int64{after, -1} {
		var ws int64
		err := s.db.GetContext(ctx, &ws, query, from)
		if err == nil {
			return ws, true, nil
		}
		if notFound(err) != ErrNotFound {
			return 0, false, fmt.Errorf("store: unable to find work in %s: %w", t.Table, err)
		}
		if from < 0 {
			break
		}
	}
	return 0, false, nil
}

// ClaimWork leases up to limit due items of one workspace for lease, under token, and counts
// the attempt. It is one statement: other workers skip the rows it locks, and the lease (a
// run_after in the future) keeps them away after it commits.
func (s *Store) ClaimWork(ctx context.Context, t WorkTable, workspaceID int64, limit int, lease time.Duration, token int64) ([]WorkItem, error) {
	var items []WorkItem
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// A queue table grows and shrinks faster than its statistics follow; planned from
		// stale ones, "the first items in order" became a scan and sort of the whole backlog
		// (230 ms for 300,000 queued events, measured). The claim walks its index in order.
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off`); err != nil {
			return err
		}
		if t.Group != "" {
			return tx.SelectContext(ctx, &items, claimGroupedSQL(t), workspaceID, limit, lease.Milliseconds(), token, groupClaimFactor*limit)
		}
		return tx.SelectContext(ctx, &items, fmt.Sprintf(`UPDATE %[1]s q SET claim = $4, attempts = q.attempts + 1,
				run_after = now() + $3 * interval '1 millisecond'
			FROM (SELECT %[2]s FROM %[1]s WHERE workspace_id = $1 AND run_after <= now()
				ORDER BY %[3]s LIMIT $2 FOR UPDATE SKIP LOCKED) c
			WHERE q.workspace_id = $1 AND q.%[2]s = c.%[2]s
			RETURNING q.%[2]s AS id, q.attempts`, t.Table, t.Key, t.Order), workspaceID, limit, lease.Milliseconds(), token)
	})
	if err != nil {
		return nil, fmt.Errorf("store: unable to claim %s: %w", t.Queue, err)
	}
	slices.SortFunc(items, func(a, b WorkItem) int { return cmp.Compare(a.ID, b.ID) })
	return items, nil
}

// claimGroupedSQL claims the first due items in order — the oldest first, as for any queue —
// and then the next due items of their groups, each group's in order (its index walks them:
// no scan of the backlog), skipping what other claims hold. A group's items taken are
// always its oldest due ones, so none is left behind for later that is older than one taken.
// Parameters as ClaimWork's, and $5 the most items to add from the groups.
func claimGroupedSQL(t WorkTable) string {
	return fmt.Sprintf(`WITH firsts AS (
			SELECT %[2]s, %[4]s FROM %[1]s WHERE workspace_id = $1 AND run_after <= now()
			ORDER BY %[3]s LIMIT $2 FOR UPDATE SKIP LOCKED),
		groups AS (SELECT %[4]s, max(%[2]s) AS last FROM firsts GROUP BY %[4]s),
		more AS (
			SELECT m.%[2]s FROM groups f, LATERAL (
				SELECT g.%[2]s FROM %[1]s g WHERE g.workspace_id = $1 AND g.%[4]s = f.%[4]s AND g.%[2]s > f.last AND g.run_after <= now()
				ORDER BY g.%[2]s LIMIT $5 FOR UPDATE SKIP LOCKED) m
			LIMIT $5)
		UPDATE %[1]s q SET claim = $4, attempts = q.attempts + 1, run_after = now() + $3 * interval '1 millisecond'
		WHERE q.workspace_id = $1 AND q.%[2]s IN (SELECT %[2]s FROM firsts UNION ALL SELECT %[2]s FROM more)
		RETURNING q.%[2]s AS id, q.attempts`, t.Table, t.Key, t.Order, t.Group)
}

// OwnWork locks, in key order, the items of ids that the claim token still holds, and returns
// them: a lease that ran out may have passed an item to another worker, which then finishes
// it instead. Work done in this transaction on the returned items is theirs alone.
func (t *Tx) OwnWork(ctx context.Context, wt WorkTable, workspaceID int64, ids []int64, token int64) ([]int64, error) {
	var owned []int64
	err := t.tx.SelectContext(ctx, &owned, fmt.Sprintf(`SELECT %[2]s FROM %[1]s
		WHERE workspace_id = $1 AND %[2]s = ANY($2) AND claim = $3 ORDER BY %[2]s FOR UPDATE`, wt.Table, wt.Key),
		workspaceID, pq.Array(ids), token)
	if err != nil {
		return nil, fmt.Errorf("store: unable to lock claimed %s: %w", wt.Queue, err)
	}
	return owned, nil
}

// TakeWork deletes, in key order, the items of ids that the claim token still holds, and
// returns them: for queues whose items are finished by removing them, the handler's
// transaction takes its items at its start — one write per item — and a rollback puts them
// back (with the claim, until the lease ends).
func (t *Tx) TakeWork(ctx context.Context, wt WorkTable, workspaceID int64, ids []int64, token int64) ([]int64, error) {
	var taken []int64
	err := t.tx.SelectContext(ctx, &taken, fmt.Sprintf(`DELETE FROM %[1]s
		WHERE workspace_id = $1 AND %[2]s = ANY($2) AND claim = $3 RETURNING %[2]s`, wt.Table, wt.Key),
		workspaceID, pq.Array(ids), token)
	if err != nil {
		return nil, fmt.Errorf("store: unable to take claimed %s: %w", wt.Queue, err)
	}
	slices.Sort(taken)
	return taken, nil
}

// DeferWork gives claimed items back to run again at `at`, noting why. countAttempt false
// gives the claim's attempt back too (the work waited for something outside it: a rate
// limit, a pause, a shutdown). tx may be nil.
func (s *Store) DeferWork(ctx context.Context, tx *Tx, t WorkTable, workspaceID int64, ids []int64, token int64, at time.Time, why string, countAttempt bool) error {
	back := 1
	if countAttempt {
		back = 0
	}
	_, err := s.execer(tx).ExecContext(ctx, fmt.Sprintf(`UPDATE %[1]s SET run_after = $4, claim = NULL, last_error = $5,
			attempts = greatest(0, attempts - $6)
		WHERE workspace_id = $1 AND %[2]s = ANY($2) AND claim = $3`, t.Table, t.Key),
		workspaceID, pq.Array(ids), token, at, truncate(why, 2000), back)
	if err != nil {
		return fmt.Errorf("store: unable to reschedule %s: %w", t.Queue, err)
	}
	return nil
}

// QuarantineWork moves claimed items out of their queue into work_quarantine, row and all,
// with the reason: the rest of the queue flows on, and Retry can put them back.
func (s *Store) QuarantineWork(ctx context.Context, t WorkTable, workspaceID int64, ids []int64, token int64, reason string) error {
	return quarantineWork(ctx, s.db, t, workspaceID, ids, token, reason)
}

// SetAsideWork quarantines claimed items inside the handler's transaction (which holds them):
// for an item its handler knows cannot succeed as it is, with the reason.
func (t *Tx) SetAsideWork(ctx context.Context, wt WorkTable, workspaceID int64, ids []int64, token int64, reason string) error {
	return quarantineWork(ctx, t.tx, wt, workspaceID, ids, token, reason)
}

func quarantineWork(ctx context.Context, q sqlx.ExecerContext, t WorkTable, workspaceID int64, ids []int64, token int64, reason string) error {
	_, err := q.ExecContext(ctx, fmt.Sprintf(`WITH moved AS (
			DELETE FROM %[1]s WHERE workspace_id = $1 AND %[2]s = ANY($2) AND claim = $3 RETURNING *)
		INSERT INTO work_quarantine (workspace_id, queue, item_id, item, attempts, reason)
		SELECT workspace_id, $4, %[2]s, to_jsonb(moved), attempts, $5 FROM moved
		ON CONFLICT (workspace_id, queue, item_id) DO UPDATE SET item = excluded.item, attempts = excluded.attempts,
			reason = excluded.reason, quarantined_at = now()`, t.Table, t.Key),
		workspaceID, pq.Array(ids), token, t.Queue, truncate(reason, 2000))
	if err != nil {
		return fmt.Errorf("store: unable to quarantine %s: %w", t.Queue, err)
	}
	return nil
}

// QuarantinedItem is an item set aside after failing again and again.
type QuarantinedItem struct {
	Queue         string    `db:"queue"`
	ItemID        int64     `db:"item_id"`
	What          string    `db:"what"` // the event, activity, identifier, lead or job, in words
	Attempts      int       `db:"attempts"`
	Reason        string    `db:"reason"`
	QuarantinedAt time.Time `db:"quarantined_at"`
}

// ListQuarantined lists a workspace's quarantined items of one queue (all queues: ""),
// newest first, each with what it is about.
func (s *Store) ListQuarantined(ctx context.Context, workspaceID int64, queue string, limit int) ([]QuarantinedItem, error) {
	var out []QuarantinedItem
	err := s.db.SelectContext(ctx, &out, `SELECT q.queue, q.item_id, q.attempts, q.reason, q.quarantined_at, COALESCE(CASE q.queue
			WHEN 'inbound' THEN (SELECT e.event_type || ' ' || e.event_id FROM inbound_events e WHERE e.workspace_id = q.workspace_id AND e.id = q.item_id)
			WHEN 'scoring' THEN (SELECT a.name FROM activities a WHERE a.workspace_id = q.workspace_id AND a.id = q.item_id)
			WHEN 'braze-lookup' THEN (q.item->>'kind') || ' ' || (q.item->>'value')
			WHEN 'salesforce-push' THEN (SELECT l.email FROM leads l WHERE l.workspace_id = q.workspace_id AND l.id = q.item_id)
			WHEN 'jobs' THEN q.item->>'kind'
			WHEN 'braze-writeback' THEN (SELECT l.email FROM leads l WHERE l.workspace_id = q.workspace_id AND l.id = q.item_id)
			WHEN 'deliveries' THEN (SELECT d.kind || ' to ' || d.recipient FROM deliveries d WHERE d.workspace_id = q.workspace_id AND d.id = q.item_id)
		END, '') AS what
		FROM work_quarantine q
		WHERE q.workspace_id = $1 AND ($2 = '' OR q.queue = $2) ORDER BY q.quarantined_at DESC, q.item_id LIMIT $3`, workspaceID, queue, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list quarantined work: %w", err)
	}
	return out, nil
}

// RetryQuarantined puts quarantined items back into their queue, due now, with their attempts
// reset; it returns how many went back. An item queued again meanwhile stays as it is.
func (s *Store) RetryQuarantined(ctx context.Context, t WorkTable, workspaceID int64, ids []int64) (int, error) {
	res, err := s.db.ExecContext(ctx, fmt.Sprintf(`WITH back AS (
			DELETE FROM work_quarantine WHERE workspace_id = $1 AND queue = $2 AND item_id = ANY($3) RETURNING item)
		INSERT INTO %[1]s OVERRIDING SYSTEM VALUE
		SELECT (jsonb_populate_record(NULL::%[1]s, item || jsonb_build_object('attempts', 0, 'claim', NULL,
			'last_error', '', 'run_after', now()))).* FROM back
		ON CONFLICT DO NOTHING`, t.Table), workspaceID, t.Queue, pq.Array(ids))
	if err != nil {
		return 0, fmt.Errorf("store: unable to retry %s: %w", t.Queue, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DiscardQuarantined drops quarantined items for good and returns how many. A discarded
// event is kept aside with the note as its reason (it was acknowledged: it stays accounted
// for, but never becomes an activity); other items are simply dropped.
func (s *Store) DiscardQuarantined(ctx context.Context, t WorkTable, workspaceID int64, ids []int64, note string) (int, error) {
	n := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		dropped, err := tx.DropQuarantined(ctx, t.Queue, workspaceID, ids)
		if err != nil {
			return err
		}
		n = len(dropped)
		if t == InboundWork {
			return tx.MarkEventsIgnored(ctx, workspaceID, dropped, note)
		}
		return nil
	})
	return n, err
}

// WorkTableOf finds a queue table by its queue's name.
func WorkTableOf(queue string) (WorkTable, bool) {
	for _, t := range WorkTables {
		if t.Queue == queue {
			return t, true
		}
	}
	return WorkTable{}, false
}

// DropQuarantined removes quarantined items of a queue and returns the ids it removed.
func (t *Tx) DropQuarantined(ctx context.Context, queue string, workspaceID int64, ids []int64) ([]int64, error) {
	var out []int64
	if err := t.tx.SelectContext(ctx, &out, `DELETE FROM work_quarantine WHERE workspace_id = $1 AND queue = $2 AND item_id = ANY($3)
		RETURNING item_id`, workspaceID, queue, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: unable to discard %s: %w", queue, err)
	}
	slices.Sort(out)
	return out, nil
}

// QueueFigures is the state of one queue across workspaces, for metrics.
type QueueFigures struct {
	Depth       int64      `db:"depth"`
	Due         int64      `db:"due"`
	Oldest      *time.Time `db:"oldest"`
	Quarantined int64      `db:"quarantined"`
}

// WorkFigures counts a queue's items (all, due now), the oldest item's time and the
// quarantined ones, across workspaces.
func (s *Store) WorkFigures(ctx context.Context, t WorkTable) (QueueFigures, error) {
	var f QueueFigures
	err := s.db.GetContext(ctx, &f, fmt.Sprintf(`SELECT count(*) AS depth, count(*) FILTER (WHERE run_after <= now()) AS due,
			min(%[2]s) AS oldest, (SELECT count(*) FROM work_quarantine WHERE queue = $1) AS quarantined
		FROM %[1]s`, t.Table, t.Since), t.Queue)
	if err != nil {
		return f, fmt.Errorf("store: unable to measure %s: %w", t.Queue, err)
	}
	return f, nil
}

// IsTransient tells errors that say nothing about the work itself — the database restarting,
// a lost connection, a deadlock or serialization failure, a lock wait that timed out — from
// those the work caused. The work layer retries the first kind without counting an attempt.
func IsTransient(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "08", "40", "53", "58":
			return true
		}
		switch pqErr.Code {
		case "57P01", "57P02", "57P03", "55P03":
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &netErr)
}

// execer is tx when given, else the pool.
func (s *Store) execer(tx *Tx) sqlx.ExtContext {
	if tx != nil {
		return tx.tx
	}
	return s.db
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}
