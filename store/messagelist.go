package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MessageFilter selects a page of messages (both directions), newest first, by keyset
// on id. Empty fields do not filter.
type MessageFilter struct {
	Direction string // in, out
	Status    string
	Kind      string
	Peer      string // exact, normalized number or sender id
	Line      string
	AuthorID  int64 // only messages written by this user (0: anyone's)
	Since     time.Time
	Until     time.Time
	BeforeID  int64 // keyset cursor: ids below this (0: from the newest)
	Limit     int   // default 50, at most 500
}

// Messages returns one page of messages (without parts) under f, newest first.
func (db *DB) Messages(ctx context.Context, f MessageFilter) ([]Message, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 500 {
		f.Limit = 500
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	if f.Direction != "" {
		add("direction = ?", f.Direction)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.Peer != "" {
		add("peer = ?", f.Peer)
	}
	if f.Line != "" {
		add("line = ?", f.Line)
	}
	if f.AuthorID != 0 {
		add("author_id = ?", f.AuthorID)
	}
	if !f.Since.IsZero() {
		add("created_at >= ?", FormatTime(f.Since))
	}
	if !f.Until.IsZero() {
		add("created_at < ?", FormatTime(f.Until))
	}
	q := `SELECT ` + messageCols + ` FROM messages`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: messages: %w", err)
	}
	return out, nil
}
