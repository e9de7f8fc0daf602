package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// normalizeStrict is sms.NormalizeNumber: E.164 or an alphanumeric sender id.
func normalizeStrict(raw, region string) (string, error) { return sms.NormalizeNumber(raw, region) }

// NormalizeNumber normalizes a number typed by a user to E.164 with the configured
// default region (alphanumeric ids are kept), or fails with ErrInvalid.
func (r *Router) NormalizeNumber(raw string) (string, error) {
	n, err := normalizeStrict(raw, r.cfg.DefaultRegion)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return n, nil
}

// Contact returns a contact.
func (r *Router) Contact(ctx context.Context, a Actor, id int64) (store.Contact, error) {
	if _, err := r.resolveRead(ctx, a); err != nil {
		return store.Contact{}, err
	}
	c, err := r.db.Contact(ctx, id)
	return c, notFound(err, fmt.Sprintf("contact %d", id))
}

// ContactByNumber finds the contact of a number (normalized first).
func (r *Router) ContactByNumber(ctx context.Context, a Actor, number string) (store.Contact, error) {
	if _, err := r.resolveRead(ctx, a); err != nil {
		return store.Contact{}, err
	}
	n, err := r.NormalizeNumber(number)
	if err != nil {
		return store.Contact{}, err
	}
	c, err := r.db.ContactByNumber(ctx, n)
	return c, notFound(err, "contact with that number")
}

// Contacts lists contacts (a page by id).
func (r *Router) Contacts(ctx context.Context, a Actor, f store.ContactFilter) ([]store.Contact, error) {
	if _, err := r.resolveRead(ctx, a); err != nil {
		return nil, err
	}
	return r.db.Contacts(ctx, f)
}

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: name must be at most 200 characters of text", ErrInvalid)
	}
	return name, nil
}

// contactOp runs fn on contact id in a write transaction for an actor allowed to edit
// contacts, and emits contact.updated with the result.
func (r *Router) contactOp(ctx context.Context, a Actor, id int64, fn func(tx *store.Tx, em *emitter, w who, c store.Contact, now time.Time) error) (store.Contact, error) {
	var out store.Contact
	err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if err := checkContactEdit(w); err != nil {
			return err
		}
		c, err := tx.Contact(id)
		if err != nil {
			return notFound(err, fmt.Sprintf("contact %d", id))
		}
		if err := fn(tx, em, w, c, r.now()); err != nil {
			return err
		}
		if out, err = tx.Contact(id); err != nil {
			return err
		}
		em.emit(event.Event{Type: event.ContactUpdated, ActorID: w.UserID, Data: out})
		return nil
	})
	return out, err
}

// CreateContact adds a contact with numbers (normalized; each may belong to only one
// contact). typ is "lead" or "customer".
func (r *Router) CreateContact(ctx context.Context, a Actor, name, typ string, numbers []string) (store.Contact, error) {
	var out store.Contact
	name, err := cleanName(name)
	if err != nil {
		return out, err
	}
	if typ == "" {
		typ = store.ContactLead
	}
	if typ != store.ContactLead && typ != store.ContactCustomer {
		return out, fmt.Errorf("%w: contact type %q", ErrInvalid, typ)
	}
	var norm []string
	for _, n := range numbers {
		nn, err := r.NormalizeNumber(n)
		if err != nil {
			return out, err
		}
		norm = append(norm, nn)
	}
	err = r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if err := checkContactEdit(w); err != nil {
			return err
		}
		out, err = tx.CreateContact(name, typ, norm, r.now())
		if errors.Is(err, store.ErrNumberTaken) {
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
		if err != nil {
			return err
		}
		em.emit(event.Event{Type: event.ContactCreated, ActorID: w.UserID, Data: out})
		return nil
	})
	return out, err
}

// ContactChanges are the editable fields of a contact; nil means unchanged.
type ContactChanges struct {
	Name   *string
	Type   *string           // "lead" or "customer": leads become customers here
	Fields map[string]string // replaces all custom fields when non-nil
}

// UpdateContact edits a contact.
func (r *Router) UpdateContact(ctx context.Context, a Actor, id int64, ch ContactChanges) (store.Contact, error) {
	u := store.ContactUpdate{Type: ch.Type, Fields: ch.Fields}
	if ch.Name != nil {
		n, err := cleanName(*ch.Name)
		if err != nil {
			return store.Contact{}, err
		}
		u.Name = &n
	}
	if ch.Type != nil && *ch.Type != store.ContactLead && *ch.Type != store.ContactCustomer {
		return store.Contact{}, fmt.Errorf("%w: contact type %q", ErrInvalid, *ch.Type)
	}
	if len(ch.Fields) > 50 {
		return store.Contact{}, fmt.Errorf("%w: at most 50 custom fields", ErrInvalid)
	}
	return r.contactOp(ctx, a, id, func(tx *store.Tx, _ *emitter, _ who, _ store.Contact, now time.Time) error {
		return tx.UpdateContact(id, u, now)
	})
}

