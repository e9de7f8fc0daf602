// Package store is the only package that speaks SQL. It keeps smsgw's state in one
// SQLite file in WAL mode: numbered migrations embedded in the binary are applied at
// start, each in its own transaction, and a database written by a newer binary is
// refused rather than damaged.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// ErrSchemaTooNew means the database was migrated by a newer smsgw than this one.
var ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in order. Their numbers start at 1 and have
// no gaps; a test checks that.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("store: migration file %q is not named NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("store: read %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("store: migration %s out of sequence: want version %d", m.Name, i+1)
		}
	}
	return ms, nil
}

// DB is the smsgw database: one connection that writes (SQLite has a single writer;
// every write transaction begins IMMEDIATE so writers queue on the busy timeout instead
// of failing on upgrade) and a pool of readers that WAL lets run beside it.
type DB struct {
	path string
	w    *sql.DB
	r    *sql.DB
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	// FULL: a committed queue state survives power loss (RELIABILITY.md R2).
	q.Set("_synchronous", "FULL")
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + url.PathEscape(path) + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path. Call Migrate before use.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create directory: %w", err)
	}
	w, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL before readers open it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: journal mode: %w", err)
	}
	if mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("store: %s: journal mode is %q, want wal (is the file on a filesystem without shared memory?)", path, mode)
	}
	r, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	r.SetMaxOpenConns(4)
	return &DB{path: path, w: w, r: r}, nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// Ping checks that the database answers; readiness probes and the watchdog use it.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Version returns the schema version (PRAGMA user_version) of the file.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return v, nil
}

// Migrate applies every embedded migration the database does not have yet, each in its
// own transaction together with the version bump. It refuses a newer schema.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	return db.migrateTo(ctx, ms, len(ms))
}

func (db *DB) migrateTo(ctx context.Context, ms []Migration, target int) error {
	cur, err := db.Version(ctx)
	if err != nil {
		return err
	}
	if cur > len(ms) {
		return fmt.Errorf("%w: the file is at version %d, this binary knows %d; run the newer smsgw or restore a backup",
			ErrSchemaTooNew, cur, len(ms))
	}
	for _, m := range ms[cur:target] {
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, m Migration) (err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %s: begin: %w", m.Name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("store: migration %s: %w", m.Name, err)
	}
	// user_version lives in the file header and changes with the transaction.
	if _, err = tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.Version)); err != nil {
		return fmt.Errorf("store: migration %s: set version: %w", m.Name, err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: migration %s: commit: %w", m.Name, err)
	}
	return nil
}

// IntegrityCheck runs PRAGMA quick_check and returns an error describing any damage.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.w.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("store: integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store: integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// withTx runs fn in a write transaction and commits it, or rolls back on error.
func (db *DB) withTx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err = fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
