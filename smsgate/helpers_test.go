package smsgate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

const (
	lineName = "office"
	password = "correct horse battery"
	// customer is a valid US mobile-or-fixed number (libphonenumber's own example).
	customer  = "+12015550123"
	customer2 = "+12015550124"
)

type outbox struct{ q *queue.Queue }

func (o outbox) Send(ctx context.Context, m router.Outgoing) (int64, error) {
	msg, _, err := o.q.Enqueue(ctx, queue.Request{To: m.To, Line: m.Line, Body: m.Body, Kind: m.Kind, AuthorID: m.AuthorID,
		ThreadID: m.ThreadID, IdempotencyKey: m.IdempotencyKey})
	return msg.ID, err
}

type reports struct{ q *queue.Queue }

func (r reports) ApplyStatusReport(ctx context.Context, sr router.StatusReport) (bool, error) {
	for range 50 {
		ok, err := r.q.ApplyStatusReport(ctx, sr.Modem, sr.MR, sr.Recipient, sr.Discharge, sr.Status)
		if !errors.Is(err, store.ErrReportEarly) {
			return ok, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, nil
}

// rig is the appliance with the SMSGate API on 127.0.0.1: real database, queue,
// router, webhook queue, and one virtual modem on a virtual network.
type rig struct {
	t      *testing.T
	db     *store.DB
	bus    *event.Bus
	q      *queue.Queue
	hooks  *webhook.Service
	api    *API
	ts     *httptest.Server // main listener: /3rdparty/v1 and /api/3rdparty/v1
	local  *httptest.Server // the phone's root layout
	net    *sim.Network
	sim    *sim.Modem
	sess   *modem.Session
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	admin, viewer store.User
}

func newRig(t *testing.T, lat sim.Latency) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &rig{t: t, ctx: ctx, cancel: cancel}
	var err error
	if e.db, err = store.Open(ctx, filepath.Join(t.TempDir(), "smsgate.db")); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e.bus = event.New(256, nil)
	e.q = queue.New(queue.Config{Region: "US", RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, Poll: 50 * time.Millisecond},
		e.db, nil, nil, nil)
	e.q.OnChange(func(m store.Message) { e.bus.Publish(event.Event{Type: event.MessageDelivery, Data: m}) })
	rt := router.New(router.Config{DefaultRegion: "US", LineForModem: func(string, string) string { return lineName },
		PollInterval: 100 * time.Millisecond}, router.Deps{DB: e.db, Bus: e.bus, Outbox: outbox{e.q}, Reports: reports{e.q}})
	e.hooks = webhook.New(e.db, e.bus, webhook.NewEnvelopes(e.bus, 256), webhook.Options{Poll: 50 * time.Millisecond,
		SMSGateRetryBase: 50 * time.Millisecond})

	e.net = sim.NewNetwork(sim.NetworkConfig{})
	if e.sim, err = e.net.NewModem(sim.ModemConfig{Name: "m0", Latency: lat}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sim.Close() })
	handler := func(ctx context.Context, in modem.Inbound) error {
		_, err := e.db.InsertInboundPDU(ctx, store.InboundPDU{Modem: in.Modem, IMEI: in.IMEI, IMSI: in.IMSI,
			Storage: in.Storage, Index: in.Index, PDU: in.PDU})
		if err == nil {
			rt.Notify()
		}
		return err
	}
	e.sess = modem.NewSession(modem.Config{Name: e.sim.Name(), Port: e.sim.Path(), CommandTimeout: 2 * time.Second,
		SendTimeout: 10 * time.Second, HealthInterval: time.Second, SweepInterval: time.Second, QuietTime: 50 * time.Millisecond,
		TraceLines: 200, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		Find: func() []string { return []string{e.sim.Path()} }}, nil, handler, nil, nil)
	sess := e.sess
	e.api = New(Deps{DB: e.db, Queue: e.q, Webhooks: e.hooks, Bus: e.bus, Region: "US", AllowHTTPWebhooks: true,
		Version: "v1.4.2", BcryptCost: bcrypt.MinCost, Sweep: 200 * time.Millisecond,
		Modems: func(context.Context) []ModemInfo {
			st := sess.Status()
			return []ModemInfo{{Name: st.Name, Line: lineName, IMEI: st.IMEI, ICCID: st.ICCID, Operator: st.Operator,
				State: string(st.State), Ready: st.State == modem.StateReady, Registered: st.Registered,
				SignalDBm: st.SignalDBm, LastSeen: st.LastSeen}}
		}})
	e.goRun(e.sess.Run)
	e.goRun(func(ctx context.Context) error {
		return e.q.Run(ctx, []queue.Route{{Sender: sess, Lines: []string{lineName}}})
	})
	e.goRun(rt.Run)
	e.goRun(e.hooks.Run)
	e.goRun(e.api.Run)

	r := mux.NewRouter()
	e.api.Mount(r)
	e.ts = httptest.NewServer(r)
	e.local = httptest.NewServer(e.api.Handler(""))
	t.Cleanup(e.close)

	au := auth.New(e.db, auth.Options{BcryptCost: bcrypt.MinCost})
	if e.admin, err = au.CreateUser(ctx, "ada", "Ada", password, auth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if e.viewer, err = au.CreateUser(ctx, "vic", "Vic", password, auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the modem", 10*time.Second, func() bool { return e.sess.Status().State == modem.StateReady })
	return e
}

func (e *rig) goRun(f func(context.Context) error) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = f(e.ctx)
	}()
}

