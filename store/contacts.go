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

// Contact types.
const (
	ContactLead     = "lead"
	ContactCustomer = "customer"
)

// Contact is a person or organisation with one or more numbers.
type Contact struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"` // lead or customer
	Language   string            `json:"language,omitempty"`
	OptedOut   bool              `json:"opted_out"`
	OptedOutAt time.Time         `json:"opted_out_at,omitzero"`
	Blocked    bool              `json:"blocked"`
	Fields     map[string]string `json:"fields,omitempty"`
	MergedInto int64             `json:"merged_into,omitempty"`
	Numbers    []string          `json:"numbers"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	// Confirmation pending: "out" or "in" with the idempotency key, line and number.
	ConfirmPending string `json:"-"`
	ConfirmKey     string `json:"-"`
	ConfirmLine    string `json:"-"`
	ConfirmNumber  string `json:"-"`
}

const contactCols = `id, name, type, language, opted_out, opted_out_at, blocked, fields, COALESCE(merged_into, 0),
	created_at, updated_at, confirm_pending, confirm_key, confirm_line, confirm_number`

func scanContact(row interface{ Scan(...any) error }) (Contact, error) {
	var c Contact
	var optedAt sql.NullString
	var fields, created, updated string
	if err := row.Scan(&c.ID, &c.Name, &c.Type, &c.Language, &c.OptedOut, &optedAt, &c.Blocked, &fields, &c.MergedInto,
		&created, &updated, &c.ConfirmPending, &c.ConfirmKey, &c.ConfirmLine, &c.ConfirmNumber); err != nil {
		return c, err
	}
	var err error
	if c.OptedOutAt, err = scanTime(optedAt); err != nil {
		return c, err
	}
	if c.CreatedAt, err = ParseTime(created); err != nil {
		return c, err
	}
	if c.UpdatedAt, err = ParseTime(updated); err != nil {
		return c, err
	}
	if fields != "" && fields != "{}" {
		if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
			return c, fmt.Errorf("contact %d fields: %w", c.ID, err)
		}
	}
	return c, nil
}

func contactByID(ctx context.Context, q inboxQuerier, id int64) (Contact, error) {
	c, err := scanContact(q.QueryRowContext(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: contact %d: %w", id, err)
	}
	c.Numbers, err = contactNumbers(ctx, q, id)
	return c, err
}

func contactNumbers(ctx context.Context, q inboxQuerier, id int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT number FROM contact_numbers WHERE contact_id = ? ORDER BY created_at, number`, id)
	if err != nil {
		return nil, fmt.Errorf("store: contact numbers: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("store: contact numbers: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: contact numbers: %w", err)
	}
	return out, nil
}

func contactByNumber(ctx context.Context, q inboxQuerier, number string) (Contact, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT contact_id FROM contact_numbers WHERE number = ?`, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, ErrNotFound
	}
	if err != nil {
		return Contact{}, fmt.Errorf("store: contact by number: %w", err)
	}
	return contactByID(ctx, q, id)
}

// Contact returns a contact with its numbers.
func (db *DB) Contact(ctx context.Context, id int64) (Contact, error) {
	return contactByID(ctx, db.r, id)
}

// Contact returns a contact with its numbers, inside the transaction.
func (t *Tx) Contact(id int64) (Contact, error) { return contactByID(t.ctx, t.tx, id) }

// ContactByNumber returns the contact a normalized number belongs to, or ErrNotFound.
func (db *DB) ContactByNumber(ctx context.Context, number string) (Contact, error) {
	return contactByNumber(ctx, db.r, number)
}

// ContactByNumber returns the contact a normalized number belongs to, or ErrNotFound.
func (t *Tx) ContactByNumber(number string) (Contact, error) {
	return contactByNumber(t.ctx, t.tx, number)
}

// ContactFilter selects contacts for a list page, ordered by id.
type ContactFilter struct {
	// Query finds contacts with every word of it at the start of a word of the name
	// or anywhere in one of the numbers (case and accents ignored; see ftsQuery).
	Query   string
	AfterID int64 // keyset cursor: ids greater than this
	Limit   int
}

// Contacts lists contacts (not merged away), a page at a time by id.
func (db *DB) Contacts(ctx context.Context, f ContactFilter) ([]Contact, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := `SELECT ` + contactCols + ` FROM contacts c WHERE merged_into IS NULL AND id > ?`
	args := []any{f.AfterID}
	if strings.TrimSpace(f.Query) != "" {
		m := ftsQuery(f.Query)
		if m == "" { // nothing searchable (only punctuation or symbols): no contact matches
			return nil, nil
		}
		q += ` AND ` + contactSearchCond
		args = append(args, m)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list contacts: %w", err)
	}
	var out []Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list contacts: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list contacts: %w", err)
	}
	for i := range out {
		if out[i].Numbers, err = contactNumbers(ctx, db.r, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateContact inserts a contact with its numbers. A number owned by another contact
// fails with ErrNumberTaken.
func (t *Tx) CreateContact(name, typ string, numbers []string, now time.Time) (Contact, error) {
	if typ == "" {
		typ = ContactLead
	}
	ts := FormatTime(now)
	id, err := t.insertID("create contact", `INSERT INTO contacts (name, type, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		name, typ, ts, ts)
	if err != nil {
		return Contact{}, err
	}
	for _, n := range numbers {
		if err := t.AddContactNumber(id, n, now); err != nil {
			return Contact{}, err
		}
	}
	return t.Contact(id)
}

