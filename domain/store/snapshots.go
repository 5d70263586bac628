package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

// SnapshotCap bounds a list snapshot: a longer list pages through its first SnapshotCap leads
// and says there are more.
const SnapshotCap = 10000

// LeadPage is one page of a lead list.
type LeadPage struct {
	Leads  []model.Lead
	Token  string // the snapshot later pages read ("" when the list fits on one page)
	Total  int    // leads in the list, exact unless Capped
	Capped bool   // more than SnapshotCap leads matched
}

// LeadListPage returns the leads from offset (at most limit) of the filtered list. Without a
// token — or with one that is unknown, expired or another user's — the order of the whole
// list is fixed first in a snapshot (when it needs more than one page), so paging on with the
// returned token shows each lead exactly once, with current values, however scores move.
// A lead the viewer may no longer see is left out of later pages.
func (s *Store) LeadListPage(ctx context.Context, v Viewer, userID int64, f LeadFilter, token string, offset, limit int) (LeadPage, error) {
	workspaceID := v.WorkspaceID
	if token != "" {
		page, err := s.snapshotPage(ctx, v, userID, token, offset, limit)
		if !errors.Is(err, ErrNotFound) {
			return page, err
		}
	}
	where, args := leadWhere(v, f)
	from, order, args := leadOrder(f, args)
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, `SELECT l.id`+from+where+fmt.Sprintf(` ORDER BY %s LIMIT %d`, order, SnapshotCap+1), args...); err != nil {
		return LeadPage{}, fmt.Errorf("store: unable to list leads: %w", err)
	}
	page := LeadPage{Total: min(len(ids), SnapshotCap), Capped: len(ids) > SnapshotCap}
	ids = ids[:page.Total]
	if len(ids) > limit {
		page.Token = randomToken()
		if _, err := s.db.ExecContext(ctx, `INSERT INTO list_snapshots (workspace_id, token, user_id, lead_ids, capped) VALUES ($1, $2, $3, $4, $5)`,
			workspaceID, page.Token, userID, pq.Array(ids), page.Capped); err != nil {
			return LeadPage{}, fmt.Errorf("store: unable to keep the list's order: %w", err)
		}
	}
	var err error
	page.Leads, err = s.leadsInOrder(ctx, v, ids[min(offset, len(ids)):min(offset+limit, len(ids))])
	return page, err
}

// snapshotPage reads a page of a stored snapshot.
func (s *Store) snapshotPage(ctx context.Context, v Viewer, userID int64, token string, offset, limit int) (LeadPage, error) {
	var row struct {
		IDs    pq.Int64Array `db:"ids"`
		Total  int           `db:"total"`
		Capped bool          `db:"capped"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT lead_ids[$3 + 1 : $3 + $4] AS ids, cardinality(lead_ids) AS total, capped
		FROM list_snapshots WHERE workspace_id = $1 AND token = $2 AND user_id = $5 AND created_at > now() - interval '1 hour'`,
		v.WorkspaceID, token, offset, limit, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return LeadPage{}, ErrNotFound
	}
	if err != nil {
		return LeadPage{}, fmt.Errorf("store: unable to read the list: %w", err)
	}
	leads, err := s.leadsInOrder(ctx, v, row.IDs)
	return LeadPage{Leads: leads, Token: token, Total: row.Total, Capped: row.Capped}, err
}

// leadsInOrder loads leads in the order of ids; a lead deleted since, or that the viewer may
// no longer see, is left out.
func (s *Store) leadsInOrder(ctx context.Context, v Viewer, ids []int64) ([]model.Lead, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var leads []model.Lead
	args := []any{v.WorkspaceID, pq.Array(ids)}
	if err := s.db.SelectContext(ctx, &leads, `SELECT `+leadColumns+leadFrom+`
		JOIN unnest($2::bigint[]) WITH ORDINALITY AS o(id, n) ON o.id = l.id
		WHERE l.workspace_id = $1`+v.and(binder(&args))+` ORDER BY o.n`, args...); err != nil {
		return nil, fmt.Errorf("store: unable to load leads: %w", err)
	}
	return leads, nil
}

// DeleteOldListSnapshots removes snapshots older than an hour (a server-wide sweep).
func (s *Store) DeleteOldListSnapshots(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM list_snapshots WHERE created_at < now() - interval '1 hour'`)
	if err != nil {
		return 0, fmt.Errorf("store: unable to delete old list snapshots: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func randomToken() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
