package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Alert reasons: one alert per (recipient, conversation, reason).
const (
	AlertQueue      = "queue"      // unowned work in the recipient's queue
	AlertOwner      = "owner"      // activity in a conversation the recipient owns or follows
	AlertAssigned   = "assigned"   // the conversation was assigned to the recipient
	AlertUnassigned = "unassigned" // the conversation was taken from the recipient
	AlertMention    = "mention"    // the recipient was @mentioned in a note
)

// Alert states.
const (
	AlertActive     = "active"
	AlertRead       = "read"
	AlertSuperseded = "superseded"
	AlertExpired    = "expired"
)

// Alert is one in-app notification.
type Alert struct {
	ID             int64     `json:"id"`
	UserID         int64     `json:"user_id"`
	ConversationID int64     `json:"conversation_id"`
	Reason         string    `json:"reason"`
	Channel        string    `json:"channel"`
	State          string    `json:"state"`
	Note           string    `json:"note,omitempty"`
	MessageID      int64     `json:"message_id,omitempty"`
	Count          int       `json:"count"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

const alertCols = `id, user_id, conversation_id, reason, channel, state, note, COALESCE(message_id, 0), count,
	created_at, updated_at, expires_at`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var c, u, e string
	if err := row.Scan(&a.ID, &a.UserID, &a.ConversationID, &a.Reason, &a.Channel, &a.State, &a.Note, &a.MessageID,
		&a.Count, &c, &u, &e); err != nil {
		return a, err
	}
	var err error
	if a.CreatedAt, err = ParseTime(c); err != nil {
		return a, err
	}
	if a.UpdatedAt, err = ParseTime(u); err != nil {
		return a, err
	}
	a.ExpiresAt, err = ParseTime(e)
	return a, err
}

func queryAlerts(ctx context.Context, q inboxQuerier, what, query string, args ...any) ([]Alert, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// RaiseAlert alerts userID about a conversation for reason. An active alert with the
// same key is updated (count + 1, latest message and note) and created is false; a
// missing or no longer active one is (re)started, living ttl from now.
func (t *Tx) RaiseAlert(userID, conversationID int64, reason, note string, messageID int64, ttl time.Duration, now time.Time) (a Alert, created bool, err error) {
	ts := FormatTime(now)
	old, err := scanAlert(t.tx.QueryRowContext(t.ctx, `SELECT `+alertCols+` FROM alerts
		WHERE user_id = ? AND conversation_id = ? AND reason = ?`, userID, conversationID, reason))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id, err := t.insertID("raise alert", `INSERT INTO alerts (user_id, conversation_id, reason, note, message_id,
			created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			userID, conversationID, reason, note, nullID(messageID), ts, ts, FormatTime(now.Add(ttl)))
		if err != nil {
			return a, false, err
		}
		a, err = t.alert(id)
		return a, true, err
	case err != nil:
		return a, false, fmt.Errorf("store: raise alert: %w", err)
	case old.State == AlertActive:
		_, err = t.exec(`UPDATE alerts SET count = count + 1, note = ?, message_id = COALESCE(?, message_id), updated_at = ?
			WHERE id = ?`, note, nullID(messageID), ts, old.ID)
		if err != nil {
			return a, false, fmt.Errorf("store: update alert: %w", err)
		}
		a, err = t.alert(old.ID)
		return a, false, err
	default:
		_, err = t.exec(`UPDATE alerts SET state = 'active', count = 1, note = ?, message_id = ?, created_at = ?,
			updated_at = ?, expires_at = ? WHERE id = ?`, note, nullID(messageID), ts, ts, FormatTime(now.Add(ttl)), old.ID)
		if err != nil {
			return a, false, fmt.Errorf("store: restart alert: %w", err)
		}
		a, err = t.alert(old.ID)
		return a, true, err
	}
}

