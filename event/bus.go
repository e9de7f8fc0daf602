// Package event is smsgw's in-process publish/subscribe bus. The router publishes
// domain events (a message arrived, a conversation was accepted, an alert was raised)
// and the SSE stream, webhooks and alert channels subscribe to them.
//
// Publishing never blocks: every subscriber has a buffered channel, and an event that
// does not fit is dropped for that subscriber and counted, so one stuck browser can
// never stall inbound processing. The bus keeps the last N events in a ring so that an
// SSE client reconnecting with Last-Event-ID can resume where it stopped.
package event

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event types published by the router.
const (
	MessageReceived       = "message.received"
	MessageUpdated        = "message.updated"
	MessageSent           = "message.sent"
	MessageStatus         = "message.status"
	ConversationCreated   = "conversation.created"
	ConversationAccepted  = "conversation.accepted"
	ConversationAssigned  = "conversation.assigned"
	ConversationReleased  = "conversation.released"
	ConversationSnoozed   = "conversation.snoozed"
	ConversationWoken     = "conversation.woken"
	ConversationResolved  = "conversation.resolved"
	ConversationReopened  = "conversation.reopened"
	ConversationClosed    = "conversation.closed"
	ConversationUpdated   = "conversation.updated"
	NoteCreated           = "note.created"
	ContactCreated        = "contact.created"
	ContactUpdated        = "contact.updated"
	ContactOptedOut       = "contact.opted_out"
	ContactOptedIn        = "contact.opted_in"
	AlertCreated          = "alert.created"
	AlertUpdated          = "alert.updated"
	AgentAvailability     = "agent.availability"
	InboundUndecodable    = "inbound.undecodable"
	StatusReportUnmatched = "message.status_unmatched"
)

// Event is one thing that happened. ID and Time are set by Publish. The visibility
// fields let a subscriber (the SSE stream of one user) decide whether it may see the
// event without looking into Data; zero means "not about a conversation / anyone".
type Event struct {
	ID   int64     // monotonic, starting at 1, unique within one process run
	Type string    // one of the constants above
	Time time.Time // when it was published

	ConversationID int64 // the conversation it concerns, if any
	ThreadID       int64 // the thread it concerns, if any
	QueueID        int64 // the conversation's queue, if any
	OwnerID        int64 // the conversation's owner after the change, if any
	UserID         int64 // the only user it is for (alerts), if any
	ActorID        int64 // who caused it; 0 for the system or a customer

	Data any // the payload: a store row or a small struct; never mutated after publishing
}

// Subscription receives events on C until Close. Events that did not fit in its buffer
// were dropped and are counted by Dropped.
type Subscription struct {
	bus     *Bus
	ch      chan Event
	filter  func(Event) bool
	dropped atomic.Uint64
	closed  bool // guarded by bus.mu
}

// C returns the channel events arrive on. It is closed by Close (or Bus.Close).
func (s *Subscription) C() <-chan Event { return s.ch }

// Dropped returns how many events were dropped because the subscriber was too slow.
// A client that sees it grow should resynchronise (reload its lists).
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes its channel. It is safe to call twice.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	delete(s.bus.subs, s)
	close(s.ch)
}

// Bus fans events out to subscribers. The zero value is not usable; call New.
type Bus struct {
	mu      sync.Mutex
	now     func() time.Time
	nextID  int64
	ring    []Event // circular, len == cap once full
	head    int     // index of the oldest event once the ring is full
	size    int
	subs    map[*Subscription]struct{}
	dropped atomic.Uint64
	closed  bool
}

// New returns a bus that keeps the last ringSize events for replay (at least 1). now
// stamps events; nil means time.Now.
func New(ringSize int, now func() time.Time) *Bus {
	if ringSize < 1 {
		ringSize = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Bus{now: now, size: ringSize, ring: make([]Event, 0, ringSize), subs: map[*Subscription]struct{}{}}
}

// Publish stamps e with the next ID and the time, keeps it in the replay ring and
// offers it to every subscriber whose filter accepts it, without ever blocking. It
// returns the stamped event. Publishing on a closed bus only stamps and returns.
func (b *Bus) Publish(e Event) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	e.ID = b.nextID
	e.Time = b.now()
	if b.closed {
		return e
	}
	if len(b.ring) < b.size {
		b.ring = append(b.ring, e)
	} else {
		b.ring[b.head] = e
		b.head = (b.head + 1) % b.size
	}
	for s := range b.subs {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
			b.dropped.Add(1)
		}
	}
	return e
}

// Subscribe returns a subscription with a buffer of buf events (at least 1) that
// receives the events filter accepts (nil accepts all). The filter runs on the
// publisher's goroutine with the bus locked, so it must be quick and must not call
// the bus.
func (b *Bus) Subscribe(buf int, filter func(Event) bool) *Subscription {
	s, _, _ := b.SubscribeSince(-1, buf, filter)
	return s
}

// SubscribeSince subscribes like Subscribe and, in the same step, returns the retained
// events after lastID that filter accepts, so that nothing falls between the replay
// and the live stream. complete is false when events after lastID have already left
// the ring (the client must reload its state). lastID < 0 means "no replay".
func (b *Bus) SubscribeSince(lastID int64, buf int, filter func(Event) bool) (s *Subscription, replay []Event, complete bool) {
	if buf < 1 {
		buf = 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s = &Subscription{bus: b, ch: make(chan Event, buf), filter: filter}
	if b.closed {
		s.closed = true
		close(s.ch)
		return s, nil, false
	}
	b.subs[s] = struct{}{}
	if lastID < 0 {
		return s, nil, true
	}
	replay, complete = b.sinceLocked(lastID, filter)
	return s, replay, complete
}

// Since returns the retained events with an ID above lastID, oldest first, and whether
// the ring still held every one of them.
func (b *Bus) Since(lastID int64) ([]Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sinceLocked(lastID, nil)
}

func (b *Bus) sinceLocked(lastID int64, filter func(Event) bool) ([]Event, bool) {
	var out []Event
	oldest := int64(0)
	n := len(b.ring)
	for i := 0; i < n; i++ {
		e := b.ring[(b.head+i)%n]
		if i == 0 {
			oldest = e.ID
		}
		if e.ID <= lastID || (filter != nil && !filter(e)) {
			continue
		}
		out = append(out, e)
	}
	// Complete when nothing after lastID was overwritten: the oldest kept event
	// directly follows lastID or came earlier, or nothing was ever evicted.
	complete := n == 0 || oldest <= lastID+1 || b.nextID <= int64(b.size)
	if lastID >= b.nextID {
		complete = true
	}
	return out, complete
}

// LastID returns the ID of the last published event (0 before the first).
func (b *Bus) LastID() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nextID
}

// Dropped returns how many deliveries were dropped over all subscribers.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }

// Subscribers returns the number of open subscriptions.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close closes every subscription; later Subscribe calls get a closed channel and
// later events are not delivered.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		s.closeLocked()
	}
}
