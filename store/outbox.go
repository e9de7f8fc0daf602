package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the outbound queue.
var (
	// ErrNotCancellable means a part of the message was already handed to a modem.
	ErrNotCancellable = errors.New("store: message can no longer be cancelled: a part was already submitted")
	// ErrReportEarly means a status report matched no sent part while a part on the same
	// modem is still being submitted: the report may be for it (fast networks answer
	// before the submission is recorded). The caller keeps the report and tries again.
	ErrReportEarly = errors.New("store: status report arrived before its submission was recorded; try again shortly")
	// ErrNothingToResend means the message has no part in the unknown state.
	ErrNothingToResend = errors.New("store: message has no part whose outcome is unknown")
)

// Part states.
const (
	PartQueued     = "queued"
	PartSubmitting = "submitting"
	PartSent       = "sent"
	PartDelivered  = "delivered"
	PartFailed     = "failed"
	PartExpired    = "expired"
	PartUnknown    = "unknown"
	PartCancelled  = "cancelled"
)

// Message is one row of messages, with its parts for outbound messages.
type Message struct {
	ID             int64     `json:"-"`
	UID            string    `json:"id"`
	Direction      string    `json:"direction"`
	Kind           string    `json:"kind"`
	Peer           string    `json:"peer"`
	Line           string    `json:"line"`
	Modem          string    `json:"modem"`
	ThreadID       int64     `json:"thread_id,omitempty"`
	Body           string    `json:"body"`
	Encoding       string    `json:"encoding"`
	Segments       int       `json:"segments"`
	Status         string    `json:"status"`
	Error          string    `json:"error,omitempty"`
	Priority       int       `json:"priority"`
	SendAt         time.Time `json:"send_at,omitzero"`
	ExpiresAt      time.Time `json:"expires_at,omitzero"`
	Report         bool      `json:"report"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	ExternalID     string    `json:"external_id,omitempty"`
	AuthorID       int64     `json:"author_id,omitempty"`
	SentTime       time.Time `json:"sent_time,omitzero"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Parts          []Part    `json:"parts,omitempty"`
}

// Part is one SMS part of an outbound message.
type Part struct {
	ID            int64     `json:"-"`
	Seq           int       `json:"seq"`
	Total         int       `json:"total"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	Modem         string    `json:"modem,omitempty"`
	MR            int       `json:"mr"` // -1 until sent
	SubmittedAt   time.Time `json:"submitted_at,omitzero"`
	ReportStatus  int       `json:"report_status"` // TP-ST, -1 without a report
	ReportedAt    time.Time `json:"reported_at,omitzero"`
	Error         string    `json:"error,omitempty"`
	ErrorClass    string    `json:"error_class,omitempty"`
}

// NewOutbound is an outbound message ready to commit: the caller has validated and
// encoded it.
type NewOutbound struct {
	Kind string
	Peer string
	Line string
	// Modem pins the message to one modem by name ('' lets any modem of the line send).
	Modem          string
	Body           string
	Encoding       string
	Priority       int
	SendAt         time.Time
	ExpiresAt      time.Time
	Report         bool
	IdempotencyKey string
	ExternalID     string
	AuthorID       int64
	ThreadID       int64
	Parts          []NewPart
}

// NewPart is one encoded part.
type NewPart struct {
	PDU     []byte
	TPDULen int
}

// newUID returns a random public id: 16 lower-case base32 characters (80 bits).
func newUID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic("store: crypto/rand failed: " + err.Error())
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// ReserveConcatRefs reserves n consecutive concatenation references and returns the
// first (a counter that wraps at 65536; callers using 8-bit references take it mod 256).
func (db *DB) ReserveConcatRefs(ctx context.Context, n int) (int, error) {
	var first int
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO concat_refs (modem, next) VALUES ('*', ?)
			ON CONFLICT (modem) DO UPDATE SET next = (next + ?) % 65536
			RETURNING (next - ? + 65536) % 65536`, n%65536, n, n).Scan(&first)
		if err != nil {
			return fmt.Errorf("store: reserve concatenation references: %w", err)
		}
		return nil
	})
	return first, err
}

