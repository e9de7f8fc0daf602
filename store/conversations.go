package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Conversation statuses (INBOX.md).
const (
	StatusNew      = "NEW"
	StatusOpen     = "OPEN"
	StatusSnoozed  = "SNOOZED"
	StatusResolved = "RESOLVED"
	StatusClosed   = "CLOSED"
)

// Conversation is one episode of work in a thread.
type Conversation struct {
	ID              int64     `json:"id"`
	ThreadID        int64     `json:"thread_id"`
	ContactID       int64     `json:"contact_id"`
	Line            string    `json:"line"`
	QueueID         int64     `json:"queue_id"`
	Status          string    `json:"status"`
	OwnerID         int64     `json:"owner_id,omitempty"`
	LastOwnerID     int64     `json:"last_owner_id,omitempty"`
	Priority        int       `json:"priority"`
	SnoozedUntil    time.Time `json:"snoozed_until,omitzero"`
	WakeOnReply     bool      `json:"wake_on_reply"`
	NeedsReply      bool      `json:"needs_reply"`
	WaitingSince    time.Time `json:"waiting_since,omitzero"`
	OwnerActivityAt time.Time `json:"owner_activity_at,omitzero"`
	FirstResponseAt time.Time `json:"first_response_at,omitzero"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	ResolvedBy      int64     `json:"resolved_by,omitempty"`
	ResolveReason   string    `json:"resolve_reason,omitempty"`
	ClosedAt        time.Time `json:"closed_at,omitzero"`
	ReopenCount     int       `json:"reopen_count"`
	PreviousID      int64     `json:"previous_id,omitempty"`
	JobRef          string    `json:"job_ref,omitempty"`
	Muted           bool      `json:"muted"`
	Archived        bool      `json:"archived"`
	FirstMessageID  int64     `json:"first_message_id,omitempty"`
	LastMessageID   int64     `json:"last_message_id,omitempty"`
	LastInboundID   int64     `json:"last_inbound_id,omitempty"`
	LastActivityAt  time.Time `json:"last_activity_at"`
	CreatedAt       time.Time `json:"created_at"`
}

const convCols = `id, thread_id, contact_id, line, queue_id, status, COALESCE(owner_id, 0), COALESCE(last_owner_id, 0),
	priority, snoozed_until, wake_on_reply, needs_reply, waiting_since, owner_activity_at, first_response_at,
	resolved_at, COALESCE(resolved_by, 0), resolve_reason, closed_at, reopen_count, COALESCE(previous_id, 0), job_ref,
	muted, archived, COALESCE(first_message_id, 0), COALESCE(last_message_id, 0), COALESCE(last_inbound_id, 0),
	last_activity_at, created_at`

func scanConversation(row interface{ Scan(...any) error }) (Conversation, error) {
	var c Conversation
	var snoozed, waiting, ownerAct, firstResp, resolved, closed sql.NullString
	var last, created string
	if err := row.Scan(&c.ID, &c.ThreadID, &c.ContactID, &c.Line, &c.QueueID, &c.Status, &c.OwnerID, &c.LastOwnerID,
		&c.Priority, &snoozed, &c.WakeOnReply, &c.NeedsReply, &waiting, &ownerAct, &firstResp,
		&resolved, &c.ResolvedBy, &c.ResolveReason, &closed, &c.ReopenCount, &c.PreviousID, &c.JobRef,
		&c.Muted, &c.Archived, &c.FirstMessageID, &c.LastMessageID, &c.LastInboundID, &last, &created); err != nil {
		return c, err
	}
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&c.SnoozedUntil, snoozed}, {&c.WaitingSince, waiting}, {&c.OwnerActivityAt, ownerAct},
		{&c.FirstResponseAt, firstResp}, {&c.ResolvedAt, resolved}, {&c.ClosedAt, closed}} {
		v, err := scanTime(p.src)
		if err != nil {
			return c, err
		}
		*p.dst = v
	}
	var err error
	if c.LastActivityAt, err = ParseTime(last); err != nil {
		return c, err
	}
	c.CreatedAt, err = ParseTime(created)
	return c, err
}

func queryConversations(ctx context.Context, q inboxQuerier, what, query string, args ...any) ([]Conversation, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

func conversationByID(ctx context.Context, q inboxQuerier, id int64) (Conversation, error) {
	c, err := scanConversation(q.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: conversation %d: %w", id, err)
	}
	return c, nil
}

// Conversation returns one conversation.
func (db *DB) Conversation(ctx context.Context, id int64) (Conversation, error) {
	return conversationByID(ctx, db.r, id)
}

// Conversation returns one conversation inside the transaction.
func (t *Tx) Conversation(id int64) (Conversation, error) { return conversationByID(t.ctx, t.tx, id) }

// ConversationsOfThread lists a thread's episodes, oldest first.
func (db *DB) ConversationsOfThread(ctx context.Context, threadID int64) ([]Conversation, error) {
	return queryConversations(ctx, db.r, "episodes of thread", `SELECT `+convCols+` FROM conversations
		WHERE thread_id = ? ORDER BY id`, threadID)
}

// LiveConversation returns the thread's episode that is not CLOSED, or ErrNotFound.
func (t *Tx) LiveConversation(threadID int64) (Conversation, error) {
	c, err := scanConversation(t.tx.QueryRowContext(t.ctx, `SELECT `+convCols+` FROM conversations
		WHERE thread_id = ? AND status <> 'CLOSED'`, threadID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: live conversation: %w", err)
	}
	return c, nil
}

// LatestConversation returns the thread's newest episode, or ErrNotFound.
func (t *Tx) LatestConversation(threadID int64) (Conversation, error) {
	c, err := scanConversation(t.tx.QueryRowContext(t.ctx, `SELECT `+convCols+` FROM conversations
		WHERE thread_id = ? ORDER BY id DESC LIMIT 1`, threadID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: latest conversation: %w", err)
	}
	return c, nil
}

// NewConversation describes an episode to create.
type NewConversation struct {
	ThreadID   int64
	ContactID  int64
	Line       string
	QueueID    int64
	Status     string // NEW, OPEN (with OwnerID) or RESOLVED (blocked contact)
	OwnerID    int64
	PreviousID int64
	JobRef     string
	Muted      bool
	Priority   int
	Now        time.Time
}

// CreateConversation inserts an episode. The thread must have no live episode (a unique
// index enforces it).
func (t *Tx) CreateConversation(n NewConversation) (Conversation, error) {
	ts := FormatTime(n.Now)
	var resolvedAt any
	reason := ""
	if n.Status == StatusResolved {
		resolvedAt, reason = ts, "blocked"
	}
	id, err := t.insertID("create conversation", `INSERT INTO conversations (thread_id, contact_id, line, queue_id,
		status, owner_id, last_owner_id, previous_id, job_ref, muted, priority, owner_activity_at, resolved_at,
		resolve_reason, last_activity_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ThreadID, n.ContactID, n.Line, n.QueueID, n.Status, nullID(n.OwnerID), nullID(n.OwnerID), nullID(n.PreviousID),
		n.JobRef, flag(n.Muted), n.Priority, map[bool]any{true: ts, false: nil}[n.OwnerID != 0], resolvedAt, reason, ts, ts)
	if err != nil {
		return Conversation{}, err
	}
	return t.Conversation(id)
}

