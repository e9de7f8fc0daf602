package store

import (
	"context"
	"fmt"
	"time"
)

// Note is an internal note in a conversation: shown in the thread, never sent. It lives
// in its own table, so no sending path can ever pick it up.
type Note struct {
	ID             int64     `json:"id"`
	ConversationID int64     `json:"conversation_id"`
	ThreadID       int64     `json:"thread_id"`
	AuthorID       int64     `json:"author_id"`
	Body           string    `json:"body"`
	CreatedAt      time.Time `json:"created_at"`
}

// AddNote stores a note.
func (t *Tx) AddNote(conversationID, threadID, authorID int64, body string, now time.Time) (Note, error) {
	id, err := t.insertID("add note", `INSERT INTO notes (conversation_id, thread_id, author_id, body, created_at)
		VALUES (?, ?, ?, ?, ?)`, conversationID, threadID, authorID, body, FormatTime(now))
	if err != nil {
		return Note{}, err
	}
	return Note{ID: id, ConversationID: conversationID, ThreadID: threadID, AuthorID: authorID, Body: body,
		CreatedAt: now.UTC().Truncate(time.Millisecond)}, nil
}

// Notes returns up to limit notes of a thread with an id below beforeID (0: newest),
// newest first.
func (db *DB) Notes(ctx context.Context, threadID, beforeID int64, limit int) ([]Note, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, conversation_id, thread_id, author_id, body, created_at FROM notes
		WHERE thread_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, threadID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: notes: %w", err)
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		var created string
		if err := rows.Scan(&n.ID, &n.ConversationID, &n.ThreadID, &n.AuthorID, &n.Body, &created); err != nil {
			return nil, fmt.Errorf("store: notes: %w", err)
		}
		if n.CreatedAt, err = ParseTime(created); err != nil {
			return nil, fmt.Errorf("store: notes: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: notes: %w", err)
	}
	return out, nil
}
