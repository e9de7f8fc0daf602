package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AlertTemplate is a business SMS template with {{tokens}}.
type AlertTemplate struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func scanTemplate(row interface{ Scan(...any) error }) (AlertTemplate, error) {
	var a AlertTemplate
	var c, u string
	if err := row.Scan(&a.ID, &a.Name, &a.Body, &c, &u); err != nil {
		return a, err
	}
	var err error
	if a.CreatedAt, err = ParseTime(c); err != nil {
		return a, err
	}
	a.UpdatedAt, err = ParseTime(u)
	return a, err
}

// SaveAlertTemplate inserts (ID 0) or updates a template; a taken name is ErrDuplicate.
func (db *DB) SaveAlertTemplate(ctx context.Context, a AlertTemplate, now time.Time) (AlertTemplate, error) {
	ts := FormatTime(now)
	err := db.Update(ctx, func(t *Tx) error {
		if a.ID == 0 {
			id, err := t.insertID("insert alert template", `INSERT INTO alert_templates (name, body, created_at, updated_at)
				VALUES (?, ?, ?, ?)`, a.Name, a.Body, ts, ts)
			a.ID = id
			return err
		}
		res, err := t.exec(`UPDATE alert_templates SET name = ?, body = ?, updated_at = ? WHERE id = ?`, a.Name, a.Body, ts, a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		return nil
	})
	if isUniqueViolation(err) {
		return a, fmt.Errorf("%w: template %q", ErrDuplicate, a.Name)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return a, err
		}
		return a, fmt.Errorf("store: save alert template: %w", err)
	}
	return db.AlertTemplate(ctx, a.ID)
}