// Enqueue commits outbound messages and their parts in one transaction (synchronous=FULL:
// when it returns, they survive a crash). A message whose idempotency key is already
// known is not inserted again: the first message is returned in its place, with
// dup[i] = true.
func (db *DB) Enqueue(ctx context.Context, msgs []NewOutbound) (out []Message, dup []bool, err error) {
	out = make([]Message, len(msgs))
	dup = make([]bool, len(msgs))
	ids := make([]int64, len(msgs))
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		for i, m := range msgs {
			if len(m.Parts) == 0 {
				return fmt.Errorf("store: enqueue: message %d has no parts", i)
			}
			if m.IdempotencyKey != "" {
				var id int64
				err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE idempotency_key = ?`, m.IdempotencyKey).Scan(&id)
				if err == nil {
					ids[i], dup[i] = id, true
					continue
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("store: enqueue: look up idempotency key: %w", err)
				}
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO messages (uid, direction, kind, peer, line, modem, thread_id, body,
				encoding, segments, status, priority, send_at, expires_at, report, idempotency_key, external_id, author_id)
				VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
				newUID(), m.Kind, m.Peer, m.Line, m.Modem, nullInt(m.ThreadID), m.Body, m.Encoding, len(m.Parts), m.Priority,
				nullTime(m.SendAt), nullTime(m.ExpiresAt), boolInt(m.Report), nullString(m.IdempotencyKey),
				m.ExternalID, nullInt(m.AuthorID))
			if err != nil {
				return fmt.Errorf("store: enqueue: insert message: %w", err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return fmt.Errorf("store: enqueue: %w", err)
			}
			ids[i] = id
			for seq, p := range m.Parts {
				if _, err := tx.ExecContext(ctx, `INSERT INTO parts (message_id, seq, total, pdu, tpdu_len) VALUES (?, ?, ?, ?, ?)`,
					id, seq+1, len(m.Parts), p.PDU, p.TPDULen); err != nil {
					return fmt.Errorf("store: enqueue: insert part: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i, id := range ids {
		m, err := db.messageByID(ctx, db.w, id)
		if err != nil {
			return nil, nil, err
		}
		out[i] = m
	}
	return out, dup, nil
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// querier is what both pools and a transaction offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const messageCols = `id, uid, direction, kind, peer, line, modem, COALESCE(thread_id, 0), body, encoding, segments,
	status, error, priority, send_at, expires_at, report, COALESCE(idempotency_key, ''), external_id,
	COALESCE(author_id, 0), sent_time, created_at, updated_at`

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var sendAt, expiresAt, sentTime sql.NullString
	var created, updated string
	var report int
	err := row.Scan(&m.ID, &m.UID, &m.Direction, &m.Kind, &m.Peer, &m.Line, &m.Modem, &m.ThreadID, &m.Body,
		&m.Encoding, &m.Segments, &m.Status, &m.Error, &m.Priority, &sendAt, &expiresAt, &report,
		&m.IdempotencyKey, &m.ExternalID, &m.AuthorID, &sentTime, &created, &updated)
	if err != nil {
		return m, err
	}
	m.Report = report == 1
	var errs [5]error
	m.SendAt, errs[0] = scanTime(sendAt)
	m.ExpiresAt, errs[1] = scanTime(expiresAt)
	m.SentTime, errs[2] = scanTime(sentTime)
	m.CreatedAt, errs[3] = ParseTime(created)
	m.UpdatedAt, errs[4] = ParseTime(updated)
	return m, errors.Join(errs[:]...)
}

func (db *DB) messageByID(ctx context.Context, q querier, id int64) (Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: message %d: %w", id, err)
	}
	if m.Direction == "out" {
		if m.Parts, err = db.parts(ctx, q, id); err != nil {
			return m, err
		}
	}
	return m, nil
}

// MessageByUID returns a message with its parts, or ErrNotFound.
func (db *DB) MessageByUID(ctx context.Context, uid string) (Message, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT id FROM messages WHERE uid = ?`, uid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("store: message %s: %w", uid, err)
	}
	return db.messageByID(ctx, db.r, id)
}

func (db *DB) parts(ctx context.Context, q querier, messageID int64) ([]Part, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, seq, total, state, attempts, next_attempt_at, modem,
		COALESCE(mr, -1), submitted_at, COALESCE(report_status, -1), reported_at, error, error_class
		FROM parts WHERE message_id = ? ORDER BY seq`, messageID)
	if err != nil {
		return nil, fmt.Errorf("store: parts of %d: %w", messageID, err)
	}
	defer rows.Close()
	var out []Part
	for rows.Next() {
		var p Part
		var next, sub, rep sql.NullString
		if err := rows.Scan(&p.ID, &p.Seq, &p.Total, &p.State, &p.Attempts, &next, &p.Modem, &p.MR, &sub,
			&p.ReportStatus, &rep, &p.Error, &p.ErrorClass); err != nil {
			return nil, fmt.Errorf("store: scan part: %w", err)
		}
		var errs [3]error
		p.NextAttemptAt, errs[0] = scanTime(next)
		p.SubmittedAt, errs[1] = scanTime(sub)
		p.ReportedAt, errs[2] = scanTime(rep)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ClaimFilter says which parts a modem may take.
type ClaimFilter struct {
	Modem string
	// Lines the modem serves. A message for a named line is taken only by its modems; a
	// message for no line ('') by any modem.
	Lines []string
	Now   time.Time
	// HoldAutomated holds back automated messages (quiet hours); agent replies go.
	HoldAutomated bool
}

// Job is a claimed part, already committed as submitting.
type Job struct {
	PartID     int64
	MessageID  int64
	MessageUID string
	Seq, Total int
	PDU        []byte
	TPDULen    int
	Peer       string
	Attempts   int
}

// ClaimPart takes the most urgent due part for a modem and commits it as submitting
// before it returns, so a crash during AT+CMGS leaves a trace (RecoverSubmitting turns it
// into unknown). Parts of one message go in order through one modem, so the recipient's
// phone can join them. It returns nil when nothing is due.
func (db *DB) ClaimPart(ctx context.Context, f ClaimFilter) (*Job, error) {
	var job *Job
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		lines := append([]string{""}, f.Lines...)
		ph := strings.TrimSuffix(strings.Repeat("?,", len(lines)), ",")
		args := []any{FormatTime(f.Now), FormatTime(f.Now), f.Modem}
		for _, l := range lines {
			args = append(args, l)
		}
		hold := ""
		if f.HoldAutomated {
			hold = `AND m.kind <> 'automated'`
		}
		var j Job
		err := tx.QueryRowContext(ctx, `SELECT p.id, p.message_id, m.uid, p.seq, p.total, p.pdu, p.tpdu_len, m.peer, p.attempts
			FROM parts p JOIN messages m ON m.id = p.message_id
			WHERE p.state = 'queued'
			  AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= ?)
			  AND (m.send_at IS NULL OR m.send_at <= ?)
			  AND (m.modem = '' OR m.modem = ?)
			  AND m.line IN (`+ph+`) `+hold+`
			  AND NOT EXISTS (SELECT 1 FROM parts q WHERE q.message_id = p.message_id AND q.seq < p.seq
			                  AND q.state IN ('queued', 'submitting'))
			ORDER BY m.priority DESC, m.id, p.seq LIMIT 1`, args...).Scan(
			&j.PartID, &j.MessageID, &j.MessageUID, &j.Seq, &j.Total, &j.PDU, &j.TPDULen, &j.Peer, &j.Attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: claim: %w", err)
		}
		now := FormatTime(f.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE parts SET state = 'submitting', modem = ?, attempts = attempts + 1,
			submitted_at = ?, updated_at = ? WHERE id = ?`, f.Modem, now, now, j.PartID); err != nil {
			return fmt.Errorf("store: claim: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET modem = ?, status = 'sending', updated_at = ?
			WHERE id = ? AND modem = ''`, f.Modem, now, j.MessageID); err != nil {
			return fmt.Errorf("store: claim: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'sending', updated_at = ? WHERE id = ? AND status = 'queued'`,
			now, j.MessageID); err != nil {
			return fmt.Errorf("store: claim: %w", err)
		}
		j.Attempts++
		job = &j
		return nil
	})
	return job, err
}

