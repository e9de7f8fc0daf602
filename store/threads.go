package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Thread is one contact on one line: the permanent message history.
type Thread struct {
	ID             int64     `json:"id"`
	ContactID      int64     `json:"contact_id"`
	Line           string    `json:"line"`
	Peer           string    `json:"peer"` // the number the contact last used on this line
	JobRef         string    `json:"job_ref,omitempty"`
	JobOwnerID     int64     `json:"job_owner_id,omitempty"`
	LastMessageID  int64     `json:"last_message_id,omitempty"`
	LastActivityAt time.Time `json:"last_activity_at"`
	CreatedAt      time.Time `json:"created_at"`
}

const threadCols = `id, contact_id, line, peer, job_ref, COALESCE(job_owner_id, 0), COALESCE(last_message_id, 0),
	last_activity_at, created_at`

func scanThread(row interface{ Scan(...any) error }) (Thread, error) {
	var th Thread
	var last, created string
	if err := row.Scan(&th.ID, &th.ContactID, &th.Line, &th.Peer, &th.JobRef, &th.JobOwnerID, &th.LastMessageID,
		&last, &created); err != nil {
		return th, err
	}
	var err error
	if th.LastActivityAt, err = ParseTime(last); err != nil {
		return th, err
	}
	th.CreatedAt, err = ParseTime(created)
	return th, err
}

func queryThreads(ctx context.Context, q inboxQuerier, query string, args ...any) ([]Thread, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list threads: %w", err)
	}
	defer rows.Close()
	var out []Thread
	for rows.Next() {
		th, err := scanThread(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list threads: %w", err)
		}
		out = append(out, th)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list threads: %w", err)
	}
	return out, nil
}

