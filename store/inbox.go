package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
)

// Errors of the inbox aggregates.
var (
	// ErrStale means a compare-and-set update found the row no longer in the expected
	// state: another writer changed it first. The caller re-reads and reports.
	ErrStale = errors.New("store: row changed since it was read")
	// ErrNumberTaken means a number already belongs to another contact.
	ErrNumberTaken = errors.New("store: number belongs to another contact")
	// ErrDuplicate means a unique name (queue, tag, quick-reply shortcut) is taken.
	ErrDuplicate = errors.New("store: already exists")
)

// Tx is one write transaction over the inbox aggregates. The router composes a
// domain operation (a transition with its alerts and activity lines) from its
// methods, and Update commits all of it or nothing. A Tx must not be used after the
// function given to Update returns.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
}

// Update runs fn in a write transaction (BEGIN IMMEDIATE, so concurrent writers queue
// rather than fail) and commits it, or rolls back when fn returns an error, which is
// returned unchanged.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.withTx(ctx, func(stx *sql.Tx) error {
		return fn(&Tx{ctx: ctx, tx: stx})
	})
}

// inboxQuerier is what the reader pool and a transaction both offer.
type inboxQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// exec runs a statement in the transaction.
func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, query, args...)
}

// cas runs an UPDATE guarded by its WHERE clause and reports whether it changed
// exactly one row.
func (t *Tx) cas(what, query string, args ...any) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	return n == 1, nil
}

// insertID runs an INSERT and returns the new row id.
func (t *Tx) insertID(what, query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	return id, nil
}

// randomUID returns a random public id for a message row (hex, 80 bits).
func randomUID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic("store: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// nullID stores 0 as NULL.
func nullID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// flag stores a bool as 0/1.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// inPlaceholders returns "?, ?, ?" for n values.
func inPlaceholders(n int) string {
	if n <= 0 {
		return "NULL"
	}
	b := make([]byte, 0, 3*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	return false
}
