package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Quick-reply scopes.
const (
	ScopePersonal = "personal"
	ScopeQueue    = "queue"
	ScopeGlobal   = "global"
)

// QuickReply is a canned response. Body may hold {{contact.name}}-style variables and
// {{field.x}} fields the agent fills in; Fields declares the latter.
type QuickReply struct {
	ID        int64     `json:"id"`
	Scope     string    `json:"scope"`
	OwnerID   int64     `json:"owner_id,omitempty"`
	QueueID   int64     `json:"queue_id,omitempty"`
	Shortcut  string    `json:"shortcut"`
	Body      string    `json:"body"`
	Fields    []string  `json:"fields"`
	CreatedBy int64     `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const qrCols = `id, scope, COALESCE(owner_id, 0), COALESCE(queue_id, 0), shortcut, body, fields, COALESCE(created_by, 0),
	created_at, updated_at`

func scanQuickReply(row interface{ Scan(...any) error }) (QuickReply, error) {
	var q QuickReply
	var fields, c, u string
	if err := row.Scan(&q.ID, &q.Scope, &q.OwnerID, &q.QueueID, &q.Shortcut, &q.Body, &fields, &q.CreatedBy, &c, &u); err != nil {
		return q, err
	}
	if err := json.Unmarshal([]byte(fields), &q.Fields); err != nil {
		return q, err
	}
	var err error
	if q.CreatedAt, err = ParseTime(c); err != nil {
		return q, err
	}
	q.UpdatedAt, err = ParseTime(u)
	return q, err
}

// SaveQuickReply inserts (ID 0) or updates a quick reply and returns its id.
func (t *Tx) SaveQuickReply(q QuickReply, now time.Time) (int64, error) {
	if q.Fields == nil {
		q.Fields = []string{}
	}
	fields, err := json.Marshal(q.Fields)
	if err != nil {
		return 0, fmt.Errorf("store: save quick reply: %w", err)
	}
	ts := FormatTime(now)
	if q.ID == 0 {
		return t.insertID("create quick reply", `INSERT INTO quick_replies (scope, owner_id, queue_id, shortcut, body, fields,
			created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			q.Scope, nullID(q.OwnerID), nullID(q.QueueID), q.Shortcut, q.Body, string(fields), nullID(q.CreatedBy), ts, ts)
	}
	ok, err := t.cas("update quick reply", `UPDATE quick_replies SET scope = ?, owner_id = ?, queue_id = ?, shortcut = ?,
		body = ?, fields = ?, updated_at = ? WHERE id = ?`,
		q.Scope, nullID(q.OwnerID), nullID(q.QueueID), q.Shortcut, q.Body, string(fields), ts, q.ID)
	if err == nil && !ok {
		return 0, ErrNotFound
	}
	return q.ID, err
}

// DeleteQuickReply removes a quick reply.
func (t *Tx) DeleteQuickReply(id int64) error {
	ok, err := t.cas("delete quick reply", `DELETE FROM quick_replies WHERE id = ?`, id)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}

// QuickReply returns one quick reply.
func (db *DB) QuickReply(ctx context.Context, id int64) (QuickReply, error) {
	q, err := scanQuickReply(db.r.QueryRowContext(ctx, `SELECT `+qrCols+` FROM quick_replies WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return q, ErrNotFound
	}
	if err != nil {
		return q, fmt.Errorf("store: quick reply %d: %w", id, err)
	}
	return q, nil
}

// QuickReplies lists the quick replies a user sees: global ones, those of the given
// queues and the user's personal ones, by shortcut.
func (db *DB) QuickReplies(ctx context.Context, userID int64, queues []int64) ([]QuickReply, error) {
	args := []any{userID}
	for _, q := range queues {
		args = append(args, q)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+qrCols+` FROM quick_replies WHERE scope = 'global'
		OR (scope = 'personal' AND owner_id = ?) OR (scope = 'queue' AND queue_id IN (`+inPlaceholders(len(queues))+`))
		ORDER BY shortcut, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: quick replies: %w", err)
	}
	defer rows.Close()
	var out []QuickReply
	for rows.Next() {
		q, err := scanQuickReply(rows)
		if err != nil {
			return nil, fmt.Errorf("store: quick replies: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: quick replies: %w", err)
	}
	return out, nil
}
