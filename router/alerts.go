package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// raise creates or updates one alert and emits alert.created or alert.updated.
func (r *Router) raise(tx *store.Tx, em *emitter, userID int64, c store.Conversation, reason, note string, msgID int64, now time.Time) error {
	a, created, err := tx.RaiseAlert(userID, c.ID, reason, note, msgID, r.cfg.AlertTTL, now)
	if err != nil {
		return err
	}
	typ := event.AlertUpdated
	if created {
		typ = event.AlertCreated
	}
	em.emit(event.Event{Type: typ, ConversationID: c.ID, ThreadID: c.ThreadID, QueueID: c.QueueID, OwnerID: c.OwnerID,
		UserID: userID, Data: a})
	return nil
}

// alertQueue alerts every ready agent of the conversation's queue (T1, T2, T10, T11,
// T13), except skip (0 for none). A muted conversation alerts nobody.
func (r *Router) alertQueue(tx *store.Tx, em *emitter, c store.Conversation, note string, msgID, skip int64, now time.Time) error {
	if c.Muted {
		return nil
	}
	ids, err := tx.ReadyAgents(c.QueueID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id == skip {
			continue
		}
		if err := r.raise(tx, em, id, c, store.AlertQueue, note, msgID, now); err != nil {
			return err
		}
	}
	return nil
}

// alertOwner alerts the owner and the participants (T3), and the queue as well when
// the owner is not ready and the line escalates.
func (r *Router) alertOwner(tx *store.Tx, em *emitter, c store.Conversation, note string, msgID int64, now time.Time) error {
	if c.Muted {
		return nil
	}
	if c.OwnerID != 0 {
		if err := r.raise(tx, em, c.OwnerID, c, store.AlertOwner, note, msgID, now); err != nil {
			return err
		}
	}
	parts, err := tx.Participants(c.ID)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p == c.OwnerID {
			continue
		}
		if err := r.raise(tx, em, p, c, store.AlertOwner, note, msgID, now); err != nil {
			return err
		}
	}
	if c.OwnerID == 0 {
		return nil
	}
	owner, err := tx.Agent(c.OwnerID)
	if err != nil {
		return err
	}
	if owner.Availability == store.AvailabilityReady && !owner.Disabled {
		return nil
	}
	line, err := tx.EnsureLine(c.Line)
	if err != nil {
		return err
	}
	if line.EscalateOwnerAway {
		return r.alertQueue(tx, em, c, note+" (owner "+owner.Availability+")", msgID, c.OwnerID, now)
	}
	return nil
}

// alertFor alerts as the conversation's state asks: the queue when unowned, the owner
// when owned.
func (r *Router) alertFor(tx *store.Tx, em *emitter, c store.Conversation, note string, msgID int64, now time.Time) error {
	if c.OwnerID == 0 {
		return r.alertQueue(tx, em, c, note, msgID, 0, now)
	}
	return r.alertOwner(tx, em, c, note, msgID, now)
}

// supersede ends the queue alerts (and owner alerts, when all) of a conversation
// because of what happened (note), except keepUser's, and emits alert.updated.
func (r *Router) supersede(tx *store.Tx, em *emitter, c store.Conversation, reasons []string, keepUser int64, note string, now time.Time) error {
	list, err := tx.SupersedeAlerts(c.ID, reasons, keepUser, note, now)
	if err != nil {
		return err
	}
	for _, a := range list {
		em.emit(event.Event{Type: event.AlertUpdated, ConversationID: c.ID, ThreadID: c.ThreadID, QueueID: c.QueueID,
			OwnerID: c.OwnerID, UserID: a.UserID, Data: a})
	}
	return nil
}

// Alerts lists the actor's alerts in state ("" for all, store.AlertActive, ...).
func (r *Router) Alerts(ctx context.Context, a Actor, state string) ([]store.Alert, error) {
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return nil, err
	}
	return r.db.Alerts(ctx, w.UserID, state, 200)
}

// MarkAlertRead marks one of the actor's alerts read.
func (r *Router) MarkAlertRead(ctx context.Context, a Actor, alertID int64) error {
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		err = tx.MarkAlertRead(w.UserID, alertID, r.now())
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: alert %d", ErrNotFound, alertID)
		}
		return err
	})
}
