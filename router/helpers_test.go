package router

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeOutbox records sends and writes the message row as the queue would (without
// parts), so threads show outbound messages.
type fakeOutbox struct {
	db   *store.DB
	now  func() time.Time
	mu   sync.Mutex
	sent []Outgoing
	fail error
}

func (o *fakeOutbox) Send(ctx context.Context, m Outgoing) (int64, error) {
	o.mu.Lock()
	fail := o.fail
	o.mu.Unlock()
	if fail != nil {
		return 0, fail
	}
	id, err := o.db.RecordOutbound(ctx, store.OutboundRecord{Kind: m.Kind, Peer: m.To, Line: m.Line, ThreadID: m.ThreadID,
		Body: m.Body, AuthorID: m.AuthorID, IdempotencyKey: m.IdempotencyKey, At: o.now()})
	if err != nil {
		return 0, err
	}
	o.mu.Lock()
	o.sent = append(o.sent, m)
	o.mu.Unlock()
	return id, nil
}

func (o *fakeOutbox) Sent() []Outgoing {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Outgoing(nil), o.sent...)
}

// fakeReports records status reports and answers matched.
type fakeReports struct {
	mu      sync.Mutex
	matched bool
	got     []StatusReport
}

func (f *fakeReports) ApplyStatusReport(_ context.Context, r StatusReport) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	return f.matched, nil
}

// env is one router on a fresh SQLite file with five users:
// ada (admin, away), sam (supervisor), ana and bob (dispatchers), vic (viewer),
// all in the default queue; sam, ana and bob are ready.
type env struct {
	t     *testing.T
	ctx   context.Context
	path  string
	db    *store.DB
	bus   *event.Bus
	sub   *event.Subscription
	clk   *clock
	out   *fakeOutbox
	rep   *fakeReports
	r     *Router
	cfg   Config
	users map[string]store.Agent
}

const (
	modemName = "m0"
	modemIMSI = "001010123456789"
	custA     = "+4915112345678"
	custB     = "+4915112345679"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "smsgw.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "DE"
	}
	clk := &clock{t: t0}
	bus := event.New(10000, clk.Now)
	e := &env{t: t, ctx: ctx, path: path, db: db, bus: bus, sub: bus.Subscribe(100000, nil), clk: clk,
		out: &fakeOutbox{db: db, now: clk.Now}, rep: &fakeReports{matched: true}, cfg: cfg, users: map[string]store.Agent{}}
	e.r = New(cfg, Deps{DB: db, Bus: bus, Outbox: e.out, Reports: e.rep, Now: clk.Now})
	for _, u := range []struct{ name, display, role, avail string }{
		{"ada", "Ada", RoleAdmin, store.AvailabilityAway},
		{"sam", "Sam", RoleSupervisor, store.AvailabilityReady},
		{"ana", "Ana", RoleDispatcher, store.AvailabilityReady},
		{"bob", "Bob", RoleDispatcher, store.AvailabilityReady},
		{"vic", "Vic", RoleViewer, store.AvailabilityReady},
	} {
		ag, err := db.CreateAgent(ctx, u.name, u.display, u.role)
		if err != nil {
			t.Fatal(err)
		}
		e.users[u.name] = ag
		if err := e.r.SetQueueMember(ctx, System, store.DefaultQueueID, ag.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := e.r.SetAvailability(ctx, System, ag.ID, u.avail); err != nil {
			t.Fatal(err)
		}
	}
	e.drain()
	return e
}

func (e *env) actor(name string) Actor {
	u, ok := e.users[name]
	if !ok {
		e.t.Fatalf("no user %s", name)
	}
	return Actor{UserID: u.ID, Role: u.Role}
}

func (e *env) uid(name string) int64 { return e.users[name].ID }

// store stores the PDUs of a text from a phone without routing them.
func (e *env) store(from, text string, o sms.DeliverOptions) []sms.PDU {
	e.t.Helper()
	if o.Time.IsZero() {
		o.Time = e.clk.Now()
	}
	pdus, err := sms.EncodeDeliver(from, text, o)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range pdus {
		if _, err := e.db.InsertInboundPDU(e.ctx, store.InboundPDU{Modem: modemName, IMSI: modemIMSI, PDU: p.Bytes}); err != nil {
			e.t.Fatal(err)
		}
	}
	return pdus
}

// inbound delivers a text from a phone and routes it.
func (e *env) inbound(from, text string) {
	e.t.Helper()
	e.store(from, text, sms.DeliverOptions{})
	e.process()
}

func (e *env) process() {
	e.t.Helper()
	if err := e.r.ProcessInbound(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sweep() SweepResult {
	e.t.Helper()
	res, err := e.r.SweepOnce(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// live returns the live (or, with none, the latest) episode of number's thread on m0.
func (e *env) live(number string) store.Conversation {
	e.t.Helper()
	c, err := e.db.ContactByNumber(e.ctx, number)
	if err != nil {
		e.t.Fatalf("contact %s: %v", number, err)
	}
	ths, err := e.db.ThreadsOfContact(e.ctx, c.ID)
	if err != nil || len(ths) == 0 {
		e.t.Fatalf("threads of %s: %v", number, err)
	}
	eps, err := e.db.ConversationsOfThread(e.ctx, ths[0].ID)
	if err != nil || len(eps) == 0 {
		e.t.Fatalf("episodes of %s: %v", number, err)
	}
	for _, ep := range eps {
		if ep.Status != store.StatusClosed {
			return ep
		}
	}
	return eps[len(eps)-1]
}

func (e *env) conv(id int64) store.Conversation {
	e.t.Helper()
	c, err := e.db.Conversation(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// drain returns the types of the events published since the last drain.
func (e *env) drain() []string {
	var out []string
	for {
		select {
		case ev := <-e.sub.C():
			out = append(out, ev.Type)
		default:
			return out
		}
	}
}

// alerts returns user's alerts about conversation id, by reason.
func (e *env) alerts(user string, id int64) map[string]store.Alert {
	e.t.Helper()
	list, err := e.db.Alerts(e.ctx, e.uid(user), "", 500)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]store.Alert{}
	for _, a := range list {
		if a.ConversationID == id {
			out[a.Reason] = a
		}
	}
	return out
}

func (e *env) activeAlert(user string, id int64, reason string) bool {
	a, ok := e.alerts(user, id)[reason]
	return ok && a.State == store.AlertActive
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// must returns v, or panics with err (which fails the test with its stack).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
