package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// Meta returns the value stored under key, or ErrNotFound.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: meta %s: %w", key, err)
	}
	return v, nil
}

// SetMeta stores value under key, replacing any earlier value.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value,
		updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`, key, value)
	if err != nil {
		return fmt.Errorf("store: set meta %s: %w", key, err)
	}
	return nil
}

// InstanceID returns this installation's random id, creating it on first use. It stays
// the same across restarts and upgrades, and is new for a new database.
func (db *DB) InstanceID(ctx context.Context) (string, error) {
	var id string
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'instance_id'").Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: instance id: %w", err)
		}
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("store: instance id: %w", err)
		}
		id = hex.EncodeToString(b)
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('instance_id', ?)", id); err != nil {
			return fmt.Errorf("store: instance id: %w", err)
		}
		return nil
	})
	return id, err
}