func (e *rig) close() {
	e.ts.Close()
	e.local.Close()
	e.cancel()
	e.wg.Wait()
	_ = e.db.Close()
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// do sends a request to base+path with an Authorization header ("" for none); body is
// JSON-encoded unless it is a string.
func (e *rig) do(base, method, path, authz string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{res.StatusCode, res.Header, b}
	checkShape(e.t, method+" "+path, r)
	return r
}

// checkShape holds every answer to the rules clients rely on: a 2xx other than 204
// has a JSON body; an error is JSON {message, code} with code = the status.
func checkShape(t *testing.T, what string, r resp) {
	t.Helper()
	switch {
	case r.Status == http.StatusNoContent:
		if len(r.Body) != 0 {
			t.Errorf("%s: 204 with a body %q", what, r.Body)
		}
	case r.Status >= 200 && r.Status < 300:
		if !json.Valid(r.Body) || len(bytes.TrimSpace(r.Body)) == 0 {
			t.Errorf("%s: %d with a body that is not JSON: %q", what, r.Status, r.Body)
		}
	case r.Status >= 400:
		var e struct {
			Message *string `json:"message"`
			Code    *int    `json:"code"`
		}
		if err := json.Unmarshal(r.Body, &e); err != nil || e.Message == nil || *e.Message == "" || e.Code == nil || *e.Code != r.Status {
			t.Errorf("%s: %d with a body that is not {message, code}: %q", what, r.Status, r.Body)
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: error Content-Type %q", what, r.Header.Get("Content-Type"))
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hook is a webhook receiver that keeps the raw requests.
type hook struct {
	mu   sync.Mutex
	reqs []hookReq
	srv  *httptest.Server
}

type hookReq struct {
	Body      []byte
	Signature string
	Timestamp string
	Env       struct {
		ID        string          `json:"id"`
		WebhookID string          `json:"webhookId"`
		Event     string          `json:"event"`
		DeviceID  string          `json:"deviceId"`
		Payload   json.RawMessage `json:"payload"`
	}
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hr := hookReq{Body: b, Signature: r.Header.Get("X-Signature"), Timestamp: r.Header.Get("X-Timestamp")}
		_ = json.Unmarshal(b, &hr.Env)
		h.mu.Lock()
		h.reqs = append(h.reqs, hr)
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the first request for event matching ok, waiting for it.
func (h *hook) wait(t *testing.T, event string, ok func(hookReq) bool) hookReq {
	t.Helper()
	var got hookReq
	waitFor(t, "webhook "+event, 15*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, r := range h.reqs {
			if r.Env.Event == event && (ok == nil || ok(r)) {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

func (h *hook) count(event string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.reqs {
		if r.Env.Event == event {
			n++
		}
	}
	return n
}
