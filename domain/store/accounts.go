package store

import (
	"context"
	"fmt"
)

// SetAccountProfile fills an account's name, industry and head count (firmographics from a
// CRM or a data provider); empty values keep what is there. The account's people are scored
// again, as account rules read these.
func (t *Tx) SetAccountProfile(ctx context.Context, workspaceID int64, domain, name, industry string, employees int) error {
	var id int64
	err := t.tx.GetContext(ctx, &id, `UPDATE accounts SET name = COALESCE(NULLIF($3, ''), name),
			industry = COALESCE(NULLIF($4, ''), industry), employees = COALESCE(NULLIF($5, 0), employees), updated_at = now()
		WHERE workspace_id = $1 AND domain = $2 RETURNING id`, workspaceID, domain, name, industry, employees)
	if notFound(err) == ErrNotFound {
		return nil // no one from that company has shown up
	}
	if err != nil {
		return fmt.Errorf("store: unable to update account profile: %w", err)
	}
	return scoreAgain(ctx, t.tx, `l.workspace_id = $1 AND l.account_id = $2`, workspaceID, id)
}