// PartSent records the message reference the modem returned.
func (db *DB) PartSent(ctx context.Context, partID int64, mr int, now time.Time) error {
	return db.partUpdate(ctx, partID, `state = 'sent', mr = ?, error = '', error_class = ''`, mr, now)
}

// PartRetry puts a part back in the queue for another attempt at retryAt. countAttempt
// false undoes the claim's attempt count (nothing reached the modem).
func (db *DB) PartRetry(ctx context.Context, partID int64, retryAt time.Time, reason, class string, countAttempt bool, now time.Time) error {
	adj := ""
	if !countAttempt {
		adj = ", attempts = MAX(attempts - 1, 0)"
	}
	return db.partUpdate(ctx, partID, `state = 'queued', next_attempt_at = ?, error = ?, error_class = ?`+adj,
		FormatTime(retryAt), reason, class, now)
}

// PartFailed fails a part for good. The message cannot arrive whole any more, so its
// parts still waiting are failed with it.
func (db *DB) PartFailed(ctx context.Context, partID int64, reason, class string, now time.Time) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		ts := FormatTime(now)
		var msgID int64
		if err := tx.QueryRowContext(ctx, `UPDATE parts SET state = 'failed', error = ?, error_class = ?, updated_at = ?
			WHERE id = ? RETURNING message_id`, reason, class, ts, partID).Scan(&msgID); err != nil {
			return fmt.Errorf("store: fail part %d: %w", partID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE parts SET state = 'failed', error = ?, error_class = 'permanent', updated_at = ?
			WHERE message_id = ? AND state = 'queued'`, fmt.Sprintf("not sent: an earlier part failed (%s)", reason), ts, msgID); err != nil {
			return fmt.Errorf("store: fail remaining parts: %w", err)
		}
		return rollup(ctx, tx, msgID, ts)
	})
}

// PartUnknown records that a part may or may not have been sent.
func (db *DB) PartUnknown(ctx context.Context, partID int64, reason string, now time.Time) error {
	return db.partUpdate(ctx, partID, `state = 'unknown', error = ?, error_class = 'unknown'`, reason, now)
}

func (db *DB) partUpdate(ctx context.Context, partID int64, set string, args ...any) error {
	now := args[len(args)-1].(time.Time)
	ts := FormatTime(now)
	args = append(args[:len(args)-1], ts, partID)
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var msgID int64
		err := tx.QueryRowContext(ctx, `UPDATE parts SET `+set+`, updated_at = ? WHERE id = ? RETURNING message_id`, args...).Scan(&msgID)
		if err != nil {
			return fmt.Errorf("store: update part %d: %w", partID, err)
		}
		return rollup(ctx, tx, msgID, ts)
	})
}

// rollup derives a message's status from its parts: failed or expired if any part is,
// cancelled if all are, delivered when every part is, unknown if a part's outcome is
// unknown and the rest went out, sent when all went out, sending while some are under
// way or done, queued otherwise.
func rollup(ctx context.Context, tx *sql.Tx, msgID int64, ts string) error {
	rows, err := tx.QueryContext(ctx, `SELECT state, error FROM parts WHERE message_id = ? ORDER BY seq`, msgID)
	if err != nil {
		return fmt.Errorf("store: rollup: %w", err)
	}
	counts := map[string]int{}
	var states, errs []string
	for rows.Next() {
		var st, e string
		if err := rows.Scan(&st, &e); err != nil {
			rows.Close()
			return fmt.Errorf("store: rollup: %w", err)
		}
		counts[st]++
		states, errs = append(states, st), append(errs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: rollup: %w", err)
	}
	total := len(states)
	firstErr := ""
	for i, st := range states {
		if errs[i] != "" && (st == PartFailed || st == PartExpired || st == PartUnknown) {
			firstErr = fmt.Sprintf("part %d/%d: %s", i+1, total, errs[i])
			break
		}
	}
	var status string
	switch {
	case counts[PartFailed] > 0:
		status = "failed"
	case counts[PartExpired] > 0:
		status = "expired"
	case counts[PartCancelled] == total:
		status = "cancelled"
	case counts[PartDelivered] == total:
		status = "delivered"
	case counts[PartQueued]+counts[PartSubmitting] > 0:
		if counts[PartQueued] == total {
			status = "queued"
		} else {
			status = "sending"
		}
	case counts[PartUnknown] > 0:
		status = "unknown"
	default:
		status = "sent"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE id = ?`,
		status, firstErr, ts, msgID); err != nil {
		return fmt.Errorf("store: rollup: %w", err)
	}
	return nil
}

