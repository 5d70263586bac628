package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// BrazeWriteback is a workspace's setting for writing scores back into Braze, and how it goes.
type BrazeWriteback struct {
	WorkspaceID int64      `db:"workspace_id"`
	Enabled     bool       `db:"enabled"`
	Attributes  []byte     `db:"attributes"` // value key ("score:<id>", "labels", "grade", "temperature") → attribute name
	LastSentAt  *time.Time `db:"last_sent_at"`
	SentLeads   int64      `db:"sent_leads"`
	Requests    int64      `db:"requests"`
	LastError   string     `db:"last_error"`
	LastErrorAt *time.Time `db:"last_error_at"`
}

const writebackColumns = `workspace_id, enabled, attributes, last_sent_at, sent_leads, requests, last_error, last_error_at`

// BrazeWritebackSettings reads the setting (disabled and empty when never saved).
func (s *Store) BrazeWritebackSettings(ctx context.Context, workspaceID int64) (BrazeWriteback, error) {
	w := BrazeWriteback{WorkspaceID: workspaceID, Attributes: []byte(`{}`)}
	err := s.db.GetContext(ctx, &w, `SELECT `+writebackColumns+` FROM braze_writeback WHERE workspace_id = $1`, workspaceID)
	if notFound(err) == ErrNotFound {
		return w, nil
	}
	if err != nil {
		return w, fmt.Errorf("store: unable to read the Braze write-back: %w", err)
	}
	return w, nil
}

// SaveBrazeWriteback saves the setting; turning it on queues every lead once, so Braze gets
// the current values.
func (s *Store) SaveBrazeWriteback(ctx context.Context, workspaceID int64, enabled bool, attributes map[string]string) error {
	raw, _ := json.Marshal(attributes)
	return s.InTx(ctx, func(tx *Tx) error {
		var was bool
		_ = tx.tx.GetContext(ctx, &was, `SELECT enabled FROM braze_writeback WHERE workspace_id = $1`, workspaceID)
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO braze_writeback (workspace_id, enabled, attributes) VALUES ($1, $2, $3)
			ON CONFLICT (workspace_id) DO UPDATE SET enabled = excluded.enabled, attributes = excluded.attributes, updated_at = now()`,
			workspaceID, enabled, string(raw)); err != nil {
			return fmt.Errorf("store: unable to save the Braze write-back: %w", err)
		}
		if enabled && !was {
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO braze_outbox (workspace_id, lead_id) SELECT workspace_id, id FROM leads
				WHERE workspace_id = $1 ON CONFLICT DO NOTHING`, workspaceID); err != nil {
				return fmt.Errorf("store: unable to queue the write-back: %w", err)
			}
		}
		return nil
	})
}