// CopyTags copies the tags of one conversation to another (a CLOSED episode reopened
// as a new one keeps its tags).
func (t *Tx) CopyTags(fromID, toID int64) error {
	_, err := t.exec(`INSERT OR IGNORE INTO conversation_tags (conversation_id, tag_id)
		SELECT ?, tag_id FROM conversation_tags WHERE conversation_id = ?`, toID, fromID)
	if err != nil {
		return fmt.Errorf("store: copy tags: %w", err)
	}
	return nil
}

// Accept is the compare-and-set of T7: NEW and unowned becomes OPEN and owned by
// userID. It reports false, changing nothing, when the conversation was not NEW and
// unowned any more (someone else accepted first).
func (t *Tx) Accept(id, userID int64, now time.Time) (bool, error) {
	ts := FormatTime(now)
	return t.cas("accept", `UPDATE conversations SET status = 'OPEN', owner_id = ?, last_owner_id = ?,
		owner_activity_at = ?, last_activity_at = ? WHERE id = ? AND status = 'NEW' AND owner_id IS NULL`,
		userID, userID, ts, ts, id)
}

// Assign makes userID the owner (T9), from any status but CLOSED, provided the
// conversation still has status fromStatus and owner fromOwner (0 = none): a
// compare-and-set against what the caller checked. A RESOLVED episode reopens.
func (t *Tx) Assign(id int64, fromStatus string, fromOwner, userID int64, now time.Time) (bool, error) {
	ts := FormatTime(now)
	return t.cas("assign", `UPDATE conversations SET status = 'OPEN', owner_id = ?, last_owner_id = ?,
		snoozed_until = NULL, wake_on_reply = 0, resolved_at = NULL, resolved_by = NULL, resolve_reason = '',
		archived = 0, owner_activity_at = ?, last_activity_at = ?
		WHERE id = ? AND status = ? AND status <> 'CLOSED' AND COALESCE(owner_id, 0) = ?`,
		userID, userID, ts, ts, id, fromStatus, fromOwner)
}

