package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run-time settings changed in the web UI are kept in the meta table, one row per
// setting under "setting:<name>", layered by the caller over the configuration file.
// Every change is also appended to a bounded change log ("settings_log").

const (
	settingPrefix   = "setting:"
	settingsLogKey  = "settings_log"
	settingsLogKeep = 200
)

// SettingOverride is one setting changed at run time.
type SettingOverride struct {
	Name  string    `json:"name"`
	Value string    `json:"value"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

// SettingChange is one entry of the change log. Old or New is empty when the setting
// had no override before, or went back to the configuration file's value.
type SettingChange struct {
	Name string    `json:"name"`
	Old  string    `json:"old"`
	New  string    `json:"new"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// SettingOverrides returns every stored override, by name.
func (db *DB) SettingOverrides(ctx context.Context) (map[string]SettingOverride, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT key, value FROM meta WHERE key >= ? AND key < ?`,
		settingPrefix, settingPrefix[:len(settingPrefix)-1]+";")
	if err != nil {
		return nil, fmt.Errorf("store: setting overrides: %w", err)
	}
	defer rows.Close()
	out := map[string]SettingOverride{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("store: setting overrides: %w", err)
		}
		var o SettingOverride
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			continue // not ours or damaged: the configuration file's value stands
		}
		o.Name = strings.TrimPrefix(k, settingPrefix)
		out[o.Name] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: setting overrides: %w", err)
	}
	return out, nil
}

// SaveSettings stores overrides (name → value) and removes the named ones in reset,
// in one transaction, and logs each actual change with who made it. It returns the
// changes (none when nothing differed).
func (db *DB) SaveSettings(ctx context.Context, set map[string]string, reset []string, by string, now time.Time) ([]SettingChange, error) {
	var changes []SettingChange
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		current := func(name string) (SettingOverride, bool, error) {
			var v string
			err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, settingPrefix+name).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				return SettingOverride{}, false, nil
			}
			if err != nil {
				return SettingOverride{}, false, err
			}
			var o SettingOverride
			return o, json.Unmarshal([]byte(v), &o) == nil, nil
		}
		for _, name := range reset {
			old, ok, err := current(name)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, settingPrefix+name); err != nil {
				return err
			}
			changes = append(changes, SettingChange{Name: name, Old: old.Value, By: by, At: now.UTC()})
		}
		for name, value := range set {
			old, ok, err := current(name)
			if err != nil {
				return err
			}
			if ok && old.Value == value {
				continue
			}
			b, _ := json.Marshal(SettingOverride{Value: value, By: by, At: now.UTC()})
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value,
				updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`, settingPrefix+name, string(b)); err != nil {
				return err
			}
			changes = append(changes, SettingChange{Name: name, Old: old.Value, New: value, By: by, At: now.UTC()})
		}
		if len(changes) == 0 {
			return nil
		}
		var log []SettingChange
		var v string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, settingsLogKey).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if v != "" {
			_ = json.Unmarshal([]byte(v), &log) // a damaged log starts again
		}
		log = append(log, changes...)
		if len(log) > settingsLogKeep {
			log = log[len(log)-settingsLogKeep:]
		}
		b, _ := json.Marshal(log)
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value,
			updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`, settingsLogKey, string(b))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: save settings: %w", err)
	}
	return changes, nil
}

// SettingsLog returns the latest changes of run-time settings, newest first.
func (db *DB) SettingsLog(ctx context.Context, limit int) ([]SettingChange, error) {
	v, err := db.Meta(ctx, settingsLogKey)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var log []SettingChange
	if err := json.Unmarshal([]byte(v), &log); err != nil {
		return nil, nil
	}
	out := make([]SettingChange, 0, min(limit, len(log)))
	for i := len(log) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, log[i])
	}
	return out, nil
}

// ShareReadMarker moves the read marker of every enabled user in a conversation
// forward to messageID (never back): the "unread per team" setting, where one
// person reading a conversation reads it for everyone.
func (t *Tx) ShareReadMarker(conversationID, messageID int64, now time.Time) error {
	_, err := t.exec(`INSERT INTO read_markers (user_id, conversation_id, last_read_id, updated_at)
		SELECT id, ?, ?, ? FROM users WHERE disabled = 0
		ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_id = max(last_read_id, excluded.last_read_id),
		updated_at = excluded.updated_at`, conversationID, messageID, FormatTime(now))
	if err != nil {
		return fmt.Errorf("store: share read marker: %w", err)
	}
	return nil
}

// SetEveryReadMarker moves every enabled user's read marker in a conversation to
// messageID, forward or back ("mark unread" with unread per team).
func (t *Tx) SetEveryReadMarker(conversationID, messageID int64, now time.Time) error {
	_, err := t.exec(`INSERT INTO read_markers (user_id, conversation_id, last_read_id, updated_at)
		SELECT id, ?, ?, ? FROM users WHERE disabled = 0
		ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_id = excluded.last_read_id,
		updated_at = excluded.updated_at`, conversationID, messageID, FormatTime(now))
	if err != nil {
		return fmt.Errorf("store: set every read marker: %w", err)
	}
	return nil
}
