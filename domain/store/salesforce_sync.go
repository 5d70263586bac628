package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// SyncSettings returns the workspace's sync settings, or the defaults when none are saved.
func (s *Store) SyncSettings(ctx context.Context, workspaceID int64) (model.SyncSettings, error) {
	out := model.DefaultSyncSettings
	err := s.db.GetContext(ctx, &out, `SELECT object, match_field, get_details, create_missing, update_existing, push_on_change,
			placeholder, reconcile_hours, last_reconcile_at, pull_enabled, pull_object, pull_filter_field, pull_every_minutes,
			pull_since, pull_since_id, last_pull_at
		FROM salesforce_sync_settings WHERE workspace_id = $1`, workspaceID)
	if err != nil && notFound(err) != ErrNotFound {
		return out, fmt.Errorf("store: unable to read sync settings: %w", err)
	}
	return out, nil
}

// FieldMaps lists the workspace's field mapping.
func (s *Store) FieldMaps(ctx context.Context, workspaceID int64) ([]model.FieldMap, error) {
	var out []model.FieldMap
	if err := s.db.SelectContext(ctx, &out, `SELECT peregrine_field, salesforce_field, direction FROM salesforce_field_map
		WHERE workspace_id = $1 ORDER BY peregrine_field`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to read field mapping: %w", err)
	}
	return out, nil
}

// SaveSyncSettings stores settings and replaces the mapping in one transaction.
func (s *Store) SaveSyncSettings(ctx context.Context, workspaceID int64, st model.SyncSettings, maps []model.FieldMap) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if st.PullObject == "" {
			st.PullObject = "Lead"
		}
		if st.PullEveryMinutes == 0 {
			st.PullEveryMinutes = 15
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO salesforce_sync_settings (workspace_id, object, match_field, get_details,
				create_missing, update_existing, push_on_change, placeholder, reconcile_hours, pull_enabled, pull_object,
				pull_filter_field, pull_every_minutes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (workspace_id) DO UPDATE SET object = $2, match_field = $3, get_details = $4, create_missing = $5,
				update_existing = $6, push_on_change = $7, placeholder = $8, reconcile_hours = $9, pull_enabled = $10,
				pull_object = $11, pull_filter_field = $12, pull_every_minutes = $13,
				-- a different object or filter starts the import from the beginning
				pull_since = CASE WHEN salesforce_sync_settings.pull_object = $11 AND salesforce_sync_settings.pull_filter_field = $12
					THEN salesforce_sync_settings.pull_since END,
				pull_since_id = CASE WHEN salesforce_sync_settings.pull_object = $11 AND salesforce_sync_settings.pull_filter_field = $12
					THEN salesforce_sync_settings.pull_since_id ELSE '' END,
				updated_at = now()`,
			workspaceID, st.Object, st.MatchField, st.GetDetails, st.CreateMissing, st.UpdateExisting, st.PushOnChange,
			st.Placeholder, st.ReconcileHours, st.PullEnabled, st.PullObject, st.PullFilterField, st.PullEveryMinutes); err != nil {
			return fmt.Errorf("store: unable to save sync settings: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM salesforce_field_map WHERE workspace_id = $1`, workspaceID); err != nil {
			return fmt.Errorf("store: unable to save field mapping: %w", err)
		}
		for _, m := range maps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO salesforce_field_map (workspace_id, peregrine_field, salesforce_field, direction)
				VALUES ($1, $2, $3, $4)`, workspaceID, m.PeregrineField, m.SalesforceField, m.Direction); err != nil {
				return fmt.Errorf("store: unable to save field mapping: %w", err)
			}
		}
		// The mapping or object changed: every record is pushed again.
		_, err := tx.ExecContext(ctx, `UPDATE salesforce_records SET pushed_hash = '', failed_hash = '' WHERE workspace_id = $1`, workspaceID)
		return err
	})
}

// EnqueueSalesforce queues leads whose values changed, when the workspace pushes on change.
// Called by scoring inside its transaction; it costs one indexed lookup when Salesforce is
// not set up.
func (t *Tx) EnqueueSalesforce(ctx context.Context, workspaceID int64, leadIDs []int64) error {
	if len(leadIDs) == 0 {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO salesforce_outbox (workspace_id, lead_id)
		SELECT $1, id FROM unnest($2::bigint[]) AS id
		WHERE EXISTS (SELECT 1 FROM salesforce_sync_settings WHERE workspace_id = $1 AND push_on_change)
		  AND EXISTS (SELECT 1 FROM salesforce_connections WHERE workspace_id = $1 AND auth_method IS NOT NULL)
		ORDER BY id
		ON CONFLICT (workspace_id, lead_id) DO UPDATE SET changed_at = now()`, workspaceID, pq.Array(leadIDs))
	if err != nil {
		return fmt.Errorf("store: unable to queue Salesforce push: %w", err)
	}
	return nil
}