// AddContactNumber gives a contact another number. Adding a number it already has is a
// no-op; a number of another contact fails with ErrNumberTaken.
func (t *Tx) AddContactNumber(contactID int64, number string, now time.Time) error {
	var owner int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT contact_id FROM contact_numbers WHERE number = ?`, number).Scan(&owner)
	switch {
	case err == nil && owner == contactID:
		return nil
	case err == nil:
		return fmt.Errorf("store: add number: %w", ErrNumberTaken)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: add number: %w", err)
	}
	if _, err := t.exec(`INSERT INTO contact_numbers (number, contact_id, created_at) VALUES (?, ?, ?)`,
		number, contactID, FormatTime(now)); err != nil {
		return fmt.Errorf("store: add number: %w", err)
	}
	return nil
}

// RemoveContactNumber takes a number away from a contact.
func (t *Tx) RemoveContactNumber(contactID int64, number string) error {
	ok, err := t.cas("remove number", `DELETE FROM contact_numbers WHERE number = ? AND contact_id = ?`, number, contactID)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}

// ContactUpdate holds the editable fields of a contact; nil means unchanged.
type ContactUpdate struct {
	Name   *string
	Type   *string
	Fields map[string]string // replaces all custom fields when non-nil
}

// UpdateContact changes a contact's editable fields.
func (t *Tx) UpdateContact(id int64, u ContactUpdate, now time.Time) error {
	set := []string{"updated_at = ?"}
	args := []any{FormatTime(now)}
	if u.Name != nil {
		set = append(set, "name = ?")
		args = append(args, *u.Name)
	}
	if u.Type != nil {
		set = append(set, "type = ?")
		args = append(args, *u.Type)
	}
	if u.Fields != nil {
		b, err := json.Marshal(u.Fields)
		if err != nil {
			return fmt.Errorf("store: update contact: %w", err)
		}
		set = append(set, "fields = ?")
		args = append(args, string(b))
	}
	args = append(args, id)
	ok, err := t.cas("update contact", `UPDATE contacts SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}

// Confirmation is an opt-out or opt-in confirmation SMS the router owes a contact.
type Confirmation struct {
	Kind   string // "out" or "in"
	Key    string // idempotency key for the outbox
	Line   string
	Number string
}

// SetOptOut records an opt-out (optedOut) or opt-in, with the keyword language, and
// notes the confirmation still to send (Kind "" for none).
func (t *Tx) SetOptOut(id int64, optedOut bool, language string, c Confirmation, now time.Time) error {
	ok, err := t.cas("set opt-out", `UPDATE contacts SET opted_out = ?, opted_out_at = ?, language = COALESCE(NULLIF(?, ''), language),
		confirm_pending = ?, confirm_key = ?, confirm_line = ?, confirm_number = ?, updated_at = ? WHERE id = ?`,
		flag(optedOut), map[bool]any{true: FormatTime(now), false: nil}[optedOut], language,
		c.Kind, c.Key, c.Line, c.Number, FormatTime(now), id)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}

// ConfirmationSent clears the pending confirmation if it is still the one with key.
func (db *DB) ConfirmationSent(ctx context.Context, contactID int64, key string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE contacts SET confirm_pending = '', confirm_key = '' WHERE id = ? AND confirm_key = ?`,
		contactID, key)
	if err != nil {
		return fmt.Errorf("store: confirmation sent: %w", err)
	}
	return nil
}

// PendingConfirmations lists contacts owed an opt-out/opt-in confirmation.
func (db *DB) PendingConfirmations(ctx context.Context, limit int) ([]Contact, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+contactCols+` FROM contacts WHERE confirm_pending <> '' ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending confirmations: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("store: pending confirmations: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending confirmations: %w", err)
	}
	return out, nil
}

// SetBlocked blocks or unblocks a contact.
func (t *Tx) SetBlocked(id int64, blocked bool, now time.Time) error {
	ok, err := t.cas("set blocked", `UPDATE contacts SET blocked = ?, updated_at = ? WHERE id = ?`, flag(blocked), FormatTime(now), id)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}

// MergeResult says what a contact merge moved.
type MergeResult struct {
	Numbers        int
	ThreadsMoved   int     // threads that changed contact
	ThreadsJoined  int     // threads folded into the target's thread on the same line
	ClosedEpisodes []int64 // live episodes of the source closed because the target had one
}