// Release turns an OPEN conversation owned by fromOwner back to NEW and unowned (T10,
// T11), remembering the last owner.
func (t *Tx) Release(id, fromOwner int64, now time.Time) (bool, error) {
	ts := FormatTime(now)
	return t.cas("release", `UPDATE conversations SET status = 'NEW', owner_id = NULL, last_owner_id = ?,
		last_activity_at = ? WHERE id = ? AND status = 'OPEN' AND owner_id = ?`, fromOwner, ts, id, fromOwner)
}

// Snooze moves a NEW or OPEN conversation (still in fromStatus) to SNOOZED until a
// time (zero for none) and/or the customer's reply. The owner is kept.
func (t *Tx) Snooze(id int64, fromStatus string, until time.Time, wakeOnReply bool, now time.Time) (bool, error) {
	return t.cas("snooze", `UPDATE conversations SET status = 'SNOOZED', snoozed_until = ?, wake_on_reply = ?,
		last_activity_at = ? WHERE id = ? AND status = ? AND status IN ('NEW', 'OPEN')`,
		nullTime(until), flag(wakeOnReply), FormatTime(now), id, fromStatus)
}

// Wake ends a snooze (T4, T13): OPEN when it has an owner, NEW when not.
func (t *Tx) Wake(id int64, now time.Time) (bool, error) {
	return t.cas("wake", `UPDATE conversations SET status = CASE WHEN owner_id IS NULL THEN 'NEW' ELSE 'OPEN' END,
		snoozed_until = NULL, wake_on_reply = 0, last_activity_at = ? WHERE id = ? AND status = 'SNOOZED'`,
		FormatTime(now), id)
}

// Resolve moves a conversation still in fromStatus (NEW, OPEN or SNOOZED) to RESOLVED
// (T14): ownership is released, the last owner remembered.
func (t *Tx) Resolve(id int64, fromStatus string, by int64, reason string, now time.Time) (bool, error) {
	ts := FormatTime(now)
	return t.cas("resolve", `UPDATE conversations SET status = 'RESOLVED', last_owner_id = COALESCE(owner_id, last_owner_id),
		owner_id = NULL, snoozed_until = NULL, wake_on_reply = 0, resolved_at = ?, resolved_by = ?, resolve_reason = ?,
		last_activity_at = ? WHERE id = ? AND status = ? AND status IN ('NEW', 'OPEN', 'SNOOZED')`,
		ts, nullID(by), reason, ts, id, fromStatus)
}

// Close makes a conversation still in fromStatus CLOSED (T15, or closed by hand):
// final, unowned.
func (t *Tx) Close(id int64, fromStatus string, now time.Time) (bool, error) {
	ts := FormatTime(now)
	return t.cas("close", `UPDATE conversations SET status = 'CLOSED', last_owner_id = COALESCE(owner_id, last_owner_id),
		owner_id = NULL, snoozed_until = NULL, wake_on_reply = 0, closed_at = ?,
		resolved_at = COALESCE(resolved_at, ?), last_activity_at = ?
		WHERE id = ? AND status = ? AND status <> 'CLOSED'`, ts, ts, ts, id, fromStatus)
}

