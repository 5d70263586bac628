// Package migrations holds the SQL schema changes, embedded into the binary and applied in
// file-name order by store.Migrate.
package migrations

import "embed"

// FS holds every NNNN_name.sql file of this folder.
//
//go:embed *.sql
var FS embed.FS