// MergeContacts folds source into target: numbers, threads (a thread on a line where the
// target already has one is joined into it: messages, notes and episodes move), tags
// and the opt-out/blocked flags (either one wins). If both threads had a live episode,
// the source's is closed and linked, so a thread keeps at most one. The source is kept,
// marked merged_into target.
func (t *Tx) MergeContacts(targetID, sourceID int64, now time.Time) (MergeResult, error) {
	var res MergeResult
	if targetID == sourceID {
		return res, fmt.Errorf("store: merge contact %d into itself", targetID)
	}
	ts := FormatTime(now)
	src, err := t.Contact(sourceID)
	if err != nil {
		return res, err
	}
	if _, err := t.Contact(targetID); err != nil {
		return res, err
	}
	r, err := t.exec(`UPDATE contact_numbers SET contact_id = ? WHERE contact_id = ?`, targetID, sourceID)
	if err != nil {
		return res, fmt.Errorf("store: merge numbers: %w", err)
	}
	n, _ := r.RowsAffected()
	res.Numbers = int(n)
	threads, err := queryThreads(t.ctx, t.tx, `SELECT `+threadCols+` FROM threads WHERE contact_id = ? ORDER BY id`, sourceID)
	if err != nil {
		return res, err
	}
	for _, th := range threads {
		var into int64
		err := t.tx.QueryRowContext(t.ctx, `SELECT id FROM threads WHERE contact_id = ? AND line = ?`, targetID, th.Line).Scan(&into)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := t.exec(`UPDATE threads SET contact_id = ? WHERE id = ?`, targetID, th.ID); err != nil {
				return res, fmt.Errorf("store: merge thread: %w", err)
			}
			if _, err := t.exec(`UPDATE conversations SET contact_id = ? WHERE thread_id = ?`, targetID, th.ID); err != nil {
				return res, fmt.Errorf("store: merge thread: %w", err)
			}
			res.ThreadsMoved++
			continue
		}
		if err != nil {
			return res, fmt.Errorf("store: merge thread: %w", err)
		}
		// Both have a thread on this line: at most one live episode may remain.
		srcLive, err1 := t.LiveConversation(th.ID)
		_, err2 := t.LiveConversation(into)
		if err1 == nil && err2 == nil {
			if _, err := t.exec(`UPDATE conversations SET status = 'CLOSED', owner_id = NULL,
				last_owner_id = COALESCE(owner_id, last_owner_id), snoozed_until = NULL, closed_at = ?,
				resolve_reason = 'merged', last_activity_at = ? WHERE id = ?`, ts, ts, srcLive.ID); err != nil {
				return res, fmt.Errorf("store: merge close episode: %w", err)
			}
			res.ClosedEpisodes = append(res.ClosedEpisodes, srcLive.ID)
			if _, err := t.exec(`UPDATE alerts SET state = 'superseded', note = 'contacts merged', updated_at = ?
				WHERE conversation_id = ? AND state = 'active'`, ts, srcLive.ID); err != nil {
				return res, fmt.Errorf("store: merge alerts: %w", err)
			}
		} else if err1 != nil && !errors.Is(err1, ErrNotFound) {
			return res, err1
		} else if err2 != nil && !errors.Is(err2, ErrNotFound) {
			return res, err2
		}
		for _, q := range []string{
			`UPDATE messages SET thread_id = ? WHERE thread_id = ?`,
			`UPDATE notes SET thread_id = ? WHERE thread_id = ?`,
		} {
			if _, err := t.exec(q, into, th.ID); err != nil {
				return res, fmt.Errorf("store: merge thread items: %w", err)
			}
		}
		if _, err := t.exec(`UPDATE conversations SET thread_id = ?, contact_id = ? WHERE thread_id = ?`, into, targetID, th.ID); err != nil {
			return res, fmt.Errorf("store: merge episodes: %w", err)
		}
		if _, err := t.exec(`UPDATE threads SET
			last_message_id = (SELECT MAX(id) FROM messages WHERE thread_id = threads.id),
			last_activity_at = MAX(last_activity_at, ?) WHERE id = ?`, FormatTime(th.LastActivityAt), into); err != nil {
			return res, fmt.Errorf("store: merge thread summary: %w", err)
		}
		res.ThreadsJoined++
	}
	if _, err := t.exec(`UPDATE contacts SET
		opted_out = MAX(opted_out, ?), blocked = MAX(blocked, ?),
		opted_out_at = COALESCE(opted_out_at, ?),
		name = CASE WHEN name = '' OR (type = 'lead' AND ? <> '' AND ? = 'customer') THEN ? ELSE name END,
		type = CASE WHEN ? = 'customer' THEN 'customer' ELSE type END,
		updated_at = ? WHERE id = ?`,
		flag(src.OptedOut), flag(src.Blocked), nullTime(src.OptedOutAt),
		src.Name, src.Type, src.Name, src.Type, ts, targetID); err != nil {
		return res, fmt.Errorf("store: merge flags: %w", err)
	}
	if _, err := t.exec(`UPDATE contacts SET merged_into = ?, updated_at = ? WHERE id = ?`, targetID, ts, sourceID); err != nil {
		return res, fmt.Errorf("store: merge mark source: %w", err)
	}
	return res, nil
}
