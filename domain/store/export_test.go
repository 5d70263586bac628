package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Fingerprint digests every row a workspace has, in every table carrying workspace_id (and
// its workspaces row), as the transaction sees them: isolation tests compare it before and
// after calling a method as another workspace.
func (t *Tx) Fingerprint(ctx context.Context, workspaceID int64) (string, error) {
	return fingerprint(ctx, t.tx, workspaceID)
}

// Fingerprint is Tx.Fingerprint outside a transaction.
func (s *Store) Fingerprint(ctx context.Context, workspaceID int64) (string, error) {
	return fingerprint(ctx, s.db, workspaceID)
}

func fingerprint(ctx context.Context, q sqlx.QueryerContext, workspaceID int64) (string, error) {
	var tables []string
	if err := sqlx.SelectContext(ctx, q, &tables, `SELECT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = 'public' AND c.column_name = 'workspace_id' ORDER BY c.table_name`); err != nil {
		return "", err
	}
	var parts []string
	for _, table := range append(tables, "workspaces") {
		col := "workspace_id"
		if table == "workspaces" {
			col = "id"
		}
		var digest string
		if err := sqlx.GetContext(ctx, q, &digest, fmt.Sprintf(`SELECT count(*) || ':' || COALESCE(md5(string_agg(x::text, '|' ORDER BY x::text)), '')
			FROM %s x WHERE %s = $1`, table, col), workspaceID); err != nil {
			return "", fmt.Errorf("%s: %w", table, err)
		}
		parts = append(parts, table+"="+digest)
	}
	return strings.Join(parts, " "), nil
}

// MostLeadsPass exposes the sample a targeted re-scoring starts with.
func (t *Tx) MostLeadsPass(ctx context.Context, workspaceID int64, filter []byte) (bool, error) {
	return t.mostLeadsPass(ctx, workspaceID, filter)
}

// SetDigestBetweenReads makes fn run after DigestMoves's first read (nil: nothing).
func SetDigestBetweenReads(fn func()) { digestBetweenReads = fn }
