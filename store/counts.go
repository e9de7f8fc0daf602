package store

import (
	"context"
	"fmt"
)

// MessageCount is the number of messages with one direction ("in" or "out"), status and
// line.
type MessageCount struct {
	Direction string
	Status    string
	Line      string
	Count     int64
}

// MessageCounts counts every message by direction, status and line. It reads the whole
// messages table, so callers cache the result (the metrics collector refreshes it at
// most every few tens of seconds).
func (db *DB) MessageCounts(ctx context.Context) ([]MessageCount, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT direction, status, line, count(*) FROM messages
		GROUP BY direction, status, line`)
	if err != nil {
		return nil, fmt.Errorf("store: message counts: %w", err)
	}
	defer rows.Close()
	var out []MessageCount
	for rows.Next() {
		var c MessageCount
		if err := rows.Scan(&c.Direction, &c.Status, &c.Line, &c.Count); err != nil {
			return nil, fmt.Errorf("store: message counts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: message counts: %w", err)
	}
	return out, nil
}