// Reopen reopens a RESOLVED conversation in place (T5, T16): OPEN owned by ownerID,
// or NEW when ownerID is 0. reopen_count grows and the episode is un-archived.
func (t *Tx) Reopen(id, ownerID int64, now time.Time) (bool, error) {
	ts := FormatTime(now)
	status := StatusNew
	if ownerID != 0 {
		status = StatusOpen
	}
	return t.cas("reopen", `UPDATE conversations SET status = ?, owner_id = ?, last_owner_id = COALESCE(?, last_owner_id),
		resolved_at = NULL, resolved_by = NULL, resolve_reason = '', archived = 0, reopen_count = reopen_count + 1,
		owner_activity_at = CASE WHEN ? IS NULL THEN owner_activity_at ELSE ? END, last_activity_at = ?
		WHERE id = ? AND status = 'RESOLVED'`, status, nullID(ownerID), nullID(ownerID), nullID(ownerID), ts, ts, id)
}

// SetArchived archives (only RESOLVED or CLOSED, T17) or un-archives a conversation.
func (t *Tx) SetArchived(id int64, archived bool, now time.Time) (bool, error) {
	if archived {
		return t.cas("archive", `UPDATE conversations SET archived = 1 WHERE id = ? AND status IN ('RESOLVED', 'CLOSED')`, id)
	}
	return t.cas("unarchive", `UPDATE conversations SET archived = 0 WHERE id = ?`, id)
}

// SetMuted mutes (no alerts) or unmutes a conversation.
func (t *Tx) SetMuted(id int64, muted bool) error {
	_, err := t.exec(`UPDATE conversations SET muted = ? WHERE id = ?`, flag(muted), id)
	if err != nil {
		return fmt.Errorf("store: set muted: %w", err)
	}
	return nil
}

// SetPriority sets a conversation's priority.
func (t *Tx) SetPriority(id int64, priority int, now time.Time) error {
	_, err := t.exec(`UPDATE conversations SET priority = ?, last_activity_at = ? WHERE id = ?`, priority, FormatTime(now), id)
	if err != nil {
		return fmt.Errorf("store: set priority: %w", err)
	}
	return nil
}

// SetJobRef ties a conversation to a job (T19).
func (t *Tx) SetJobRef(id int64, jobRef string) error {
	if _, err := t.exec(`UPDATE conversations SET job_ref = ? WHERE id = ?`, jobRef, id); err != nil {
		return fmt.Errorf("store: set job ref: %w", err)
	}
	return nil
}

// NoteInbound records a customer message in a conversation: it needs a reply, and the
// customer waits from now unless already waiting.
func (t *Tx) NoteInbound(id, messageID int64, now time.Time) error {
	ts := FormatTime(now)
	_, err := t.exec(`UPDATE conversations SET last_message_id = ?, last_inbound_id = ?,
		first_message_id = COALESCE(first_message_id, ?), needs_reply = 1, waiting_since = COALESCE(waiting_since, ?),
		last_activity_at = ? WHERE id = ?`, messageID, messageID, messageID, ts, ts, id)
	if err != nil {
		return fmt.Errorf("store: note inbound: %w", err)
	}
	return nil
}

// NoteOutbound records a reply in a conversation: it no longer needs one, the first
// response time is set, and when byOwner the owner's activity clock restarts.
func (t *Tx) NoteOutbound(id, messageID int64, byOwner bool, now time.Time) error {
	ts := FormatTime(now)
	_, err := t.exec(`UPDATE conversations SET last_message_id = MAX(COALESCE(last_message_id, 0), ?),
		first_message_id = COALESCE(first_message_id, ?), needs_reply = 0, waiting_since = NULL,
		first_response_at = COALESCE(first_response_at, ?),
		owner_activity_at = CASE WHEN ? THEN ? ELSE owner_activity_at END, last_activity_at = ? WHERE id = ?`,
		messageID, messageID, ts, flag(byOwner), ts, ts, id)
	if err != nil {
		return fmt.Errorf("store: note outbound: %w", err)
	}
	return nil
}