// EnqueueAllForSalesforce queues every lead of the workspace (sync now, reconciliation) and
// returns how many.
func (s *Store) EnqueueAllForSalesforce(ctx context.Context, workspaceID int64, reconcile bool) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO salesforce_outbox (workspace_id, lead_id)
			SELECT workspace_id, id FROM leads WHERE workspace_id = $1
			ON CONFLICT (workspace_id, lead_id) DO UPDATE SET changed_at = now(), attempts = 0,
				run_after = CASE WHEN salesforce_outbox.claim IS NULL THEN least(salesforce_outbox.run_after, now()) ELSE salesforce_outbox.run_after END`, workspaceID)
		if err != nil {
			return fmt.Errorf("store: unable to queue leads: %w", err)
		}
		c, _ := res.RowsAffected()
		n = int(c)
		if reconcile {
			_, err = tx.ExecContext(ctx, `UPDATE salesforce_sync_settings SET last_reconcile_at = now() WHERE workspace_id = $1`, workspaceID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO salesforce_sync_jobs (workspace_id, total) VALUES ($1, $2)`, workspaceID, n)
		}
		return err
	})
	return n, err
}

// WorkspacesToReconcile lists connected workspaces whose periodic reconciliation is due.
func (s *Store) WorkspacesToReconcile(ctx context.Context) ([]int64, error) {
	var out []int64
	err := s.db.SelectContext(ctx, &out, `SELECT st.workspace_id FROM salesforce_sync_settings st
		JOIN salesforce_connections c ON c.workspace_id = st.workspace_id AND c.auth_method IS NOT NULL
		WHERE st.last_reconcile_at IS NULL OR st.last_reconcile_at < now() - make_interval(hours => st.reconcile_hours)`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list workspaces to reconcile: %w", err)
	}
	return out, nil
}

// SyncProgress says how far the latest sync-now run is: queued total and still waiting.
func (s *Store) SyncProgress(ctx context.Context, workspaceID int64) (total, waiting int, err error) {
	if err = s.db.QueryRowxContext(ctx, `SELECT COALESCE((SELECT total FROM salesforce_sync_jobs WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1), 0),
		(SELECT count(*) FROM salesforce_outbox WHERE workspace_id = $1)`, workspaceID).Scan(&total, &waiting); err != nil {
		err = fmt.Errorf("store: unable to read sync progress: %w", err)
	}
	return
}

// OutboxItems reads claimed rows of the outbox.
func (s *Store) OutboxItems(ctx context.Context, workspaceID int64, leadIDs []int64) ([]model.OutboxItem, error) {
	var items []model.OutboxItem
	if err := s.db.SelectContext(ctx, &items, `SELECT lead_id, changed_at, attempts FROM salesforce_outbox
		WHERE workspace_id = $1 AND lead_id = ANY($2) ORDER BY lead_id`, workspaceID, pq.Array(leadIDs)); err != nil {
		return nil, fmt.Errorf("store: unable to read pushes: %w", err)
	}
	return items, nil
}