// EnqueueBrazeWriteback queues leads whose values changed, when the workspace writes back.
func (t *Tx) EnqueueBrazeWriteback(ctx context.Context, workspaceID int64, leadIDs []int64) error {
	if len(leadIDs) == 0 {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO braze_outbox (workspace_id, lead_id)
		SELECT $1, id FROM unnest($2::bigint[]) AS id
		WHERE EXISTS (SELECT 1 FROM braze_writeback WHERE workspace_id = $1 AND enabled)
		ORDER BY id
		ON CONFLICT (workspace_id, lead_id) DO UPDATE SET changed_at = now()`, workspaceID, pq.Array(leadIDs))
	if err != nil {
		return fmt.Errorf("store: unable to queue the Braze write-back: %w", err)
	}
	return nil
}

// WritebackLead is what writing a lead back needs: its Braze identifiers, its current values
// and what was written last.
type WritebackLead struct {
	LeadID      int64          `db:"id"`
	ExternalID  string         `db:"external_id"`
	BrazeID     string         `db:"braze_id"`
	Grade       string         `db:"grade"`
	Temperature string         `db:"temperature"`
	Labels      pq.StringArray `db:"labels"`
	Scores      []byte         `db:"scores"`  // {"<score id>": value}
	Written     []byte         `db:"written"` // {"<attribute>": value}
}

// WritebackLeads reads the leads of a write-back batch.
func (t *Tx) WritebackLeads(ctx context.Context, workspaceID int64, leadIDs []int64) ([]WritebackLead, error) {
	var out []WritebackLead
	err := t.tx.SelectContext(ctx, &out, `SELECT l.id, l.grade, l.temperature, l.labels,
			COALESCE((SELECT value FROM lead_identities i WHERE i.workspace_id = l.workspace_id AND i.lead_id = l.id AND i.kind = 'external_id' ORDER BY value LIMIT 1), '') AS external_id,
			COALESCE((SELECT value FROM lead_identities i WHERE i.workspace_id = l.workspace_id AND i.lead_id = l.id AND i.kind = 'braze_user_id' ORDER BY value LIMIT 1), '') AS braze_id,
			COALESCE((SELECT jsonb_object_agg(s.score_id::text, s.value) FROM lead_score_values s WHERE s.workspace_id = l.workspace_id AND s.lead_id = l.id), '{}') AS scores,
			COALESCE(w.attributes, '{}') AS written
		FROM leads l LEFT JOIN braze_written w ON w.workspace_id = l.workspace_id AND w.lead_id = l.id
		WHERE l.workspace_id = $1 AND l.id = ANY($2) ORDER BY l.id`, workspaceID, pq.Array(leadIDs))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read leads to write back: %w", err)
	}
	return out, nil
}

// BrazeWritten records what Braze now holds for leads (attributes as JSON, by lead), or why a
// lead was not written (errors by lead).
func (t *Tx) BrazeWritten(ctx context.Context, workspaceID int64, written map[int64][]byte, errs map[int64]string) error {
	var ids []int64
	var attrs, problems []string
	for id, a := range written {
		ids, attrs, problems = append(ids, id), append(attrs, string(a)), append(problems, "")
	}
	for id, e := range errs {
		ids, attrs, problems = append(ids, id), append(attrs, ""), append(problems, clipText(e, 300))
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO braze_written (workspace_id, lead_id, attributes, error)
		SELECT $1, u.id, COALESCE(NULLIF(u.a, '')::jsonb, '{}'), u.e FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(id, a, e)
		ON CONFLICT (workspace_id, lead_id) DO UPDATE SET
			attributes = CASE WHEN excluded.error = '' THEN excluded.attributes ELSE braze_written.attributes END,
			error = excluded.error, written_at = now()`, workspaceID, pq.Array(ids), pq.Array(attrs), pq.Array(problems))
	if err != nil {
		return fmt.Errorf("store: unable to record the write-back: %w", err)
	}
	return nil
}

// NoteWriteback records a write-back's requests and leads sent, or the last error.
func (t *Tx) NoteWriteback(ctx context.Context, workspaceID int64, requests, leads int, problem string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE braze_writeback SET requests = requests + $2, sent_leads = sent_leads + $3,
			last_sent_at = CASE WHEN $3 > 0 THEN now() ELSE last_sent_at END,
			last_error = CASE WHEN $4 <> '' THEN $4 ELSE last_error END,
			last_error_at = CASE WHEN $4 <> '' THEN now() ELSE last_error_at END
		WHERE workspace_id = $1`, workspaceID, requests, leads, clipText(problem, 500))
	if err != nil {
		return fmt.Errorf("store: unable to note the write-back: %w", err)
	}
	return nil
}

// WritebackError is a lead Braze would not take, and why.
type WritebackError struct {
	LeadID int64  `db:"lead_id"`
	Email  string `db:"email"`
	Error  string `db:"error"`
}

// WritebackErrors lists the latest leads Braze would not take.
func (s *Store) WritebackErrors(ctx context.Context, workspaceID int64, limit int) ([]WritebackError, error) {
	var out []WritebackError
	err := s.db.SelectContext(ctx, &out, `SELECT w.lead_id, l.email, w.error FROM braze_written w
		JOIN leads l ON l.workspace_id = w.workspace_id AND l.id = w.lead_id
		WHERE w.workspace_id = $1 AND w.error <> '' ORDER BY w.written_at DESC LIMIT $2`, workspaceID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list write-back errors: %w", err)
	}
	return out, nil
}

// DoneWriteback takes written leads off the Braze outbox (the handler holds them).
func (t *Tx) DoneWriteback(ctx context.Context, workspaceID int64, leadIDs []int64) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM braze_outbox WHERE workspace_id = $1 AND lead_id = ANY($2)`, workspaceID, pq.Array(leadIDs)); err != nil {
		return fmt.Errorf("store: unable to finish the write-back: %w", err)
	}
	return nil
}