// SetNeedsReply sets or clears the team-level "needs reply" flag ("no reply needed").
func (t *Tx) SetNeedsReply(id int64, needs bool, now time.Time) error {
	ts := FormatTime(now)
	_, err := t.exec(`UPDATE conversations SET needs_reply = ?,
		waiting_since = CASE WHEN ? THEN COALESCE(waiting_since, ?) ELSE NULL END WHERE id = ?`,
		flag(needs), flag(needs), ts, id)
	if err != nil {
		return fmt.Errorf("store: set needs reply: %w", err)
	}
	return nil
}

// TouchOwnerActivity restarts the owner's activity clock (T11) and the list order.
func (t *Tx) TouchOwnerActivity(id int64, now time.Time) error {
	ts := FormatTime(now)
	_, err := t.exec(`UPDATE conversations SET owner_activity_at = ?, last_activity_at = ? WHERE id = ?`, ts, ts, id)
	if err != nil {
		return fmt.Errorf("store: touch owner activity: %w", err)
	}
	return nil
}

// DueSnoozes lists SNOOZED conversations whose time has come (T13).
func (db *DB) DueSnoozes(ctx context.Context, now time.Time, limit int) ([]Conversation, error) {
	return queryConversations(ctx, db.r, "due snoozes", `SELECT `+convCols+` FROM conversations
		WHERE status = 'SNOOZED' AND snoozed_until IS NOT NULL AND snoozed_until <= ? ORDER BY snoozed_until LIMIT ?`,
		FormatTime(now), limit)
}

// DueGraceEnds lists RESOLVED conversations resolved at or before cutoff (T15).
func (db *DB) DueGraceEnds(ctx context.Context, cutoff time.Time, limit int) ([]Conversation, error) {
	return queryConversations(ctx, db.r, "due grace ends", `SELECT `+convCols+` FROM conversations
		WHERE status = 'RESOLVED' AND resolved_at <= ? ORDER BY resolved_at LIMIT ?`, FormatTime(cutoff), limit)
}

// DueOwnershipTimeouts lists OPEN conversations whose customer has waited longer than
// their queue's ownership timeout with no activity from the owner since (T11).
func (db *DB) DueOwnershipTimeouts(ctx context.Context, now time.Time, limit int) ([]Conversation, error) {
	return queryConversations(ctx, db.r, "due ownership timeouts", `SELECT `+prefixCols("c.", convCols)+`
		FROM conversations c JOIN queues q ON q.id = c.queue_id
		WHERE c.status = 'OPEN' AND c.needs_reply = 1 AND q.ownership_timeout > 0
		AND CAST(strftime('%s', MAX(c.waiting_since, COALESCE(c.owner_activity_at, c.waiting_since))) AS INTEGER)
		    + q.ownership_timeout <= CAST(strftime('%s', ?) AS INTEGER)
		ORDER BY c.waiting_since LIMIT ?`, FormatTime(now), limit)
}

// DueAutoResolve lists NEW and OPEN conversations (never SNOOZED) with no activity
// since cutoff.
func (db *DB) DueAutoResolve(ctx context.Context, cutoff time.Time, limit int) ([]Conversation, error) {
	return queryConversations(ctx, db.r, "due auto-resolve", `SELECT `+convCols+` FROM conversations
		WHERE status IN ('NEW', 'OPEN') AND last_activity_at <= ? ORDER BY last_activity_at LIMIT ?`,
		FormatTime(cutoff), limit)
}

// prefixCols qualifies every column of a column list with a table alias.
func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		switch {
		case strings.HasPrefix(p, "COALESCE("):
			p = "COALESCE(" + prefix + strings.TrimPrefix(p, "COALESCE(")
		case p == "0)" || strings.HasSuffix(p, ")"):
		default:
			p = prefix + p
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ")
}

// Owner filters for ConversationFilter.Owner.
const (
	OwnerAny     = ""        // everyone's
	OwnerMe      = "me"      // Viewer's
	OwnerUnowned = "unowned" // nobody's
	OwnerOthers  = "others"  // owned, not by Viewer
	OwnerUser    = "user"    // OwnerID's
)

// Visibility limits what a user may list (router/permissions.go decides it).
type Visibility struct {
	All bool // no limit (admin, supervisor)
	// UserID sees their own episodes (owned now or last) everywhere, unowned ones in
	// MemberQueues, and owned ones of others in MemberQueues (OthersInQueues) or
	// anywhere (OthersEverywhere).
	UserID           int64
	MemberQueues     []int64
	OthersInQueues   bool
	OthersEverywhere bool
}

