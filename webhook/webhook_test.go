package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

const secret = "test-secret-0123456789"

// receiver is a local webhook endpoint that verifies every signature and can be taken
// down and brought back on the same address.
type receiver struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	got  []Envelope
	bad  int
	srv  *http.Server
}

func newReceiver(t *testing.T) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hook" }

func (r *receiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := Verify(secret, req.Header.Get(HeaderSignature), body, 5*time.Minute, time.Now()); err != nil {
			r.mu.Lock()
			r.bad++
			r.mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var env Envelope
		if err := json.Unmarshal(body, &env); err != nil || req.Header.Get(HeaderEventID) != env.ID {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, env)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = r.srv.Serve(ln) }()
}

func (r *receiver) down() {
	if r.srv != nil {
		_ = r.srv.Close()
		r.srv = nil
	}
}

func (r *receiver) up() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.serve(ln)
}

// envelopes returns what arrived, in event order (deliveries run in parallel, so
// arrival order is not event order).
func (r *receiver) envelopes() []Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]Envelope(nil), r.got...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func fastOpts() Options {
	return Options{RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Poll: 50 * time.Millisecond}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type conv struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	OwnerID int64  `json:"owner_id,omitempty"`
	Line    string `json:"line"`
	Body    string `json:"body"`
}

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"a":1}`)
	h := Sign("s3cret", now, body)
	if err := Verify("s3cret", h, body, time.Minute, now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		secret, header string
		body           []byte
		at             time.Time
	}{
		"other secret": {"nope", h, body, now},
		"other body":   {"s3cret", h, []byte(`{"a":2}`), now},
		"too old":      {"s3cret", h, body, now.Add(10 * time.Minute)},
		"garbage":      {"s3cret", "v1=zz", body, now},
	} {
		if err := Verify(c.secret, c.header, c.body, time.Minute, c.at); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDeliveryRetriesAndSurvivesRestart: an event is delivered signed with old/new
// values; while the receiver is down deliveries are retried; the gateway restarts
// mid-retry and the new process delivers what the old one could not.
func TestDeliveryRetriesAndSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wh.db")
	db := openDB(t, path)
	rcv := newReceiver(t)

	bus := event.New(64, nil)
	envs := NewEnvelopes(bus, 64)
	svc := New(db, bus, envs, fastOpts())
	hook, err := svc.Create(ctx, Input{URL: rcv.url(), Events: []string{event.ConversationCreated, event.ConversationAccepted},
		Active: true, Secret: secret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, Input{URL: "ftp://x", Events: []string{"*"}}, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad url accepted: %v", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	waitFor(t, "intake subscription", func() bool { return bus.Subscribers() >= 2 })

	hostile := `<script>alert(1)</script>'; DROP TABLE messages;--`
	bus.Publish(event.Event{Type: event.ConversationCreated, ConversationID: 7, Data: conv{ID: 7, Status: "NEW", Line: "office", Body: hostile}})
	bus.Publish(event.Event{Type: event.MessageReceived, ConversationID: 7, Data: conv{ID: 7}}) // not subscribed
	bus.Publish(event.Event{Type: event.ConversationAccepted, ConversationID: 7, ActorID: 3,
		Data: conv{ID: 7, Status: "OPEN", OwnerID: 3, Line: "office", Body: hostile}})
	waitFor(t, "two deliveries", func() bool { return len(rcv.envelopes()) == 2 })
	got := rcv.envelopes()
	if got[0].Type != event.ConversationCreated || got[1].Type != event.ConversationAccepted {
		t.Fatalf("types: %s, %s", got[0].Type, got[1].Type)
	}
	var d conv
	_ = json.Unmarshal(got[0].Data, &d)
	if d.Body != hostile {
		t.Fatalf("body changed on the way: %q", d.Body)
	}
	ch := got[1].Changes
	if ch["status"] != [2]any{"NEW", "OPEN"} || ch["owner_id"][1] != float64(3) || ch["owner_id"][0] != nil {
		t.Fatalf("changes = %#v", ch)
	}
	if got[1].Actor != (Actor{Type: "user", ID: 3}) || got[1].OccurredAt.IsZero() || got[1].ID == got[0].ID {
		t.Fatalf("envelope = %+v", got[1])
	}

	// Receiver down: the next event is retried, and the gateway stops mid-retry.
	rcv.down()
	bus.Publish(event.Event{Type: event.ConversationAccepted, ConversationID: 8, Data: conv{ID: 8, Status: "OPEN"}})
	waitFor(t, "failed attempts", func() bool {
		ds, _ := db.Deliveries(ctx, hook.ID, 0, 10)
		return len(ds) == 3 && ds[0].Attempts >= 2 && ds[0].State == store.DeliveryPending
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	envs.Close()
	db.Close()

	// A new process on the same database, receiver back up.
	rcv.up()
	db2 := openDB(t, path)
	defer db2.Close()
	bus2 := event.New(64, nil)
	svc2 := New(db2, bus2, NewEnvelopes(bus2, 64), fastOpts())
	rctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	go func() { _ = svc2.Run(rctx2) }()
	waitFor(t, "delivery after restart", func() bool { return len(rcv.envelopes()) == 3 })
	ds, _ := db2.Deliveries(ctx, hook.ID, 0, 10)
	if ds[0].State != store.DeliveryDelivered || ds[0].Attempts < 3 || ds[0].LastStatus != 204 {
		t.Fatalf("delivery = %+v", ds[0])
	}
	_, log, err := svc2.Delivery(ctx, hook.ID, ds[0].ID)
	if err != nil || len(log) != ds[0].Attempts || log[0].Error == "" || log[len(log)-1].Status != 204 {
		t.Fatalf("log = %+v, %v", log, err)
	}

	// Replay: a redelivery carries the same event id.
	rd, err := svc2.Redeliver(ctx, hook.ID, ds[2].ID)
	if err != nil || rd.RedeliveryOf != ds[2].ID {
		t.Fatalf("redeliver: %+v %v", rd, err)
	}
	waitFor(t, "redelivery", func() bool { return len(rcv.envelopes()) == 4 })
	if e := rcv.envelopes(); e[0].ID != e[1].ID || e[0].Type != event.ConversationCreated {
		t.Fatalf("redelivered %s, want %s", e[1].ID, e[0].ID)
	}
	rcv.mu.Lock()
	bad := rcv.bad
	rcv.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d requests had bad signatures", bad)
	}
}

func TestGivesUpAfterMaxAgeAndReplays(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "wh.db"))
	defer db.Close()
	o := fastOpts()
	o.MaxAge = 150 * time.Millisecond
	svc := New(db, nil, NewEnvelopes(nil, 16), o)
	hook, err := svc.Create(ctx, Input{URL: "http://127.0.0.1:1/nothing", Events: []string{"*"}, Active: true}, 0)
	if err != nil || len(hook.Secret) < 20 {
		t.Fatalf("%+v %v", hook, err)
	}
	if _, err := svc.Ping(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = svc.Run(rctx) }()
	waitFor(t, "failure", func() bool {
		ds, _ := db.Deliveries(ctx, hook.ID, 0, 10)
		return len(ds) == 1 && ds[0].State == store.DeliveryFailed
	})
	n, err := svc.ReplayFailed(ctx, hook.ID, time.Time{})
	if err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
}
