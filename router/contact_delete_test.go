package router

import (
	"errors"
	"slices"
	"testing"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

func TestDeleteContact(t *testing.T) {
	e := newEnv(t, Config{})
	e.inbound(custA, "the boiler is leaking")
	e.inbound(custB, "hello")
	a, b := e.live(custA), e.live(custB)
	bare := must(e.r.CreateContact(e.ctx, e.actor("sam"), "Bare", "customer", []string{"+4915112345670"}))
	e.drain()

	for _, who := range []string{"sam", "ana", "vic"} {
		if _, err := e.r.DeleteContact(e.ctx, e.actor(who), a.ContactID, true); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s deleting: %v, want forbidden", who, err)
		}
	}
	if _, err := e.r.DeleteContact(e.ctx, e.actor("ada"), 9999, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
	if _, err := e.r.DeleteContact(e.ctx, e.actor("ada"), a.ContactID, false); !errors.Is(err, ErrConflict) {
		t.Errorf("history without force: %v, want conflict", err)
	}
	if got := e.drain(); len(got) != 0 {
		t.Errorf("refused deletions emitted %v", got)
	}

	d := must(e.r.DeleteContact(e.ctx, e.actor("ada"), a.ContactID, true))
	if d.Messages != 1 || d.Conversations != 1 || d.Threads != 1 {
		t.Errorf("deletion %+v", d)
	}
	if got := e.drain(); !slices.Equal(got, []string{event.ConversationUpdated, event.ContactUpdated}) {
		t.Errorf("events %v", got)
	}
	if _, err := e.r.Contact(e.ctx, e.actor("ada"), a.ContactID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted contact: %v", err)
	}
	if _, err := e.db.Conversation(e.ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted conversation: %v", err)
	}
	// Others are untouched, and a contact without history needs no force.
	if _, err := e.db.Conversation(e.ctx, b.ID); err != nil {
		t.Errorf("other conversation: %v", err)
	}
	if _, err := e.r.DeleteContact(e.ctx, e.actor("ada"), bare.ID, false); err != nil {
		t.Errorf("bare contact: %v", err)
	}
	// The number is free again: a new message makes a new lead with a new thread.
	e.inbound(custA, "hello again")
	if c := e.live(custA); c.ContactID == a.ContactID || c.ID == a.ID {
		t.Errorf("new message reused deleted rows: %+v", c)
	}
}