// ConversationFilter selects a page of conversations, newest activity first. Every
// combination is served by an index range scan on (…, last_activity_at, id).
type ConversationFilter struct {
	Visibility Visibility
	Viewer     int64    // the user asking (for OwnerMe/OwnerOthers and Unread)
	Statuses   []string // empty: all but CLOSED
	Owner      string   // OwnerAny, OwnerMe, ...
	OwnerID    int64    // with OwnerUser
	QueueID    int64
	Line       string
	TagID      int64
	ContactID  int64
	Archived   bool // list archived ones instead of visible ones
	Unread     bool // only those with an inbound message after Viewer's read marker
	NeedsReply bool
	// Search keeps conversations whose contact's name or numbers, or whose thread's
	// message text, contain every word of it (see ContactFilter.Query). A search with
	// no word in it (only punctuation) finds nothing.
	Search string
	Cursor string // from the previous page; "" for the first
	Limit  int    // default 50, at most 200
}

// ConversationPage is one page and the cursor of the next ("" at the end).
type ConversationPage struct {
	Items []ConversationItem
	Next  string
}

// ConversationItem is a list row: the conversation plus what the row shows.
type ConversationItem struct {
	Conversation
	Unread bool `json:"unread"` // for the viewer
}

func encodeCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s|%d", FormatTime(at), id))
}

func decodeCursor(s string) (string, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", 0, fmt.Errorf("store: bad cursor: %w", err)
	}
	ts, idText, ok := strings.Cut(string(b), "|")
	var id int64
	if _, err := fmt.Sscan(idText, &id); !ok || err != nil {
		return "", 0, errors.New("store: bad cursor")
	}
	if _, err := ParseTime(ts); err != nil {
		return "", 0, errors.New("store: bad cursor")
	}
	return ts, id, nil
}

// ErrBadCursor is matched by errors from a cursor that was not made by this package.
var ErrBadCursor = errors.New("store: bad cursor")

// Conversations returns one page of conversations under f, newest activity first,
// using keyset paging on (last_activity_at, id).
func (db *DB) Conversations(ctx context.Context, f ConversationFilter) (ConversationPage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 200 {
		f.Limit = 200
	}
	q, args, empty, err := conversationsQuery(f)
	if err != nil || empty {
		return ConversationPage{}, err
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return ConversationPage{}, fmt.Errorf("store: list conversations: %w", err)
	}
	defer rows.Close()
	var page ConversationPage
	for rows.Next() {
		var it ConversationItem
		var unread bool
		c, err := scanConversation(scanPlus{rows, &unread})
		if err != nil {
			return page, fmt.Errorf("store: list conversations: %w", err)
		}
		it.Conversation, it.Unread = c, unread
		page.Items = append(page.Items, it)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("store: list conversations: %w", err)
	}
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		last := page.Items[len(page.Items)-1]
		page.Next = encodeCursor(last.LastActivityAt, last.ID)
	}
	return page, nil
}

