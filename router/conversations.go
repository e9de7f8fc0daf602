package router

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// MaxBody bounds the text of a reply or a note (characters).
const MaxBody = 1600

// act runs fn on conversation id for actor a inside one write transaction and returns
// the conversation as fn left it.
func (r *Router) act(ctx context.Context, a Actor, id int64, fn func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error) (store.Conversation, error) {
	var out store.Conversation
	err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		c, err := tx.Conversation(id)
		if err != nil {
			return notFound(err, fmt.Sprintf("conversation %d", id))
		}
		if err := fn(tx, em, w, c, r.now()); err != nil {
			return err
		}
		out, err = tx.Conversation(id)
		return err
	})
	return out, err
}

func invalidFrom(c store.Conversation, what string) error {
	return fmt.Errorf("%w: cannot %s a %s conversation", ErrInvalidTransition, what, c.Status)
}

// conflict builds the error for a lost accept race, naming the winner.
func conflict(tx *store.Tx, c store.Conversation) error {
	name := "someone else"
	if ag, err := tx.Agent(c.OwnerID); err == nil {
		name = ag.Name()
	}
	return &AcceptConflictError{ConversationID: c.ID, OwnerID: c.OwnerID, Owner: name}
}

// accept is T7 inside a transaction: compare-and-set NEW → OPEN owned by w.
func (r *Router) accept(tx *store.Tx, em *emitter, w who, c store.Conversation, how string, now time.Time) (store.Conversation, error) {
	if c.Status != store.StatusNew {
		if c.OwnerID != 0 {
			return c, conflict(tx, c)
		}
		return c, invalidFrom(c, "accept")
	}
	ok, err := tx.Accept(c.ID, w.UserID, now)
	if err != nil {
		return c, err
	}
	if !ok {
		cur, err := tx.Conversation(c.ID)
		if err != nil {
			return c, err
		}
		if cur.OwnerID != 0 {
			return c, conflict(tx, cur)
		}
		return c, invalidFrom(cur, "accept")
	}
	if err := tx.LogActivity(c.ID, w.UserID, "accepted", how, now); err != nil {
		return c, err
	}
	c, err = tx.Conversation(c.ID)
	if err != nil {
		return c, err
	}
	// Every queue alert for this episode, the winner's included, is done.
	if err := r.supersede(tx, em, c, []string{store.AlertQueue}, 0, "accepted by "+w.name(), now); err != nil {
		return c, err
	}
	em.emit(convEvent(event.ConversationAccepted, c, w.UserID, nil))
	return c, nil
}

// Accept takes a NEW conversation (T7). It is a compare-and-set: when two agents
// accept at once exactly one wins; the other gets an *AcceptConflictError naming the
// winner (errors.Is(err, ErrConflict)).
func (r *Router) Accept(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkSee(w, c); err != nil {
			return err
		}
		if w.Role == RoleViewer {
			return forbidden("viewers cannot accept")
		}
		if c.OwnerID != 0 {
			if c.OwnerID == w.UserID && c.Status == store.StatusOpen {
				return nil // accepting one's own conversation again changes nothing
			}
			return conflict(tx, c)
		}
		if err := r.Settings().Permissions.checkWork(w, c, "accept"); err != nil {
			return err
		}
		if w.system() {
			return forbidden("the system cannot own conversations; use Assign")
		}
		_, err := r.accept(tx, em, w, c, "", now)
		return err
	})
}

