package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/event"
)

// Envelope is what a webhook receives and what the SSE stream sends: the same shape
// for both, so integrators and the web UI see the same thing.
type Envelope struct {
	// ID is unique across restarts ("evt_<boot>_<seq>"); receivers drop duplicates
	// by it (a delivery can repeat after a crash).
	ID string `json:"id"`
	// Seq is the event bus sequence number of this process (the SSE event id).
	Seq        int64     `json:"seq"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Actor      Actor     `json:"actor"`
	// ConversationID is set for events about a conversation.
	ConversationID int64 `json:"conversation_id,omitempty"`
	// Data is the object after the change: a conversation, contact, message event, ...
	// Strings from SMS are JSON-encoded data, never markup.
	Data json.RawMessage `json:"data"`
	// Changes maps each changed field to [old, new] when the previous state was seen
	// by this process.
	Changes map[string][2]any `json:"changes,omitempty"`
}

// Actor is who caused an event: a user, or the system (customers and automations).
type Actor struct {
	Type string `json:"type"` // user or system
	ID   int64  `json:"id,omitempty"`
}

// Line returns the line an event belongs to ("" if none).
func (e Envelope) Line() string {
	var v struct {
		Line string `json:"line"`
	}
	_ = json.Unmarshal(e.Data, &v)
	return v.Line
}

// tracked are the fields whose old values go into Changes, by object kind.
var tracked = map[string][]string{
	"conversation": {"status", "owner_id", "queue_id", "priority", "archived", "snoozed_until", "needs_reply", "muted", "line"},
	"contact":      {"name", "type", "opted_out", "blocked", "numbers", "fields"},
}

// Envelopes builds envelopes from bus events, each exactly once and in publishing
// order, so that Changes compare every object with its state at the event before.
type Envelopes struct {
	mu     sync.Mutex
	boot   string
	last   int64
	cache  map[int64]Envelope
	order  []int64 // ring of cached ids
	next   int
	states map[string]map[string]any
	sub    *event.Subscription
}

// NewEnvelopes builds envelopes for the events of bus; it keeps the last keep of them
// (at least as many as the bus's replay ring, so SSE replays carry the same changes).
func NewEnvelopes(bus *event.Bus, keep int) *Envelopes {
	if keep < 16 {
		keep = 16
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &Envelopes{boot: hex.EncodeToString(b), cache: map[int64]Envelope{}, order: make([]int64, keep),
		states: map[string]map[string]any{}}
	if bus != nil {
		// The filter runs on the publisher's goroutine in publishing order: the right
		// place to observe every event once, before any subscriber reads it. It
		// accepts nothing, so the subscription never queues.
		e.sub = bus.Subscribe(1, func(ev event.Event) bool {
			e.Of(ev)
			return false
		})
	}
	return e
}

// Boot identifies this process run: envelope and SSE ids carry it, so an id from an
// earlier run is recognised as such.
func (e *Envelopes) Boot() string { return e.boot }

// Close stops observing the bus.
func (e *Envelopes) Close() {
	if e.sub != nil {
		e.sub.Close()
	}
}

// Of returns the envelope of ev, building it if this is the first time.
func (e *Envelopes) Of(ev event.Event) Envelope {
	e.mu.Lock()
	defer e.mu.Unlock()
	if env, ok := e.cache[ev.ID]; ok {
		return env
	}
	env := e.build(ev, ev.ID > e.last)
	if ev.ID > e.last {
		e.last = ev.ID
	}
	if old := e.order[e.next]; old != 0 {
		delete(e.cache, old)
	}
	e.order[e.next] = ev.ID
	e.next = (e.next + 1) % len(e.order)
	e.cache[ev.ID] = env
	return env
}

func (e *Envelopes) build(ev event.Event, track bool) Envelope {
	env := Envelope{ID: fmt.Sprintf("evt_%s_%d", e.boot, ev.ID), Seq: ev.ID, Type: ev.Type, OccurredAt: ev.Time.UTC(),
		Actor: Actor{Type: "system"}, ConversationID: ev.ConversationID}
	if ev.ActorID != 0 {
		env.Actor = Actor{Type: "user", ID: ev.ActorID}
	}
	data, err := json.Marshal(ev.Data)
	if err != nil {
		data = []byte(`null`)
	}
	env.Data = data
	if !track {
		return env
	}
	kind, _, _ := strings.Cut(ev.Type, ".")
	fields := tracked[kind]
	if fields == nil {
		return env
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil || m == nil {
		return env
	}
	id, ok := m["id"].(float64)
	if !ok || id == 0 {
		return env
	}
	key := fmt.Sprintf("%s:%d", kind, int64(id))
	cur := make(map[string]any, len(fields))
	for _, f := range fields {
		cur[f] = m[f]
	}
	if prev, ok := e.states[key]; ok {
		for _, f := range fields {
			if !reflect.DeepEqual(prev[f], cur[f]) {
				if env.Changes == nil {
					env.Changes = map[string][2]any{}
				}
				env.Changes[f] = [2]any{prev[f], cur[f]}
			}
		}
	}
	if len(e.states) > 100000 {
		clear(e.states)
	}
	e.states[key] = cur
	return env
}
