package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Webhook is a subscription: events of the listed types (or "*") are POSTed to URL,
// signed with Secret. Line limits it to events of one line ("" = all).
type Webhook struct {
	ID          int64     `json:"id"`
	URL         string    `json:"url"`
	Secret      string    `json:"-"`
	Events      []string  `json:"events"`
	Line        string    `json:"line,omitempty"`
	Description string    `json:"description,omitempty"`
	Active      bool      `json:"active"`
	CreatedBy   int64     `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Format is how deliveries are shaped and signed: "" or WebhookNative (ours), or
	// WebhookSMSGate (the SMSGate envelope, made by package smsgate).
	Format string `json:"format,omitempty"`
	// RetryCount bounds the retries of an smsgate-format webhook (0: its default).
	RetryCount int `json:"retry_count,omitempty"`
}

// Webhook formats.
const (
	WebhookNative  = "native"
	WebhookSMSGate = "smsgate"
)

// Wants reports whether the webhook subscribes to an event type.
func (w Webhook) Wants(typ string) bool {
	for _, e := range w.Events {
		if e == "*" || e == typ {
			return true
		}
	}
	return false
}

const webhookCols = `id, url, secret, events, line, description, active, COALESCE(created_by, 0), created_at, updated_at,
	format, retry_count`

func scanWebhook(row interface{ Scan(...any) error }) (Webhook, error) {
	var w Webhook
	var events, c, u string
	if err := row.Scan(&w.ID, &w.URL, &w.Secret, &events, &w.Line, &w.Description, &w.Active, &w.CreatedBy, &c, &u,
		&w.Format, &w.RetryCount); err != nil {
		return w, err
	}
	if w.Format == WebhookNative {
		w.Format = "" // the native API shows webhooks as it always did
	}
	w.Events = strings.Fields(events)
	var e1, e2 error
	w.CreatedAt, e1 = ParseTime(c)
	w.UpdatedAt, e2 = ParseTime(u)
	return w, errors.Join(e1, e2)
}

// SaveWebhook inserts (ID 0) or updates a webhook and returns it as stored. An update
// keeps the webhook's format and retry count.
func (db *DB) SaveWebhook(ctx context.Context, w Webhook, now time.Time) (Webhook, error) {
	events := strings.Join(w.Events, " ")
	if w.ID == 0 {
		format := w.Format
		if format == "" {
			format = WebhookNative
		}
		res, err := db.w.ExecContext(ctx, `INSERT INTO webhooks (url, secret, events, line, description, active, created_by, created_at, updated_at,
			format, retry_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.URL, w.Secret, events, w.Line, w.Description, flag(w.Active),
			nullID(w.CreatedBy), FormatTime(now), FormatTime(now), format, w.RetryCount)
		if err != nil {
			return w, fmt.Errorf("store: create webhook: %w", err)
		}
		if w.ID, err = res.LastInsertId(); err != nil {
			return w, fmt.Errorf("store: create webhook: %w", err)
		}
	} else {
		res, err := db.w.ExecContext(ctx, `UPDATE webhooks SET url = ?, secret = ?, events = ?, line = ?, description = ?, active = ?,
			updated_at = ? WHERE id = ?`, w.URL, w.Secret, events, w.Line, w.Description, flag(w.Active), FormatTime(now), w.ID)
		if err != nil {
			return w, fmt.Errorf("store: update webhook: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return w, ErrNotFound
		}
	}
	return db.Webhook(ctx, w.ID)
}

// Webhook returns one webhook, or ErrNotFound.
func (db *DB) Webhook(ctx context.Context, id int64) (Webhook, error) {
	w, err := scanWebhook(db.w.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("store: webhook: %w", err)
	}
	return w, nil
}

// Webhooks lists every webhook by id.
func (db *DB) Webhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: webhooks: %w", err)
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("store: webhooks: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: webhooks: %w", err)
	}
	return out, nil
}

// DeleteWebhook removes a webhook with its deliveries.
func (db *DB) DeleteWebhook(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event for one webhook, with its retry state.
type WebhookDelivery struct {
	ID            int64     `json:"id"`
	WebhookID     int64     `json:"webhook_id"`
	EventID       string    `json:"event_id"`
	EventType     string    `json:"event_type"`
	Payload       string    `json:"-"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	LastStatus    int       `json:"last_status"`
	LastError     string    `json:"last_error,omitempty"`
	RedeliveryOf  int64     `json:"redelivery_of,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	DeliveredAt   time.Time `json:"delivered_at,omitzero"`
}

const deliveryCols = `id, webhook_id, event_id, event_type, payload, state, attempts, next_attempt_at, last_status, last_error,
	COALESCE(redelivery_of, 0), created_at, delivered_at`

func scanDelivery(row interface{ Scan(...any) error }) (WebhookDelivery, error) {
	var d WebhookDelivery
	var next, created string
	var delivered sql.NullString
	if err := row.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Payload, &d.State, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &d.RedeliveryOf, &created, &delivered); err != nil {
		return d, err
	}
	var errs [3]error
	d.NextAttemptAt, errs[0] = ParseTime(next)
	d.CreatedAt, errs[1] = ParseTime(created)
	d.DeliveredAt, errs[2] = scanTime(delivered)
	if d.State != DeliveryPending {
		d.NextAttemptAt = time.Time{}
	}
	return d, errors.Join(errs[:]...)
}