// Assign makes userID the owner of a conversation that is not CLOSED (T9). The new
// owner is alerted and their read marker is left alone, so it shows unread for them;
// a previous owner is told it was taken.
func (r *Router) Assign(ctx context.Context, a Actor, id, userID int64) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkAssign(w, c, userID); err != nil {
			return err
		}
		if c.Status == store.StatusClosed {
			return invalidFrom(c, "assign")
		}
		to, err := tx.Agent(userID)
		if err != nil || to.Disabled || to.Role == RoleViewer {
			return fmt.Errorf("%w: user %d cannot own conversations", ErrInvalid, userID)
		}
		if c.Status == store.StatusOpen && c.OwnerID == userID {
			return nil
		}
		ok, err := tx.Assign(c.ID, c.Status, c.OwnerID, userID, now)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: conversation %d changed meanwhile", ErrConflict, c.ID)
		}
		if err := tx.LogActivity(c.ID, w.UserID, "assigned", "to "+to.Name(), now); err != nil {
			return err
		}
		prev := c.OwnerID
		c, err = tx.Conversation(c.ID)
		if err != nil {
			return err
		}
		if err := r.supersede(tx, em, c, []string{store.AlertQueue}, 0, "assigned to "+to.Name(), now); err != nil {
			return err
		}
		if prev != 0 && prev != userID {
			if err := r.supersede(tx, em, c, []string{store.AlertOwner, store.AlertAssigned}, userID, "reassigned to "+to.Name(), now); err != nil {
				return err
			}
			if prev != w.UserID {
				if err := r.raise(tx, em, prev, c, store.AlertUnassigned, "taken by "+w.name()+" for "+to.Name(), 0, now); err != nil {
					return err
				}
			}
		}
		if userID != w.UserID {
			if err := r.raise(tx, em, userID, c, store.AlertAssigned, "assigned by "+w.name(), c.LastInboundID, now); err != nil {
				return err
			}
		}
		em.emit(convEvent(event.ConversationAssigned, c, w.UserID, nil))
		return nil
	})
}

// Release gives an OPEN conversation back to its queue (T10) and alerts the queue
// again ("released by X").
func (r *Router) Release(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkRelease(w, c); err != nil {
			return err
		}
		if c.Status != store.StatusOpen {
			return invalidFrom(c, "release")
		}
		return r.release(tx, em, c, w.UserID, "released by "+w.name(), now)
	})
}

// release is T10/T11 inside a transaction.
func (r *Router) release(tx *store.Tx, em *emitter, c store.Conversation, actor int64, why string, now time.Time) error {
	ok, err := tx.Release(c.ID, c.OwnerID, now)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: conversation %d changed meanwhile", ErrConflict, c.ID)
	}
	if err := tx.LogActivity(c.ID, actor, "released", why, now); err != nil {
		return err
	}
	c, err = tx.Conversation(c.ID)
	if err != nil {
		return err
	}
	if err := r.supersede(tx, em, c, []string{store.AlertOwner, store.AlertAssigned}, 0, why, now); err != nil {
		return err
	}
	if err := r.alertQueue(tx, em, c, why, c.LastInboundID, actor, now); err != nil {
		return err
	}
	em.emit(convEvent(event.ConversationReleased, c, actor, nil))
	return nil
}

// Snooze puts a NEW or OPEN conversation aside until a time (zero for none) and/or the
// customer's reply (T12). A customer reply always wakes it (T4).
func (r *Router) Snooze(ctx context.Context, a Actor, id int64, until time.Time, wakeOnReply bool) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkWork(w, c, "snooze"); err != nil {
			return err
		}
		if c.Status != store.StatusNew && c.Status != store.StatusOpen {
			return invalidFrom(c, "snooze")
		}
		if until.IsZero() && !wakeOnReply {
			return fmt.Errorf("%w: snooze needs a time, the customer's reply, or both", ErrInvalid)
		}
		if !until.IsZero() && !until.After(now) {
			return fmt.Errorf("%w: snooze time is in the past", ErrInvalid)
		}
		ok, err := tx.Snooze(c.ID, c.Status, until, wakeOnReply, now)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: conversation %d changed meanwhile", ErrConflict, c.ID)
		}
		detail := "until the customer replies"
		if !until.IsZero() {
			detail = "until " + until.UTC().Format(time.RFC3339)
			if wakeOnReply {
				detail += " or the customer replies"
			}
		}
		if err := tx.LogActivity(c.ID, w.UserID, "snoozed", detail, now); err != nil {
			return err
		}
		if c.OwnerID == w.UserID {
			if err := tx.TouchOwnerActivity(c.ID, now); err != nil {
				return err
			}
		}
		c, err = tx.Conversation(c.ID)
		if err != nil {
			return err
		}
		if err := r.supersede(tx, em, c, nil, 0, "snoozed by "+w.name(), now); err != nil {
			return err
		}
		em.emit(convEvent(event.ConversationSnoozed, c, w.UserID, nil))
		return nil
	})
}

