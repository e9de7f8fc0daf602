// Package router turns stored inbound PDUs into messages in conversation threads, and
// is the domain API of the team inbox that the REST API and the web UI both call.
//
// Inbound: Run decodes every unprocessed row of inbound_pdus, reassembles long messages
// from their parts in the database (so a restart loses nothing; an incomplete set is
// delivered after Config.ReassemblyTimeout with the gaps marked), hands status reports
// to the queue, and places each message in its contact's thread on the receiving line,
// creating the contact (a lead), the thread and the conversation episode as needed and
// alerting the right agents (INBOX.md transitions T1–T6, T19–T21).
//
// Conversations: every domain call takes an Actor, checks it against the permission
// presets of permissions.go, and performs one transition (T7–T18) as a compare-and-set
// inside one write transaction, together with its alerts and activity line. Events are
// published on the event bus after the transaction commits.
//
// Every string that came in an SMS (body, sender id, contact name derived from it) is
// treated as data: stored and passed on, never interpreted.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// Sentinel errors. Use errors.Is; AcceptConflictError matches ErrConflict.
var (
	ErrForbidden         = errors.New("router: forbidden")
	ErrNotFound          = errors.New("router: not found")
	ErrConflict          = errors.New("router: conflict")
	ErrInvalidTransition = errors.New("router: not allowed in the conversation's current status")
	ErrOptedOut          = errors.New("router: the contact opted out of automated messages")
	ErrBlocked           = errors.New("router: the contact is blocked")
	ErrInvalid           = errors.New("router: invalid input")
	// ErrConfirmRequired means the conversation belongs to another agent and the
	// "warn first" setting asks the caller to confirm (ReplyRequest.Force).
	ErrConfirmRequired = errors.New("router: the conversation is owned by someone else; confirm to reply anyway")
)

// AcceptConflictError is returned when an accept (or an auto-accept by reply) loses the
// race: the conversation already has an owner.
type AcceptConflictError struct {
	ConversationID int64
	OwnerID        int64
	Owner          string // the winner's display name
}

// Error names the winner.
func (e *AcceptConflictError) Error() string {
	return fmt.Sprintf("router: conversation %d was already accepted by %s", e.ConversationID, e.Owner)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *AcceptConflictError) Is(target error) bool { return target == ErrConflict }

// Roles of an Actor. RoleSystem is for automations and the job system (API tokens
// with full scope); it passes every permission check.
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleDispatcher = "dispatcher"
	RoleViewer     = "viewer"
	RoleSystem     = "system"
)

// Actor is who performs a domain call: a logged-in user (UserID, Role) or the system.
type Actor struct {
	UserID int64
	Role   string
}

// System is the actor for automations.
var System = Actor{Role: RoleSystem}

// Outgoing is a message for the outbound queue.
type Outgoing struct {
	To, Line, Body string
	Kind           string // "agent", "automated", "relay"
	AuthorID       int64
	ThreadID       int64
	IdempotencyKey string
}

// Outbox queues outbound SMS. The queue implements it: it commits a messages row
// (direction 'out', thread_id set) with its parts and returns the message id. It must
// not refuse automated messages to opted-out contacts itself: the router decides that
// (and sends the opt-out confirmation as an automated message).
type Outbox interface {
	Send(ctx context.Context, m Outgoing) (messageID int64, err error)
}

// StatusReport is a decoded SMS-STATUS-REPORT.
type StatusReport struct {
	Modem     string
	MR        int
	Recipient string
	SCTS      time.Time
	Discharge time.Time
	Status    byte
}

// StatusReports matches status reports to sent parts. The queue implements it.
type StatusReports interface {
	ApplyStatusReport(ctx context.Context, r StatusReport) (matched bool, err error)
}

// Keywords are the opt-out and opt-in words of one language and the confirmations
// sent for them. A message whose whole text (trimmed, case-folded, without trailing
// punctuation) is one of the words matches.
type Keywords struct {
	OptOut, OptIn                         []string
	OptOutConfirmation, OptInConfirmation string
}

// DefaultKeywords are used when Config.Keywords is nil.
var DefaultKeywords = map[string]Keywords{
	"en": {
		OptOut:             []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT", "REVOKE"},
		OptIn:              []string{"START", "UNSTOP", "SUBSCRIBE", "OPTIN", "OPT IN"},
		OptOutConfirmation: "You have been unsubscribed and will receive no more automated messages. Reply START to subscribe again.",
		OptInConfirmation:  "You have been subscribed again. Reply STOP to unsubscribe.",
	},
	"de": {
		OptOut:             []string{"STOPP", "ABMELDEN", "ABBESTELLEN"},
		OptIn:              []string{"ANMELDEN"},
		OptOutConfirmation: "Sie wurden abgemeldet und erhalten keine automatischen Nachrichten mehr. Antworten Sie START, um sich wieder anzumelden.",
		OptInConfirmation:  "Sie sind wieder angemeldet. Antworten Sie STOPP, um sich abzumelden.",
	},
}