// conversationsQuery builds the query of one page under f (f.Limit set), or reports
// that nothing can match (a search with no word in it).
func conversationsQuery(f ConversationFilter) (q string, args []any, empty bool, err error) {
	var where []string
	if len(f.Statuses) == 0 {
		where = append(where, "c.status <> 'CLOSED'")
	} else {
		where = append(where, "c.status IN ("+inPlaceholders(len(f.Statuses))+")")
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	where = append(where, "c.archived = ?")
	args = append(args, flag(f.Archived))
	switch f.Owner {
	case OwnerMe:
		where = append(where, "c.owner_id = ?")
		args = append(args, f.Viewer)
	case OwnerUnowned:
		where = append(where, "c.owner_id IS NULL")
	case OwnerOthers:
		where = append(where, "c.owner_id IS NOT NULL AND c.owner_id <> ?")
		args = append(args, f.Viewer)
	case OwnerUser:
		where = append(where, "c.owner_id = ?")
		args = append(args, f.OwnerID)
	}
	if f.QueueID != 0 {
		where = append(where, "c.queue_id = ?")
		args = append(args, f.QueueID)
	}
	if f.Line != "" {
		where = append(where, "c.line = ?")
		args = append(args, f.Line)
	}
	if f.ContactID != 0 {
		where = append(where, "c.contact_id = ?")
		args = append(args, f.ContactID)
	}
	if f.TagID != 0 {
		where = append(where, "c.id IN (SELECT conversation_id FROM conversation_tags WHERE tag_id = ?)")
		args = append(args, f.TagID)
	}
	if f.NeedsReply {
		where = append(where, "c.needs_reply = 1")
	}
	from, fromArgs := "conversations c", []any{}
	if strings.TrimSpace(f.Search) != "" {
		m := ftsQuery(f.Search)
		if m == "" {
			return "", nil, true, nil
		}
		from = "(" + conversationSearchHits + ") AS hits CROSS JOIN conversations c ON c.id = hits.id"
		fromArgs = append(fromArgs, m, m)
	}
	if f.Unread {
		where = append(where, `COALESCE(c.last_inbound_id, 0) > COALESCE((SELECT last_read_id FROM read_markers
			WHERE user_id = ? AND conversation_id = c.id), 0)`)
		args = append(args, f.Viewer)
	}
	if !f.Visibility.All {
		cond, vargs := visibilityCond(f.Visibility)
		where = append(where, cond)
		args = append(args, vargs...)
	}
	if f.Cursor != "" {
		ts, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, false, fmt.Errorf("%w: %v", ErrBadCursor, err)
		}
		where = append(where, "(c.last_activity_at < ? OR (c.last_activity_at = ? AND c.id < ?))")
		args = append(args, ts, ts, id)
	}
	q = `SELECT ` + prefixCols("c.", convCols) + `, COALESCE(c.last_inbound_id, 0) > COALESCE((SELECT last_read_id
		FROM read_markers WHERE user_id = ? AND conversation_id = c.id), 0)
		FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?`
	args = append(append([]any{f.Viewer}, fromArgs...), args...)
	args = append(args, f.Limit+1)
	return q, args, false, nil
}

// scanPlus scans a row that has extra trailing columns after the conversation columns.
type scanPlus struct {
	rows  *sql.Rows
	extra *bool
}

func (s scanPlus) Scan(dst ...any) error { return s.rows.Scan(append(dst, s.extra)...) }

// ConversationCounts are badge counts for one user.
type ConversationCounts struct {
	Mine       int `json:"mine"`        // OPEN or SNOOZED, owned by the user
	Unowned    int `json:"unowned"`     // NEW (in visible queues)
	NeedsReply int `json:"needs_reply"` // live and waiting for a reply (visible)
	Unread     int `json:"unread"`      // live and unread by the user (visible)
}

