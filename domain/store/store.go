// Package store holds every SQL statement of Peregrine: one file per aggregate, methods on
// *Store. Every method that touches tenant data takes the workspace id and filters by it.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrNotFound is returned when a row does not exist in the given workspace.
var ErrNotFound = errors.New("store: not found")

// ErrDuplicate is returned when a unique constraint (such as an email) is already taken.
var ErrDuplicate = errors.New("store: already exists")

// Store is the database gateway.
type Store struct {
	db *sqlx.DB
}

// Session limits every connection starts with: no statement runs, and no lock is waited
// for, without end; a transaction left idle (a bug) does not hold its locks forever.
// Migrations lift them for their own connection.
const sessionSettings = `SET statement_timeout = '2min'; SET lock_timeout = '1min'; SET idle_in_transaction_session_timeout = '5min'`

// DefaultPoolSize is the pool of a command; the server sizes its own from its workers.
const DefaultPoolSize = 20

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string) (*Store, error) {
	connector, err := pq.NewConnector(url)
	if err != nil {
		return nil, fmt.Errorf("store: unable to open database: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(sessionDefaults{connector}), "postgres")
	db.SetMaxOpenConns(DefaultPoolSize)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: unable to reach database: %w", err)
	}
	return &Store{db: db}, nil
}

// sessionDefaults applies sessionSettings to every new connection.
type sessionDefaults struct{ driver.Connector }

func (c sessionDefaults) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if ex, ok := conn.(driver.ExecerContext); ok {
		if _, err := ex.ExecContext(ctx, sessionSettings, nil); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// SetPoolSize sets how many connections the store may open: the server gives every worker
// one and keeps the rest for requests. Waiting for a connection ends with the caller's
// context.
func (s *Store) SetPoolSize(n int) {
	s.db.SetMaxOpenConns(n)
	s.db.SetMaxIdleConns(min(n, max(10, n/2)))
}

// PoolSize is the most connections the store opens.
func (s *Store) PoolSize() int { return s.db.Stats().MaxOpenConnections }

// Close releases the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: unable to begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: unable to commit: %w", err)
	}
	return nil
}

// inSnapshot runs fn in a read-only transaction whose statements all see the database as
// its first one did (REPEATABLE READ): for reads that must agree with each other.
func (s *Store) inSnapshot(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: unable to begin a snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // nothing to keep: it only read
	return fn(tx)
}

func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