func (t *Tx) alert(id int64) (Alert, error) {
	a, err := scanAlert(t.tx.QueryRowContext(t.ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return a, fmt.Errorf("store: alert %d: %w", id, err)
	}
	return a, nil
}

// SupersedeAlerts ends the active alerts of a conversation with one of reasons (all
// reasons when empty), except those of keepUser (0 = none), noting why ("accepted by
// Ana"). It returns the alerts it changed.
func (t *Tx) SupersedeAlerts(conversationID int64, reasons []string, keepUser int64, note string, now time.Time) ([]Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE conversation_id = ? AND state = 'active' AND user_id <> ?`
	args := []any{conversationID, keepUser}
	if len(reasons) > 0 {
		q += ` AND reason IN (` + inPlaceholders(len(reasons)) + `)`
		for _, r := range reasons {
			args = append(args, r)
		}
	}
	list, err := queryAlerts(t.ctx, t.tx, "supersede alerts", q, args...)
	if err != nil {
		return nil, err
	}
	ts := FormatTime(now)
	for i := range list {
		if _, err := t.exec(`UPDATE alerts SET state = 'superseded', note = ?, updated_at = ? WHERE id = ?`,
			note, ts, list[i].ID); err != nil {
			return nil, fmt.Errorf("store: supersede alert: %w", err)
		}
		list[i].State, list[i].Note, list[i].UpdatedAt = AlertSuperseded, note, now
	}
	return list, nil
}

// ExpireAlerts ends active alerts whose expiry has passed and returns how many.
func (t *Tx) ExpireAlerts(now time.Time) (int, error) {
	ts := FormatTime(now)
	res, err := t.exec(`UPDATE alerts SET state = 'expired', updated_at = ? WHERE state = 'active' AND expires_at <= ?`, ts, ts)
	if err != nil {
		return 0, fmt.Errorf("store: expire alerts: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// MarkAlertRead marks one of userID's alerts read.
func (t *Tx) MarkAlertRead(userID, alertID int64, now time.Time) error {
	ok, err := t.cas("mark alert read", `UPDATE alerts SET state = 'read', updated_at = ? WHERE id = ? AND user_id = ?
		AND state = 'active'`, FormatTime(now), alertID, userID)
	if err != nil {
		return err
	}
	if !ok {
		var one int
		if err := t.tx.QueryRowContext(t.ctx, `SELECT 1 FROM alerts WHERE id = ? AND user_id = ?`, alertID, userID).Scan(&one); err != nil {
			return ErrNotFound
		}
	}
	return nil
}

// MarkConversationAlertsRead marks userID's active alerts about a conversation read
// (they opened it).
func (t *Tx) MarkConversationAlertsRead(userID, conversationID int64, now time.Time) error {
	_, err := t.exec(`UPDATE alerts SET state = 'read', updated_at = ? WHERE user_id = ? AND conversation_id = ?
		AND state = 'active'`, FormatTime(now), userID, conversationID)
	if err != nil {
		return fmt.Errorf("store: mark alerts read: %w", err)
	}
	return nil
}

// Alerts lists userID's alerts in state (all states when ""), newest first.
func (db *DB) Alerts(ctx context.Context, userID int64, state string, limit int) ([]Alert, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if state == "" {
		return queryAlerts(ctx, db.r, "alerts", `SELECT `+alertCols+` FROM alerts WHERE user_id = ?
			ORDER BY updated_at DESC, id DESC LIMIT ?`, userID, limit)
	}
	return queryAlerts(ctx, db.r, "alerts", `SELECT `+alertCols+` FROM alerts WHERE user_id = ? AND state = ?
		ORDER BY updated_at DESC, id DESC LIMIT ?`, userID, state, limit)
}

// ConversationAlerts lists the alerts about a conversation.
func (db *DB) ConversationAlerts(ctx context.Context, conversationID int64) ([]Alert, error) {
	return queryAlerts(ctx, db.r, "conversation alerts", `SELECT `+alertCols+` FROM alerts WHERE conversation_id = ?
		ORDER BY id`, conversationID)
}
