// Package platform opens what every Peregrine command needs: the database (the configured one,
// or the embedded PostgreSQL), migrations, and the keys for sessions and stored secrets.
package platform

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/pgembed"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// EmbeddedDatabase is the database name used on the embedded cluster.
const EmbeddedDatabase = "peregrine"

// Platform is the opened runtime.
type Platform struct {
	Store   *store.Store
	Secrets *secrets.Box
	// SessionHashKey keys the hash under which session tokens are stored: a new key signs
	// everyone out.
	SessionHashKey []byte

	cluster        *pgembed.Cluster
	startedCluster bool
	log            *slog.Logger
}

// Options tune Open.
type Options struct {
	// Migrate applies pending migrations after connecting.
	Migrate bool
}

// Open connects to the database, starting the embedded cluster when no DATABASE_URL is set.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*Platform, error) {
	p := &Platform{log: log}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("unable to create data folder %s: %w", cfg.DataDir, err)
	}
	if err := p.loadKeys(cfg); err != nil {
		return nil, err
	}
	url := cfg.DatabaseURL
	if url == "" {
		c, err := pgembed.New(cfg.DataDir, true)
		if err != nil {
			return nil, err
		}
		started, err := c.Start(ctx)
		if err != nil {
			return nil, err
		}
		p.cluster, p.startedCluster = c, started
		if started {
			log.Info("started embedded PostgreSQL", "data", c.DataDir)
		} else {
			log.Info("using embedded PostgreSQL that is already running", "data", c.DataDir)
		}
		if err := c.CreateDatabase(ctx, EmbeddedDatabase); err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("unable to create database: %w", err)
		}
		url = c.URL(EmbeddedDatabase)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	p.Store = st
	if opts.Migrate {
		applied, err := st.Migrate(ctx)
		if err != nil {
			p.Close(ctx)
			return nil, err
		}
		for _, name := range applied {
			log.Info("applied migration", "name", name)
		}
	}
	return p, nil
}

// Close closes the database and stops the embedded cluster if this process started it and no
// other process (a CLI command, another server) is still connected.
func (p *Platform) Close(ctx context.Context) {
	if p.Store != nil {
		p.Store.Close()
	}
	if p.cluster == nil || !p.startedCluster {
		return
	}
	// Backends of connections that just closed (a CLI command that finished) take a moment to
	// exit; a process that is really connected stays. Wait a little before deciding.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := p.cluster.OtherClients(ctx)
		if err != nil || n == 0 {
			break
		}
		if time.Now().After(deadline) {
			p.log.Info("leaving embedded PostgreSQL running for other connected processes", "connections", n)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.cluster.Stop(ctx); err != nil {
		p.log.Error("stopping embedded PostgreSQL", "err", err)
		return
	}
	p.log.Info("stopped embedded PostgreSQL")
}

func (p *Platform) loadKeys(cfg *config.Config) error {
	sessionKey, err := keyFrom(cfg.SessionKey, "PEREGRINE_SESSION_KEY", filepath.Join(cfg.DataDir, "session.key"))
	if err != nil {
		return err
	}
	p.SessionHashKey = derive(sessionKey, "peregrine session token hash")

	secretKey, err := keyFrom(cfg.SecretKey, "PEREGRINE_SECRET_KEY", filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return err
	}
	p.Secrets, err = secrets.NewBox(secretKey)
	return err
}

// keyFrom parses the configured key, or reads the key file, creating it (0600) on first use.
func keyFrom(configured, envName, path string) ([]byte, error) {
	if configured != "" {
		key, err := secrets.ParseKey(configured)
		if err != nil {
			return nil, &config.Error{Problems: []string{envName + " " + err.Error()}}
		}
		return key, nil
	}
	b, err := os.ReadFile(path)
	if err == nil {
		key, perr := secrets.ParseKey(string(b))
		if perr != nil {
			return nil, fmt.Errorf("key file %s is damaged: %v", path, perr)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := secrets.NewKey()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		// Another process created it between our read and now: use theirs.
		return keyFrom("", envName, path)
	}
	if err != nil {
		return nil, fmt.Errorf("unable to create key file %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		return nil, err
	}
	return key, f.Sync()
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Describe says where the data lives, for start-up messages.
func (p *Platform) Describe() string {
	if p.cluster != nil {
		return "embedded PostgreSQL in " + strings.TrimSuffix(p.cluster.DataDir, "/pgdata")
	}
	return "PostgreSQL from DATABASE_URL"
}
