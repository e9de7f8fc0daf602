package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// LogLine is one entry of the gateway's operational event log.
type LogLine struct {
	ID      int64
	Level   string // info, warning, critical
	Module  string // modem, queue, inbound, system
	Message string
	Context map[string]any
	At      time.Time
}

// AppendLog adds an entry to the event log (At defaults to now).
func (db *DB) AppendLog(ctx context.Context, l LogLine) error {
	switch l.Level {
	case "info", "warning", "critical":
	default:
		l.Level = "info"
	}
	if l.At.IsZero() {
		l.At = time.Now()
	}
	c := "{}"
	if len(l.Context) > 0 {
		b, err := json.Marshal(l.Context)
		if err != nil {
			return fmt.Errorf("store: append log: %w", err)
		}
		c = string(b)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO event_log (at, level, module, message, context) VALUES (?, ?, ?, ?, ?)`,
		FormatTime(l.At), l.Level, l.Module, l.Message, c); err != nil {
		return fmt.Errorf("store: append log: %w", err)
	}
	return nil
}

// LogLines returns the event log between from (inclusive) and to (exclusive), oldest
// first, at most limit entries (default 1000, at most 5000).
func (db *DB) LogLines(ctx context.Context, from, to time.Time, limit int) ([]LogLine, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, level, module, message, context FROM event_log
		WHERE at >= ? AND at < ? ORDER BY at, id LIMIT ?`, FormatTime(from), FormatTime(to), limit)
	if err != nil {
		return nil, fmt.Errorf("store: log lines: %w", err)
	}
	defer rows.Close()
	var out []LogLine
	for rows.Next() {
		var l LogLine
		var at, c string
		if err := rows.Scan(&l.ID, &at, &l.Level, &l.Module, &l.Message, &c); err != nil {
			return nil, fmt.Errorf("store: log lines: %w", err)
		}
		if l.At, err = ParseTime(at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(c), &l.Context); err != nil {
			l.Context = map[string]any{"raw": c}
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// PruneLog deletes entries older than before and returns how many went.
func (db *DB) PruneLog(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM event_log WHERE at < ?`, FormatTime(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune log: %w", err)
	}
	return res.RowsAffected()
}
