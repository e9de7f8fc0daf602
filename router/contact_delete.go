package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// DeleteContact deletes a contact for good (admin only, like merging; INBOX.md). A
// contact with messages or notes is refused with ErrConflict unless force is set; with
// force its threads, conversations (alerts, tags, notes, markers, activity) and
// messages go in the same transaction (see store.Tx.DeleteContact). Each deleted
// conversation is announced as conversation.updated {"deleted": true} and the contact
// as contact.updated {"id", "deleted": true}, so lists and webhooks drop them.
func (r *Router) DeleteContact(ctx context.Context, a Actor, id int64, force bool) (store.ContactDeletion, error) {
	var out store.ContactDeletion
	err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if err := checkAdmin(w, "deleting contacts"); err != nil {
			return err
		}
		d, err := tx.DeleteContact(id, force)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return notFound(err, fmt.Sprintf("contact %d", id))
		case errors.Is(err, store.ErrHasHistory):
			return fmt.Errorf("%w: contact %d has %d message(s) and %d note(s) in %d conversation(s); delete with force to remove them too",
				ErrConflict, id, d.Messages, d.Notes, d.Conversations)
		case errors.Is(err, store.ErrSending):
			return fmt.Errorf("%w: %v", ErrConflict, err)
		case err != nil:
			return err
		}
		out = d
		for _, c := range d.Episodes {
			em.emit(convEvent(event.ConversationUpdated, c, w.UserID, map[string]any{"id": c.ID, "deleted": true}))
		}
		em.emit(event.Event{Type: event.ContactUpdated, ActorID: w.UserID, Data: map[string]any{"id": id, "deleted": true}})
		return nil
	})
	return out, err
}
