package router

import (
	"context"
	"fmt"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// SetAvailability sets an agent's availability (ready, busy, away). Agents set their
// own; managers anyone's. Only ready agents get queue alerts.
func (r *Router) SetAvailability(ctx context.Context, a Actor, userID int64, availability string) error {
	switch availability {
	case store.AvailabilityReady, store.AvailabilityBusy, store.AvailabilityAway:
	default:
		return fmt.Errorf("%w: availability %q", ErrInvalid, availability)
	}
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if userID != w.UserID {
			if err := checkManager(w, "setting someone else's availability"); err != nil {
				return err
			}
		}
		if _, err := tx.Agent(userID); err != nil {
			return notFound(err, fmt.Sprintf("user %d", userID))
		}
		if err := tx.SetAvailability(userID, availability, r.now()); err != nil {
			return err
		}
		em.emit(event.Event{Type: event.AgentAvailability, UserID: 0, ActorID: w.UserID,
			Data: map[string]any{"user_id": userID, "availability": availability}})
		return nil
	})
}

// Agents lists the users with availability and queues.
func (r *Router) Agents(ctx context.Context, a Actor) ([]store.Agent, error) {
	if _, err := r.resolveRead(ctx, a); err != nil {
		return nil, err
	}
	return r.db.Agents(ctx)
}

// adminOp runs fn for an admin in a write transaction.
func (r *Router) adminOp(ctx context.Context, a Actor, what string, fn func(tx *store.Tx) error) error {
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if err := checkAdmin(w, what); err != nil {
			return err
		}
		return fn(tx)
	})
}

// CreateQueue adds a queue (admin). ownershipTimeout > 0 enables T11 for it.
func (r *Router) CreateQueue(ctx context.Context, a Actor, name string, ownershipTimeout time.Duration) (int64, error) {
	name, err := cleanTag(name)
	if err != nil {
		return 0, fmt.Errorf("%w: queue name must be 1-64 printable characters", ErrInvalid)
	}
	var id int64
	err = r.adminOp(ctx, a, "managing queues", func(tx *store.Tx) error {
		id, err = tx.CreateQueue(name, ownershipTimeout)
		return err
	})
	return id, err
}

// SetOwnershipTimeout sets a queue's ownership timeout (admin; 0 turns T11 off).
func (r *Router) SetOwnershipTimeout(ctx context.Context, a Actor, queueID int64, d time.Duration) error {
	return r.adminOp(ctx, a, "managing queues", func(tx *store.Tx) error {
		return notFound(tx.SetOwnershipTimeout(queueID, d), fmt.Sprintf("queue %d", queueID))
	})
}

// SetQueueMember adds a user to a queue (member true) or removes them (admin).
func (r *Router) SetQueueMember(ctx context.Context, a Actor, queueID, userID int64, member bool) error {
	return r.adminOp(ctx, a, "managing queues", func(tx *store.Tx) error {
		if member {
			return tx.AddQueueMember(queueID, userID)
		}
		return tx.RemoveQueueMember(queueID, userID)
	})
}

// SetLine routes a line to a queue (admin), with its escalation rule (T3).
func (r *Router) SetLine(ctx context.Context, a Actor, l store.Line) error {
	if l.Name == "" || l.QueueID == 0 {
		return fmt.Errorf("%w: a line needs a name and a queue", ErrInvalid)
	}
	return r.adminOp(ctx, a, "managing lines", func(tx *store.Tx) error { return tx.SetLine(l) })
}

// Queues lists the queues.
func (r *Router) Queues(ctx context.Context, a Actor) ([]store.Queue, error) {
	if _, err := r.resolveRead(ctx, a); err != nil {
		return nil, err
	}
	return r.db.Queues(ctx)
}

// Lines lists the lines and their queues.
func (r *Router) Lines(ctx context.Context, a Actor) ([]store.Line, error) {
	if _, err := r.resolveRead(ctx, a); err != nil {
		return nil, err
	}
	return r.db.Lines(ctx)
}
