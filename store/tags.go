package store

import (
	"context"
	"fmt"
	"strings"
)

// EnsureTag returns the id of the tag with name (case-insensitive), creating it.
func (t *Tx) EnsureTag(name string) (int64, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return 0, fmt.Errorf("store: empty tag name")
	}
	if _, err := t.exec(`INSERT OR IGNORE INTO tags (name) VALUES (?)`, name); err != nil {
		return 0, fmt.Errorf("store: ensure tag: %w", err)
	}
	var id int64
	if err := t.tx.QueryRowContext(t.ctx, `SELECT id FROM tags WHERE name = ?`, name).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: ensure tag: %w", err)
	}
	return id, nil
}

// TagID returns the id of a tag by name, or ErrNotFound.
func (db *DB) TagID(ctx context.Context, name string) (int64, error) {
	ids, err := queryIDs(ctx, db.r, "tag", `SELECT id FROM tags WHERE name = ?`, strings.TrimSpace(name))
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, ErrNotFound
	}
	return ids[0], nil
}

// TagConversation adds a tag; it reports whether the tag was new on the conversation.
func (t *Tx) TagConversation(conversationID int64, name string) (bool, error) {
	id, err := t.EnsureTag(name)
	if err != nil {
		return false, err
	}
	return t.cas("tag conversation", `INSERT OR IGNORE INTO conversation_tags (conversation_id, tag_id) VALUES (?, ?)`,
		conversationID, id)
}

// UntagConversation removes a tag; it reports whether the conversation had it.
func (t *Tx) UntagConversation(conversationID int64, name string) (bool, error) {
	return t.cas("untag conversation", `DELETE FROM conversation_tags WHERE conversation_id = ?
		AND tag_id = (SELECT id FROM tags WHERE name = ?)`, conversationID, strings.TrimSpace(name))
}

// ConversationTags lists a conversation's tag names, alphabetically.
func (db *DB) ConversationTags(ctx context.Context, conversationID int64) ([]string, error) {
	return queryStrings(ctx, db.r, "conversation tags", `SELECT t.name FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id
		WHERE ct.conversation_id = ? ORDER BY t.name COLLATE NOCASE`, conversationID)
}

// ConversationTags lists a conversation's tag names inside the transaction.
func (t *Tx) ConversationTags(conversationID int64) ([]string, error) {
	return queryStrings(t.ctx, t.tx, "conversation tags", `SELECT t.name FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id
		WHERE ct.conversation_id = ? ORDER BY t.name COLLATE NOCASE`, conversationID)
}

// Tags lists every tag name.
func (db *DB) Tags(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, db.r, "tags", `SELECT name FROM tags ORDER BY name COLLATE NOCASE`)
}

func queryStrings(ctx context.Context, q inboxQuerier, what, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}