// RecoverSubmitting turns every part left submitting by a previous process into
// unknown: it may or may not have reached the network, and it is never resent blindly.
func (db *DB) RecoverSubmitting(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		ts := FormatTime(now)
		rows, err := tx.QueryContext(ctx, `UPDATE parts SET state = 'unknown', error_class = 'unknown',
			error = 'the gateway stopped while this part was being submitted', updated_at = ?
			WHERE state = 'submitting' RETURNING message_id`, ts)
		if err != nil {
			return fmt.Errorf("store: recover submitting: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: recover submitting: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: recover submitting: %w", err)
		}
		n = len(ids)
		for _, id := range ids {
			if err := rollup(ctx, tx, id, ts); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// ExpireDue expires the queued parts of messages whose validity ended before now.
func (db *DB) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		ts := FormatTime(now)
		rows, err := tx.QueryContext(ctx, `UPDATE parts SET state = 'expired', error = 'validity period ended before it was sent',
			error_class = 'permanent', updated_at = ?
			WHERE state = 'queued' AND message_id IN (SELECT id FROM messages WHERE direction = 'out'
			  AND status IN ('queued', 'sending', 'unknown') AND expires_at IS NOT NULL AND expires_at <= ?)
			RETURNING message_id`, ts, ts)
		if err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		seen := map[int64]bool{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: expire: %w", err)
			}
			seen[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		n = len(seen)
		for id := range seen {
			if err := rollup(ctx, tx, id, ts); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// CancelMessage cancels a message none of whose parts has been submitted.
func (db *DB) CancelMessage(ctx context.Context, uid string, now time.Time) (Message, error) {
	var id int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE uid = ? AND direction = 'out'`, uid).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("store: cancel: %w", err)
		}
		var busy int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM parts WHERE message_id = ? AND state NOT IN ('queued', 'cancelled')`,
			id).Scan(&busy); err != nil {
			return fmt.Errorf("store: cancel: %w", err)
		}
		if busy > 0 {
			return ErrNotCancellable
		}
		ts := FormatTime(now)
		if _, err := tx.ExecContext(ctx, `UPDATE parts SET state = 'cancelled', updated_at = ? WHERE message_id = ?`, ts, id); err != nil {
			return fmt.Errorf("store: cancel: %w", err)
		}
		return rollup(ctx, tx, id, ts)
	})
	if err != nil {
		return Message{}, err
	}
	return db.messageByID(ctx, db.w, id)
}

// ResendUnknown queues the unknown parts of a message again: an operator's decision
// that a possible duplicate is better than a possibly missing message.
func (db *DB) ResendUnknown(ctx context.Context, uid string, now time.Time) (Message, error) {
	var id int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE uid = ? AND direction = 'out'`, uid).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("store: resend: %w", err)
		}
		ts := FormatTime(now)
		res, err := tx.ExecContext(ctx, `UPDATE parts SET state = 'queued', next_attempt_at = NULL, mr = NULL,
			error = 'resent by an operator after an unknown outcome', error_class = '', updated_at = ?
			WHERE message_id = ? AND state = 'unknown'`, ts, id)
		if err != nil {
			return fmt.Errorf("store: resend: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNothingToResend
		}
		return rollup(ctx, tx, id, ts)
	})
	if err != nil {
		return Message{}, err
	}
	return db.messageByID(ctx, db.w, id)
}

// ReportMatch is a status report to match against sent parts.
type ReportMatch struct {
	Modem     string
	MR        int
	Recipient string
	Discharge time.Time
	Status    int
	// Class is "delivered", "pending" or "failed" (from sms.StatusMeaning).
	Class   string
	Meaning string
	// Window bounds how old a submission may be to match (default 7 days).
	Window time.Duration
	Now    time.Time
}

// ApplyStatusReport matches a status report to the newest part sent through the same
// modem with the same message reference within the window whose recipient matches, and
// records it. A pending report only notes the status. It returns the uid of the message
// it matched, "" when no part matches, and ErrReportEarly when one may still be about to.
func (db *DB) ApplyStatusReport(ctx context.Context, r ReportMatch) (string, error) {
	if r.Window <= 0 {
		r.Window = 7 * 24 * time.Hour
	}
	matched := ""
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT p.id, p.message_id, m.peer FROM parts p JOIN messages m ON m.id = p.message_id
			WHERE p.modem = ? AND p.mr = ? AND p.state IN ('sent', 'delivered', 'unknown') AND p.submitted_at >= ?
			ORDER BY p.submitted_at DESC, p.id DESC`, r.Modem, r.MR, FormatTime(r.Now.Add(-r.Window)))
		if err != nil {
			return fmt.Errorf("store: match status report: %w", err)
		}
		var partID, msgID int64
		for rows.Next() {
			var pid, mid int64
			var peer string
			if err := rows.Scan(&pid, &mid, &peer); err != nil {
				rows.Close()
				return fmt.Errorf("store: match status report: %w", err)
			}
			if sameNumber(peer, r.Recipient) {
				partID, msgID = pid, mid
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: match status report: %w", err)
		}
		if partID == 0 {
			var busy int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM parts WHERE modem = ? AND state = 'submitting'`,
				r.Modem).Scan(&busy); err != nil {
				return fmt.Errorf("store: match status report: %w", err)
			}
			if busy > 0 {
				return ErrReportEarly
			}
			return nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT uid FROM messages WHERE id = ?`, msgID).Scan(&matched); err != nil {
			return fmt.Errorf("store: apply status report: %w", err)
		}
		ts := FormatTime(r.Now)
		var set string
		args := []any{r.Status, nullTime(r.Discharge)}
		switch r.Class {
		case "delivered":
			set = `state = 'delivered', error = '', error_class = ''`
		case "failed":
			set = `state = 'failed', error = ?, error_class = 'permanent'`
			args = append([]any{fmt.Sprintf("delivery report: SC status 0x%02X (%s)", r.Status, r.Meaning)}, args...)
		default:
			set = `error = ?`
			args = append([]any{fmt.Sprintf("delivery pending: SC status 0x%02X (%s)", r.Status, r.Meaning)}, args...)
		}
		args = append(args, ts, partID)
		if _, err := tx.ExecContext(ctx, `UPDATE parts SET `+set+`, report_status = ?, reported_at = COALESCE(?, reported_at),
			updated_at = ? WHERE id = ?`, args...); err != nil {
			return fmt.Errorf("store: apply status report: %w", err)
		}
		return rollup(ctx, tx, msgID, ts)
	})
	return matched, err
}

