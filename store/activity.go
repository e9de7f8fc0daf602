package store

import (
	"context"
	"fmt"
	"time"
)

// Activity is one line of a conversation's activity log: who did what, when.
type Activity struct {
	ID             int64     `json:"id"`
	ConversationID int64     `json:"conversation_id"`
	ActorID        int64     `json:"actor_id,omitempty"` // 0: the system or the customer
	Action         string    `json:"action"`             // created, accepted, assigned, tagged, snoozed, resolved, ...
	Detail         string    `json:"detail,omitempty"`   // e.g. "to Ana", "until 2026-11-22T09:00Z", "ownership timeout"
	CreatedAt      time.Time `json:"created_at"`
}

// LogActivity appends a line to a conversation's activity log.
func (t *Tx) LogActivity(conversationID, actorID int64, action, detail string, now time.Time) error {
	_, err := t.exec(`INSERT INTO activity (conversation_id, actor_id, action, detail, created_at) VALUES (?, ?, ?, ?, ?)`,
		conversationID, nullID(actorID), action, detail, FormatTime(now))
	if err != nil {
		return fmt.Errorf("store: log activity: %w", err)
	}
	return nil
}

// ActivityLog returns a conversation's activity, oldest first.
func (db *DB) ActivityLog(ctx context.Context, conversationID int64) ([]Activity, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, conversation_id, COALESCE(actor_id, 0), action, detail, created_at
		FROM activity WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("store: activity: %w", err)
	}
	defer rows.Close()
	var out []Activity
	for rows.Next() {
		var a Activity
		var created string
		if err := rows.Scan(&a.ID, &a.ConversationID, &a.ActorID, &a.Action, &a.Detail, &created); err != nil {
			return nil, fmt.Errorf("store: activity: %w", err)
		}
		if a.CreatedAt, err = ParseTime(created); err != nil {
			return nil, fmt.Errorf("store: activity: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: activity: %w", err)
	}
	return out, nil
}
