package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// --- devices ----------------------------------------------------------------------

// SMSGateDevice is a modem as the SMSGate-compatible API shows it: a stable id per
// modem identity (IMEI, or ICCID without one).
type SMSGateDevice struct {
	ID        string
	Identity  string // "imei:<IMEI>" or "iccid:<ICCID>"
	Modem     string // the modem's current name
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
	LastSeen  time.Time // zero: never ready
}

const smsgateDeviceCols = `id, identity, modem, name, created_at, updated_at, last_seen`

func scanSMSGateDevice(row interface{ Scan(...any) error }) (SMSGateDevice, error) {
	var d SMSGateDevice
	var c, u string
	var seen sql.NullString
	if err := row.Scan(&d.ID, &d.Identity, &d.Modem, &d.Name, &c, &u, &seen); err != nil {
		return d, err
	}
	var errs [3]error
	d.CreatedAt, errs[0] = ParseTime(c)
	d.UpdatedAt, errs[1] = ParseTime(u)
	d.LastSeen, errs[2] = scanTime(seen)
	return d, errors.Join(errs[:]...)
}

// EnsureSMSGateDevice returns the device of a modem identity, creating it with newID
// when the identity is new, and records the modem's current name and label. A
// non-zero lastSeen moves the device's last-seen time forward.
func (db *DB) EnsureSMSGateDevice(ctx context.Context, identity, newID, modem, name string, lastSeen, now time.Time) (SMSGateDevice, error) {
	var d SMSGateDevice
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO smsgate_devices (id, identity, modem, name, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (identity) DO UPDATE SET modem = excluded.modem, name = excluded.name,
				updated_at = CASE WHEN modem <> excluded.modem OR name <> excluded.name THEN excluded.updated_at ELSE updated_at END`,
			newID, identity, modem, name, FormatTime(now), FormatTime(now))
		if err != nil {
			return fmt.Errorf("store: smsgate device: %w", err)
		}
		if !lastSeen.IsZero() {
			if _, err := tx.ExecContext(ctx, `UPDATE smsgate_devices SET last_seen = ? WHERE identity = ?
				AND (last_seen IS NULL OR last_seen < ?)`, FormatTime(lastSeen), identity, FormatTime(lastSeen)); err != nil {
				return fmt.Errorf("store: smsgate device: %w", err)
			}
		}
		d, err = scanSMSGateDevice(tx.QueryRowContext(ctx, `SELECT `+smsgateDeviceCols+` FROM smsgate_devices WHERE identity = ?`, identity))
		if err != nil {
			return fmt.Errorf("store: smsgate device: %w", err)
		}
		return nil
	})
	return d, err
}

// SMSGateDevices lists every known device, oldest first.
func (db *DB) SMSGateDevices(ctx context.Context) ([]SMSGateDevice, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+smsgateDeviceCols+` FROM smsgate_devices ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: smsgate devices: %w", err)
	}
	defer rows.Close()
	var out []SMSGateDevice
	for rows.Next() {
		d, err := scanSMSGateDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("store: smsgate devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteSMSGateDevice forgets a device, or returns ErrNotFound.
func (db *DB) DeleteSMSGateDevice(ctx context.Context, id string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM smsgate_devices WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete smsgate device: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// --- messages ---------------------------------------------------------------------

// SMSGateMessage is a message sent through the SMSGate-compatible API: one outbox
// message per recipient.
type SMSGateMessage struct {
	ID         string
	DeviceID   string
	Text       string
	WithReport bool
	SimNumber  int // 0: not given
	State      string
	States     map[string]time.Time // first time each message-level state was reached
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Recipients []SMSGateRecipient
}

// SMSGateRecipient is one recipient of an SMSGate message.
type SMSGateRecipient struct {
	Idx       int
	Phone     string // as the client wrote it
	OutboxUID string // messages.uid of the outbox message
	State     string // the last state webhooks were queued for
	UpdatedAt time.Time
}

// InsertSMSGateMessage stores a message and its recipients; an id in use is
// ErrDuplicate.
func (db *DB) InsertSMSGateMessage(ctx context.Context, m SMSGateMessage) error {
	states, err := json.Marshal(m.States)
	if err != nil {
		return fmt.Errorf("store: smsgate message: %w", err)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO smsgate_messages (id, device_id, text, with_report, sim_number, state, states,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.DeviceID, m.Text, boolInt(m.WithReport),
			nullInt(int64(m.SimNumber)), m.State, string(states), FormatTime(m.CreatedAt), FormatTime(m.CreatedAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("store: smsgate message %q: %w", m.ID, ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("store: smsgate message: %w", err)
		}
		for _, r := range m.Recipients {
			if _, err := tx.ExecContext(ctx, `INSERT INTO smsgate_recipients (message_id, idx, phone, outbox_uid, state, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`, m.ID, r.Idx, r.Phone, r.OutboxUID, r.State, FormatTime(m.CreatedAt)); err != nil {
				return fmt.Errorf("store: smsgate recipient: %w", err)
			}
		}
		return nil
	})
}

const smsgateMessageCols = `id, device_id, text, with_report, COALESCE(sim_number, 0), state, states, created_at, updated_at`

func scanSMSGateMessage(row interface{ Scan(...any) error }) (SMSGateMessage, error) {
	var m SMSGateMessage
	var report int
	var states, c, u string
	if err := row.Scan(&m.ID, &m.DeviceID, &m.Text, &report, &m.SimNumber, &m.State, &states, &c, &u); err != nil {
		return m, err
	}
	m.WithReport = report == 1
	var errs [3]error
	errs[0] = json.Unmarshal([]byte(states), &m.States)
	m.CreatedAt, errs[1] = ParseTime(c)
	m.UpdatedAt, errs[2] = ParseTime(u)
	if m.States == nil {
		m.States = map[string]time.Time{}
	}
	return m, errors.Join(errs[:]...)
}

func (db *DB) smsgateRecipients(ctx context.Context, ids []string) (map[string][]SMSGateRecipient, error) {
	out := map[string][]SMSGateRecipient{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.r.QueryContext(ctx, `SELECT message_id, idx, phone, outbox_uid, state, updated_at FROM smsgate_recipients
		WHERE message_id IN (`+inPlaceholders(len(ids))+`) ORDER BY message_id, idx`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: smsgate recipients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, u string
		var r SMSGateRecipient
		if err := rows.Scan(&id, &r.Idx, &r.Phone, &r.OutboxUID, &r.State, &u); err != nil {
			return nil, fmt.Errorf("store: smsgate recipients: %w", err)
		}
		if r.UpdatedAt, err = ParseTime(u); err != nil {
			return nil, err
		}
		out[id] = append(out[id], r)
	}
	return out, rows.Err()
}

// SMSGateMessageByID returns a message with its recipients, or ErrNotFound.
func (db *DB) SMSGateMessageByID(ctx context.Context, id string) (SMSGateMessage, error) {
	m, err := scanSMSGateMessage(db.r.QueryRowContext(ctx, `SELECT `+smsgateMessageCols+` FROM smsgate_messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: smsgate message: %w", err)
	}
	rs, err := db.smsgateRecipients(ctx, []string{id})
	m.Recipients = rs[id]
	return m, err
}

// SMSGateMessageFilter selects a page of SMSGate messages.
type SMSGateMessageFilter struct {
	From, To time.Time // created at or after From, before To (zero: open)
	State    string    // the stored message state ("" = any)
	DeviceID string
	Oldest   bool // oldest first (default newest first)
	Limit    int  // default 50, at most 500
	Offset   int
}

// SMSGateMessages returns one page of messages with their recipients and the number
// of messages matching f.
func (db *DB) SMSGateMessages(ctx context.Context, f SMSGateMessageFilter) ([]SMSGateMessage, int, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var where []string
	var args []any
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, FormatTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, FormatTime(f.To))
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.DeviceID != "" {
		where, args = append(where, "device_id = ?"), append(args, f.DeviceID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM smsgate_messages`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: smsgate messages: %w", err)
	}
	order := " ORDER BY created_at DESC, id DESC"
	if f.Oldest {
		order = " ORDER BY created_at, id"
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+smsgateMessageCols+` FROM smsgate_messages`+cond+order+` LIMIT ? OFFSET ?`,
		append(args, f.Limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: smsgate messages: %w", err)
	}
	defer rows.Close()
	var out []SMSGateMessage
	var ids []string
	for rows.Next() {
		m, err := scanSMSGateMessage(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: smsgate messages: %w", err)
		}
		out = append(out, m)
		ids = append(ids, m.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: smsgate messages: %w", err)
	}
	rs, err := db.smsgateRecipients(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	for i := range out {
		out[i].Recipients = rs[out[i].ID]
	}
	return out, total, nil
}

// SetSMSGateMessageState records a message's current state, device and the first
// times of its states.
func (db *DB) SetSMSGateMessageState(ctx context.Context, id, deviceID, state string, states map[string]time.Time, now time.Time) error {
	b, err := json.Marshal(states)
	if err != nil {
		return fmt.Errorf("store: smsgate message state: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE smsgate_messages SET state = ?, states = ?, device_id = ?, updated_at = ? WHERE id = ?`,
		state, string(b), deviceID, FormatTime(now), id); err != nil {
		return fmt.Errorf("store: smsgate message state: %w", err)
	}
	return nil
}

// AdvanceSMSGateRecipient moves a recipient from state from to state to and reports
// whether it did (false: another caller moved it first). Webhooks are queued only by
// the caller that moved it, so each transition is announced once.
func (db *DB) AdvanceSMSGateRecipient(ctx context.Context, messageID string, idx int, from, to string, now time.Time) (bool, error) {
	res, err := db.w.ExecContext(ctx, `UPDATE smsgate_recipients SET state = ?, updated_at = ? WHERE message_id = ? AND idx = ? AND state = ?`,
		to, FormatTime(now), messageID, idx, from)
	if err != nil {
		return false, fmt.Errorf("store: smsgate recipient: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SMSGateMessageOfOutbox returns the id of the SMSGate message an outbox message
// carries a recipient of, or ErrNotFound.
func (db *DB) SMSGateMessageOfOutbox(ctx context.Context, uid string) (string, error) {
	var id string
	err := db.r.QueryRowContext(ctx, `SELECT message_id FROM smsgate_recipients WHERE outbox_uid = ?`, uid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: smsgate recipient: %w", err)
	}
	return id, nil
}

// OpenSMSGateMessages returns up to limit ids of messages with a recipient still
// Pending or Processed and changed since since, or Sent and changed since sentSince
// (Sent is final without a delivery report), most recently changed first.
func (db *DB) OpenSMSGateMessages(ctx context.Context, since, sentSince time.Time, limit int) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT message_id FROM smsgate_recipients
		WHERE state IN ('Pending', 'Processed', 'Sent') AND updated_at >= ?
			AND (state <> 'Sent' OR updated_at >= ?)
		GROUP BY message_id ORDER BY MAX(updated_at) DESC LIMIT ?`, FormatTime(since), FormatTime(sentSince), limit)
	if err != nil {
		return nil, fmt.Errorf("store: open smsgate messages: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: open smsgate messages: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// --- webhooks ---------------------------------------------------------------------

// SMSGateWebhook is an SMSGate webhook registration and the smsgate-format webhook
// that delivers it.
type SMSGateWebhook struct {
	ID        string
	WebhookID int64
	URL       string
	Event     string
	DeviceID  string // "" = every device
}

// SaveSMSGateWebhook registers a webhook, or replaces the one with the same id. Its
// deliveries are signed with secret and retried up to retryCount times.
func (db *DB) SaveSMSGateWebhook(ctx context.Context, h SMSGateWebhook, secret string, retryCount int, by int64, now time.Time) (SMSGateWebhook, error) {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var wid int64
		err := tx.QueryRowContext(ctx, `SELECT webhook_id FROM smsgate_webhooks WHERE id = ?`, h.ID).Scan(&wid)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, `INSERT INTO webhooks (url, secret, events, line, description, active, created_by,
				created_at, updated_at, format, retry_count) VALUES (?, ?, ?, '', ?, 1, ?, ?, ?, 'smsgate', ?)`,
				h.URL, secret, h.Event, "SMSGate webhook "+h.ID, nullID(by), FormatTime(now), FormatTime(now), retryCount)
			if err != nil {
				return fmt.Errorf("store: smsgate webhook: %w", err)
			}
			if wid, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("store: smsgate webhook: %w", err)
			}
		case err != nil:
			return fmt.Errorf("store: smsgate webhook: %w", err)
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET url = ?, secret = ?, events = ?, retry_count = ?, active = 1,
				updated_at = ? WHERE id = ?`, h.URL, secret, h.Event, retryCount, FormatTime(now), wid); err != nil {
				return fmt.Errorf("store: smsgate webhook: %w", err)
			}
		}
		h.WebhookID = wid
		_, err = tx.ExecContext(ctx, `INSERT INTO smsgate_webhooks (id, webhook_id, event, device_id) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET event = excluded.event, device_id = excluded.device_id`,
			h.ID, wid, h.Event, nullString(h.DeviceID))
		if err != nil {
			return fmt.Errorf("store: smsgate webhook: %w", err)
		}
		return nil
	})
	return h, err
}

// SMSGateWebhooks lists every registration, in id order.
func (db *DB) SMSGateWebhooks(ctx context.Context) ([]SMSGateWebhook, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT s.id, s.webhook_id, w.url, s.event, COALESCE(s.device_id, '')
		FROM smsgate_webhooks s JOIN webhooks w ON w.id = s.webhook_id ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("store: smsgate webhooks: %w", err)
	}
	defer rows.Close()
	var out []SMSGateWebhook
	for rows.Next() {
		var h SMSGateWebhook
		if err := rows.Scan(&h.ID, &h.WebhookID, &h.URL, &h.Event, &h.DeviceID); err != nil {
			return nil, fmt.Errorf("store: smsgate webhooks: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// DeleteSMSGateWebhook removes a registration with its webhook and delivery log; an
// unknown id is not an error (upstream DELETE is idempotent).
func (db *DB) DeleteSMSGateWebhook(ctx context.Context, id string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM webhooks WHERE id IN (SELECT webhook_id FROM smsgate_webhooks WHERE id = ?)`, id)
	if err != nil {
		return fmt.Errorf("store: delete smsgate webhook: %w", err)
	}
	return nil
}

// SetSMSGateWebhookPolicy gives every smsgate-format webhook a new signing key and
// retry count (the webhooks.* settings).
func (db *DB) SetSMSGateWebhookPolicy(ctx context.Context, secret string, retryCount int) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE webhooks SET secret = ?, retry_count = ? WHERE format = 'smsgate'`, secret, retryCount); err != nil {
		return fmt.Errorf("store: smsgate webhook policy: %w", err)
	}
	return nil
}

// --- tokens -----------------------------------------------------------------------

// SMSGateToken is an issued JWT.
type SMSGateToken struct {
	JTI       string
	UserID    int64
	Kind      string // access or refresh
	Parent    string // refresh: the access token it renews
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero: not revoked
}

// AddSMSGateToken records an issued token.
func (db *DB) AddSMSGateToken(ctx context.Context, t SMSGateToken) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO smsgate_tokens (jti, user_id, kind, parent, scopes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.JTI, t.UserID, t.Kind, t.Parent, strings.Join(t.Scopes, " "),
		FormatTime(t.CreatedAt), FormatTime(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: smsgate token: %w", err)
	}
	return nil
}

// SMSGateTokenByJTI returns an issued token, or ErrNotFound.
func (db *DB) SMSGateTokenByJTI(ctx context.Context, jti string) (SMSGateToken, error) {
	var t SMSGateToken
	var scopes, c, e string
	var r sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT jti, user_id, kind, parent, scopes, created_at, expires_at, revoked_at
		FROM smsgate_tokens WHERE jti = ?`, jti).Scan(&t.JTI, &t.UserID, &t.Kind, &t.Parent, &scopes, &c, &e, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: smsgate token: %w", err)
	}
	t.Scopes = strings.Fields(scopes)
	var errs [3]error
	t.CreatedAt, errs[0] = ParseTime(c)
	t.ExpiresAt, errs[1] = ParseTime(e)
	t.RevokedAt, errs[2] = scanTime(r)
	return t, errors.Join(errs[:]...)
}

// RevokeSMSGateToken revokes a token of a user and the refresh tokens issued with it
// (userID 0: anyone's). An unknown token is ErrNotFound.
func (db *DB) RevokeSMSGateToken(ctx context.Context, jti string, userID int64, now time.Time) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE smsgate_tokens SET revoked_at = COALESCE(revoked_at, ?)
			WHERE jti = ? AND (? = 0 OR user_id = ?)`, FormatTime(now), jti, userID, userID)
		if err != nil {
			return fmt.Errorf("store: revoke smsgate token: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `UPDATE smsgate_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE parent = ?`,
			FormatTime(now), jti); err != nil {
			return fmt.Errorf("store: revoke smsgate token: %w", err)
		}
		return nil
	})
}

// UseSMSGateRefreshToken spends a refresh token: it revokes it and the access token it
// renewed, and reports ErrNotFound when it was unknown, spent or revoked already.
func (db *DB) UseSMSGateRefreshToken(ctx context.Context, jti string, now time.Time) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var parent string
		err := tx.QueryRowContext(ctx, `UPDATE smsgate_tokens SET revoked_at = ? WHERE jti = ? AND kind = 'refresh'
			AND revoked_at IS NULL RETURNING parent`, FormatTime(now), jti).Scan(&parent)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: refresh smsgate token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE smsgate_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE jti = ?`,
			FormatTime(now), parent); err != nil {
			return fmt.Errorf("store: refresh smsgate token: %w", err)
		}
		return nil
	})
}

// DeleteExpiredSMSGateTokens removes tokens that expired before t.
func (db *DB) DeleteExpiredSMSGateTokens(ctx context.Context, t time.Time) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM smsgate_tokens WHERE expires_at < ?`, FormatTime(t)); err != nil {
		return fmt.Errorf("store: expire smsgate tokens: %w", err)
	}
	return nil
}

// --- inbox and logs -----------------------------------------------------------------

// InboundFilter selects a page of inbound messages for the SMSGate inbox.
type InboundFilter struct {
	From, To time.Time // received at or after From, before To (zero: open)
	Modems   []string  // received by one of these modems (nil: any; empty non-nil: none)
	Limit    int       // default 50, at most 500
	Offset   int
	Oldest   bool // oldest first (default newest first)
}

// InboundMessages returns one page of inbound messages under f and how many match.
func (db *DB) InboundMessages(ctx context.Context, f InboundFilter) ([]Message, int, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	where := []string{"direction = 'in'"}
	var args []any
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, FormatTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, FormatTime(f.To))
	}
	if f.Modems != nil {
		if len(f.Modems) == 0 {
			return nil, 0, nil
		}
		where = append(where, "modem IN ("+inPlaceholders(len(f.Modems))+")")
		for _, m := range f.Modems {
			args = append(args, m)
		}
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: inbound messages: %w", err)
	}
	order := " ORDER BY id DESC"
	if f.Oldest {
		order = " ORDER BY id"
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+messageCols+` FROM messages`+cond+order+` LIMIT ? OFFSET ?`,
		append(args, f.Limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: inbound messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: inbound messages: %w", err)
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

// InboundAfter returns up to limit inbound messages with ids above afterID, in id order.
func (db *DB) InboundAfter(ctx context.Context, afterID int64, limit int) ([]Message, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+messageCols+` FROM messages WHERE direction = 'in' AND id > ?
		ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: inbound after: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: inbound after: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// LastMessageID returns the highest message id (0 without messages).
func (db *DB) LastMessageID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM messages`).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: last message id: %w", err)
	}
	return id, nil
}

// FailedOutboundSince counts outbound messages that failed or expired since t.
func (db *DB) FailedOutboundSince(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status IN ('failed', 'expired')
		AND updated_at >= ?`, FormatTime(t)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: failed messages: %w", err)
	}
	return n, nil
}
