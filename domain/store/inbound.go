package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// insertChunk keeps a multi-row INSERT under PostgreSQL's 65535-parameter limit.
const insertChunk = 1000

// InsertChunk is the most events one INSERT stores (under PostgreSQL's 65,535 parameters).
const InsertChunk = insertChunk

// InsertInboundBatch stores a batch durably in one transaction: new events (a multi-row
// INSERT, idempotent on workspace + source + event id) and the undecodable ones. It returns
// how many events were new; the rest were duplicates of events stored before.
func (s *Store) InsertInboundBatch(ctx context.Context, workspaceID int64, source string, evs []model.NewInboundEvent, rejects []model.NewReject) (int, error) {
	w := s.NewInboundWriter(workspaceID, source)
	defer w.Rollback()
	for start := 0; start < len(evs); start += insertChunk {
		if err := w.Add(ctx, evs[start:min(start+insertChunk, len(evs))]); err != nil {
			return 0, err
		}
	}
	for _, r := range rejects {
		if err := w.Reject(ctx, r); err != nil {
			return 0, err
		}
	}
	return w.Commit(ctx)
}

// InsertInboundGroups stores several workspaces' events in one transaction (the website
// collector's group commit: one fsync for every hit that arrived meanwhile). Workspaces are
// written in id order; it returns how many events of each were new.
func (s *Store) InsertInboundGroups(ctx context.Context, source string, groups map[int64][]model.NewInboundEvent) (map[int64]int, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: unable to begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stored := make(map[int64]int, len(groups))
	for _, ws := range slices.Sorted(maps.Keys(groups)) {
		evs := groups[ws]
		for start := 0; start < len(evs); start += insertChunk {
			n, err := insertEvents(ctx, tx, ws, source, evs[start:min(start+insertChunk, len(evs))])
			if err != nil {
				return nil, err
			}
			stored[ws] += n
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: unable to commit: %w", err)
	}
	return stored, nil
}

// InboundWriter stores one request's events as they are decoded, a chunk at a time, so a large
// batch never has all its decoded events in memory; nothing is stored unless Commit succeeds.
// The common case, one chunk and no rejects, is one statement: atomic on its own, it needs no
// BEGIN and COMMIT. A second chunk or a reject opens the transaction.
type InboundWriter struct {
	s           *Store
	workspaceID int64
	source      string
	first       []model.NewInboundEvent // the first chunk, held until it is known to be the only one
	tx          *sqlx.Tx
	stored      int
}

// NewInboundWriter starts storing a request's events.
func (s *Store) NewInboundWriter(workspaceID int64, source string) *InboundWriter {
	return &InboundWriter{s: s, workspaceID: workspaceID, source: source}
}

// Add stores a chunk of at most InsertChunk events (the writer keeps no reference to evs).
func (w *InboundWriter) Add(ctx context.Context, evs []model.NewInboundEvent) error {
	if len(evs) == 0 {
		return nil
	}
	if w.tx == nil && w.first == nil {
		w.first = slices.Clone(evs)
		return nil
	}
	if err := w.begin(ctx); err != nil {
		return err
	}
	n, err := insertEvents(ctx, w.tx, w.workspaceID, w.source, evs)
	w.stored += n
	return err
}

// Reject keeps an event that could not be decoded, for inspection.
func (w *InboundWriter) Reject(ctx context.Context, r model.NewReject) error {
	if err := w.begin(ctx); err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(ctx, `INSERT INTO inbound_rejects (workspace_id, source, reason, raw) VALUES ($1, $2, $3, $4)`,
		w.workspaceID, w.source, r.Reason, printable(r.Raw, 64*1024)); err != nil {
		return fmt.Errorf("store: unable to store rejected event: %w", err)
	}
	return nil
}

// begin opens the transaction and stores the held first chunk in it.
func (w *InboundWriter) begin(ctx context.Context) error {
	if w.tx != nil {
		return nil
	}
	tx, err := w.s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: unable to begin transaction: %w", err)
	}
	w.tx = tx
	if w.first != nil {
		n, err := insertEvents(ctx, tx, w.workspaceID, w.source, w.first)
		w.stored += n
		w.first = nil
		return err
	}
	return nil
}