// AlertTemplate returns one template.
func (db *DB) AlertTemplate(ctx context.Context, id int64) (AlertTemplate, error) {
	a, err := scanTemplate(db.r.QueryRowContext(ctx, `SELECT id, name, body, created_at, updated_at FROM alert_templates
		WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// AlertTemplates lists every template by name.
func (db *DB) AlertTemplates(ctx context.Context) ([]AlertTemplate, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, body, created_at, updated_at FROM alert_templates ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: alert templates: %w", err)
	}
	defer rows.Close()
	var out []AlertTemplate
	for rows.Next() {
		a, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: alert templates: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAlertTemplate deletes a template no rule uses (ErrDuplicate-free: a template in
// use is ErrStale).
func (db *DB) DeleteAlertTemplate(ctx context.Context, id int64) error {
	return db.Update(ctx, func(t *Tx) error {
		var n int
		if err := t.tx.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM alert_rules WHERE template_id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("store: delete alert template: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: template %d is used by %d rule(s)", ErrStale, id, n)
		}
		res, err := t.exec(`DELETE FROM alert_templates WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("store: delete alert template: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		return nil
	})
}

// AlertRule is "when job event Event happens and the job matches Filters, send the
// template to Recipients".
type AlertRule struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Event      string            `json:"event"`
	TemplateID int64             `json:"template_id"`
	Recipients []string          `json:"recipients"`
	Filters    map[string]string `json:"filters"`
	// DedupeWindow: the same rule for the same job and recipient is sent once within
	// it; 0 means the configured default.
	DedupeWindow time.Duration `json:"-"`
	Line         string        `json:"line"`
	Enabled      bool          `json:"enabled"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

const ruleCols = `id, name, event, template_id, recipients, filters, dedupe_window, line, enabled, created_at, updated_at`

func scanRule(row interface{ Scan(...any) error }) (AlertRule, error) {
	var r AlertRule
	var rec, fil, c, u string
	var win int64
	if err := row.Scan(&r.ID, &r.Name, &r.Event, &r.TemplateID, &rec, &fil, &win, &r.Line, &r.Enabled, &c, &u); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(rec), &r.Recipients); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(fil), &r.Filters); err != nil {
		return r, err
	}
	r.DedupeWindow = time.Duration(win) * time.Second
	var err error
	if r.CreatedAt, err = ParseTime(c); err != nil {
		return r, err
	}
	r.UpdatedAt, err = ParseTime(u)
	return r, err
}

// SaveAlertRule inserts (ID 0) or updates a rule. An unknown template is ErrNotFound.
func (db *DB) SaveAlertRule(ctx context.Context, r AlertRule, now time.Time) (AlertRule, error) {
	if r.Recipients == nil {
		r.Recipients = []string{}
	}
	if r.Filters == nil {
		r.Filters = map[string]string{}
	}
	rec, err := json.Marshal(r.Recipients)
	if err != nil {
		return r, err
	}
	fil, err := json.Marshal(r.Filters)
	if err != nil {
		return r, err
	}
	ts := FormatTime(now)
	err = db.Update(ctx, func(t *Tx) error {
		var one int
		if err := t.tx.QueryRowContext(t.ctx, `SELECT 1 FROM alert_templates WHERE id = ?`, r.TemplateID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: template %d", ErrNotFound, r.TemplateID)
			}
			return err
		}
		args := []any{r.Name, r.Event, r.TemplateID, string(rec), string(fil), int64(r.DedupeWindow / time.Second), r.Line,
			flag(r.Enabled), ts}
		if r.ID == 0 {
			id, err := t.insertID("insert alert rule", `INSERT INTO alert_rules (name, event, template_id, recipients,
				filters, dedupe_window, line, enabled, updated_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				append(args, ts)...)
			r.ID = id
			return err
		}
		res, err := t.exec(`UPDATE alert_rules SET name = ?, event = ?, template_id = ?, recipients = ?, filters = ?,
			dedupe_window = ?, line = ?, enabled = ?, updated_at = ? WHERE id = ?`, append(args, r.ID)...)
		if err != nil {
			return fmt.Errorf("store: update alert rule: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	return db.AlertRule(ctx, r.ID)
}

// AlertRule returns one rule.
func (db *DB) AlertRule(ctx context.Context, id int64) (AlertRule, error) {
	r, err := scanRule(db.r.QueryRowContext(ctx, `SELECT `+ruleCols+` FROM alert_rules WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// AlertRules lists the rules; event non-empty lists only the enabled rules for it.
func (db *DB) AlertRules(ctx context.Context, event string) ([]AlertRule, error) {
	q, args := `SELECT `+ruleCols+` FROM alert_rules ORDER BY id`, []any{}
	if event != "" {
		q, args = `SELECT `+ruleCols+` FROM alert_rules WHERE enabled = 1 AND event = ? ORDER BY id`, []any{event}
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alert rules: %w", err)
	}
	defer rows.Close()
	var out []AlertRule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("store: alert rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteAlertRule deletes a rule (its sends stay, without the rule).
func (db *DB) DeleteAlertRule(ctx context.Context, id int64) error {
	return db.Update(ctx, func(t *Tx) error {
		res, err := t.exec(`DELETE FROM alert_rules WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("store: delete alert rule: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		return nil
	})
}

// Alert send states.
const (
	SendPending = "pending"
	SendSent    = "sent"
	SendSkipped = "skipped"
	SendFailed  = "failed"
)

// AlertSend is one alert a rule produced for a job and a recipient.
type AlertSend struct {
	ID        int64     `json:"id"`
	RuleID    int64     `json:"rule_id,omitempty"`
	JobID     int64     `json:"job_id"`
	Event     string    `json:"event"`
	Recipient string    `json:"recipient"`
	Line      string    `json:"line"`
	Body      string    `json:"body"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	DueAt     time.Time `json:"due_at"`
	MessageID int64     `json:"message_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const sendCols = `id, COALESCE(rule_id, 0), job_id, event, recipient, line, body, state, reason, due_at,
	COALESCE(message_id, 0), created_at, updated_at`

func scanSend(row interface{ Scan(...any) error }) (AlertSend, error) {
	var s AlertSend
	var due, c, u string
	if err := row.Scan(&s.ID, &s.RuleID, &s.JobID, &s.Event, &s.Recipient, &s.Line, &s.Body, &s.State, &s.Reason, &due,
		&s.MessageID, &c, &u); err != nil {
		return s, err
	}
	var err error
	if s.DueAt, err = ParseTime(due); err != nil {
		return s, err
	}
	if s.CreatedAt, err = ParseTime(c); err != nil {
		return s, err
	}
	s.UpdatedAt, err = ParseTime(u)
	return s, err
}

func querySends(ctx context.Context, q inboxQuerier, query string, args ...any) ([]AlertSend, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sendCols+` FROM alert_sends `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alert sends: %w", err)
	}
	defer rows.Close()
	var out []AlertSend
	for rows.Next() {
		s, err := scanSend(rows)
		if err != nil {
			return nil, fmt.Errorf("store: alert sends: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddAlertSend records an alert unless the same rule already produced one for the
// same job and recipient since dedupeSince (pending or sent): then it returns
// dup = true and records nothing. The check and the insert are one transaction.
func (db *DB) AddAlertSend(ctx context.Context, s AlertSend, dedupeSince time.Time, now time.Time) (AlertSend, bool, error) {
	dup := false
	ts := FormatTime(now)
	err := db.Update(ctx, func(t *Tx) error {
		if s.RuleID != 0 && s.State != SendSkipped {
			var n int
			err := t.tx.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM alert_sends WHERE rule_id = ? AND job_id = ?
				AND recipient = ? AND state IN ('pending', 'sent') AND created_at >= ?`,
				s.RuleID, s.JobID, s.Recipient, FormatTime(dedupeSince)).Scan(&n)
			if err != nil {
				return fmt.Errorf("store: alert dedupe: %w", err)
			}
			if n > 0 {
				dup = true
				return nil
			}
		}
		id, err := t.insertID("add alert send", `INSERT INTO alert_sends (rule_id, job_id, event, recipient, line, body,
			state, reason, due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nullID(s.RuleID), s.JobID, s.Event, s.Recipient, s.Line, s.Body, s.State, s.Reason, FormatTime(s.DueAt), ts, ts)
		s.ID = id
		return err
	})
	if err != nil || dup {
		return s, dup, err
	}
	s.CreatedAt, s.UpdatedAt = now.UTC().Truncate(time.Millisecond), now.UTC().Truncate(time.Millisecond)
	return s, false, nil
}

// DueAlertSends returns pending sends due at now, oldest first.
func (db *DB) DueAlertSends(ctx context.Context, now time.Time, limit int) ([]AlertSend, error) {
	return querySends(ctx, db.r, `WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?`, FormatTime(now), limit)
}

// AlertSendsOfJob lists a job's alerts, newest first.
func (db *DB) AlertSendsOfJob(ctx context.Context, jobID int64, limit int) ([]AlertSend, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return querySends(ctx, db.r, `WHERE job_id = ? ORDER BY id DESC LIMIT ?`, jobID, limit)
}

// UpdateAlertSend sets a pending send's state (sent with its message, skipped or
// failed with a reason) or moves its due time (state pending). It changes only a
// pending row and reports whether it did.
func (db *DB) UpdateAlertSend(ctx context.Context, id int64, state, reason string, messageID int64, due, now time.Time) (bool, error) {
	var ok bool
	err := db.Update(ctx, func(t *Tx) error {
		var err error
		ok, err = t.cas("update alert send", `UPDATE alert_sends SET state = ?, reason = ?, message_id = ?,
			due_at = COALESCE(?, due_at), updated_at = ? WHERE id = ? AND state = 'pending'`,
			state, reason, nullID(messageID), nullTime(due), FormatTime(now), id)
		return err
	})
	return ok, err
}

// System alert states.
const (
	SystemFiring  = "firing"
	SystemCleared = "cleared"
)

// SystemAlert is one incident of a system check on a subject.
type SystemAlert struct {
	ID        int64     `json:"id"`
	Check     string    `json:"check"`
	Subject   string    `json:"subject,omitempty"`
	Severity  string    `json:"severity"`
	Message   string    `json:"message"`
	State     string    `json:"state"`
	Notified  string    `json:"notified,omitempty"`
	FiredAt   time.Time `json:"fired_at"`
	ClearedAt time.Time `json:"cleared_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

const sysCols = `id, check_name, subject, severity, message, state, notified, fired_at, cleared_at, updated_at`

func scanSystemAlert(row interface{ Scan(...any) error }) (SystemAlert, error) {
	var a SystemAlert
	var f, u string
	var c sql.NullString
	if err := row.Scan(&a.ID, &a.Check, &a.Subject, &a.Severity, &a.Message, &a.State, &a.Notified, &f, &c, &u); err != nil {
		return a, err
	}
	var err error
	if a.FiredAt, err = ParseTime(f); err != nil {
		return a, err
	}
	if a.ClearedAt, err = scanTime(c); err != nil {
		return a, err
	}
	a.UpdatedAt, err = ParseTime(u)
	return a, err
}

func querySystemAlerts(ctx context.Context, q inboxQuerier, query string, args ...any) ([]SystemAlert, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sysCols+` FROM system_alerts `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: system alerts: %w", err)
	}
	defer rows.Close()
	var out []SystemAlert
	for rows.Next() {
		a, err := scanSystemAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("store: system alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// FireSystemAlert opens an incident for (check, subject) unless one is firing: it
// returns the incident and whether it is new. A firing incident keeps its first
// message; only its severity follows.
func (db *DB) FireSystemAlert(ctx context.Context, a SystemAlert, now time.Time) (SystemAlert, bool, error) {
	created := false
	ts := FormatTime(now)
	err := db.Update(ctx, func(t *Tx) error {
		res, err := t.exec(`INSERT INTO system_alerts (check_name, subject, severity, message, state, fired_at, updated_at)
			VALUES (?, ?, ?, ?, 'firing', ?, ?) ON CONFLICT (check_name, subject) WHERE state = 'firing' DO NOTHING`,
			a.Check, a.Subject, a.Severity, a.Message, ts, ts)
		if err != nil {
			return fmt.Errorf("store: fire system alert: %w", err)
		}
		n, _ := res.RowsAffected()
		created = n == 1
		return nil
	})
	if err != nil {
		return a, false, err
	}
	list, err := querySystemAlerts(ctx, db.r, `WHERE check_name = ? AND subject = ? AND state = 'firing'`, a.Check, a.Subject)
	if err != nil || len(list) == 0 {
		return a, created, err
	}
	return list[0], created, nil
}

// ClearSystemAlert ends the firing incident of (check, subject), if any, and returns it.
func (db *DB) ClearSystemAlert(ctx context.Context, check, subject string, now time.Time) (SystemAlert, bool, error) {
	list, err := querySystemAlerts(ctx, db.r, `WHERE check_name = ? AND subject = ? AND state = 'firing'`, check, subject)
	if err != nil || len(list) == 0 {
		return SystemAlert{}, false, err
	}
	a := list[0]
	var ok bool
	err = db.Update(ctx, func(t *Tx) error {
		ts := FormatTime(now)
		var err error
		ok, err = t.cas("clear system alert", `UPDATE system_alerts SET state = 'cleared', cleared_at = ?, updated_at = ?
			WHERE id = ? AND state = 'firing'`, ts, ts, a.ID)
		return err
	})
	if err != nil || !ok {
		return a, false, err
	}
	a.State, a.ClearedAt = SystemCleared, now.UTC().Truncate(time.Millisecond)
	return a, true, nil
}

// NoteSystemAlertNotified records the channels that took an incident's notification.
func (db *DB) NoteSystemAlertNotified(ctx context.Context, id int64, channels string, now time.Time) error {
	return db.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`UPDATE system_alerts SET notified = ?, updated_at = ? WHERE id = ?`, channels, FormatTime(now), id)
		return err
	})
}

// SystemAlerts lists incidents, newest first; state "" lists all.
func (db *DB) SystemAlerts(ctx context.Context, state string, limit int) ([]SystemAlert, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if state != "" {
		return querySystemAlerts(ctx, db.r, `WHERE state = ? ORDER BY fired_at DESC, id DESC LIMIT ?`, state, limit)
	}
	return querySystemAlerts(ctx, db.r, `ORDER BY fired_at DESC, id DESC LIMIT ?`, limit)
}