// NewDelivery is a delivery to queue.
type NewDelivery struct {
	WebhookID    int64
	EventID      string
	EventType    string
	Payload      string
	RedeliveryOf int64
}

// AddDeliveries commits deliveries, due at now, in one transaction and returns their ids.
func (db *DB) AddDeliveries(ctx context.Context, ds []NewDelivery, now time.Time) ([]int64, error) {
	ids := make([]int64, 0, len(ds))
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		for _, d := range ds {
			res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload, state,
				next_attempt_at, redelivery_of, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
				d.WebhookID, d.EventID, d.EventType, d.Payload, FormatTime(now), nullID(d.RedeliveryOf), FormatTime(now))
			if err != nil {
				return fmt.Errorf("store: add delivery: %w", err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return fmt.Errorf("store: add delivery: %w", err)
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// DueDeliveries returns up to limit pending deliveries due at now, oldest due first.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error) {
	return db.queryDeliveries(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, FormatTime(now), limit)
}

// NextDeliveryDue returns when the earliest pending delivery is due (zero: none).
func (db *DB) NextDeliveryDue(ctx context.Context) (time.Time, error) {
	var s sql.NullString
	if err := db.r.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&s); err != nil {
		return time.Time{}, fmt.Errorf("store: next delivery: %w", err)
	}
	return scanTime(s)
}

// Deliveries lists a webhook's deliveries newest first, a keyset page of ids below
// beforeID (0: from the newest).
func (db *DB) Deliveries(ctx context.Context, webhookID, beforeID int64, limit int) ([]WebhookDelivery, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	return db.queryDeliveries(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = ? AND id < ?
		ORDER BY id DESC LIMIT ?`, webhookID, beforeID, limit)
}

// Delivery returns one delivery, or ErrNotFound.
func (db *DB) Delivery(ctx context.Context, id int64) (WebhookDelivery, error) {
	ds, err := db.queryDeliveries(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = ?`, id)
	if err != nil {
		return WebhookDelivery{}, err
	}
	if len(ds) == 0 {
		return WebhookDelivery{}, ErrNotFound
	}
	return ds[0], nil
}

func (db *DB) queryDeliveries(ctx context.Context, q string, args ...any) ([]WebhookDelivery, error) {
	rows, err := db.w.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	return out, nil
}

// DeliveryAttempt is one line of the delivery log.
type DeliveryAttempt struct {
	ID         int64     `json:"id"`
	DeliveryID int64     `json:"delivery_id"`
	At         time.Time `json:"at"`
	Status     int       `json:"status"` // HTTP status; 0 when no answer came
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	Response   string    `json:"response,omitempty"` // the start of the answer body
}

// RecordAttempt logs an attempt and moves the delivery on: delivered, failed (no more
// retries) or pending again at next.
func (db *DB) RecordAttempt(ctx context.Context, a DeliveryAttempt, state string, next time.Time) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms, response)
			VALUES (?, ?, ?, ?, ?, ?)`, a.DeliveryID, FormatTime(a.At), a.Status, a.Error, a.DurationMS, a.Response); err != nil {
			return fmt.Errorf("store: record attempt: %w", err)
		}
		var delivered any
		if state == DeliveryDelivered {
			delivered = FormatTime(a.At)
		}
		if next.IsZero() {
			next = a.At
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?,
			last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?`,
			state, FormatTime(next), a.Status, a.Error, delivered, a.DeliveryID)
		if err != nil {
			return fmt.Errorf("store: record attempt: %w", err)
		}
		return nil
	})
}

// DeliveryAttempts returns a delivery's log, oldest first.
func (db *DB) DeliveryAttempts(ctx context.Context, deliveryID int64) ([]DeliveryAttempt, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, delivery_id, at, status, error, duration_ms, response FROM webhook_attempts
		WHERE delivery_id = ? ORDER BY id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("store: attempts: %w", err)
	}
	defer rows.Close()
	var out []DeliveryAttempt
	for rows.Next() {
		var a DeliveryAttempt
		var at string
		if err := rows.Scan(&a.ID, &a.DeliveryID, &at, &a.Status, &a.Error, &a.DurationMS, &a.Response); err != nil {
			return nil, fmt.Errorf("store: attempts: %w", err)
		}
		if a.At, err = ParseTime(at); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