// Resolve marks a NEW, OPEN or SNOOZED conversation done (T14, reason "agent"). The
// owner is released (and remembered); a customer reply within the grace window reopens
// the same episode.
func (r *Router) Resolve(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkWork(w, c, "resolve"); err != nil {
			return err
		}
		return r.resolveEpisode(tx, em, c, w.UserID, "agent", "resolved by "+w.name(), now)
	})
}

// ResolvedEvent is the Data of conversation.resolved.
type ResolvedEvent struct {
	store.Conversation
	Reason string `json:"reason"` // agent, auto, blocked
}

func (r *Router) resolveEpisode(tx *store.Tx, em *emitter, c store.Conversation, actor int64, reason, note string, now time.Time) error {
	switch c.Status {
	case store.StatusNew, store.StatusOpen, store.StatusSnoozed:
	default:
		return invalidFrom(c, "resolve")
	}
	ok, err := tx.Resolve(c.ID, c.Status, actor, reason, now)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: conversation %d changed meanwhile", ErrConflict, c.ID)
	}
	if err := tx.LogActivity(c.ID, actor, "resolved", reason, now); err != nil {
		return err
	}
	c, err = tx.Conversation(c.ID)
	if err != nil {
		return err
	}
	if err := r.supersede(tx, em, c, nil, 0, note, now); err != nil {
		return err
	}
	em.emit(convEvent(event.ConversationResolved, c, actor, ResolvedEvent{Conversation: c, Reason: reason}))
	return nil
}

// Close ends a conversation for good (CLOSED is final; T16 clones it to reopen).
func (r *Router) Close(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkWork(w, c, "close"); err != nil {
			return err
		}
		if c.Status == store.StatusClosed {
			return invalidFrom(c, "close")
		}
		return r.closeEpisode(tx, em, c, w.UserID, "closed by "+w.name(), now)
	})
}

// Reopen reopens a RESOLVED conversation in place, or a CLOSED one as a new linked
// episode, owned by whoever reopened it (T16). It returns the reopened episode.
func (r *Router) Reopen(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	var out store.Conversation
	_, err := r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkReopen(w, c, "reopen"); err != nil {
			return err
		}
		owner := w.UserID // the system reopens into the queue
		switch c.Status {
		case store.StatusResolved:
			ok, err := tx.Reopen(c.ID, owner, now)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: conversation %d changed meanwhile", ErrConflict, c.ID)
			}
			if err := tx.LogActivity(c.ID, w.UserID, "reopened", "by "+w.name(), now); err != nil {
				return err
			}
			out, err = tx.Conversation(c.ID)
			if err != nil {
				return err
			}
		case store.StatusClosed:
			if live, err := tx.LiveConversation(c.ThreadID); err == nil {
				return fmt.Errorf("%w: the thread already has conversation %d open", ErrConflict, live.ID)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			status := store.StatusOpen
			if owner == 0 {
				status = store.StatusNew
			}
			n, err := tx.CreateConversation(store.NewConversation{ThreadID: c.ThreadID, ContactID: c.ContactID, Line: c.Line,
				QueueID: c.QueueID, Status: status, OwnerID: owner, PreviousID: c.ID, JobRef: c.JobRef, Priority: c.Priority, Now: now})
			if err != nil {
				return err
			}
			if err := tx.CopyTags(c.ID, n.ID); err != nil {
				return err
			}
			if err := tx.LogActivity(n.ID, w.UserID, "reopened", fmt.Sprintf("from closed conversation %d by %s", c.ID, w.name()), now); err != nil {
				return err
			}
			if err := tx.LogActivity(c.ID, w.UserID, "reopened", fmt.Sprintf("as conversation %d", n.ID), now); err != nil {
				return err
			}
			out = n
			em.emit(convEvent(event.ConversationCreated, n, w.UserID, nil))
		default:
			return invalidFrom(c, "reopen")
		}
		em.emit(convEvent(event.ConversationReopened, out, w.UserID, nil))
		return nil
	})
	return out, err
}