// sameNumber compares two phone numbers written in different forms (+4917…, 017…,
// 004917…) by their last nine digits, which is how recipients in status reports are
// matched by peers too; alphanumeric ids compare exactly.
func sameNumber(a, b string) bool {
	da, db := digits(a), digits(b)
	if len(da) < 6 || len(db) < 6 {
		return strings.EqualFold(a, b)
	}
	n := min(9, len(da), len(db))
	return da[len(da)-n:] == db[len(db)-n:]
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// SubmittedSince counts parts a modem submitted since t (for monthly quotas).
func (db *DB) SubmittedSince(ctx context.Context, modem string, t time.Time) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM parts WHERE modem = ? AND submitted_at >= ?`,
		modem, FormatTime(t)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count submissions: %w", err)
	}
	return n, nil
}

// QueueStats summarises the outbound queue.
type QueueStats struct {
	Parts map[string]int `json:"parts"` // by state
	// OldestQueued is when the oldest part still queued was created (zero if none).
	OldestQueued time.Time `json:"oldest_queued,omitzero"`
}

// QueueStats counts parts by state and finds the oldest queued one.
func (db *DB) QueueStats(ctx context.Context) (QueueStats, error) {
	st := QueueStats{Parts: map[string]int{}}
	rows, err := db.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM parts GROUP BY state`)
	if err != nil {
		return st, fmt.Errorf("store: queue stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return st, fmt.Errorf("store: queue stats: %w", err)
		}
		st.Parts[s] = n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("store: queue stats: %w", err)
	}
	var oldest sql.NullString
	if err := db.r.QueryRowContext(ctx, `SELECT MIN(m.created_at) FROM parts p JOIN messages m ON m.id = p.message_id
		WHERE p.state = 'queued'`).Scan(&oldest); err != nil {
		return st, fmt.Errorf("store: queue stats: %w", err)
	}
	st.OldestQueued, err = scanTime(oldest)
	return st, err
}
