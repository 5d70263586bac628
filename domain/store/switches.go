package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// Parts of the integrations a workspace can switch off and on again without losing their
// settings or history.
const (
	PartBrazeREST      = "braze_rest"      // lookups of people in Braze
	PartCurrents       = "currents"        // Braze Currents intake (401 while off)
	PartBrazeWriteback = "braze_writeback" // /users/track write-back (waits in its outbox)
	PartWebsite        = "website"         // the tracker's hits (403 while off)
	PartSegment        = "segment"         // Segment intake (401 while off)
	PartSalesforce     = "salesforce"      // every Salesforce call: push and pull
	PartSalesforcePush = "salesforce_push" // the push (waits in its outbox)
	PartSalesforcePull = "salesforce_pull" // the pull (not run)
	PartSlack          = "slack"           // alerts to Slack (wait in the delivery queue)
	PartEmail          = "email"           // alert, digest and report emails (account emails still go)
	PartWebhooks       = "webhooks"        // alerts to webhooks (wait in the delivery queue)
)

// Parts lists every part, in the order the overview shows them.
var Parts = []string{PartBrazeREST, PartCurrents, PartBrazeWriteback, PartWebsite, PartSegment,
	PartSalesforce, PartSalesforcePush, PartSalesforcePull, PartSlack, PartEmail, PartWebhooks}

// SwitchedOffWhy is the reason work waiting for a switched-off part gives: switching the part
// on again makes exactly that work due at once, and the overview counts it.
func SwitchedOffWhy(part string) string { return "Switched off in Integrations (" + part + ")" }

// partWork is the queue whose work waits while a part is off.
var partWork = map[string]WorkTable{
	PartBrazeREST: LookupWork, PartBrazeWriteback: WritebackWork, PartSalesforce: OutboxWork, PartSalesforcePush: OutboxWork,
	PartSlack: DeliveryWork, PartEmail: DeliveryWork, PartWebhooks: DeliveryWork,
}

// PartQueue is the queue whose work waits while the part is off ("" for none).
func PartQueue(part string) string { return partWork[part].Queue }

// SwitchOff is a part switched off: since when and by whom.
type SwitchOff struct {
	Part  string    `db:"part"`
	Since time.Time `db:"off_since"`
	By    string    `db:"off_by"`
}

// SwitchedOff lists the workspace's parts that are off, by part.
func (s *Store) SwitchedOff(ctx context.Context, workspaceID int64) (map[string]SwitchOff, error) {
	var rows []SwitchOff
	if err := s.db.SelectContext(ctx, &rows, `SELECT part, off_since, off_by FROM integration_switches WHERE workspace_id = $1`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to read the integration switches: %w", err)
	}
	out := make(map[string]SwitchOff, len(rows))
	for _, r := range rows {
		out[r.Part] = r
	}
	return out, nil
}

// PartOff returns the first of the parts that is switched off in the workspace, or "".
func (s *Store) PartOff(ctx context.Context, workspaceID int64, parts ...string) (string, error) {
	var off []string
	if err := s.db.SelectContext(ctx, &off, `SELECT part FROM integration_switches WHERE workspace_id = $1 AND part = ANY($2)`,
		workspaceID, pq.Array(parts)); err != nil {
		return "", fmt.Errorf("store: unable to read the integration switches: %w", err)
	}
	for _, p := range parts {
		if slices.Contains(off, p) {
			return p, nil
		}
	}
	return "", nil
}

// SwitchPart turns a part off (by a person's name) or on. Turning it on makes the work that
// waited for it due at once.
func (s *Store) SwitchPart(ctx context.Context, workspaceID int64, part string, on bool, by string) error {
	if !slices.Contains(Parts, part) {
		return fmt.Errorf("store: unknown integration part %q", part)
	}
	if !on {
		_, err := s.db.ExecContext(ctx, `INSERT INTO integration_switches (workspace_id, part, off_by) VALUES ($1, $2, $3)
			ON CONFLICT (workspace_id, part) DO NOTHING`, workspaceID, part, by)
		if err != nil {
			return fmt.Errorf("store: unable to switch %s off: %w", part, err)
		}
		return nil
	}
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM integration_switches WHERE workspace_id = $1 AND part = $2`, workspaceID, part); err != nil {
			return fmt.Errorf("store: unable to switch %s on: %w", part, err)
		}
		t, ok := partWork[part]
		if !ok {
			return nil
		}
		_, err := tx.tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET run_after = now() WHERE workspace_id = $1 AND claim IS NULL
			AND last_error = $2 AND run_after > now()`, t.Table), workspaceID, SwitchedOffWhy(part))
		if err != nil {
			return fmt.Errorf("store: unable to resume %s: %w", t.Queue, err)
		}
		return nil
	})
}

// WaitingFor counts the work waiting in a part's queue because the part is off.
func (s *Store) WaitingFor(ctx context.Context, workspaceID int64, part string) (int, error) {
	t, ok := partWork[part]
	if !ok {
		return 0, nil
	}
	var n int
	if err := s.db.GetContext(ctx, &n, fmt.Sprintf(`SELECT count(*) FROM %s WHERE workspace_id = $1 AND last_error = $2`, t.Table),
		workspaceID, SwitchedOffWhy(part)); err != nil {
		return 0, fmt.Errorf("store: unable to count waiting work: %w", err)
	}
	return n, nil
}