// Archive hides a RESOLVED or CLOSED conversation from the default lists (T17); it stays
// searchable. archived false brings it back.
func (r *Router) Archive(ctx context.Context, a Actor, id int64, archived bool) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkReopen(w, c, "archive"); err != nil {
			return err
		}
		if archived && c.Status != store.StatusResolved && c.Status != store.StatusClosed {
			return invalidFrom(c, "archive")
		}
		if _, err := tx.SetArchived(c.ID, archived, now); err != nil {
			return err
		}
		action := "archived"
		if !archived {
			action = "unarchived"
		}
		if err := tx.LogActivity(c.ID, w.UserID, action, "", now); err != nil {
			return err
		}
		c, err := tx.Conversation(c.ID)
		if err != nil {
			return err
		}
		em.emit(convEvent(event.ConversationUpdated, c, w.UserID, nil))
		return nil
	})
}

// MarkRead moves the actor's read marker to upTo (0: the newest message) and marks
// their alerts about the conversation read.
func (r *Router) MarkRead(ctx context.Context, a Actor, id, upTo int64) error {
	_, err := r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkSee(w, c); err != nil {
			return err
		}
		if w.system() {
			return nil
		}
		if upTo <= 0 {
			upTo = c.LastMessageID
		}
		if err := tx.SetReadMarker(w.UserID, c.ID, upTo, now); err != nil {
			return err
		}
		if r.Settings().UnreadPerTeam {
			if err := tx.ShareReadMarker(c.ID, upTo, now); err != nil {
				return err
			}
		}
		return tx.MarkConversationAlertsRead(w.UserID, c.ID, now)
	})
	return err
}

// MarkUnread moves only the actor's read marker to just before the last inbound
// message (T18); the status does not change. With Settings.UnreadPerTeam it moves
// everyone's.
func (r *Router) MarkUnread(ctx context.Context, a Actor, id int64) error {
	_, err := r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkSee(w, c); err != nil {
			return err
		}
		if w.system() {
			return nil
		}
		at := c.LastInboundID - 1
		if at < 0 {
			at = 0
		}
		if r.Settings().UnreadPerTeam {
			return tx.SetEveryReadMarker(c.ID, at, now)
		}
		return tx.SetReadMarker(w.UserID, c.ID, at, now)
	})
	return err
}

// SetNeedsReply sets or clears the team-level "needs reply" flag; clearing it is "no
// reply needed". A reply clears it too.
func (r *Router) SetNeedsReply(ctx context.Context, a Actor, id int64, needs bool) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkWork(w, c, "change needs-reply on"); err != nil {
			return err
		}
		if err := tx.SetNeedsReply(c.ID, needs, now); err != nil {
			return err
		}
		action := "no_reply_needed"
		if needs {
			action = "needs_reply"
		}
		if err := tx.LogActivity(c.ID, w.UserID, action, "", now); err != nil {
			return err
		}
		c, err := tx.Conversation(c.ID)
		if err != nil {
			return err
		}
		em.emit(convEvent(event.ConversationUpdated, c, w.UserID, nil))
		return nil
	})
}

// SetPriority sets a conversation's priority.
func (r *Router) SetPriority(ctx context.Context, a Actor, id int64, priority int) (store.Conversation, error) {
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkWork(w, c, "change the priority of"); err != nil {
			return err
		}
		if err := tx.SetPriority(c.ID, priority, now); err != nil {
			return err
		}
		if err := tx.LogActivity(c.ID, w.UserID, "priority", fmt.Sprintf("%d", priority), now); err != nil {
			return err
		}
		c, err := tx.Conversation(c.ID)
		if err != nil {
			return err
		}
		em.emit(convEvent(event.ConversationUpdated, c, w.UserID, nil))
		return nil
	})
}