// PushData reads what a push sends for leads, with their known Salesforce record.
func (s *Store) PushData(ctx context.Context, workspaceID int64, object string, leadIDs []int64) ([]model.PushLead, error) {
	var rows []struct {
		model.PushLead
		LabelArr pq.StringArray `db:"labels"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT l.id, l.email, l.first_name, l.last_name, l.company, l.title, l.country, l.grade,
			l.temperature, l.status, l.main_score, l.last_activity_at, l.labels, a.domain AS account_domain, l.updated_at,
			CASE WHEN l.owner_user_id IS NOT NULL THEN lower(l.owner_email) ELSE '' END AS owner_email,
			COALESCE(r.salesforce_id, '') AS salesforce_id, COALESCE(r.contact_id, '') AS contact_id, COALESCE(r.pushed_hash, '') AS pushed_hash, COALESCE(r.failed_hash, '') AS failed_hash
		FROM leads l
		LEFT JOIN accounts a ON a.workspace_id = l.workspace_id AND a.id = l.account_id
		LEFT JOIN salesforce_records r ON r.workspace_id = l.workspace_id AND r.lead_id = l.id AND r.object = $3
		WHERE l.workspace_id = $1 AND l.id = ANY($2) ORDER BY l.id`, workspaceID, pq.Array(leadIDs), object)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read leads to push: %w", err)
	}
	scores, err := s.ScoresOfLeads(ctx, workspaceID, leadIDs)
	if err != nil {
		return nil, err
	}
	out := make([]model.PushLead, len(rows))
	for i, r := range rows {
		out[i] = r.PushLead
		out[i].Labels = r.LabelArr
		out[i].Scores = scores[r.ID]
		if out[i].Scores == nil {
			out[i].Scores = map[string]float64{}
		}
	}
	return out, nil
}