// AddNumber gives a contact another number.
func (r *Router) AddNumber(ctx context.Context, a Actor, id int64, number string) (store.Contact, error) {
	n, err := r.NormalizeNumber(number)
	if err != nil {
		return store.Contact{}, err
	}
	return r.contactOp(ctx, a, id, func(tx *store.Tx, _ *emitter, _ who, _ store.Contact, now time.Time) error {
		err := tx.AddContactNumber(id, n, now)
		if errors.Is(err, store.ErrNumberTaken) {
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
		return err
	})
}

// RemoveNumber takes a number from a contact.
func (r *Router) RemoveNumber(ctx context.Context, a Actor, id int64, number string) (store.Contact, error) {
	n, err := r.NormalizeNumber(number)
	if err != nil {
		return store.Contact{}, err
	}
	return r.contactOp(ctx, a, id, func(tx *store.Tx, _ *emitter, _ who, _ store.Contact, _ time.Time) error {
		return notFound(tx.RemoveContactNumber(id, n), "number of that contact")
	})
}

// MergeContacts folds source into target (admin only): numbers, threads (episodes and
// history follow), flags. See store.Tx.MergeContacts.
func (r *Router) MergeContacts(ctx context.Context, a Actor, targetID, sourceID int64) (store.MergeResult, error) {
	var res store.MergeResult
	err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if err := checkAdmin(w, "merging contacts"); err != nil {
			return err
		}
		if targetID == sourceID {
			return fmt.Errorf("%w: cannot merge a contact into itself", ErrInvalid)
		}
		src, err := tx.Contact(sourceID)
		if err != nil {
			return notFound(err, fmt.Sprintf("contact %d", sourceID))
		}
		if src.MergedInto != 0 {
			return fmt.Errorf("%w: contact %d was already merged", ErrConflict, sourceID)
		}
		if _, err := tx.Contact(targetID); err != nil {
			return notFound(err, fmt.Sprintf("contact %d", targetID))
		}
		if res, err = tx.MergeContacts(targetID, sourceID, r.now()); err != nil {
			return err
		}
		for _, id := range res.ClosedEpisodes {
			if err := tx.LogActivity(id, w.UserID, "closed", fmt.Sprintf("contact %d merged into %d", sourceID, targetID), r.now()); err != nil {
				return err
			}
		}
		t, err := tx.Contact(targetID)
		if err != nil {
			return err
		}
		em.emit(event.Event{Type: event.ContactUpdated, ActorID: w.UserID, Data: t})
		return nil
	})
	return res, err
}