// cleanTag validates a tag name: 1–64 characters, no control characters.
func cleanTag(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) ||
		strings.IndexFunc(name, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) }) >= 0 {
		return "", fmt.Errorf("%w: tag must be 1-64 printable characters", ErrInvalid)
	}
	return name, nil
}

// Tag adds (add true) or removes a tag on a conversation.
func (r *Router) Tag(ctx context.Context, a Actor, id int64, name string, add bool) (store.Conversation, error) {
	name, err := cleanTag(name)
	if err != nil {
		return store.Conversation{}, err
	}
	return r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkWork(w, c, "tag"); err != nil {
			return err
		}
		var changed bool
		var err error
		action := "tagged"
		if add {
			changed, err = tx.TagConversation(c.ID, name)
		} else {
			action = "untagged"
			changed, err = tx.UntagConversation(c.ID, name)
		}
		if err != nil || !changed {
			return err
		}
		if err := tx.LogActivity(c.ID, w.UserID, action, name, now); err != nil {
			return err
		}
		em.emit(convEvent(event.ConversationUpdated, c, w.UserID, nil))
		return nil
	})
}

// mentionRE finds @username mentions in a note.
var mentionRE = regexp.MustCompile(`(?:^|[^\w@])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})`)

// AddNote adds an internal note (never sent). Each @username mentioned is alerted and
// follows the conversation from then on.
func (r *Router) AddNote(ctx context.Context, a Actor, id int64, body string) (store.Note, error) {
	var note store.Note
	body = strings.TrimSpace(body)
	if body == "" || utf8.RuneCountInString(body) > 10*MaxBody || !utf8.ValidString(body) {
		return note, fmt.Errorf("%w: note must be 1-%d characters of text", ErrInvalid, 10*MaxBody)
	}
	_, err := r.act(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Conversation, now time.Time) error {
		if err := r.Settings().Permissions.checkNote(w, c); err != nil {
			return err
		}
		if w.system() {
			return forbidden("notes need an author")
		}
		var err error
		if note, err = tx.AddNote(c.ID, c.ThreadID, w.UserID, body, now); err != nil {
			return err
		}
		if c.OwnerID == w.UserID {
			if err := tx.TouchOwnerActivity(c.ID, now); err != nil {
				return err
			}
		}
		seen := map[int64]bool{w.UserID: true}
		for _, m := range mentionRE.FindAllStringSubmatch(body, 20) {
			ag, err := tx.AgentByUsername(m[1])
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if seen[ag.ID] || ag.Disabled {
				continue
			}
			seen[ag.ID] = true
			if err := tx.AddParticipant(c.ID, ag.ID, "mention", now); err != nil {
				return err
			}
			if err := r.raise(tx, em, ag.ID, c, store.AlertMention, "mentioned by "+w.name(), 0, now); err != nil {
				return err
			}
		}
		em.emit(convEvent(event.NoteCreated, c, w.UserID, note))
		return nil
	})
	return note, err
}

// Delete removes a conversation (admin only); its messages stay in the thread.
func (r *Router) Delete(ctx context.Context, a Actor, id int64) error {
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if err := checkAdmin(w, "deleting a conversation"); err != nil {
			return err
		}
		c, err := tx.Conversation(id)
		if err != nil {
			return notFound(err, fmt.Sprintf("conversation %d", id))
		}
		if err := tx.DeleteConversation(id); err != nil {
			return err
		}
		em.emit(convEvent(event.ConversationUpdated, c, w.UserID, map[string]any{"id": id, "deleted": true}))
		return nil
	})
}