// CountConversations returns badge counts for viewer within vis.
//
// It reads every live, visible episode once through the covering index
// conversations_counts (never the table rows). Unread is counted without a lookup per
// episode: episodes with an inbound message, less those of them whose inbound message
// the viewer's read marker has reached (found from the viewer's few read markers).
func (db *DB) CountConversations(ctx context.Context, viewer int64, vis Visibility) (ConversationCounts, error) {
	var c ConversationCounts
	cond, condArgs := visibilityCond(vis)
	args := []any{viewer, viewer}
	args = append(args, condArgs...)
	args = append(args, condArgs...)
	err := db.r.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(c.owner_id = ? AND c.status IN ('OPEN', 'SNOOZED')), 0),
		COALESCE(SUM(c.status = 'NEW'), 0),
		COALESCE(SUM(c.needs_reply = 1 AND c.status IN ('NEW', 'OPEN')), 0),
		COALESCE(SUM(COALESCE(c.last_inbound_id, 0) > 0), 0) - (SELECT count(*)
			FROM read_markers r JOIN conversations c ON c.id = r.conversation_id
			WHERE r.user_id = ? AND c.status <> 'CLOSED' AND c.archived = 0 AND `+cond+`
			AND COALESCE(c.last_inbound_id, 0) > 0 AND c.last_inbound_id <= r.last_read_id)
		FROM conversations c WHERE c.status <> 'CLOSED' AND c.archived = 0 AND `+cond, args...).
		Scan(&c.Mine, &c.Unowned, &c.NeedsReply, &c.Unread)
	if err != nil {
		return c, fmt.Errorf("store: count conversations: %w", err)
	}
	return c, nil
}

// visibilityCond is the condition on conversations c that vis allows, with its
// arguments.
func visibilityCond(vis Visibility) (string, []any) {
	if vis.All {
		return "1", nil
	}
	qs := inPlaceholders(len(vis.MemberQueues))
	cond := "(c.owner_id = ? OR c.last_owner_id = ? OR (c.owner_id IS NULL AND c.queue_id IN (" + qs + "))"
	args := []any{vis.UserID, vis.UserID}
	for _, q := range vis.MemberQueues {
		args = append(args, q)
	}
	if vis.OthersEverywhere {
		cond += " OR c.owner_id IS NOT NULL"
	} else if vis.OthersInQueues {
		cond += " OR c.queue_id IN (" + qs + ")"
		for _, q := range vis.MemberQueues {
			args = append(args, q)
		}
	}
	return cond + ")", args
}

// SetReadMarker moves userID's read marker in a conversation to messageID (which may
// go backwards: mark unread, T18).
func (t *Tx) SetReadMarker(userID, conversationID, messageID int64, now time.Time) error {
	_, err := t.exec(`INSERT INTO read_markers (user_id, conversation_id, last_read_id, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_id = excluded.last_read_id,
		updated_at = excluded.updated_at`, userID, conversationID, messageID, FormatTime(now))
	if err != nil {
		return fmt.Errorf("store: set read marker: %w", err)
	}
	return nil
}

// ReadMarker returns userID's read position in a conversation (0 when never read).
func (db *DB) ReadMarker(ctx context.Context, userID, conversationID int64) (int64, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT last_read_id FROM read_markers WHERE user_id = ? AND conversation_id = ?`,
		userID, conversationID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read marker: %w", err)
	}
	return id, nil
}

// InboundBefore returns the id of the last inbound message of a thread below id (0 if
// none): mark unread puts the marker just before the last inbound message.
func (t *Tx) InboundBefore(threadID, id int64) (int64, error) {
	var prev int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(MAX(id), 0) FROM messages WHERE thread_id = ? AND id < ?`,
		threadID, id).Scan(&prev)
	if err != nil {
		return 0, fmt.Errorf("store: message before: %w", err)
	}
	return prev, nil
}

// AddParticipant adds a follower of a conversation (mentioned, or added by hand).
func (t *Tx) AddParticipant(conversationID, userID int64, reason string, now time.Time) error {
	_, err := t.exec(`INSERT OR IGNORE INTO participants (conversation_id, user_id, reason, created_at) VALUES (?, ?, ?, ?)`,
		conversationID, userID, reason, FormatTime(now))
	if err != nil {
		return fmt.Errorf("store: add participant: %w", err)
	}
	return nil
}

// RemoveParticipant removes a follower.
func (t *Tx) RemoveParticipant(conversationID, userID int64) error {
	_, err := t.exec(`DELETE FROM participants WHERE conversation_id = ? AND user_id = ?`, conversationID, userID)
	if err != nil {
		return fmt.Errorf("store: remove participant: %w", err)
	}
	return nil
}

// Participants lists the followers of a conversation.
func (t *Tx) Participants(conversationID int64) ([]int64, error) {
	return queryIDs(t.ctx, t.tx, "participants", `SELECT user_id FROM participants WHERE conversation_id = ? ORDER BY user_id`,
		conversationID)
}

// Participants lists the followers of a conversation.
func (db *DB) Participants(ctx context.Context, conversationID int64) ([]int64, error) {
	return queryIDs(ctx, db.r, "participants", `SELECT user_id FROM participants WHERE conversation_id = ? ORDER BY user_id`,
		conversationID)
}

func queryIDs(ctx context.Context, q inboxQuerier, what, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// DeleteConversation removes an episode with its alerts, tags, notes, markers and
// activity (admin only; messages stay in the thread).
func (t *Tx) DeleteConversation(id int64) error {
	if _, err := t.exec(`UPDATE conversations SET previous_id = NULL WHERE previous_id = ?`, id); err != nil {
		return fmt.Errorf("store: delete conversation: %w", err)
	}
	ok, err := t.cas("delete conversation", `DELETE FROM conversations WHERE id = ?`, id)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}