func threadByID(ctx context.Context, q inboxQuerier, id int64) (Thread, error) {
	th, err := scanThread(q.QueryRowContext(ctx, `SELECT `+threadCols+` FROM threads WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return th, ErrNotFound
	}
	if err != nil {
		return th, fmt.Errorf("store: thread %d: %w", id, err)
	}
	return th, nil
}

// Thread returns a thread by id.
func (db *DB) Thread(ctx context.Context, id int64) (Thread, error) { return threadByID(ctx, db.r, id) }

// Thread returns a thread by id inside the transaction.
func (t *Tx) Thread(id int64) (Thread, error) { return threadByID(t.ctx, t.tx, id) }

// ThreadsOfContact lists a contact's threads.
func (db *DB) ThreadsOfContact(ctx context.Context, contactID int64) ([]Thread, error) {
	return queryThreads(ctx, db.r, `SELECT `+threadCols+` FROM threads WHERE contact_id = ? ORDER BY id`, contactID)
}

// ThreadIDsOfContact lists the ids of a contact's threads inside the transaction.
func (t *Tx) ThreadIDsOfContact(contactID int64) ([]int64, error) {
	return queryIDs(t.ctx, t.tx, "threads of contact", `SELECT id FROM threads WHERE contact_id = ? ORDER BY id`, contactID)
}

// EnsureThread returns the thread of contactID on line, creating it (created true) when
// there is none. peer becomes the thread's reply number.
func (t *Tx) EnsureThread(contactID int64, line, peer string, now time.Time) (th Thread, created bool, err error) {
	th, err = scanThread(t.tx.QueryRowContext(t.ctx, `SELECT `+threadCols+` FROM threads WHERE contact_id = ? AND line = ?`,
		contactID, line))
	if err == nil {
		return th, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return th, false, fmt.Errorf("store: find thread: %w", err)
	}
	ts := FormatTime(now)
	id, err := t.insertID("create thread", `INSERT INTO threads (contact_id, line, peer, last_activity_at, created_at)
		VALUES (?, ?, ?, ?, ?)`, contactID, line, peer, ts, ts)
	if err != nil {
		return th, false, err
	}
	th, err = t.Thread(id)
	return th, true, err
}

// TouchThread records a new message in a thread: its id, the time and (for inbound
// messages, peer non-empty) the number to reply to.
func (t *Tx) TouchThread(id, messageID int64, peer string, now time.Time) error {
	_, err := t.exec(`UPDATE threads SET last_message_id = MAX(COALESCE(last_message_id, 0), ?),
		peer = COALESCE(NULLIF(?, ''), peer), last_activity_at = MAX(last_activity_at, ?) WHERE id = ?`,
		messageID, peer, FormatTime(now), id)
	if err != nil {
		return fmt.Errorf("store: touch thread: %w", err)
	}
	return nil
}

// SetThreadJob remembers the job of the last business alert sent in the thread (T19);
// the next customer reply starts or joins an episode for that job.
func (t *Tx) SetThreadJob(id int64, jobRef string, ownerID int64) error {
	_, err := t.exec(`UPDATE threads SET job_ref = ?, job_owner_id = ? WHERE id = ?`, jobRef, nullID(ownerID), id)
	if err != nil {
		return fmt.Errorf("store: set thread job: %w", err)
	}
	return nil
}

// ThreadMessage is one message in a thread, as the conversation view shows it.
type ThreadMessage struct {
	ID        int64     `json:"id"`
	UID       string    `json:"uid"`
	Direction string    `json:"direction"` // in, out
	Kind      string    `json:"kind"`      // customer, agent, automated, relay, api
	Peer      string    `json:"peer"`
	Line      string    `json:"line"`
	Body      string    `json:"body"` // untrusted text
	Encoding  string    `json:"encoding"`
	Segments  int       `json:"segments"`
	Status    string    `json:"status"`
	AuthorID  int64     `json:"author_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ThreadMessages returns up to limit messages of a thread with an id below beforeID (0
// for the newest), newest first: a keyset page for infinite scroll.
func (db *DB) ThreadMessages(ctx context.Context, threadID, beforeID int64, limit int) ([]ThreadMessage, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, uid, direction, kind, peer, line, body, encoding, segments, status,
		COALESCE(author_id, 0), created_at FROM messages WHERE thread_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
		threadID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: thread messages: %w", err)
	}
	defer rows.Close()
	var out []ThreadMessage
	for rows.Next() {
		var m ThreadMessage
		var created string
		if err := rows.Scan(&m.ID, &m.UID, &m.Direction, &m.Kind, &m.Peer, &m.Line, &m.Body, &m.Encoding, &m.Segments,
			&m.Status, &m.AuthorID, &created); err != nil {
			return nil, fmt.Errorf("store: thread messages: %w", err)
		}
		if m.CreatedAt, err = ParseTime(created); err != nil {
			return nil, fmt.Errorf("store: thread messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: thread messages: %w", err)
	}
	return out, nil
}

// ThreadMessage returns one message by id.
func (db *DB) ThreadMessage(ctx context.Context, id int64) (ThreadMessage, error) {
	var m ThreadMessage
	var created string
	err := db.r.QueryRowContext(ctx, `SELECT id, uid, direction, kind, peer, line, body, encoding, segments, status,
		COALESCE(author_id, 0), created_at FROM messages WHERE id = ?`, id).Scan(&m.ID, &m.UID, &m.Direction, &m.Kind,
		&m.Peer, &m.Line, &m.Body, &m.Encoding, &m.Segments, &m.Status, &m.AuthorID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: message %d: %w", id, err)
	}
	m.CreatedAt, err = ParseTime(created)
	return m, err
}

// OutboundRecord is an outbound message row written directly (without parts): used by
// test outboxes and by callers that record a message sent elsewhere.
type OutboundRecord struct {
	Kind           string // agent, automated, relay, api
	Peer           string
	Line           string
	ThreadID       int64
	Body           string
	AuthorID       int64
	IdempotencyKey string
	Status         string // default queued
	At             time.Time
}

// RecordOutbound inserts an outbound message row in a thread and returns its id. A
// repeated idempotency key returns the first row's id.
func (db *DB) RecordOutbound(ctx context.Context, m OutboundRecord) (int64, error) {
	if m.Status == "" {
		m.Status = "queued"
	}
	if m.At.IsZero() {
		m.At = time.Now()
	}
	var id int64
	err := db.Update(ctx, func(t *Tx) error {
		if m.IdempotencyKey != "" {
			err := t.tx.QueryRowContext(t.ctx, `SELECT id FROM messages WHERE idempotency_key = ?`, m.IdempotencyKey).Scan(&id)
			if err == nil {
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: record outbound: %w", err)
			}
		}
		ts := FormatTime(m.At)
		var err error
		id, err = t.insertID("record outbound", `INSERT INTO messages (uid, direction, kind, peer, line, thread_id, body,
			encoding, segments, status, idempotency_key, author_id, created_at, updated_at)
			VALUES (?, 'out', ?, ?, ?, ?, ?, 'gsm7', 1, ?, ?, ?, ?, ?)`,
			randomUID(), m.Kind, m.Peer, m.Line, nullID(m.ThreadID), m.Body, m.Status,
			sql.NullString{String: m.IdempotencyKey, Valid: m.IdempotencyKey != ""}, nullID(m.AuthorID), ts, ts)
		if err != nil {
			return err
		}
		if m.ThreadID != 0 {
			return t.TouchThread(m.ThreadID, id, "", m.At)
		}
		return nil
	})
	return id, err
}