// ReplyRequest is an agent reply.
type ReplyRequest struct {
	Body string
	// Force confirms a reply in a conversation owned by someone else when the
	// "warn first" setting is on.
	Force bool
	// IdempotencyKey makes a repeated request return the first message.
	IdempotencyKey string
	// Line sends the reply from another line (SIM) than the thread's; empty means
	// the thread's line. The message is still recorded in the same thread and
	// conversation. Admins and supervisors may pick any line, others only the
	// lines routed to their queues.
	Line string
}

// Reply sends an agent reply in a conversation: permission checks, T8 auto-accept of a
// NEW conversation, then the outbox on the thread's line (or ReplyRequest.Line) to the
// number the contact last used. It returns the outbound message id.
func (r *Router) Reply(ctx context.Context, a Actor, id int64, body string) (int64, error) {
	return r.ReplyWith(ctx, a, id, ReplyRequest{Body: body})
}

// ReplyWith is Reply with options.
func (r *Router) ReplyWith(ctx context.Context, a Actor, id int64, req ReplyRequest) (int64, error) {
	body := strings.TrimSpace(req.Body)
	if body == "" || utf8.RuneCountInString(body) > MaxBody || !utf8.ValidString(body) {
		return 0, fmt.Errorf("%w: reply must be 1-%d characters of text", ErrInvalid, MaxBody)
	}
	if r.out == nil {
		return 0, errors.New("router: no outbox configured")
	}
	var picked *store.Line
	if name := strings.TrimSpace(req.Line); name != "" {
		lines, err := r.db.Lines(ctx)
		if err != nil {
			return 0, err
		}
		for i := range lines {
			if lines[i].Name == name {
				picked = &lines[i]
			}
		}
		if picked == nil {
			return 0, fmt.Errorf("%w: there is no line %q", ErrInvalid, name)
		}
	}
	var thread store.Thread
	var w who
	_, err := r.act(ctx, a, id, func(tx *store.Tx, em *emitter, ww who, c store.Conversation, now time.Time) error {
		w = ww
		if err := r.Settings().Permissions.checkReply(w, c, req.Force); err != nil {
			return err
		}
		if c.Status == store.StatusClosed {
			return invalidFrom(c, "reply in")
		}
		contact, err := tx.Contact(c.ContactID)
		if err != nil {
			return err
		}
		if contact.Blocked {
			return ErrBlocked
		}
		if picked != nil && picked.Name != c.Line && !w.manager() && !w.inQueue(picked.QueueID) {
			return forbidden("line " + picked.Name + " is outside your queues")
		}
		if c.Status == store.StatusNew && r.autoAccepts(w) {
			if _, err := r.accept(tx, em, w, c, "by replying", now); err != nil { // T8
				return err
			}
		}
		thread, err = tx.Thread(c.ThreadID)
		return err
	})
	if err != nil {
		return 0, err
	}
	line := thread.Line
	if picked != nil {
		line = picked.Name
	}
	msgID, err := r.out.Send(ctx, Outgoing{To: thread.Peer, Line: line, Body: body, Kind: "agent",
		AuthorID: w.UserID, ThreadID: thread.ID, IdempotencyKey: req.IdempotencyKey})
	if err != nil {
		return 0, fmt.Errorf("router: send reply: %w", err)
	}
	_, err = r.act(ctx, a, id, func(tx *store.Tx, em *emitter, _ who, c store.Conversation, now time.Time) error {
		if err := tx.NoteOutbound(c.ID, msgID, c.OwnerID == w.UserID, now); err != nil {
			return err
		}
		if err := tx.TouchThread(thread.ID, msgID, "", now); err != nil {
			return err
		}
		if !w.system() {
			if err := tx.SetReadMarker(w.UserID, c.ID, msgID, now); err != nil {
				return err
			}
		}
		if r.Settings().UnreadPerTeam {
			if err := tx.ShareReadMarker(c.ID, msgID, now); err != nil {
				return err
			}
		}
		em.emit(convEvent(event.MessageSent, c, w.UserID, MessageEvent{MessageID: msgID, ThreadID: thread.ID,
			ConversationID: c.ID, ContactID: c.ContactID, Direction: "out", Kind: "agent", Peer: thread.Peer,
			Line: line, Body: body, Status: "queued"}))
		return nil
	})
	return msgID, err
}

