package store

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of DeleteContact.
var (
	// ErrHasHistory means the contact still has messages or notes: deleting it would
	// delete them too, which needs force.
	ErrHasHistory = errors.New("store: the contact has messages or notes")
	// ErrSending means a message to the contact is being handed to a modem right now.
	ErrSending = errors.New("store: a message to the contact is being handed to a modem; try again shortly")
)

// ContactDeletion says what DeleteContact removed, or (with ErrHasHistory) what it
// would have removed.
type ContactDeletion struct {
	Threads       int `json:"threads"`
	Conversations int `json:"conversations"`
	Messages      int `json:"messages"`
	Notes         int `json:"notes"`
	// MergedContacts are contacts merged into this one earlier: their remains go too.
	MergedContacts int `json:"merged_contacts"`
	// Episodes are the conversations as they were before deletion (for events).
	Episodes []Conversation `json:"-"`
}

// DeleteContact removes a contact for good, with its numbers, the contacts merged into
// it, its threads and everything in them: conversations (with their alerts, tags,
// notes, read markers, participants and activity), messages (with their parts and raw
// inbound PDUs) and the search index entries. Jobs, alert sends and relays that
// pointed at it keep their rows with the reference cleared, so nothing is left
// pointing at a deleted row.
//
// A contact with messages or notes is only deleted with force; without it the answer
// is ErrHasHistory with the counts filled in. ErrSending while a part of one of its
// messages is being submitted to a modem.
func (t *Tx) DeleteContact(id int64, force bool) (ContactDeletion, error) {
	var d ContactDeletion
	if _, err := t.Contact(id); err != nil {
		return d, err
	}
	ids, err := queryIDs(t.ctx, t.tx, "delete contact", `WITH RECURSIVE doomed(id) AS (
		SELECT ? UNION SELECT c.id FROM contacts c JOIN doomed d ON c.merged_into = d.id)
		SELECT id FROM doomed ORDER BY id`, id)
	if err != nil {
		return d, err
	}
	d.MergedContacts = len(ids) - 1
	contacts := inPlaceholders(len(ids))
	idArgs := make([]any, len(ids))
	for i, v := range ids {
		idArgs[i] = v
	}
	threads := `SELECT id FROM threads WHERE contact_id IN (` + contacts + `)`
	messages := `SELECT id FROM messages WHERE thread_id IN (` + threads + `)`
	episodes := `SELECT id FROM conversations WHERE thread_id IN (` + threads + `) OR contact_id IN (` + contacts + `)`
	twice := append(append([]any{}, idArgs...), idArgs...)

	count := func(what, q string, args []any) (int, error) {
		var n int
		if err := t.tx.QueryRowContext(t.ctx, q, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("store: delete contact: count %s: %w", what, err)
		}
		return n, nil
	}
	if d.Threads, err = count("threads", `SELECT count(*) FROM (`+threads+`)`, idArgs); err != nil {
		return d, err
	}
	if d.Messages, err = count("messages", `SELECT count(*) FROM (`+messages+`)`, idArgs); err != nil {
		return d, err
	}
	if d.Notes, err = count("notes", `SELECT count(*) FROM notes WHERE thread_id IN (`+threads+`)`, idArgs); err != nil {
		return d, err
	}
	if d.Episodes, err = queryConversations(t.ctx, t.tx, "delete contact", `SELECT `+convCols+` FROM conversations
		WHERE id IN (`+episodes+`) ORDER BY id`, twice...); err != nil {
		return d, err
	}
	d.Conversations = len(d.Episodes)
	if (d.Messages > 0 || d.Notes > 0) && !force {
		return d, ErrHasHistory
	}
	sending, err := count("parts in flight", `SELECT count(*) FROM parts WHERE state = 'submitting'
		AND message_id IN (`+messages+`)`, idArgs)
	if err != nil {
		return d, err
	}
	if sending > 0 {
		return d, ErrSending
	}

	steps := []struct {
		what string
		q    string
		args []any
	}{
		// References without a foreign key, or whose key does not cascade.
		{"jobs", `UPDATE jobs SET contact_id = NULL WHERE contact_id IN (` + contacts + `)`, idArgs},
		{"alert sends", `UPDATE alert_sends SET message_id = NULL WHERE message_id IN (` + messages + `)`, idArgs},
		{"relays", `UPDATE job_relays SET thread_id = NULL WHERE thread_id IN (` + threads + `)`, idArgs},
		{"relays", `UPDATE job_relays SET source_id = NULL WHERE source_id IN (` + messages + `)`, idArgs},
		{"relays", `UPDATE job_relays SET message_id = NULL WHERE message_id IN (` + messages + `)`, idArgs},
		{"episode links", `UPDATE conversations SET previous_id = NULL WHERE previous_id IN (` + episodes + `)`, twice},
		// The raw PDUs hold the text of inbound messages: they go with them.
		{"inbound pdus", `DELETE FROM inbound_pdus WHERE message_id IN (` + messages + `)`, idArgs},
		{"messages", `DELETE FROM messages WHERE id IN (` + messages + `)`, idArgs},
		{"notes", `DELETE FROM notes WHERE thread_id IN (` + threads + `)`, idArgs},
		{"conversations", `DELETE FROM conversations WHERE id IN (` + episodes + `)`, twice},
		{"threads", `DELETE FROM threads WHERE contact_id IN (` + contacts + `)`, idArgs},
		{"numbers", `DELETE FROM contact_numbers WHERE contact_id IN (` + contacts + `)`, idArgs},
		{"contacts", `DELETE FROM contacts WHERE id IN (` + contacts + `)`, idArgs},
	}
	for _, s := range steps {
		if _, err := t.exec(s.q, s.args...); err != nil {
			return d, fmt.Errorf("store: delete contact: %s: %w", s.what, err)
		}
	}
	return d, nil
}

// String is a short account of a deletion, for logs and error messages.
func (d ContactDeletion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d thread(s), %d conversation(s), %d message(s), %d note(s)", d.Threads, d.Conversations, d.Messages, d.Notes)
	if d.MergedContacts > 0 {
		fmt.Fprintf(&b, ", %d merged contact(s)", d.MergedContacts)
	}
	return b.String()
}