// FinishPush records a push: the run and its per-record outcomes, what is known of each
// record, and the outbox — done rows leave unless they changed during the push, rows to
// retry wait with backoff.
func (t *Tx) FinishPush(ctx context.Context, workspaceID int64, kind, object string, outcomes []model.SyncOutcome, apiCalls int, runErr string, retryAt func(attempts int) time.Time) (int64, error) {
	var runID int64
	err := func(tx *sqlx.Tx) error {
		counts := map[string]int{}
		for _, o := range outcomes {
			counts[o.Outcome]++
		}
		// A run that wrote nothing, called nothing and failed at nothing is not worth a log line
		// (a lead whose score did not change, a reconciliation finding all up to date).
		quiet := apiCalls == 0 && runErr == "" && counts[model.SyncUnchanged] == len(outcomes)
		if !quiet {
			if err := tx.GetContext(ctx, &runID, `INSERT INTO salesforce_sync_runs (workspace_id, kind, finished_at, records, created, updated, failed, api_calls, error)
				VALUES ($1, $2, now(), $3, $4, $5, $6, $7, $8) RETURNING id`, workspaceID, kind, len(outcomes)-counts[model.SyncUnchanged],
				counts[model.SyncCreated], counts[model.SyncUpdated], counts[model.SyncFailed], apiCalls, runErr); err != nil {
				return fmt.Errorf("store: unable to log sync run: %w", err)
			}
		}
		for _, o := range outcomes {
			if o.Outcome != model.SyncUnchanged && runID != 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO salesforce_sync_records (workspace_id, run_id, lead_id, outcome, salesforce_id, message)
					VALUES ($1, $2, $3, $4, $5, $6)`, workspaceID, runID, o.LeadID, o.Outcome, o.SalesforceID, o.Message); err != nil {
					return fmt.Errorf("store: unable to log sync record: %w", err)
				}
			}
			switch o.Outcome {
			case model.SyncCreated, model.SyncUpdated:
				if _, err := tx.ExecContext(ctx, `INSERT INTO salesforce_records (workspace_id, lead_id, object, salesforce_id, contact_id, pushed_hash, pushed_at)
					VALUES ($1, $2, $3, $4, $6, $5, now())
					ON CONFLICT (workspace_id, lead_id) DO UPDATE SET object = $3, salesforce_id = $4, contact_id = $6, pushed_hash = $5,
						failed_hash = '', failure = '', pushed_at = now()`, workspaceID, o.LeadID, object, o.SalesforceID, o.Hash, o.ContactID); err != nil {
					return fmt.Errorf("store: unable to remember Salesforce record: %w", err)
				}
			case model.SyncFailed:
				if _, err := tx.ExecContext(ctx, `INSERT INTO salesforce_records (workspace_id, lead_id, object, salesforce_id, contact_id, failed_hash, failure)
					VALUES ($1, $2, $3, $4, $7, $5, $6)
					ON CONFLICT (workspace_id, lead_id) DO UPDATE SET object = $3, failed_hash = $5, failure = $6,
						salesforce_id = CASE WHEN $4 = '' THEN salesforce_records.salesforce_id ELSE $4 END,
						contact_id = CASE WHEN $7 = '' THEN salesforce_records.contact_id ELSE $7 END`,
					workspaceID, o.LeadID, object, o.SalesforceID, o.Hash, o.Message, o.ContactID); err != nil {
					return fmt.Errorf("store: unable to remember failure: %w", err)
				}
			case model.SyncSkipped:
				if o.Unlink {
					if _, err := tx.ExecContext(ctx, `UPDATE salesforce_records SET salesforce_id = '', contact_id = '', pushed_hash = ''
						WHERE workspace_id = $1 AND lead_id = $2`, workspaceID, o.LeadID); err != nil {
						return fmt.Errorf("store: unable to forget a deleted record: %w", err)
					}
				}
			}
			if o.Retry {
				if _, err := tx.ExecContext(ctx, `UPDATE salesforce_outbox SET run_after = $3, last_error = $4, claim = NULL
					WHERE workspace_id = $1 AND lead_id = $2`, workspaceID, o.LeadID, retryAt(o.Attempts), o.Message); err != nil {
					return fmt.Errorf("store: unable to schedule a retry: %w", err)
				}
				continue
			}
			// Done; a change that arrived during the push keeps the row (due now) for one more push.
			if _, err := tx.ExecContext(ctx, `WITH gone AS (DELETE FROM salesforce_outbox WHERE workspace_id = $1 AND lead_id = $2 AND changed_at <= $3 RETURNING 1)
				UPDATE salesforce_outbox SET run_after = now(), attempts = 0, claim = NULL, last_error = ''
				WHERE workspace_id = $1 AND lead_id = $2 AND NOT EXISTS (SELECT 1 FROM gone)`, workspaceID, o.LeadID, o.ChangedAt); err != nil {
				return fmt.Errorf("store: unable to clear the outbox: %w", err)
			}
		}
		return nil
	}(t.tx)
	return runID, err
}

// ListSyncRuns pages through the sync log, newest first.
func (s *Store) ListSyncRuns(ctx context.Context, workspaceID int64, failedOnly bool, limit, offset int) ([]model.SyncRun, error) {
	var out []model.SyncRun
	err := s.db.SelectContext(ctx, &out, `SELECT id, kind, started_at, finished_at, records, created, updated, failed, api_calls, error
		FROM salesforce_sync_runs WHERE workspace_id = $1 AND (NOT $2 OR failed > 0 OR error <> '')
		ORDER BY id DESC LIMIT $3 OFFSET $4`, workspaceID, failedOnly, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list sync runs: %w", err)
	}
	return out, nil
}

// SyncRunRecords lists a run's per-record outcomes.
func (s *Store) SyncRunRecords(ctx context.Context, workspaceID, runID int64, failedOnly bool) ([]model.SyncRecord, error) {
	var out []model.SyncRecord
	err := s.db.SelectContext(ctx, &out, `SELECT r.lead_id, COALESCE(l.email, '') AS email, r.outcome, r.salesforce_id, r.message
		FROM salesforce_sync_records r LEFT JOIN leads l ON l.workspace_id = r.workspace_id AND l.id = r.lead_id
		WHERE r.workspace_id = $1 AND r.run_id = $2 AND (NOT $3 OR r.outcome = 'failed') ORDER BY r.outcome, r.lead_id LIMIT 1000`,
		workspaceID, runID, failedOnly)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list sync records: %w", err)
	}
	return out, nil
}

// RetrySalesforceRecord forgets a record's failure and queues its lead.
func (s *Store) RetrySalesforceRecord(ctx context.Context, workspaceID, leadID int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE salesforce_records SET failed_hash = '', failure = '' WHERE workspace_id = $1 AND lead_id = $2`, workspaceID, leadID)
		if err != nil {
			return fmt.Errorf("store: unable to retry: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: unable to retry: %w", ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO salesforce_outbox (workspace_id, lead_id) VALUES ($1, $2)
			ON CONFLICT (workspace_id, lead_id) DO UPDATE SET changed_at = now(), attempts = 0,
				run_after = CASE WHEN salesforce_outbox.claim IS NULL THEN now() ELSE salesforce_outbox.run_after END`, workspaceID, leadID)
		return err
	})
}

// LeadSalesforceRecord returns the Salesforce id and object of a lead's record, if any.
func (s *Store) LeadSalesforceRecord(ctx context.Context, workspaceID, leadID int64) (object, id, failure string, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT object, salesforce_id, failure FROM salesforce_records WHERE workspace_id = $1 AND lead_id = $2`,
		workspaceID, leadID).Scan(&object, &id, &failure)
	if notFound(err) == ErrNotFound {
		return "", "", "", nil
	}
	return
}

// ScoringStates returns the stored scoring state of leads (see scoring.DecodeState).
func (s *Store) ScoringStates(ctx context.Context, workspaceID int64, leadIDs []int64) (map[int64][]byte, error) {
	var rows []struct {
		LeadID int64  `db:"lead_id"`
		State  []byte `db:"contributions"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT lead_id, contributions FROM lead_scoring_state
		WHERE workspace_id = $1 AND lead_id = ANY($2)`, workspaceID, pq.Array(leadIDs)); err != nil {
		return nil, fmt.Errorf("store: unable to read scoring states: %w", err)
	}
	out := make(map[int64][]byte, len(rows))
	for _, r := range rows {
		out[r.LeadID] = r.State
	}
	return out, nil
}

// SyncRunRecordsAfter lists the leads written (created or updated) by runs after runID.
func (s *Store) SyncRunRecordsAfter(ctx context.Context, workspaceID, runID int64) ([]int64, error) {
	var out []int64
	err := s.db.SelectContext(ctx, &out, `SELECT lead_id FROM salesforce_sync_records WHERE workspace_id = $1 AND run_id > $2
		AND outcome IN ('created', 'updated')`, workspaceID, runID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list written records: %w", err)
	}
	return out, nil
}

// profileColumns are the lead fields Salesforce may write (mapped "from Salesforce" or "both").
var profileColumns = map[string]string{"first_name": "first_name", "last_name": "last_name", "company": "company", "title": "title", "country": "country"}

// ApplySalesforceProfile writes values read from Salesforce into a lead's profile; the lead is
// scored again (fit grades read the profile).
func (s *Store) ApplySalesforceProfile(ctx context.Context, workspaceID, leadID int64, values map[string]string) error {
	for key, v := range values {
		col, ok := profileColumns[key]
		if !ok {
			return fmt.Errorf("store: %q is not a profile field", key)
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE leads SET `+col+` = $3, updated_at = now()
			WHERE workspace_id = $1 AND id = $2`, workspaceID, leadID, v); err != nil {
			return fmt.Errorf("store: unable to apply Salesforce values: %w", err)
		}
	}
	if len(values) > 0 {
		return scoreAgain(ctx, s.db, `l.workspace_id = $1 AND l.id = $2`, workspaceID, leadID)
	}
	return nil
}

// WorkspacesToPull lists connected workspaces whose pull is due (or forced by "Pull now").
func (s *Store) WorkspacesToPull(ctx context.Context) ([]int64, error) {
	var out []int64
	err := s.db.SelectContext(ctx, &out, `SELECT st.workspace_id FROM salesforce_sync_settings st
		JOIN salesforce_connections c ON c.workspace_id = st.workspace_id AND c.auth_method IS NOT NULL
		WHERE st.pull_enabled AND (st.last_pull_at IS NULL OR st.last_pull_at < now() - make_interval(mins => st.pull_every_minutes))
		AND (c.paused_until IS NULL OR c.paused_until < now())
		AND NOT EXISTS (SELECT 1 FROM integration_switches sw WHERE sw.workspace_id = st.workspace_id
			AND sw.part IN ('`+PartSalesforce+`', '`+PartSalesforcePull+`'))`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list workspaces to pull: %w", err)
	}
	return out, nil
}

// PullNow makes the workspace's pull due at once.
func (s *Store) PullNow(ctx context.Context, workspaceID int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE salesforce_sync_settings SET last_pull_at = NULL WHERE workspace_id = $1`, workspaceID)
	if err != nil {
		return fmt.Errorf("store: unable to schedule a pull: %w", err)
	}
	return nil
}

// PullTargets reads the profiles of the workspace's leads with these emails.
func (s *Store) PullTargets(ctx context.Context, workspaceID int64, emails []string) (map[string]model.PullTarget, error) {
	var rows []model.PullTarget
	if err := s.db.SelectContext(ctx, &rows, `SELECT l.id, l.email, l.first_name, l.last_name, l.company, l.title, l.country, l.industry,
			l.company_size, a.domain AS account_domain, l.updated_at
		FROM leads l LEFT JOIN accounts a ON a.workspace_id = l.workspace_id AND a.id = l.account_id
		WHERE l.workspace_id = $1 AND l.email = ANY($2)`, workspaceID, pq.Array(emails)); err != nil {
		return nil, fmt.Errorf("store: unable to read lead profiles: %w", err)
	}
	out := make(map[string]model.PullTarget, len(rows))
	for _, r := range rows {
		out[r.Email] = r
	}
	return out, nil
}

// SavePulled stores people read from Salesforce in one transaction: new leads for unknown
// emails, non-empty values written into profiles (scored again when something changed), the
// record link, the watermark (when mark is set), and a sync log run.
func (s *Store) SavePulled(ctx context.Context, workspaceID int64, object string, people []model.PulledPerson, accountOf func(email string) string,
	mark *model.PullMark, apiCalls int, runErr string, statuses StatusHook) (imported, enriched int, err error) {
	var changes []StatusChange
	err = s.inTx(ctx, func(sx *sqlx.Tx) error {
		tx := &Tx{tx: sx}
		domains := map[string]bool{}
		var seeds []LeadSeed
		for _, p := range people {
			if d := accountOf(p.Email); d != "" {
				domains[d] = true
			}
		}
		var list []string
		for d := range domains {
			list = append(list, d)
		}
		accounts, err := tx.UpsertAccounts(ctx, workspaceID, list)
		if err != nil {
			return err
		}
		var existing []string
		if err := sx.SelectContext(ctx, &existing, `SELECT email FROM leads WHERE workspace_id = $1 AND email = ANY($2)`, workspaceID, pq.Array(emails(people))); err != nil {
			return err
		}
		known := map[string]bool{}
		for _, e := range existing {
			known[e] = true
		}
		for _, p := range people {
			seeds = append(seeds, LeadSeed{Email: p.Email, AccountID: accounts[accountOf(p.Email)]})
		}
		ids, err := tx.UpsertLeadsByEmail(ctx, workspaceID, seeds)
		if err != nil {
			return err
		}
		var runID int64
		if err := sx.GetContext(ctx, &runID, `INSERT INTO salesforce_sync_runs (workspace_id, kind, finished_at, records, api_calls, error)
			VALUES ($1, 'pull', now(), $2, $3, $4) RETURNING id`, workspaceID, len(people), apiCalls, runErr); err != nil {
			return err
		}
		var changed []int64 // leads whose profile moved: scored again
		for _, p := range people {
			id := ids[p.Email]
			// Only a real change counts as one (it re-scores the lead and dates its profile).
			// The status before is read from the row as it was (FROM sees the old version).
			var before, after string
			err := sx.QueryRowxContext(ctx, `UPDATE leads l SET
					first_name = COALESCE(NULLIF($3, ''), l.first_name), last_name = COALESCE(NULLIF($4, ''), l.last_name),
					title = COALESCE(NULLIF($5, ''), l.title), company = COALESCE(NULLIF($6, ''), l.company),
					industry = COALESCE(NULLIF($7, ''), l.industry), country = COALESCE(NULLIF($8, ''), l.country),
					owner_name = COALESCE(NULLIF($9, ''), l.owner_name), owner_email = COALESCE(NULLIF($10, ''), l.owner_email),
					company_size = COALESCE($11, l.company_size), status = COALESCE(NULLIF($12, ''), l.status), updated_at = now()
				FROM (SELECT status FROM leads WHERE workspace_id = $1 AND id = $2) o
				WHERE l.workspace_id = $1 AND l.id = $2
				AND (l.first_name, l.last_name, l.title, l.company, l.industry, l.country, l.owner_name, l.owner_email, l.company_size, l.status) IS DISTINCT FROM
					(COALESCE(NULLIF($3, ''), l.first_name), COALESCE(NULLIF($4, ''), l.last_name), COALESCE(NULLIF($5, ''), l.title),
					COALESCE(NULLIF($6, ''), l.company), COALESCE(NULLIF($7, ''), l.industry), COALESCE(NULLIF($8, ''), l.country),
					COALESCE(NULLIF($9, ''), l.owner_name), COALESCE(NULLIF($10, ''), l.owner_email), COALESCE($11, l.company_size),
					COALESCE(NULLIF($12, ''), l.status))
				RETURNING o.status, l.status`, workspaceID, id, p.FirstName, p.LastName, p.Title, p.Company, p.Industry, p.Country,
				p.OwnerName, p.OwnerEmail, p.Employees, p.Status).Scan(&before, &after)
			switch {
			case err == sql.ErrNoRows: // nothing changed
			case err != nil:
				return fmt.Errorf("store: unable to store a pulled profile: %w", err)
			default:
				changed = append(changed, id)
				if before != after {
					at := p.Modified
					if at.IsZero() {
						at = time.Now()
					}
					changes = append(changes, StatusChange{LeadID: id, Before: before, After: after, At: at})
				}
			}
			if _, err := sx.ExecContext(ctx, `INSERT INTO salesforce_records (workspace_id, lead_id, object, salesforce_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT (workspace_id, lead_id) DO UPDATE SET salesforce_id = CASE WHEN salesforce_records.object = $3 THEN $4 ELSE salesforce_records.salesforce_id END`,
				workspaceID, id, object, p.SalesforceID); err != nil {
				return err
			}
			outcome := model.SyncEnriched
			if !known[p.Email] {
				outcome = model.SyncImported
				imported++
			} else {
				enriched++
			}
			if _, err := sx.ExecContext(ctx, `INSERT INTO salesforce_sync_records (workspace_id, run_id, lead_id, outcome, salesforce_id)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, workspaceID, runID, id, outcome, p.SalesforceID); err != nil {
				return err
			}
		}
		if len(changed) > 0 {
			if err := scoreAgain(ctx, sx, `l.workspace_id = $1 AND l.id = ANY($2)`, workspaceID, pq.Array(changed)); err != nil {
				return err
			}
		}
		if _, err := sx.ExecContext(ctx, `UPDATE salesforce_sync_runs SET created = $3, updated = $4 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, runID, imported, enriched); err != nil {
			return err
		}
		if statuses != nil && len(changes) > 0 {
			if err := statuses(ctx, tx, workspaceID, changes); err != nil {
				return err
			}
		}
		var at *time.Time
		var after string
		if mark != nil {
			at, after = &mark.At, mark.ID
		}
		_, err = sx.ExecContext(ctx, `UPDATE salesforce_sync_settings SET last_pull_at = now(), pull_since = COALESCE($2, pull_since),
			pull_since_id = CASE WHEN $2::timestamptz IS NULL THEN pull_since_id ELSE $3 END
			WHERE workspace_id = $1`, workspaceID, at, after)
		return err
	})
	return imported, enriched, err
}

// StatusChange is a lead's Salesforce status changed by a pull.
type StatusChange struct {
	LeadID        int64
	Before, After string
	At            time.Time // the record's SystemModstamp
}

// StatusHook hears, in the pull's transaction, the statuses a pull changed.
type StatusHook func(ctx context.Context, tx *Tx, workspaceID int64, changes []StatusChange) error

func emails(people []model.PulledPerson) []string {
	out := make([]string, len(people))
	for i, p := range people {
		out[i] = p.Email
	}
	return out
}