// Block blocks (T21) or unblocks a contact. Blocking resolves and mutes its live
// episodes; later messages are stored without alerts.
func (r *Router) Block(ctx context.Context, a Actor, id int64, blocked bool) (store.Contact, error) {
	return r.contactOp(ctx, a, id, func(tx *store.Tx, em *emitter, w who, c store.Contact, now time.Time) error {
		if c.Blocked == blocked {
			return nil
		}
		if err := tx.SetBlocked(id, blocked, now); err != nil {
			return err
		}
		ths, err := r.threadsOf(tx, c.ID)
		if err != nil {
			return err
		}
		for _, th := range ths {
			live, err := tx.LiveConversation(th)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := tx.SetMuted(live.ID, blocked); err != nil {
				return err
			}
			if blocked {
				if err := tx.LogActivity(live.ID, w.UserID, "blocked", "contact blocked by "+w.name(), now); err != nil {
					return err
				}
				if live.Status != store.StatusResolved {
					live.Muted = true
					if err := r.resolveEpisode(tx, em, live, w.UserID, "blocked", "contact blocked", now); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// threadsOf lists the thread ids of a contact inside a transaction.
func (r *Router) threadsOf(tx *store.Tx, contactID int64) ([]int64, error) {
	return tx.ThreadIDsOfContact(contactID)
}

// SetOptOut opts a contact out of (or back into) automated messages by hand; no
// confirmation SMS is sent for a change made by a user.
func (r *Router) SetOptOut(ctx context.Context, a Actor, id int64, optedOut bool) (store.Contact, error) {
	return r.contactOp(ctx, a, id, func(tx *store.Tx, em *emitter, _ who, c store.Contact, now time.Time) error {
		if c.OptedOut == optedOut {
			return nil
		}
		return tx.SetOptOut(id, optedOut, "", store.Confirmation{}, now)
	})
}

// Automated is a business alert to a customer (job created, ETA): template already
// filled in.
type Automated struct {
	To, Line, Body string
	JobRef         string // the job it is about (T19)
	JobOwnerID     int64  // the job's dispatcher
	IdempotencyKey string
}

// SendAutomated sends an automated message (T19): recorded in the contact's thread,
// no episode opened; a customer reply starts or joins an episode for the job. It is
// refused with ErrOptedOut for an opted-out contact and ErrBlocked for a blocked one.
func (r *Router) SendAutomated(ctx context.Context, a Actor, m Automated) (int64, error) {
	to, err := r.NormalizeNumber(m.To)
	if err != nil {
		return 0, err
	}
	body := strings.TrimSpace(m.Body)
	if body == "" || !utf8.ValidString(body) || utf8.RuneCountInString(body) > MaxBody {
		return 0, fmt.Errorf("%w: message must be 1-%d characters of text", ErrInvalid, MaxBody)
	}
	if m.Line == "" {
		return 0, fmt.Errorf("%w: automated messages need a line", ErrInvalid)
	}
	if r.out == nil {
		return 0, errors.New("router: no outbox configured")
	}
	var thread store.Thread
	err = r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if err := checkManager(w, "sending automated messages"); err != nil {
			return err
		}
		now := r.now()
		c, err := tx.ContactByNumber(to)
		if errors.Is(err, store.ErrNotFound) {
			if c, err = tx.CreateContact(to, store.ContactLead, []string{to}, now); err != nil {
				return err
			}
			em.emit(event.Event{Type: event.ContactCreated, ActorID: w.UserID, Data: c})
		} else if err != nil {
			return err
		}
		if c.OptedOut {
			return fmt.Errorf("%w: %s", ErrOptedOut, to)
		}
		if c.Blocked {
			return fmt.Errorf("%w: %s", ErrBlocked, to)
		}
		line, err := tx.EnsureLine(m.Line)
		if err != nil {
			return err
		}
		if thread, _, err = tx.EnsureThread(c.ID, line.Name, to, now); err != nil {
			return err
		}
		if m.JobRef != "" {
			return tx.SetThreadJob(thread.ID, m.JobRef, m.JobOwnerID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	id, err := r.out.Send(ctx, Outgoing{To: to, Line: thread.Line, Body: body, Kind: "automated", ThreadID: thread.ID,
		AuthorID: a.UserID, IdempotencyKey: m.IdempotencyKey})
	if err != nil {
		return 0, fmt.Errorf("router: send automated message: %w", err)
	}
	r.bus.Publish(event.Event{Type: event.MessageSent, ThreadID: thread.ID, Data: MessageEvent{MessageID: id,
		ThreadID: thread.ID, ContactID: thread.ContactID, Direction: "out", Kind: "automated", Peer: to, Line: thread.Line,
		Body: body, Status: "queued"}})
	return id, nil
}

// StartConversation texts a number first: the contact (created as a lead when
// unknown) and thread are found, the live episode is used or a new one is opened
// owned by the actor, and the message is sent as an agent reply.
func (r *Router) StartConversation(ctx context.Context, a Actor, number, lineName, body string) (store.Conversation, int64, error) {
	to, err := r.NormalizeNumber(number)
	if err != nil {
		return store.Conversation{}, 0, err
	}
	if lineName == "" {
		return store.Conversation{}, 0, fmt.Errorf("%w: a line is needed", ErrInvalid)
	}
	var conv store.Conversation
	err = r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if w.Role == RoleViewer || w.system() {
			return forbidden("starting conversations needs an agent")
		}
		now := r.now()
		c, err := tx.ContactByNumber(to)
		if errors.Is(err, store.ErrNotFound) {
			if c, err = tx.CreateContact(to, store.ContactLead, []string{to}, now); err != nil {
				return err
			}
			em.emit(event.Event{Type: event.ContactCreated, ActorID: w.UserID, Data: c})
		} else if err != nil {
			return err
		}
		if c.Blocked {
			return ErrBlocked
		}
		line, err := tx.EnsureLine(lineName)
		if err != nil {
			return err
		}
		if !w.manager() && !w.inQueue(line.QueueID) {
			return forbidden("line outside your queues")
		}
		th, _, err := tx.EnsureThread(c.ID, line.Name, to, now)
		if err != nil {
			return err
		}
		conv, err = tx.LiveConversation(th.ID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		prev, err := tx.LatestConversation(th.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		conv, err = tx.CreateConversation(store.NewConversation{ThreadID: th.ID, ContactID: c.ID, Line: line.Name,
			QueueID: line.QueueID, Status: store.StatusOpen, OwnerID: w.UserID, PreviousID: prev.ID, Now: now})
		if err != nil {
			return err
		}
		if err := tx.LogActivity(conv.ID, w.UserID, "created", "outbound, by "+w.name(), now); err != nil {
			return err
		}
		em.emit(convEvent(event.ConversationCreated, conv, w.UserID, nil))
		return nil
	})
	if err != nil {
		return conv, 0, err
	}
	id, err := r.Reply(ctx, a, conv.ID, body)
	if err != nil {
		return conv, 0, err
	}
	conv, err = r.db.Conversation(ctx, conv.ID)
	return conv, id, err
}