// ConversationView is one conversation with what its page shows besides the thread.
type ConversationView struct {
	store.Conversation
	Contact      store.Contact `json:"contact"`
	Tags         []string      `json:"tags"`
	Participants []int64       `json:"participants"`
	ReadMarker   int64         `json:"read_marker"`
	Unread       bool          `json:"unread"`
}

// Conversation returns one conversation the actor may see.
func (r *Router) Conversation(ctx context.Context, a Actor, id int64) (ConversationView, error) {
	var v ConversationView
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return v, err
	}
	c, err := r.db.Conversation(ctx, id)
	if err != nil {
		return v, notFound(err, fmt.Sprintf("conversation %d", id))
	}
	if err := r.Settings().Permissions.checkSee(w, c); err != nil {
		return v, err
	}
	v.Conversation = c
	if v.Contact, err = r.db.Contact(ctx, c.ContactID); err != nil {
		return v, err
	}
	if v.Tags, err = r.db.ConversationTags(ctx, c.ID); err != nil {
		return v, err
	}
	if v.Participants, err = r.db.Participants(ctx, c.ID); err != nil {
		return v, err
	}
	if v.ReadMarker, err = r.db.ReadMarker(ctx, w.UserID, c.ID); err != nil {
		return v, err
	}
	v.Unread = c.LastInboundID > v.ReadMarker
	return v, nil
}

// Conversations lists a page of the conversations the actor may see. The filter's
// Visibility and Viewer are set from the actor.
func (r *Router) Conversations(ctx context.Context, a Actor, f store.ConversationFilter) (store.ConversationPage, error) {
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return store.ConversationPage{}, err
	}
	f.Visibility = r.Settings().Permissions.visibility(w)
	f.Viewer = w.UserID
	page, err := r.db.Conversations(ctx, f)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return page, err
}

// Counts returns the actor's badge counts.
func (r *Router) Counts(ctx context.Context, a Actor) (store.ConversationCounts, error) {
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return store.ConversationCounts{}, err
	}
	return r.db.CountConversations(ctx, w.UserID, r.Settings().Permissions.visibility(w))
}

// visibleConversation loads a conversation the actor may see.
func (r *Router) visibleConversation(ctx context.Context, a Actor, id int64) (store.Conversation, error) {
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return store.Conversation{}, err
	}
	c, err := r.db.Conversation(ctx, id)
	if err != nil {
		return c, notFound(err, fmt.Sprintf("conversation %d", id))
	}
	return c, r.Settings().Permissions.checkSee(w, c)
}

// Messages returns a page of the thread of a conversation (all its episodes), newest
// first, with ids below before (0: the newest).
func (r *Router) Messages(ctx context.Context, a Actor, id, before int64, limit int) ([]store.ThreadMessage, error) {
	c, err := r.visibleConversation(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return r.db.ThreadMessages(ctx, c.ThreadID, before, limit)
}

// Notes returns a page of the notes in a conversation's thread, newest first.
func (r *Router) Notes(ctx context.Context, a Actor, id, before int64, limit int) ([]store.Note, error) {
	c, err := r.visibleConversation(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return r.db.Notes(ctx, c.ThreadID, before, limit)
}

// Activity returns a conversation's activity log, oldest first.
func (r *Router) Activity(ctx context.Context, a Actor, id int64) ([]store.Activity, error) {
	c, err := r.visibleConversation(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return r.db.ActivityLog(ctx, c.ID)
}

// Episodes lists the episodes of a conversation's thread, oldest first (the UI draws
// dividers between them).
func (r *Router) Episodes(ctx context.Context, a Actor, id int64) ([]store.Conversation, error) {
	c, err := r.visibleConversation(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return r.db.ConversationsOfThread(ctx, c.ThreadID)
}
