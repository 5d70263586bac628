package store_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// Tables without workspace_id, and what they would be under Citus (docs/scaling.md):
// reference tables are copied to every node, local ones stay on the coordinator.
var notTenantTables = map[string]string{
	"workspaces":        "distributed by its id (the tenant itself)",
	"schema_migrations": "local: the migration log",
	"login_failures":    "local: throttling keyed by email and client address before sign-in",
}

// TestSchemaIsCitusReady reads the catalog of the migrated schema and fails where the schema
// could not be distributed by workspace_id (docs/scaling.md): a tenant table whose primary
// key, unique constraint or unique index lacks workspace_id, a foreign key between tenant
// tables that does not carry workspace_id on both sides, workspace_id of another type than
// bigint, or a table without workspace_id that is not declared here as reference or local.
func TestSchemaIsCitusReady(t *testing.T) {
	_, db := pgtest.NewStoreAndDB(t)
	for _, p := range citusProblems(t, db) {
		t.Error(p)
	}
}

// The check finds each kind of problem it looks for.
func TestCitusCheckFindsProblems(t *testing.T) {
	_, db := pgtest.NewStoreAndDB(t)
	for _, q := range []string{
		`CREATE UNIQUE INDEX bad_visitor_key ON visitors (key)`,
		`CREATE TABLE bad_child (workspace_id integer NOT NULL, id bigint, site_id bigint, PRIMARY KEY (workspace_id, id))`,
		`ALTER TABLE bad_child ADD CONSTRAINT bad_child_site FOREIGN KEY (workspace_id, site_id) REFERENCES sites (id, workspace_id)`,
		`CREATE TABLE bad_global (id bigint PRIMARY KEY)`,
	} {
		pgtest.Exec(t, db, q)
	}
	got := strings.Join(citusProblems(t, db), "\n")
	for _, want := range []string{"bad_visitor_key", "bad_child.workspace_id is integer", "bad_child_site", "bad_global has no workspace_id"} {
		if !strings.Contains(got, want) {
			t.Errorf("not reported: %s\n%s", want, got)
		}
	}
}

// citusProblems lists what keeps the schema from being distributed by workspace_id.
func citusProblems(t *testing.T, db *sql.DB) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	tenant := map[string]bool{}
	rows, err := db.Query(`SELECT c.table_name, c.data_type FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = 'public' AND c.column_name = 'workspace_id'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, typ string
		rows.Scan(&table, &typ)
		tenant[table] = true
		if typ != "bigint" {
			report("%s.workspace_id is %s: the distribution column must be bigint everywhere", table, typ)
		}
	}
	rows.Close()
	if len(tenant) < 30 {
		t.Fatalf("only %d tenant tables found: the query is wrong", len(tenant))
	}
	var all []string
	if err := queryStrings(db, &all, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`); err != nil {
		t.Fatal(err)
	}
	for _, table := range all {
		if _, declared := notTenantTables[table]; !tenant[table] && !declared {
			report("table %s has no workspace_id and is not declared as a reference or local table", table)
		}
	}

	// Primary keys, unique constraints and unique indexes of tenant tables.
	type key struct {
		table, name string
		columns     []string
		primary     bool
	}
	var keys []key
	rows, err = db.Query(`SELECT t.relname, i.relname, ix.indisprimary,
			array(SELECT a.attname FROM unnest(ix.indkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k)
		FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = 'public' AND ix.indisunique`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k key
		rows.Scan(&k.table, &k.name, &k.primary, (*pq.StringArray)(&k.columns))
		keys = append(keys, k)
	}
	rows.Close()
	primaries := map[string]bool{}
	for _, k := range keys {
		if k.primary {
			primaries[k.table] = true
		}
		if tenant[k.table] && !slices.Contains(k.columns, "workspace_id") {
			report("%s: unique index %s on (%s) lacks workspace_id", k.table, k.name, strings.Join(k.columns, ", "))
		}
	}
	for table := range tenant {
		if !primaries[table] {
			report("tenant table %s has no primary key", table)
		}
	}

	// Foreign keys between tenant tables carry workspace_id on both sides, in the same place.
	rows, err = db.Query(`SELECT c.conname, src.relname, dst.relname,
			array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
			array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
		FROM pg_constraint c JOIN pg_class src ON src.oid = c.conrelid JOIN pg_class dst ON dst.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = src.relnamespace
		WHERE n.nspname = 'public' AND c.contype = 'f'`)
	if err != nil {
		t.Fatal(err)
	}
	fks := 0
	for rows.Next() {
		var name, src, dst string
		var from, to []string
		rows.Scan(&name, &src, &dst, (*pq.StringArray)(&from), (*pq.StringArray)(&to))
		fks++
		switch {
		case dst == "workspaces":
			if fmt.Sprint(from) != "[workspace_id]" {
				report("%s: %s references workspaces by (%s), not by workspace_id", name, src, strings.Join(from, ", "))
			}
		case tenant[src] && tenant[dst]:
			i, j := slices.Index(from, "workspace_id"), slices.Index(to, "workspace_id")
			if i < 0 || i != j {
				report("%s: %s (%s) → %s (%s) joins tenant tables without workspace_id on both sides", name, src,
					strings.Join(from, ", "), dst, strings.Join(to, ", "))
			}
		}
	}
	rows.Close()
	if fks < 5 {
		t.Fatalf("only %d foreign keys found: the query is wrong", fks)
	}
	return problems
}

func queryStrings(db *sql.DB, into *[]string, q string) error {
	rows, err := db.Query(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*into = append(*into, s)
	}
	return rows.Err()
}
