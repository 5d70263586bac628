// Package pgtest gives tests a real PostgreSQL: one throwaway cluster per test binary (fsync
// off, in a temporary folder) and a fresh database per test, cloned from a migrated template.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/pgembed"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

const templateDB = "peregrine_template"

var (
	cluster *pgembed.Cluster
	setupMu sync.Mutex
	setup   error
	counter atomic.Int64
)

// Runner is what TestMain runs: *testing.M, or a wrapper that sets up more around it.
type Runner interface{ Run() int }

// Main runs the tests and then stops the cluster, if a test started one.
func Main(m Runner) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		if os.Getenv("PGTEST_KEEP") == "" {
			os.RemoveAll(filepath.Dir(cluster.DataDir))
		}
	}
	os.Exit(code)
}

func start() error {
	setupMu.Lock()
	defer setupMu.Unlock()
	if cluster != nil || setup != nil {
		return setup
	}
	root, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		setup = err
		return err
	}
	// MkdirTemp makes the folder 0700; the postgres user must be able to enter it when we are root.
	if err := os.Chmod(root, 0o755); err != nil {
		setup = err
		return err
	}
	// PGTEST_FSYNC=on runs the cluster as make run does, for benchmarks that must count the
	// cost of durable writes; tests leave it off for speed.
	c, err := pgembed.New(root, os.Getenv("PGTEST_FSYNC") == "on")
	if err != nil {
		setup = err
		return err
	}
	// PGTEST_STATEMENTS=on loads pg_stat_statements, for benchmarks that report where
	// PostgreSQL spends its time.
	if os.Getenv("PGTEST_STATEMENTS") == "on" {
		c.Preload = []string{"pg_stat_statements"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Start(ctx); err != nil {
		setup = err
		return err
	}
	cluster = c
	if err := c.CreateDatabase(ctx, templateDB); err != nil {
		setup = err
		return err
	}
	st, err := store.Open(ctx, c.URL(templateDB))
	if err != nil {
		setup = err
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		setup = err
		return err
	}
	return nil
}

// NewDatabase creates an empty, migrated database for this test and returns its URL. The
// database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if err := start(); err != nil {
		t.Fatalf("pgtest: unable to start PostgreSQL: %v", err)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	admin, err := sql.Open("postgres", cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + templateDB); err != nil {
		t.Fatalf("pgtest: unable to create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", cluster.URL("postgres"))
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	return cluster.URL(name)
}

// NewStore returns a Store on a fresh database for this test.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	st, _ := NewStoreAndDB(t)
	return st
}

// NewStoreAndDB is NewStore with a plain connection to the same database, for tests that
// check rows the store does not expose.
func NewStoreAndDB(t testing.TB) (*store.Store, *sql.DB) {
	t.Helper()
	url := NewDatabase(t)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return st, db
}

// Count runs a query that returns one number, failing the test if it cannot.
func Count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Exec runs a statement that arranges a test's data, failing the test if it cannot.
func Exec(t testing.TB, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