// Commit makes everything durable and returns how many events were new.
func (w *InboundWriter) Commit(ctx context.Context) (int, error) {
	if w.tx == nil {
		if w.first == nil {
			return 0, nil
		}
		n, err := insertEvents(ctx, w.s.db, w.workspaceID, w.source, w.first)
		w.first = nil
		return n, err
	}
	err := w.tx.Commit()
	w.tx = nil
	if err != nil {
		return 0, fmt.Errorf("store: unable to commit: %w", err)
	}
	return w.stored, nil
}

// Rollback abandons what was not committed; after Commit it does nothing.
func (w *InboundWriter) Rollback() {
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
	}
	w.first = nil
}

// insertEvents stores events and queues those to process in one statement, and returns how
// many were new.
func insertEvents(ctx context.Context, q sqlx.QueryerContext, workspaceID int64, source string, chunk []model.NewInboundEvent) (int, error) {
	var sb strings.Builder
	sb.WriteString(`WITH ins AS (INSERT INTO inbound_events (workspace_id, source, event_id, event_type, occurred_at, payload, state) VALUES `)
	args := make([]any, 0, 2+len(chunk)*5)
	args = append(args, workspaceID, source)
	for i, e := range chunk {
		if i > 0 {
			sb.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&sb, "($1,$2,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, e.EventID, e.EventType, e.OccurredAt, string(e.Payload), e.State)
	}
	sb.WriteString(` ON CONFLICT (workspace_id, source, event_id) DO NOTHING RETURNING workspace_id, id, state),
		queued AS (INSERT INTO inbound_queue (workspace_id, event_row_id) SELECT workspace_id, id FROM ins WHERE state = 'pending')
		SELECT count(*) FROM ins`)
	var n int
	if err := sqlx.GetContext(ctx, q, &n, sb.String(), args...); err != nil {
		return 0, fmt.Errorf("store: unable to store events: %w", err)
	}
	return n, nil
}

// printable keeps a rejected payload storable as text: valid UTF-8, no NUL, bounded.
func printable(raw []byte, limit int) string {
	if len(raw) > limit {
		raw = raw[:limit]
	}
	s := strings.ToValidUTF8(string(raw), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Tx is a transaction for the ingest pipeline: claim stored events and turn them into leads,
// identities and activities, all or nothing.
type Tx struct {
	tx *sqlx.Tx
}

// InTx runs fn in a transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return fn(&Tx{tx: tx}) })
}

// CommitWithoutWaiting lets this transaction's commit return before its WAL reaches the disk
// (synchronous_commit off, for this transaction only). Only for work that can be lost in a
// crash and is then done again — re-scoring chunks, whose progress is recorded by a later,
// ordinary commit: WAL is written in order, so a crash that loses a chunk loses the progress
// after it too, and the chunk is scored again.
func (t *Tx) CommitWithoutWaiting(ctx context.Context) error {
	if _, err := t.tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return fmt.Errorf("store: unable to relax the commit: %w", err)
	}
	return nil
}

// InboundEvents reads stored events of a workspace by row id, in id order.
func (t *Tx) InboundEvents(ctx context.Context, workspaceID int64, ids []int64) ([]model.InboundEvent, error) {
	var evs []model.InboundEvent
	err := t.tx.SelectContext(ctx, &evs, `SELECT workspace_id, id, source, event_id, event_type, occurred_at, payload
		FROM inbound_events WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id`, workspaceID, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read events: %w", err)
	}
	return evs, nil
}

// UpsertAccounts makes sure an account exists for each domain and returns their ids.
func (t *Tx) UpsertAccounts(ctx context.Context, workspaceID int64, domains []string) (map[string]int64, error) {
	out := make(map[string]int64, len(domains))
	if len(domains) == 0 {
		return out, nil
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO accounts (workspace_id, domain, name)
		SELECT $1, d, d FROM unnest($2::text[]) AS d ON CONFLICT (workspace_id, domain) DO NOTHING`,
		workspaceID, pq.Array(domains)); err != nil {
		return nil, fmt.Errorf("store: unable to create accounts: %w", err)
	}
	return t.idsByName(ctx, "accounts", `SELECT domain, id FROM accounts WHERE workspace_id = $1 AND domain = ANY($2)`,
		workspaceID, pq.Array(domains))
}

// idsByName runs a query selecting (text, id) pairs and returns them as a map.
func (t *Tx) idsByName(ctx context.Context, what, query string, args ...any) (map[string]int64, error) {
	rows, err := t.tx.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to load %s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return nil, err
		}
		out[name] = id
	}
	return out, rows.Err()
}

// LeadSeed is what ingest knows of a person when it first sees their email.
type LeadSeed struct {
	Email     string
	AccountID int64 // 0: none (free-mail address)
}

// UpsertLeadsByEmail makes sure a lead exists for each email (one per workspace + email) and
// returns their ids. Existing leads keep their data and are not locked (AddLeadActivity fills
// in a missing account).
func (t *Tx) UpsertLeadsByEmail(ctx context.Context, workspaceID int64, seeds []LeadSeed) (map[string]int64, error) {
	out := make(map[string]int64, len(seeds))
	if len(seeds) == 0 {
		return out, nil
	}
	emails := make([]string, len(seeds))
	accounts := make([]int64, len(seeds))
	for i, s := range seeds {
		emails[i], accounts[i] = s.Email, s.AccountID
	}
	if _, err := t.tx.ExecContext(ctx, `
		INSERT INTO leads (workspace_id, email, account_id)
		SELECT $1, e, NULLIF(a, 0) FROM unnest($2::text[], $3::bigint[]) AS x(e, a)
		ON CONFLICT (workspace_id, email) DO NOTHING`, workspaceID, pq.Array(emails), pq.Array(accounts)); err != nil {
		return nil, fmt.Errorf("store: unable to create leads: %w", err)
	}
	return t.idsByName(ctx, "leads", `SELECT email, id FROM leads WHERE workspace_id = $1 AND email = ANY($2)`,
		workspaceID, pq.Array(emails))
}

// LockLeads locks leads in ascending id order, the order every transaction that changes
// several leads takes them in (docs/work.md), so two such transactions queue instead of
// deadlocking.
func (t *Tx) LockLeads(ctx context.Context, workspaceID int64, ids []int64) error {
	return t.lockRows(ctx, "leads", workspaceID, ids)
}

// lockRows locks a workspace's rows of table in ascending id order, so that two transactions
// locking overlapping sets queue instead of deadlocking.
func (t *Tx) lockRows(ctx context.Context, table string, workspaceID int64, ids []int64) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return nil
	}
	q := `SELECT 1 FROM ` + table + ` WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id FOR NO KEY UPDATE`
	if _, err := t.tx.ExecContext(ctx, q, workspaceID, pq.Array(ids)); err != nil {
		return fmt.Errorf("store: unable to lock %s: %w", table, err)
	}
	return nil
}

// LockWaiting takes the workspace's lock for parking and releasing waiting events, held to the
// end of the transaction; it is always the last lock a transaction takes (docs/work.md).
func (t *Tx) LockWaiting(ctx context.Context, workspaceID int64) error {
	if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('peregrine:waiting', $1))`, workspaceID); err != nil {
		return fmt.Errorf("store: unable to take the waiting lock: %w", err)
	}
	return nil
}

// ReleaseKnownWaiting sends the given waiting events back to processing when one of their
// identifiers now belongs to a lead (made known by a transaction that committed meanwhile).
func (t *Tx) ReleaseKnownWaiting(ctx context.Context, workspaceID int64, eventIDs []int64) (int, error) {
	if len(eventIDs) == 0 {
		return 0, nil
	}
	res, err := t.tx.ExecContext(ctx, `WITH released AS (
			DELETE FROM inbound_waiting w WHERE w.workspace_id = $1 AND w.event_row_id = ANY($2) AND EXISTS (
				SELECT 1 FROM lead_identities i WHERE i.workspace_id = $1 AND (
					(i.kind = 'braze_user_id' AND i.value = w.braze_user_id AND w.braze_user_id <> '') OR
					(i.kind = 'external_id' AND i.value = w.external_user_id AND w.external_user_id <> '') OR
					(i.kind = 'phone' AND i.value = w.phone AND w.phone <> '')))
			RETURNING workspace_id, event_row_id)
		INSERT INTO inbound_queue (workspace_id, event_row_id) SELECT workspace_id, event_row_id FROM released
		ON CONFLICT DO NOTHING`, workspaceID, pq.Array(eventIDs))
	if err != nil {
		return 0, fmt.Errorf("store: unable to release waiting events: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AddIdentities links identifiers to leads; an identifier already linked keeps its lead. It
// returns the identities that are new.
func (t *Tx) AddIdentities(ctx context.Context, workspaceID int64, ids []model.Identity) ([]model.Identity, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	kinds, values, leads := make([]string, len(ids)), make([]string, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		kinds[i], values[i], leads[i] = id.Kind, id.Value, id.LeadID
	}
	var added []model.Identity
	err := t.tx.SelectContext(ctx, &added, `
		INSERT INTO lead_identities (workspace_id, kind, value, lead_id)
		SELECT $1, k, v, l FROM unnest($2::text[], $3::text[], $4::bigint[]) AS x(k, v, l)
		ON CONFLICT (workspace_id, kind, value) DO NOTHING
		RETURNING kind, value, lead_id`, workspaceID, pq.Array(kinds), pq.Array(values), pq.Array(leads))
	if err != nil {
		return nil, fmt.Errorf("store: unable to add identities: %w", err)
	}
	return added, nil
}

// LeadsByIdentity maps identifier values of one kind to their leads.
func (t *Tx) LeadsByIdentity(ctx context.Context, workspaceID int64, kind string, values []string) (map[string]int64, error) {
	out := make(map[string]int64, len(values))
	if len(values) == 0 {
		return out, nil
	}
	return t.idsByName(ctx, "identities", `SELECT value, lead_id FROM lead_identities
		WHERE workspace_id = $1 AND kind = $2 AND value = ANY($3)`, workspaceID, kind, pq.Array(values))
}

// InsertActivities stores activities and moves their leads' activity summary. An event that
// already has its activity is skipped, so a retried batch cannot double it.
func (t *Tx) InsertActivities(ctx context.Context, workspaceID int64, rows []model.ActivityRow) error {
	if err := t.InsertActivityRows(ctx, workspaceID, rows); err != nil {
		return err
	}
	return t.AddLeadActivity(ctx, workspaceID, rows, nil)
}

// InsertActivityRows stores activities without touching their leads (new rows only: no lock
// on an existing row). An event that already has its activity is skipped.
func (t *Tx) InsertActivityRows(ctx context.Context, workspaceID int64, rows []model.ActivityRow) error {
	if len(rows) == 0 {
		return nil
	}
	// Column arrays rather than a multi-row VALUES: a statement of 13 parameters is parsed and
	// planned in no time, one of 13,000 took longer than inserting its rows.
	n := len(rows)
	leads, ids, visitors := make([]int64, n), make([]int64, n), make([]int64, n)
	at := make([]string, n)
	texts := make([][]string, 8) // source, event type, name, campaign id and name, canvas id and name, url
	for k := range texts {
		texts[k] = make([]string, n)
	}
	props := make([]string, n)
	for i, r := range rows {
		leads[i], ids[i], visitors[i] = r.LeadID, r.InboundEventID, r.VisitorID
		at[i] = r.OccurredAt.UTC().Format(time.RFC3339Nano)
		for k, v := range []string{r.Source, r.EventType, r.Name, r.CampaignID, r.CampaignName, r.CanvasID, r.CanvasName, r.URL} {
			texts[k][i] = v
		}
		props[i] = string(r.Properties)
		if props[i] == "" {
			props[i] = "{}"
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO activities (workspace_id, lead_id, id, occurred_at, source, event_type, name,
			campaign_id, campaign_name, canvas_id, canvas_name, url, properties, visitor_id)
		SELECT $1, NULLIF(l, 0), id, at, src, typ, nm, cid, cn, vid, vn, u, p::jsonb, NULLIF(v, 0)
		FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[]) AS x(l, id, at, src, typ, nm, cid, cn, vid, vn, u, p, v)
		ON CONFLICT (workspace_id, id) DO NOTHING`,
		workspaceID, pq.Array(leads), pq.Array(ids), pq.Array(at), pq.Array(texts[0]), pq.Array(texts[1]), pq.Array(texts[2]),
		pq.Array(texts[3]), pq.Array(texts[4]), pq.Array(texts[5]), pq.Array(texts[6]), pq.Array(texts[7]), pq.Array(props),
		pq.Array(visitors)); err != nil {
		return fmt.Errorf("store: unable to store activities: %w", err)
	}
	return nil
}

// AddLeadActivity moves the leads' exact activity summary (first and last activity, count;
// lead_activity) by the activities added, and gives a lead without an account the one in
// accounts (lead id → account id; nil: none). Rows are taken in ascending lead id order — the
// order every transaction locks several leads in (docs/work.md) — without locking them
// first: a separate lock pass cost processing a quarter of its throughput (measured). The
// lead's own row is left alone unless it gets a company: scoring copies the summary onto it.
func (t *Tx) AddLeadActivity(ctx context.Context, workspaceID int64, rows []model.ActivityRow, accounts map[int64]int64) error {
	// Per lead: newest and oldest event time and the number of activities added.
	type summary struct {
		first, last time.Time
		n           int64
	}
	byLead := map[int64]*summary{}
	for _, r := range rows {
		if r.LeadID == 0 {
			continue // a browser's, not a lead's
		}
		s := byLead[r.LeadID]
		if s == nil {
			s = &summary{first: r.OccurredAt, last: r.OccurredAt}
			byLead[r.LeadID] = s
		}
		if r.OccurredAt.Before(s.first) {
			s.first = r.OccurredAt
		}
		if r.OccurredAt.After(s.last) {
			s.last = r.OccurredAt
		}
		s.n++
	}
	if len(byLead) == 0 {
		return nil
	}
	leadIDs := slices.Sorted(maps.Keys(byLead))
	firsts, lasts, counts, accs := make([]string, len(leadIDs)), make([]string, len(leadIDs)), make([]int64, len(leadIDs)), make([]int64, len(leadIDs))
	for i, id := range leadIDs {
		s := byLead[id]
		firsts[i], lasts[i], counts[i], accs[i] = s.first.Format(time.RFC3339Nano), s.last.Format(time.RFC3339Nano), s.n, accounts[id]
	}
	// Leads first, then their summaries: the order scoring locks them in (docs/work.md).
	if err := t.giveCompanies(ctx, workspaceID, leadIDs, accs); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO lead_activity (workspace_id, lead_id, activity_count, first_activity_at, last_activity_at)
		SELECT $1, x.id, x.n, x.first, x.last FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::int[]) AS x(id, first, last, n)
			JOIN leads l ON l.workspace_id = $1 AND l.id = x.id
		ORDER BY x.id
		ON CONFLICT (workspace_id, lead_id) DO UPDATE SET activity_count = lead_activity.activity_count + excluded.activity_count,
			first_activity_at = LEAST(lead_activity.first_activity_at, excluded.first_activity_at),
			last_activity_at = GREATEST(lead_activity.last_activity_at, excluded.last_activity_at)`,
		workspaceID, pq.Array(leadIDs), pq.Array(firsts), pq.Array(lasts), pq.Array(counts)); err != nil {
		return fmt.Errorf("store: unable to update lead activity: %w", err)
	}
	return nil
}

// giveCompanies gives the leads without a company the one found for them (0: none).
func (t *Tx) giveCompanies(ctx context.Context, workspaceID int64, leadIDs, accounts []int64) error {
	var orphans, companies []int64
	for i, id := range leadIDs {
		if accounts[i] != 0 {
			orphans, companies = append(orphans, id), append(companies, accounts[i])
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE leads l SET account_id = x.account, updated_at = now()
		FROM unnest($2::bigint[], $3::bigint[]) AS x(id, account)
		WHERE l.workspace_id = $1 AND l.id = x.id AND l.account_id IS NULL`,
		workspaceID, pq.Array(orphans), pq.Array(companies)); err != nil {
		return fmt.Errorf("store: unable to give leads their company: %w", err)
	}
	return nil
}

// MarkEventsWaiting parks events whose person is not known yet, keyed by the identifiers that
// can release them.
func (t *Tx) MarkEventsWaiting(ctx context.Context, workspaceID int64, ws []model.Waiting) error {
	if len(ws) == 0 {
		return nil
	}
	ids, users, exts, phones, reasons := make([]int64, len(ws)), make([]string, len(ws)), make([]string, len(ws)), make([]string, len(ws)), make([]string, len(ws))
	for i, w := range ws {
		ids[i], users[i], exts[i], phones[i], reasons[i] = w.EventID, w.BrazeUserID, w.ExternalUserID, w.Phone, w.Reason
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM inbound_queue WHERE workspace_id = $1 AND event_row_id = ANY($2)`, workspaceID, pq.Array(ids)); err != nil {
		return fmt.Errorf("store: unable to dequeue events: %w", err)
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO inbound_waiting (workspace_id, event_row_id, braze_user_id, external_user_id, phone, reason)
		SELECT $1, x.id, x.u, x.x, x.p, x.r FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(id, u, x, p, r)
		ON CONFLICT (workspace_id, event_row_id) DO UPDATE SET braze_user_id = EXCLUDED.braze_user_id,
			external_user_id = EXCLUDED.external_user_id, phone = EXCLUDED.phone, reason = EXCLUDED.reason`,
		workspaceID, pq.Array(ids), pq.Array(users), pq.Array(exts), pq.Array(phones), pq.Array(reasons))
	if err != nil {
		return fmt.Errorf("store: unable to park events: %w", err)
	}
	return nil
}

// ReleaseWaiting sends events waiting for these identities back to processing.
func (t *Tx) ReleaseWaiting(ctx context.Context, workspaceID int64, ids []model.Identity) (int, error) {
	var users, exts, phones []string
	for _, id := range ids {
		switch id.Kind {
		case model.IdentityBrazeUser:
			users = append(users, id.Value)
		case model.IdentityExternalID:
			exts = append(exts, id.Value)
		case model.IdentityPhone:
			phones = append(phones, id.Value)
		}
	}
	total := 0
	for _, q := range []struct {
		column string
		values []string
	}{{"braze_user_id", users}, {"external_user_id", exts}, {"phone", phones}} {
		if len(q.values) == 0 {
			continue
		}
		res, err := t.tx.ExecContext(ctx, `WITH released AS (
				DELETE FROM inbound_waiting WHERE workspace_id = $1 AND `+q.column+` = ANY($2) RETURNING workspace_id, event_row_id)
			INSERT INTO inbound_queue (workspace_id, event_row_id) SELECT workspace_id, event_row_id FROM released
			ON CONFLICT DO NOTHING`, workspaceID, pq.Array(q.values))
		if err != nil {
			return total, fmt.Errorf("store: unable to release waiting events: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

// EnqueueLookups asks for Braze lookups of identifiers not asked about before.
func (t *Tx) EnqueueLookups(ctx context.Context, workspaceID int64, kind string, values []string) error {
	if len(values) == 0 {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO braze_lookups (workspace_id, kind, value)
		SELECT $1, $2, v FROM unnest($3::text[]) AS v ON CONFLICT (workspace_id, kind, value) DO NOTHING`,
		workspaceID, kind, pq.Array(values))
	if err != nil {
		return fmt.Errorf("store: unable to queue lookups: %w", err)
	}
	return nil
}

// MarkEventsIgnored sets events aside that cannot become activities: they leave the queue
// and wait with a reason no identity releases, visible on the status panel.
func (t *Tx) MarkEventsIgnored(ctx context.Context, workspaceID int64, ids []int64, reason string) error {
	ws := make([]model.Waiting, len(ids))
	for i, id := range ids {
		ws[i] = model.Waiting{EventID: id, Reason: reason}
	}
	return t.MarkEventsWaiting(ctx, workspaceID, ws)
}

// IngestBehind reports whether more than limit events wait to be processed (all workspaces).
func (s *Store) IngestBehind(ctx context.Context, limit int) (bool, error) {
	var behind bool
	if err := s.db.GetContext(ctx, &behind, `SELECT EXISTS (SELECT 1 FROM inbound_queue OFFSET $1)`, limit); err != nil {
		return false, fmt.Errorf("store: unable to check the ingest backlog: %w", err)
	}
	return behind, nil
}