// Config holds the router's settings. Zero values take the defaults noted.
type Config struct {
	// DefaultRegion is the CLDR region for national numbers ("DE", "GB").
	DefaultRegion string
	// LineForModem names the line a modem receives for; nil uses the modem name.
	LineForModem func(modem, imsi string) string
	// GraceWindow: a reply this soon after resolving reopens the same episode (T5);
	// after it the episode is CLOSED (T15). Default 72 h.
	GraceWindow time.Duration
	// ReassemblyTimeout: an incomplete set of parts is delivered with gaps marked
	// after this long. Default 1 h.
	ReassemblyTimeout time.Duration
	// LatePartWindow: a part arriving this long after its set was delivered
	// incomplete still completes it. Default 7 days.
	LatePartWindow time.Duration
	// AlertTTL: alerts expire this long after creation. Default 14 days.
	AlertTTL time.Duration
	// AutoResolveAfter resolves NEW/OPEN episodes without activity for this long
	// (T14, reason auto); 0 turns it off. SNOOZED ones are never auto-resolved.
	AutoResolveAfter time.Duration
	// PollInterval bounds how long Run sleeps without a Notify. Default 5 s.
	PollInterval time.Duration
	// SweepInterval is how often timers are checked (snoozes, grace windows,
	// ownership timeouts, alert expiry, reassembly timeouts). Default 30 s.
	SweepInterval time.Duration
	// Keywords by language; nil means DefaultKeywords.
	Keywords map[string]Keywords
	// NoReturnToLastOwner turns off T5's "return to the last owner if available".
	NoReturnToLastOwner bool
	// NoAutoAccept turns off T8 (a reply to a NEW episode accepts it) for everyone;
	// NoAutoAcceptSupervisors only for admins and supervisors.
	NoAutoAccept, NoAutoAcceptSupervisors bool
	// JobOwnerOwnsReplies: a customer reply to a business alert (T19) goes to the
	// job's dispatcher as owner rather than to the queue.
	JobOwnerOwnsReplies bool
	// Permissions are the per-install settings of the permission presets.
	Permissions Permissions
	// UnreadPerTeam makes read state shared: a conversation one agent has read (or
	// replied in) is read for everyone, and "mark unread" marks it unread for
	// everyone. The default is a read marker per user.
	UnreadPerTeam bool
}

func (c *Config) defaults() {
	if c.GraceWindow <= 0 {
		c.GraceWindow = 72 * time.Hour
	}
	if c.ReassemblyTimeout <= 0 {
		c.ReassemblyTimeout = time.Hour
	}
	if c.LatePartWindow <= 0 {
		c.LatePartWindow = 7 * 24 * time.Hour
	}
	if c.AlertTTL <= 0 {
		c.AlertTTL = 14 * 24 * time.Hour
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 30 * time.Second
	}
	if c.Keywords == nil {
		c.Keywords = DefaultKeywords
	}
	c.Permissions.defaults()
}

// Deps are the router's collaborators. DB and Bus are required; a nil Outbox makes
// sending fail, nil Reports leaves status reports unmatched, nil Now is time.Now and
// nil Log discards.
type Deps struct {
	DB      *store.DB
	Bus     *event.Bus
	Outbox  Outbox
	Reports StatusReports
	Now     func() time.Time
	Log     *slog.Logger
}

// Router is the inbound router and the inbox domain API. It is safe for concurrent
// use; all its state is in the database.
type Router struct {
	cfg     Config
	db      *store.DB
	bus     *event.Bus
	out     Outbox
	reports StatusReports
	now     func() time.Time
	log     *slog.Logger
	wake    chan struct{}

	mu        sync.Mutex
	failures  map[int64]int // PDU id → failed routing attempts in this process
	lastSweep time.Time

	live atomic.Pointer[Settings] // what ApplySettings may change; see Settings
}

// New returns a router. Call Run to process inbound PDUs.
func New(cfg Config, d Deps) *Router {
	cfg.defaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Bus == nil {
		d.Bus = event.New(1, d.Now)
	}
	r := &Router{cfg: cfg, db: d.DB, bus: d.Bus, out: d.Outbox, reports: d.Reports, now: d.Now, log: d.Log,
		wake: make(chan struct{}, 1), failures: map[int64]int{}}
	s := settingsOf(cfg)
	r.live.Store(&s)
	return r
}

// Notify wakes Run to process newly stored PDUs. It never blocks.
func (r *Router) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run processes inbound PDUs until ctx ends: at start, on every Notify and at least
// every PollInterval, and runs the timer sweep every SweepInterval. Errors are logged
// and retried on the next pass; Run returns nil when ctx is done.
func (r *Router) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := r.ProcessInbound(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("inbound processing", "error", err)
		}
		r.mu.Lock()
		due := r.now().Sub(r.lastSweep) >= r.cfg.SweepInterval
		r.mu.Unlock()
		if due {
			if err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("sweep", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-t.C:
		}
	}
}

// emitter collects the events of one transaction; they are published after commit.
type emitter struct{ events []event.Event }

func (e *emitter) emit(ev event.Event) { e.events = append(e.events, ev) }

// update runs fn in one write transaction and publishes its events once committed.
func (r *Router) update(ctx context.Context, fn func(tx *store.Tx, em *emitter) error) error {
	var em emitter
	err := r.db.Update(ctx, func(tx *store.Tx) error {
		em = emitter{}
		return fn(tx, &em)
	})
	if err != nil {
		return err
	}
	for _, ev := range em.events {
		r.bus.Publish(ev)
	}
	return nil
}

// convEvent builds an event about a conversation with its visibility fields.
func convEvent(typ string, c store.Conversation, actor int64, data any) event.Event {
	if data == nil {
		data = c
	}
	return event.Event{Type: typ, ConversationID: c.ID, ThreadID: c.ThreadID, QueueID: c.QueueID, OwnerID: c.OwnerID,
		ActorID: actor, Data: data}
}

// notFound maps store.ErrNotFound to ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return err
}
